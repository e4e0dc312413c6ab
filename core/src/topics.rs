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

/// The project of a message key made by [`trace_key`], if the key has that shape.
pub fn key_project_id(key: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(key).ok()?;
    text.split_once('/').map(|(project_id, _)| project_id)
}

/// Returns the message key `project_id/trace_id`, which keeps one trace ordered within a partition.
pub fn trace_key(project_id: &str, trace_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(project_id.len() + 1 + trace_id.len());
    key.extend_from_slice(project_id.as_bytes());
    key.push(b'/');
    key.extend_from_slice(trace_id.as_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_comes_back_out_of_a_trace_key() {
        assert_eq!(key_project_id(&trace_key("p-1", "abc/def")), Some("p-1"));
        assert_eq!(key_project_id(b"no-separator"), None);
        assert_eq!(key_project_id(&[0xff, b'/', b'x']), None);
    }
}
