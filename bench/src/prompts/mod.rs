//! The `prompts` command: prompt-fetch latency as SDKs see it (issue 4).
//!
//! It creates `--prompts` names with `--versions` versions each through
//! `POST /api/public/v2/prompts`, then measures `GET /api/public/v2/prompts/{name}` in two
//! phases:
//!
//! - **cached**: round and round a hot set of `--hot` names (their `production` label and
//!   their newest version by number), after one warm-up fetch of each: what an application
//!   sees when it fetches the same prompts on every request.
//! - **uncached**: every fetch asks for a (name, label or version) that nobody has fetched
//!   since the prompts were created — `production`, each version by number and each version by
//!   its own label, of the names outside the hot set, shuffled. The server caches lookups by
//!   exactly that key and drops a project's entries on every write, so each of these fetches
//!   goes to the store. The phase ends early when those keys run out.
//!
//! - **invalidated** (with `--invalidate-every`): the hot set again, while a new version of a
//!   hot name is written every interval; each write drops the project's cached entries, so
//!   this is the hot path's latency with the cache refilling after every change.
//!
//! Every answer is checked: it must be the name and version asked for, with content.
//! Ingest load, if wanted, comes from a separate `periscope-bench load` (see bench/prompts.sh).

mod api;
mod corpus;
mod report;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::task::JoinSet;

use crate::client::basic_auth;
use crate::flag::StopFlag;
use crate::phase::{KeyOrder, PhasePlan, PhaseStats, run_phase, shuffle};
use crate::pool::unix_now_ns;
use crate::procstat::{self, MemorySummary};
use crate::prompts::api::PromptApi;
use crate::prompts::corpus::{Corpus, FetchKey};
pub(crate) use crate::prompts::report::PromptsReport;

/// Settings of one `prompts` run.
#[derive(Debug, Clone)]
pub(crate) struct PromptsConfig {
    /// Name of the run in the report.
    pub(crate) label: String,
    /// Base URL of the server's HTTP listener.
    pub(crate) http: String,
    /// Basic-auth key pair.
    pub(crate) public_key: String,
    /// Basic-auth key pair.
    pub(crate) secret_key: String,
    /// Server process to sample memory and CPU of.
    pub(crate) server_pid: Option<u32>,
    /// Prompt names to create.
    pub(crate) prompts: usize,
    /// Versions per name.
    pub(crate) versions: u32,
    /// Names in the hot set of the cached phase.
    pub(crate) hot: usize,
    /// Fetches in flight at most.
    pub(crate) concurrency: usize,
    /// Creates in flight at most (each name's versions are created in order).
    pub(crate) create_concurrency: usize,
    /// Length of each phase.
    pub(crate) duration: Duration,
    /// Open loop: fetches per second; closed loop when absent.
    pub(crate) rate: Option<f64>,
    /// Run a third phase, hot fetches while a version is written this often.
    pub(crate) invalidate_every: Option<Duration>,
    /// Append the JSON line of the report to this file too.
    pub(crate) json_out: Option<PathBuf>,
}

/// What creating the prompts took.
#[derive(Debug, Default)]
pub(crate) struct CreateStats {
    /// Versions created.
    pub(crate) versions: u64,
    /// Wall time of the whole creation.
    pub(crate) elapsed: Duration,
    /// Latency of every create, in microseconds.
    pub(crate) latencies_us: Vec<u64>,
}

/// Runs the command and returns its report.
pub(crate) async fn run(config: PromptsConfig) -> anyhow::Result<PromptsReport> {
    if config.hot == 0 || config.hot >= config.prompts {
        bail!("--hot must be at least 1 and less than --prompts, so both phases have prompts");
    }
    let api = PromptApi::new(
        &config.http,
        &basic_auth(&config.public_key, &config.secret_key),
    )?;
    let run_id = unix_now_ns() % 1_000_000_000;
    let corpus = Arc::new(Corpus {
        folder: format!("bench-{run_id}"),
        prompts: config.prompts,
        versions: config.versions.max(1),
    });
    let load_average_start = procstat::load_average();
    let memory = Arc::new(Mutex::new(MemorySummary::default()));
    let sampling = StopFlag::default();
    let mut sampler = JoinSet::new();
    if let Some(pid) = config.server_pid {
        procstat::memory(pid)?;
        let interval = Duration::from_millis(100);
        sampler.spawn(procstat::sample_memory(
            pid,
            interval,
            memory.clone(),
            sampling.clone(),
        ));
    }

    let create = create_all(&api, &corpus, config.create_concurrency).await?;

    let mut hot: Vec<FetchKey> = (0..config.hot).flat_map(|i| corpus.hot_keys(i)).collect();
    shuffle(&mut hot, run_id);
    for key in &hot {
        api.fetch_prompt(key)
            .await
            .map_err(|error| anyhow::anyhow!("warm-up fetch of {} failed: {error}", key.path))?;
    }
    let mut cold: Vec<FetchKey> = (config.hot..config.prompts)
        .flat_map(|i| corpus.distinct_keys(i))
        .collect();
    shuffle(&mut cold, run_id ^ 0x5eed);

    let hot = Arc::new(hot);
    let plan = |name, keys, order| PhasePlan {
        name,
        keys,
        order,
        duration: config.duration,
        concurrency: config.concurrency,
        rate: config.rate,
    };
    let mut phases = Vec::with_capacity(3);
    let cached = plan("cached", hot.clone(), KeyOrder::Cycle);
    phases.push(measure(&api, &cached, config.server_pid, None).await);
    let uncached = plan("uncached", Arc::new(cold), KeyOrder::Once);
    phases.push(measure(&api, &uncached, config.server_pid, None).await);
    if let Some(every) = config.invalidate_every {
        let writer = Invalidator {
            api: api.clone(),
            corpus: corpus.clone(),
            names: config.hot,
            every,
        };
        let invalidated = plan("invalidated", hot, KeyOrder::Cycle);
        phases.push(measure(&api, &invalidated, config.server_pid, Some(writer)).await);
    }
    sampling.set();
    while sampler.join_next().await.is_some() {}
    let memory = memory.lock().map(|m| m.clone()).unwrap_or_default();
    Ok(PromptsReport {
        config,
        create,
        phases,
        memory,
        load_average_start,
    })
}

/// Runs one phase, with `writer` invalidating the cache meanwhile if given.
async fn measure(
    api: &PromptApi,
    plan: &PhasePlan<FetchKey>,
    server_pid: Option<u32>,
    writer: Option<Invalidator>,
) -> (&'static str, usize, PhaseStats) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "phase {}: {} keys, {:?}",
        plan.name,
        plan.keys.len(),
        plan.duration
    );
    let stop = StopFlag::default();
    let fetching = async {
        let stats = run_phase(api, plan, server_pid).await;
        stop.set();
        stats
    };
    let stats = match writer {
        None => fetching.await,
        Some(writer) => {
            let (mut stats, writes) = tokio::join!(fetching, writer.run(stop.clone()));
            stats.invalidations = writes;
            stats
        }
    };
    (plan.name, plan.keys.len(), stats)
}

/// Writes a new, unlabelled version of a hot prompt every `every`: each write drops the
/// project's cached lookups, while every hot fetch keeps its expected answer (`production`
/// and the checked version numbers do not move).
#[derive(Debug)]
struct Invalidator {
    api: PromptApi,
    corpus: Arc<Corpus>,
    names: usize,
    every: Duration,
}

impl Invalidator {
    /// Writes until `stop` is set; returns the number of versions written.
    async fn run(self, stop: StopFlag) -> u64 {
        let mut next_version = vec![self.corpus.versions + 1; self.names];
        let mut ticker = tokio::time::interval(self.every);
        let mut written = 0;
        ticker.tick().await;
        while !stop.is_set() {
            ticker.tick().await;
            let index = written as usize % self.names;
            let body = self.corpus.create_body(index, next_version[index]);
            if self.api.create(&body).await.is_ok() {
                next_version[index] += 1;
                written += 1;
            }
        }
        written
    }
}

/// Creates the snippet, then every version of every name; `concurrency` names at a time.
async fn create_all(
    api: &PromptApi,
    corpus: &Arc<Corpus>,
    concurrency: usize,
) -> anyhow::Result<CreateStats> {
    let started = Instant::now();
    api.create(&corpus.snippet_body())
        .await
        .context("failed to create the snippet prompt")?;
    let next_name = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (api, corpus, next_name, latencies) = (
            api.clone(),
            corpus.clone(),
            next_name.clone(),
            latencies.clone(),
        );
        workers.spawn(async move {
            loop {
                let index = next_name.fetch_add(1, Ordering::Relaxed);
                if index >= corpus.prompts {
                    return Ok::<(), anyhow::Error>(());
                }
                for version in 1..=corpus.versions {
                    let sent = Instant::now();
                    api.create(&corpus.create_body(index, version)).await?;
                    if let Ok(mut latencies) = latencies.lock() {
                        latencies.push(sent.elapsed().as_micros() as u64);
                    }
                }
            }
        });
    }
    while let Some(result) = workers.join_next().await {
        result.context("a create task failed")??;
    }
    let latencies_us = latencies
        .lock()
        .map(|mut l| std::mem::take(&mut *l))
        .unwrap_or_default();
    Ok(CreateStats {
        versions: latencies_us.len() as u64 + 1,
        elapsed: started.elapsed(),
        latencies_us,
    })
}
