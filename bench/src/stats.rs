//! Counters and latency samples the run's tasks record into, and percentile summaries.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How many of the most recently acknowledged sends are remembered for the drain check.
const RECENT_ACCEPTED: usize = 16;

/// Every this many acknowledged sends, one is kept for the completeness check.
const SAMPLE_EVERY: u64 = 8;

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Percentiles {
    /// Samples summarised.
    pub(crate) count: usize,
    /// Median.
    pub(crate) p50: f64,
    /// 90th percentile.
    pub(crate) p90: f64,
    /// 99th percentile.
    pub(crate) p99: f64,
    /// Largest sample.
    pub(crate) max: f64,
}

impl Percentiles {
    /// Summarises samples given in microseconds; `None` when there are none.
    pub(crate) fn from_micros(samples: &[u64]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        // Nearest-rank percentile: the smallest sample with at least p% of samples at or below.
        let rank = |percent: f64| {
            let index = ((percent / 100.0) * sorted.len() as f64).ceil() as usize;
            sorted[index.clamp(1, sorted.len()) - 1] as f64 / 1000.0
        };
        Some(Self {
            count: sorted.len(),
            p50: rank(50.0),
            p90: rank(90.0),
            p99: rank(99.0),
            max: sorted[sorted.len() - 1] as f64 / 1000.0,
        })
    }

    /// Returns the summary as a JSON object (null when there were no samples).
    pub(crate) fn to_json(summary: Option<Self>) -> Value {
        match summary {
            Some(s) => json!({"count": s.count, "p50": round_ms(s.p50), "p90": round_ms(s.p90),
                "p99": round_ms(s.p99), "max": round_ms(s.max)}),
            None => Value::Null,
        }
    }
}

/// Rounds a latency to 0.01 ms: cached reads take a fraction of a millisecond.
fn round_ms(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Rounds to 0.1 for reports.
pub(crate) fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// What the load senders record.
#[derive(Debug, Default)]
pub(crate) struct LoadStats {
    /// Latency of every acknowledged send, in microseconds.
    pub(crate) latencies_us: Vec<u64>,
    /// Acknowledged sends.
    pub(crate) accepted_requests: u64,
    /// Spans in acknowledged sends.
    pub(crate) accepted_spans: u64,
    /// Protobuf bytes (before any gzip) in acknowledged sends.
    pub(crate) accepted_bytes: u64,
    /// 429 / `RESOURCE_EXHAUSTED` answers.
    pub(crate) backpressure: u64,
    /// Other failures by label (`http 503`, `grpc Unavailable`, `http transport: connect`).
    pub(crate) failures: BTreeMap<String, u64>,
    /// Open loop: ticks skipped because every concurrency slot was busy.
    pub(crate) generator_skipped: u64,
    /// Sequence numbers of the latest acknowledged sends, newest last.
    pub(crate) recent_accepted: VecDeque<u64>,
    /// Sequence numbers of a sample of acknowledged sends, for the completeness check.
    pub(crate) sampled: Vec<u64>,
    /// When the first send started and the last answer came.
    pub(crate) first_send: Option<Instant>,
    /// When the last answer of any kind arrived.
    pub(crate) last_answer: Option<Instant>,
}

impl LoadStats {
    /// Records an acknowledged send.
    pub(crate) fn accepted(&mut self, sequence: u64, spans: u32, bytes: usize, latency: Duration) {
        self.latencies_us.push(latency.as_micros() as u64);
        self.accepted_requests += 1;
        self.accepted_spans += u64::from(spans);
        self.accepted_bytes += bytes as u64;
        if self.recent_accepted.len() == RECENT_ACCEPTED {
            self.recent_accepted.pop_front();
        }
        self.recent_accepted.push_back(sequence);
        if self.accepted_requests % SAMPLE_EVERY == 1 {
            self.sampled.push(sequence);
        }
    }

    /// Records a failed send.
    pub(crate) fn failed(&mut self, label: String) {
        *self.failures.entry(label).or_insert(0) += 1;
    }

    /// Notes the start and end of a send, to measure the load window.
    pub(crate) fn window(&mut self, started: Instant, answered: Instant) {
        self.first_send = Some(self.first_send.map_or(started, |first| first.min(started)));
        self.last_answer = Some(self.last_answer.map_or(answered, |last| last.max(answered)));
    }

    /// Returns the number of failed sends.
    pub(crate) fn failure_count(&self) -> u64 {
        self.failures.values().sum()
    }
}

/// What the marker tasks record.
#[derive(Debug, Default)]
pub(crate) struct MarkerStats {
    /// Delay from a marker's acknowledgement to its first 200 on the read API, in microseconds.
    pub(crate) delays_us: Vec<u64>,
    /// Markers sent.
    pub(crate) sent: u64,
    /// Marker ticks skipped because too many markers were pending.
    pub(crate) skipped: u64,
    /// Markers the server did not acknowledge (429 included).
    pub(crate) rejected: u64,
    /// Acknowledged markers that never became queryable within the timeout.
    pub(crate) timed_out: u64,
    /// Read requests made.
    pub(crate) polls: u64,
    /// Read answers other than 200 and 404, and read transport errors, by label.
    pub(crate) poll_errors: BTreeMap<String, u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<u64> = (1..=100).map(|ms| ms * 1000).collect();
        let summary = Percentiles::from_micros(&samples).unwrap();
        assert_eq!(summary.count, 100);
        assert_eq!(
            (summary.p50, summary.p90, summary.p99, summary.max),
            (50.0, 90.0, 99.0, 100.0)
        );
        let single = Percentiles::from_micros(&[2500]).unwrap();
        assert_eq!((single.p50, single.p99), (2.5, 2.5));
        assert_eq!(Percentiles::from_micros(&[]), None);
    }

    #[test]
    fn keeps_the_latest_accepted_sends_and_a_sample() {
        let mut stats = LoadStats::default();
        for sequence in 0..40 {
            stats.accepted(sequence, 100, 1000, Duration::from_millis(3));
        }
        assert_eq!(stats.accepted_spans, 4000);
        assert_eq!(stats.recent_accepted.len(), RECENT_ACCEPTED);
        assert_eq!(stats.recent_accepted.back(), Some(&39));
        assert_eq!(stats.sampled, vec![0, 8, 16, 24, 32]);
        stats.failed("http 503".to_owned());
        stats.failed("http 503".to_owned());
        assert_eq!(stats.failure_count(), 2);
    }
}
