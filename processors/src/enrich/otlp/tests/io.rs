//! Input, output and metadata.

use periscope_proto::otlp_common::any_value::Value as Any;
use periscope_proto::otlp_trace::span::Event;
use serde_json::json;

use super::{child, kv, map, map_with, observation, text};

#[test]
fn metadata_merges_the_object_with_its_keys_and_keeps_values_as_sent() {
    let records = map_with(
        child(vec![
            kv(
                "langfuse.observation.metadata",
                text("{\"a\": 1, \"b\": \"x\"}"),
            ),
            kv("langfuse.observation.metadata.b", text("\"y\"")),
            kv("langfuse.observation.input", text("big prompt")),
            kv("custom.flag", Any::BoolValue(true)),
        ]),
        Vec::new(),
        "langfuse-sdk",
        "5.0.4",
    );
    let metadata = &observation(&records).metadata;
    assert_eq!(metadata.get("a"), Some(&json!(1)));
    assert_eq!(metadata.get("b"), Some(&json!("\"y\"")));
    assert!(
        !metadata.contains_key("attributes"),
        "SDK spans do not copy raw attributes"
    );

    let records = map(child(vec![
        kv("langfuse.observation.metadata", text("[1, 2]")),
        kv("input.value", text("big prompt")),
        kv("custom.count", Any::IntValue(2)),
    ]));
    let metadata = &observation(&records).metadata;
    assert_eq!(metadata.get("metadata"), Some(&json!("[1, 2]")));
    assert_eq!(
        metadata.get("attributes"),
        Some(&json!({"custom.count": 2, "langfuse.observation.metadata": "[1, 2]"})),
        "raw attributes keep their types and leave out I/O"
    );
    assert_eq!(
        metadata.get("scope"),
        Some(&json!({"name": "my.app", "attributes": {}}))
    );
}

#[test]
fn system_instructions_lead_the_semconv_input_messages() {
    let records = map(child(vec![
        kv(
            "gen_ai.system_instructions",
            text("[{\"type\": \"text\", \"content\": \"Be brief.\"}]"),
        ),
        kv(
            "gen_ai.input.messages",
            text("[{\"role\": \"user\", \"parts\": []}]"),
        ),
    ]));
    assert_eq!(
        observation(&records).input,
        Some(json!([
            {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
            {"role": "user", "parts": []}
        ]))
    );
}

#[test]
fn the_inference_details_event_carries_semconv_messages() {
    let mut span = child(Vec::new());
    span.events = vec![Event {
        name: "gen_ai.client.inference.operation.details".to_owned(),
        attributes: vec![
            kv("gen_ai.input.messages", text("[{\"role\": \"user\"}]")),
            kv(
                "gen_ai.output.messages",
                text("[{\"role\": \"assistant\"}]"),
            ),
        ],
        ..Event::default()
    }];
    let observation = observation(&map(span)).clone();
    assert_eq!(observation.input, Some(json!([{"role": "user"}])));
    assert_eq!(observation.output, Some(json!([{"role": "assistant"}])));
}

#[test]
fn vercel_text_and_tool_calls_form_one_assistant_message() {
    let records = map_with(
        child(vec![
            kv("ai.response.text", text("Checking.")),
            kv(
                "ai.response.toolCalls",
                text("[{\"toolName\": \"getWeather\"}]"),
            ),
        ]),
        Vec::new(),
        "ai",
        "",
    );
    assert_eq!(
        observation(&records).output,
        Some(json!({"role": "assistant", "content": "Checking.",
                    "tool_calls": [{"toolName": "getWeather"}]}))
    );
}
