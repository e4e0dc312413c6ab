//! Logging setup for the process.

use tracing_subscriber::EnvFilter;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default on a terminal).
    Text,
    /// One JSON object per line (production).
    Json,
}

/// Installs the global `tracing` subscriber, writing to stderr. `filter` is an `EnvFilter`
/// directive such as `info,periscope_ingest=debug`.
pub fn init(filter: &str, format: LogFormat) -> Result<(), String> {
    let filter =
        EnvFilter::try_new(filter).map_err(|error| format!("invalid log filter: {error}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|error| format!("failed to install the log subscriber: {error}"))
}
