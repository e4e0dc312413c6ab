//! The scores a reviewer gives when updating a queue item (`PATCH …/items/{itemId}` with
//! `scores`): each one becomes a score with source `ANNOTATION`, the queue's id, and the
//! item's object as its subject.
//!
//! A score names its config by `configId`, or by `name` when one of the queue's configs has
//! that name; a configured score is checked and rewritten exactly as `POST /scores` does. Score
//! ids are derived from (queue, item, name), so annotating an item again replaces its scores.

use std::collections::HashMap;

use periscope_core::annotation::{
    AnnotationObjectType, AnnotationQueue, AnnotationQueueItem, annotation_score_id,
};
use periscope_core::langfuse::{ScoreBody, ScoreValue, parse_score};
use periscope_core::model::ScoreDataType;
use periscope_core::score_configs::{ScoreConfig, ScoreInput, check_score_value};
use serde_json::{Map, Value};

use super::body::invalid;
use crate::error::{ApiError, Result};
use crate::state::ApiState;

/// Fields a reviewer's score may carry; the rest comes from the queue and the item.
const SCORE_FIELDS: &[&str] = &[
    "name", "value", "dataType", "configId", "comment", "metadata",
];

/// Builds the validated score bodies of `given` for `item` of `queue`.
pub(super) async fn annotation_scores(
    state: &ApiState,
    queue: &AnnotationQueue,
    item: &AnnotationQueueItem,
    given: &[Value],
) -> Result<Vec<ScoreBody>> {
    let subject = subject_of(state, item).await?;
    let configs = queue_configs(state, queue).await?;
    let mut bodies = Vec::with_capacity(given.len());
    for (index, score) in given.iter().enumerate() {
        let at = |message: String| invalid(format!("scores[{index}].{message}"));
        let Value::Object(fields) = score else {
            return Err(invalid(format!("scores[{index}] must be an object")));
        };
        if let Some(key) = fields
            .keys()
            .find(|key| !SCORE_FIELDS.contains(&key.as_str()))
        {
            return Err(at(format!(
                "{key} is not a score field here (expected: {})",
                SCORE_FIELDS.join(", ")
            )));
        }
        let config = find_config(&configs, fields).map_err(at)?;
        let mut fields = fields.clone();
        if let Some(config) = config {
            fields
                .entry("name")
                .or_insert_with(|| Value::String(config.name.clone()));
            fields.insert("configId".into(), Value::String(config.id.clone()));
        }
        let explicit_type = fields.get("dataType").is_some_and(|t| !t.is_null());
        let name = fields
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let id = annotation_score_id(&queue.id, &item.id, name);
        fields.insert("id".into(), Value::String(id));
        fields.insert("source".into(), Value::String("ANNOTATION".into()));
        fields.insert("queueId".into(), Value::String(queue.id.clone()));
        for (key, value) in &subject {
            fields.insert((*key).into(), Value::String(value.clone()));
        }
        let mut body =
            parse_score(&Value::Object(fields)).map_err(|error| at(error.to_string()))?;
        if let Some(config) = config {
            apply_config(&mut body, config, explicit_type).map_err(at)?;
        }
        bodies.push(body);
    }
    Ok(bodies)
}

/// Returns the subject fields of the item's scores (`traceId`, `observationId`, `sessionId`).
async fn subject_of(
    state: &ApiState,
    item: &AnnotationQueueItem,
) -> Result<Vec<(&'static str, String)>> {
    Ok(match item.object_type {
        AnnotationObjectType::Trace => vec![("traceId", item.object_id.clone())],
        AnnotationObjectType::Session => vec![("sessionId", item.object_id.clone())],
        AnnotationObjectType::Observation => {
            // A score on an observation also names its trace, which only the store knows.
            let observation = state
                .traces
                .get_observation(&item.project_id, &item.object_id)
                .await?
                .ok_or(ApiError::NotFound {
                    what: "Observation of the annotation queue item",
                })?;
            vec![
                ("traceId", observation.trace_id),
                ("observationId", item.object_id.clone()),
            ]
        }
    })
}

/// Reads the queue's score configs (a queue has a handful).
async fn queue_configs(
    state: &ApiState,
    queue: &AnnotationQueue,
) -> Result<HashMap<String, ScoreConfig>> {
    let mut configs = HashMap::new();
    for id in &queue.score_config_ids {
        if let Some(config) = state
            .score_configs
            .get_score_config(&queue.project_id, id)
            .await?
        {
            configs.insert(id.clone(), config);
        }
    }
    Ok(configs)
}

/// Returns the config a score names by `configId`, or by `name` among the queue's configs.
fn find_config<'a>(
    configs: &'a HashMap<String, ScoreConfig>,
    fields: &Map<String, Value>,
) -> std::result::Result<Option<&'a ScoreConfig>, String> {
    match fields.get("configId") {
        None | Some(Value::Null) => {
            let name = fields.get("name").and_then(Value::as_str);
            Ok(configs
                .values()
                .find(|config| Some(config.name.as_str()) == name))
        }
        Some(Value::String(id)) => configs.get(id).map(Some).ok_or_else(|| {
            format!("configId {id:?} is not a score config of this annotation queue")
        }),
        Some(_) => Err("configId must be a string".to_owned()),
    }
}

/// Checks a score against its config and rewrites it to the config's form (as `POST /scores`
/// does: the config's data type, booleans as 0/1, categories by label).
fn apply_config(
    body: &mut ScoreBody,
    config: &ScoreConfig,
    explicit_type: bool,
) -> std::result::Result<(), String> {
    let input = match &body.value {
        ScoreValue::Number(number) => ScoreInput::Number(*number),
        ScoreValue::Text(label) => ScoreInput::Text(label),
    };
    let checked = check_score_value(config, explicit_type.then_some(body.data_type), &input)?;
    body.data_type = config.data_type;
    body.value = match (config.data_type, checked.string_value) {
        (ScoreDataType::Categorical, Some(label)) => ScoreValue::Text(label),
        _ => ScoreValue::Number(checked.value),
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use periscope_core::score_configs::ConfigCategory;
    use serde_json::json;

    fn config(id: &str, name: &str, data_type: ScoreDataType) -> ScoreConfig {
        ScoreConfig {
            id: id.into(),
            project_id: "p".into(),
            name: name.into(),
            data_type,
            is_archived: false,
            min_value: Some(0.0),
            max_value: Some(1.0),
            categories: vec![ConfigCategory {
                label: "good".into(),
                value: 1.0,
            }],
            description: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn configs_are_found_by_id_or_by_name_within_the_queue() {
        let configs: HashMap<_, _> = [
            (
                "c1".to_owned(),
                config("c1", "accuracy", ScoreDataType::Numeric),
            ),
            (
                "c2".to_owned(),
                config("c2", "tone", ScoreDataType::Categorical),
            ),
        ]
        .into();
        let fields = |value: Value| value.as_object().unwrap().clone();
        let by_id = find_config(&configs, &fields(json!({"configId": "c2"}))).unwrap();
        assert_eq!(by_id.unwrap().id, "c2");
        let by_name = find_config(&configs, &fields(json!({"name": "accuracy"}))).unwrap();
        assert_eq!(by_name.unwrap().id, "c1");
        assert!(
            find_config(&configs, &fields(json!({"name": "other"})))
                .unwrap()
                .is_none()
        );
        let error = find_config(&configs, &fields(json!({"configId": "c9"}))).unwrap_err();
        assert!(error.contains("c9"), "{error}");
    }

    #[test]
    fn configured_scores_are_checked_and_rewritten() {
        let score = |value: Value| {
            parse_score(&json!({"id": "s", "name": "n", "traceId": "t", "value": value})).unwrap()
        };
        let numeric = config("c1", "accuracy", ScoreDataType::Numeric);
        let mut inside = score(json!(0.5));
        apply_config(&mut inside, &numeric, false).unwrap();
        assert_eq!(inside.value, ScoreValue::Number(0.5));
        let error = apply_config(&mut score(json!(2.0)), &numeric, false).unwrap_err();
        assert!(error.contains("outside the range"), "{error}");

        let categorical = config("c2", "tone", ScoreDataType::Categorical);
        let mut good = score(json!("good"));
        apply_config(&mut good, &categorical, false).unwrap();
        assert_eq!(
            (good.value, good.data_type),
            (ScoreValue::Text("good".into()), ScoreDataType::Categorical)
        );
        assert!(apply_config(&mut score(json!("bad")), &categorical, false).is_err());
    }
}
