use periscope_proto::otlp_common::AnyValue;
use periscope_proto::otlp_common::any_value::Value as Any;
use periscope_proto::otlp_trace::Span;
use periscope_proto::otlp_trace::span::SpanKind;
use periscope_proto::otlp_trace::status::StatusCode;

use super::*;

/// WIRE-PROTOCOL.md Example 1, verbatim.
const EXAMPLE_1: &str = r#"{"resourceSpans":[{
 "resource":{"attributes":[
   {"key":"telemetry.sdk.language","value":{"stringValue":"python"}},{"key":"service.name","value":{"stringValue":"unknown_service:python"}},
   {"key":"langfuse.environment","value":{"stringValue":"staging"}},{"key":"langfuse.release","value":{"stringValue":"rel-1.4.2"}}]},
 "scopeSpans":[{"scope":{"name":"langfuse-sdk","version":"5.0.4","attributes":[{"key":"public_key","value":{"stringValue":"pk-lf-example"}}]},
  "spans":[{"traceId":"f1f89e0bb28c3cc98687fbed84e472de","spanId":"0a088b4d71543962","parentSpanId":"3d9e1ae809a0d532",
   "name":"llm-call","kind":"SPAN_KIND_INTERNAL","startTimeUnixNano":"1795743649017364623","endTimeUnixNano":"1795743649138730238","status":{},"flags":256,
   "attributes":[
    {"key":"langfuse.trace.metadata.feature","value":{"stringValue":"\"search-v2\""}},{"key":"langfuse.trace.metadata.priority","value":{"stringValue":"3"}},
    {"key":"langfuse.version","value":{"stringValue":"app-v7"}},
    {"key":"langfuse.trace.tags","value":{"arrayValue":{"values":[{"stringValue":"demo"},{"stringValue":"rag"}]}}},
    {"key":"langfuse.trace.name","value":{"stringValue":"answer-question"}},
    {"key":"langfuse.environment","value":{"stringValue":"staging"}},{"key":"langfuse.release","value":{"stringValue":"rel-1.4.2"}},
    {"key":"langfuse.observation.type","value":{"stringValue":"generation"}},
    {"key":"langfuse.observation.input","value":{"stringValue":"[{\"role\": \"system\", \"content\": \"You are a concise assistant.\"}, {\"role\": \"user\", \"content\": \"What is Langfuse?\"}]"}},
    {"key":"langfuse.observation.output","value":{"stringValue":"{\"role\": \"assistant\", \"content\": \"An open-source LLM observability platform.\"}"}},
    {"key":"langfuse.observation.model.name","value":{"stringValue":"gpt-4o-mini"}},
    {"key":"langfuse.observation.model.parameters","value":{"stringValue":"{\"temperature\": 0.2, \"max_tokens\": 256}"}},
    {"key":"langfuse.observation.metadata.region","value":{"stringValue":"\"eu\""}},
    {"key":"langfuse.observation.usage_details","value":{"stringValue":"{\"input\": 120, \"output\": 45, \"total\": 165}"}},
    {"key":"langfuse.observation.cost_details","value":{"stringValue":"{\"input\": 0.0012, \"output\": 0.0009, \"total\": 0.0021}"}},
    {"key":"langfuse.observation.completion_start_time","value":{"stringValue":"\"2026-11-27T01:40:49.067048Z\""}}]}]}]}]}"#;

/// WIRE-PROTOCOL.md Example 3 (one span), wrapped in a request.
const EXAMPLE_3: &str = r#"{"resourceSpans":[{"scopeSpans":[{"scope":{"name":"weather.app"},"spans":[
{"traceId":"6ca15fb0f0f39de1433cb712ce9d04b0","spanId":"f3eb57bf4fc79696","parentSpanId":"f5851c66c2a9bcfe","name":"chat gpt-4o","kind":"SPAN_KIND_CLIENT",
 "attributes":[
  {"key":"gen_ai.system","value":{"stringValue":"openai"}},{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},
  {"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}},{"key":"gen_ai.response.model","value":{"stringValue":"gpt-4o-2024-08-06"}},
  {"key":"gen_ai.request.temperature","value":{"doubleValue":0.7}},{"key":"gen_ai.request.max_tokens","value":{"intValue":"200"}},
  {"key":"gen_ai.usage.input_tokens","value":{"intValue":"50"}},{"key":"gen_ai.usage.output_tokens","value":{"intValue":"20"}},
  {"key":"gen_ai.input.messages","value":{"stringValue":"[{\"role\": \"user\", \"parts\": [{\"type\": \"text\", \"content\": \"Weather in Paris?\"}]}]"}},
  {"key":"gen_ai.output.messages","value":{"stringValue":"[{\"role\": \"assistant\", \"parts\": [{\"type\": \"text\", \"content\": \"18C and sunny.\"}], \"finish_reason\": \"stop\"}]"}}]}]}]}]}"#;

fn only_span(request: &ExportTraceServiceRequest) -> &Span {
    assert_eq!(request.resource_spans.len(), 1);
    assert_eq!(request.resource_spans[0].scope_spans.len(), 1);
    assert_eq!(request.resource_spans[0].scope_spans[0].spans.len(), 1);
    &request.resource_spans[0].scope_spans[0].spans[0]
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a Any> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)?
        .value
        .as_ref()?
        .value
        .as_ref()
}

fn error_of(json: &str) -> String {
    match decode_export_request(json.as_bytes()) {
        Ok(request) => panic!("expected an error, decoded {request:?}"),
        Err(error) => error.to_string(),
    }
}

fn wrap_span(span_json: &str) -> String {
    format!(r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{span_json}]}}]}}]}}"#)
}

#[test]
fn example_1_decodes_ids_times_enums_and_attributes() {
    let request = decode_export_request(EXAMPLE_1.as_bytes()).unwrap();
    let resource_spans = &request.resource_spans[0];
    let resource = resource_spans.resource.as_ref().unwrap();
    assert_eq!(resource.attributes.len(), 4);
    assert_eq!(resource.attributes[2].key, "langfuse.environment");
    let scope = resource_spans.scope_spans[0].scope.as_ref().unwrap();
    assert_eq!(
        (scope.name.as_str(), scope.version.as_str()),
        ("langfuse-sdk", "5.0.4")
    );
    assert_eq!(scope.attributes[0].key, "public_key");

    let span = only_span(&request);
    assert_eq!(
        hex::encode(&span.trace_id),
        "f1f89e0bb28c3cc98687fbed84e472de"
    );
    assert_eq!(hex::encode(&span.span_id), "0a088b4d71543962");
    assert_eq!(hex::encode(&span.parent_span_id), "3d9e1ae809a0d532");
    assert_eq!(span.name, "llm-call");
    assert_eq!(span.kind, SpanKind::Internal as i32);
    assert_eq!(span.start_time_unix_nano, 1_795_743_649_017_364_623);
    assert_eq!(span.end_time_unix_nano, 1_795_743_649_138_730_238);
    assert_eq!(span.flags, 256);
    assert_eq!(span.status, Some(Status::default()));
    assert_eq!(span.attributes.len(), 16);
    let tags = match attribute(span, "langfuse.trace.tags") {
        Some(Any::ArrayValue(array)) => &array.values,
        other => panic!("tags decoded as {other:?}"),
    };
    let tags: Vec<_> = tags.iter().map(|tag| tag.value.clone()).collect();
    assert_eq!(
        tags,
        vec![
            Some(Any::StringValue("demo".into())),
            Some(Any::StringValue("rag".into()))
        ]
    );
    assert_eq!(
        attribute(span, "langfuse.observation.completion_start_time"),
        Some(&Any::StringValue("\"2026-11-27T01:40:49.067048Z\"".into()))
    );
}

#[test]
fn example_3_decodes_int_and_double_values() {
    let request = decode_export_request(EXAMPLE_3.as_bytes()).unwrap();
    assert!(request.resource_spans[0].resource.is_none());
    let span = only_span(&request);
    assert_eq!(span.kind, SpanKind::Client as i32);
    assert_eq!(
        attribute(span, "gen_ai.request.temperature"),
        Some(&Any::DoubleValue(0.7))
    );
    assert_eq!(
        attribute(span, "gen_ai.request.max_tokens"),
        Some(&Any::IntValue(200))
    );
    assert_eq!(
        attribute(span, "gen_ai.usage.input_tokens"),
        Some(&Any::IntValue(50))
    );
    assert_eq!(span.start_time_unix_nano, 0);
    assert!(span.status.is_none());
}

#[test]
fn numbers_snake_case_keys_and_integer_enums_are_accepted() {
    let json = wrap_span(
        r#"{"trace_id":"F1F89E0BB28C3CC98687FBED84E472DE","span_id":"0a088b4d71543962",
            "parent_span_id":"","kind":2,"start_time_unix_nano":1795743649017364623,
            "end_time_unix_nano":"1795743649138730238","status":{"code":2,"message":"boom"},
            "attributes":[{"key":"n","value":{"int_value":-7}},{"key":"d","value":{"doubleValue":"Infinity"}}],
            "somethingNew":{"nested":[1,2,3]}}"#,
    );
    let request = decode_export_request(json.as_bytes()).unwrap();
    let span = only_span(&request);
    assert_eq!(
        hex::encode(&span.trace_id),
        "f1f89e0bb28c3cc98687fbed84e472de"
    );
    assert!(
        span.parent_span_id.is_empty(),
        "empty parentSpanId means absent"
    );
    assert_eq!(span.kind, SpanKind::Server as i32);
    assert_eq!(span.start_time_unix_nano, 1_795_743_649_017_364_623);
    let status = span.status.as_ref().unwrap();
    assert_eq!(
        (status.code, status.message.as_str()),
        (StatusCode::Error as i32, "boom")
    );
    assert_eq!(attribute(span, "n"), Some(&Any::IntValue(-7)));
    assert_eq!(attribute(span, "d"), Some(&Any::DoubleValue(f64::INFINITY)));
}

#[test]
fn enum_names_long_and_short_resolve() {
    let json = wrap_span(r#"{"kind":"SERVER","status":{"code":"STATUS_CODE_ERROR"}}"#);
    let request = decode_export_request(json.as_bytes()).unwrap();
    let span = only_span(&request);
    assert_eq!(span.kind, SpanKind::Server as i32);
    assert_eq!(span.status.as_ref().unwrap().code, StatusCode::Error as i32);
    let json = wrap_span(r#"{"kind":"SPAN_KIND_PRODUCER","status":{"code":"ERROR"}}"#);
    let request = decode_export_request(json.as_bytes()).unwrap();
    assert_eq!(only_span(&request).kind, SpanKind::Producer as i32);
}

#[test]
fn nested_values_bytes_and_events_decode() {
    let json = wrap_span(
        r#"{"attributes":[
             {"key":"list","value":{"arrayValue":{"values":[{"intValue":"1"},{"boolValue":true},{}]}}},
             {"key":"map","value":{"kvlistValue":{"values":[{"key":"inner","value":{"stringValue":"x"}}]}}},
             {"key":"raw","value":{"bytesValue":"aGk="}},
             {"key":"raw_url","value":{"bytesValue":"-_8"}}],
           "events":[{"timeUnixNano":"5","name":"gen_ai.choice","attributes":[{"key":"index","value":{"intValue":0}}]}],
           "links":[{"traceId":"6ca15fb0f0f39de1433cb712ce9d04b0","spanId":"f3eb57bf4fc79696"}]}"#,
    );
    let request = decode_export_request(json.as_bytes()).unwrap();
    let span = only_span(&request);
    let Some(Any::ArrayValue(list)) = attribute(span, "list") else {
        panic!("list")
    };
    assert_eq!(list.values[0].value, Some(Any::IntValue(1)));
    assert_eq!(list.values[1].value, Some(Any::BoolValue(true)));
    assert_eq!(list.values[2], AnyValue { value: None });
    let Some(Any::KvlistValue(map)) = attribute(span, "map") else {
        panic!("map")
    };
    assert_eq!(map.values[0].key, "inner");
    assert_eq!(
        attribute(span, "raw"),
        Some(&Any::BytesValue(b"hi".to_vec()))
    );
    assert_eq!(
        attribute(span, "raw_url"),
        Some(&Any::BytesValue(vec![0xfb, 0xff]))
    );
    assert_eq!(span.events[0].time_unix_nano, 5);
    assert_eq!(span.events[0].name, "gen_ai.choice");
    assert_eq!(span.events[0].attributes[0].key, "index");
    assert_eq!(span.links[0].span_id.len(), 8);
}

#[test]
fn base64_ids_of_the_right_length_are_accepted() {
    // 16 and 8 bytes in base64, as a protobuf-JSON library without OTLP's hex rule sends them.
    let json = wrap_span(r#"{"traceId":"8fieC7KMPMmGh/vthORy3g==","spanId":"CgiLTXFUOWI="}"#);
    let request = decode_export_request(json.as_bytes()).unwrap();
    let span = only_span(&request);
    assert_eq!(
        hex::encode(&span.trace_id),
        "f1f89e0bb28c3cc98687fbed84e472de"
    );
    assert_eq!(hex::encode(&span.span_id), "0a088b4d71543962");
}

#[test]
fn errors_name_the_json_path() {
    assert_eq!(
        error_of(&wrap_span(
            r#"{"attributes":[{"key":"k","value":{"intValue":"12x"}}]}"#
        )),
        "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.intValue: expected a 64-bit \
         integer (a JSON number or a decimal string)"
    );
    assert_eq!(
        error_of(&wrap_span(r#"{"kind":"SPAN_KIND_SIDEWAYS"}"#)),
        "resourceSpans[0].scopeSpans[0].spans[0].kind: unknown enum value \"SPAN_KIND_SIDEWAYS\""
    );
    assert_eq!(
        error_of(&wrap_span(r#"{"startTimeUnixNano":-1}"#)),
        "resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano: expected an unsigned 64-bit \
         integer (a JSON number or a decimal string)"
    );
    assert_eq!(
        error_of(r#"{"resourceSpans":{}}"#),
        "resourceSpans: expected a JSON array"
    );
    assert_eq!(error_of("[]"), "(root): expected a JSON object");
    assert!(error_of("{\"resourceSpans\":").starts_with("body is not valid JSON"));
}

#[test]
fn nulls_and_missing_fields_are_defaults() {
    let request = decode_export_request(br#"{"resourceSpans":null}"#).unwrap();
    assert!(request.resource_spans.is_empty());
    let request = decode_export_request(b"{}").unwrap();
    assert!(request.resource_spans.is_empty());
    let json = wrap_span(r#"{"name":null,"attributes":null,"status":null}"#);
    let request = decode_export_request(json.as_bytes()).unwrap();
    assert_eq!(only_span(&request), &Span::default());
}

#[test]
fn legacy_instrumentation_library_names_are_accepted() {
    let json = r#"{"resourceSpans":[{"instrumentationLibrarySpans":[
        {"instrumentationLibrary":{"name":"old"},"spans":[{"name":"s"}]}]}]}"#;
    let request = decode_export_request(json.as_bytes()).unwrap();
    let scope_spans = &request.resource_spans[0].scope_spans[0];
    assert_eq!(scope_spans.scope.as_ref().unwrap().name, "old");
    assert_eq!(scope_spans.spans[0].name, "s");
}

#[test]
fn undecodable_ids_become_an_invalid_length_so_only_that_span_is_rejected() {
    let spans = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[
        {"traceId":"abc","spanId":"zz088b4d71543962","parentSpanId":"nothex!!"}]}]}]}"#;
    let request = decode_export_request(spans.as_bytes()).unwrap();
    let span = &request.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.trace_id, value::INVALID_ID.to_vec());
    assert_eq!(span.span_id, value::INVALID_ID.to_vec());
    assert_eq!(span.parent_span_id, value::INVALID_ID.to_vec());
}
