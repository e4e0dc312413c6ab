//! The write path: round trips, replays, order independence, derived timestamps, costs.

use chrono::Duration;
use periscope_core::model::{
    CostSource, Level, ObservationRecord, ObservationType, PriceSnapshot, Record, ScoreDataType,
    ScoreRecord, ScoreSource, Trace, TraceRecord,
};
use periscope_core::store::{
    ObservationFilter, PageRequest, ScoreFilter, SessionFilter, TraceFilter, TraceStore,
    WriteSummary,
};
use serde_json::json;

use crate::common::{
    Backend, at, clickhouse, for_each_backend, generation, observation, score, sqlite, trace,
};

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
    for_each_backend(async |backend: &Backend| {
        let store = &backend.store;
        let summary = store
            .write(vec![
                Record::Trace(full_trace()),
                Record::Observation(full_observation()),
                Record::Score(full_score()),
            ])
            .await
            .unwrap();
        let expected_summary = WriteSummary {
            traces: 1,
            observations: 1,
            scores: 1,
        };
        assert_eq!(summary, expected_summary, "{}", backend.name);
        let mut expected_observation = full_observation();
        expected_observation.finalize_costs();

        let trace = store.get_trace("p", "t1").await.unwrap().unwrap();
        assert_eq!(trace.record, full_trace(), "{}", backend.name);
        assert_eq!(trace.created_at, at(11), "{}", backend.name);
        assert_eq!(trace.updated_at, at(11), "{}", backend.name);
        assert_eq!(trace.observations, vec![expected_observation.clone()]);
        assert_eq!(trace.scores, vec![full_score()], "{}", backend.name);
        assert!((trace.total_cost - 1.2).abs() < 1e-9, "{}", backend.name);
        let latency = trace.latency_seconds.unwrap();
        assert!((latency - 2.876_544).abs() < 1e-9, "{}", backend.name);
        assert_eq!(
            store.get_observation("p", "o1").await.unwrap(),
            Some(expected_observation),
            "{}",
            backend.name
        );
        assert_eq!(
            store.get_score("p", "s1").await.unwrap(),
            Some(full_score())
        );
    })
    .await;
}

/// Everything the read API can see of project `p`.
async fn snapshot(store: &dyn TraceStore) -> Vec<String> {
    let page = PageRequest {
        page: 1,
        limit: 1000,
    };
    let traces = store
        .list_traces("p", &TraceFilter::default(), page)
        .await
        .unwrap();
    let observations = store
        .list_observations("p", &ObservationFilter::default(), page)
        .await
        .unwrap();
    let scores = store
        .list_scores("p", &ScoreFilter::default(), page)
        .await
        .unwrap();
    let sessions = store
        .list_sessions("p", &SessionFilter::default(), page)
        .await
        .unwrap();
    let mut lines = vec![format!(
        "totals {} {} {} {}",
        traces.total_items, observations.total_items, scores.total_items, sessions.total_items
    )];
    lines.extend(traces.items.iter().map(|trace| format!("{trace:?}")));
    lines.extend(observations.items.iter().map(|o| format!("{o:?}")));
    lines.extend(scores.items.iter().map(|s| format!("{s:?}")));
    lines.extend(sessions.items.iter().map(|s| format!("{s:?}")));
    for trace in &traces.items {
        let full = store.get_trace("p", &trace.record.id).await.unwrap();
        lines.push(format!("{full:?}"));
    }
    lines
}

/// Returns the newest row version per table of a ClickHouse backend (background merges may
/// drop old versions at any time, but never change the newest).
async fn clickhouse_newest_versions(backend: &Backend) -> Option<Vec<u64>> {
    let (client, _) = backend.clickhouse()?;
    let mut versions = Vec::new();
    for table in ["traces", "observations", "scores"] {
        let newest: u64 = client
            .query(&format!("SELECT max(row_version) FROM {table}"))
            .fetch_one()
            .await
            .unwrap();
        versions.push(newest);
    }
    Some(versions)
}

#[tokio::test]
async fn replaying_a_batch_changes_nothing_and_writes_no_new_rows() {
    for_each_backend(async |backend: &Backend| {
        let store = &backend.store;
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
        store.write(batch.clone()).await.unwrap();
        let first = snapshot(store.as_ref()).await;
        assert_eq!(first[0], "totals 1 3 1 1", "{}", backend.name);
        let versions = clickhouse_newest_versions(backend).await;

        let summary = store.write(batch.clone()).await.unwrap();
        assert_eq!(summary.observations, 3);
        store
            .write(batch.into_iter().rev().collect())
            .await
            .unwrap();
        assert_eq!(snapshot(store.as_ref()).await, first, "{}", backend.name);
        assert_eq!(
            clickhouse_newest_versions(backend).await,
            versions,
            "{}",
            backend.name
        );
    })
    .await;
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

async fn merged_trace(store: &dyn TraceStore, order: &str) -> Trace {
    let records = scattered_records();
    match order {
        "in order" => {
            for record in records {
                store.write(vec![record]).await.unwrap();
            }
        }
        "reversed" => {
            for record in records.into_iter().rev() {
                store.write(vec![record]).await.unwrap();
            }
        }
        _ => {
            store
                .write(records.into_iter().rev().collect())
                .await
                .unwrap();
        }
    }
    store.get_trace("p", "t").await.unwrap().unwrap()
}

#[tokio::test]
async fn partial_records_merge_alike_in_any_order_and_in_both_stores() {
    let reference = sqlite().await;
    let expected = merged_trace(reference.store.as_ref(), "in order").await;
    assert_eq!(expected.record.name.as_deref(), Some("renamed"));
    assert_eq!(expected.updated_at, at(9));
    assert_eq!(expected.scores[0].value, 0.7);
    assert_eq!(expected.latency_seconds, Some(6.0));
    reference.finish().await;
    for order in ["in order", "reversed", "one batch"] {
        for backend in [sqlite().await, clickhouse().await] {
            let merged = merged_trace(backend.store.as_ref(), order).await;
            assert_eq!(merged, expected, "{} {order}", backend.name);
            backend.finish().await;
        }
    }
}

#[tokio::test]
async fn a_trace_without_timestamp_takes_the_earliest_observation_start() {
    for_each_backend(async |backend: &Backend| {
        let store = &backend.store;
        let untimed = TraceRecord {
            timestamp: None,
            ..trace("p", "t", at(50))
        };
        let listed = async || {
            let page = store
                .list_traces("p", &TraceFilter::default(), PageRequest::default())
                .await
                .unwrap();
            assert_eq!(page.total_items, 1, "{}", backend.name);
            page.items[0].record.timestamp
        };
        store
            .write(vec![Record::Trace(untimed.clone())])
            .await
            .unwrap();
        assert_eq!(listed().await, None, "{}", backend.name);
        store
            .write(vec![
                Record::Observation(observation("p", "late", "t", at(10))),
                Record::Observation(observation("p", "early", "t", at(5))),
            ])
            .await
            .unwrap();
        assert_eq!(listed().await, Some(at(5)), "{}", backend.name);
        store
            .write(vec![
                Record::Trace(untimed),
                Record::Observation(observation("p", "x", "t", at(3))),
            ])
            .await
            .unwrap();
        store
            .write(vec![Record::Observation(observation("p", "y", "t", at(2)))])
            .await
            .unwrap();
        assert_eq!(listed().await, Some(at(2)), "{}", backend.name);
        let read = store.get_trace("p", "t").await.unwrap().unwrap();
        assert_eq!(read.record.timestamp, Some(at(2)), "{}", backend.name);
        // A timestamp of its own wins over the derived one.
        let own = TraceRecord {
            event_time: at(60),
            ..trace("p", "t", at(40))
        };
        store.write(vec![Record::Trace(own)]).await.unwrap();
        assert_eq!(listed().await, Some(at(40)), "{}", backend.name);
        let in_range = TraceFilter {
            from_timestamp: Some(at(0)),
            to_timestamp: Some(at(10)),
            ..Default::default()
        };
        let page = store
            .list_traces("p", &in_range, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(
            page.total_items, 0,
            "{}: the old key time is gone",
            backend.name
        );
        // A new trace arriving with its observations in one batch takes its time from them
        // (ClickHouse writes the trace row before the observation rows).
        let fresh = TraceRecord {
            timestamp: None,
            ..trace("p", "fresh", at(50))
        };
        store
            .write(vec![
                Record::Trace(fresh),
                Record::Observation(observation("p", "f2", "fresh", at(8))),
                Record::Observation(observation("p", "f1", "fresh", at(7))),
            ])
            .await
            .unwrap();
        let read = store.get_trace("p", "fresh").await.unwrap().unwrap();
        assert_eq!(read.record.timestamp, Some(at(7)), "{}", backend.name);
        assert_eq!(read.observations.len(), 2, "{}", backend.name);
    })
    .await;
}

#[tokio::test]
async fn observations_without_a_trace_record_still_read_as_a_trace() {
    for_each_backend(async |backend: &Backend| {
        let store = &backend.store;
        let first = ObservationRecord {
            environment: Some("staging".into()),
            end_time: Some(at(9)),
            ..observation("p", "a", "orphan", at(4))
        };
        store
            .write(vec![
                Record::Observation(first),
                Record::Observation(observation("p", "b", "orphan", at(6))),
            ])
            .await
            .unwrap();
        let trace = store.get_trace("p", "orphan").await.unwrap().unwrap();
        assert_eq!(trace.record.timestamp, Some(at(4)), "{}", backend.name);
        assert_eq!(trace.record.environment.as_deref(), Some("staging"));
        assert_eq!(trace.created_at, at(4), "{}", backend.name);
        assert_eq!(trace.updated_at, at(6), "{}", backend.name);
        assert_eq!(trace.latency_seconds, Some(5.0), "{}", backend.name);
        let ids: Vec<&str> = trace.observations.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"], "{}", backend.name);
        assert_eq!(store.get_trace("p", "nothing").await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn an_older_score_never_replaces_a_newer_one() {
    for_each_backend(async |backend: &Backend| {
        let store = &backend.store;
        let newer = ScoreRecord {
            value: 2.0,
            ..score("p", "s", Some("t"), at(10))
        };
        let older = ScoreRecord {
            value: 1.0,
            comment: Some("old".into()),
            ..score("p", "s", Some("t"), at(5))
        };
        store
            .write(vec![Record::Score(newer.clone())])
            .await
            .unwrap();
        store
            .write(vec![Record::Score(older.clone())])
            .await
            .unwrap();
        assert_eq!(
            store.get_score("p", "s").await.unwrap(),
            Some(newer.clone())
        );
        store
            .write(vec![Record::Score(newer.clone()), Record::Score(older)])
            .await
            .unwrap();
        assert_eq!(
            store.get_score("p", "s").await.unwrap(),
            Some(newer),
            "{}",
            backend.name
        );
        let page = store
            .list_scores("p", &ScoreFilter::default(), PageRequest::default())
            .await
            .unwrap();
        assert_eq!(page.total_items, 1, "{}", backend.name);
    })
    .await;
}

#[tokio::test]
async fn client_costs_replace_calculated_costs_on_merge() {
    for_each_backend(async |backend: &Backend| {
        let store = &backend.store;
        store
            .write(vec![Record::Observation(generation(
                "p",
                "g",
                "t",
                at(0),
                "gpt-4o",
            ))])
            .await
            .unwrap();
        let calculated = store.get_observation("p", "g").await.unwrap().unwrap();
        assert_eq!(calculated.cost_source, Some(CostSource::Calculated));
        let client_cost = ObservationRecord {
            project_id: "p".into(),
            id: "g".into(),
            trace_id: "t".into(),
            cost_details: [("total".to_string(), 0.5)].into(),
            event_time: at(1),
            ..ObservationRecord::default()
        };
        store
            .write(vec![Record::Observation(client_cost)])
            .await
            .unwrap();
        let merged = store.get_observation("p", "g").await.unwrap().unwrap();
        assert_eq!(
            merged.cost_source,
            Some(CostSource::Client),
            "{}",
            backend.name
        );
        let trace = store.get_trace("p", "t").await.unwrap().unwrap();
        assert_eq!(trace.total_cost, 0.5, "{}", backend.name);
    })
    .await;
}

#[tokio::test]
async fn an_empty_batch_is_a_no_op_and_the_store_is_healthy() {
    for_each_backend(async |backend: &Backend| {
        backend.store.healthcheck().await.unwrap();
        assert_eq!(
            backend.store.write(Vec::new()).await.unwrap(),
            WriteSummary::default()
        );
    })
    .await;
}

#[tokio::test]
async fn clickhouse_migrations_are_recorded_and_rerun_safely() {
    let backend = clickhouse().await;
    let (_, database) = backend.clickhouse().unwrap();
    let config = periscope_core::config::ClickHouseConfig {
        url: crate::common::clickhouse_url(),
        database: database.to_owned(),
        user: "default".into(),
        password: String::new(),
        retention: std::time::Duration::from_secs(86_400 * 30),
        insert_timeout: std::time::Duration::from_secs(30),
        batch_max_records: 20_000,
        batch_max_wait: std::time::Duration::from_secs(1),
    };
    let again = periscope_sinks::ClickHouseTraceStore::connect(&config)
        .await
        .unwrap();
    assert_eq!(again.schema_versions().await.unwrap(), [1, 2, 3, 4, 5, 6]);
    backend.finish().await;
}
