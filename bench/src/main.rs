//! `periscope-bench`: load generator and benchmark harness for `periscope serve`.
//!
//! `load` sends realistic Langfuse-SDK GenAI spans over OTLP/gRPC or OTLP/HTTP and measures
//! accepted throughput, request latency, pushback, ingest-to-queryable latency (marker traces
//! polled on the read API), the drain after the load, and the server's memory and CPU.
//! `query` measures trace-by-id and filtered-list latency of a loaded server.
//! `prompts` measures prompt-fetch latency from the server's cache and from its store.
//! `describe` prints the generated traffic's shape. See docs/benchmarks.md.

mod cli;
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

use anyhow::{Context as _, bail};
use clap::Parser as _;
use prost::Message as _;

use crate::cli::{Cli, Command, LoadArgs};
use crate::load::LoadConfig;

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
