//! Table-driven tests of the ingestion envelope, the event bodies and scores.

use serde_json::{Value, json};

use super::*;

const TS: &str = "2026-11-27T01:40:49.067Z";

fn envelope(event_type: &str, body: Value) -> Value {
    json!({"id": "evt-1", "timestamp": TS, "type": event_type, "body": body})
}

fn parse_one(element: Value) -> ParsedEvent {
    let body = serde_json::to_vec(&json!({"batch": [element]})).unwrap();
    let mut parsed = parse_ingestion_batch(&body).unwrap();
    assert_eq!(parsed.len(), 1);
    parsed.remove(0)
}

#[test]
fn malformed_envelopes_are_rejected_whole() {
    let cases: [(&[u8], &str); 5] = [
        (b"not json", "body: invalid json"),
        (b"[]", "body: expected an object"),
        (b"{}", "batch: expected an array"),
        (br#"{"batch": {"id": 1}}"#, "batch: expected an array"),
        (br#"{"batch": null}"#, "batch: expected an array"),
    ];
    for (body, expected) in cases {
        let error = parse_ingestion_batch(body).unwrap_err();
        assert!(
            error.to_string().starts_with(expected),
            "{error} for {body:?}"
        );
        assert_eq!(error.status(), 400);
        assert_eq!(error.message(), "Invalid request data");
    }
    assert!(
        parse_ingestion_batch(br#"{"batch": []}"#)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_protocol_example_batch_parses() {
    let body = json!({"batch": [
        {"id": "0b6e", "timestamp": TS, "type": "trace-create",
         "body": {"id": "trace-1", "name": "answer-question", "userId": "user-7",
                  "sessionId": "session-42", "tags": ["demo"], "input": {"q": "?"}}},
        {"id": "5c1d", "timestamp": "2026-11-27T01:40:49.100+00:00", "type": "generation-create",
         "body": {"id": "gen-1", "traceId": "trace-1", "name": "llm-call", "startTime": TS,
                  "model": "gpt-4o-mini", "modelParameters": {"temperature": 0.2}}},
        {"id": "9f2a", "timestamp": TS, "type": "generation-update",
         "body": {"id": "gen-1", "traceId": "trace-1", "endTime": TS, "output": {"a": 1},
                  "usage": {"input": 120, "output": 45, "total": 165, "unit": "TOKENS"}}}],
        "metadata": {"batch_size": 3, "sdk_name": "langfuse-js"}});
    let parsed = parse_ingestion_batch(&serde_json::to_vec(&body).unwrap()).unwrap();
    let types: Vec<EventType> = parsed
        .iter()
        .map(|p| p.result.as_ref().unwrap().event_type)
        .collect();
    assert_eq!(
        types,
        [
            EventType::TraceCreate,
            EventType::GenerationCreate,
            EventType::GenerationUpdate
        ]
    );
    let first = parsed[0].result.as_ref().unwrap();
    assert_eq!(parsed[0].id.as_deref(), Some("0b6e"));
    assert_eq!(first.body_id(), Some("trace-1"));
    assert_eq!(first.body["input"], json!({"q": "?"}));
    assert!(first.timestamp_utc().is_some());
}

#[test]
fn one_bad_event_keeps_its_neighbours() {
    let body = json!({"batch": [
        envelope("span-create", json!({"id": "s1"})),
        {"id": "bad", "timestamp": TS, "type": "span-create", "body": {"id": "s2", "level": "LOUD"}},
        "not an event",
        envelope("event-create", json!({"id": "e1", "traceId": "t"})),
    ]});
    let parsed = parse_ingestion_batch(&serde_json::to_vec(&body).unwrap()).unwrap();
    assert_eq!(parsed.len(), 4);
    assert!(parsed[0].result.is_ok());
    assert_eq!(parsed[1].id.as_deref(), Some("bad"));
    assert_eq!(parsed[1].result.as_ref().unwrap_err().field(), "body.level");
    assert_eq!(parsed[2].id, None);
    assert_eq!(parsed[2].result.as_ref().unwrap_err().field(), "event");
    assert!(parsed[3].result.is_ok());
}

#[test]
fn invalid_events_name_the_bad_field() {
    let long_name = "n".repeat(1001);
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"timestamp": TS, "type": "span-create", "body": {"id": "s"}}),
            "id",
        ),
        (
            json!({"id": "a\rb", "timestamp": TS, "type": "span-create", "body": {"id": "s"}}),
            "id",
        ),
        (
            json!({"id": "e", "timestamp": "now", "type": "span-create", "body": {"id": "s"}}),
            "timestamp",
        ),
        (
            json!({"id": "e", "timestamp": TS, "type": "span-delete", "body": {"id": "s"}}),
            "type",
        ),
        (
            json!({"id": "e", "timestamp": TS, "type": "span-create"}),
            "body",
        ),
        (envelope("span-create", json!("text")), "body"),
        (
            envelope("trace-create", json!({"name": "no id"})),
            "body.id",
        ),
        (envelope("trace-create", json!({"id": ""})), "body.id"),
        (
            envelope("trace-create", json!({"id": "t", "name": long_name})),
            "body.name",
        ),
        (
            envelope("trace-create", json!({"id": "t", "tags": ["a", 1]})),
            "body.tags.1",
        ),
        (
            envelope("trace-create", json!({"id": "t", "tags": "a"})),
            "body.tags",
        ),
        (
            envelope("trace-create", json!({"id": "t", "public": "yes"})),
            "body.public",
        ),
        (
            envelope("trace-create", json!({"id": "t", "userId": 7})),
            "body.userId",
        ),
        (
            envelope("trace-create", json!({"id": "t", "timestamp": "x"})),
            "body.timestamp",
        ),
        (
            envelope(
                "trace-create",
                json!({"id": "t", "environment": "langfuse-x"}),
            ),
            "body.environment",
        ),
        (
            envelope("trace-create", json!({"id": "t", "environment": "Prod"})),
            "body.environment",
        ),
        (
            envelope("span-create", json!({"id": "s", "level": "LOUD"})),
            "body.level",
        ),
        (
            envelope("span-create", json!({"id": "s", "startTime": "x"})),
            "body.startTime",
        ),
        (
            envelope("span-update", json!({"id": "s", "endTime": 5})),
            "body.endTime",
        ),
        (
            envelope("span-create", json!({"id": "s", "traceId": ""})),
            "body.traceId",
        ),
        (
            envelope(
                "generation-create",
                json!({"id": "g", "usageDetails": {"input": -1}}),
            ),
            "body.usageDetails.input",
        ),
        (
            envelope(
                "generation-create",
                json!({"id": "g", "usageDetails": {"input": 1.5}}),
            ),
            "body.usageDetails.input",
        ),
        (
            envelope(
                "generation-create",
                json!({"id": "g", "usageDetails":
            {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4,
             "prompt_tokens_details": {"cached_tokens": "2"}}}),
            ),
            "body.usageDetails.prompt_tokens_details.cached_tokens",
        ),
        (
            envelope("generation-create", json!({"id": "g", "usageDetails": [1]})),
            "body.usageDetails",
        ),
        (
            envelope(
                "generation-update",
                json!({"id": "g", "costDetails": {"total": -0.1}}),
            ),
            "body.costDetails.total",
        ),
        (
            envelope(
                "generation-update",
                json!({"id": "g", "usage": {"input": "3"}}),
            ),
            "body.usage.input",
        ),
        (
            envelope(
                "generation-update",
                json!({"id": "g", "usage": {"unit": "BYTES"}}),
            ),
            "body.usage.unit",
        ),
        (
            envelope(
                "generation-update",
                json!({"id": "g", "usage": {"totalCost": "1"}}),
            ),
            "body.usage.totalCost",
        ),
        (
            envelope(
                "generation-create",
                json!({"id": "g", "modelParameters": {"tools": [{}]}}),
            ),
            "body.modelParameters.tools",
        ),
        (
            envelope(
                "generation-create",
                json!({"id": "g", "modelParameters": {"m": {"a": 1}}}),
            ),
            "body.modelParameters.m",
        ),
        (
            envelope(
                "generation-create",
                json!({"id": "g", "modelParameters": "t=1"}),
            ),
            "body.modelParameters",
        ),
        (
            envelope("generation-create", json!({"id": "g", "promptName": "p"})),
            "body.promptVersion",
        ),
        (
            envelope("generation-create", json!({"id": "g", "promptVersion": 2})),
            "body.promptName",
        ),
        (
            envelope(
                "generation-create",
                json!({"id": "g", "promptName": "p", "promptVersion": 1.5}),
            ),
            "body.promptVersion",
        ),
        (
            envelope(
                "generation-create",
                json!({"id": "g", "completionStartTime": "soon"}),
            ),
            "body.completionStartTime",
        ),
        (
            envelope("observation-create", json!({"id": "o"})),
            "body.type",
        ),
        (
            envelope("observation-update", json!({"id": "o", "type": "BLOB"})),
            "body.type",
        ),
        (
            envelope("score-create", json!({"id": "s", "name": "q", "value": 1})),
            "body.traceId",
        ),
        (
            envelope(
                "score-create",
                json!({"id": "s", "traceId": "t", "value": 1}),
            ),
            "body.name",
        ),
    ];
    for (element, field) in cases {
        let parsed = parse_one(element.clone());
        let error = parsed
            .result
            .expect_err(&format!("{element} should be invalid"));
        assert_eq!(error.field(), field, "{element}: {error}");
        assert_eq!(error.status(), 400);
        assert!(
            error.to_string().starts_with(&format!("{field}: ")),
            "{error}"
        );
    }
}

#[test]
fn valid_event_bodies_are_accepted() {
    let cases: Vec<Value> = vec![
        envelope("sdk-log", json!({"log": {"message": "flush"}})),
        envelope(
            "trace-create",
            json!({"id": "t", "name": null, "tags": [], "public": true,
                                        "metadata": "free text", "environment": "eu-west_1"}),
        ),
        envelope(
            "event-create",
            json!({"id": "e", "traceId": "t", "level": "warning"}),
        ),
        envelope(
            "span-update",
            json!({"id": "s", "endTime": "2026-11-27T01:40:50+01:00"}),
        ),
        envelope(
            "generation-create",
            json!({"id": "g", "usageDetails":
            {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4,
             "prompt_tokens_details": {"cached_tokens": 2, "audio_tokens": null},
             "completion_tokens_details": null}}),
        ),
        envelope(
            "generation-create",
            json!({"id": "g", "usageDetails": {"input": 3, "cache_read": 0},
            "costDetails": {"input": 0.5, "output": null}, "promptName": "p", "promptVersion": 3,
            "modelParameters": {"max_tokens": "Infinity", "stop": ["\n"], "seed": 7,
                                "stream": false, "extra": {"k": "v"}, "none": null}}),
        ),
        envelope(
            "generation-update",
            json!({"id": "g",
            "usage": {"promptTokens": 1, "completionTokens": 2, "totalTokens": 3, "unit": "tokens"}}),
        ),
        envelope(
            "observation-create",
            json!({"id": "o", "type": "GENERATION", "model": "m"}),
        ),
        envelope("observation-update", json!({"id": "o", "type": "span"})),
        envelope(
            "score-create",
            json!({"name": "q", "value": "good", "traceId": "t"}),
        ),
        // Unknown keys are ignored, as Langfuse strips them.
        envelope("span-create", json!({"id": "s", "somethingNew": {"x": 1}})),
    ];
    for element in cases {
        let parsed = parse_one(element.clone());
        assert!(parsed.result.is_ok(), "{element}: {:?}", parsed.result);
    }
}

#[test]
fn event_types_round_trip_through_their_names() {
    for event_type in EventType::ALL {
        assert_eq!(EventType::parse(event_type.as_str()), Some(event_type));
    }
    assert_eq!(EventType::parse("TRACE-CREATE"), None);
    assert!(EventType::GenerationUpdate.is_update());
    assert!(!EventType::GenerationCreate.is_update());
    assert!(EventType::EventCreate.is_observation());
    assert!(!EventType::ScoreCreate.is_observation());
}

#[test]
fn events_build_from_parts_like_the_native_ingest_sends_them() {
    let event =
        event_from_parts("e1", "span-create", TS, br#"{"id":"s1","traceId":"t1"}"#).unwrap();
    assert_eq!(event.event_type, EventType::SpanCreate);
    assert_eq!(event.body_id(), Some("s1"));
    let cases: [(&str, &str, &[u8], &str); 4] = [
        ("span-create", TS, b"{", "body"),
        ("span-create", TS, b"[]", "body"),
        ("blob-create", TS, b"{}", "type"),
        ("span-create", "never", br#"{"id":"s"}"#, "timestamp"),
    ];
    for (event_type, timestamp, body, field) in cases {
        let error = event_from_parts("e1", event_type, timestamp, body).unwrap_err();
        assert_eq!(error.field(), field, "{error}");
    }
}

#[test]
fn a_score_event_without_body_id_takes_the_envelope_id() {
    let element = json!({"id": "env-7", "timestamp": TS, "type": "score-create",
                         "body": {"name": "q", "traceId": "t", "value": 1}});
    let event = parse_one(element).result.unwrap();
    assert_eq!(parse_score_event(&event).unwrap().id, "env-7");
    let with_id = IngestionEvent {
        body: json!({"id": "s9", "name": "q", "traceId": "t", "value": 1}),
        ..event
    };
    assert_eq!(parse_score_event(&with_id).unwrap().id, "s9");
    let trace = IngestionEvent {
        event_type: EventType::TraceCreate,
        ..with_id
    };
    assert_eq!(parse_score_event(&trace).unwrap_err().field(), "type");
}
