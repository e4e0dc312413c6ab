//! One measured phase of reads (`prompts`, `query`): fetches from a key list, closed loop (a
//! fixed number of fetches in flight) or open loop (a fixed request rate), for a duration or
//! until a list of once-only keys runs out.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use serde_json::{Value, json};

use crate::procstat;
use crate::stats::{Percentiles, round};

/// What a phase reads from: one fetch of one key, checked.
pub(crate) trait Target: Clone + Send + Sync + 'static {
    /// What names one fetch.
    type Key: Send + Sync + 'static;

    /// Fetches `key`; an error is the report label of what went wrong (`http 404`, …).
    fn fetch(&self, key: &Self::Key) -> impl Future<Output = Result<(), String>> + Send;
}

/// How a phase walks its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyOrder {
    /// Round and round a hot set.
    Cycle,
    /// Each key once; the phase ends early when they run out.
    Once,
}

/// What a phase does.
#[derive(Debug, Clone)]
pub(crate) struct PhasePlan<K> {
    /// Name in the report (`cached`, `uncached`, `invalidated`).
    pub(crate) name: &'static str,
    /// The fetches, in order.
    pub(crate) keys: Arc<Vec<K>>,
    /// How they are walked.
    pub(crate) order: KeyOrder,
    /// Longest time new fetches are started.
    pub(crate) duration: Duration,
    /// Fetches in flight at most.
    pub(crate) concurrency: usize,
    /// Open loop: requests per second; closed loop when absent.
    pub(crate) rate: Option<f64>,
}

/// What a phase measured.
#[derive(Debug, Default)]
pub(crate) struct PhaseStats {
    /// Latency of every successful fetch, in microseconds.
    pub(crate) latencies_us: Vec<u64>,
    /// Failed fetches by label.
    pub(crate) failures: BTreeMap<String, u64>,
    /// Open loop: ticks skipped because every slot was busy.
    pub(crate) skipped: u64,
    /// Whether a once-only key list ran out before the duration.
    pub(crate) exhausted: bool,
    /// From the first fetch to the last answer.
    pub(crate) window: Duration,
    /// Server CPU over the phase, in cores.
    pub(crate) server_cores: Option<f64>,
    /// Harness CPU over the phase, in cores.
    pub(crate) harness_cores: Option<f64>,
    /// Load averages (1, 5, 15 min) at the end of the phase.
    pub(crate) load_average: Option<[f64; 3]>,
    /// Prompt versions written during the phase (each drops the project's cached entries).
    pub(crate) invalidations: u64,
}

impl PhaseStats {
    /// Returns successful fetches per second over the phase.
    pub(crate) fn per_second(&self) -> f64 {
        self.latencies_us.len() as f64 / self.window.as_secs_f64().max(1e-3)
    }

    /// Returns the phase as a JSON object of a report.
    pub(crate) fn to_json(&self, name: &str, keys: usize) -> Value {
        json!({
            "phase": name,
            "keys": keys,
            "ok": self.latencies_us.len(),
            "requests_per_s": self.per_second().round(),
            "latency_ms": Percentiles::to_json(Percentiles::from_micros(&self.latencies_us)),
            "failures": self.failures,
            "generator_skipped": self.skipped,
            "keys_exhausted": self.exhausted,
            "window_s": round(self.window.as_secs_f64()),
            "server_cpu_cores": self.server_cores.map(round2),
            "harness_cpu_cores": self.harness_cores.map(round2),
            "load_average_end": self.load_average,
            "invalidations": self.invalidations,
        })
    }

    /// Returns the phase as one line of a report.
    pub(crate) fn to_line(&self, name: &str, keys: usize) -> String {
        let failed: u64 = self.failures.values().sum();
        let mut notes = String::new();
        if failed > 0 {
            let _ = write!(notes, " {:?}", self.failures);
        }
        if self.exhausted {
            let _ = write!(notes, " | all {keys} keys used");
        }
        if self.skipped > 0 {
            let _ = write!(notes, " | {} ticks skipped", self.skipped);
        }
        if self.invalidations > 0 {
            let _ = write!(notes, " | {} cache-dropping writes", self.invalidations);
        }
        let cores = |value: Option<f64>| value.map_or("-".to_owned(), |v| format!("{v:.2}"));
        let load = self
            .load_average
            .map_or("-".to_owned(), |[one, five, fifteen]| {
                format!("{one:.2} {five:.2} {fifteen:.2}")
            });
        format!(
            "{name:<11} {} | {:.0} req/s over {:.1} s | failed {failed}{notes} | server {} cores, \
             harness {} | load average {load}",
            describe_ms(Percentiles::from_micros(&self.latencies_us)),
            self.per_second(),
            self.window.as_secs_f64(),
            cores(self.server_cores),
            cores(self.harness_cores),
        )
    }
}

/// Returns percentiles as text, to 0.01 ms.
pub(crate) fn describe_ms(summary: Option<Percentiles>) -> String {
    match summary {
        Some(s) => format!(
            "p50 {:.2} ms | p90 {:.2} ms | p99 {:.2} ms | max {:.1} ms (n={})",
            s.p50, s.p90, s.p99, s.max, s.count
        ),
        None => "no samples".to_owned(),
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[derive(Debug)]
struct Fetcher<T: Target> {
    target: T,
    keys: Arc<Vec<T::Key>>,
    order: KeyOrder,
    next: AtomicUsize,
    stats: Mutex<PhaseStats>,
}

impl<T: Target> Fetcher<T> {
    fn next_key(&self) -> Option<&T::Key> {
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        match self.order {
            KeyOrder::Cycle if !self.keys.is_empty() => self.keys.get(index % self.keys.len()),
            KeyOrder::Cycle => None,
            KeyOrder::Once => self.keys.get(index),
        }
    }

    /// Fetches the next key and records the answer; returns false once the keys ran out.
    async fn fetch_next(&self) -> bool {
        let Some(key) = self.next_key() else {
            self.record(|stats| stats.exhausted = true);
            return false;
        };
        let started = Instant::now();
        let outcome = self.target.fetch(key).await;
        let latency = started.elapsed();
        self.record(|stats| match outcome {
            Ok(()) => stats.latencies_us.push(latency.as_micros() as u64),
            Err(label) => *stats.failures.entry(label).or_insert(0) += 1,
        });
        true
    }

    fn record(&self, update: impl FnOnce(&mut PhaseStats)) {
        if let Ok(mut stats) = self.stats.lock() {
            update(&mut stats);
        }
    }
}

/// Runs `plan` against `target` and returns what it measured.
pub(crate) async fn run_phase<T: Target>(
    target: &T,
    plan: &PhasePlan<T::Key>,
    server_pid: Option<u32>,
) -> PhaseStats {
    let fetcher = Arc::new(Fetcher {
        target: target.clone(),
        keys: plan.keys.clone(),
        order: plan.order,
        next: AtomicUsize::new(0),
        stats: Mutex::default(),
    });
    let server_before = server_pid.and_then(|pid| procstat::cpu_seconds(&pid.to_string()));
    let harness_before = procstat::cpu_seconds("self");
    let started = Instant::now();
    let deadline = started + plan.duration;
    match plan.rate {
        None => closed_loop(&fetcher, plan.concurrency, deadline).await,
        Some(rate) => open_loop(&fetcher, plan.concurrency, rate, deadline).await,
    }
    let window = started.elapsed();
    let cores = |now: Option<f64>, before: Option<f64>| {
        Some((now? - before?) / window.as_secs_f64().max(1e-3))
    };
    let server_cores = cores(
        server_pid.and_then(|pid| procstat::cpu_seconds(&pid.to_string())),
        server_before,
    );
    let harness_cores = cores(procstat::cpu_seconds("self"), harness_before);
    let mut stats = match Arc::try_unwrap(fetcher) {
        Ok(fetcher) => fetcher.stats.into_inner().unwrap_or_default(),
        // Every task has been joined, so this is the only reference left.
        Err(shared) => shared
            .stats
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default(),
    };
    stats.window = window;
    stats.server_cores = server_cores;
    stats.harness_cores = harness_cores;
    stats.load_average = procstat::load_average();
    stats
}

async fn closed_loop<T: Target>(fetcher: &Arc<Fetcher<T>>, concurrency: usize, deadline: Instant) {
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let fetcher = fetcher.clone();
        workers
            .spawn(async move { while Instant::now() < deadline && fetcher.fetch_next().await {} });
    }
    while workers.join_next().await.is_some() {}
}

/// Starts a fetch every `1 / rate` seconds, whatever the answers' latency, with at most
/// `concurrency` in flight; a tick that finds every slot busy is counted and skipped.
async fn open_loop<T: Target>(
    fetcher: &Arc<Fetcher<T>>,
    concurrency: usize,
    rate: f64,
    deadline: Instant,
) {
    let period = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let slots = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut ticker = tokio::time::interval(period);
    let mut fetches = JoinSet::new();
    while Instant::now() < deadline {
        ticker.tick().await;
        while fetches.try_join_next().is_some() {}
        if fetcher.stats.lock().is_ok_and(|stats| stats.exhausted) {
            break;
        }
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            fetcher.record(|stats| stats.skipped += 1);
            continue;
        };
        let fetcher = fetcher.clone();
        fetches.spawn(async move {
            fetcher.fetch_next().await;
            drop(permit);
        });
    }
    while fetches.join_next().await.is_some() {}
}

/// Shuffles `items` deterministically from `seed` (Fisher–Yates over SplitMix64).
pub(crate) fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    for last in (1..items.len()).rev() {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let other = (z % (last as u64 + 1)) as usize;
        items.swap(last, other);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_permutes() {
        let mut items: Vec<u32> = (0..1000).collect();
        shuffle(&mut items, 42);
        assert_ne!(items, (0..1000).collect::<Vec<_>>());
        items.sort_unstable();
        assert_eq!(items, (0..1000).collect::<Vec<_>>());
    }
}
