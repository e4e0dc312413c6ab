//! Score bodies → score records (WIRE-PROTOCOL.md §5 "Read-back").

use chrono::{DateTime, Utc};
use periscope_core::langfuse::{DEFAULT_ENVIRONMENT, ScoreBody, ScoreValue};
use periscope_core::model::{ScoreDataType, ScoreRecord};

/// Maps a score POSTed to `/api/public/scores` (already parsed at the edge).
///
/// BOOLEAN becomes value 1/0 with string value `"True"`/`"False"`; CATEGORICAL keeps its label
/// as the string value with value 0; NUMERIC keeps its number. A score without a timestamp is
/// stamped with `received_at`, which is also its event time.
pub fn map_score(project_id: &str, score: &ScoreBody, received_at: DateTime<Utc>) -> ScoreRecord {
    score_record(project_id, score, received_at)
}

/// Maps a score whose event happened at `event_time` (the default timestamp).
pub(super) fn score_record(
    project_id: &str,
    score: &ScoreBody,
    event_time: DateTime<Utc>,
) -> ScoreRecord {
    let (value, string_value) = match (score.data_type, &score.value) {
        (ScoreDataType::Boolean, ScoreValue::Number(number)) => {
            let flag = *number != 0.0;
            (
                if flag { 1.0 } else { 0.0 },
                Some(if flag { "True" } else { "False" }.to_owned()),
            )
        }
        // A label never has a numeric value of its own (a score config may map one later).
        (_, ScoreValue::Text(label)) => (0.0, Some(label.clone())),
        (_, ScoreValue::Number(number)) => (*number, None),
    };
    let environment = if score.environment.is_empty() {
        DEFAULT_ENVIRONMENT.to_owned()
    } else {
        score.environment.clone()
    };
    ScoreRecord {
        project_id: project_id.to_owned(),
        id: score.id.clone(),
        trace_id: score.trace_id.clone(),
        observation_id: score.observation_id.clone(),
        session_id: score.session_id.clone(),
        dataset_run_id: score.dataset_run_id.clone(),
        name: score.name.clone(),
        value,
        string_value,
        data_type: score.data_type,
        source: score.source,
        comment: score.comment.clone(),
        metadata: score.metadata.clone(),
        config_id: score.config_id.clone(),
        queue_id: score.queue_id.clone(),
        author_user_id: None,
        environment,
        timestamp: score.timestamp.unwrap_or(event_time),
        event_time,
    }
}
