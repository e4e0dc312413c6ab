//! The run's report: a human-readable summary and one JSON line for docs and scripts.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use crate::client::Protocol;
use crate::load::LoadConfig;
use crate::procstat::MemorySummary;
use crate::stats::{LoadStats, MarkerStats, Percentiles, round};

/// Average cores used during the load window.
#[derive(Debug, Clone, Default)]
pub(crate) struct CpuUsage {
    /// The server process (all threads).
    pub(crate) server_cores: Option<f64>,
    /// This harness.
    pub(crate) harness_cores: Option<f64>,
    /// The server's threads by name, busiest first (threads that exited are not counted).
    pub(crate) threads: Vec<(String, f64)>,
    /// Other observed processes (`--observe-pid`), by name.
    pub(crate) observed: Vec<(String, f64)>,
}

/// Everything a run measured.
#[derive(Debug)]
pub(crate) struct Report {
    /// The run's settings.
    pub(crate) config: LoadConfig,
    /// Mean encoded size of a load request.
    pub(crate) mean_request_bytes: usize,
    /// Mean encoded size of a span.
    pub(crate) mean_span_bytes: usize,
    /// What the senders recorded.
    pub(crate) load: LoadStats,
    /// What the markers recorded.
    pub(crate) markers: MarkerStats,
    /// How long after the load the last acknowledged sends became queryable.
    pub(crate) drain: Option<Duration>,
    /// Sampled traces: (checked, found, complete).
    pub(crate) sample: (usize, usize, usize),
    /// The server's memory.
    pub(crate) memory: MemorySummary,
    /// CPU during the load.
    pub(crate) cpu: CpuUsage,
    /// Load averages (1, 5, 15 min) when the load ended.
    pub(crate) load_average: Option<[f64; 3]>,
}

impl Report {
    /// Returns the load window: first send to last answer.
    fn window(&self) -> Duration {
        match (self.load.first_send, self.load.last_answer) {
            (Some(first), Some(last)) => last.duration_since(first),
            _ => Duration::ZERO,
        }
    }

    fn accepted_per_second(&self) -> f64 {
        self.load.accepted_spans as f64 / self.window().as_secs_f64().max(1e-3)
    }

    /// Accepted spans over the load window plus the drain: the rate at which spans became
    /// queryable, not just acknowledged. `None` when the drain did not finish.
    fn sustained_per_second(&self) -> Option<f64> {
        let drain = self.drain?;
        Some(self.load.accepted_spans as f64 / (self.window() + drain).as_secs_f64().max(1e-3))
    }

    /// Returns the JSON line.
    pub(crate) fn to_json(&self) -> Value {
        let mib = |kib: u64| round(kib as f64 / 1024.0);
        let memory = (self.memory.samples > 0).then(|| {
            let timeline: Vec<f64> = self.memory.timeline_kib.iter().map(|kib| mib(*kib)).collect();
            json!({"peak_rss_mib": mib(self.memory.peak_rss_kib), "final_rss_mib": mib(self.memory.last.rss_kib),
                "hwm_mib": mib(self.memory.last.hwm_kib), "samples": self.memory.samples,
                "timeline_mib": timeline})
        });
        let threads: Vec<Value> = self
            .cpu
            .threads
            .iter()
            .take(8)
            .map(|(name, cores)| json!({"name": name, "cores": round2(*cores)}))
            .collect();
        json!({
            "label": self.config.label,
            "protocol": protocol_name(self.config.protocol),
            "gzip": self.config.gzip,
            "concurrency": self.config.concurrency,
            "rate_target": self.config.rate,
            "spans_per_request": self.config.spans_per_request,
            "mean_span_bytes": self.mean_span_bytes,
            "mean_request_bytes": self.mean_request_bytes,
            "window_s": round(self.window().as_secs_f64()),
            "accepted_requests": self.load.accepted_requests,
            "accepted_spans": self.load.accepted_spans,
            "accepted_spans_per_s": self.accepted_per_second().round(),
            "protobuf_mb_per_s": round(self.load.accepted_bytes as f64 / 1e6 / self.window().as_secs_f64().max(1e-3)),
            "latency_ms": Percentiles::to_json(Percentiles::from_micros(&self.load.latencies_us)),
            "backpressure_429": self.load.backpressure,
            "failures": self.load.failures,
            "generator_skipped": self.load.generator_skipped,
            "queryable_ms": Percentiles::to_json(Percentiles::from_micros(&self.markers.delays_us)),
            "markers": {"sent": self.markers.sent, "rejected": self.markers.rejected,
                "timed_out": self.markers.timed_out, "skipped": self.markers.skipped, "polls": self.markers.polls, "poll_errors": self.markers.poll_errors},
            "drain_s": self.drain.map(|d| round2(d.as_secs_f64())),
            "sustained_spans_per_s": self.sustained_per_second().map(f64::round),
            "sample": {"checked": self.sample.0, "found": self.sample.1, "complete": self.sample.2},
            "server_memory": memory,
            "server_cpu_cores": self.cpu.server_cores.map(round2),
            "harness_cpu_cores": self.cpu.harness_cores.map(round2),
            "server_threads": threads,
            "observed_cpu_cores": self.cpu.observed.iter()
                .map(|(name, cores)| (name.clone(), json!(round2(*cores))))
                .collect::<serde_json::Map<String, Value>>(),
            "load_average_end": self.load_average,
            "ingest_only": self.config.ingest_only,
        })
    }

    /// Returns the human-readable summary.
    pub(crate) fn to_text(&self) -> String {
        let mut text = String::new();
        let c = &self.config;
        let mode = c.rate.map_or("closed loop".to_owned(), |rate| {
            format!("open loop at {rate:.0} spans/s")
        });
        let _ = writeln!(
            text,
            "== {}: {}{} | concurrency {} | {} | {} spans/request (~{} B/span, {} KB/request)",
            c.label,
            protocol_name(c.protocol),
            if c.gzip { "+gzip" } else { "" },
            c.concurrency,
            mode,
            c.spans_per_request,
            self.mean_span_bytes,
            self.mean_request_bytes / 1000,
        );
        let window = self.window().as_secs_f64();
        let _ = writeln!(
            text,
            "accepted    {} spans in {:.1} s = {:.0} spans/s ({:.1} MB/s protobuf), {} requests",
            self.load.accepted_spans,
            window,
            self.accepted_per_second(),
            self.load.accepted_bytes as f64 / 1e6 / window.max(1e-3),
            self.load.accepted_requests,
        );
        let _ = writeln!(
            text,
            "latency     {}",
            describe(Percentiles::from_micros(&self.load.latencies_us))
        );
        let failures: Vec<String> = self
            .load
            .failures
            .iter()
            .map(|(label, n)| format!("{label}: {n}"))
            .collect();
        let _ = writeln!(
            text,
            "rejected    429/RESOURCE_EXHAUSTED {} | other {}{}",
            self.load.backpressure,
            self.load.failure_count(),
            if failures.is_empty() {
                String::new()
            } else {
                format!(" ({})", failures.join(", "))
            },
        );
        if self.load.generator_skipped > 0 {
            let _ = writeln!(
                text,
                "generator   {} ticks skipped (all slots busy)",
                self.load.generator_skipped
            );
        }
        let m = &self.markers;
        let _ = writeln!(
            text,
            "queryable   {} | markers sent {}, rejected {}, timed out {}, skipped {}, {} reads",
            describe(Percentiles::from_micros(&m.delays_us)),
            m.sent,
            m.rejected,
            m.timed_out,
            m.skipped,
            m.polls,
        );
        let _ = match (self.drain, self.sustained_per_second()) {
            _ if c.ingest_only => writeln!(text, "drain       not measured (--ingest-only)"),
            (Some(drain), Some(sustained)) => writeln!(
                text,
                "drain       {:.2} s after the load | sustained (accepted / (window + drain)) {sustained:.0} spans/s",
                drain.as_secs_f64()
            ),
            _ => writeln!(
                text,
                "drain       did not finish within {:?}",
                c.drain_timeout
            ),
        };
        let (checked, found, complete) = self.sample;
        let _ = writeln!(
            text,
            "sample      {checked} traces checked: {found} found, {complete} with every span"
        );
        if self.memory.samples > 0 {
            let _ = writeln!(
                text,
                "server rss  peak {:.0} MiB | final {:.0} MiB | VmHWM {:.0} MiB",
                self.memory.peak_rss_kib as f64 / 1024.0,
                self.memory.last.rss_kib as f64 / 1024.0,
                self.memory.last.hwm_kib as f64 / 1024.0,
            );
            let every_5s: Vec<String> = self
                .memory
                .timeline_kib
                .iter()
                .step_by(5)
                .map(|kib| format!("{:.0}", *kib as f64 / 1024.0))
                .collect();
            let _ = writeln!(text, "rss / 5 s   {} MiB", every_5s.join(" "));
        }
        let cores = |value: Option<f64>| value.map_or("-".to_owned(), |v| format!("{v:.2}"));
        let threads: Vec<String> = self
            .cpu
            .threads
            .iter()
            .take(6)
            .map(|(name, cores)| format!("{name} {cores:.2}"))
            .collect();
        let observed: String = self
            .cpu
            .observed
            .iter()
            .map(|(name, cores)| format!(" | {name} {cores:.2}"))
            .collect();
        let load = self
            .load_average
            .map_or("-".to_owned(), |[one, five, fifteen]| {
                format!("{one:.2} {five:.2} {fifteen:.2}")
            });
        let _ = writeln!(
            text,
            "cpu cores   server {} | harness {}{observed} | load average {load}{}",
            cores(self.cpu.server_cores),
            cores(self.cpu.harness_cores),
            if threads.is_empty() {
                String::new()
            } else {
                format!(" | threads: {}", threads.join(", "))
            },
        );
        text
    }
}

fn describe(summary: Option<Percentiles>) -> String {
    match summary {
        Some(s) => format!(
            "p50 {:.1} ms | p90 {:.1} ms | p99 {:.1} ms | max {:.1} ms (n={})",
            s.p50, s.p90, s.p99, s.max, s.count
        ),
        None => "no samples".to_owned(),
    }
}

fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Grpc => "grpc",
        Protocol::Http => "http",
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}
