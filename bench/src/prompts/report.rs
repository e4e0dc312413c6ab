//! The `prompts` command's report: a summary per phase and one JSON line.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::phase::{PhaseStats, describe_ms};
use crate::procstat::MemorySummary;
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

impl PromptsReport {
    /// Returns the JSON line.
    pub(crate) fn to_json(&self) -> Value {
        let phases: Vec<Value> = self
            .phases
            .iter()
            .map(|(name, keys, stats)| stats.to_json(name, *keys))
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
            describe_ms(Percentiles::from_micros(&self.create.latencies_us)),
        );
        for (name, keys, stats) in &self.phases {
            let _ = writeln!(text, "{}", stats.to_line(name, *keys));
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

fn load(value: Option<[f64; 3]>) -> String {
    value.map_or("-".to_owned(), |[one, five, fifteen]| {
        format!("{one:.2} {five:.2} {fifteen:.2}")
    })
}
