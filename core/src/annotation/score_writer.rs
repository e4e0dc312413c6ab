//! [`LogScoreWriter`]: scores appended to the ingest topic as `score_json` events, the same
//! envelope `POST /api/public/scores` produces.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use periscope_proto::pv1;
use prost::Message as _;

use super::ScoreWriter;
use crate::error::{BackendError, BackendResult};
use crate::langfuse::ScoreBody;
use crate::log::{EventLog, LogRecord};
use crate::topics;

/// The envelope layout version of the events written here.
const SCHEMA_VERSION: u32 = 1;

/// Appends scores to [`topics::INGEST`] of an event log.
#[derive(Debug, Clone)]
pub struct LogScoreWriter {
    log: Arc<dyn EventLog>,
}

impl LogScoreWriter {
    /// Returns a writer appending to `log`.
    pub fn new(log: Arc<dyn EventLog>) -> Self {
        Self { log }
    }
}

/// Returns the log record of one score, keyed by its subject like every other score.
fn score_record(
    score: &ScoreBody,
    project_id: &str,
    received_at_unix_nano: i64,
) -> BackendResult<LogRecord> {
    let score_json = serde_json::to_vec(score).map_err(|error| BackendError::Invalid {
        backend: "score writer",
        message: format!("failed to encode a score: {error}"),
    })?;
    let envelope = pv1::Event {
        event_id: crate::ids::new_event_id(),
        project_id: project_id.to_owned(),
        received_at_unix_nano,
        source: pv1::Source::LangfuseRest as i32,
        schema_version: SCHEMA_VERSION,
        body: Some(pv1::event::Body::ScoreJson(score_json)),
    };
    let subject = score
        .trace_id
        .as_deref()
        .or(score.session_id.as_deref())
        .or(score.dataset_run_id.as_deref())
        .unwrap_or(&score.id);
    Ok(LogRecord {
        key: Bytes::from(topics::trace_key(project_id, subject)),
        value: Bytes::from(envelope.encode_to_vec()),
    })
}

#[async_trait]
impl ScoreWriter for LogScoreWriter {
    async fn write_scores(&self, project_id: &str, scores: &[ScoreBody]) -> BackendResult<()> {
        if scores.is_empty() {
            return Ok(());
        }
        let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
        let records = scores
            .iter()
            .map(|score| score_record(score, project_id, now))
            .collect::<BackendResult<Vec<_>>>()?;
        self.log.append(topics::INGEST, records).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::langfuse::parse_score;
    use crate::log::embedded::EmbeddedLog;

    #[tokio::test]
    async fn scores_land_on_the_ingest_topic_as_score_json_events() {
        let directory = tempfile::tempdir().unwrap();
        let log: Arc<dyn EventLog> = Arc::new(
            EmbeddedLog::open(
                directory.path(),
                &crate::config::Config::load(None).unwrap().log,
            )
            .unwrap(),
        );
        log.ensure_topic(topics::INGEST).await.unwrap();
        let score = parse_score(&serde_json::json!({
            "id": "s1", "name": "accuracy", "value": 1.0, "traceId": "t1",
            "source": "ANNOTATION", "queueId": "q1"
        }))
        .unwrap();
        LogScoreWriter::new(log.clone())
            .write_scores("p1", std::slice::from_ref(&score))
            .await
            .unwrap();

        let mut consumer = log.subscribe(topics::INGEST, "test").await.unwrap();
        let records = consumer
            .poll(10, std::time::Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].key.as_ref(), b"p1/t1");
        let event = pv1::Event::decode(records[0].value.as_ref()).unwrap();
        assert_eq!(event.project_id, "p1");
        let Some(pv1::event::Body::ScoreJson(json)) = event.body else {
            panic!("expected a score_json body");
        };
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(parse_score(&value).unwrap(), score);
    }
}
