//! The `prompts` command's report: a summary per phase and one JSON line.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::procstat::MemorySummary;
use crate::prompts::phase::PhaseStats;
use crate::prompts::{CreateStats, PromptsConfig};
use crate::stats::{Percentiles, round};

/// Everything a `prompts` run measured.
#[derive(Debug)]
pub(crate) struct PromptsReport {
    /// The run's settings.
    pub(crate) config: PromptsConfig,
    /// Creating the prompts.
    pub(crate) create: CreateStats,
    /// (phase name, keys available, what it measured), in order.
    pub(crate) phases: Vec<(&'static str, usize, PhaseStats)>,
    /// The server's memory over the whole run.
    pub(crate) memory: MemorySummary,
    /// Load averages when the run started.
    pub(crate) load_average_start: Option<[f64; 3]>,
}

fn per_second(count: usize, stats: &PhaseStats) -> f64 {
    count as f64 / stats.window.as_secs_f64().max(1e-3)
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

impl PromptsReport {
    /// Returns the JSON line.
    pub(crate) fn to_json(&self) -> Value {
        let phases: Vec<Value> = self
            .phases
            .iter()
            .map(|(name, keys, stats)| {
                json!({
                    "phase": name,
                    "keys": keys,
                    "ok": stats.latencies_us.len(),
                    "requests_per_s": per_second(stats.latencies_us.len(), stats).round(),
                    "latency_ms": Percentiles::to_json(Percentiles::from_micros(&stats.latencies_us)),
                    "failures": stats.failures,
                    "generator_skipped": stats.skipped,
                    "keys_exhausted": stats.exhausted,
                    "window_s": round(stats.window.as_secs_f64()),
                    "server_cpu_cores": stats.server_cores.map(round2),
                    "harness_cpu_cores": stats.harness_cores.map(round2),
                    "load_average_end": stats.load_average,
                    "invalidations": stats.invalidations,
                })
            })
            .collect();
        let c = &self.config;
        let memory = (self.memory.samples > 0).then(|| {
            json!({"peak_rss_mib": round(self.memory.peak_rss_kib as f64 / 1024.0),
                "final_rss_mib": round(self.memory.last.rss_kib as f64 / 1024.0)})
        });
        json!({
            "label": c.label,
            "kind": "prompts",
            "prompts": c.prompts,
            "versions": c.versions,
            "hot": c.hot,
            "concurrency": c.concurrency,
            "rate_target": c.rate,
            "created_versions": self.create.versions,
            "create_s": round(self.create.elapsed.as_secs_f64()),
            "create_latency_ms": Percentiles::to_json(Percentiles::from_micros(&self.create.latencies_us)),
            "phases": phases,
            "server_memory": memory,
            "load_average_start": self.load_average_start,
        })
    }

    /// Returns the human-readable summary.
    pub(crate) fn to_text(&self) -> String {
        let c = &self.config;
        let mut text = String::new();
        let mode = c.rate.map_or("closed loop".to_owned(), |rate| {
            format!("open loop at {rate:.0} req/s")
        });
        let _ = writeln!(
            text,
            "== {}: {} prompts x {} versions, hot set {} | concurrency {} | {mode} | load average at start {}",
            c.label,
            c.prompts,
            c.versions,
            c.hot,
            c.concurrency,
            load(self.load_average_start),
        );
        let _ = writeln!(
            text,
            "create      {} versions in {:.1} s | {}",
            self.create.versions,
            self.create.elapsed.as_secs_f64(),
            describe(Percentiles::from_micros(&self.create.latencies_us)),
        );
        for (name, keys, stats) in &self.phases {
            let failed: u64 = stats.failures.values().sum();
            let mut notes = String::new();
            if failed > 0 {
                let _ = write!(notes, " {:?}", stats.failures);
            }
            if stats.exhausted {
                let _ = write!(notes, " | all {keys} keys used");
            }
            if stats.skipped > 0 {
                let _ = write!(notes, " | {} ticks skipped", stats.skipped);
            }
            if stats.invalidations > 0 {
                let _ = write!(notes, " | {} cache-dropping writes", stats.invalidations);
            }
            let _ = writeln!(
                text,
                "{name:<11} {} | {:.0} req/s over {:.1} s | failed {failed}{notes} | server {} \
                 cores, harness {} | load average {}",
                describe(Percentiles::from_micros(&stats.latencies_us)),
                per_second(stats.latencies_us.len(), stats),
                stats.window.as_secs_f64(),
                cores(stats.server_cores),
                cores(stats.harness_cores),
                load(stats.load_average),
            );
        }
        if self.memory.samples > 0 {
            let _ = writeln!(
                text,
                "server rss  peak {:.0} MiB | final {:.0} MiB",
                self.memory.peak_rss_kib as f64 / 1024.0,
                self.memory.last.rss_kib as f64 / 1024.0,
            );
        }
        text
    }
}

fn cores(value: Option<f64>) -> String {
    value.map_or("-".to_owned(), |v| format!("{v:.2}"))
}

fn load(value: Option<[f64; 3]>) -> String {
    value.map_or("-".to_owned(), |[one, five, fifteen]| {
        format!("{one:.2} {five:.2} {fifteen:.2}")
    })
}

fn describe(summary: Option<Percentiles>) -> String {
    match summary {
        Some(s) => format!(
            "p50 {:.2} ms | p90 {:.2} ms | p99 {:.2} ms | max {:.1} ms (n={})",
            s.p50, s.p90, s.p99, s.max, s.count
        ),
        None => "no samples".to_owned(),
    }
}
