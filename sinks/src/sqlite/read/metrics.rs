//! Daily metrics: per UTC day of the trace timestamp, the number of traces and observations,
//! their total cost, and usage per model.

use std::collections::HashMap;

use chrono::DateTime;
use periscope_core::error::BackendResult;
use periscope_core::model::{DailyMetrics, DailyModelUsage, Page};
use periscope_core::store::{MetricsFilter, PageRequest, TraceFilter};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use super::fetch_count;
use crate::sqlite::columns::{MICROS_PER_DAY, get};
use crate::sqlite::connect::{corrupt, db_error};
use crate::sqlite::filters::{push_trace_filter, sql_integer};

/// The UTC day number (days since 1970-01-01) of `t.timestamp`, rounded down also before 1970
/// (SQLite's `/` truncates towards zero).
const DAY: &str = "((t.timestamp - (((t.timestamp % 86400000000) + 86400000000) % 86400000000)) \
    / 86400000000)";

/// Observations joined to the filtered traces.
const JOIN_OBSERVATIONS: &str =
    " FROM traces t JOIN observations o ON o.project_id = t.project_id AND o.trace_id = t.id";

/// Returns a page of days, newest first.
pub(crate) async fn daily_metrics(
    pool: &SqlitePool,
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

    let mut count =
        QueryBuilder::<Sqlite>::new(format!("SELECT COUNT(DISTINCT {DAY}) FROM traces t"));
    push_trace_filter(&mut count, project_id, &traces);
    count.push(" AND t.timestamp IS NOT NULL");
    let total_items = fetch_count(pool, count, "failed to count metric days").await?;

    let mut query = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {DAY} AS day, COUNT(*) AS traces FROM traces t"
    ));
    push_trace_filter(&mut query, project_id, &traces);
    query.push(" AND t.timestamp IS NOT NULL GROUP BY day ORDER BY day DESC LIMIT ");
    query
        .push_bind(sql_integer(page.limit))
        .push(" OFFSET ")
        .push_bind(sql_integer(page.offset()));
    let rows = query
        .build()
        .fetch_all(pool)
        .await
        .map_err(|error| db_error("failed to read metric days", error))?;
    let mut days = Vec::with_capacity(rows.len());
    let mut index: HashMap<i64, usize> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let day: i64 = get(row, "day")?;
        index.insert(day, days.len());
        let count_traces: i64 = get(row, "traces")?;
        days.push(DailyMetrics {
            date: format_day(day)?,
            count_traces: u64::try_from(count_traces).unwrap_or(0),
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
    // Days of one page are consecutive in day order, so one time range selects exactly them.
    let from = get::<i64>(oldest, "day")?.saturating_mul(MICROS_PER_DAY);
    let to = (get::<i64>(newest, "day")? + 1).saturating_mul(MICROS_PER_DAY);

    let mut query = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {DAY} AS day, COUNT(*) AS observations, TOTAL(o.total_cost) AS cost \
         {JOIN_OBSERVATIONS}"
    ));
    push_page_filter(&mut query, project_id, &traces, from, to);
    query.push(" GROUP BY day");
    let rows = query
        .build()
        .fetch_all(pool)
        .await
        .map_err(|error| db_error("failed to read daily observation totals", error))?;
    for row in &rows {
        if let Some(&position) = index.get(&get::<i64>(row, "day")?) {
            let count: i64 = get(row, "observations")?;
            days[position].count_observations = u64::try_from(count).unwrap_or(0);
            days[position].total_cost = get(row, "cost")?;
        }
    }

    let mut query = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {DAY} AS day, o.model AS model, \
            COALESCE(SUM(o.usage_input), 0) AS input, COALESCE(SUM(o.usage_output), 0) AS output, \
            COALESCE(SUM(o.usage_total), 0) AS total, COUNT(*) AS observations, \
            COUNT(DISTINCT o.trace_id) AS traces, TOTAL(o.total_cost) AS cost \
         {JOIN_OBSERVATIONS}"
    ));
    push_page_filter(&mut query, project_id, &traces, from, to);
    query.push(" AND o.model IS NOT NULL GROUP BY day, o.model ORDER BY day, o.model");
    let rows = query
        .build()
        .fetch_all(pool)
        .await
        .map_err(|error| db_error("failed to read daily model usage", error))?;
    for row in &rows {
        let Some(&position) = index.get(&get::<i64>(row, "day")?) else {
            continue;
        };
        let observations: i64 = get(row, "observations")?;
        let traces: i64 = get(row, "traces")?;
        days[position].usage.push(DailyModelUsage {
            model: get(row, "model")?,
            input_usage: get(row, "input")?,
            output_usage: get(row, "output")?,
            total_usage: get(row, "total")?,
            count_observations: u64::try_from(observations).unwrap_or(0),
            count_traces: u64::try_from(traces).unwrap_or(0),
            total_cost: get(row, "cost")?,
        });
    }
    Ok(Page {
        items: days,
        total_items,
    })
}

/// Appends the trace filter restricted to the days `[from, to)` of the current page.
fn push_page_filter<'a>(
    query: &mut QueryBuilder<'a, Sqlite>,
    project_id: &'a str,
    traces: &'a TraceFilter,
    from: i64,
    to: i64,
) {
    push_trace_filter(query, project_id, traces);
    query.push(" AND t.timestamp >= ").push_bind(from);
    query.push(" AND t.timestamp < ").push_bind(to);
}

/// Returns day number `day` as `YYYY-MM-DD`.
fn format_day(day: i64) -> BackendResult<String> {
    day.checked_mul(86_400)
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        .map(|date| date.format("%Y-%m-%d").to_string())
        .ok_or_else(|| corrupt(format!("day number {day} is out of range")))
}
