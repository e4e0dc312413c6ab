//! The trace filters on observations, scores and input/output: level, model, cost, latency,
//! score name and value, and search. Each scenario updates some rows, so that only the newest
//! values can match, and keeps a look-alike in project `q` that must never match.

use chrono::{DateTime, Duration, Utc};
use periscope_core::model::{Level, ObservationRecord, Record, ScoreDataType, TraceRecord};
use periscope_core::store::{TraceFilter, TraceStore, ValueRange};
use serde_json::json;

use crate::common::{Backend, at, for_each_backend, listed, observation, score, trace};

async fn ids(store: &dyn TraceStore, filter: &TraceFilter) -> Vec<String> {
    listed(store, filter)
        .await
        .into_iter()
        .map(|trace| trace.record.id)
        .collect()
}

fn range(min: Option<f64>, max: Option<f64>) -> ValueRange {
    ValueRange { min, max }
}

/// An observation of `trace_id` costing `total` (a client-given cost).
fn costing(id: &str, trace_id: &str, start: DateTime<Utc>, total: f64) -> ObservationRecord {
    ObservationRecord {
        cost_details: [("total".to_string(), total)].into(),
        ..observation("p", id, trace_id, start)
    }
}

/// A trace of project `p` at `second`, with every new field set to nothing.
fn plain(id: &str, second: i64) -> Record {
    Record::Trace(trace("p", id, at(second)))
}

#[tokio::test]
async fn level_and_model_match_the_newest_observation_versions() {
    let with = |id: &str, trace_id: &str, second: i64, level: Level, model: Option<&str>| {
        Record::Observation(ObservationRecord {
            level: Some(level),
            model: model.map(Into::into),
            ..observation("p", id, trace_id, at(second))
        })
    };
    let cases: Vec<(TraceFilter, &[&str])> = vec![
        (by_model("gpt-4o"), &["b"]),
        (by_model("claude"), &["e", "a"]),
        (by_model("mistral"), &[]),
        (by_level(Level::Error), &["b", "a"]),
        (by_level(Level::Warning), &["b"]),
        // `a1` was at DEFAULT before its update.
        (by_level(Level::Default), &[]),
        // Two different observations of `b` satisfy the two conditions.
        (
            TraceFilter {
                model: Some("gpt-4o".into()),
                ..by_level(Level::Error)
            },
            &["b"],
        ),
        (
            TraceFilter {
                from_timestamp: Some(at(150)),
                to_timestamp: Some(at(1000)),
                ..by_level(Level::Error)
            },
            &["b"],
        ),
        (
            TraceFilter {
                from_timestamp: Some(at(0)),
                to_timestamp: Some(at(150)),
                ..by_model("claude")
            },
            &["a"],
        ),
    ];
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        // Written without a start time first: its stored time moves when the start arrives.
        let late_start = ObservationRecord {
            start_time: None,
            model: Some("gpt-4o".into()),
            ..observation("p", "e1", "e", at(900))
        };
        let other_project = ObservationRecord {
            level: Some(Level::Error),
            model: Some("mistral".into()),
            ..observation("q", "a1", "a", at(100))
        };
        store
            .write(vec![
                plain("a", 100),
                plain("b", 200),
                plain("c", 300),
                plain("e", 500),
                with("a1", "a", 100, Level::Default, Some("gpt-4o")),
                with("b1", "b", 200, Level::Warning, Some("gpt-4o")),
                with("b2", "b", 201, Level::Error, None),
                Record::Observation(late_start),
                Record::Trace(trace("q", "a", at(100))),
                Record::Observation(other_project),
            ])
            .await
            .unwrap();
        let updated = ObservationRecord {
            level: Some(Level::Error),
            model: Some("claude".into()),
            event_time: at(1000),
            ..observation("p", "a1", "a", at(100))
        };
        let started = ObservationRecord {
            model: Some("claude".into()),
            event_time: at(1000),
            ..observation("p", "e1", "e", at(500))
        };
        store
            .write(vec![
                Record::Observation(updated),
                Record::Observation(started),
            ])
            .await
            .unwrap();
        for (filter, expected) in &cases {
            let found = ids(store, filter).await;
            assert_eq!(found, *expected, "{} {filter:?}", backend.name);
        }
    })
    .await;
}

fn by_model(model: &str) -> TraceFilter {
    TraceFilter {
        model: Some(model.into()),
        ..TraceFilter::default()
    }
}

fn by_level(level: Level) -> TraceFilter {
    TraceFilter {
        level: Some(level),
        ..TraceFilter::default()
    }
}

#[tokio::test]
async fn cost_range_sums_the_newest_costs_and_counts_a_trace_without_costs_as_zero() {
    let by_cost = |min, max| TraceFilter {
        cost_range: range(min, max),
        ..TraceFilter::default()
    };
    let cases: Vec<(TraceFilter, &[&str])> = vec![
        (by_cost(Some(0.5), Some(1.0)), &["one", "half"]),
        (by_cost(None, Some(0.0)), &["zero", "free"]),
        (by_cost(Some(0.0), Some(0.5)), &["half", "zero", "free"]),
        (by_cost(None, Some(0.49)), &["zero", "free"]),
        (by_cost(Some(0.5), None), &["two", "one", "half"]),
        (by_cost(Some(1.5), None), &["two"]),
        // `two` cost 5 before its update.
        (by_cost(Some(4.0), None), &[]),
        (by_cost(Some(1.0), Some(1.0)), &["one"]),
        (
            TraceFilter {
                from_timestamp: Some(at(150)),
                to_timestamp: Some(at(450)),
                ..by_cost(None, Some(0.0))
            },
            &["zero"],
        ),
        (
            TraceFilter {
                from_timestamp: Some(at(150)),
                to_timestamp: Some(at(450)),
                ..by_cost(Some(0.5), None)
            },
            &["one", "half"],
        ),
    ];
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        store
            .write(vec![
                plain("free", 100),
                plain("zero", 200),
                plain("half", 300),
                plain("one", 400),
                plain("two", 500),
                Record::Observation(observation("p", "z1", "zero", at(200))),
                Record::Observation(costing("h1", "half", at(300), 0.5)),
                Record::Observation(costing("o1", "one", at(400), 0.25)),
                Record::Observation(costing("o2", "one", at(401), 0.75)),
                Record::Observation(costing("w1", "two", at(500), 5.0)),
                Record::Trace(trace("q", "half", at(300))),
                Record::Observation(ObservationRecord {
                    project_id: "q".into(),
                    ..costing("h1", "half", at(300), 100.0)
                }),
            ])
            .await
            .unwrap();
        let cheaper = ObservationRecord {
            event_time: at(1000),
            ..costing("w1", "two", at(500), 2.0)
        };
        store
            .write(vec![Record::Observation(cheaper)])
            .await
            .unwrap();
        for (filter, expected) in &cases {
            let found = listed(store, filter).await;
            let found_ids: Vec<&str> = found.iter().map(|t| t.record.id.as_str()).collect();
            assert_eq!(found_ids, *expected, "{} {filter:?}", backend.name);
            // The filter agrees with the cost the list shows.
            for trace in &found {
                assert!(
                    filter.cost_range.contains(trace.total_cost),
                    "{} {} costs {}",
                    backend.name,
                    trace.record.id,
                    trace.total_cost
                );
            }
        }
        let expensive = by_cost(Some(50.0), None);
        assert!(ids(store, &expensive).await.is_empty(), "{}", backend.name);
    })
    .await;
}

#[tokio::test]
async fn latency_range_spans_earliest_start_to_latest_end_and_needs_both() {
    let ended = |id: &str, trace_id: &str, start: DateTime<Utc>, end: DateTime<Utc>| {
        Record::Observation(ObservationRecord {
            end_time: Some(end),
            ..observation("p", id, trace_id, start)
        })
    };
    let by_latency = |min, max| TraceFilter {
        latency_range: range(min, max),
        ..TraceFilter::default()
    };
    let cases: Vec<(TraceFilter, &[&str])> = vec![
        // A range holding 0 still needs a start and an end.
        (by_latency(Some(0.0), None), &["ms", "five", "four"]),
        (by_latency(Some(4.0), Some(5.0)), &["five", "four"]),
        (by_latency(None, Some(1.5)), &["ms"]),
        (by_latency(Some(1.5), Some(1.5)), &["ms"]),
        (by_latency(Some(5.0), None), &["five"]),
        (by_latency(Some(5.000_001), None), &[]),
        // `four` took 2 seconds before its end was updated.
        (by_latency(None, Some(3.0)), &["ms"]),
        (
            TraceFilter {
                from_timestamp: Some(at(350)),
                ..by_latency(None, Some(10.0))
            },
            &["ms", "five"],
        ),
    ];
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        store
            .write(vec![
                plain("none", 100),
                plain("open", 200),
                plain("four", 300),
                plain("five", 400),
                plain("ms", 500),
                Record::Observation(observation("p", "u1", "open", at(200))),
                ended("f1", "four", at(300), at(302)),
                // The earliest start and the latest end belong to different observations.
                ended("v1", "five", at(400), at(401)),
                ended("v2", "five", at(403), at(405)),
                Record::Observation(observation("p", "v3", "five", at(402))),
                ended("m1", "ms", at(500), at(500) + Duration::milliseconds(1500)),
                Record::Trace(trace("q", "ms", at(500))),
                Record::Observation(ObservationRecord {
                    project_id: "q".into(),
                    end_time: Some(at(503)),
                    ..observation("q", "m1", "ms", at(500))
                }),
            ])
            .await
            .unwrap();
        let later_end = ObservationRecord {
            end_time: Some(at(304)),
            event_time: at(1000),
            ..observation("p", "f1", "four", at(300))
        };
        store
            .write(vec![Record::Observation(later_end)])
            .await
            .unwrap();
        for (filter, expected) in &cases {
            let found = listed(store, filter).await;
            let found_ids: Vec<&str> = found.iter().map(|t| t.record.id.as_str()).collect();
            assert_eq!(found_ids, *expected, "{} {filter:?}", backend.name);
            // The filter agrees with the latency the list shows.
            for trace in &found {
                let latency = trace.latency_seconds.unwrap();
                assert!(filter.latency_range.contains(latency), "{}", backend.name);
            }
        }
    })
    .await;
}

#[tokio::test]
async fn score_filter_matches_the_name_and_the_value_of_numeric_and_boolean_scores() {
    let by_score = |name: &str, min, max| TraceFilter {
        score_name: Some(name.into()),
        score_range: range(min, max),
        ..TraceFilter::default()
    };
    let cases: Vec<(TraceFilter, &[&str])> = vec![
        (
            by_score("quality", None, None),
            &["upd", "cat", "bool", "num"],
        ),
        (
            by_score("quality", Some(0.8), Some(1.0)),
            &["upd", "bool", "num"],
        ),
        // The categorical value (0) never counts; `upd` was 0.1 before its update.
        (by_score("quality", None, Some(0.5)), &[]),
        (by_score("quality", Some(1.0), Some(1.0)), &["bool"]),
        (by_score("quality", Some(0.81), Some(0.99)), &["upd"]),
        (by_score("helpfulness", None, None), &["obs"]),
        (by_score("missing", None, None), &[]),
        (
            TraceFilter {
                from_timestamp: Some(at(150)),
                to_timestamp: Some(at(450)),
                ..by_score("quality", None, None)
            },
            &["upd", "cat", "bool"],
        ),
    ];
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        let valued = |id: &str, trace_id: &str, value: f64| {
            let mut score = score("p", id, Some(trace_id), at(600));
            score.name = "quality".into();
            score.value = value;
            score
        };
        let boolean = {
            let mut score = valued("s_bool", "bool", 1.0);
            score.data_type = ScoreDataType::Boolean;
            score.string_value = Some("True".into());
            score
        };
        let categorical = {
            let mut score = valued("s_cat", "cat", 0.0);
            score.data_type = ScoreDataType::Categorical;
            score.string_value = Some("good".into());
            score
        };
        let on_observation = {
            let mut score = valued("s_obs", "obs", 0.8);
            score.name = "helpfulness".into();
            score.observation_id = Some("x1".into());
            score
        };
        let of_session = {
            let mut score = score("p", "s_session", None, at(600));
            score.name = "quality".into();
            score.session_id = Some("session".into());
            score
        };
        let mut other_project = score("q", "s_num", Some("num"), at(600));
        other_project.name = "quality".into();
        store
            .write(vec![
                plain("num", 100),
                plain("bool", 200),
                plain("cat", 300),
                plain("upd", 400),
                plain("obs", 500),
                plain("none", 600),
                Record::Observation(observation("p", "x1", "obs", at(500))),
                Record::Score(valued("s_num", "num", 0.8)),
                Record::Score(boolean),
                Record::Score(categorical),
                Record::Score(valued("s_upd", "upd", 0.1)),
                Record::Score(on_observation),
                Record::Score(of_session),
                Record::Trace(trace("q", "num", at(100))),
                Record::Score(other_project),
            ])
            .await
            .unwrap();
        let mut updated = valued("s_upd", "upd", 0.95);
        updated.event_time = at(1000);
        store.write(vec![Record::Score(updated)]).await.unwrap();
        for (filter, expected) in &cases {
            let found = ids(store, filter).await;
            assert_eq!(found, *expected, "{} {filter:?}", backend.name);
        }
        assert!(store.delete_score("p", "s_obs").await.unwrap());
        let deleted = by_score("helpfulness", None, None);
        assert!(ids(store, &deleted).await.is_empty(), "{}", backend.name);
    })
    .await;
}

#[tokio::test]
async fn search_finds_a_case_insensitive_substring_of_the_full_input_or_output() {
    let by_search = |text: &str| TraceFilter {
        search: Some(text.into()),
        ..TraceFilter::default()
    };
    let cases: Vec<(TraceFilter, &[&str])> = vec![
        (by_search("paris"), &["long", "output", "input"]),
        (by_search("LONDON"), &["updated"]),
        // The JSON text: keys and compact punctuation are part of it.
        (by_search("city"), &["input"]),
        (by_search("{\"city\":\"pa"), &["input"]),
        (by_search("%"), &[]),
        (
            TraceFilter {
                to_timestamp: Some(at(250)),
                ..by_search("paris")
            },
            &["output", "input"],
        ),
        // An empty search filters nothing.
        (
            by_search(""),
            &["other", "updated", "long", "meta", "output", "input"],
        ),
    ];
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        let with = |id: &str, second: i64, input: Option<serde_json::Value>, output| {
            Record::Trace(TraceRecord {
                input,
                output,
                ..trace("p", id, at(second))
            })
        };
        // Far beyond the stored previews.
        let long_input = format!("{}Paris", "x".repeat(5_000));
        let metadata_only = TraceRecord {
            name: Some("paris".into()),
            metadata: [("city".to_string(), json!("paris"))].into(),
            ..trace("p", "meta", at(300))
        };
        let in_observation = ObservationRecord {
            input: Some(json!("paris")),
            ..observation("p", "x1", "other", at(600))
        };
        store
            .write(vec![
                with(
                    "input",
                    100,
                    Some(json!({"city": "Paris"})),
                    Some(json!("ok")),
                ),
                with(
                    "output",
                    200,
                    Some(json!("hello")),
                    Some(json!("Welcome to PARIS")),
                ),
                Record::Trace(metadata_only),
                with("long", 400, Some(json!(long_input)), None),
                with("updated", 500, None, Some(json!("paris"))),
                with("other", 600, Some(json!("nothing")), None),
                Record::Observation(in_observation),
                Record::Trace(TraceRecord {
                    input: Some(json!("paris")),
                    ..trace("q", "input", at(100))
                }),
            ])
            .await
            .unwrap();
        let moved = TraceRecord {
            output: Some(json!("London")),
            event_time: at(1000),
            ..trace("p", "updated", at(500))
        };
        store.write(vec![Record::Trace(moved)]).await.unwrap();
        for (filter, expected) in &cases {
            let found = ids(store, filter).await;
            assert_eq!(found, *expected, "{} {filter:?}", backend.name);
        }
    })
    .await;
}
