//! The v2 metrics route against a real SQLite trace store.

use chrono::{Duration, TimeZone, Utc};
use periscope_core::model::{ObservationRecord, ObservationType, Record, TraceRecord};
use periscope_sinks::SqliteTraceStore;
use serde_json::{Value, json};

use super::*;

fn at(seconds: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap() + Duration::seconds(seconds)
}

async fn store_with_data() -> (tempfile::TempDir, SqliteTraceStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteTraceStore::open(&dir.path().join("traces.db"))
        .await
        .unwrap();
    let trace = |id: &str, name: &str, second: i64| {
        Record::Trace(TraceRecord {
            project_id: "p".into(),
            id: id.into(),
            name: Some(name.into()),
            timestamp: Some(at(second)),
            event_time: at(second),
            ..TraceRecord::default()
        })
    };
    let generation = |id: &str, trace_id: &str, second: i64, millis: i64| {
        Record::Observation(ObservationRecord {
            project_id: "p".into(),
            id: id.into(),
            trace_id: trace_id.into(),
            observation_type: Some(ObservationType::Generation),
            model: Some("gpt-4o".into()),
            start_time: Some(at(second)),
            end_time: Some(at(second) + Duration::milliseconds(millis)),
            usage_details: [("input".to_owned(), 10), ("output".to_owned(), 5)].into(),
            event_time: at(second),
            ..ObservationRecord::default()
        })
    };
    store
        .write(vec![
            trace("t1", "qa", 10),
            trace("t2", "qa", 4_000),
            trace("t3", "chat", 20),
            generation("g1", "t1", 10, 1_000),
            generation("g2", "t2", 4_000, 3_000),
        ])
        .await
        .unwrap();
    (dir, store)
}

fn encoded(query: Value) -> String {
    let text = query.to_string();
    let encoded: String = form_urlencoded::byte_serialize(text.as_bytes()).collect();
    format!("query={encoded}")
}

fn base() -> Value {
    json!({
        "view": "observations",
        "dimensions": [{"field": "providedModelName"}],
        "metrics": [{"measure": "count", "aggregation": "count"},
                    {"measure": "latency", "aggregation": "p50"},
                    {"measure": "totalTokens", "aggregation": "sum"}],
        "filters": [{"column": "type", "operator": "=", "value": "GENERATION", "type": "string"}],
        "timeDimension": {"granularity": "hour"},
        "fromTimestamp": "2026-11-27T00:00:00Z",
        "toTimestamp": "2026-11-28T00:00:00Z",
        "orderBy": null
    })
}

#[tokio::test]
async fn rows_carry_dimension_names_time_dimension_and_metric_aliases() {
    let (_dir, store) = store_with_data().await;
    let response = run(&store, "p", Some(&encoded(base()))).await.unwrap();
    assert_eq!(
        serde_json::to_value(response).unwrap(),
        json!({"data": [
            {"providedModelName": "gpt-4o", "time_dimension": "2026-11-27T00:00:00.000Z",
             "count_count": 1, "p50_latency": 1000.0, "sum_totalTokens": 15.0},
            {"providedModelName": "gpt-4o", "time_dimension": "2026-11-27T01:00:00.000Z",
             "count_count": 1, "p50_latency": 3000.0, "sum_totalTokens": 15.0},
        ]})
    );

    let traces = json!({
        "view": "traces", "dimensions": [{"field": "name"}],
        "metrics": [{"measure": "count", "aggregation": "count"}],
        "fromTimestamp": "2026-11-27T00:00:00Z", "toTimestamp": "2026-11-28T00:00:00Z",
        "orderBy": [{"field": "count_count", "direction": "desc"}],
        "config": {"row_limit": 1}
    });
    let response = run(&store, "p", Some(&encoded(traces))).await.unwrap();
    assert_eq!(
        response.data,
        vec![
            json!({"name": "qa", "count_count": 2})
                .as_object()
                .unwrap()
                .clone()
        ]
    );
    let other = run(&store, "other", Some(&encoded(base()))).await.unwrap();
    assert!(other.data.is_empty());
}

#[tokio::test]
async fn unsupported_parts_are_rejected_naming_them() {
    let (_dir, store) = store_with_data().await;
    let cases = [
        ("view", json!("users"), "users"),
        ("dimensions", json!([{"field": "traceName"}]), "traceName"),
        ("dimensions", json!([{"field": "userId"}]), "userId"),
        (
            "metrics",
            json!([{"measure": "streamingLatency", "aggregation": "avg"}]),
            "streamingLatency",
        ),
        (
            "metrics",
            json!([{"measure": "count", "aggregation": "histogram"}]),
            "histogram",
        ),
        (
            "metrics",
            json!([{"measure": "value", "aggregation": "avg"}]),
            "value",
        ),
        (
            "filters",
            json!([{"column": "metadata", "operator": "=", "value": "x"}]),
            "metadata",
        ),
        (
            "filters",
            json!([{"column": "name", "operator": "contains", "value": "x"}]),
            "contains",
        ),
        ("timeDimension", json!({"granularity": "year"}), "year"),
        (
            "orderBy",
            json!([{"field": "sum_totalCost", "direction": "asc"}]),
            "sum_totalCost",
        ),
        ("fromTimestamp", json!("2026-11-29T00:00:00Z"), "before"),
        ("config", json!({"row_limit": 0}), "row_limit"),
    ];
    for (key, value, named) in cases {
        let mut query = base();
        query[key] = value;
        let error = run(&store, "p", Some(&encoded(query))).await.unwrap_err();
        assert_eq!(error.status().as_u16(), 400, "{key}");
        assert!(error.to_string().contains(named), "{key}: {error}");
    }
    let error = run(&store, "p", None).await.unwrap_err();
    assert!(error.to_string().contains("query"), "{error}");
    let error = run(&store, "p", Some("query=%7Bnot-json"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("invalid JSON"), "{error}");
}

#[test]
fn auto_granularity_and_filters_parse_into_the_store_query() {
    let mut query = base();
    query["timeDimension"] = json!({"granularity": "auto"});
    query["filters"] = json!([
        {"column": "level", "operator": "none of", "value": ["ERROR"], "type": "stringOptions"},
        {"column": "promptVersion", "operator": "any of", "value": [1, 2], "type": "stringOptions"}
    ]);
    let (parsed, names) = parse_query(&query.to_string()).unwrap();
    assert_eq!(names, ["providedModelName"]);
    assert_eq!(parsed.granularity, Some(Granularity::Hour));
    assert_eq!(
        parsed.filters[1].condition,
        FieldCondition::AnyOf(vec!["1".into(), "2".into()])
    );
    assert_eq!(parsed.row_limit, DEFAULT_ROW_LIMIT);
}
