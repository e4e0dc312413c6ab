//! Table-driven tests of the legacy event and score mapping.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use periscope_core::langfuse::{EventType, IngestionEvent, event_from_parts, parse_score};
use periscope_core::model::{
    Level, ObservationRecord, ObservationType, Record, ScoreDataType, ScoreSource, TraceRecord,
};
use serde_json::{Value, json};

use super::*;

const PROJECT: &str = "p1";

fn at(second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 1, 40, second)
        .single()
        .unwrap()
}

fn iso(second: u32) -> String {
    at(second).to_rfc3339()
}

fn received() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 0)
        .single()
        .unwrap()
}

/// Builds a validated event, as the processor does from the log.
fn event(event_type: &str, second: u32, body: Value) -> IngestionEvent {
    let body_json = serde_json::to_vec(&body).unwrap();
    event_from_parts(
        &format!("evt-{event_type}-{second}"),
        event_type,
        &iso(second),
        &body_json,
    )
    .unwrap_or_else(|error| panic!("{event_type} {body}: {error}"))
}

fn map(event: &IngestionEvent) -> Vec<Record> {
    map_ingestion_event(PROJECT, event, received()).unwrap()
}

fn observation_of(records: &[Record]) -> ObservationRecord {
    match records.last() {
        Some(Record::Observation(observation)) => observation.clone(),
        other => panic!("expected an observation, got {other:?}"),
    }
}

fn kind(record: &Record) -> &'static str {
    match record {
        Record::Trace(_) => "trace",
        Record::Observation(_) => "observation",
        Record::Score(_) => "score",
    }
}

#[test]
fn every_event_type_maps_to_its_records() {
    let observation_body = json!({"id": "o1", "traceId": "t1", "type": "EVENT"});
    let cases: Vec<(&str, Value, Vec<&str>, Option<ObservationType>)> = vec![
        ("trace-create", json!({"id": "t1"}), vec!["trace"], None),
        (
            "span-create",
            observation_body.clone(),
            vec!["trace", "observation"],
            Some(ObservationType::Span),
        ),
        (
            "span-update",
            observation_body.clone(),
            vec!["trace", "observation"],
            Some(ObservationType::Span),
        ),
        (
            "generation-create",
            observation_body.clone(),
            vec!["trace", "observation"],
            Some(ObservationType::Generation),
        ),
        (
            "generation-update",
            observation_body.clone(),
            vec!["trace", "observation"],
            Some(ObservationType::Generation),
        ),
        (
            "event-create",
            observation_body.clone(),
            vec!["trace", "observation"],
            Some(ObservationType::Event),
        ),
        (
            "observation-create",
            observation_body.clone(),
            vec!["trace", "observation"],
            Some(ObservationType::Event),
        ),
        (
            "observation-update",
            json!({"id": "o1", "traceId": "t1", "type": "generation"}),
            vec!["trace", "observation"],
            Some(ObservationType::Generation),
        ),
        (
            "span-create",
            json!({"id": "o1"}),
            vec!["observation"],
            Some(ObservationType::Span),
        ),
        (
            "score-create",
            json!({"id": "s1", "name": "q", "value": 1, "traceId": "t1"}),
            vec!["score"],
            None,
        ),
        ("sdk-log", json!({"log": "hello"}), vec![], None),
    ];
    for (event_type, body, kinds, observation_type) in cases {
        let records = map(&event(event_type, 1, body.clone()));
        let got: Vec<&str> = records.iter().map(kind).collect();
        assert_eq!(got, kinds, "{event_type} {body}");
        for record in &records {
            assert_eq!(record.project_id(), PROJECT);
            match record {
                Record::Trace(trace) => assert_eq!(trace.event_time, at(1)),
                Record::Observation(o) => {
                    assert_eq!(o.observation_type, observation_type, "{event_type}");
                    assert_eq!(o.event_time, at(1));
                }
                Record::Score(score) => assert_eq!(score.event_time, at(1)),
            }
        }
    }
}

#[test]
fn a_trace_create_maps_every_trace_field() {
    let body = json!({"id": "t1", "timestamp": iso(0), "name": "answer-question", "userId": "u7",
        "sessionId": "s42", "release": "r1", "version": "v2", "environment": "staging",
        "input": {"q": "?"}, "output": "42", "metadata": {"region": "eu", "n": 2},
        "tags": ["b", "a", "b"], "public": true, "externalId": "ignored"});
    let records = map(&event("trace-create", 5, body));
    let expected = TraceRecord {
        project_id: PROJECT.into(),
        id: "t1".into(),
        timestamp: Some(at(0)),
        name: Some("answer-question".into()),
        user_id: Some("u7".into()),
        session_id: Some("s42".into()),
        release: Some("r1".into()),
        version: Some("v2".into()),
        environment: Some("staging".into()),
        input: Some(json!({"q": "?"})),
        output: Some(json!("42")),
        metadata: BTreeMap::from([("n".into(), json!(2)), ("region".into(), json!("eu"))]),
        tags: vec!["a".into(), "b".into()],
        public: Some(true),
        event_time: at(5),
    };
    assert_eq!(records, vec![Record::Trace(expected)]);

    // Without a timestamp the trace starts at its event; null fields are not given.
    let records = map(&event(
        "trace-create",
        7,
        json!({"id": "t1", "name": null, "metadata": [1]}),
    ));
    let Record::Trace(trace) = &records[0] else {
        panic!("{records:?}")
    };
    assert_eq!(trace.timestamp, Some(at(7)));
    assert_eq!(trace.name, None);
    assert_eq!(
        trace.metadata,
        BTreeMap::from([("metadata".into(), json!([1]))])
    );
}

#[test]
fn a_generation_maps_model_prompt_and_cost_fields() {
    let body = json!({"id": "g1", "traceId": "t1", "parentObservationId": "s1", "name": "llm",
        "startTime": iso(1), "endTime": iso(3), "completionStartTime": iso(2), "model": "gpt-4o",
        "modelParameters": {"temperature": 0.2, "max_tokens": "Infinity"}, "input": [{"role": "user"}],
        "output": {"content": "hi"}, "metadata": "note", "level": "warning", "statusMessage": "slow",
        "version": "v1", "environment": "prod", "promptName": "qa", "promptVersion": 3,
        "usageDetails": {"input": 10, "output": 5}, "costDetails": {"input": 0.01, "output": 0.02}});
    let records = map(&event("generation-create", 4, body));
    let Record::Trace(side) = &records[0] else {
        panic!("{records:?}")
    };
    assert_eq!(side.id, "t1");
    assert_eq!(side.environment.as_deref(), Some("prod"));
    assert_eq!(side.name, None);
    let o = observation_of(&records);
    assert_eq!(o.id, "g1");
    assert_eq!(o.trace_id, "t1");
    assert_eq!(o.parent_observation_id.as_deref(), Some("s1"));
    assert_eq!(o.name.as_deref(), Some("llm"));
    assert_eq!(
        (o.start_time, o.end_time, o.completion_start_time),
        (Some(at(1)), Some(at(3)), Some(at(2)))
    );
    assert_eq!(o.model.as_deref(), Some("gpt-4o"));
    assert_eq!(
        o.model_parameters,
        Some(json!({"temperature": 0.2, "max_tokens": "Infinity"}))
    );
    assert_eq!(o.input, Some(json!([{"role": "user"}])));
    assert_eq!(o.output, Some(json!({"content": "hi"})));
    assert_eq!(
        o.metadata,
        BTreeMap::from([("metadata".into(), json!("note"))])
    );
    assert_eq!(o.level, Some(Level::Warning));
    assert_eq!(o.status_message.as_deref(), Some("slow"));
    assert_eq!(o.version.as_deref(), Some("v1"));
    assert_eq!(o.environment.as_deref(), Some("prod"));
    assert_eq!(
        (o.prompt_name.as_deref(), o.prompt_version),
        (Some("qa"), Some(3))
    );
    assert_eq!(
        o.usage_details,
        usage(&[("input", 10), ("output", 5), ("total", 15)])
    );
    assert_eq!(
        o.cost_details,
        BTreeMap::from([("input".into(), 0.01), ("output".into(), 0.02)])
    );
    assert!(
        o.calculated_cost_details.is_empty(),
        "derived fields are left to the merge"
    );
}

fn usage(entries: &[(&str, i64)]) -> BTreeMap<String, i64> {
    entries
        .iter()
        .map(|(key, count)| (key.to_string(), *count))
        .collect()
}

#[test]
fn usage_comes_from_usage_details_else_the_legacy_usage_object() {
    let cases: Vec<(Value, BTreeMap<String, i64>)> = vec![
        (
            json!({"usageDetails": {"input": 10, "output": 5}}),
            usage(&[("input", 10), ("output", 5), ("total", 15)]),
        ),
        (
            json!({"usageDetails": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
                                 "prompt_tokens_details": {"cached_tokens": 30}}}),
            usage(&[
                ("input", 70),
                ("input_cached_tokens", 30),
                ("output", 20),
                ("total", 120),
            ]),
        ),
        (
            json!({"usage": {"input": 120, "output": 45, "total": 165, "unit": "TOKENS",
                          "inputCost": 0.1}}),
            usage(&[("input", 120), ("output", 45), ("total", 165)]),
        ),
        (
            json!({"usage": {"promptTokens": 1, "completionTokens": 2, "totalTokens": 3}}),
            usage(&[("input", 1), ("output", 2), ("total", 3)]),
        ),
        (
            json!({"usageDetails": {}, "usage": {"input": 4}}),
            usage(&[("input", 4), ("total", 4)]),
        ),
        (
            json!({"usageDetails": {"input": 7}, "usage": {"input": 4}}),
            usage(&[("input", 7), ("total", 7)]),
        ),
        (json!({}), usage(&[])),
    ];
    for (partial, expected) in cases {
        let mut body = json!({"id": "g1"});
        body.as_object_mut()
            .unwrap()
            .extend(partial.as_object().unwrap().clone());
        let o = observation_of(&map(&event("generation-update", 1, body.clone())));
        assert_eq!(o.usage_details, expected, "{body}");
    }
}

#[test]
fn costs_come_from_cost_details_else_the_legacy_usage_costs() {
    let cases: Vec<(Value, BTreeMap<String, f64>)> = vec![
        (
            json!({"usage": {"input": 1, "inputCost": 0.1, "outputCost": 0.2, "totalCost": 0.3}}),
            BTreeMap::from([
                ("input".into(), 0.1),
                ("output".into(), 0.2),
                ("total".into(), 0.3),
            ]),
        ),
        (
            json!({"usage": {"totalCost": 0.3}, "costDetails": {"total": 0.5, "input": null}}),
            BTreeMap::from([("total".into(), 0.5)]),
        ),
        (
            json!({"usage": {"totalCost": 0.3}, "costDetails": {}}),
            BTreeMap::from([("total".into(), 0.3)]),
        ),
        (json!({"usage": {"input": 1}}), BTreeMap::new()),
    ];
    for (partial, expected) in cases {
        for event_type in ["generation-create", "observation-update"] {
            let mut body = json!({"id": "g1", "type": "GENERATION"});
            body.as_object_mut()
                .unwrap()
                .extend(partial.as_object().unwrap().clone());
            let o = observation_of(&map(&event(event_type, 1, body.clone())));
            assert_eq!(o.cost_details, expected, "{event_type} {body}");
        }
    }
}

#[test]
fn event_types_only_take_the_fields_their_schema_has() {
    let body = json!({"id": "o1", "startTime": iso(1), "endTime": iso(2), "model": "m",
        "promptName": "p", "promptVersion": 1, "usage": {"totalCost": 1.0}});
    let span = observation_of(&map(&event("span-create", 3, body.clone())));
    assert_eq!((span.end_time, span.model.clone()), (Some(at(2)), None));
    assert!(span.cost_details.is_empty());
    let event_record = observation_of(&map(&event("event-create", 3, body.clone())));
    assert_eq!(event_record.end_time, None, "events have no end");
    let mut legacy_body = body.clone();
    legacy_body["type"] = json!("GENERATION");
    let legacy = observation_of(&map(&event("observation-create", 3, legacy_body)));
    assert_eq!(legacy.model.as_deref(), Some("m"));
    assert_eq!(
        legacy.prompt_name, None,
        "observation-create carries no prompt link"
    );
    let generation = observation_of(&map(&event("generation-create", 3, body)));
    assert_eq!(generation.prompt_name.as_deref(), Some("p"));
}

#[test]
fn creates_default_their_start_and_updates_do_not() {
    let created = observation_of(&map(&event("span-create", 4, json!({"id": "s1"}))));
    assert_eq!(created.start_time, Some(at(4)));
    let updated = observation_of(&map(&event("span-update", 4, json!({"id": "s1"}))));
    assert_eq!(updated.start_time, None);
}

#[test]
fn an_unparsable_envelope_timestamp_falls_back_to_received_at() {
    let mut span = event("span-create", 1, json!({"id": "s1", "startTime": iso(1)}));
    span.timestamp = "garbage".into();
    assert_eq!(observation_of(&map(&span)).event_time, received());
}

#[test]
fn updates_before_creates_merge_to_the_same_observation() {
    let pairs = [
        (
            "span-create",
            json!({"id": "s1", "traceId": "t1", "name": "retrieve", "startTime": iso(1),
            "input": "q", "metadata": {"a": 1}, "environment": "prod"}),
            "span-update",
            json!({"id": "s1", "traceId": "t1", "endTime": iso(5), "output": "docs",
            "metadata": {"b": 2}, "level": "ERROR", "name": "retrieve-v2"}),
        ),
        (
            "generation-create",
            json!({"id": "g1", "traceId": "t1", "name": "llm", "startTime": iso(1),
            "model": "gpt-4o", "modelParameters": {"temperature": 0}, "costDetails": {"input": 1.0}}),
            "generation-update",
            json!({"id": "g1", "endTime": iso(6), "output": {"a": "b"},
            "usageDetails": {"input": 3, "output": 4}, "costDetails": {"output": 2.0},
            "model": "gpt-4o-2024"}),
        ),
        (
            "observation-create",
            json!({"id": "o1", "type": "SPAN", "traceId": "t2", "startTime": iso(1)}),
            "observation-update",
            json!({"id": "o1", "type": "SPAN", "endTime": iso(2), "version": "2"}),
        ),
    ];
    for (create_type, create_body, update_type, update_body) in pairs {
        let create = map(&event(create_type, 2, create_body));
        let update = map(&event(update_type, 8, update_body));
        let (create, update) = (observation_of(&create), observation_of(&update));
        let mut create_first = create.clone();
        create_first.merge(update.clone());
        let mut update_first = update.clone();
        update_first.merge(create.clone());
        assert_eq!(create_first, update_first, "{create_type} / {update_type}");
        assert_eq!(create_first.start_time, Some(at(1)));
        assert!(create_first.end_time.is_some());
        assert_eq!(create_first.event_time, at(8));
        assert!(
            !create_first.trace_id.is_empty(),
            "the trace id comes from whichever names it"
        );
    }
}

#[test]
fn the_later_update_wins_conflicting_fields() {
    let create = observation_of(&map(&event(
        "span-create",
        2,
        json!({"id": "s1", "traceId": "t1", "name": "old", "metadata": {"k": "old", "c": 1}}),
    )));
    let update = observation_of(&map(&event(
        "span-update",
        8,
        json!({"id": "s1", "name": "new", "metadata": {"k": "new"}}),
    )));
    let mut merged = update.clone();
    merged.merge(create);
    assert_eq!(merged.name.as_deref(), Some("new"));
    assert_eq!(merged.trace_id, "t1");
    assert_eq!(
        merged.metadata,
        BTreeMap::from([("c".into(), json!(1)), ("k".into(), json!("new"))])
    );
}

#[test]
fn scores_map_by_data_type() {
    let cases: Vec<(Value, ScoreDataType, f64, Option<&str>)> = vec![
        (
            json!({"value": 0.95, "dataType": "NUMERIC"}),
            ScoreDataType::Numeric,
            0.95,
            None,
        ),
        (json!({"value": 7}), ScoreDataType::Numeric, 7.0, None),
        (
            json!({"value": 1.0, "dataType": "BOOLEAN"}),
            ScoreDataType::Boolean,
            1.0,
            Some("True"),
        ),
        (
            json!({"value": 0, "dataType": "BOOLEAN"}),
            ScoreDataType::Boolean,
            0.0,
            Some("False"),
        ),
        (
            json!({"value": true}),
            ScoreDataType::Boolean,
            1.0,
            Some("True"),
        ),
        (
            json!({"value": "good"}),
            ScoreDataType::Categorical,
            0.0,
            Some("good"),
        ),
        (
            json!({"value": "bad", "dataType": "CATEGORICAL"}),
            ScoreDataType::Categorical,
            0.0,
            Some("bad"),
        ),
    ];
    for (partial, data_type, value, string_value) in cases {
        let mut raw = json!({"id": "s1", "name": "q", "traceId": "t1"});
        raw.as_object_mut()
            .unwrap()
            .extend(partial.as_object().unwrap().clone());
        let record = map_score(PROJECT, &parse_score(&raw).unwrap(), received());
        assert_eq!(record.data_type, data_type, "{raw}");
        assert_eq!(record.value, value, "{raw}");
        assert_eq!(record.string_value.as_deref(), string_value, "{raw}");
        assert_eq!(record.environment, "default");
        assert_eq!(record.source, ScoreSource::Api);
        assert_eq!(
            (record.timestamp, record.event_time),
            (received(), received())
        );
    }
}

#[test]
fn score_fields_carry_over() {
    let raw = json!({"id": "feedback-42", "sessionId": "sess-1", "name": "user_feedback",
        "value": 1, "dataType": "BOOLEAN", "comment": "thumbs up", "environment": "staging",
        "timestamp": iso(3), "metadata": {"source": "ui"}, "configId": "c1", "queueId": "q1",
        "source": "EVAL"});
    let record = map_score(PROJECT, &parse_score(&raw).unwrap(), received());
    assert_eq!(record.id, "feedback-42");
    assert_eq!(
        (record.trace_id.as_deref(), record.session_id.as_deref()),
        (None, Some("sess-1"))
    );
    assert_eq!(record.comment.as_deref(), Some("thumbs up"));
    assert_eq!(record.environment, "staging");
    assert_eq!(record.timestamp, at(3));
    assert_eq!(record.metadata, Some(json!({"source": "ui"})));
    assert_eq!(
        (record.config_id.as_deref(), record.queue_id.as_deref()),
        (Some("c1"), Some("q1"))
    );
    assert_eq!(record.source, ScoreSource::Eval);

    // In a batch, a score without timestamp or id takes its envelope's.
    let score_event = event(
        "score-create",
        9,
        json!({"name": "q", "traceId": "t1", "value": "ok"}),
    );
    let Record::Score(score) = &map(&score_event)[0] else {
        panic!()
    };
    assert_eq!(
        (score.id.as_str(), score.timestamp),
        ("evt-score-create-9", at(9))
    );
}

#[test]
fn events_missing_what_the_mapping_needs_fail_with_the_event_named() {
    let unvalidated = IngestionEvent {
        id: "e1".into(),
        timestamp: iso(1),
        event_type: EventType::SpanCreate,
        body: json!({"name": "no id"}),
    };
    let error = map_ingestion_event(PROJECT, &unvalidated, received()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid span-create event e1: body.id: is required"
    );
    let bad_type = IngestionEvent {
        event_type: EventType::ObservationCreate,
        body: json!({"id": "o1", "type": "BLOB"}),
        ..unvalidated
    };
    assert!(map_ingestion_event(PROJECT, &bad_type, received()).is_err());
}
