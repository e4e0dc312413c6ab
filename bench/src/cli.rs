//! The command line: subcommands and their flags.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::client::Protocol;

/// Load generator and benchmark harness for `periscope serve`.
#[derive(Debug, Parser)]
#[command(name = "periscope-bench", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
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
pub(crate) struct LoadArgs {
    /// Base URL of the server's HTTP listener (OTLP/HTTP and the read API).
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    pub(crate) http: String,
    /// URL of the server's gRPC listener.
    #[arg(long, default_value = "http://127.0.0.1:4317")]
    pub(crate) grpc: String,
    /// Protocol of the load (and of the markers).
    #[arg(long, value_enum, default_value_t = Protocol::Grpc)]
    pub(crate) protocol: Protocol,
    /// Gzip every request (OTLP/HTTP `Content-Encoding: gzip`, gRPC `grpc-encoding: gzip`).
    #[arg(long)]
    pub(crate) gzip: bool,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    pub(crate) concurrency: usize,
    /// How long to send, e.g. `30s`, `2m`, `500ms`.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub(crate) duration: Duration,
    /// Spans per load request (five spans per trace).
    #[arg(long, default_value_t = 100)]
    pub(crate) spans_per_request: usize,
    /// Open loop: send this many spans per second regardless of latency (default: closed loop).
    #[arg(long)]
    pub(crate) rate: Option<f64>,
    /// Public key (Basic auth).
    #[arg(long, env = "PERISCOPE_BENCH_PUBLIC_KEY")]
    pub(crate) public_key: String,
    /// Secret key (Basic auth).
    #[arg(long, env = "PERISCOPE_BENCH_SECRET_KEY")]
    pub(crate) secret_key: String,
    /// Server process id: samples VmRSS every 100 ms and CPU per thread.
    #[arg(long)]
    pub(crate) server_pid: Option<u32>,
    /// Distinct pre-encoded requests to rotate through.
    #[arg(long, default_value_t = 32)]
    pub(crate) pool_size: usize,
    /// gRPC (HTTP/2) connections to spread the load over.
    #[arg(long, default_value_t = 1)]
    pub(crate) grpc_connections: usize,
    /// Pause between marker traces.
    #[arg(long, default_value = "100ms", value_parser = parse_duration)]
    pub(crate) marker_interval: Duration,
    /// Send no marker traces (measures ingest alone).
    #[arg(long)]
    pub(crate) no_markers: bool,
    /// Pause between reads of a marker trace.
    #[arg(long, default_value = "20ms", value_parser = parse_duration)]
    pub(crate) poll_interval: Duration,
    /// Longest wait for one marker to become queryable.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub(crate) queryable_timeout: Duration,
    /// Longest wait, after the load, for the last acknowledged requests to become queryable.
    #[arg(long, default_value = "300s", value_parser = parse_duration)]
    pub(crate) drain_timeout: Duration,
    /// Markers waited for at once; beyond this, marker ticks are skipped (and counted).
    #[arg(long, default_value_t = 50)]
    pub(crate) max_pending_markers: usize,
    /// Pause of a sender after a 429 or a failure.
    #[arg(long, default_value = "50ms", value_parser = parse_duration)]
    pub(crate) backoff: Duration,
    /// Traces checked for completeness after the drain.
    #[arg(long, default_value_t = 50)]
    pub(crate) sample_size: usize,
    /// The server has no read API (e.g. `periscope ingest` alone): send no markers, skip the
    /// drain and the completeness check, and only require the first request to be accepted.
    #[arg(long)]
    pub(crate) ingest_only: bool,
    /// Also report the CPU of another process over the load, as NAME=PID (repeatable), e.g.
    /// the Kafka broker that shares the machine.
    #[arg(long, value_parser = parse_observed)]
    pub(crate) observe_pid: Vec<(String, u32)>,
    /// Name of the run in the report.
    #[arg(long)]
    pub(crate) label: Option<String>,
    /// Also append the report's JSON line to this file.
    #[arg(long)]
    pub(crate) json_out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct PromptsArgs {
    /// Base URL of the server's HTTP listener.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    pub(crate) http: String,
    /// Public key (Basic auth).
    #[arg(long, env = "PERISCOPE_BENCH_PUBLIC_KEY")]
    pub(crate) public_key: String,
    /// Secret key (Basic auth).
    #[arg(long, env = "PERISCOPE_BENCH_SECRET_KEY")]
    pub(crate) secret_key: String,
    /// Server process id: samples VmRSS and CPU.
    #[arg(long)]
    pub(crate) server_pid: Option<u32>,
    /// Prompt names to create (half text, half chat).
    #[arg(long, default_value_t = 1000)]
    pub(crate) prompts: usize,
    /// Versions per name.
    #[arg(long, default_value_t = 4)]
    pub(crate) versions: u32,
    /// Names fetched over and over in the cached phase.
    #[arg(long, default_value_t = 20)]
    pub(crate) hot: usize,
    /// Fetches in flight at once.
    #[arg(long, default_value_t = 4)]
    pub(crate) concurrency: usize,
    /// Creates in flight at once.
    #[arg(long, default_value_t = 4)]
    pub(crate) create_concurrency: usize,
    /// Length of each phase, e.g. `20s`.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub(crate) duration: Duration,
    /// Open loop: fetches per second (default: closed loop).
    #[arg(long)]
    pub(crate) rate: Option<f64>,
    /// Adds a phase of hot fetches while a new prompt version is written this often (each
    /// write drops the server's cached prompts of the project), e.g. `100ms`.
    #[arg(long, value_parser = parse_duration)]
    pub(crate) invalidate_every: Option<Duration>,
    /// Name of the run in the report.
    #[arg(long, default_value = "prompts")]
    pub(crate) label: String,
    /// Also append the report's JSON line to this file.
    #[arg(long)]
    pub(crate) json_out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// Base URL of the server's HTTP listener.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    pub(crate) http: String,
    /// Public key (Basic auth).
    #[arg(long, env = "PERISCOPE_BENCH_PUBLIC_KEY")]
    pub(crate) public_key: String,
    /// Secret key (Basic auth).
    #[arg(long, env = "PERISCOPE_BENCH_SECRET_KEY")]
    pub(crate) secret_key: String,
    /// Server process id: samples CPU and memory.
    #[arg(long)]
    pub(crate) server_pid: Option<u32>,
    /// Pages of 100 traces sampled (spread over the list) for ids and filter values.
    #[arg(long, default_value_t = 40)]
    pub(crate) sample_pages: u64,
    /// Reads in flight at once.
    #[arg(long, default_value_t = 4)]
    pub(crate) concurrency: usize,
    /// Length of each phase, e.g. `20s`.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub(crate) duration: Duration,
    /// Open loop: reads per second (default: closed loop).
    #[arg(long)]
    pub(crate) rate: Option<f64>,
    /// Name of the run in the report.
    #[arg(long, default_value = "query")]
    pub(crate) label: String,
    /// Also append the report's JSON line to this file.
    #[arg(long)]
    pub(crate) json_out: Option<PathBuf>,
}

/// Parses `NAME=PID`.
pub(crate) fn parse_observed(text: &str) -> Result<(String, u32), String> {
    let (name, pid) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not NAME=PID"))?;
    let pid = pid
        .trim()
        .parse()
        .map_err(|_| format!("`{pid}` in `{text}` is not a process id"))?;
    Ok((name.trim().to_owned(), pid))
}

/// Parses `500ms`, `30s`, `2m` or a bare number of seconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
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
