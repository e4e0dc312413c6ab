//! Names of the log topics and how messages on them are keyed (DESIGN.md §4).

/// Raw events as accepted by the ingesters (`periscope.v1.Event` protobuf).
pub const INGEST: &str = "periscope.ingest.v1";
/// Enriched, costed records (`model::Record` JSON), consumed by the sinks.
pub const RECORDS: &str = "periscope.records.v1";
/// Evaluation jobs for the eval runner.
pub const EVAL_JOBS: &str = "periscope.eval-jobs.v1";

/// Returns the dead-letter topic for `topic`.
pub fn dlq(topic: &str) -> String {
    format!("{topic}.dlq")
}

/// Returns the message key `project_id/trace_id`, which keeps one trace ordered within a partition.
pub fn trace_key(project_id: &str, trace_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(project_id.len() + 1 + trace_id.len());
    key.extend_from_slice(project_id.as_bytes());
    key.push(b'/');
    key.extend_from_slice(trace_id.as_bytes());
    key
}
