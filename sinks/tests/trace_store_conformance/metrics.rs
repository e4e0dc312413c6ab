//! Daily metrics: counts, costs and per-model usage per UTC day.

use periscope_core::model::{
    DailyMetrics, DailyModelUsage, ObservationRecord, Record, TraceRecord,
};
use periscope_core::store::{MetricsFilter, PageRequest, TraceStore};

use crate::common::{Backend, for_each_backend, generation, observation, on_day, trace};

fn day_trace(id: &str, day: i64, name: &str, user: &str, tags: &[&str], env: &str) -> Record {
    Record::Trace(TraceRecord {
        name: Some(name.into()),
        user_id: Some(user.into()),
        tags: tags.iter().map(|tag| tag.to_string()).collect(),
        environment: Some(env.into()),
        ..trace("p", id, on_day(day, 10))
    })
}

fn model_call(id: &str, trace_id: &str, day: i64, model: &str) -> Record {
    Record::Observation(generation("p", id, trace_id, on_day(day, 10), model))
}

async fn seed(store: &dyn TraceStore) {
    // An observation may start on another day than its trace: the trace's day counts.
    let late_span: ObservationRecord = observation("p", "sp1", "a", on_day(1, 1));
    store
        .write(vec![
            day_trace("a", 0, "chat", "u1", &["x"], "prod"),
            day_trace("b", 0, "search", "u2", &[], "staging"),
            day_trace("c", 1, "chat", "u1", &["x", "y"], "prod"),
            day_trace("d", 3, "chat", "u2", &[], "prod"),
            model_call("g1", "a", 0, "gpt-4o"),
            model_call("g2", "a", 0, "gpt-4o"),
            Record::Observation(late_span),
            model_call("g3", "b", 0, "claude"),
            model_call("g4", "c", 1, "gpt-4o"),
            Record::Trace(trace("q", "z", on_day(0, 5))),
            Record::Observation(generation("q", "g9", "z", on_day(0, 5), "gpt-4o")),
        ])
        .await
        .unwrap();
}

fn usage(model: &str, calls: i64, traces: u64) -> DailyModelUsage {
    DailyModelUsage {
        model: model.into(),
        input_usage: 1000 * calls,
        output_usage: 100 * calls,
        total_usage: 1100 * calls,
        count_observations: calls as u64,
        count_traces: traces,
        total_cost: 1.2 * calls as f64,
    }
}

fn day(date: &str, traces: u64, observations: u64, usage: Vec<DailyModelUsage>) -> DailyMetrics {
    let total_cost = usage.iter().map(|u| u.total_cost).sum();
    DailyMetrics {
        date: date.into(),
        count_traces: traces,
        count_observations: observations,
        total_cost,
        usage,
    }
}

/// Rounds costs so that float summation order cannot fail a comparison.
fn rounded(mut days: Vec<DailyMetrics>) -> Vec<DailyMetrics> {
    let round = |cost: f64| (cost * 1e6).round() / 1e6;
    for day in &mut days {
        day.total_cost = round(day.total_cost);
        for usage in &mut day.usage {
            usage.total_cost = round(usage.total_cost);
        }
    }
    days
}

async fn metrics(store: &dyn TraceStore, filter: &MetricsFilter) -> Vec<DailyMetrics> {
    let page = store
        .daily_metrics("p", filter, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.total_items, page.items.len() as u64);
    rounded(page.items)
}

#[tokio::test]
async fn daily_metrics_count_cost_and_usage_per_day_and_model() {
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        seed(store).await;
        let expected = rounded(vec![
            day("2026-11-30", 1, 0, vec![]),
            day("2026-11-28", 1, 1, vec![usage("gpt-4o", 1, 1)]),
            day(
                "2026-11-27",
                2,
                4,
                vec![usage("claude", 1, 1), usage("gpt-4o", 2, 1)],
            ),
        ]);
        let found = metrics(store, &MetricsFilter::default()).await;
        assert_eq!(found, expected, "{}", backend.name);
        let other = store
            .daily_metrics("q", &MetricsFilter::default(), PageRequest::default())
            .await
            .unwrap();
        let expected = rounded(vec![day("2026-11-27", 1, 1, vec![usage("gpt-4o", 1, 1)])]);
        assert_eq!(rounded(other.items), expected, "{}", backend.name);
    })
    .await;
}

#[tokio::test]
async fn every_metrics_filter_selects_the_traces_it_names() {
    let row = |date: &str, traces: u64, observations: u64| (date.to_string(), traces, observations);
    let cases = vec![
        (
            MetricsFilter {
                trace_name: Some("chat".into()),
                ..Default::default()
            },
            vec![
                row("2026-11-30", 1, 0),
                row("2026-11-28", 1, 1),
                row("2026-11-27", 1, 3),
            ],
        ),
        (
            MetricsFilter {
                user_id: Some("u2".into()),
                ..Default::default()
            },
            vec![row("2026-11-30", 1, 0), row("2026-11-27", 1, 1)],
        ),
        (
            MetricsFilter {
                tags: vec!["x".into(), "y".into()],
                ..Default::default()
            },
            vec![row("2026-11-28", 1, 1)],
        ),
        (
            MetricsFilter {
                environments: vec!["staging".into()],
                ..Default::default()
            },
            vec![row("2026-11-27", 1, 1)],
        ),
        (
            MetricsFilter {
                from_timestamp: Some(on_day(1, 0)),
                to_timestamp: Some(on_day(3, 0)),
                ..Default::default()
            },
            vec![row("2026-11-28", 1, 1)],
        ),
    ];
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        seed(store).await;
        for (filter, expected) in &cases {
            let found: Vec<(String, u64, u64)> = metrics(store, filter)
                .await
                .into_iter()
                .map(|d| (d.date, d.count_traces, d.count_observations))
                .collect();
            assert_eq!(&found, expected, "{} {filter:?}", backend.name);
        }
    })
    .await;
}

#[tokio::test]
async fn metric_days_are_paginated_newest_first() {
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        seed(store).await;
        let filter = MetricsFilter::default();
        let first = store
            .daily_metrics("p", &filter, PageRequest { page: 1, limit: 2 })
            .await
            .unwrap();
        assert_eq!(first.total_items, 3, "{}", backend.name);
        let dates: Vec<&str> = first.items.iter().map(|d| d.date.as_str()).collect();
        assert_eq!(dates, ["2026-11-30", "2026-11-28"], "{}", backend.name);
        let second = store
            .daily_metrics("p", &filter, PageRequest { page: 2, limit: 2 })
            .await
            .unwrap();
        assert_eq!(second.items.len(), 1, "{}", backend.name);
        assert_eq!(second.items[0].date, "2026-11-27");
        assert_eq!(second.items[0].count_observations, 4, "{}", backend.name);
        assert_eq!(second.items[0].usage.len(), 2, "{}", backend.name);
    })
    .await;
}
