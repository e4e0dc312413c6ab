//! Command-line flags. Everything else is configuration (defaults < file < environment).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Periscope: observability and evaluation for LLM applications.
#[derive(Debug, Parser)]
#[command(name = "periscope", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Runs every role (ingest, processors, sinks, query API) in one process.
    Serve(ServeArgs),
    /// Runs the ingest role: OTLP (gRPC, HTTP) and Langfuse writes → the shared event log.
    Ingest(ServeArgs),
    /// Runs one processor of the pipeline against the shared event log.
    Process {
        #[command(subcommand)]
        processor: ProcessorCommand,
    },
    /// Runs one sink of the pipeline against the shared event log.
    Sink {
        #[command(subcommand)]
        sink: SinkCommand,
    },
    /// Runs the query API (Langfuse-compatible reads, prompts, datasets, admin).
    Api(ServeArgs),
    /// Re-emits a project's archived raw events of a time range into the pipeline
    /// (idempotent), e.g. to re-derive records after a mapping or price change.
    Replay(ReplayArgs),
    /// Runs an evaluator over the history of a time range: shows the estimate, creates a
    /// backfill in the meta store for the evals role to walk, and follows its progress
    /// (Ctrl-C stops following; the backfill keeps running).
    Backfill(BackfillArgs),
    /// Manages projects.
    Project {
        #[command(subcommand)]
        command: ProjectCommand,
    },
    /// Manages API keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
}

/// Flags shared by every command that opens the data directory.
#[derive(Debug, Args)]
pub(crate) struct CommonArgs {
    /// Configuration file (TOML); see deploy/config.example.toml.
    #[arg(long, env = "PERISCOPE_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Where the embedded backends keep their files (overrides storage.data_dir).
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
    /// Log filter, e.g. `info` or `info,periscope_ingest=debug`.
    #[arg(long, env = "PERISCOPE_LOG", default_value = "info")]
    pub(crate) log_filter: String,
    /// Log as JSON lines instead of text.
    #[arg(long)]
    pub(crate) log_json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
    /// HTTP listener: Langfuse API, OTLP/HTTP, health (overrides server.http_addr).
    #[arg(long)]
    pub(crate) http_addr: Option<SocketAddr>,
    /// gRPC listener: OTLP/gRPC and the native ingest service (overrides server.grpc_addr).
    #[arg(long)]
    pub(crate) grpc_addr: Option<SocketAddr>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProcessorCommand {
    /// Maps raw events to records, masks and prices them (ingest topic → records topic).
    Enrich(ServeArgs),
    /// Runs the evaluator scheduler and runner (LLM-as-a-judge on matching records).
    Evals(ServeArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum SinkCommand {
    /// Writes records into the trace store (ClickHouse when clickhouse.url is set).
    #[command(alias = "clickhouse")]
    Traces(ServeArgs),
    /// Archives raw events into the blob store (S3 when s3.endpoint is set), for replay.
    #[command(alias = "s3")]
    Archive(ServeArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProjectCommand {
    /// Creates a project (idempotent for the same id).
    Create(ProjectCreateArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ProjectCreateArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
    /// Display name.
    #[arg(long)]
    pub(crate) name: String,
    /// Project id (default: derived from the name).
    #[arg(long)]
    pub(crate) id: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Creates an API key pair for a project and prints it once.
    Create(KeyCreateArgs),
    /// Lists a project's API keys (public key, masked secret, id, creation time, note).
    List(KeyListArgs),
    /// Revokes an API key: it stops authenticating within auth.cache_ttl.
    Revoke(KeyRevokeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct KeyListArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
    /// Project id.
    #[arg(long)]
    pub(crate) project: String,
}

#[derive(Debug, Args)]
pub(crate) struct KeyRevokeArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
    /// The public key (`pk-lf-…`) of the key pair to revoke.
    pub(crate) public_key: String,
}

#[derive(Debug, Args)]
pub(crate) struct KeyCreateArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
    /// Project id.
    #[arg(long)]
    pub(crate) project: String,
    /// Use this public key instead of a random one.
    #[arg(long, requires = "secret_key")]
    pub(crate) public_key: Option<String>,
    /// Use this secret key instead of a random one.
    #[arg(long, requires = "public_key")]
    pub(crate) secret_key: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
    /// Project id.
    #[arg(long)]
    pub(crate) project: String,
    /// Start of the range (received time), RFC 3339 or a date, inclusive.
    #[arg(long, value_parser = crate::replay::parse_time)]
    pub(crate) from: chrono::DateTime<chrono::Utc>,
    /// End of the range, exclusive.
    #[arg(long, value_parser = crate::replay::parse_time)]
    pub(crate) to: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Args)]
pub(crate) struct BackfillArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
    /// The evaluator to run.
    #[arg(long)]
    pub(crate) evaluator: String,
    /// The evaluator's project (default: the project that has an evaluator with this id).
    #[arg(long)]
    pub(crate) project: Option<String>,
    /// Start of the range (trace timestamp or observation start), RFC 3339 or a date,
    /// inclusive.
    #[arg(long, value_parser = crate::replay::parse_time)]
    pub(crate) from: chrono::DateTime<chrono::Utc>,
    /// End of the range, exclusive.
    #[arg(long, value_parser = crate::replay::parse_time)]
    pub(crate) to: chrono::DateTime<chrono::Utc>,
    /// Print the estimate on stdout (`name: value` lines) and create nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Stop after this many judge calls.
    #[arg(long)]
    pub(crate) max_jobs: Option<u64>,
    /// Stop once the estimated tokens would pass this.
    #[arg(long)]
    pub(crate) max_tokens: Option<u64>,
    /// Stop once the estimated cost (USD) would pass this.
    #[arg(long)]
    pub(crate) max_cost_usd: Option<f64>,
}
