//! The `query` command: read latency of a loaded server (trace by id, filtered lists).
//!
//! It first counts the traces and observations the server holds, and samples `--sample-pages`
//! pages of 100 traces spread over the whole list to learn real trace ids, users, sessions,
//! tags and time windows (not measured). Then each phase reads for `--duration`:
//!
//! - `trace-by-id`: `GET /api/public/traces/{id}` (the trace with its observations and scores);
//! - `by-user`: `GET /api/public/traces?userId=…&limit=50`;
//! - `by-session`: `GET /api/public/traces?sessionId=…&limit=50`;
//! - `window-tag`: `GET /api/public/traces?fromTimestamp=…&toTimestamp=…&tags=…&limit=50`
//!   over the window one sampled page spans (about 100 traces);
//! - `generations`: `GET /api/public/observations?type=GENERATION&userId=…&limit=50`.
//!
//! Every answer must be a 200 holding data (a trace with observations, a non-empty page).
//! Load the server first, e.g. with `periscope-bench load` (bench/query.sh does both).

mod api;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use crate::client::basic_auth;
use crate::phase::{KeyOrder, PhasePlan, PhaseStats, run_phase, shuffle};
use crate::procstat;
use crate::query::api::{Expect, Read, ReadApi};

/// Traces per sampled page.
const SAMPLE_PAGE: u64 = 100;

/// Items per page of the measured lists.
const LIST_LIMIT: u32 = 50;

/// Settings of one `query` run.
#[derive(Debug, Clone)]
pub(crate) struct QueryConfig {
    /// Name of the run in the report.
    pub(crate) label: String,
    /// Base URL of the server's HTTP listener.
    pub(crate) http: String,
    /// Basic-auth key pair.
    pub(crate) public_key: String,
    /// Basic-auth key pair.
    pub(crate) secret_key: String,
    /// Server process to sample CPU and memory of.
    pub(crate) server_pid: Option<u32>,
    /// Pages of traces sampled to learn ids and filter values.
    pub(crate) sample_pages: u64,
    /// Reads in flight at most.
    pub(crate) concurrency: usize,
    /// Length of each phase.
    pub(crate) duration: Duration,
    /// Open loop: reads per second; closed loop when absent.
    pub(crate) rate: Option<f64>,
    /// Append the JSON line of the report to this file too.
    pub(crate) json_out: Option<PathBuf>,
}

/// Real values seen in the sampled pages.
#[derive(Debug, Default)]
struct Sample {
    trace_ids: Vec<String>,
    users: BTreeSet<String>,
    sessions: BTreeSet<String>,
    /// (from, to, a tag) of each sampled page.
    windows: Vec<(String, String, String)>,
}

/// What a `query` run measured.
#[derive(Debug)]
pub(crate) struct QueryReport {
    config: QueryConfig,
    traces_total: u64,
    observations_total: u64,
    phases: Vec<(&'static str, usize, PhaseStats)>,
    rss_mib: Option<f64>,
    load_average_start: Option<[f64; 3]>,
}

/// Runs the command and returns its report.
pub(crate) async fn run(config: QueryConfig) -> anyhow::Result<QueryReport> {
    let api = ReadApi::new(
        &config.http,
        &basic_auth(&config.public_key, &config.secret_key),
    )?;
    let load_average_start = procstat::load_average();
    let traces_total = total(&api, "/api/public/traces?limit=1").await?;
    let observations_total = total(&api, "/api/public/observations?limit=1").await?;
    if traces_total == 0 {
        bail!("the server holds no traces for this key: load it first (bench/query.sh)");
    }
    let sample = sample(&api, traces_total, config.sample_pages).await?;
    let mut phases = Vec::new();
    for (name, mut reads) in plans(&sample) {
        let seed = 0x9e37 ^ reads.len() as u64;
        shuffle(&mut reads, seed);
        let plan = PhasePlan {
            name,
            keys: Arc::new(reads),
            order: KeyOrder::Cycle,
            duration: config.duration,
            concurrency: config.concurrency,
            rate: config.rate,
        };
        let _ = writeln!(
            std::io::stderr().lock(),
            "phase {name}: {} distinct reads",
            plan.keys.len()
        );
        let stats = run_phase(&api, &plan, config.server_pid).await;
        phases.push((name, plan.keys.len(), stats));
    }
    let rss_mib = config
        .server_pid
        .and_then(|pid| procstat::memory(pid).ok())
        .map(|memory| memory.rss_kib as f64 / 1024.0);
    Ok(QueryReport {
        config,
        traces_total,
        observations_total,
        phases,
        rss_mib,
        load_average_start,
    })
}

/// Returns `meta.totalItems` of a list.
async fn total(api: &ReadApi, path: &str) -> anyhow::Result<u64> {
    let (status, body) = api
        .get_json(path)
        .await
        .with_context(|| format!("GET {path} failed"))?;
    if !status.is_success() {
        bail!("GET {path} answered {status}: check the URL and keys");
    }
    body["meta"]["totalItems"]
        .as_u64()
        .with_context(|| format!("GET {path} has no meta.totalItems"))
}

/// Reads `pages` pages spread evenly over the trace list.
async fn sample(api: &ReadApi, traces_total: u64, pages: u64) -> anyhow::Result<Sample> {
    let page_count = traces_total.div_ceil(SAMPLE_PAGE).max(1);
    let mut sample = Sample::default();
    for index in 0..pages.max(1) {
        let page = 1 + index * page_count / pages.max(1);
        let path = format!("/api/public/traces?limit={SAMPLE_PAGE}&page={page}");
        let (_, body) = api
            .get_json(&path)
            .await
            .with_context(|| format!("GET {path} failed"))?;
        let traces = body["data"].as_array().cloned().unwrap_or_default();
        for trace in &traces {
            let text = |field: &str| trace[field].as_str().map(str::to_owned);
            sample.trace_ids.extend(text("id"));
            sample.users.extend(text("userId"));
            sample.sessions.extend(text("sessionId"));
        }
        let stamps: Vec<&str> = traces
            .iter()
            .filter_map(|t| t["timestamp"].as_str())
            .collect();
        let tag = traces.iter().find_map(|t| t["tags"][0].as_str());
        if let (Some(first), Some(last), Some(tag)) =
            (stamps.iter().max(), stamps.iter().min(), tag)
        {
            sample
                .windows
                .push(((*last).to_owned(), (*first).to_owned(), tag.to_owned()));
        }
    }
    if sample.trace_ids.is_empty() {
        bail!("the sampled pages held no traces");
    }
    Ok(sample)
}

fn encode(value: &str) -> String {
    value
        .replace('%', "%25")
        .replace('+', "%2B")
        .replace('&', "%26")
        .replace(' ', "%20")
}

/// Returns `paths` as reads whose answers must hold `expect`.
fn reads<'a, I>(values: I, expect: Expect, path: impl Fn(&str) -> String) -> Vec<Read>
where
    I: IntoIterator<Item = &'a String>,
{
    values
        .into_iter()
        .map(|value| Read {
            path: path(&encode(value)),
            expect,
        })
        .collect()
}

/// Returns the reads of every phase.
fn plans(sample: &Sample) -> Vec<(&'static str, Vec<Read>)> {
    let page = Expect::NonEmptyPage;
    let windows = sample
        .windows
        .iter()
        .map(|(from, to, tag)| Read {
            path: format!(
                "/api/public/traces?fromTimestamp={}&toTimestamp={}&tags={}&limit={LIST_LIMIT}",
                encode(from),
                encode(to),
                encode(tag)
            ),
            expect: page,
        })
        .collect();
    vec![
        (
            "trace-by-id",
            reads(&sample.trace_ids, Expect::TraceWithObservations, |id| {
                format!("/api/public/traces/{id}")
            }),
        ),
        (
            "by-user",
            reads(&sample.users, page, |user| {
                format!("/api/public/traces?userId={user}&limit={LIST_LIMIT}")
            }),
        ),
        (
            "by-session",
            reads(&sample.sessions, page, |session| {
                format!("/api/public/traces?sessionId={session}&limit={LIST_LIMIT}")
            }),
        ),
        ("window-tag", windows),
        (
            "obs-by-trace",
            reads(&sample.trace_ids, page, |id| {
                format!("/api/public/observations?traceId={id}&limit={LIST_LIMIT}")
            }),
        ),
        (
            "generations",
            reads(&sample.users, page, |user| {
                format!("/api/public/observations?type=GENERATION&userId={user}&limit={LIST_LIMIT}")
            }),
        ),
    ]
}

impl QueryReport {
    /// Returns the JSON line.
    pub(crate) fn to_json(&self) -> Value {
        let phases: Vec<Value> = self
            .phases
            .iter()
            .map(|(name, keys, stats)| stats.to_json(name, *keys))
            .collect();
        json!({
            "label": self.config.label,
            "kind": "query",
            "traces_total": self.traces_total,
            "observations_total": self.observations_total,
            "concurrency": self.config.concurrency,
            "rate_target": self.config.rate,
            "phases": phases,
            "server_rss_mib": self.rss_mib,
            "load_average_start": self.load_average_start,
        })
    }

    /// Returns the human-readable summary.
    pub(crate) fn to_text(&self) -> String {
        let mode = self.config.rate.map_or("closed loop".to_owned(), |rate| {
            format!("open loop at {rate:.0} req/s")
        });
        let mut text = format!(
            "== {}: {} traces, {} observations | concurrency {} | {mode}\n",
            self.config.label, self.traces_total, self.observations_total, self.config.concurrency,
        );
        for (name, keys, stats) in &self.phases {
            text.push_str(&stats.to_line(name, *keys));
            text.push('\n');
        }
        if let Some(rss) = self.rss_mib {
            text.push_str(&format!("server rss  {rss:.0} MiB after the reads\n"));
        }
        text
    }

    /// Where the JSON line also goes.
    pub(crate) fn json_out(&self) -> Option<&std::path::Path> {
        self.config.json_out.as_deref()
    }
}
