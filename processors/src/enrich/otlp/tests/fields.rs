//! Scalar fields: environment, level, prompt, times, model parameters, cost and usage.

use chrono::{TimeZone, Utc};
use periscope_core::model::Level;
use periscope_proto::otlp_common::any_value::Value as Any;
use periscope_proto::otlp_trace::Span;
use periscope_proto::otlp_trace::Status;
use periscope_proto::otlp_trace::status::StatusCode;
use serde_json::json;

use super::super::fields::sanitize_environment;
use super::{child, kv, map, map_with, observation, strings, text};

#[test]
fn environments_are_sanitised() {
    assert_eq!(sanitize_environment("Production"), "production");
    assert_eq!(sanitize_environment(" staging "), "staging");
    assert_eq!(sanitize_environment("langfuse-prod"), "-prod");
    assert_eq!(sanitize_environment("langfuse"), "default");
    assert_eq!(sanitize_environment("has space"), "default");
    assert_eq!(sanitize_environment("é"), "default");
    assert_eq!(sanitize_environment(&"a".repeat(41)), "default");
    assert_eq!(sanitize_environment(&"a".repeat(40)), "a".repeat(40));
}

#[test]
fn the_environment_key_order_wins_over_span_before_resource() {
    let resource = vec![kv("langfuse.environment", text("from-resource"))];
    let span = child(vec![kv("deployment.environment.name", text("from-span"))]);
    let records = map_with(span, resource.clone(), "my.app", "");
    assert_eq!(
        observation(&records).environment.as_deref(),
        Some("from-resource")
    );
    let span = child(vec![kv("langfuse.environment", text("from-span"))]);
    let records = map_with(span, resource, "my.app", "");
    assert_eq!(
        observation(&records).environment.as_deref(),
        Some("from-span")
    );
}

#[test]
fn level_and_status_message_fall_back_to_the_otel_status() {
    let mut span = child(Vec::new());
    span.status = Some(Status {
        message: "boom".to_owned(),
        code: StatusCode::Error as i32,
    });
    let records = map(span.clone());
    assert_eq!(observation(&records).level, Some(Level::Error));
    assert_eq!(
        observation(&records).status_message.as_deref(),
        Some("boom")
    );
    span.attributes = vec![
        kv("langfuse.observation.level", text("warning")),
        kv("langfuse.observation.status_message", text("slow")),
    ];
    let records = map(span);
    assert_eq!(observation(&records).level, Some(Level::Warning));
    assert_eq!(
        observation(&records).status_message.as_deref(),
        Some("slow")
    );
    let livekit = Span {
        name: "tts_node".to_owned(),
        ..child(Vec::new())
    };
    let records = map_with(livekit, Vec::new(), "livekit-agents", "");
    assert_eq!(observation(&records).level, Some(Level::Debug));
}

#[test]
fn prompts_link_only_to_generations() {
    let prompt = || {
        vec![
            kv("langfuse.observation.prompt.name", text("qa")),
            kv("langfuse.observation.prompt.version", Any::IntValue(3)),
        ]
    };
    let mut generation = prompt();
    generation.push(kv("langfuse.observation.type", text("generation")));
    let records = map(child(generation));
    assert_eq!(observation(&records).prompt_name.as_deref(), Some("qa"));
    assert_eq!(observation(&records).prompt_version, Some(3));
    let records = map(child(prompt()));
    assert_eq!(observation(&records).prompt_name, None);
    assert_eq!(observation(&records).prompt_version, None);
}

#[test]
fn completion_start_time_accepts_quoted_plain_and_naive_times() {
    let at = |value: &str| {
        let key = "langfuse.observation.completion_start_time";
        observation(&map(child(vec![kv(key, text(value))]))).completion_start_time
    };
    let expected = Utc.with_ymd_and_hms(2026, 11, 27, 1, 40, 49).unwrap();
    assert_eq!(at("\"2026-11-27T01:40:49Z\""), Some(expected));
    assert_eq!(at("2026-11-27T02:40:49+01:00"), Some(expected));
    assert_eq!(at("2026-11-27T01:40:49"), Some(expected));
    assert_eq!(at("soon"), None);
}

#[test]
fn model_parameters_keep_scalars_and_stringify_the_rest() {
    let records = map(child(vec![
        kv("gen_ai.request.model", text("m")),
        kv("gen_ai.request.stop_sequences", strings(&["END"])),
        kv("gen_ai.request.stream", Any::BoolValue(true)),
        kv("gen_ai.request.top_p", Any::DoubleValue(0.9)),
    ]));
    assert_eq!(
        observation(&records).model_parameters,
        Some(json!({"stop_sequences": "[\"END\"]", "stream": "true", "top_p": 0.9}))
    );
    let records = map(child(vec![kv("gen_ai.system", text("openai"))]));
    assert_eq!(
        observation(&records).model_parameters,
        None,
        "a provider alone is no parameter"
    );
}

#[test]
fn costs_must_be_non_negative_numbers() {
    let cost = |attributes| observation(&map(child(attributes))).cost_details.clone();
    let given = cost(vec![kv(
        "langfuse.observation.cost_details",
        text("{\"input\": -1, \"output\": 2}"),
    )]);
    assert_eq!(given, [("output".to_owned(), 2.0)].into());
    assert_eq!(
        cost(vec![kv("llm.cost.total", text("0.5"))]),
        [("total".to_owned(), 0.5)].into()
    );
    assert!(cost(vec![kv("gen_ai.usage.cost", Any::DoubleValue(-3.0))]).is_empty());
}

#[test]
fn usage_details_json_wins_over_semconv_counts() {
    let records = map(child(vec![
        kv(
            "langfuse.observation.usage_details",
            text("{\"input\": 1, \"output\": 2}"),
        ),
        kv("gen_ai.usage.input_tokens", Any::IntValue(50)),
    ]));
    assert_eq!(
        observation(&records).usage_details,
        [
            ("input".to_owned(), 1),
            ("output".to_owned(), 2),
            ("total".to_owned(), 3)
        ]
        .into()
    );
}
