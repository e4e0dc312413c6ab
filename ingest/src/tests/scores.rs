//! `POST /api/public/scores`: arrays (202/207) and single objects (200/400).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use periscope_core::langfuse::ScoreBody;
use serde_json::{Value, json};

use super::*;
use crate::SCORES_PATH;

fn scores_request(authorization: &str, body: &Value) -> Request<Body> {
    Request::post(SCORES_PATH)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, authorization)
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
async fn an_all_valid_array_gets_202_and_every_score_is_appended() {
    let harness = Harness::new();
    let scores = json!([
        {"id": "e0b295d639bc1e9b", "traceId": "a32c2498e2200160b10a8d302e6917c6",
         "observationId": "282309a565e05723", "name": "accuracy", "value": 0.95, "dataType": "NUMERIC"},
        {"id": "sess-score-42", "sessionId": "session-42", "name": "session_quality", "value": 0.5}
    ]);
    let response = harness.send(scores_request(&basic_auth(), &scores)).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(body_json(response).await, json!({"message": "Accepted"}));
    let events = harness.appended().await;
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[0].0,
        format!("{PROJECT}/a32c2498e2200160b10a8d302e6917c6")
    );
    let first = score_of(&events[0].1);
    assert_eq!(first.id, "e0b295d639bc1e9b");
    assert_eq!(first.name, "accuracy");
    assert_eq!(first.observation_id.as_deref(), Some("282309a565e05723"));
    assert_eq!(events[1].0, format!("{PROJECT}/session-42"));
    assert_eq!(score_of(&events[1].1).environment, "default");
}

#[tokio::test]
async fn a_partly_invalid_array_gets_207_naming_the_bad_fields() {
    let harness = Harness::new();
    let scores = json!([
        {"id": "ok-1", "traceId": "t-1", "name": "quality", "value": "good"},
        {"id": "bad-1", "traceId": "t-1", "value": 1},
        {"id": "bad-2", "traceId": "t-1", "name": "x", "value": "y", "dataType": "NUMERIC"}
    ]);
    // Bearer (scores-only) keys may post scores.
    let response = harness.send(scores_request(&bearer_auth(), &scores)).await;
    assert_eq!(response.status(), StatusCode::MULTI_STATUS);
    let json = body_json(response).await;
    assert_eq!(json["accepted"], 1);
    assert_eq!(json["rejected"], 2);
    let messages: Vec<&str> = json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert!(messages[0].starts_with("[1].name"), "{messages:?}");
    assert!(messages[1].starts_with("[2].value"), "{messages:?}");
    let events = harness.appended().await;
    assert_eq!(events.len(), 1);
    assert_eq!(score_of(&events[0].1).id, "ok-1");
}

#[tokio::test]
async fn a_single_object_gets_200_with_its_id_or_400_naming_the_field() {
    let harness = Harness::new();
    let score = json!({"traceId": "t-2", "name": "helpful", "value": true, "dataType": "BOOLEAN"});
    let response = harness.send(scores_request(&basic_auth(), &score)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let id = body_json(response).await["id"].as_str().unwrap().to_owned();
    assert!(!id.is_empty(), "a missing id is minted once, at the edge");
    let events = harness.appended().await;
    assert_eq!(events.len(), 1);
    let stored = score_of(&events[0].1);
    assert_eq!(stored.id, id);
    assert_eq!(events[0].0, format!("{PROJECT}/t-2"));

    let bad = json!({"name": "helpful", "value": 1});
    let response = harness.send(scores_request(&basic_auth(), &bad)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let json = body_json(response).await;
    assert!(
        json["message"].as_str().unwrap().contains("traceId"),
        "{json}"
    );
    assert_eq!(json["error"], "InvalidRequestError");

    let response = harness
        .send(scores_request(&basic_auth(), &json!("a string")))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(harness.appended_count().await, 1);
}

#[tokio::test]
async fn scores_without_a_valid_key_get_401() {
    let harness = Harness::new();
    let scores = json!([{"traceId": "t", "name": "n", "value": 1}]);
    let response = harness
        .send(scores_request(&wrong_basic_auth(), &scores))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = harness
        .send(scores_request("Bearer pk-unknown", &scores))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(harness.appended_count().await, 0);
}

#[tokio::test]
async fn the_router_merges_with_read_routes_on_the_same_path() {
    let harness = Harness::new();
    let reads = axum::Router::new().route(SCORES_PATH, axum::routing::get(|| async { "read" }));
    let merged = harness.router().merge(reads);
    let get = Request::get(SCORES_PATH).body(Body::empty()).unwrap();
    let response = merged.clone().oneshot(get).await.unwrap();
    assert_eq!(body_bytes(response).await, "read");
    let post = scores_request(&basic_auth(), &json!([]));
    assert_eq!(
        merged.oneshot(post).await.unwrap().status(),
        StatusCode::ACCEPTED
    );
}
