//! `periscope-bench`: load generator and benchmark harness for `periscope serve`.
//!
//! `load` sends realistic Langfuse-SDK GenAI spans over OTLP/gRPC or OTLP/HTTP and measures
//! accepted throughput, request latency, pushback, ingest-to-queryable latency (marker traces
//! polled on the read API), the drain after the load, and the server's memory and CPU.
//! `query` measures trace-by-id and filtered-list latency of a loaded server.
//! `prompts` measures prompt-fetch latency from the server's cache and from its store.
//! `describe` prints the generated traffic's shape. See docs/benchmarks.md.

mod client;
mod corpus;
mod flag;
mod load;
mod markers;
#[cfg(test)]
mod mock;
mod phase;
mod pool;
mod procstat;
mod prompts;
mod query;
mod report;
mod spans;
mod stats;
mod wire;

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand};
use prost::Message as _;

use crate::client::Protocol;
use crate::load::LoadConfig;

/// Load generator and benchmark harness for `periscope serve`.
#[derive(Debug, Parser)]
#[command(name = "periscope-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Drives a running server and reports throughput, latency, queryability and memory.
    Load(Box<LoadArgs>),
    /// Measures prompt-fetch latency, from the server's cache and from its store.
    Prompts(Box<PromptsArgs>),
    /// Measures read latency of a loaded server: trace by id and filtered lists.
    Query(Box<QueryArgs>),
    /// Prints the size of the generated spans and requests, and a sample request as JSON-ish text.
    Describe {
        /// Spans per request.
        #[arg(long, default_value_t = 100)]
        spans_per_request: usize,
    },
}

#[derive(Debug, Args)]
struct LoadArgs {
    /// Base URL of the server's HTTP listener (OTLP/HTTP and the read API).
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    http: String,
    /// URL of the server's gRPC listener.
    #[arg(long, default_value = "http://127.0.0.1:4317")]
    grpc: String,
    /// Protocol of the load (and of the markers).
    #[arg(long, value_enum, default_value_t = Protocol::Grpc)]
    protocol: Protocol,
    /// Gzip every request (OTLP/HTTP `Content-Encoding: gzip`, gRPC `grpc-encoding: gzip`).
    #[arg(long)]
    gzip: bool,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// How long to send, e.g. `30s`, `2m`, `500ms`.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// Spans per load request (five spans per trace).
    #[arg(long, default_value_t = 100)]
    spans_per_request: usize,
    /// Open loop: send this many spans per second regardless of latency (default: closed loop).
    #[arg(long)]
    rate: Option<f64>,
    /// Public key (Basic auth).
    #[arg(long, env = "PERISCOPE_BENCH_PUBLIC_KEY")]
    public_key: String,
    /// Secret key (Basic auth).
    #[arg(long, env = "PERISCOPE_BENCH_SECRET_KEY")]
    secret_key: String,
    /// Server process id: samples VmRSS every 100 ms and CPU per thread.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Distinct pre-encoded requests to rotate through.
    #[arg(long, default_value_t = 32)]
    pool_size: usize,
    /// gRPC (HTTP/2) connections to spread the load over.
    #[arg(long, default_value_t = 1)]
    grpc_connections: usize,
    /// Pause between marker traces.
    #[arg(long, default_value = "100ms", value_parser = parse_duration)]
    marker_interval: Duration,
    /// Send no marker traces (measures ingest alone).
    #[arg(long)]
    no_markers: bool,
    /// Pause between reads of a marker trace.
    #[arg(long, default_value = "20ms", value_parser = parse_duration)]
    poll_interval: Duration,
    /// Longest wait for one marker to become queryable.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    queryable_timeout: Duration,
    /// Longest wait, after the load, for the last acknowledged requests to become queryable.
    #[arg(long, default_value = "300s", value_parser = parse_duration)]
    drain_timeout: Duration,
    /// Markers waited for at once; beyond this, marker ticks are skipped (and counted).
    #[arg(long, default_value_t = 50)]
    max_pending_markers: usize,
    /// Pause of a sender after a 429 or a failure.
    #[arg(long, default_value = "50ms", value_parser = parse_duration)]
    backoff: Duration,
    /// Traces checked for completeness after the drain.
    #[arg(long, default_value_t = 50)]
    sample_size: usize,
    /// The server has no read API (e.g. `periscope ingest` alone): send no markers, skip the
    /// drain and the completeness check, and only require the first request to be accepted.
    #[arg(long)]
    ingest_only: bool,
    /// Also report the CPU of another process over the load, as NAME=PID (repeatable), e.g.
    /// the Kafka broker that shares the machine.
    #[arg(long, value_parser = parse_observed)]
    observe_pid: Vec<(String, u32)>,
    /// Name of the run in the report.
    #[arg(long)]
    label: Option<String>,
    /// Also append the report's JSON line to this file.
    #[arg(long)]
    json_out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct PromptsArgs {
    /// Base URL of the server's HTTP listener.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    http: String,
    /// Public key (Basic auth).
    #[arg(long, env = "PERISCOPE_BENCH_PUBLIC_KEY")]
    public_key: String,
    /// Secret key (Basic auth).
    #[arg(long, env = "PERISCOPE_BENCH_SECRET_KEY")]
    secret_key: String,
    /// Server process id: samples VmRSS and CPU.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Prompt names to create (half text, half chat).
    #[arg(long, default_value_t = 1000)]
    prompts: usize,
    /// Versions per name.
    #[arg(long, default_value_t = 4)]
    versions: u32,
    /// Names fetched over and over in the cached phase.
    #[arg(long, default_value_t = 20)]
    hot: usize,
    /// Fetches in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Creates in flight at once.
    #[arg(long, default_value_t = 4)]
    create_concurrency: usize,
    /// Length of each phase, e.g. `20s`.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    duration: Duration,
    /// Open loop: fetches per second (default: closed loop).
    #[arg(long)]
    rate: Option<f64>,
    /// Adds a phase of hot fetches while a new prompt version is written this often (each
    /// write drops the server's cached prompts of the project), e.g. `100ms`.
    #[arg(long, value_parser = parse_duration)]
    invalidate_every: Option<Duration>,
    /// Name of the run in the report.
    #[arg(long, default_value = "prompts")]
    label: String,
    /// Also append the report's JSON line to this file.
    #[arg(long)]
    json_out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct QueryArgs {
    /// Base URL of the server's HTTP listener.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    http: String,
    /// Public key (Basic auth).
    #[arg(long, env = "PERISCOPE_BENCH_PUBLIC_KEY")]
    public_key: String,
    /// Secret key (Basic auth).
    #[arg(long, env = "PERISCOPE_BENCH_SECRET_KEY")]
    secret_key: String,
    /// Server process id: samples CPU and memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Pages of 100 traces sampled (spread over the list) for ids and filter values.
    #[arg(long, default_value_t = 40)]
    sample_pages: u64,
    /// Reads in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Length of each phase, e.g. `20s`.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    duration: Duration,
    /// Open loop: reads per second (default: closed loop).
    #[arg(long)]
    rate: Option<f64>,
    /// Name of the run in the report.
    #[arg(long, default_value = "query")]
    label: String,
    /// Also append the report's JSON line to this file.
    #[arg(long)]
    json_out: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Describe { spans_per_request } => describe(spans_per_request),
        Command::Prompts(args) => {
            if args.concurrency == 0 || args.rate.is_some_and(|rate| rate.is_nan() || rate <= 0.0) {
                bail!("--concurrency must be at least 1 and --rate a positive number");
            }
            let config = prompts::PromptsConfig {
                label: args.label,
                http: args.http,
                public_key: args.public_key,
                secret_key: args.secret_key,
                server_pid: args.server_pid,
                prompts: args.prompts,
                versions: args.versions,
                hot: args.hot,
                concurrency: args.concurrency,
                create_concurrency: args.create_concurrency,
                duration: args.duration,
                rate: args.rate,
                invalidate_every: args.invalidate_every,
                json_out: args.json_out,
            };
            let json_out = config.json_out.clone();
            let report = runtime()?.block_on(prompts::run(config))?;
            emit(&report.to_text(), &report.to_json(), json_out.as_deref())
        }
        Command::Query(args) => {
            if args.concurrency == 0 || args.rate.is_some_and(|rate| rate.is_nan() || rate <= 0.0) {
                bail!("--concurrency must be at least 1 and --rate a positive number");
            }
            let config = query::QueryConfig {
                label: args.label,
                http: args.http,
                public_key: args.public_key,
                secret_key: args.secret_key,
                server_pid: args.server_pid,
                sample_pages: args.sample_pages,
                concurrency: args.concurrency,
                duration: args.duration,
                rate: args.rate,
                json_out: args.json_out,
            };
            let report = runtime()?.block_on(query::run(config))?;
            emit(&report.to_text(), &report.to_json(), report.json_out())
        }
        Command::Load(args) => {
            let config = load_config(args)?;
            let json_out = config.json_out.clone();
            let report = runtime()?.block_on(load::run(config))?;
            emit(&report.to_text(), &report.to_json(), json_out.as_deref())
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the tokio runtime")
}

/// Prints a report's summary and JSON line, and appends the line to `json_out`.
fn emit(
    text: &str,
    json: &serde_json::Value,
    json_out: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let line = json.to_string();
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")?;
    writeln!(stdout, "{line}")?;
    if let Some(path) = json_out {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("failed to open --json-out {}", path.display()))?;
        writeln!(file, "{line}")?;
    }
    Ok(())
}

fn load_config(args: Box<LoadArgs>) -> anyhow::Result<LoadConfig> {
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    if args.rate.is_some_and(|rate| rate.is_nan() || rate <= 0.0) {
        bail!("--rate must be a positive number of spans per second");
    }
    let label = args.label.unwrap_or_else(|| {
        let gzip = if args.gzip { "+gzip" } else { "" };
        let protocol = format!("{:?}", args.protocol).to_lowercase();
        format!("{protocol}{gzip}-c{}", args.concurrency)
    });
    Ok(LoadConfig {
        label,
        http: args.http,
        grpc: args.grpc,
        protocol: args.protocol,
        gzip: args.gzip,
        concurrency: args.concurrency,
        duration: args.duration,
        spans_per_request: args.spans_per_request,
        pool_size: args.pool_size,
        rate: args.rate,
        public_key: args.public_key,
        secret_key: args.secret_key,
        server_pid: args.server_pid,
        grpc_connections: args.grpc_connections,
        marker_interval: (!args.no_markers && !args.ingest_only).then_some(args.marker_interval),
        poll_interval: args.poll_interval,
        queryable_timeout: args.queryable_timeout,
        drain_timeout: args.drain_timeout,
        max_pending_markers: args.max_pending_markers,
        backoff: args.backoff,
        sample_size: args.sample_size,
        json_out: args.json_out,
        ingest_only: args.ingest_only,
        observe: args.observe_pid,
    })
}

/// Parses `NAME=PID`.
fn parse_observed(text: &str) -> Result<(String, u32), String> {
    let (name, pid) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not NAME=PID"))?;
    let pid = pid
        .trim()
        .parse()
        .map_err(|_| format!("`{pid}` in `{text}` is not a process id"))?;
    Ok((name.trim().to_owned(), pid))
}

fn describe(spans_per_request: usize) -> anyhow::Result<()> {
    let pool = pool::RequestPool::build(8, spans_per_request, "pk-lf-bench")?;
    let (request_bytes, span_bytes) = pool.mean_sizes();
    let request = pool.next_request(pool::unix_now_ns());
    let decoded =
        periscope_proto::otlp_collector::ExportTraceServiceRequest::decode(request.body.clone())?;
    let gzipped = client::gzip_bytes(&request.body)?.len();
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "{spans_per_request} spans/request: {request_bytes} B/request ({gzipped} B gzipped), \
         {span_bytes} B/span"
    )?;
    if let Some(span) = decoded
        .resource_spans
        .first()
        .and_then(|r| r.scope_spans.first())
        .and_then(|s| s.spans.get(1))
    {
        writeln!(
            stdout,
            "a generation span ({} bytes encoded):\n{span:#?}",
            span.encoded_len()
        )?;
    }
    Ok(())
}

/// Parses `500ms`, `30s`, `2m` or a bare number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 0.001)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1.0)
    } else if let Some(m) = text.strip_suffix('m') {
        (m, 60.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30s or 100ms"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("`{text}` is not a non-negative duration"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn parses_observed_processes() {
        assert_eq!(parse_observed("tansu=42"), Ok(("tansu".to_owned(), 42)));
        assert!(parse_observed("tansu").is_err());
        assert!(parse_observed("tansu=x").is_err());
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
