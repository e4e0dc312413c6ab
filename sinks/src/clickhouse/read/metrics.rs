//! Daily metrics: per UTC day of the trace timestamp, the number of traces and observations,
//! their total cost, and usage per model.

use std::collections::HashMap;

use chrono::DateTime;
use clickhouse::{Client, Row};
use periscope_core::error::BackendResult;
use periscope_core::model::{DailyMetrics, DailyModelUsage, Page};
use periscope_core::store::{MetricsFilter, PageRequest, TraceFilter};
use serde::Deserialize;

use super::traces::push_filtered_traces;
use super::{fetch_count, no_filter, push_latest, push_page};
use crate::clickhouse::connect::{ch_error, corrupt};
use crate::clickhouse::sql::Sql;

/// Microseconds in one UTC day.
const MICROS_PER_DAY: i64 = 86_400_000_000;

#[derive(Debug, Row, Deserialize)]
struct DayRow {
    day: i32,
    traces: u64,
}

#[derive(Debug, Row, Deserialize)]
struct DayTotals {
    day: i32,
    observations: u64,
    cost: f64,
}

#[derive(Debug, Row, Deserialize)]
struct ModelUsage {
    day: i32,
    model: String,
    input: i64,
    output: i64,
    total: i64,
    observations: u64,
    traces: u64,
    cost: f64,
}

/// Appends the traces of the filter that have a timestamp, as `(id, day)`, optionally only
/// those of the days `[from_day, to_day]`.
fn push_trace_days(
    sql: &mut Sql,
    project_id: &str,
    traces: &TraceFilter,
    days: Option<(i32, i32)>,
) {
    sql.push("SELECT id, toInt32(toDate32(timestamp)) AS day FROM (");
    push_filtered_traces(sql, project_id, traces);
    sql.push(") WHERE timestamp_source != 2");
    if let Some((from_day, to_day)) = days {
        sql.push(" AND timestamp >= fromUnixTimestamp64Micro(");
        sql.bind_int(i64::from(from_day).saturating_mul(MICROS_PER_DAY));
        sql.push(", 'UTC') AND timestamp < fromUnixTimestamp64Micro(");
        sql.bind_int((i64::from(to_day) + 1).saturating_mul(MICROS_PER_DAY));
        sql.push(", 'UTC')");
    }
}

/// Appends the newest observations of the page's traces joined to their trace's day.
fn push_observations_of_days(
    sql: &mut Sql,
    project_id: &str,
    traces: &TraceFilter,
    days: (i32, i32),
    columns: &str,
) {
    sql.push("FROM (");
    let of_page_traces = |sql: &mut Sql| {
        sql.push(" AND trace_id IN (SELECT id FROM (");
        push_trace_days(sql, project_id, traces, Some(days));
        sql.push("))");
    };
    push_latest(
        sql,
        "observations",
        columns,
        project_id,
        &of_page_traces,
        &no_filter,
    );
    sql.push(") AS o INNER JOIN (");
    push_trace_days(sql, project_id, traces, Some(days));
    sql.push(") AS t ON o.trace_id = t.id");
}

/// Returns a page of days, newest first.
pub(crate) async fn daily_metrics(
    client: &Client,
    project_id: &str,
    filter: &MetricsFilter,
    page: PageRequest,
) -> BackendResult<Page<DailyMetrics>> {
    let traces = TraceFilter {
        name: filter.trace_name.clone(),
        user_id: filter.user_id.clone(),
        tags: filter.tags.clone(),
        environments: filter.environments.clone(),
        from_timestamp: filter.from_timestamp,
        to_timestamp: filter.to_timestamp,
        ..TraceFilter::default()
    };
    let mut count = Sql::new("SELECT uniqExact(day) FROM (");
    push_trace_days(&mut count, project_id, &traces, None);
    count.push(")");
    let total_items = fetch_count(client, &count, "failed to count metric days").await?;

    let mut sql = Sql::new("SELECT day, count() AS traces FROM (");
    push_trace_days(&mut sql, project_id, &traces, None);
    sql.push(") GROUP BY day ORDER BY day DESC");
    push_page(&mut sql, page.limit, page.offset());
    let rows = sql
        .query(client)
        .fetch_all::<DayRow>()
        .await
        .map_err(|error| ch_error("failed to read metric days", error))?;
    let mut days = Vec::with_capacity(rows.len());
    let mut index: HashMap<i32, usize> = HashMap::with_capacity(rows.len());
    for row in &rows {
        index.insert(row.day, days.len());
        days.push(DailyMetrics {
            date: format_day(row.day)?,
            count_traces: row.traces,
            count_observations: 0,
            total_cost: 0.0,
            usage: Vec::new(),
        });
    }
    let (Some(newest), Some(oldest)) = (rows.first(), rows.last()) else {
        return Ok(Page {
            items: days,
            total_items,
        });
    };
    // Days of one page are consecutive in day order, so one range selects exactly them.
    let range = (oldest.day, newest.day);

    let mut sql = Sql::new(
        "SELECT t.day AS day, count() AS observations, sum(ifNull(o.total_cost, 0)) AS cost ",
    );
    push_observations_of_days(&mut sql, project_id, &traces, range, "trace_id, total_cost");
    sql.push(" GROUP BY day");
    let totals = sql
        .query(client)
        .fetch_all::<DayTotals>()
        .await
        .map_err(|error| ch_error("failed to read daily observation totals", error))?;
    for row in totals {
        if let Some(&position) = index.get(&row.day) {
            days[position].count_observations = row.observations;
            days[position].total_cost = row.cost;
        }
    }

    let mut sql = Sql::new(
        "SELECT t.day AS day, assumeNotNull(o.model) AS model, \
            sum(ifNull(o.usage_input, 0)) AS input, sum(ifNull(o.usage_output, 0)) AS output, \
            sum(ifNull(o.usage_total, 0)) AS total, count() AS observations, \
            uniqExact(o.trace_id) AS traces, sum(ifNull(o.total_cost, 0)) AS cost ",
    );
    push_observations_of_days(
        &mut sql,
        project_id,
        &traces,
        range,
        "trace_id, model, usage_input, usage_output, usage_total, total_cost",
    );
    sql.push(" WHERE o.model IS NOT NULL GROUP BY day, model ORDER BY day, model");
    let usage = sql
        .query(client)
        .fetch_all::<ModelUsage>()
        .await
        .map_err(|error| ch_error("failed to read daily model usage", error))?;
    for row in usage {
        let Some(&position) = index.get(&row.day) else {
            continue;
        };
        days[position].usage.push(DailyModelUsage {
            model: row.model,
            input_usage: row.input,
            output_usage: row.output,
            total_usage: row.total,
            count_observations: row.observations,
            count_traces: row.traces,
            total_cost: row.cost,
        });
    }
    Ok(Page {
        items: days,
        total_items,
    })
}

/// Returns day number `day` (days since 1970-01-01) as `YYYY-MM-DD`.
fn format_day(day: i32) -> BackendResult<String> {
    i64::from(day)
        .checked_mul(86_400)
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        .map(|date| date.format("%Y-%m-%d").to_string())
        .ok_or_else(|| corrupt(format!("day number {day} is out of range")))
}
