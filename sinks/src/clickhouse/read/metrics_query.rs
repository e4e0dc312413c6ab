//! `TraceStore::query_metrics` on ClickHouse: one `GROUP BY` query over the newest version of
//! each row of the view, ordered and limited in SQL. Percentiles use
//! `quantileExactInclusive`, which interpolates exactly as the SQLite store does
//! (docs/adr/0018-metrics-api.md).

use chrono::DateTime;
use clickhouse::{Client, Row};
use periscope_core::error::BackendResult;
use periscope_core::store::{
    Aggregation, FieldCondition, Granularity, Measure, MetricsField, MetricsQuery, MetricsRow,
    MetricsView, OrderKey, TraceFilter,
};
use serde::Deserialize;

use super::traces::push_filtered_traces;
use super::{no_filter, push_latest, push_time_range};
use crate::clickhouse::connect::{ch_error, corrupt};
use crate::clickhouse::sql::Sql;

/// Observation columns every observation metric may read (`body` only for prompt fields).
const OBSERVATION_COLUMNS: &str = "id, trace_id, type, name, start_time, end_time, level, \
    version, environment, model, total_cost, usage_input, usage_output, usage_total";

/// Per-trace observation totals joined to each trace of the trace view.
const OBSERVATION_TOTALS: &str = "SELECT trace_id, min(start_time) AS first_start, \
    max(end_time) AS last_end, sum(total_cost) AS cost, sum(usage_total) AS tokens, \
    sum(usage_input) AS input, sum(usage_output) AS output FROM (";

#[derive(Debug, Row, Deserialize)]
struct MetricsLine {
    dimensions: Vec<Option<String>>,
    bucket: Option<i64>,
    metrics: Vec<Option<f64>>,
}

/// Returns the SQL of `field` in `view` (rows of the view's source, [`push_source`]).
fn field_sql(view: MetricsView, field: MetricsField) -> &'static str {
    use MetricsField::*;
    match (view, field) {
        (MetricsView::Traces, Name) => "name",
        (MetricsView::Traces, UserId) => "user_id",
        (MetricsView::Traces, SessionId) => "session_id",
        (MetricsView::Traces, Environment) => "environment",
        (MetricsView::Traces, Release) => "release",
        (MetricsView::Traces, Version) => "version",
        (MetricsView::Traces, Tags) => "arrayJoin(tags)",
        (MetricsView::Observations, Name) => "name",
        (MetricsView::Observations, Environment) => "environment",
        (MetricsView::Observations, Version) => "version",
        (MetricsView::Observations, Type) => "type",
        (MetricsView::Observations, Model) => "model",
        (MetricsView::Observations, Level) => "level",
        (MetricsView::Observations, PromptName) => {
            "JSONExtract(body, 'promptName', 'Nullable(String)')"
        }
        (MetricsView::Observations, PromptVersion) => {
            "toString(JSONExtract(body, 'promptVersion', 'Nullable(Int64)'))"
        }
        (_, Name) => "name",
        (_, Environment) => "environment",
        (_, Source) => "source",
        (_, DataType) => "data_type",
        (_, StringValue) => "JSONExtract(body, 'stringValue', 'Nullable(String)')",
        // `MetricsQuery::validate` rejects every other pair.
        _ => "CAST(NULL, 'Nullable(String)')",
    }
}

/// Returns the SQL of `field` as a plain nullable string, whatever its column type.
fn nullable_field_sql(view: MetricsView, field: MetricsField) -> String {
    format!("CAST({}, 'Nullable(String)')", field_sql(view, field))
}

/// Returns the SQL of `measure` in `view` as `Nullable(Float64)`.
fn measure_sql(view: MetricsView, measure: Measure) -> &'static str {
    match (view, measure) {
        (_, Measure::Count) => "toNullable(toFloat64(1))",
        (MetricsView::Traces, Measure::Latency) => {
            "if(first_start IS NULL OR last_end IS NULL, NULL, greatest(toInt64(0), \
                toUnixTimestamp64Micro(last_end) - toUnixTimestamp64Micro(first_start)) / 1000.0)"
        }
        (MetricsView::Traces, Measure::TotalCost) => "toNullable(ifNull(cost, 0.0))",
        (MetricsView::Traces, Measure::TotalTokens) => "toNullable(toFloat64(ifNull(tokens, 0)))",
        (MetricsView::Traces, Measure::InputTokens) => "toNullable(toFloat64(ifNull(input, 0)))",
        (MetricsView::Traces, Measure::OutputTokens) => "toNullable(toFloat64(ifNull(output, 0)))",
        (MetricsView::Observations, Measure::Latency) => {
            "if(end_time IS NULL, NULL, greatest(toInt64(0), \
                toUnixTimestamp64Micro(end_time) - toUnixTimestamp64Micro(start_time)) / 1000.0)"
        }
        (MetricsView::Observations, Measure::TotalCost) => "total_cost",
        (MetricsView::Observations, Measure::TotalTokens) => "toFloat64(usage_total)",
        (MetricsView::Observations, Measure::InputTokens) => "toFloat64(usage_input)",
        (MetricsView::Observations, Measure::OutputTokens) => "toFloat64(usage_output)",
        (MetricsView::Observations, Measure::StartTime) => {
            "toUnixTimestamp64Micro(start_time) / 1000.0"
        }
        (_, Measure::Value) => "JSONExtract(body, 'value', 'Nullable(Float64)')",
        _ => "CAST(NULL, 'Nullable(Float64)')",
    }
}

/// Returns the aggregate of column `m{index}`.
fn aggregate_sql(aggregation: Aggregation, index: usize) -> String {
    let column = format!("m{index}");
    match aggregation {
        Aggregation::Count => format!("count({column})"),
        Aggregation::Sum => format!("sum({column})"),
        Aggregation::Avg => format!("avg({column})"),
        Aggregation::Min => format!("min({column})"),
        Aggregation::Max => format!("max({column})"),
        Aggregation::Percentile(level) => {
            format!("quantileExactInclusive({})({column})", level.level())
        }
    }
}

/// Returns the start of the bucket of `time` in unix µs (times after 1970).
fn bucket_sql(time: &str, granularity: Granularity) -> String {
    let micros = format!("toUnixTimestamp64Micro({time})");
    let day = 86_400_000_000_i64;
    match granularity {
        Granularity::Minute => format!("intDiv({micros}, 60000000) * 60000000"),
        Granularity::Hour => format!("intDiv({micros}, 3600000000) * 3600000000"),
        Granularity::Day => format!("intDiv({micros}, {day}) * {day}"),
        // Day 0 (1970-01-01) was a Thursday: (day + 3) mod 7 days have passed since Monday.
        Granularity::Week => {
            let days = format!("intDiv({micros}, {day})");
            format!("({days} - (({days} + 3) % 7)) * {day}")
        }
        Granularity::Month => format!("toInt64(toStartOfMonth({time})) * {day}"),
    }
}

/// Appends the newest rows of the view in the query's time range, aliased `x`.
fn push_source(sql: &mut Sql, project_id: &str, q: &MetricsQuery) {
    let (from, to) = (q.from_timestamp, q.to_timestamp);
    match q.view {
        MetricsView::Traces => {
            let traces = TraceFilter {
                from_timestamp: from,
                to_timestamp: to,
                ..TraceFilter::default()
            };
            sql.push(
                "(SELECT t.*, o.first_start AS first_start, o.last_end AS last_end, \
                    o.cost AS cost, o.tokens AS tokens, o.input AS input, o.output AS output \
                 FROM (",
            );
            push_filtered_traces(sql, project_id, &traces);
            sql.push(") AS t LEFT JOIN (");
            sql.push(OBSERVATION_TOTALS);
            let of_traces = |sql: &mut Sql| {
                sql.push(" AND trace_id IN (SELECT id FROM (");
                push_filtered_traces(sql, project_id, &traces);
                sql.push("))");
            };
            let columns = "trace_id, start_time, end_time, total_cost, usage_input, \
                usage_output, usage_total";
            push_latest(
                sql,
                "observations",
                columns,
                project_id,
                &of_traces,
                &no_filter,
            );
            sql.push(") GROUP BY trace_id) AS o ON o.trace_id = t.id) AS x");
            sql.push(" WHERE timestamp_source != 2");
        }
        MetricsView::Observations => {
            let prompt =
                q.uses_field(MetricsField::PromptName) || q.uses_field(MetricsField::PromptVersion);
            let columns = if prompt {
                format!("{OBSERVATION_COLUMNS}, body")
            } else {
                OBSERVATION_COLUMNS.to_owned()
            };
            let safe = move |sql: &mut Sql| push_time_range(sql, "timestamp", from, to);
            sql.push("(");
            push_latest(sql, "observations", &columns, project_id, &safe, &no_filter);
            sql.push(") AS x WHERE start_time IS NOT NULL");
            push_time_range(sql, "start_time", from, to);
        }
        MetricsView::ScoresNumeric | MetricsView::ScoresCategorical => {
            let columns = "id, name, data_type, source, environment, timestamp, body";
            let safe = move |sql: &mut Sql| push_time_range(sql, "timestamp", from, to);
            sql.push("(");
            push_latest(sql, "scores", columns, project_id, &safe, &no_filter);
            sql.push(if q.view == MetricsView::ScoresNumeric {
                ") AS x WHERE data_type IN ('NUMERIC', 'BOOLEAN')"
            } else {
                ") AS x WHERE data_type IN ('CATEGORICAL', 'BOOLEAN')"
            });
        }
    }
}

/// Appends the query's filters as ` AND ...` conditions.
fn push_filters(sql: &mut Sql, q: &MetricsQuery) {
    for filter in &q.filters {
        if filter.field == MetricsField::Tags {
            let (function, values) = match &filter.condition {
                FieldCondition::AnyOf(values) => ("hasAny", values),
                FieldCondition::AllOf(values) => ("hasAll", values),
                FieldCondition::NoneOf(values) => ("NOT hasAny", values),
                // Rejected by `MetricsQuery::validate`.
                FieldCondition::Equals(_) | FieldCondition::NotEquals(_) => {
                    sql.push(" AND 0 = 1");
                    continue;
                }
            };
            sql.push(&format!(" AND {function}(tags, "));
            sql.bind_texts(values);
            sql.push(")");
            continue;
        }
        let column = nullable_field_sql(q.view, filter.field);
        match &filter.condition {
            FieldCondition::Equals(value) => {
                sql.push(&format!(" AND ifNull({column} = "));
                sql.bind_text(value);
                sql.push(", 0)");
            }
            FieldCondition::NotEquals(value) => {
                sql.push(&format!(" AND ifNull({column} != "));
                sql.bind_text(value);
                sql.push(", 1)");
            }
            FieldCondition::AnyOf(values) | FieldCondition::AllOf(values) => {
                sql.push(&format!(" AND ifNull({column} IN "));
                sql.bind_texts(values);
                sql.push(", 0)");
            }
            FieldCondition::NoneOf(values) => {
                sql.push(&format!(" AND ifNull({column} NOT IN "));
                sql.bind_texts(values);
                sql.push(", 1)");
            }
        }
    }
}

/// Returns the ClickHouse query of `q`.
fn build(project_id: &str, q: &MetricsQuery) -> Sql {
    let dimensions: Vec<String> = (0..q.dimensions.len()).map(|i| format!("d{i}")).collect();
    let aggregates: Vec<String> = q
        .metrics
        .iter()
        .enumerate()
        .map(|(index, metric)| aggregate_sql(metric.aggregation, index))
        .collect();
    let grouped = !dimensions.is_empty() || q.granularity.is_some();
    let mut sql = Sql::new(&format!(
        "SELECT CAST([{}], 'Array(Nullable(String))') AS dimensions, {} AS bucket, \
            CAST([{}], 'Array(Nullable(Float64))') AS metrics FROM (SELECT ",
        dimensions.join(", "),
        if grouped {
            "bucket"
        } else {
            "CAST(NULL, 'Nullable(Int64)')"
        },
        aggregates.join(", ")
    ));
    for (index, field) in q.dimensions.iter().enumerate() {
        sql.push(&format!(
            "{} AS d{index}, ",
            nullable_field_sql(q.view, *field)
        ));
    }
    let time = match q.view {
        MetricsView::Traces | MetricsView::ScoresNumeric | MetricsView::ScoresCategorical => {
            "timestamp"
        }
        MetricsView::Observations => "assumeNotNull(start_time)",
    };
    match q.granularity {
        Some(granularity) => {
            sql.push(&format!(
                "toNullable({}) AS bucket",
                bucket_sql(time, granularity)
            ));
        }
        None => {
            sql.push("CAST(NULL, 'Nullable(Int64)') AS bucket");
        }
    }
    for (index, metric) in q.metrics.iter().enumerate() {
        let measure = measure_sql(q.view, metric.measure);
        sql.push(&format!(
            ", CAST({measure}, 'Nullable(Float64)') AS m{index}"
        ));
    }
    sql.push(" FROM ");
    push_source(&mut sql, project_id, q);
    push_filters(&mut sql, q);
    sql.push(")");
    let mut keys = dimensions.clone();
    keys.push("bucket".to_owned());
    if grouped {
        sql.push(&format!(" GROUP BY {}", keys.join(", ")));
    }
    let mut order: Vec<String> = q
        .order_by
        .iter()
        .map(|term| {
            let key = match term.key {
                OrderKey::Dimension(index) => format!("d{index}"),
                OrderKey::Metric(index) => format!("metrics[{}]", index + 1),
                OrderKey::Time => "bucket".to_owned(),
            };
            let direction = if term.descending { "DESC" } else { "ASC" };
            format!("{key} {direction} NULLS LAST")
        })
        .collect();
    order.push("bucket ASC NULLS LAST".to_owned());
    order.extend(dimensions.iter().map(|d| format!("{d} ASC NULLS LAST")));
    sql.push(&format!(" ORDER BY {} LIMIT ", order.join(", ")));
    sql.bind_count(q.row_limit);
    sql.push(" SETTINGS join_use_nulls = 1");
    sql
}

/// Runs a metrics query.
pub(crate) async fn query_metrics(
    client: &Client,
    project_id: &str,
    q: &MetricsQuery,
) -> BackendResult<Vec<MetricsRow>> {
    let lines = build(project_id, q)
        .query(client)
        .fetch_all::<MetricsLine>()
        .await
        .map_err(|error| ch_error("failed to run a metrics query", error))?;
    lines
        .into_iter()
        .map(|line| {
            let time_bucket = match line.bucket {
                Some(micros) => Some(
                    DateTime::from_timestamp_micros(micros)
                        .ok_or_else(|| corrupt(format!("time bucket {micros} is out of range")))?,
                ),
                None => None,
            };
            Ok(MetricsRow {
                dimensions: line.dimensions,
                time_bucket,
                metrics: line
                    .metrics
                    .into_iter()
                    .map(|value| value.filter(|value| !value.is_nan()))
                    .collect(),
            })
        })
        .collect()
}
