use periscope_core::langfuse::{event_from_parts, parse_score};
use serde_json::json;

use super::*;

fn event(event_type: &str, body: serde_json::Value) -> IngestionEvent {
    event_from_parts(
        "env-1",
        event_type,
        "2026-01-01T00:00:00Z",
        body.to_string().as_bytes(),
    )
    .unwrap()
}

#[test]
fn legacy_events_are_keyed_by_their_trace_then_session_then_entity() {
    let cases = [
        (event("trace-create", json!({"id": "t1"})), "t1"),
        (
            event("span-update", json!({"id": "s1", "traceId": "t2"})),
            "t2",
        ),
        (event("generation-create", json!({"id": "g1"})), "g1"),
        (
            event(
                "score-create",
                json!({"traceId": "t3", "name": "n", "value": 1}),
            ),
            "t3",
        ),
        (
            event(
                "score-create",
                json!({"sessionId": "s9", "name": "n", "value": 1}),
            ),
            "s9",
        ),
        (
            event(
                "score-create",
                json!({"datasetRunId": "r1", "name": "n", "value": 1}),
            ),
            "r1",
        ),
    ];
    for (event, subject) in cases {
        assert_eq!(event_subject(&event), subject, "{:?}", event.event_type);
    }
}

#[test]
fn scope_and_sdk_log_decide_what_is_stored() {
    let caller = Caller {
        project_id: "p".to_owned(),
        scope: AuthScope::ScoresOnly,
    };
    let events = vec![
        ParsedEvent {
            id: Some("1".into()),
            result: Ok(event("trace-create", json!({"id": "t"}))),
        },
        ParsedEvent {
            id: Some("2".into()),
            result: Ok(event("sdk-log", json!({"log": 1}))),
        },
        ParsedEvent {
            id: Some("3".into()),
            result: Ok(event(
                "score-create",
                json!({"traceId": "t", "name": "n", "value": 1}),
            )),
        },
    ];
    let batch = build_batch(events, &caller);
    assert_eq!(batch.records.len(), 1);
    assert!(
        matches!(&batch.outcomes[0].1, EventOutcome::Rejected { status: 401, message, .. }
        if message == ACCESS_SCOPE_DENIED)
    );
    assert_eq!(batch.outcomes[1].1, EventOutcome::NotStored);
    assert_eq!(batch.outcomes[2].1, EventOutcome::Accepted);
    assert_eq!(&batch.records[0].key[..], b"p/t");
}

#[test]
fn score_records_carry_the_parsed_score_and_its_subject_key() {
    let score =
        parse_score(&json!({"id": "sc", "sessionId": "sess", "name": "q", "value": "good"}))
            .unwrap();
    let record = score_record(&score, "p");
    assert_eq!(&record.key[..], b"p/sess");
    let event = pv1::Event::decode(record.value).unwrap();
    let Some(pv1::event::Body::ScoreJson(json)) = event.body else {
        panic!("not a score")
    };
    let stored: ScoreBody = serde_json::from_slice(&json).unwrap();
    assert_eq!(stored, score);
}
