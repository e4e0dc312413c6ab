//! The `load` command: drives the server with pooled requests (closed or open loop) while the
//! markers measure ingest-to-queryable latency and the sampler watches the server's memory.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::client::{ExportClient, ExportOutcome, Protocol, TraceReader, basic_auth};
use crate::flag::StopFlag;
use crate::markers::{Probe, Queryable, hex, spread};
use crate::pool::{RequestPool, unix_now_ns};
use crate::procstat::{self, MemorySummary};
use crate::report::{CpuUsage, Report};
use crate::stats::{LoadStats, MarkerStats};

/// Settings of one load run (the `load` command's flags).
#[derive(Debug, Clone)]
pub(crate) struct LoadConfig {
    /// Free-form name of the run in the report.
    pub(crate) label: String,
    /// Base URL of the HTTP listener (OTLP/HTTP and the read API).
    pub(crate) http: String,
    /// URL of the gRPC listener.
    pub(crate) grpc: String,
    /// Protocol of the load and the markers.
    pub(crate) protocol: Protocol,
    /// Whether requests are gzip-compressed.
    pub(crate) gzip: bool,
    /// Sends in flight at once.
    pub(crate) concurrency: usize,
    /// How long new sends are started.
    pub(crate) duration: Duration,
    /// Spans per load request.
    pub(crate) spans_per_request: usize,
    /// Distinct pre-encoded templates.
    pub(crate) pool_size: usize,
    /// Open loop: target spans per second; closed loop when absent.
    pub(crate) rate: Option<f64>,
    /// Basic-auth key pair.
    pub(crate) public_key: String,
    /// Basic-auth key pair.
    pub(crate) secret_key: String,
    /// The server process to sample memory and CPU of.
    pub(crate) server_pid: Option<u32>,
    /// gRPC connections (HTTP/2) the load is spread over.
    pub(crate) grpc_connections: usize,
    /// Pause between markers; `None` disables them.
    pub(crate) marker_interval: Option<Duration>,
    /// Pause between reads of one trace.
    pub(crate) poll_interval: Duration,
    /// Longest wait for one marker.
    pub(crate) queryable_timeout: Duration,
    /// Longest wait for the drain after the load.
    pub(crate) drain_timeout: Duration,
    /// Markers waited for at once.
    pub(crate) max_pending_markers: usize,
    /// Pause after a 429 or a failure before that sender tries again.
    pub(crate) backoff: Duration,
    /// Sampled traces checked for completeness after the drain.
    pub(crate) sample_size: usize,
    /// Append the JSON line of the report to this file too.
    pub(crate) json_out: Option<PathBuf>,
    /// Use no read API: no markers, no drain, no completeness check (an ingest-only server).
    pub(crate) ingest_only: bool,
    /// Other processes whose CPU is reported, by name (e.g. the Kafka broker).
    pub(crate) observe: Vec<(String, u32)>,
}

/// What every load sender shares.
#[derive(Debug)]
struct Sender {
    pool: Arc<RequestPool>,
    client: ExportClient,
    stats: Mutex<LoadStats>,
    backoff: Duration,
}

impl Sender {
    /// Sends one pooled request and records the answer; backs off after a rejection.
    async fn send_one(&self) {
        let request = self.pool.next_request(unix_now_ns());
        let protobuf_bytes = request.body.len();
        let body = self.client.prepare(request.body);
        let started = Instant::now();
        let outcome = self.client.export(body).await;
        let answered = Instant::now();
        if let Ok(mut stats) = self.stats.lock() {
            stats.window(started, answered);
            match &outcome {
                ExportOutcome::Accepted => stats.accepted(
                    request.sequence,
                    request.spans,
                    protobuf_bytes,
                    answered - started,
                ),
                ExportOutcome::Backpressure => stats.backpressure += 1,
                ExportOutcome::Failed(label) => stats.failed(label.clone()),
            }
        }
        if outcome != ExportOutcome::Accepted {
            tokio::time::sleep(self.backoff).await;
        }
    }
}

/// Runs the load and returns its report (also printed by the caller).
pub(crate) async fn run(config: LoadConfig) -> anyhow::Result<Report> {
    let authorization = basic_auth(&config.public_key, &config.secret_key);
    let pool = Arc::new(RequestPool::build(
        config.pool_size,
        config.spans_per_request,
        &config.public_key,
    )?);
    let client = ExportClient::connect(
        config.protocol,
        &config.http,
        &config.grpc,
        config.grpc_connections,
        &authorization,
        config.gzip,
    )
    .await?;
    let probe = Probe {
        pool: pool.clone(),
        client: client.clone(),
        reader: TraceReader::new(&config.http, &authorization)?,
        poll_interval: config.poll_interval,
        timeout: config.queryable_timeout,
        max_pending: config.max_pending_markers,
    };
    preflight(&probe, config.ingest_only).await?;
    // SIGINT / SIGTERM end the load early and still produce the report.
    let interrupted = StopFlag::default();
    let mut signals = JoinSet::new();
    signals.spawn(set_on_signal(interrupted.clone()));

    let memory = Arc::new(Mutex::new(MemorySummary::default()));
    let sampling = StopFlag::default();
    let mut background = JoinSet::new();
    if let Some(pid) = config.server_pid {
        procstat::memory(pid)?;
        background.spawn(procstat::sample_memory(
            pid,
            Duration::from_millis(100),
            memory.clone(),
            sampling.clone(),
        ));
    }
    let cpu_before = CpuSnapshot::take(config.server_pid, &config.observe);

    let sender = Arc::new(Sender {
        pool: pool.clone(),
        client,
        stats: Mutex::default(),
        backoff: config.backoff,
    });
    let marker_stats = Arc::new(Mutex::new(MarkerStats::default()));
    let markers_stop = StopFlag::default();
    if let Some(interval) = config.marker_interval {
        background.spawn(probe.clone().run_markers(
            interval,
            marker_stats.clone(),
            markers_stop.clone(),
        ));
    }
    let progress_stop = StopFlag::default();
    background.spawn(progress(
        sender.clone(),
        marker_stats.clone(),
        memory.clone(),
        progress_stop.clone(),
    ));

    let deadline = Instant::now() + config.duration;
    match config.rate {
        None => closed_loop(&sender, config.concurrency, deadline, &interrupted).await,
        Some(rate) => {
            let period = Duration::from_secs_f64(config.spans_per_request as f64 / rate.max(1.0));
            open_loop(&sender, config.concurrency, period, deadline, &interrupted).await
        }
    }
    let load_end = Instant::now();
    let cpu_during_load = CpuSnapshot::take(config.server_pid, &config.observe).since(&cpu_before);
    signals.abort_all();
    let load_average = procstat::load_average();
    progress_stop.set();
    // Markers measure the lag under load; the ones still pending finish during the drain.
    markers_stop.set();

    let recent: Vec<u64> = lock(&sender.stats, |s| {
        s.recent_accepted.iter().copied().collect()
    });
    let drain = if recent.is_empty() || config.ingest_only {
        None
    } else {
        probe.drain(&recent, load_end, config.drain_timeout).await
    };
    sampling.set();
    while background.join_next().await.is_some() {}
    let sampled: Vec<u64> = lock(&sender.stats, |s| spread(&s.sampled, config.sample_size));
    let sampled = if config.ingest_only {
        Vec::new()
    } else {
        sampled
    };
    let (found, complete) = probe.check_sample(&sampled).await;

    let final_memory = config.server_pid.and_then(|pid| procstat::memory(pid).ok());
    let load = std::mem::take(
        &mut *sender
            .stats
            .lock()
            .map_err(|_| anyhow::anyhow!("stats lock poisoned"))?,
    );
    let markers = std::mem::take(
        &mut *marker_stats
            .lock()
            .map_err(|_| anyhow::anyhow!("stats lock poisoned"))?,
    );
    let mut memory_summary = lock(&memory, |m| m.clone());
    if let Some(last) = final_memory {
        memory_summary.last = last;
    }
    let (mean_request_bytes, mean_span_bytes) = pool.mean_sizes();
    Ok(Report {
        config,
        mean_request_bytes,
        mean_span_bytes,
        load,
        markers,
        drain,
        sample: (sampled.len(), found, complete),
        memory: memory_summary,
        cpu: cpu_during_load,
        load_average,
    })
}

/// Sends one marker and waits for it, so that a wrong key or a missing read API stops the run
/// before the load starts instead of producing a report full of failures. With `ingest_only`
/// the marker only has to be accepted.
async fn preflight(probe: &Probe, ingest_only: bool) -> anyhow::Result<()> {
    let (body, trace_id) = probe.pool.marker(u64::MAX >> 1, unix_now_ns());
    match probe.client.export(probe.client.prepare(body)).await {
        ExportOutcome::Accepted => {}
        ExportOutcome::Backpressure => {
            bail!("the server answered the first request with 429 / RESOURCE_EXHAUSTED")
        }
        ExportOutcome::Failed(label) => {
            bail!("the first request failed ({label}); check the URLs and keys")
        }
    }
    if ingest_only {
        return Ok(());
    }
    let (status, _) = probe
        .reader
        .get_trace(&hex(&trace_id))
        .await
        .context("the read API is unreachable")?;
    if !matches!(status, http::StatusCode::OK | http::StatusCode::NOT_FOUND) {
        bail!("GET /api/public/traces/{{id}} answered {status}; expected 200 or 404");
    }
    match probe
        .wait_queryable(&hex(&trace_id), probe.timeout, None)
        .await
    {
        Queryable::At(_) => Ok(()),
        Queryable::TimedOut => bail!(
            "the first marker never became readable through GET /api/public/traces/{{id}} within {:?}",
            probe.timeout
        ),
    }
}

/// Sets `flag` on SIGINT or SIGTERM.
async fn set_on_signal(flag: StopFlag) {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    flag.set();
}

async fn closed_loop(
    sender: &Arc<Sender>,
    concurrency: usize,
    deadline: Instant,
    interrupted: &StopFlag,
) {
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let sender = sender.clone();
        let interrupted = interrupted.clone();
        workers.spawn(async move {
            while Instant::now() < deadline && !interrupted.is_set() {
                sender.send_one().await;
            }
        });
    }
    while workers.join_next().await.is_some() {}
}

/// Starts a send every `period` (spans per request / rate), whatever the answers' latency,
/// with at most `concurrency` in flight; a tick that finds every slot busy is counted and
/// skipped.
async fn open_loop(
    sender: &Arc<Sender>,
    concurrency: usize,
    period: Duration,
    deadline: Instant,
    interrupted: &StopFlag,
) {
    let slots = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut ticker = tokio::time::interval(period);
    let mut sends = JoinSet::new();
    while Instant::now() < deadline && !interrupted.is_set() {
        ticker.tick().await;
        while sends.try_join_next().is_some() {}
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            lock(&sender.stats, |s| s.generator_skipped += 1);
            continue;
        };
        let sender = sender.clone();
        sends.spawn(async move {
            sender.send_one().await;
            drop(permit);
        });
    }
    while sends.join_next().await.is_some() {}
}

/// Prints one line per second: throughput, pushback, markers and memory of the last second.
async fn progress(
    sender: Arc<Sender>,
    markers: Arc<Mutex<MarkerStats>>,
    memory: Arc<Mutex<MemorySummary>>,
    stop: StopFlag,
) {
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.tick().await;
    let (mut spans_before, mut pushback_before, mut failed_before, mut markers_before) =
        (0, 0, 0, 0);
    while !stop.is_set() {
        ticker.tick().await;
        let (spans, pushback, failed) = lock(&sender.stats, |s| {
            (s.accepted_spans, s.backpressure, s.failure_count())
        });
        let (done, worst_ms) = lock(&markers, |m| {
            let new = m
                .delays_us
                .get(markers_before.min(m.delays_us.len())..)
                .unwrap_or_default();
            (
                m.delays_us.len(),
                new.iter().max().map(|us| *us as f64 / 1000.0),
            )
        });
        let rss_mib = lock(&memory, |m| m.last.rss_kib / 1024);
        let line = format!(
            "[{:>4}s] accepted {:>7} spans/s | 429 {:>4} | failed {:>3} | markers done {:>3}, worst {} | rss {} MiB",
            started.elapsed().as_secs(),
            spans - spans_before,
            pushback - pushback_before,
            failed - failed_before,
            done - markers_before,
            worst_ms.map_or("-".to_owned(), |ms| format!("{ms:.0} ms")),
            rss_mib,
        );
        let _ = writeln!(std::io::stderr().lock(), "{line}");
        (spans_before, pushback_before, failed_before, markers_before) =
            (spans, pushback, failed, done);
    }
}

/// CPU seconds of the server, its threads and the harness at one instant.
#[derive(Debug, Clone)]
struct CpuSnapshot {
    at: Instant,
    server: Option<f64>,
    threads: std::collections::BTreeMap<String, f64>,
    harness: Option<f64>,
    observed: Vec<(String, Option<f64>)>,
}

impl CpuSnapshot {
    fn take(server_pid: Option<u32>, observe: &[(String, u32)]) -> Self {
        Self {
            at: Instant::now(),
            server: server_pid.and_then(|pid| procstat::cpu_seconds(&pid.to_string())),
            threads: server_pid
                .map(procstat::thread_cpu_seconds)
                .unwrap_or_default(),
            harness: procstat::cpu_seconds("self"),
            observed: observe
                .iter()
                .map(|(name, pid)| (name.clone(), procstat::cpu_seconds(&pid.to_string())))
                .collect(),
        }
    }

    /// Returns the average cores used between `before` and this snapshot.
    fn since(&self, before: &Self) -> CpuUsage {
        let wall = self.at.duration_since(before.at).as_secs_f64().max(1e-3);
        let cores = |now: Option<f64>, then: Option<f64>| Some((now? - then?) / wall);
        let mut threads: Vec<(String, f64)> = self
            .threads
            .iter()
            .map(|(name, seconds)| {
                (
                    name.clone(),
                    (seconds - before.threads.get(name).copied().unwrap_or(0.0)) / wall,
                )
            })
            .filter(|(_, cores)| *cores >= 0.01)
            .collect();
        threads.sort_by(|a, b| b.1.total_cmp(&a.1));
        let observed = self
            .observed
            .iter()
            .zip(&before.observed)
            .filter_map(|((name, now), (_, then))| Some((name.clone(), cores(*now, *then)?)))
            .collect();
        CpuUsage {
            observed,
            server_cores: cores(self.server, before.server),
            harness_cores: cores(self.harness, before.harness),
            threads,
        }
    }
}

fn lock<T, R>(mutex: &Mutex<T>, read: impl FnOnce(&mut T) -> R) -> R
where
    R: Default,
{
    match mutex.lock() {
        Ok(mut guard) => read(&mut guard),
        Err(_) => R::default(),
    }
}
