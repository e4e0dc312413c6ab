//! Unit tests of the span mapping; the golden fixtures cover whole conventions.

use chrono::{DateTime, TimeZone, Utc};
use periscope_core::model::{ObservationRecord, ObservationType, Record, TraceRecord};
use periscope_proto::otlp_common::any_value::Value as Any;
use periscope_proto::otlp_common::{AnyValue, ArrayValue, InstrumentationScope, KeyValue};
use periscope_proto::otlp_resource::Resource;
use periscope_proto::otlp_trace::{ResourceSpans, ScopeSpans, Span};
use serde_json::json;

use super::map_resource_spans;

mod fields;
mod io;

const START_NANOS: u64 = 1_795_743_649_000_000_000;

fn received_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 2, 0, 0).unwrap()
}

fn text(value: &str) -> Any {
    Any::StringValue(value.to_owned())
}

fn kv(key: &str, value: Any) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        key_strindex: 0,
    }
}

fn strings(values: &[&str]) -> Any {
    let values = values
        .iter()
        .map(|v| AnyValue {
            value: Some(text(v)),
        })
        .collect();
    Any::ArrayValue(ArrayValue { values })
}

/// A child span (it has a parent) with the given attributes.
fn child(attributes: Vec<KeyValue>) -> Span {
    Span {
        trace_id: vec![0xab; 16],
        span_id: vec![0x02; 8],
        parent_span_id: vec![0x03; 8],
        name: "op".to_owned(),
        start_time_unix_nano: START_NANOS,
        end_time_unix_nano: START_NANOS + 1_000_000_000,
        attributes,
        ..Span::default()
    }
}

fn root(attributes: Vec<KeyValue>) -> Span {
    Span {
        parent_span_id: Vec::new(),
        ..child(attributes)
    }
}

fn map_with(span: Span, resource: Vec<KeyValue>, scope: &str, scope_version: &str) -> Vec<Record> {
    let resource_spans = ResourceSpans {
        resource: Some(Resource {
            attributes: resource,
            ..Resource::default()
        }),
        scope_spans: vec![ScopeSpans {
            scope: Some(InstrumentationScope {
                name: scope.to_owned(),
                version: scope_version.to_owned(),
                ..InstrumentationScope::default()
            }),
            spans: vec![span],
            schema_url: String::new(),
        }],
        schema_url: String::new(),
    };
    map_resource_spans("proj-1", &resource_spans, received_at())
}

fn map(span: Span) -> Vec<Record> {
    map_with(span, Vec::new(), "my.app", "")
}

fn observation(records: &[Record]) -> &ObservationRecord {
    match records.last() {
        Some(Record::Observation(observation)) => observation,
        other => panic!("the last record is not an observation: {other:?}"),
    }
}

fn trace(records: &[Record]) -> Option<&TraceRecord> {
    records.iter().find_map(|record| match record {
        Record::Trace(trace) => Some(trace),
        _ => None,
    })
}

fn type_of(attributes: Vec<KeyValue>) -> ObservationType {
    observation(&map(child(attributes)))
        .observation_type
        .unwrap()
}

#[test]
fn a_child_without_trace_attributes_maps_to_one_observation() {
    let records = map(child(vec![kv("gen_ai.request.model", text("m"))]));
    assert_eq!(records.len(), 1);
    let observation = observation(&records);
    assert_eq!(observation.id, "0202020202020202");
    assert_eq!(observation.trace_id, "abababababababababababababababab");
    assert_eq!(
        observation.parent_observation_id.as_deref(),
        Some("0303030303030303")
    );
    assert_eq!(observation.event_time, received_at());
    assert_eq!(
        observation.start_time.unwrap().timestamp_nanos_opt(),
        Some(START_NANOS as i64)
    );
}

#[test]
fn a_root_emits_its_trace_first_named_after_the_span() {
    let records = map(root(vec![kv("input.value", text("hi"))]));
    assert_eq!(records.len(), 2);
    let trace = trace(&records).unwrap();
    assert!(matches!(records[0], Record::Trace(_)));
    assert_eq!(trace.name.as_deref(), Some("op"));
    assert_eq!(trace.input, Some(json!("hi")));
    assert_eq!(trace.timestamp, observation(&records).start_time);
    assert_eq!(trace.environment.as_deref(), Some("default"));
}

#[test]
fn an_as_root_span_is_the_root_and_loses_its_dangling_parent() {
    for flag in [Any::BoolValue(true), text("true")] {
        let records = map(child(vec![kv("langfuse.internal.as_root", flag)]));
        assert_eq!(observation(&records).parent_observation_id, None);
        assert_eq!(trace(&records).unwrap().name.as_deref(), Some("op"));
    }
    let records = map(child(vec![kv(
        "langfuse.internal.as_root",
        Any::BoolValue(false),
    )]));
    assert!(observation(&records).parent_observation_id.is_some());
    assert!(trace(&records).is_none());
}

#[test]
fn any_trace_attribute_on_a_child_updates_the_trace() {
    let cases = [
        kv("user.id", text("u")),
        kv("langfuse.session.id", text("s")),
        kv("gen_ai.conversation.id", text("c")),
        kv("langfuse.trace.metadata.k", text("v")),
        kv("langfuse.trace.public", Any::BoolValue(true)),
        kv("tag.tags", strings(&["t"])),
    ];
    for case in cases {
        let key = case.key.clone();
        let records = map(child(vec![case]));
        let trace = trace(&records).unwrap_or_else(|| panic!("{key} emits no trace"));
        assert_eq!(
            trace.name, None,
            "{key}: only the root names the trace by its span"
        );
    }
    assert!(
        trace(&map(child(vec![kv(
            "langfuse.trace.public",
            Any::BoolValue(false)
        )])))
        .is_none()
    );
}

#[test]
fn observation_type_rules_apply_in_order() {
    use ObservationType::*;
    let cases: Vec<(Vec<KeyValue>, ObservationType)> = vec![
        (
            vec![
                kv("langfuse.observation.type", text("agent")),
                kv("gen_ai.operation.name", text("chat")),
            ],
            Agent,
        ),
        (
            vec![
                kv("langfuse.observation.type", text("banana")),
                kv("model", text("m")),
            ],
            Generation,
        ),
        (
            vec![
                kv("openinference.span.kind", text("LLM")),
                kv("gen_ai.tool.name", text("t")),
            ],
            Generation,
        ),
        (vec![kv("openinference.span.kind", text("RERANKER"))], Span),
        (
            vec![kv("gen_ai.operation.name", text("embeddings"))],
            Embedding,
        ),
        (
            vec![kv("gen_ai.operation.name", text("invoke_agent"))],
            Agent,
        ),
        (
            vec![kv("gen_ai.operation.name", text("execute_tool"))],
            Tool,
        ),
        (
            vec![kv("genkit:metadata:subtype", text("model"))],
            Generation,
        ),
        (
            vec![kv("ai.operationId", text("ai.generateText.doGenerate"))],
            Span,
        ),
        (
            vec![
                kv("ai.operationId", text("ai.embed.doEmbed")),
                kv("ai.model.id", text("e")),
            ],
            Embedding,
        ),
        (
            vec![
                kv("operation.name", text("ai.streamText.doStream fn")),
                kv("ai.model.id", text("m")),
            ],
            Generation,
        ),
        (vec![kv("ai.operationId", text("ai.toolCall"))], Tool),
        (vec![kv("gen_ai.tool.call.id", text("call_1"))], Tool),
        (vec![kv("llm.model_name", text("m"))], Generation),
        (vec![kv("http.method", text("GET"))], Span),
    ];
    for (attributes, expected) in cases {
        let described = format!("{attributes:?}");
        assert_eq!(type_of(attributes), expected, "{described}");
    }
}

#[test]
fn python_sdk_up_to_3_3_generations_sent_as_spans_are_generations() {
    let attributes = || {
        vec![
            kv("langfuse.observation.type", text("span")),
            kv("langfuse.observation.model.name", text("gpt-4o")),
        ]
    };
    let python = vec![kv("telemetry.sdk.language", text("python"))];
    let old = map_with(child(attributes()), python.clone(), "langfuse-sdk", "3.3.0");
    assert_eq!(
        observation(&old).observation_type,
        Some(ObservationType::Generation)
    );
    let new = map_with(child(attributes()), python, "langfuse-sdk", "3.4.0");
    assert_eq!(
        observation(&new).observation_type,
        Some(ObservationType::Span)
    );
}

#[test]
fn tool_names_replace_the_span_name() {
    let records = map(child(vec![kv("gen_ai.tool.name", text("get_weather"))]));
    assert_eq!(observation(&records).name.as_deref(), Some("get_weather"));
}

#[test]
fn tags_accept_arrays_json_and_comma_separated_strings() {
    let tags_of = |value: Any| {
        trace(&map(root(vec![kv("langfuse.trace.tags", value)])))
            .unwrap()
            .tags
            .clone()
    };
    assert_eq!(tags_of(strings(&["b", "a", "b", ""])), vec!["a", "b"]);
    assert_eq!(tags_of(text("[\"x\", 1]")), vec!["1", "x"]);
    assert_eq!(tags_of(text("a, b,a")), vec!["a", "b"]);
    assert_eq!(tags_of(text("solo")), vec!["solo"]);
}

#[test]
fn ids_from_sdk_metadata_are_unquoted() {
    let records = map(child(vec![
        kv(
            "langfuse.observation.metadata.langfuse_user_id",
            text("\"u-1\""),
        ),
        kv("langfuse.trace.metadata.langfuse_session_id", text("s-1")),
        kv(
            "langfuse.observation.metadata.langfuse_tags",
            text("[\"t1\", \"t2\"]"),
        ),
    ]));
    let trace = trace(&records).unwrap();
    assert_eq!(trace.user_id.as_deref(), Some("u-1"));
    assert_eq!(trace.session_id.as_deref(), Some("s-1"));
    assert_eq!(trace.tags, vec!["t1", "t2"]);
}

#[test]
fn an_explicit_trace_io_wins_over_the_root_observation_io() {
    let records = map(root(vec![
        kv("langfuse.trace.input", text("{\"q\": 1}")),
        kv("langfuse.observation.input", text("obs-in")),
        kv("langfuse.observation.output", text("obs-out")),
    ]));
    let trace = trace(&records).unwrap();
    assert_eq!(trace.input, Some(json!({"q": 1})));
    assert_eq!(trace.output, Some(json!("obs-out")));
    assert_eq!(observation(&records).input, Some(json!("obs-in")));
}

#[test]
fn missing_times_fall_back_and_spans_without_ids_are_skipped() {
    let span = Span {
        start_time_unix_nano: 0,
        ..child(Vec::new())
    };
    let records = map(span);
    assert_eq!(
        observation(&records).start_time,
        observation(&records).end_time
    );
    let span = Span {
        start_time_unix_nano: 0,
        end_time_unix_nano: 0,
        ..child(Vec::new())
    };
    assert_eq!(observation(&map(span)).start_time, Some(received_at()));
    assert!(
        map(Span {
            span_id: Vec::new(),
            ..child(Vec::new())
        })
        .is_empty()
    );
    assert!(
        map(Span {
            trace_id: Vec::new(),
            ..child(Vec::new())
        })
        .is_empty()
    );
}

#[test]
fn a_repeated_attribute_key_keeps_its_last_value() {
    let records = map(child(vec![
        kv("llm.model_name", text("first")),
        kv("llm.model_name", text("last")),
    ]));
    assert_eq!(observation(&records).model.as_deref(), Some("last"));
}
