//! Scores naming a `configId`: checked against the config on `/scores` and `/ingestion`.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use periscope_core::langfuse::{ScoreBody, ScoreValue};
use periscope_core::model::{Page, ScoreDataType};
use periscope_core::score_configs::{
    ConfigCategory, ScoreConfig, ScoreConfigStore, boolean_categories,
};
use periscope_core::store::PageRequest;
use serde_json::{Value, json};

use super::*;
use crate::{INGESTION_PATH, SCORES_PATH};

/// A fixed set of configs of `PROJECT`.
#[derive(Debug)]
struct FixedConfigs(Vec<ScoreConfig>);

#[async_trait]
impl ScoreConfigStore for FixedConfigs {
    async fn create_score_config(&self, _config: &ScoreConfig) -> BackendResult<()> {
        Err(unsupported())
    }
    async fn get_score_config(
        &self,
        project_id: &str,
        id: &str,
    ) -> BackendResult<Option<ScoreConfig>> {
        Ok(self
            .0
            .iter()
            .find(|c| c.project_id == project_id && c.id == id)
            .cloned())
    }
    async fn list_score_configs(
        &self,
        _project_id: &str,
        _page: PageRequest,
    ) -> BackendResult<Page<ScoreConfig>> {
        Err(unsupported())
    }
    async fn update_score_config(&self, _config: &ScoreConfig) -> BackendResult<bool> {
        Err(unsupported())
    }
}

fn config(id: &str, data_type: ScoreDataType) -> ScoreConfig {
    ScoreConfig {
        id: id.into(),
        project_id: PROJECT.into(),
        name: id.into(),
        data_type,
        is_archived: false,
        min_value: None,
        max_value: None,
        categories: Vec::new(),
        description: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

fn harness() -> Harness {
    let mut numeric = config("num", ScoreDataType::Numeric);
    numeric.min_value = Some(0.0);
    numeric.max_value = Some(1.0);
    let mut categorical = config("cat", ScoreDataType::Categorical);
    categorical.categories = vec![
        ConfigCategory {
            label: "good".into(),
            value: 2.0,
        },
        ConfigCategory {
            label: "bad".into(),
            value: 0.0,
        },
    ];
    let mut boolean = config("bool", ScoreDataType::Boolean);
    boolean.categories = boolean_categories();
    let mut archived = config("old", ScoreDataType::Numeric);
    archived.is_archived = true;
    let mut harness = Harness::new();
    harness.state = harness
        .state
        .clone()
        .with_score_configs(Arc::new(FixedConfigs(vec![
            numeric,
            categorical,
            boolean,
            archived,
        ])));
    harness
}

fn post(path: &str, body: &Value) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, basic_auth())
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn score_of(event: &pv1::Event) -> ScoreBody {
    match &event.body {
        Some(pv1::event::Body::ScoreJson(json)) => serde_json::from_slice(json).unwrap(),
        other => panic!("expected a score, got {other:?}"),
    }
}

#[tokio::test]
async fn scores_that_break_their_config_are_rejected_one_by_one() {
    let harness = harness();
    let scores = json!([
        {"id": "s0", "traceId": "t", "name": "n", "value": 0.5, "configId": "num"},
        {"id": "s1", "traceId": "t", "name": "n", "value": 1.5, "configId": "num"},
        {"id": "s2", "traceId": "t", "name": "n", "value": "good", "configId": "cat"},
        {"id": "s3", "traceId": "t", "name": "n", "value": "meh", "configId": "cat"},
        {"id": "s4", "traceId": "t", "name": "n", "value": 1, "configId": "bool"},
        {"id": "s5", "traceId": "t", "name": "n", "value": 0.5, "configId": "old"},
        {"id": "s6", "traceId": "t", "name": "n", "value": 0.5, "configId": "nope"},
        {"id": "s7", "traceId": "t", "name": "n", "value": 0.5, "configId": "cat",
         "dataType": "NUMERIC"}
    ]);
    let response = harness.send(post(SCORES_PATH, &scores)).await;
    assert_eq!(response.status(), StatusCode::MULTI_STATUS);
    let json = body_json(response).await;
    assert_eq!(json["accepted"], 3);
    let messages: Vec<&str> = json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 5, "{messages:?}");
    assert!(messages[0].starts_with("[1]: value 1.5"), "{messages:?}");
    assert!(
        messages[1].starts_with("[3]: value \"meh\""),
        "{messages:?}"
    );
    assert!(messages[2].contains("archived") && messages[2].starts_with("[5]"));
    assert!(messages[3].contains("configId \"nope\""), "{messages:?}");
    assert!(messages[4].contains("dataType NUMERIC"), "{messages:?}");

    let stored: Vec<ScoreBody> = harness
        .appended()
        .await
        .iter()
        .map(|(_, event)| score_of(event))
        .collect();
    let ids: Vec<&str> = stored.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["s0", "s2", "s4"]);
    assert_eq!(stored[1].value, ScoreValue::Text("good".into()));
    assert_eq!(stored[1].data_type, ScoreDataType::Categorical);
    // A bare 1 would infer NUMERIC; the config makes it a boolean.
    assert_eq!(stored[2].data_type, ScoreDataType::Boolean);
}

#[tokio::test]
async fn a_single_score_out_of_range_gets_400_naming_the_value() {
    let harness = harness();
    let score = json!({"traceId": "t", "name": "n", "value": -1, "configId": "num"});
    let response = harness.send(post(SCORES_PATH, &score)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let json = body_json(response).await;
    assert!(
        json.to_string().contains("value -1 is outside the range"),
        "{json}"
    );
    assert_eq!(harness.appended_count().await, 0);
}

#[tokio::test]
async fn ingestion_events_are_checked_and_their_neighbours_kept() {
    let harness = harness();
    let ts = "2026-11-27T01:40:49.067Z";
    let batch = json!({"batch": [
        {"id": "ev-1", "timestamp": ts, "type": "score-create",
         "body": {"id": "s1", "traceId": "t", "name": "n", "value": "good", "configId": "cat"}},
        {"id": "ev-2", "timestamp": ts, "type": "score-create",
         "body": {"id": "s2", "traceId": "t", "name": "n", "value": 7, "configId": "num"}},
        {"id": "ev-3", "timestamp": ts, "type": "trace-create", "body": {"id": "t"}}
    ]});
    let response = harness.send(post(INGESTION_PATH, &batch)).await;
    assert_eq!(response.status(), StatusCode::MULTI_STATUS);
    let json = body_json(response).await;
    assert_eq!(json["successes"].as_array().unwrap().len(), 2, "{json}");
    let errors = json["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["id"], "ev-2");
    assert_eq!(errors[0]["status"], 400);
    assert!(
        errors[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("body.value: value 7"),
        "{json}"
    );
    assert_eq!(harness.appended_count().await, 2);
}
