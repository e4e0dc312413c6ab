//! Body limits, zip bombs, overload, deadlines and log failures.

use std::convert::Infallible;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use futures::StreamExt as _;
use prost::Message;

use super::*;
use crate::{INGESTION_PATH, OTLP_PATH, SCORES_PATH};

fn small_limits() -> IngestLimits {
    IngestLimits {
        max_body_bytes: 4096,
        max_inflight_bytes: 64 * 1024,
        ..default_limits()
    }
}

fn otlp_post() -> axum::http::request::Builder {
    Request::post(OTLP_PATH)
        .header(header::CONTENT_TYPE, "application/x-protobuf")
        .header(header::AUTHORIZATION, basic_auth())
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413_naming_the_limit() {
    let harness = Harness::with_limits(small_limits());
    let body = vec![0u8; 5000];
    let declared = otlp_post()
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body.clone()));
    let response = harness.send(declared.unwrap()).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let json = body_json(response).await;
    assert!(
        json["message"].as_str().unwrap().contains("4096 bytes"),
        "{json}"
    );

    // Without a Content-Length the limit is enforced while streaming.
    let chunks = body
        .chunks(1000)
        .map(|chunk| Ok::<_, Infallible>(Bytes::copy_from_slice(chunk)));
    let streamed = otlp_post().body(Body::from_stream(futures::stream::iter(
        chunks.collect::<Vec<_>>(),
    )));
    let response = harness.send(streamed.unwrap()).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        harness.state.available_inflight_bytes(),
        64 * 1024,
        "permits released"
    );
    assert_eq!(harness.appended_count().await, 0);
}

#[tokio::test]
async fn a_zip_bomb_is_stopped_at_the_limit_with_413_on_every_path() {
    let harness = Harness::with_limits(small_limits());
    // 64 KiB of zeros gzip to ~100 bytes: well under the 4 KiB wire limit, far over it inflated.
    let bomb = gzip(&vec![0u8; 64 * 1024]);
    assert!(
        bomb.len() < 1024,
        "the bomb itself is small: {}",
        bomb.len()
    );
    for path in [OTLP_PATH, INGESTION_PATH, SCORES_PATH] {
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-protobuf")
            .header(header::CONTENT_ENCODING, "gzip")
            .header(header::AUTHORIZATION, basic_auth())
            .body(Body::from(bomb.clone()))
            .unwrap();
        let response = harness.send(request).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        let json = body_json(response).await;
        assert!(
            json["message"].as_str().unwrap().contains("4096 bytes"),
            "{path}: {json}"
        );
    }
    assert_eq!(
        harness.state.available_inflight_bytes(),
        64 * 1024,
        "permits released"
    );
    assert_eq!(harness.appended_count().await, 0);
}

#[tokio::test]
async fn a_large_zip_bomb_stops_at_the_default_limit() {
    let harness = Harness::new();
    // 64 MiB of zeros gzip to ~64 KB; the body limit is 1 MiB.
    let bomb = gzip(&vec![0u8; 64 * 1024 * 1024]);
    let request = otlp_post()
        .header(header::CONTENT_ENCODING, "gzip")
        .body(Body::from(bomb));
    let response = harness.send(request.unwrap()).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        harness.state.available_inflight_bytes(),
        default_limits().max_inflight_bytes
    );
}

#[tokio::test]
async fn a_gzip_body_inflating_to_exactly_the_limit_is_accepted() {
    let limits = small_limits();
    let harness = Harness::with_limits(limits.clone());
    let mut request = export_request(vec![span(1, 1, "fits")]);
    // Pad the span name so the encoded request is exactly the limit.
    let overhead = request.encoded_len();
    request.resource_spans[0].scope_spans[0].spans[0].name =
        "x".repeat(limits.max_body_bytes - overhead + 4);
    while request.encoded_len() > limits.max_body_bytes {
        request.resource_spans[0].scope_spans[0].spans[0].name.pop();
    }
    assert_eq!(request.encoded_len(), limits.max_body_bytes);
    let body = gzip(&request.encode_to_vec());
    let response = harness
        .send(
            otlp_post()
                .header(header::CONTENT_ENCODING, "gzip")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(harness.appended_count().await, 1);
}

#[tokio::test]
async fn overload_gets_429_with_retry_after_and_recovers() {
    let harness = Harness::with_limits(small_limits());
    let body = export_request(vec![span(1, 1, "busy")]).encode_to_vec();
    let held = harness.state.try_reserve(64 * 1024 - 10).unwrap();
    let request = otlp_post()
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body.clone()));
    let response = harness.send(request.unwrap()).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    let json = body_json(response).await;
    assert_eq!(json["error"], "TooManyRequests");
    assert_eq!(harness.appended_count().await, 0);

    drop(held);
    let request = otlp_post()
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body));
    assert_eq!(
        harness.send(request.unwrap()).await.status(),
        StatusCode::OK
    );
    assert_eq!(harness.appended_count().await, 1);
}

#[tokio::test]
async fn a_request_past_its_deadline_gets_504_and_releases_its_bytes() {
    let limits = IngestLimits {
        request_timeout: Duration::from_millis(100),
        ..small_limits()
    };
    let harness = Harness::with_limits(limits);
    // A client that sends the first bytes and then stalls.
    let first = futures::stream::iter([Ok::<_, Infallible>(Bytes::from_static(b"\x0a"))]);
    let stalled = first.chain(futures::stream::pending());
    let request = otlp_post().body(Body::from_stream(stalled)).unwrap();
    let response = harness.send(request).await;
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    assert_eq!(harness.state.available_inflight_bytes(), 64 * 1024);
}

#[tokio::test]
async fn a_failed_append_is_never_acknowledged() {
    let state = IngestState::new(Arc::new(FailingLog), authenticator(), default_limits());
    let body = export_request(vec![span(1, 1, "lost?")]).encode_to_vec();
    let request = otlp_post().body(Body::from(body)).unwrap();
    let response = http_router(state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    let json = body_json(response).await;
    assert!(
        json["message"].as_str().unwrap().contains("event log"),
        "{json}"
    );

    let batch = serde_json::json!({"batch": [{"id": "e1", "timestamp": "2026-01-01T00:00:00Z",
        "type": "trace-create", "body": {"id": "t1"}}]});
    let request = Request::post(INGESTION_PATH)
        .header(header::AUTHORIZATION, basic_auth())
        .body(Body::from(batch.to_string()))
        .unwrap();
    let response = http_router(state).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn a_pipeline_backlog_over_its_bound_gets_429_until_it_drains() {
    let mut harness = Harness::new();
    let backlog = Arc::new(std::sync::atomic::AtomicU64::new(5_001));
    harness.state = harness
        .state
        .clone()
        .with_backlog_signal(backlog.clone(), 5_000);
    let body = export_request(vec![span(1, 1, "behind")]).encode_to_vec();
    let request = otlp_post().body(Body::from(body.clone())).unwrap();
    let response = harness.send(request).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    let message = body_json(response).await["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("5001 events behind"), "{message}");
    assert_eq!(harness.appended_count().await, 0);

    backlog.store(10, std::sync::atomic::Ordering::Relaxed);
    let request = otlp_post().body(Body::from(body)).unwrap();
    assert_eq!(harness.send(request).await.status(), StatusCode::OK);
    assert_eq!(harness.appended_count().await, 1);
}

#[tokio::test]
async fn a_project_over_its_request_rate_gets_429_with_a_one_second_retry_hint() {
    let mut harness = Harness::new();
    harness.state = harness
        .state
        .clone()
        .with_rate_limit(Arc::new(InProcessCache::new()), 2);
    let body = export_request(vec![span(1, 1, "rated")]).encode_to_vec();
    let mut accepted = 0;
    let mut refused = Vec::new();
    // Five requests within milliseconds touch at most two clock seconds, so at most 2 + 2
    // are accepted and at least one is refused.
    for _ in 0..5 {
        let response = harness
            .send(otlp_post().body(Body::from(body.clone())).unwrap())
            .await;
        match response.status() {
            StatusCode::OK => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => refused.push(response),
            other => panic!("unexpected status {other}"),
        }
    }
    assert!((2..=4).contains(&accepted), "{accepted} accepted");
    let response = refused.pop().expect("at least one request refused");
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    let json = body_json(response).await;
    let message = json["message"].as_str().unwrap();
    assert!(message.contains("project_requests_per_second"), "{json}");
    assert_eq!(harness.appended_count().await, accepted as u64);
}
