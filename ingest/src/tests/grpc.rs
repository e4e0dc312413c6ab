//! gRPC: OTLP `TraceService/Export` and `IngestService/Ingest` over an in-memory channel.

use std::future::Future;

use futures::StreamExt as _;
use hyper_util::rt::TokioIo;
use periscope_proto::otlp_collector::trace_service_client::TraceServiceClient;
use periscope_proto::pv1::ingest_service_client::IngestServiceClient;
use tonic::Code;
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint, Server, Uri};

use super::*;
use crate::grpc_routes;

/// Serves `state`'s gRPC routes over an in-memory duplex pipe while `client` runs.
async fn with_grpc<F, Fut>(state: IngestState, client: F)
where
    F: FnOnce(Channel) -> Fut,
    Fut: Future<Output = ()>,
{
    let (client_io, server_io) = tokio::io::duplex(1024 * 1024);
    let server = Server::builder()
        .add_routes(grpc_routes(state))
        // The server stops once its incoming stream ends, so the stream stays open after the
        // one connection.
        .serve_with_incoming(
            futures::stream::iter([Ok::<_, std::io::Error>(server_io)])
                .chain(futures::stream::pending()),
        );
    let mut client_io = Some(client_io);
    let channel = Endpoint::from_static("http://in-memory.test").connect_with_connector_lazy(
        tower::service_fn(move |_: Uri| {
            let io = client_io.take();
            async move {
                io.map(TokioIo::new)
                    .ok_or_else(|| std::io::Error::other("reconnect"))
            }
        }),
    );
    tokio::select! {
        result = server => panic!("grpc server stopped early: {result:?}"),
        () = client(channel) => {}
    }
}

fn authorized<T>(message: T, authorization: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value: MetadataValue<_> = authorization.parse().unwrap();
    request.metadata_mut().insert("authorization", value);
    request
}

#[tokio::test]
async fn otlp_export_appends_valid_spans_and_reports_invalid_ones() {
    let harness = Harness::new();
    let mut bad = span(2, 2, "bad-parent");
    bad.parent_span_id = vec![1; 3];
    let request = export_request(vec![span(1, 1, "ok"), bad]);
    with_grpc(harness.state.clone(), |channel| async move {
        let mut client =
            TraceServiceClient::new(channel).send_compressed(CompressionEncoding::Gzip);
        let response = client
            .export(authorized(request, &basic_auth()))
            .await
            .unwrap();
        let partial = response.into_inner().partial_success.unwrap();
        assert_eq!(partial.rejected_spans, 1);
        assert!(
            partial
                .error_message
                .contains("parent_span_id must be empty or 8 bytes, got 3")
        );
    })
    .await;
    let events = harness.appended().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].1.source, pv1::Source::OtlpGrpc as i32);
    assert_eq!(span_names(&events[0].1), ["ok"]);
}

#[tokio::test]
async fn otlp_export_without_a_valid_key_is_unauthenticated() {
    let harness = Harness::new();
    with_grpc(harness.state.clone(), |channel| async move {
        let mut client = TraceServiceClient::new(channel);
        let status = client
            .export(export_request(vec![span(1, 1, "x")]))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        let request = authorized(export_request(vec![span(1, 1, "x")]), &wrong_basic_auth());
        assert_eq!(
            client.export(request).await.unwrap_err().code(),
            Code::Unauthenticated
        );
        let request = authorized(export_request(vec![span(1, 1, "x")]), &bearer_auth());
        assert_eq!(
            client.export(request).await.unwrap_err().code(),
            Code::Unauthenticated
        );
    })
    .await;
    assert_eq!(harness.appended_count().await, 0);
}

#[tokio::test]
async fn otlp_export_under_overload_is_resource_exhausted_with_a_retry_hint() {
    let limits = IngestLimits {
        max_inflight_bytes: 2048,
        ..default_limits()
    };
    let harness = Harness::with_limits(limits);
    let held = harness.state.try_reserve(2000).unwrap();
    with_grpc(harness.state.clone(), |channel| async move {
        let mut client = TraceServiceClient::new(channel);
        let request = authorized(export_request(vec![span(1, 1, "busy")]), &basic_auth());
        let status = client.export(request).await.unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert!(
            status.message().contains("retry after 1s"),
            "{}",
            status.message()
        );
        assert_eq!(status.metadata().get("retry-after").unwrap(), "1");
        assert!(!status.details().is_empty(), "carries google.rpc.RetryInfo");
    })
    .await;
    drop(held);
    assert_eq!(harness.appended_count().await, 0);
}

#[tokio::test]
async fn otlp_export_is_unavailable_when_the_log_fails() {
    let state = IngestState::new(Arc::new(FailingLog), authenticator(), default_limits());
    with_grpc(state, |channel| async move {
        let mut client = TraceServiceClient::new(channel);
        let request = authorized(export_request(vec![span(1, 1, "x")]), &basic_auth());
        assert_eq!(
            client.export(request).await.unwrap_err().code(),
            Code::Unavailable
        );
    })
    .await;
}

fn native_event(id: &str, event_type: &str, body: serde_json::Value) -> pv1::IngestEvent {
    pv1::IngestEvent {
        id: id.to_owned(),
        r#type: event_type.to_owned(),
        timestamp: "2026-11-27T01:40:49Z".to_owned(),
        body_json: body.to_string().into_bytes(),
    }
}

#[tokio::test]
async fn native_ingest_returns_one_result_per_event() {
    let harness = Harness::new();
    let events = vec![
        native_event(
            "n-1",
            "trace-create",
            serde_json::json!({"id": "trace-n", "name": "n"}),
        ),
        native_event(
            "n-2",
            "span-create",
            serde_json::json!({"id": "s", "traceId": 5}),
        ),
        native_event("n-3", "sdk-log", serde_json::json!({"log": "debug"})),
        pv1::IngestEvent {
            body_json: b"{not json".to_vec(),
            ..native_event("n-4", "trace-create", serde_json::json!({}))
        },
    ];
    with_grpc(harness.state.clone(), |channel| async move {
        let mut client =
            IngestServiceClient::new(channel).send_compressed(CompressionEncoding::Gzip);
        let request = authorized(pv1::IngestRequest { events }, &basic_auth());
        let results = client.ingest(request).await.unwrap().into_inner().results;
        let statuses: Vec<(&str, u32)> =
            results.iter().map(|r| (r.id.as_str(), r.status)).collect();
        assert_eq!(
            statuses,
            [("n-1", 201), ("n-2", 400), ("n-3", 200), ("n-4", 400)]
        );
        assert!(
            results[1].message.contains("body.traceId"),
            "{}",
            results[1].message
        );
        assert!(
            results[3].message.contains("body"),
            "{}",
            results[3].message
        );
    })
    .await;
    let appended = harness.appended().await;
    assert_eq!(appended.len(), 1);
    assert_eq!(appended[0].0, format!("{PROJECT}/trace-n"));
}

#[tokio::test]
async fn native_ingest_under_a_bearer_key_accepts_only_scores() {
    let harness = Harness::new();
    let events = vec![
        native_event(
            "b-1",
            "score-create",
            serde_json::json!({"traceId": "t", "name": "q", "value": 1}),
        ),
        native_event("b-2", "trace-create", serde_json::json!({"id": "t"})),
    ];
    with_grpc(harness.state.clone(), |channel| async move {
        let mut client = IngestServiceClient::new(channel);
        let request = authorized(pv1::IngestRequest { events }, &bearer_auth());
        let results = client.ingest(request).await.unwrap().into_inner().results;
        assert_eq!(results[0].status, 201);
        assert_eq!(results[1].status, 401);
        assert!(
            results[1].message.starts_with("Access Scope Denied"),
            "{}",
            results[1].message
        );
        let unauthenticated = client
            .ingest(pv1::IngestRequest::default())
            .await
            .unwrap_err();
        assert_eq!(unauthenticated.code(), Code::Unauthenticated);
    })
    .await;
    assert_eq!(harness.appended_count().await, 1);
}
