//! The write path: round trips, idempotency, order independence, atomicity.

use chrono::Duration;
use periscope_core::model::{
    CostSource, Level, ObservationRecord, ObservationType, PriceSnapshot, Record, ScoreDataType,
    ScoreRecord, ScoreSource, TraceRecord,
};
use periscope_core::store::{PageRequest, TraceFilter, TraceStore, WriteSummary};
use serde_json::json;

use crate::common::{at, dump, execute_raw, generation, observation, open_store, score, trace};

fn full_trace() -> TraceRecord {
    TraceRecord {
        project_id: "p".into(),
        id: "t1".into(),
        timestamp: Some(at(10)),
        name: Some("chat".into()),
        user_id: Some("user-1".into()),
        session_id: Some("session-1".into()),
        release: Some("1.2.3".into()),
        version: Some("v7".into()),
        environment: Some("production".into()),
        input: Some(json!({"question": "why?"})),
        output: Some(json!("because")),
        metadata: [
            ("region".to_string(), json!("eu")),
            ("n".to_string(), json!(3)),
        ]
        .into(),
        tags: vec!["alpha".into(), "beta".into()],
        public: Some(true),
        event_time: at(11),
    }
}

fn full_observation() -> ObservationRecord {
    ObservationRecord {
        project_id: "p".into(),
        id: "o1".into(),
        trace_id: "t1".into(),
        parent_observation_id: Some("o0".into()),
        observation_type: Some(ObservationType::Generation),
        name: Some("llm".into()),
        start_time: Some(at(10) + Duration::microseconds(123_456)),
        end_time: Some(at(13)),
        completion_start_time: Some(at(11)),
        model: Some("gpt-4o".into()),
        model_parameters: Some(json!({"temperature": 0.1})),
        input: Some(json!([{"role": "user", "content": "hi"}])),
        output: Some(json!({"role": "assistant", "content": "hello"})),
        metadata: [("k".to_string(), json!({"nested": [1, 2]}))].into(),
        level: Some(Level::Warning),
        status_message: Some("slow".into()),
        version: Some("v7".into()),
        environment: Some("production".into()),
        usage_details: [("input".to_string(), 1000), ("output".to_string(), 100)].into(),
        cost_details: Default::default(),
        prompt_name: Some("greeting".into()),
        prompt_version: Some(4),
        price: Some(PriceSnapshot {
            model_id: "m-1".into(),
            model_name: "gpt-4o".into(),
            prices: [("input".to_string(), 0.001), ("output".to_string(), 0.002)].into(),
        }),
        usage_estimated: false,
        calculated_cost_details: Default::default(),
        cost_source: None,
        event_time: at(13),
    }
}

fn full_score() -> ScoreRecord {
    ScoreRecord {
        project_id: "p".into(),
        id: "s1".into(),
        trace_id: Some("t1".into()),
        observation_id: Some("o1".into()),
        session_id: None,
        dataset_run_id: None,
        name: "quality".into(),
        value: 0.0,
        string_value: Some("good".into()),
        data_type: ScoreDataType::Categorical,
        source: ScoreSource::Annotation,
        comment: Some("looks right".into()),
        metadata: Some(json!({"widget": 2})),
        config_id: Some("config-1".into()),
        queue_id: Some("queue-1".into()),
        author_user_id: Some("author".into()),
        environment: "production".into(),
        timestamp: at(20),
        event_time: at(20),
    }
}

#[tokio::test]
async fn every_field_reads_back_as_written() {
    let test = open_store().await;
    let summary = test
        .store
        .write(vec![
            Record::Trace(full_trace()),
            Record::Observation(full_observation()),
            Record::Score(full_score()),
        ])
        .await
        .unwrap();
    assert_eq!(
        summary,
        WriteSummary {
            traces: 1,
            observations: 1,
            scores: 1
        }
    );

    let mut expected_observation = full_observation();
    expected_observation.finalize_costs();
    assert_eq!(
        expected_observation.cost_source,
        Some(CostSource::Calculated)
    );

    let trace = test.store.get_trace("p", "t1").await.unwrap().unwrap();
    assert_eq!(trace.record, full_trace());
    assert_eq!(trace.created_at, at(11));
    assert_eq!(trace.updated_at, at(11));
    assert_eq!(trace.observations, vec![expected_observation.clone()]);
    assert_eq!(trace.scores, vec![full_score()]);
    assert!(
        (trace.total_cost - 1.2).abs() < 1e-9,
        "total cost {}",
        trace.total_cost
    );
    let latency = trace.latency_seconds.unwrap();
    assert!((latency - 2.876_544).abs() < 1e-9, "latency {latency}");
    assert!(trace.observation_ids.is_empty() && trace.score_ids.is_empty());

    let stored = test.store.get_observation("p", "o1").await.unwrap();
    assert_eq!(stored, Some(expected_observation));
    assert_eq!(
        test.store.get_score("p", "s1").await.unwrap(),
        Some(full_score())
    );
}

#[tokio::test]
async fn writing_the_same_batch_twice_leaves_identical_rows() {
    let test = open_store().await;
    let mut update = full_trace();
    update.tags = vec!["gamma".into()];
    update.event_time = at(30);
    let batch = vec![
        Record::Trace(full_trace()),
        Record::Trace(update),
        Record::Observation(full_observation()),
        Record::Observation(generation("p", "o2", "t1", at(12), "claude")),
        Record::Observation(observation("p", "o3", "t-without-row", at(5))),
        Record::Score(full_score()),
    ];
    test.store.write(batch.clone()).await.unwrap();
    let first = dump(&test.path).await;
    assert_eq!(
        first
            .iter()
            .filter(|line| line.starts_with("observations:"))
            .count(),
        3
    );
    assert_eq!(
        first
            .iter()
            .filter(|line| line.starts_with("trace_tags:"))
            .count(),
        3
    );

    let summary = test.store.write(batch).await.unwrap();
    assert_eq!(
        summary,
        WriteSummary {
            traces: 2,
            observations: 3,
            scores: 1
        }
    );
    assert_eq!(dump(&test.path).await, first);
}

/// Records of one trace, as they may arrive: updates before creates, children before parents.
fn scattered_records() -> Vec<Record> {
    let trace_create = TraceRecord {
        name: Some("first".into()),
        ..trace("p", "t", at(0))
    };
    let trace_update = TraceRecord {
        timestamp: None,
        name: Some("renamed".into()),
        output: Some(json!("done")),
        tags: vec!["b".into()],
        event_time: at(9),
        ..trace("p", "t", at(0))
    };
    let parent = ObservationRecord {
        name: Some("root".into()),
        ..observation("p", "root", "t", at(1))
    };
    let child = ObservationRecord {
        parent_observation_id: Some("root".into()),
        ..generation("p", "child", "t", at(2), "gpt-4o")
    };
    let child_update = ObservationRecord {
        project_id: "p".into(),
        id: "child".into(),
        trace_id: "t".into(),
        end_time: Some(at(7)),
        output: Some(json!("answer")),
        level: Some(Level::Error),
        event_time: at(7),
        ..ObservationRecord::default()
    };
    let old_score = ScoreRecord {
        value: 0.1,
        ..score("p", "sc", Some("t"), at(3))
    };
    let new_score = ScoreRecord {
        value: 0.7,
        ..score("p", "sc", Some("t"), at(4))
    };
    vec![
        Record::Trace(trace_create),
        Record::Trace(trace_update),
        Record::Observation(parent),
        Record::Observation(child),
        Record::Observation(child_update),
        Record::Score(old_score),
        Record::Score(new_score),
    ]
}

#[tokio::test]
async fn partial_records_merge_to_the_same_result_in_any_order() {
    let in_order = open_store().await;
    for record in scattered_records() {
        in_order.store.write(vec![record]).await.unwrap();
    }
    let reversed = open_store().await;
    for record in scattered_records().into_iter().rev() {
        reversed.store.write(vec![record]).await.unwrap();
    }
    let one_batch = open_store().await;
    one_batch
        .store
        .write(scattered_records().into_iter().rev().collect())
        .await
        .unwrap();

    let expected = in_order.store.get_trace("p", "t").await.unwrap().unwrap();
    assert_eq!(expected.record.name.as_deref(), Some("renamed"));
    assert_eq!(expected.record.timestamp, Some(at(0)));
    assert_eq!(expected.record.tags, vec!["b".to_string()]);
    assert_eq!(expected.created_at, at(0));
    assert_eq!(expected.updated_at, at(9));
    let child = expected
        .observations
        .iter()
        .find(|o| o.id == "child")
        .unwrap();
    assert_eq!(child.end_time, Some(at(7)));
    assert_eq!(child.level, Some(Level::Error));
    assert_eq!(child.cost_source, Some(CostSource::Calculated));
    assert_eq!(expected.scores.len(), 1);
    assert_eq!(expected.scores[0].value, 0.7);
    assert_eq!(expected.latency_seconds, Some(6.0));

    for other in [&reversed, &one_batch] {
        assert_eq!(
            other.store.get_trace("p", "t").await.unwrap().unwrap(),
            expected
        );
    }
}

#[tokio::test]
async fn a_failing_batch_writes_nothing() {
    let test = open_store().await;
    test.store
        .write(vec![Record::Trace(trace("p", "kept", at(0)))])
        .await
        .unwrap();
    execute_raw(
        &test.path,
        "CREATE TRIGGER reject_boom BEFORE INSERT ON scores WHEN NEW.id = 'boom' \
         BEGIN SELECT RAISE(ABORT, 'rejected'); END",
    )
    .await;
    let before = dump(&test.path).await;
    let renamed = TraceRecord {
        name: Some("renamed".into()),
        event_time: at(5),
        ..trace("p", "kept", at(0))
    };
    let result = test
        .store
        .write(vec![
            Record::Trace(renamed),
            Record::Trace(trace("p", "new", at(1))),
            Record::Observation(observation("p", "o", "new", at(1))),
            Record::Score(score("p", "boom", Some("new"), at(1))),
        ])
        .await;
    assert!(result.is_err());
    assert_eq!(dump(&test.path).await, before);
    assert_eq!(test.store.get_trace("p", "new").await.unwrap(), None);
}

#[tokio::test]
async fn a_trace_without_timestamp_takes_the_earliest_observation_start() {
    let test = open_store().await;
    let untimed = TraceRecord {
        timestamp: None,
        ..trace("p", "t", at(50))
    };
    test.store
        .write(vec![Record::Trace(untimed.clone())])
        .await
        .unwrap();
    test.store
        .write(vec![
            Record::Observation(observation("p", "late", "t", at(10))),
            Record::Observation(observation("p", "early", "t", at(5))),
        ])
        .await
        .unwrap();
    let timestamp = |page: periscope_core::model::Page<periscope_core::model::Trace>| {
        page.items[0].record.timestamp
    };
    let all = TraceFilter::default();
    let list = test
        .store
        .list_traces("p", &all, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(timestamp(list), Some(at(5)));

    // An observation written with the trace record again, then one without it.
    test.store
        .write(vec![
            Record::Trace(untimed),
            Record::Observation(observation("p", "x", "t", at(3))),
        ])
        .await
        .unwrap();
    test.store
        .write(vec![Record::Observation(observation("p", "y", "t", at(2)))])
        .await
        .unwrap();
    let list = test
        .store
        .list_traces("p", &all, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(timestamp(list), Some(at(2)));
    let trace = test.store.get_trace("p", "t").await.unwrap().unwrap();
    assert_eq!(trace.record.timestamp, Some(at(2)));

    // A timestamp of its own wins over the derived one.
    test.store
        .write(vec![Record::Trace(trace_at("t", 40))])
        .await
        .unwrap();
    let list = test
        .store
        .list_traces("p", &all, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(timestamp(list), Some(at(40)));
}

fn trace_at(id: &str, second: i64) -> TraceRecord {
    TraceRecord {
        event_time: at(60),
        ..trace("p", id, at(second))
    }
}

#[tokio::test]
async fn observations_without_a_trace_record_still_read_as_a_trace() {
    let test = open_store().await;
    let first = ObservationRecord {
        environment: Some("staging".into()),
        end_time: Some(at(9)),
        ..observation("p", "a", "orphan", at(4))
    };
    test.store
        .write(vec![
            Record::Observation(first),
            Record::Observation(observation("p", "b", "orphan", at(6))),
        ])
        .await
        .unwrap();
    let trace = test.store.get_trace("p", "orphan").await.unwrap().unwrap();
    assert_eq!(trace.record.timestamp, Some(at(4)));
    assert_eq!(trace.record.environment.as_deref(), Some("staging"));
    assert_eq!(trace.created_at, at(4));
    assert_eq!(trace.updated_at, at(6));
    assert_eq!(trace.latency_seconds, Some(5.0));
    let ids: Vec<&str> = trace.observations.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(test.store.get_trace("p", "nothing").await.unwrap(), None);
}

#[tokio::test]
async fn an_older_score_never_replaces_a_newer_one() {
    let test = open_store().await;
    let newer = ScoreRecord {
        value: 2.0,
        ..score("p", "s", Some("t"), at(10))
    };
    let older = ScoreRecord {
        value: 1.0,
        comment: Some("old".into()),
        ..score("p", "s", Some("t"), at(5))
    };
    test.store
        .write(vec![Record::Score(newer.clone())])
        .await
        .unwrap();
    test.store
        .write(vec![Record::Score(older.clone())])
        .await
        .unwrap();
    assert_eq!(
        test.store.get_score("p", "s").await.unwrap(),
        Some(newer.clone())
    );
    // Inside one batch too, whatever the order.
    test.store
        .write(vec![Record::Score(newer.clone()), Record::Score(older)])
        .await
        .unwrap();
    assert_eq!(test.store.get_score("p", "s").await.unwrap(), Some(newer));
}

#[tokio::test]
async fn client_costs_replace_calculated_costs_on_merge() {
    let test = open_store().await;
    test.store
        .write(vec![Record::Observation(generation(
            "p",
            "g",
            "t",
            at(0),
            "gpt-4o",
        ))])
        .await
        .unwrap();
    let calculated = test.store.get_observation("p", "g").await.unwrap().unwrap();
    assert_eq!(calculated.cost_source, Some(CostSource::Calculated));
    assert!((calculated.calculated_cost_details["total"] - 1.2).abs() < 1e-9);

    let client_cost = ObservationRecord {
        project_id: "p".into(),
        id: "g".into(),
        trace_id: "t".into(),
        cost_details: [("total".to_string(), 0.5)].into(),
        event_time: at(1),
        ..ObservationRecord::default()
    };
    test.store
        .write(vec![Record::Observation(client_cost)])
        .await
        .unwrap();
    let merged = test.store.get_observation("p", "g").await.unwrap().unwrap();
    assert_eq!(merged.cost_source, Some(CostSource::Client));
    assert_eq!(merged.calculated_cost_details.get("total"), Some(&0.5));
    let trace = test.store.get_trace("p", "t").await.unwrap().unwrap();
    assert_eq!(trace.total_cost, 0.5);
}

#[tokio::test]
async fn an_empty_batch_is_a_no_op() {
    let test = open_store().await;
    assert_eq!(
        test.store.write(Vec::new()).await.unwrap(),
        WriteSummary::default()
    );
    assert!(dump(&test.path).await.is_empty());
}
