//! `TraceStore::query_metrics` on SQLite: SQL selects one row per record of the view (its
//! group key and measure values) ordered by group key; [`super::metrics_groups`] folds the
//! groups in Rust. SQLite has no percentile function, and folding a sorted stream keeps only
//! one group's values in memory (docs/adr/0018-metrics-api.md).

use periscope_core::error::BackendResult;
use periscope_core::store::{
    FieldCondition, Granularity, Measure, MetricsField, MetricsQuery, MetricsRow, MetricsView,
};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use super::metrics_groups::fold_groups;
use crate::sqlite::filters::push_time_range;

/// Per-trace observation totals for the trace view (`x` is one row per trace).
const TRACE_TOTALS: &str = "SELECT t.id AS id, t.name AS name, t.user_id AS user_id, \
        t.session_id AS session_id, t.release AS release, t.version AS version, \
        t.environment AS environment, t.timestamp AS time, \
        CASE WHEN MIN(o.start_time) IS NULL OR MAX(o.end_time) IS NULL THEN NULL \
            ELSE MAX(0, MAX(o.end_time) - MIN(o.start_time)) / 1000.0 END AS latency, \
        TOTAL(o.total_cost) AS cost, CAST(COALESCE(SUM(o.usage_total), 0) AS REAL) AS tokens, \
        CAST(COALESCE(SUM(o.usage_input), 0) AS REAL) AS input, \
        CAST(COALESCE(SUM(o.usage_output), 0) AS REAL) AS output \
    FROM traces t LEFT JOIN observations o ON o.project_id = t.project_id AND o.trace_id = t.id \
    WHERE t.timestamp IS NOT NULL AND t.project_id = ";

/// Returns the SQL of `field` in `view` (`x`: traces, `o`: observations, `s`: scores).
fn field_sql(view: MetricsView, field: MetricsField) -> &'static str {
    use MetricsField::*;
    match (view, field) {
        (MetricsView::Traces, Name) => "x.name",
        (MetricsView::Traces, UserId) => "x.user_id",
        (MetricsView::Traces, SessionId) => "x.session_id",
        (MetricsView::Traces, Environment) => "x.environment",
        (MetricsView::Traces, Release) => "x.release",
        (MetricsView::Traces, Version) => "x.version",
        (MetricsView::Traces, Tags) => "tt.tag",
        (MetricsView::Observations, Name) => "o.name",
        (MetricsView::Observations, Environment) => "o.environment",
        (MetricsView::Observations, Version) => "o.version",
        (MetricsView::Observations, Type) => "o.type",
        (MetricsView::Observations, Model) => "o.model",
        (MetricsView::Observations, Level) => "o.level",
        (MetricsView::Observations, PromptName) => "json_extract(o.body, '$.promptName')",
        (MetricsView::Observations, PromptVersion) => {
            "CAST(json_extract(o.body, '$.promptVersion') AS TEXT)"
        }
        (_, Name) => "s.name",
        (_, Environment) => "s.environment",
        (_, Source) => "s.source",
        (_, DataType) => "s.data_type",
        (_, StringValue) => "json_extract(s.body, '$.stringValue')",
        // `MetricsQuery::validate` rejects every other pair; null keeps SQL valid regardless.
        _ => "NULL",
    }
}

/// Returns the SQL of `measure` in `view`, as REAL (or NULL).
fn measure_sql(view: MetricsView, measure: Measure) -> &'static str {
    match (view, measure) {
        (_, Measure::Count) => "1.0",
        (MetricsView::Traces, Measure::Latency) => "x.latency",
        (MetricsView::Traces, Measure::TotalCost) => "x.cost",
        (MetricsView::Traces, Measure::TotalTokens) => "x.tokens",
        (MetricsView::Traces, Measure::InputTokens) => "x.input",
        (MetricsView::Traces, Measure::OutputTokens) => "x.output",
        (MetricsView::Observations, Measure::Latency) => {
            "CASE WHEN o.end_time IS NULL THEN NULL \
                ELSE MAX(0, o.end_time - o.start_time) / 1000.0 END"
        }
        (MetricsView::Observations, Measure::TotalCost) => "o.total_cost",
        (MetricsView::Observations, Measure::TotalTokens) => "CAST(o.usage_total AS REAL)",
        (MetricsView::Observations, Measure::InputTokens) => "CAST(o.usage_input AS REAL)",
        (MetricsView::Observations, Measure::OutputTokens) => "CAST(o.usage_output AS REAL)",
        (MetricsView::Observations, Measure::StartTime) => "o.start_time / 1000.0",
        (_, Measure::Value) => "CAST(json_extract(s.body, '$.value') AS REAL)",
        _ => "NULL",
    }
}

/// Returns the time column of `view`.
fn time_sql(view: MetricsView) -> &'static str {
    match view {
        MetricsView::Traces => "x.time",
        MetricsView::Observations => "o.start_time",
        MetricsView::ScoresNumeric | MetricsView::ScoresCategorical => "s.timestamp",
    }
}

/// Returns the start of the bucket of `time` (unix µs), rounding down also before 1970.
fn bucket_sql(time: &str, granularity: Granularity) -> String {
    let floor = |unit: i64| format!("({time} - ((({time} % {unit}) + {unit}) % {unit}))");
    let day = 86_400_000_000_i64;
    match granularity {
        Granularity::Minute => floor(60_000_000),
        Granularity::Hour => floor(3_600_000_000),
        Granularity::Day => floor(day),
        // Day 0 (1970-01-01) was a Thursday: (day + 3) mod 7 days have passed since Monday.
        Granularity::Week => {
            let days = format!("({} / {day})", floor(day));
            format!("(({days} - ((({days} + 3) % 7) + 7) % 7) * {day})")
        }
        Granularity::Month => format!(
            "(unixepoch(strftime('%Y-%m-01', {} / 1000000, 'unixepoch')) * 1000000)",
            floor(day)
        ),
    }
}

/// Appends the FROM clause and the conditions every row of the view satisfies.
fn push_source<'a>(query: &mut QueryBuilder<'a, Sqlite>, project_id: &'a str, q: &MetricsQuery) {
    let (from, to) = (q.from_timestamp, q.to_timestamp);
    match q.view {
        MetricsView::Traces => {
            query
                .push(" FROM (")
                .push(TRACE_TOTALS)
                .push_bind(project_id);
            push_time_range(query, "t.timestamp", from, to);
            query.push(" GROUP BY t.id) x");
            if q.dimensions.contains(&MetricsField::Tags) {
                query.push(" JOIN trace_tags tt ON tt.project_id = ");
                query.push_bind(project_id).push(" AND tt.trace_id = x.id");
            }
            query.push(" WHERE 1 = 1");
        }
        MetricsView::Observations => {
            query.push(" FROM observations o WHERE o.project_id = ");
            query.push_bind(project_id);
            query.push(" AND o.start_time IS NOT NULL");
            push_time_range(query, "o.start_time", from, to);
        }
        MetricsView::ScoresNumeric | MetricsView::ScoresCategorical => {
            let types = if q.view == MetricsView::ScoresNumeric {
                "('NUMERIC', 'BOOLEAN')"
            } else {
                "('CATEGORICAL', 'BOOLEAN')"
            };
            query
                .push(" FROM scores s WHERE s.project_id = ")
                .push_bind(project_id);
            query.push(format!(" AND s.data_type IN {types}"));
            push_time_range(query, "s.timestamp", from, to);
        }
    }
}

/// Appends `(?, ?, ...)`.
fn push_list<'a>(query: &mut QueryBuilder<'a, Sqlite>, values: &'a [String]) {
    query.push("(");
    let mut list = query.separated(", ");
    for value in values {
        list.push_bind(value.as_str());
    }
    list.push_unseparated(")");
}

/// Appends the query's filters as ` AND ...` conditions.
fn push_filters<'a>(
    query: &mut QueryBuilder<'a, Sqlite>,
    project_id: &'a str,
    q: &'a MetricsQuery,
) {
    for filter in &q.filters {
        if filter.field == MetricsField::Tags {
            push_tag_filter(query, project_id, &filter.condition);
            continue;
        }
        let column = field_sql(q.view, filter.field);
        match &filter.condition {
            FieldCondition::Equals(value) => {
                query
                    .push(format!(" AND {column} = "))
                    .push_bind(value.as_str());
            }
            FieldCondition::NotEquals(value) => {
                query.push(format!(" AND ({column} IS NULL OR {column} <> "));
                query.push_bind(value.as_str()).push(")");
            }
            FieldCondition::AnyOf(values) | FieldCondition::AllOf(values) => {
                query.push(format!(" AND {column} IN "));
                push_list(query, values);
            }
            FieldCondition::NoneOf(values) => {
                query.push(format!(" AND ({column} IS NULL OR {column} NOT IN "));
                push_list(query, values);
                query.push(")");
            }
        }
    }
}

/// Appends a condition on the tag set of trace `x.id`.
fn push_tag_filter<'a>(
    query: &mut QueryBuilder<'a, Sqlite>,
    project_id: &'a str,
    condition: &'a FieldCondition,
) {
    let has_any = |query: &mut QueryBuilder<'a, Sqlite>, negate: bool, values: &'a [String]| {
        query.push(if negate {
            " AND NOT EXISTS"
        } else {
            " AND EXISTS"
        });
        query.push(" (SELECT 1 FROM trace_tags g WHERE g.project_id = ");
        query
            .push_bind(project_id)
            .push(" AND g.trace_id = x.id AND g.tag IN ");
        push_list(query, values);
        query.push(")");
    };
    match condition {
        FieldCondition::AnyOf(values) => has_any(query, false, values),
        FieldCondition::NoneOf(values) => has_any(query, true, values),
        FieldCondition::AllOf(values) => {
            for value in values {
                has_any(query, false, std::slice::from_ref(value));
            }
        }
        // Rejected by `MetricsQuery::validate`.
        FieldCondition::Equals(_) | FieldCondition::NotEquals(_) => {
            query.push(" AND 0 = 1");
        }
    }
}

/// Runs a metrics query.
pub(crate) async fn query_metrics(
    pool: &SqlitePool,
    project_id: &str,
    q: &MetricsQuery,
) -> BackendResult<Vec<MetricsRow>> {
    let mut query = QueryBuilder::<Sqlite>::new("SELECT ");
    let mut keys = Vec::new();
    for (index, field) in q.dimensions.iter().enumerate() {
        query.push(format!("{} AS d{index}, ", field_sql(q.view, *field)));
        keys.push(format!("d{index}"));
    }
    match q.granularity {
        Some(granularity) => {
            let bucket = bucket_sql(time_sql(q.view), granularity);
            query.push(format!("{bucket} AS bucket"));
            keys.push("bucket".to_owned());
        }
        None => {
            query.push("NULL AS bucket");
        }
    }
    for (index, metric) in q.metrics.iter().enumerate() {
        query.push(format!(
            ", {} AS m{index}",
            measure_sql(q.view, metric.measure)
        ));
    }
    push_source(&mut query, project_id, q);
    push_filters(&mut query, project_id, q);
    if !keys.is_empty() {
        query.push(format!(" ORDER BY {}", keys.join(", ")));
    }
    let stream = query.build().fetch(pool);
    let mut rows = fold_groups(stream, q).await?;
    rows.sort_by(|a, b| periscope_core::store::compare_rows(&q.order_by, a, b));
    rows.truncate(usize::try_from(q.row_limit).unwrap_or(usize::MAX));
    Ok(rows)
}
