//! `POST /api/public/ingestion`: 207 bodies, per-event errors, Bearer scope, envelope errors.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

use super::*;
use crate::INGESTION_PATH;

const TS: &str = "2026-11-27T01:40:49.067Z";

fn ingestion_request(authorization: &str, body: &Value) -> Request<Body> {
    Request::post(INGESTION_PATH)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, authorization)
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn langfuse_event(event: &pv1::Event) -> &pv1::LangfuseEvent {
    match &event.body {
        Some(pv1::event::Body::LangfuseEvent(langfuse)) => langfuse,
        other => panic!("expected a langfuse event, got {other:?}"),
    }
}

#[tokio::test]
async fn a_mixed_batch_appends_good_events_and_lists_bad_ones_by_field() {
    let harness = Harness::new();
    let batch = json!({
        "batch": [
            {"id": "ev-1", "timestamp": TS, "type": "trace-create",
             "body": {"id": "trace-1", "name": "answer-question", "sessionId": "session-42"}},
            {"id": "ev-2", "timestamp": TS, "type": "generation-create",
             "body": {"id": "gen-1", "traceId": "trace-1", "name": "llm", "model": "gpt-4o-mini"}},
            {"id": "ev-3", "timestamp": TS, "type": "span-create", "body": {"traceId": "trace-1"}},
            {"id": "ev-4", "timestamp": "yesterday", "type": "trace-create", "body": {"id": "t"}},
            {"id": "ev-5", "timestamp": TS, "type": "no-such-type", "body": {}},
            {"id": "ev-6", "timestamp": TS, "type": "sdk-log", "body": {"log": "hello"}},
            {"id": "ev-7", "timestamp": TS, "type": "score-create",
             "body": {"id": "score-1", "sessionId": "session-42", "name": "quality", "value": 0.5}}
        ],
        "metadata": {"sdk_name": "langfuse-js"}
    });
    let response = harness.send(ingestion_request(&basic_auth(), &batch)).await;
    assert_eq!(response.status(), StatusCode::MULTI_STATUS);
    let json = body_json(response).await;
    assert_eq!(
        json["successes"],
        json!([{"id": "ev-1", "status": 201}, {"id": "ev-2", "status": 201}, {"id": "ev-7", "status": 201}])
    );
    let errors = json["errors"].as_array().unwrap();
    let ids: Vec<&str> = errors
        .iter()
        .map(|error| error["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ev-3", "ev-4", "ev-5"], "sdk-log is in neither array");
    for error in errors {
        assert_eq!(error["status"], 400);
        assert_eq!(error["message"], "Invalid request data");
    }
    assert!(
        errors[0]["error"].as_str().unwrap().starts_with("body.id"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("timestamp"),
        "{}",
        errors[1]
    );
    assert!(
        errors[2]["error"].as_str().unwrap().starts_with("type"),
        "{}",
        errors[2]
    );

    let events = harness.appended().await;
    assert_eq!(events.len(), 3);
    let (key, trace) = &events[0];
    assert_eq!(key, &format!("{PROJECT}/trace-1"));
    assert_eq!(trace.source, pv1::Source::LangfuseRest as i32);
    let trace = langfuse_event(trace);
    assert_eq!(trace.envelope_id, "ev-1");
    assert_eq!(trace.event_type, "trace-create");
    assert_eq!(trace.timestamp, TS);
    let body: Value = serde_json::from_slice(&trace.body_json).unwrap();
    assert_eq!(body["name"], "answer-question");
    assert_eq!(
        events[1].0,
        format!("{PROJECT}/trace-1"),
        "observations are keyed by trace"
    );
    assert_eq!(langfuse_event(&events[1].1).event_type, "generation-create");
    assert_eq!(
        events[2].0,
        format!("{PROJECT}/session-42"),
        "session scores by session"
    );
}

#[tokio::test]
async fn bearer_keys_may_only_send_scores() {
    let harness = Harness::new();
    let batch = json!({"batch": [
        {"id": "s-1", "timestamp": TS, "type": "score-create",
         "body": {"traceId": "trace-9", "name": "thumbs", "value": 1}},
        {"id": "t-1", "timestamp": TS, "type": "trace-create", "body": {"id": "trace-9"}},
        {"id": "l-1", "timestamp": TS, "type": "sdk-log", "body": {"log": "x"}}
    ]});
    let response = harness
        .send(ingestion_request(&bearer_auth(), &batch))
        .await;
    assert_eq!(response.status(), StatusCode::MULTI_STATUS);
    let json = body_json(response).await;
    assert_eq!(json["successes"], json!([{"id": "s-1", "status": 201}]));
    let errors = json["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["id"], "t-1");
    assert_eq!(errors[0]["status"], 401);
    assert_eq!(errors[0]["message"], "Access Scope Denied");
    let events = harness.appended().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, format!("{PROJECT}/trace-9"));
    assert_eq!(langfuse_event(&events[0].1).event_type, "score-create");
}

#[tokio::test]
async fn a_bad_envelope_gets_400_and_bad_keys_401() {
    let harness = Harness::new();
    for body in [
        json!({"events": []}),
        json!([1, 2]),
        json!({"batch": {"id": 1}}),
    ] {
        let response = harness.send(ingestion_request(&basic_auth(), &body)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let json = body_json(response).await;
        assert_eq!(json["message"], "Invalid request data");
        assert!(
            json["errors"]
                .as_array()
                .is_some_and(|errors| !errors.is_empty()),
            "{json}"
        );
    }
    let not_json = Request::post(INGESTION_PATH)
        .header(header::AUTHORIZATION, basic_auth())
        .body(Body::from("{\"batch\": ["))
        .unwrap();
    assert_eq!(
        harness.send(not_json).await.status(),
        StatusCode::BAD_REQUEST
    );

    let batch = json!({"batch": []});
    let response = harness
        .send(ingestion_request(&wrong_basic_auth(), &batch))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let unauthenticated = Request::post(INGESTION_PATH)
        .body(Body::from(batch.to_string()))
        .unwrap();
    assert_eq!(
        harness.send(unauthenticated).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(harness.appended_count().await, 0);
}

#[tokio::test]
async fn a_gzip_batch_and_an_empty_batch_are_accepted() {
    let harness = Harness::new();
    let batch = json!({"batch": [{"id": "g-1", "timestamp": TS, "type": "event-create",
        "body": {"id": "evt-1", "traceId": "trace-3", "name": "click"}}]});
    let request = Request::post(INGESTION_PATH)
        .header(header::AUTHORIZATION, basic_auth())
        .header(header::CONTENT_ENCODING, "gzip")
        .body(Body::from(gzip(batch.to_string().as_bytes())))
        .unwrap();
    let response = harness.send(request).await;
    assert_eq!(response.status(), StatusCode::MULTI_STATUS);
    assert_eq!(body_json(response).await["successes"][0]["id"], "g-1");
    let empty = harness
        .send(ingestion_request(&basic_auth(), &json!({"batch": []})))
        .await;
    assert_eq!(empty.status(), StatusCode::MULTI_STATUS);
    assert_eq!(
        body_json(empty).await,
        json!({"successes": [], "errors": []})
    );
    assert_eq!(harness.appended_count().await, 1);
}

#[tokio::test]
async fn a_retried_batch_is_appended_again_for_idempotent_downstream_upserts() {
    let harness = Harness::new();
    let batch = json!({"batch": [{"id": "r-1", "timestamp": TS, "type": "trace-create",
        "body": {"id": "trace-r"}}]});
    for _ in 0..2 {
        let response = harness.send(ingestion_request(&basic_auth(), &batch)).await;
        assert_eq!(response.status(), StatusCode::MULTI_STATUS);
    }
    let events = harness.appended().await;
    assert_eq!(events.len(), 2);
    assert_eq!(
        langfuse_event(&events[0].1).envelope_id,
        langfuse_event(&events[1].1).envelope_id
    );
    assert_ne!(events[0].1.event_id, events[1].1.event_id);
}

#[tokio::test]
async fn a_retried_batch_is_acknowledged_again_but_appended_once() {
    let mut harness = Harness::new();
    harness.state = harness.state.clone().with_dedup(
        Arc::new(InProcessCache::new()),
        std::time::Duration::from_secs(60),
    );
    let batch = serde_json::json!({"batch": [
        {"id": "envelope-1", "type": "trace-create", "timestamp": "2026-11-27T10:00:00Z",
         "body": {"id": "trace-1", "name": "first"}},
        {"id": "envelope-2", "type": "trace-create", "timestamp": "2026-11-27T10:00:00Z",
         "body": {"id": "trace-2", "name": "second"}}
    ]});
    for attempt in 0..2 {
        let request = Request::post(crate::INGESTION_PATH)
            .header(axum::http::header::CONTENT_TYPE, "application/json")
            .header(axum::http::header::AUTHORIZATION, basic_auth())
            .body(Body::from(batch.to_string()))
            .unwrap();
        let response = harness.send(request).await;
        assert_eq!(
            response.status(),
            axum::http::StatusCode::MULTI_STATUS,
            "attempt {attempt}"
        );
        let json = body_json(response).await;
        assert_eq!(json["successes"].as_array().unwrap().len(), 2, "{json}");
    }
    assert_eq!(harness.appended_count().await, 2);
}
