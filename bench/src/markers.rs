//! Ingest-to-queryable latency: small marker traces sent during the load and polled on the read
//! API; the drain after the load; and the completeness check of sampled traces.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::StatusCode;
use tokio::task::JoinSet;

use crate::client::{ExportClient, ExportOutcome, TraceReader};
use crate::flag::StopFlag;
use crate::pool::{RequestPool, unix_now_ns};
use crate::stats::MarkerStats;

/// What the marker and drain tasks share.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    /// Builds marker requests and derives trace ids of pooled sends.
    pub(crate) pool: Arc<RequestPool>,
    /// Sends markers with the load's protocol.
    pub(crate) client: ExportClient,
    /// Reads traces back.
    pub(crate) reader: TraceReader,
    /// Pause between two reads of one trace.
    pub(crate) poll_interval: Duration,
    /// Longest wait for one marker to become queryable.
    pub(crate) timeout: Duration,
    /// Markers waited for at once; a tick that finds this many pending sends none.
    pub(crate) max_pending: usize,
}

/// Whether a trace became queryable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Queryable {
    /// The first 200 arrived at this instant.
    At(Instant),
    /// No 200 within the timeout.
    TimedOut,
}

impl Probe {
    /// Sends a marker every `interval` until `stop` is set, then waits for every marker poll.
    pub(crate) async fn run_markers(
        self,
        interval: Duration,
        stats: Arc<Mutex<MarkerStats>>,
        stop: StopFlag,
    ) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut tasks = JoinSet::new();
        let mut marker = 0_u64;
        while !stop.is_set() {
            ticker.tick().await;
            while tasks.try_join_next().is_some() {}
            // A lagging server would otherwise collect hundreds of pending markers, and their
            // reads would become a load of their own. The pending ones keep measuring the lag.
            if tasks.len() >= self.max_pending.max(1) {
                with(&stats, |s| s.skipped += 1);
                continue;
            }
            let probe = self.clone();
            let stats = stats.clone();
            tasks.spawn(async move { probe.one_marker(marker, &stats).await });
            marker += 1;
        }
        while tasks.join_next().await.is_some() {}
    }

    async fn one_marker(&self, marker: u64, stats: &Mutex<MarkerStats>) {
        let (body, trace_id) = self.pool.marker(marker, unix_now_ns());
        let outcome = self.client.export(self.client.prepare(body)).await;
        let acknowledged = Instant::now();
        with(stats, |s| s.sent += 1);
        if outcome != ExportOutcome::Accepted {
            with(stats, |s| s.rejected += 1);
            return;
        }
        match self
            .wait_queryable(&hex(&trace_id), self.timeout, Some(stats))
            .await
        {
            Queryable::At(at) => {
                let delay = at.duration_since(acknowledged).as_micros() as u64;
                with(stats, |s| s.delays_us.push(delay));
            }
            Queryable::TimedOut => with(stats, |s| s.timed_out += 1),
        }
    }

    /// Reads trace `trace_id` every poll interval until it answers 200 or `timeout` passes.
    pub(crate) async fn wait_queryable(
        &self,
        trace_id: &str,
        timeout: Duration,
        stats: Option<&Mutex<MarkerStats>>,
    ) -> Queryable {
        let started = Instant::now();
        loop {
            let answer = self.reader.get_trace(trace_id).await;
            if let Some(stats) = stats {
                with(stats, |s| {
                    s.polls += 1;
                    match &answer {
                        Ok((StatusCode::OK | StatusCode::NOT_FOUND, _)) => {}
                        Ok((status, _)) => {
                            *s.poll_errors
                                .entry(format!("http {}", status.as_u16()))
                                .or_insert(0) += 1
                        }
                        Err(_) => *s.poll_errors.entry("transport".to_owned()).or_insert(0) += 1,
                    }
                });
            }
            if matches!(answer, Ok((StatusCode::OK, _))) {
                return Queryable::At(Instant::now());
            }
            if started.elapsed() >= timeout {
                return Queryable::TimedOut;
            }
            tokio::time::sleep(poll_pause(self.poll_interval, started.elapsed())).await;
        }
    }

    /// Waits until the last trace of each of `sequences` is queryable; returns how long after
    /// `load_end` the last of them became so (`None` if one did not within `timeout`).
    pub(crate) async fn drain(
        &self,
        sequences: &[u64],
        load_end: Instant,
        timeout: Duration,
    ) -> Option<Duration> {
        let mut tasks = JoinSet::new();
        for &sequence in sequences {
            let last_trace = self.pool.trace_spans(sequence).len().saturating_sub(1) as u64;
            let trace_id = hex(&self.pool.trace_id(sequence, last_trace));
            let probe = self.clone();
            tasks.spawn(async move { probe.wait_queryable(&trace_id, timeout, None).await });
        }
        let mut latest = load_end;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Queryable::At(at)) => latest = latest.max(at),
                Ok(Queryable::TimedOut) | Err(_) => return None,
            }
        }
        Some(latest.duration_since(load_end))
    }

    /// Reads the first trace of each sampled send once; returns (found, complete), where
    /// complete means the trace lists as many observations as spans were sent for it.
    pub(crate) async fn check_sample(&self, sequences: &[u64]) -> (usize, usize) {
        let (mut found, mut complete) = (0, 0);
        for &sequence in sequences {
            let expected = self
                .pool
                .trace_spans(sequence)
                .first()
                .copied()
                .unwrap_or(0) as usize;
            let trace_id = hex(&self.pool.trace_id(sequence, 0));
            let Ok((StatusCode::OK, body)) = self.reader.get_trace(&trace_id).await else {
                continue;
            };
            found += 1;
            let observations = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|trace| {
                    trace
                        .get("observations")
                        .and_then(|o| o.as_array())
                        .map(Vec::len)
                });
            if observations == Some(expected) {
                complete += 1;
            }
        }
        (found, complete)
    }
}

/// Returns the pause before the next read of a trace that has been waited for `waited`: the
/// poll interval, stretched to 5% of the wait (at most 1 s). This keeps the error of a delay
/// within max(poll interval, 5%) while a lagging server is not flooded with reads: hundreds of
/// markers polled every 20 ms would add thousands of reads per second to the load measured.
pub(crate) fn poll_pause(poll_interval: Duration, waited: Duration) -> Duration {
    (waited / 20).clamp(poll_interval, Duration::from_secs(1).max(poll_interval))
}

/// Returns `count` items spread evenly over `items` (all of them if there are fewer).
pub(crate) fn spread<T: Copy>(items: &[T], count: usize) -> Vec<T> {
    if items.len() <= count {
        return items.to_vec();
    }
    (0..count).map(|i| items[i * items.len() / count]).collect()
}

/// Returns lower-case hex, as the read API spells trace ids.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn with(stats: &Mutex<MarkerStats>, update: impl FnOnce(&mut MarkerStats)) {
    if let Ok(mut stats) = stats.lock() {
        update(&mut stats);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case_and_zero_padded() {
        assert_eq!(hex(&[0x00, 0x0a, 0xff]), "000aff");
    }

    #[test]
    fn polls_stretch_with_the_wait_but_stay_bounded() {
        let interval = Duration::from_millis(20);
        assert_eq!(poll_pause(interval, Duration::from_millis(100)), interval);
        assert_eq!(
            poll_pause(interval, Duration::from_secs(2)),
            Duration::from_millis(100)
        );
        assert_eq!(
            poll_pause(interval, Duration::from_secs(60)),
            Duration::from_secs(1)
        );
        assert_eq!(
            poll_pause(Duration::from_secs(2), Duration::from_secs(60)),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn spread_picks_evenly_and_keeps_short_lists() {
        assert_eq!(spread(&[1, 2, 3], 5), vec![1, 2, 3]);
        let items: Vec<u32> = (0..100).collect();
        assert_eq!(spread(&items, 4), vec![0, 25, 50, 75]);
    }
}
