//! Metrics queries (`GET /v2/metrics`): every view, grouping, bucketing, filtering, ordering
//! and percentile gives the same rows on both stores.

use chrono::{DateTime, Duration, Utc};
use periscope_core::model::{ObservationRecord, Record, ScoreDataType, ScoreRecord, TraceRecord};
use periscope_core::store::{
    Aggregation, FieldCondition, Granularity, Measure, MetricSpec, MetricsCondition, MetricsField,
    MetricsOrder, MetricsQuery, MetricsRow, MetricsView, OrderKey, Percentile, TraceStore,
};

use crate::common::{Backend, at, for_each_backend, generation, observation, on_day, score, trace};

fn tagged(id: &str, second: i64, name: &str, user: &str, env: &str, tags: &[&str]) -> Record {
    Record::Trace(TraceRecord {
        name: Some(name.into()),
        user_id: Some(user.into()),
        session_id: Some("s1".into()),
        environment: Some(env.into()),
        tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
        ..trace("p", id, at(second))
    })
}

/// A priced generation of prompt `qa` `version` lasting `millis`.
pub(crate) fn prompted(
    id: &str,
    trace_id: &str,
    start: DateTime<Utc>,
    millis: i64,
    model: &str,
    version: i64,
) -> ObservationRecord {
    ObservationRecord {
        name: Some("llm".into()),
        end_time: Some(start + Duration::milliseconds(millis)),
        prompt_name: Some("qa".into()),
        prompt_version: Some(version),
        ..generation("p", id, trace_id, start, model)
    }
}

fn typed_score(
    id: &str,
    name: &str,
    data_type: ScoreDataType,
    value: f64,
    label: Option<&str>,
) -> ScoreRecord {
    ScoreRecord {
        name: name.into(),
        data_type,
        value,
        string_value: label.map(Into::into),
        ..score("p", id, Some("t2"), at(300))
    }
}

/// Writes three traces (two `qa` in hour 0 and 1, one `chat` on day 1), four observations and
/// five scores in project `p`, and one trace in project `q`.
pub(crate) async fn seed(store: &dyn TraceStore) {
    let span = ObservationRecord {
        name: Some("retrieve".into()),
        end_time: Some(at(120)),
        ..observation("p", "sp", "t1", at(100))
    };
    let on_generation = ScoreRecord {
        value: 0.5,
        observation_id: Some("g1".into()),
        ..score("p", "s2", Some("t1"), at(200))
    };
    store
        .write(vec![
            tagged("t1", 100, "qa", "u1", "prod", &["a", "b"]),
            tagged("t2", 3_700, "qa", "u2", "prod", &["a"]),
            tagged("t3", 86_400, "chat", "u1", "dev", &[]),
            Record::Trace(trace("q", "t9", at(100))),
            Record::Observation(prompted("g1", "t1", at(100), 2_000, "gpt-4o", 1)),
            Record::Observation(prompted("g2", "t1", at(110), 4_000, "gpt-4o", 2)),
            Record::Observation(prompted("g3", "t2", at(3_700), 1_000, "claude", 1)),
            Record::Observation(span),
            Record::Score(score("p", "s1", Some("t1"), at(100))),
            Record::Score(on_generation),
            Record::Score(typed_score(
                "s3",
                "ok",
                ScoreDataType::Boolean,
                1.0,
                Some("True"),
            )),
            Record::Score(typed_score(
                "s4",
                "label",
                ScoreDataType::Categorical,
                0.0,
                Some("good"),
            )),
            Record::Score(typed_score(
                "s5",
                "label",
                ScoreDataType::Categorical,
                0.0,
                Some("bad"),
            )),
        ])
        .await
        .unwrap();
}

fn metric(measure: Measure, aggregation: Aggregation) -> MetricSpec {
    MetricSpec {
        measure,
        aggregation,
    }
}

fn query(view: MetricsView, dimensions: &[MetricsField], metrics: &[MetricSpec]) -> MetricsQuery {
    MetricsQuery {
        view,
        dimensions: dimensions.to_vec(),
        metrics: metrics.to_vec(),
        filters: Vec::new(),
        granularity: None,
        from_timestamp: Some(at(0)),
        to_timestamp: Some(on_day(2, 0)),
        order_by: Vec::new(),
        row_limit: 100,
    }
}

type Expected<'a> = (
    &'a [Option<&'a str>],
    Option<DateTime<Utc>>,
    &'a [Option<f64>],
);

/// Runs `query` and compares with `expected` (metric values to 1e-9).
async fn check(backend: &Backend, query: &MetricsQuery, expected: &[Expected<'_>]) {
    query.validate().unwrap();
    let rows: Vec<MetricsRow> = backend.store.query_metrics("p", query).await.unwrap();
    let context = format!("{}: {query:?}\n got {rows:#?}", backend.name);
    assert_eq!(rows.len(), expected.len(), "{context}");
    for (row, (dimensions, bucket, metrics)) in rows.iter().zip(expected) {
        let names: Vec<Option<&str>> = row.dimensions.iter().map(Option::as_deref).collect();
        assert_eq!(names, *dimensions, "{context}");
        assert_eq!(row.time_bucket, *bucket, "{context}");
        assert_eq!(row.metrics.len(), metrics.len(), "{context}");
        for (got, want) in row.metrics.iter().zip(metrics.iter()) {
            match (got, want) {
                (Some(got), Some(want)) => assert!((got - want).abs() < 1e-9, "{context}"),
                (got, want) => assert_eq!(got, want, "{context}"),
            }
        }
    }
}

const P50: Aggregation = Aggregation::Percentile(Percentile::P50);
const P95: Aggregation = Aggregation::Percentile(Percentile::P95);

#[tokio::test]
async fn traces_group_by_name_with_sums_and_percentiles_over_their_observations() {
    for_each_backend(async |backend: &Backend| {
        seed(backend.store.as_ref()).await;
        let q = query(
            MetricsView::Traces,
            &[MetricsField::Name],
            &[
                metric(Measure::Count, Aggregation::Count),
                metric(Measure::TotalCost, Aggregation::Sum),
                metric(Measure::Latency, P50),
                metric(Measure::Latency, Aggregation::Max),
                metric(Measure::TotalTokens, Aggregation::Sum),
            ],
        );
        let qa = [
            Some(2.0),
            Some(3.6),
            Some(10_500.0),
            Some(20_000.0),
            Some(3_300.0),
        ];
        let chat = [Some(1.0), Some(0.0), None, None, Some(0.0)];
        check(
            backend,
            &q,
            &[(&[Some("chat")], None, &chat), (&[Some("qa")], None, &qa)],
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn trace_tags_explode_into_one_row_per_tag_and_filter_by_tag_set() {
    for_each_backend(async |backend: &Backend| {
        seed(backend.store.as_ref()).await;
        let count = [metric(Measure::Count, Aggregation::Count)];
        let mut q = query(MetricsView::Traces, &[MetricsField::Tags], &count);
        check(
            backend,
            &q,
            &[
                (&[Some("a")], None, &[Some(2.0)]),
                (&[Some("b")], None, &[Some(1.0)]),
            ],
        )
        .await;
        q.filters = vec![MetricsCondition {
            field: MetricsField::Tags,
            condition: FieldCondition::NoneOf(vec!["b".into()]),
        }];
        check(backend, &q, &[(&[Some("a")], None, &[Some(1.0)])]).await;
        q.dimensions = vec![MetricsField::UserId];
        q.filters.push(MetricsCondition {
            field: MetricsField::Environment,
            condition: FieldCondition::NotEquals("prod".into()),
        });
        check(backend, &q, &[(&[Some("u1")], None, &[Some(1.0)])]).await;
    })
    .await;
}

#[tokio::test]
async fn observations_bucket_by_hour_and_filter_by_type() {
    for_each_backend(async |backend: &Backend| {
        seed(backend.store.as_ref()).await;
        let mut q = query(
            MetricsView::Observations,
            &[MetricsField::Model],
            &[
                metric(Measure::Count, Aggregation::Count),
                metric(Measure::Latency, P95),
                metric(Measure::TotalCost, Aggregation::Avg),
                metric(Measure::InputTokens, Aggregation::Sum),
                metric(Measure::StartTime, Aggregation::Min),
            ],
        );
        q.granularity = Some(Granularity::Hour);
        q.filters = vec![MetricsCondition {
            field: MetricsField::Type,
            condition: FieldCondition::Equals("GENERATION".into()),
        }];
        let millis = |second: i64| Some(at(second).timestamp_millis() as f64);
        let gpt = [
            Some(2.0),
            Some(3_900.0),
            Some(1.2),
            Some(2_000.0),
            millis(100),
        ];
        let claude = [
            Some(1.0),
            Some(1_000.0),
            Some(1.2),
            Some(1_000.0),
            millis(3_700),
        ];
        check(
            backend,
            &q,
            &[
                (&[Some("gpt-4o")], Some(at(0)), &gpt),
                (&[Some("claude")], Some(at(3_600)), &claude),
            ],
        )
        .await;
        // Day and month buckets, no dimension; the span has no model and no cost.
        q.dimensions.clear();
        q.filters.clear();
        q.metrics = vec![metric(Measure::TotalCost, Aggregation::Sum)];
        q.granularity = Some(Granularity::Month);
        check(backend, &q, &[(&[], Some(on_day(-26, 0)), &[Some(3.6)])]).await;
    })
    .await;
}

#[tokio::test]
async fn numeric_and_categorical_score_views_split_by_data_type() {
    for_each_backend(async |backend: &Backend| {
        seed(backend.store.as_ref()).await;
        let q = query(
            MetricsView::ScoresNumeric,
            &[MetricsField::Name],
            &[
                metric(Measure::Value, Aggregation::Avg),
                metric(Measure::Count, Aggregation::Count),
            ],
        );
        check(
            backend,
            &q,
            &[
                (&[Some("accuracy")], None, &[Some(0.7), Some(2.0)]),
                (&[Some("ok")], None, &[Some(1.0), Some(1.0)]),
            ],
        )
        .await;
        let q = query(
            MetricsView::ScoresCategorical,
            &[MetricsField::StringValue],
            &[metric(Measure::Count, Aggregation::Count)],
        );
        let one = [Some(1.0)];
        check(
            backend,
            &q,
            &[
                (&[Some("True")], None, &one),
                (&[Some("bad")], None, &one),
                (&[Some("good")], None, &one),
            ],
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn an_empty_range_without_keys_is_one_row_and_orders_and_limits_apply() {
    for_each_backend(async |backend: &Backend| {
        seed(backend.store.as_ref()).await;
        let mut q = query(
            MetricsView::Observations,
            &[],
            &[
                metric(Measure::Count, Aggregation::Count),
                metric(Measure::TotalCost, Aggregation::Sum),
            ],
        );
        q.from_timestamp = Some(on_day(5, 0));
        q.to_timestamp = Some(on_day(6, 0));
        check(backend, &q, &[(&[], None, &[Some(0.0), None])]).await;

        let mut q = query(
            MetricsView::Observations,
            &[MetricsField::Name],
            &[metric(Measure::Count, Aggregation::Count)],
        );
        q.order_by = vec![MetricsOrder {
            key: OrderKey::Metric(0),
            descending: true,
        }];
        q.row_limit = 1;
        check(backend, &q, &[(&[Some("llm")], None, &[Some(3.0)])]).await;
        q.order_by[0].key = OrderKey::Dimension(0);
        check(backend, &q, &[(&[Some("retrieve")], None, &[Some(1.0)])]).await;
    })
    .await;
}

#[tokio::test]
async fn prompt_fields_group_observations_by_version() {
    for_each_backend(async |backend: &Backend| {
        seed(backend.store.as_ref()).await;
        let mut q = query(
            MetricsView::Observations,
            &[MetricsField::PromptName, MetricsField::PromptVersion],
            &[metric(Measure::Count, Aggregation::Count)],
        );
        q.filters = vec![MetricsCondition {
            field: MetricsField::PromptVersion,
            condition: FieldCondition::AnyOf(vec!["1".into(), "2".into()]),
        }];
        check(
            backend,
            &q,
            &[
                (&[Some("qa"), Some("1")], None, &[Some(2.0)]),
                (&[Some("qa"), Some("2")], None, &[Some(1.0)]),
            ],
        )
        .await;
        assert_eq!(
            backend.store.query_metrics("q", &q).await.unwrap(),
            Vec::new(),
            "{}: another project's rows",
            backend.name
        );
    })
    .await;
}
