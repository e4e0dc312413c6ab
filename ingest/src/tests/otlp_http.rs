//! OTLP/HTTP: both paths, protobuf and JSON, gzip, partial success, decode errors, auth.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use periscope_proto::otlp_collector::ExportTraceServiceResponse;
use periscope_proto::pv1;
use prost::Message;

use super::*;
use crate::{LANGFUSE_OTLP_PATH, OTLP_PATH};

fn post(path: &str, content_type: &str) -> axum::http::request::Builder {
    Request::post(path)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::AUTHORIZATION, basic_auth())
}

fn protobuf_request(path: &str, body: Vec<u8>, gzipped: bool) -> Request<Body> {
    let mut builder = post(path, "application/x-protobuf");
    let body = if gzipped {
        builder = builder.header(header::CONTENT_ENCODING, "gzip");
        gzip(&body)
    } else {
        body
    };
    builder
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn gzip_protobuf_export_is_split_by_trace_and_appended_before_200() {
    let harness = Harness::new();
    let request = export_request(vec![
        span(1, 1, "a-root"),
        span(2, 2, "b-root"),
        span(1, 3, "a-child"),
    ]);
    let response = harness
        .send(protobuf_request(
            LANGFUSE_OTLP_PATH,
            request.encode_to_vec(),
            true,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/x-protobuf"
    );
    let decoded = ExportTraceServiceResponse::decode(body_bytes(response).await).unwrap();
    assert_eq!(decoded, ExportTraceServiceResponse::default());

    let events = harness.appended().await;
    assert_eq!(events.len(), 2, "one event per trace");
    let (key, first) = &events[0];
    assert_eq!(key, &format!("{PROJECT}/{}", "01".repeat(16)));
    assert_eq!(first.project_id, PROJECT);
    assert_eq!(first.source, pv1::Source::OtlpHttp as i32);
    assert_eq!(first.schema_version, 1);
    assert!(first.received_at_unix_nano > 0);
    assert!(uuid::Uuid::parse_str(&first.event_id).is_ok());
    assert_eq!(span_names(first), ["a-root", "a-child"]);
    let resource = otlp_spans(first).resource.as_ref().unwrap();
    assert_eq!(resource.attributes[0].key, "service.name");
    assert_eq!(
        otlp_spans(first).scope_spans[0]
            .scope
            .as_ref()
            .unwrap()
            .name,
        "langfuse-sdk"
    );
    assert_eq!(events[1].0, format!("{PROJECT}/{}", "02".repeat(16)));
    assert_eq!(span_names(&events[1].1), ["b-root"]);
    assert_ne!(first.event_id, events[1].1.event_id);
}

#[tokio::test]
async fn plain_protobuf_on_the_otel_default_path_is_accepted() {
    let harness = Harness::new();
    let body = export_request(vec![span(3, 1, "plain")]).encode_to_vec();
    let response = harness.send(protobuf_request(OTLP_PATH, body, false)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let events = harness.appended().await;
    assert_eq!(events.len(), 1);
    assert_eq!(span_names(&events[0].1), ["plain"]);
}

fn json_export(trace_id: &str) -> String {
    format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"svc"}}}}]}},
        "scopeSpans":[{{"scope":{{"name":"manual"}},"spans":[{{"traceId":"{trace_id}","spanId":"0102030405060708",
        "name":"json-span","kind":1,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000100000000"}}]}}]}}]}}"#
    )
}

#[tokio::test]
async fn json_export_gets_json_answer_with_or_without_gzip() {
    let harness = Harness::new();
    let trace_id = "5b8efff798038103d269b633813fc60c";
    for gzipped in [false, true] {
        let body = json_export(trace_id).into_bytes();
        let mut builder = post(LANGFUSE_OTLP_PATH, "application/json; charset=utf-8");
        let body = if gzipped {
            builder = builder.header(header::CONTENT_ENCODING, "gzip");
            gzip(&body)
        } else {
            body
        };
        let response = harness.send(builder.body(Body::from(body)).unwrap()).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body_json(response).await, serde_json::json!({}));
    }
    let events = harness.appended().await;
    assert_eq!(events.len(), 2);
    for (key, event) in &events {
        assert_eq!(key, &format!("{PROJECT}/{trace_id}"));
        let spans = otlp_spans(event);
        assert_eq!(
            hex::encode(&spans.scope_spans[0].spans[0].trace_id),
            trace_id
        );
        assert_eq!(span_names(event), ["json-span"]);
    }
}

#[tokio::test]
async fn invalid_spans_are_reported_in_partial_success_and_valid_ones_appended() {
    let harness = Harness::new();
    let mut short_trace = span(4, 1, "short-trace");
    short_trace.trace_id = vec![4; 3];
    let mut zero_trace = span(0, 2, "zero-trace");
    zero_trace.trace_id = vec![0; 16];
    let mut backwards = span(5, 3, "backwards");
    backwards.end_time_unix_nano = backwards.start_time_unix_nano - 1;
    let request = export_request(vec![short_trace, span(6, 4, "good"), zero_trace, backwards]);
    let response = harness
        .send(protobuf_request(
            LANGFUSE_OTLP_PATH,
            request.encode_to_vec(),
            false,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let decoded = ExportTraceServiceResponse::decode(body_bytes(response).await).unwrap();
    let partial = decoded.partial_success.unwrap();
    assert_eq!(partial.rejected_spans, 3);
    assert!(
        partial
            .error_message
            .contains("spans[0]: trace_id must be 16 bytes, got 3")
    );
    assert!(
        partial
            .error_message
            .contains("spans[2]: trace_id must not be all zero")
    );
    assert!(
        partial
            .error_message
            .contains("spans[3]: end_time_unix_nano")
    );
    let events = harness.appended().await;
    assert_eq!(events.len(), 1);
    assert_eq!(span_names(&events[0].1), ["good"]);
}

#[tokio::test]
async fn json_partial_success_uses_the_otlp_json_field_names() {
    let harness = Harness::new();
    let body = json_export("00000000000000000000000000000000");
    let request = post(OTLP_PATH, "application/json")
        .body(Body::from(body))
        .unwrap();
    let response = harness.send(request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let json = body_json(response).await;
    assert_eq!(json["partialSuccess"]["rejectedSpans"], "1");
    assert!(
        json["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("all zero")
    );
    assert_eq!(harness.appended_count().await, 0);
}

#[tokio::test]
async fn malformed_bodies_get_400_naming_what_failed_and_append_nothing() {
    let harness = Harness::new();
    let garbage = protobuf_request(OTLP_PATH, vec![0x0a, 0xff, 0xff, 0x01], false);
    let response = harness.send(garbage).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let json = body_json(response).await;
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("invalid OTLP protobuf"),
        "{json}"
    );
    assert_eq!(json["error"], "InvalidRequestError");

    // An undecodable id rejects only its span (partial success), never the whole request.
    let bad_id = post(OTLP_PATH, "application/json")
        .body(Body::from(json_export("not-hex")))
        .unwrap();
    let response = harness.send(bad_id).await;
    assert_eq!(response.status(), StatusCode::OK);
    let json = body_json(response).await;
    assert_eq!(json["partialSuccess"]["rejectedSpans"], "1", "{json}");

    let bad_type = json_export("5b8efff798038103d269b633813fc60c")
        .replace(r#""name":"json-span""#, r#""name":5"#);
    let request = post(OTLP_PATH, "application/json")
        .body(Body::from(bad_type))
        .unwrap();
    let response = harness.send(request).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let message = body_json(response).await["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("spans[0].name"), "{message}");

    let not_gzip = post(OTLP_PATH, "application/x-protobuf")
        .header(header::CONTENT_ENCODING, "gzip")
        .body(Body::from("plain bytes"))
        .unwrap();
    let response = harness.send(not_gzip).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        body_json(response).await["message"]
            .as_str()
            .unwrap()
            .contains("gzip")
    );
    assert_eq!(harness.appended_count().await, 0);
}

#[tokio::test]
async fn unsupported_media_types_and_encodings_get_415() {
    let harness = Harness::new();
    let xml = post(OTLP_PATH, "text/xml")
        .body(Body::from("<a/>"))
        .unwrap();
    assert_eq!(
        harness.send(xml).await.status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let brotli = post(OTLP_PATH, "application/x-protobuf")
        .header(header::CONTENT_ENCODING, "br")
        .body(Body::from(Vec::new()))
        .unwrap();
    assert_eq!(
        harness.send(brotli).await.status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
}

#[tokio::test]
async fn missing_wrong_or_scores_only_keys_get_401() {
    let harness = Harness::new();
    let body = export_request(vec![span(7, 1, "x")]).encode_to_vec();
    let cases = [
        None,
        Some(wrong_basic_auth()),
        Some(bearer_auth()),
        Some("Token abc".to_owned()),
    ];
    for authorization in cases {
        let mut builder =
            Request::post(OTLP_PATH).header(header::CONTENT_TYPE, "application/x-protobuf");
        if let Some(value) = &authorization {
            builder = builder.header(header::AUTHORIZATION, value);
        }
        let response = harness
            .send(builder.body(Body::from(body.clone())).unwrap())
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{authorization:?}"
        );
        let json = body_json(response).await;
        assert_eq!(json["error"], "UnauthorizedError");
        assert!(!json["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(harness.appended_count().await, 0);
}

#[tokio::test]
async fn an_empty_export_is_acknowledged_without_appending() {
    let harness = Harness::new();
    let response = harness
        .send(protobuf_request(OTLP_PATH, Vec::new(), false))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(harness.appended_count().await, 0);
}
