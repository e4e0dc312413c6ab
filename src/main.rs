//! The `periscope` binary: `periscope serve` runs every role in one process on the embedded
//! backends; `periscope project create` and `periscope key create` manage access.
//!
//! The binary only parses flags, loads configuration, wires roles together and shuts down;
//! the logic lives in the library crates.

mod admin;
mod backends;
mod cli;
mod serve;

use std::process::ExitCode;

use clap::Parser as _;

use cli::{Cli, Command, KeyCommand, ProjectCommand};

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
            Command::Serve(args) => serve::run(args).await,
            Command::Project {
                command: ProjectCommand::Create(args),
            } => admin::create_project(args).await,
            Command::Key {
                command: KeyCommand::Create(args),
            } => admin::create_key(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(error),
    }
}

fn fail(error: anyhow::Error) -> ExitCode {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "error: {error:#}");
    ExitCode::FAILURE
}
