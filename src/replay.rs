//! `periscope replay`: re-emits a project's archived raw events of a time range into the
//! ingest topic, so the pipeline re-derives their records (after a mapping fix or a price
//! change, or into a fresh trace store). Idempotent: events keep their ids and keys, and the
//! stores merge a record seen twice into the same row.

use std::io::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use futures::StreamExt as _;
use prost::Message as _;

use periscope_core::event_key::event_key;
use periscope_core::log::LogRecord;
use periscope_core::topics;
use periscope_proto::pv1::{self, event::Body};
use periscope_sinks::read_archive;

use crate::backends::load_config;
use crate::cli::ReplayArgs;
use crate::stores::{open_blob, open_log};

/// Events appended per call.
const BATCH: usize = 500;
/// How often the progress line is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// Parses `2026-11-27T10:00:00Z` (RFC 3339) or `2026-11-27` (midnight UTC).
pub(crate) fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|time| time.and_utc())
        .ok_or_else(|| {
            format!("{text:?} is neither RFC 3339 (2026-11-27T10:00:00Z) nor a date (2026-11-27)")
        })
}

/// Replays the archive of `args.project` in `[from, to)`.
pub(crate) async fn run(args: ReplayArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.from < args.to, "--from must be before --to");
    let config = load_config(&args.common)?;
    let blob = open_blob(&config).await?;
    let log = open_log(&config).await?;
    log.ensure_topic(topics::INGEST).await?;
    let mut events = Box::pin(read_archive(
        blob.clone(),
        &args.project,
        args.from,
        args.to,
    ));
    let mut progress = Progress::new(args.from, args.to);
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(event) = events.next().await {
        let event = event.context("failed to read the archive")?;
        progress.seen(&event);
        let key = match &event.body {
            // Offloaded bodies are keyed by the full event, like the live one was.
            Some(Body::BlobRef(reference)) => {
                event_key(&periscope_core::payloads::resolve(blob.as_ref(), reference).await?)
            }
            _ => event_key(&event),
        };
        let replayed = pv1::Event {
            source: pv1::Source::Replay as i32,
            ..event
        };
        batch.push(LogRecord {
            key: Bytes::from(key),
            value: Bytes::from(replayed.encode_to_vec()),
        });
        if batch.len() == BATCH {
            log.append(topics::INGEST, std::mem::take(&mut batch))
                .await?;
            progress.draw(false)?;
        }
    }
    if !batch.is_empty() {
        log.append(topics::INGEST, batch).await?;
    }
    progress.draw(true)?;
    Ok(())
}

/// A progress bar over the time range, by the receive time of the latest event.
struct Progress {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    started: Instant,
    last_draw: Instant,
    events: u64,
    position: DateTime<Utc>,
}

impl Progress {
    fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        Self {
            from,
            to,
            started: Instant::now(),
            last_draw: Instant::now(),
            events: 0,
            position: from,
        }
    }

    fn seen(&mut self, event: &pv1::Event) {
        self.events += 1;
        let received = DateTime::from_timestamp_nanos(event.received_at_unix_nano);
        self.position = self.position.max(received);
    }

    /// Redraws the line on stderr (at most every `PROGRESS_EVERY` unless `done`).
    fn draw(&mut self, done: bool) -> std::io::Result<()> {
        if !done && self.last_draw.elapsed() < PROGRESS_EVERY {
            return Ok(());
        }
        self.last_draw = Instant::now();
        let span = (self.to - self.from).num_milliseconds().max(1) as f64;
        let fraction = match done {
            true => 1.0,
            false => ((self.position - self.from).num_milliseconds() as f64 / span).clamp(0.0, 1.0),
        };
        let width = 30;
        let filled = (fraction * width as f64).round() as usize;
        let elapsed = self.started.elapsed().as_secs_f64().max(0.001);
        let line = format!(
            "\r[{}{}] {:5.1}%  {} events  {:.0} events/s  at {}",
            "#".repeat(filled),
            ".".repeat(width - filled),
            fraction * 100.0,
            self.events,
            self.events as f64 / elapsed,
            self.position.format("%Y-%m-%d %H:%M:%S"),
        );
        let mut err = std::io::stderr();
        write!(err, "{line}")?;
        if done {
            writeln!(err, "\nreplayed {} events in {elapsed:.1} s", self.events)?;
        }
        err.flush()
    }
}
