//! The `TraceStore` conformance suite: every scenario runs against both implementations, the
//! embedded `SqliteTraceStore` (a temporary file) and `ClickHouseTraceStore` (a fresh database
//! per test, dropped at the end), and expects the same results from both.
//!
//! Needs ClickHouse: `eval "$(deploy/dev-services.sh start)"` (reads `PERISCOPE__CLICKHOUSE__URL`).
//!
//! Every module is `cfg(test)` so that its fixtures count as test code (they may unwrap).

#[cfg(test)]
mod common;
#[cfg(test)]
mod experiments;
#[cfg(test)]
mod metrics;
#[cfg(test)]
mod metrics_query;
#[cfg(test)]
mod migrations;
#[cfg(test)]
mod observations;
#[cfg(test)]
mod partial_updates;
#[cfg(test)]
mod prompt_metrics;
#[cfg(test)]
mod scores;
#[cfg(test)]
mod session_metrics;
#[cfg(test)]
mod sessions;
#[cfg(test)]
mod trace_filters;
#[cfg(test)]
mod traces;
#[cfg(test)]
mod write;
