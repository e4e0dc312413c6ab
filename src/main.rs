//! The `periscope` binary: `periscope serve` runs every role in one process (on the embedded
//! backends unless configured otherwise); `periscope ingest`, `process enrich`, `sink traces`
//! and `api` run one role each against shared services; `periscope project` and
//! `periscope key` manage access; `periscope replay` and `periscope backfill` re-run history.
//!
//! The binary only parses flags, loads configuration, wires roles together and shuts down;
//! the logic lives in the library crates.

mod admin;
mod backends;
mod backfill;
mod cli;
mod replay;
mod roles;
mod serve;
mod stores;

use std::process::ExitCode;

use std::io::Write as _;

use clap::Parser as _;

use cli::{Cli, Command, KeyCommand, ProcessorCommand, ProjectCommand, SinkCommand};
use roles::RoleSet;

/// mimalloc instead of glibc malloc: the pipeline allocates many short-lived JSON values on
/// several threads, and glibc's arenas spent ~30 % of the server's CPU in malloc/free.
#[global_allocator]
static GLOBAL_ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return fail(anyhow::Error::new(error).context("failed to start the async runtime"));
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(RoleSet::ALL, args).await,
            Command::Ingest(args) => serve::run(RoleSet::INGEST, args).await,
            Command::Process {
                processor: ProcessorCommand::Enrich(args),
            } => serve::run(RoleSet::ENRICH, args).await,
            Command::Process {
                processor: ProcessorCommand::Evals(args),
            } => serve::run(RoleSet::EVALS, args).await,
            Command::Sink {
                sink: SinkCommand::Traces(args),
            } => serve::run(RoleSet::TRACE_SINK, args).await,
            Command::Sink {
                sink: SinkCommand::Archive(args),
            } => serve::run(RoleSet::ARCHIVE, args).await,
            Command::Api(args) => serve::run(RoleSet::API, args).await,
            Command::Replay(args) => {
                telemetry_for_commands(&args.common);
                replay::run(args).await
            }
            Command::Backfill(args) => {
                telemetry_for_commands(&args.common);
                backfill::run(args).await
            }
            Command::Project {
                command: ProjectCommand::Create(args),
            } => admin::create_project(args).await,
            Command::Key {
                command: KeyCommand::Create(args),
            } => admin::create_key(args).await,
            Command::Key {
                command: KeyCommand::List(args),
            } => admin::list_keys(args).await,
            Command::Key {
                command: KeyCommand::Revoke(args),
            } => admin::revoke_key(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(error),
    }
}

/// Logs of a one-shot command go to stderr like the server's (errors still end the command).
fn telemetry_for_commands(common: &cli::CommonArgs) {
    let format = match common.log_json {
        true => periscope_core::telemetry::LogFormat::Json,
        false => periscope_core::telemetry::LogFormat::Text,
    };
    if let Err(error) = periscope_core::telemetry::init(&common.log_filter, format) {
        let _ = writeln!(std::io::stderr(), "warning: logging is off: {error}");
    }
}

fn fail(error: anyhow::Error) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "error: {error:#}");
    ExitCode::FAILURE
}
