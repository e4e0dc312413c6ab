//! Score bodies, as POSTed to `/api/public/scores` or carried by a `score-create` event
//! (WIRE-PROTOCOL.md §5 and §11).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::EventError;
use super::fields::Fields;
use crate::ids::new_event_id;
use crate::model::{ScoreDataType, ScoreSource};

/// The environment of a score that names none.
pub const DEFAULT_ENVIRONMENT: &str = "default";

/// A validated score with its data type resolved and defaults applied.
///
/// It serialises with Langfuse's field names, so it can travel as the `score_json` body of an
/// event envelope and be read back with [`parse_score`] (or serde) unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoreBody {
    /// The score id; scores are idempotent upserts by id.
    pub id: String,
    pub name: String,
    /// A number for NUMERIC and BOOLEAN (0 or 1), a string for CATEGORICAL.
    pub value: ScoreValue,
    pub data_type: ScoreDataType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_run_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Any JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<String>,
    /// `"default"` when the caller gave none.
    pub environment: String,
    /// `API` when the caller gave none.
    pub source: ScoreSource,
    /// When the score was made, if the caller said so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
}

/// The value of a score as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ScoreValue {
    /// NUMERIC, or BOOLEAN as 0/1.
    Number(f64),
    /// A CATEGORICAL label.
    Text(String),
}

/// Parses and validates one score object.
///
/// A score without an `id` gets a new UUIDv7 here. Callers must therefore parse once at the edge
/// and carry the resulting body (with its id) onward, so that retries of the stored event do not
/// mint new ids. Error paths are relative to the score object (`value`, `traceId`).
pub fn parse_score(value: &Value) -> Result<ScoreBody, EventError> {
    parse_score_at(value, "", new_event_id)
}

/// Parses a score found at `path`, taking `fallback_id()` as the id when it has none.
pub(crate) fn parse_score_at(
    value: &Value,
    path: &str,
    fallback_id: impl FnOnce() -> String,
) -> Result<ScoreBody, EventError> {
    let fields = Fields::from_value(value, path)?;
    let id = fields.id("id")?.map_or_else(fallback_id, str::to_owned);
    let name = fields.required_string("name")?;
    if name.is_empty() {
        return Err(EventError::invalid(
            fields.path_of("name"),
            "must not be empty",
        ));
    }
    let (value, data_type) = parse_value(&fields)?;
    let subject = parse_subject(&fields)?;
    let source = match fields.string("source")? {
        None => ScoreSource::Api,
        Some(name) => ScoreSource::parse(name).ok_or_else(|| {
            EventError::invalid(
                fields.path_of("source"),
                "expected one of API, EVAL, ANNOTATION",
            )
        })?,
    };
    Ok(ScoreBody {
        id,
        name: name.to_owned(),
        value,
        data_type,
        trace_id: subject.trace_id,
        observation_id: subject.observation_id,
        session_id: subject.session_id,
        dataset_run_id: subject.dataset_run_id,
        comment: fields.string("comment")?.map(str::to_owned),
        metadata: fields.value("metadata").cloned(),
        config_id: fields.string("configId")?.map(str::to_owned),
        queue_id: fields.string("queueId")?.map(str::to_owned),
        environment: fields
            .environment("environment")?
            .unwrap_or(DEFAULT_ENVIRONMENT)
            .to_owned(),
        source,
        timestamp: fields.datetime("timestamp")?,
    })
}

/// Resolves the data type (given, or inferred from the value) and checks the value against it.
fn parse_value(fields: &Fields<'_>) -> Result<(ScoreValue, ScoreDataType), EventError> {
    let path = fields.path_of("value");
    let raw = fields
        .value("value")
        .ok_or_else(|| EventError::missing(path.clone()))?;
    let data_type = match fields.string("dataType")? {
        Some(name) => ScoreDataType::parse(name).ok_or_else(|| {
            EventError::invalid(
                fields.path_of("dataType"),
                "expected one of NUMERIC, CATEGORICAL, BOOLEAN",
            )
        })?,
        None => match raw {
            Value::Number(_) => ScoreDataType::Numeric,
            Value::String(_) => ScoreDataType::Categorical,
            Value::Bool(_) => ScoreDataType::Boolean,
            _ => return Err(EventError::invalid(path, "expected a number or a string")),
        },
    };
    let value = match (data_type, raw) {
        (ScoreDataType::Numeric, Value::Number(number)) => {
            ScoreValue::Number(number.as_f64().unwrap_or_default())
        }
        (ScoreDataType::Numeric, _) => {
            return Err(EventError::invalid(
                path,
                "expected a number for data type NUMERIC",
            ));
        }
        (ScoreDataType::Categorical, Value::String(label)) => ScoreValue::Text(label.clone()),
        (ScoreDataType::Categorical, _) => {
            return Err(EventError::invalid(
                path,
                "expected a string for data type CATEGORICAL",
            ));
        }
        (ScoreDataType::Boolean, Value::Bool(flag)) => {
            ScoreValue::Number(if *flag { 1.0 } else { 0.0 })
        }
        (ScoreDataType::Boolean, Value::Number(number)) if matches!(number.as_f64(), Some(n) if n == 0.0 || n == 1.0) => {
            ScoreValue::Number(number.as_f64().unwrap_or_default())
        }
        (ScoreDataType::Boolean, _) => {
            return Err(EventError::invalid(
                path,
                "expected 0 or 1 for data type BOOLEAN",
            ));
        }
    };
    Ok((value, data_type))
}

/// What a score is about: exactly one of a trace (optionally one of its observations), a
/// session or a dataset run.
struct Subject {
    trace_id: Option<String>,
    observation_id: Option<String>,
    session_id: Option<String>,
    dataset_run_id: Option<String>,
}

fn parse_subject(fields: &Fields<'_>) -> Result<Subject, EventError> {
    // Empty strings count as absent, as in Langfuse's truthiness check.
    let non_empty = |key: &str| -> Result<Option<String>, EventError> {
        Ok(fields
            .string(key)?
            .filter(|id| !id.is_empty())
            .map(str::to_owned))
    };
    let subject = Subject {
        trace_id: non_empty("traceId")?,
        observation_id: non_empty("observationId")?,
        session_id: non_empty("sessionId")?,
        dataset_run_id: non_empty("datasetRunId")?,
    };
    let given: Vec<&str> = [
        ("traceId", subject.trace_id.is_some()),
        ("sessionId", subject.session_id.is_some()),
        ("datasetRunId", subject.dataset_run_id.is_some()),
    ]
    .into_iter()
    .filter_map(|(key, present)| present.then_some(key))
    .collect();
    match given.as_slice() {
        [] => Err(EventError::invalid(
            fields.path_of("traceId"),
            "one of traceId (with optional observationId), sessionId or datasetRunId is required",
        )),
        [_] if subject.observation_id.is_some() && subject.trace_id.is_none() => Err(
            EventError::invalid(fields.path_of("observationId"), "requires traceId"),
        ),
        [_] => Ok(subject),
        [first, second, ..] => Err(EventError::invalid(
            fields.path_of(second),
            format!("only one of traceId, sessionId or datasetRunId may be given, {first} is"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scores_resolve_their_data_type() {
        let cases: Vec<(Value, ScoreDataType, ScoreValue)> = vec![
            (
                json!({"value": 0.95}),
                ScoreDataType::Numeric,
                ScoreValue::Number(0.95),
            ),
            (
                json!({"value": 3, "dataType": "NUMERIC"}),
                ScoreDataType::Numeric,
                ScoreValue::Number(3.0),
            ),
            (
                json!({"value": "good"}),
                ScoreDataType::Categorical,
                ScoreValue::Text("good".into()),
            ),
            (
                json!({"value": "good", "dataType": "CATEGORICAL"}),
                ScoreDataType::Categorical,
                ScoreValue::Text("good".into()),
            ),
            (
                json!({"value": 1.0, "dataType": "BOOLEAN"}),
                ScoreDataType::Boolean,
                ScoreValue::Number(1.0),
            ),
            (
                json!({"value": 0, "dataType": "boolean"}),
                ScoreDataType::Boolean,
                ScoreValue::Number(0.0),
            ),
            (
                json!({"value": true}),
                ScoreDataType::Boolean,
                ScoreValue::Number(1.0),
            ),
            (
                json!({"value": false, "dataType": "BOOLEAN"}),
                ScoreDataType::Boolean,
                ScoreValue::Number(0.0),
            ),
        ];
        for (partial, data_type, value) in cases {
            let mut score = json!({"id": "s", "name": "q", "traceId": "t"});
            score
                .as_object_mut()
                .unwrap()
                .extend(partial.as_object().unwrap().clone());
            let parsed = parse_score(&score).unwrap_or_else(|e| panic!("{score}: {e}"));
            assert_eq!(parsed.data_type, data_type, "{score}");
            assert_eq!(parsed.value, value, "{score}");
        }
    }

    #[test]
    fn invalid_scores_name_the_bad_field() {
        let cases: Vec<(Value, &str)> = vec![
            (json!({"traceId": "t", "value": 1}), "name"),
            (json!({"name": "", "traceId": "t", "value": 1}), "name"),
            (json!({"name": "q", "traceId": "t"}), "value"),
            (json!({"name": "q", "traceId": "t", "value": [1]}), "value"),
            (
                json!({"name": "q", "traceId": "t", "value": "x", "dataType": "NUMERIC"}),
                "value",
            ),
            (
                json!({"name": "q", "traceId": "t", "value": 1, "dataType": "CATEGORICAL"}),
                "value",
            ),
            (
                json!({"name": "q", "traceId": "t", "value": 2, "dataType": "BOOLEAN"}),
                "value",
            ),
            (
                json!({"name": "q", "traceId": "t", "value": "yes", "dataType": "BOOLEAN"}),
                "value",
            ),
            (
                json!({"name": "q", "traceId": "t", "value": 1, "dataType": "TEXT"}),
                "dataType",
            ),
            (json!({"name": "q", "value": 1}), "traceId"),
            (json!({"name": "q", "traceId": "", "value": 1}), "traceId"),
            (
                json!({"name": "q", "traceId": "t", "sessionId": "s", "value": 1}),
                "sessionId",
            ),
            (
                json!({"name": "q", "sessionId": "s", "datasetRunId": "r", "value": 1}),
                "datasetRunId",
            ),
            (
                json!({"name": "q", "sessionId": "s", "observationId": "o", "value": 1}),
                "observationId",
            ),
            (
                json!({"name": "q", "traceId": "t", "value": 1, "environment": "langfuse"}),
                "environment",
            ),
            (
                json!({"name": "q", "traceId": "t", "value": 1, "source": "HUMAN"}),
                "source",
            ),
            (
                json!({"name": "q", "traceId": "t", "value": 1, "timestamp": "x"}),
                "timestamp",
            ),
            (
                json!({"name": "q", "traceId": "t", "value": 1, "comment": 5}),
                "comment",
            ),
            (
                json!({"id": "", "name": "q", "traceId": "t", "value": 1}),
                "id",
            ),
        ];
        for (score, field) in cases {
            let error = parse_score(&score).expect_err(&format!("{score} should be invalid"));
            assert_eq!(error.field(), field, "{score}: {error}");
        }
        assert_eq!(
            parse_score(&json!([1])).unwrap_err().to_string(),
            "body: expected an object"
        );
    }

    #[test]
    fn scores_take_defaults_and_round_trip_as_json() {
        let minimal = parse_score(&json!({"name": "q", "sessionId": "s1", "value": 0.5})).unwrap();
        assert_eq!(minimal.environment, "default");
        assert_eq!(minimal.source, ScoreSource::Api);
        assert_eq!(minimal.timestamp, None);
        assert_eq!(minimal.session_id.as_deref(), Some("s1"));
        // A missing id becomes a fresh UUIDv7.
        assert_eq!(
            uuid::Uuid::parse_str(&minimal.id)
                .unwrap()
                .get_version_num(),
            7
        );

        let full = parse_score(&json!({
            "id": "feedback-42", "traceId": "t", "observationId": "o", "name": "user_feedback",
            "value": 1.0, "comment": "thumbs up", "environment": "staging", "dataType": "BOOLEAN",
            "timestamp": "2026-11-27T01:40:51.684585Z", "metadata": {"source": "ui", "widget": 2},
            "configId": "c", "queueId": "q", "source": "ANNOTATION"}))
        .unwrap();
        assert_eq!(full.id, "feedback-42");
        assert_eq!(full.observation_id.as_deref(), Some("o"));
        assert_eq!(full.source, ScoreSource::Annotation);
        assert_eq!(full.metadata, Some(json!({"source": "ui", "widget": 2})));
        for body in [minimal, full] {
            let encoded = serde_json::to_value(&body).unwrap();
            assert_eq!(parse_score(&encoded).unwrap(), body, "{encoded}");
            assert_eq!(serde_json::from_value::<ScoreBody>(encoded).unwrap(), body);
        }
    }
}
