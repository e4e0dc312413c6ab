//! Scores as `GET /scores`, `GET /v2/scores` and `GET /traces/{id}` return them.
//!
//! One shape serves v1 and v2: Langfuse's v2 `Score`, which is a superset of the v1 object
//! (v1 adds nothing and only lacks `sessionId`/`datasetRunId`).

use periscope_core::model::{ScoreDataType, ScoreRecord};
use serde::Serialize;
use serde_json::Value;

use super::{IsoTime, environment_or_default};

/// One score in Langfuse's `Score` shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ScoreView {
    pub(crate) id: String,
    pub(crate) project_id: String,
    pub(crate) trace_id: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) observation_id: Option<String>,
    pub(crate) dataset_run_id: Option<String>,
    pub(crate) name: String,
    pub(crate) source: &'static str,
    pub(crate) timestamp: IsoTime,
    pub(crate) created_at: IsoTime,
    pub(crate) updated_at: IsoTime,
    pub(crate) author_user_id: Option<String>,
    pub(crate) comment: Option<String>,
    pub(crate) metadata: Value,
    pub(crate) config_id: Option<String>,
    pub(crate) queue_id: Option<String>,
    pub(crate) environment: String,
    pub(crate) data_type: &'static str,
    pub(crate) value: f64,
    /// Only BOOLEAN and CATEGORICAL scores have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) string_value: Option<String>,
}

/// Returns the `stringValue` of a score: the label of a CATEGORICAL score, `"True"`/`"False"`
/// for a BOOLEAN one (derived from the value when the record has none), nothing for NUMERIC.
fn string_value(record: &ScoreRecord) -> Option<String> {
    match record.data_type {
        ScoreDataType::Numeric => None,
        ScoreDataType::Categorical => Some(record.string_value.clone().unwrap_or_default()),
        ScoreDataType::Boolean => Some(match record.string_value.as_deref() {
            Some(label @ ("True" | "False")) => label.to_owned(),
            _ if record.value != 0.0 => "True".to_owned(),
            _ => "False".to_owned(),
        }),
    }
}

impl ScoreView {
    /// Converts a stored score.
    pub(crate) fn from_record(record: &ScoreRecord) -> Self {
        Self {
            id: record.id.clone(),
            project_id: record.project_id.clone(),
            trace_id: record.trace_id.clone(),
            session_id: record.session_id.clone(),
            observation_id: record.observation_id.clone(),
            dataset_run_id: record.dataset_run_id.clone(),
            name: record.name.clone(),
            source: record.source.as_str(),
            timestamp: IsoTime(record.timestamp),
            // Score records keep no write times: a score is created at its timestamp and last
            // changed by its newest event.
            created_at: IsoTime(record.timestamp),
            updated_at: IsoTime(record.event_time.max(record.timestamp)),
            author_user_id: record.author_user_id.clone(),
            comment: record.comment.clone(),
            metadata: record
                .metadata
                .clone()
                .unwrap_or_else(|| Value::Object(Default::default())),
            config_id: record.config_id.clone(),
            queue_id: record.queue_id.clone(),
            environment: environment_or_default(Some(&record.environment)),
            data_type: record.data_type.as_str(),
            value: record.value,
            string_value: string_value(record),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use periscope_core::model::ScoreSource;
    use serde_json::json;

    fn score(data_type: ScoreDataType, value: f64, string_value: Option<&str>) -> ScoreRecord {
        let timestamp = Utc.timestamp_millis_opt(1_795_743_651_684).unwrap();
        ScoreRecord {
            project_id: "p1".into(),
            id: "e0b295d639bc1e9b".into(),
            trace_id: Some("a32c".into()),
            observation_id: Some("2823".into()),
            session_id: None,
            dataset_run_id: None,
            name: "accuracy".into(),
            value,
            string_value: string_value.map(str::to_owned),
            data_type,
            source: ScoreSource::Api,
            comment: Some("close to reference".into()),
            metadata: None,
            config_id: None,
            queue_id: None,
            author_user_id: None,
            environment: String::new(),
            timestamp,
            event_time: timestamp,
        }
    }

    #[test]
    fn a_numeric_score_has_every_field_and_no_string_value() {
        let view = serde_json::to_value(ScoreView::from_record(&score(
            ScoreDataType::Numeric,
            0.95,
            None,
        )))
        .unwrap();
        assert_eq!(
            view,
            json!({
                "id": "e0b295d639bc1e9b",
                "projectId": "p1",
                "traceId": "a32c",
                "sessionId": null,
                "observationId": "2823",
                "datasetRunId": null,
                "name": "accuracy",
                "source": "API",
                "timestamp": "2026-11-27T01:40:51.684Z",
                "createdAt": "2026-11-27T01:40:51.684Z",
                "updatedAt": "2026-11-27T01:40:51.684Z",
                "authorUserId": null,
                "comment": "close to reference",
                "metadata": {},
                "configId": null,
                "queueId": null,
                "environment": "default",
                "dataType": "NUMERIC",
                "value": 0.95,
            })
        );
    }

    #[test]
    fn boolean_scores_read_back_true_or_false() {
        let yes = ScoreView::from_record(&score(ScoreDataType::Boolean, 1.0, None));
        assert_eq!(
            (yes.value, yes.string_value.as_deref()),
            (1.0, Some("True"))
        );
        let no = ScoreView::from_record(&score(ScoreDataType::Boolean, 0.0, None));
        assert_eq!((no.value, no.string_value.as_deref()), (0.0, Some("False")));
        let stored = ScoreView::from_record(&score(ScoreDataType::Boolean, 0.0, Some("False")));
        assert_eq!(stored.string_value.as_deref(), Some("False"));
        let json = serde_json::to_value(yes).unwrap();
        assert_eq!(
            (json["dataType"].clone(), json["stringValue"].clone()),
            (json!("BOOLEAN"), json!("True"))
        );
    }

    #[test]
    fn categorical_scores_carry_their_label() {
        let mut record = score(ScoreDataType::Categorical, 0.0, Some("good"));
        record.environment = "staging".into();
        record.metadata = Some(json!({"source": "ui", "widget": 2}));
        let view = serde_json::to_value(ScoreView::from_record(&record)).unwrap();
        assert_eq!(view["stringValue"], "good");
        assert_eq!(view["value"], json!(0.0));
        assert_eq!(view["environment"], "staging");
        assert_eq!(view["metadata"], json!({"source": "ui", "widget": 2}));
    }
}
