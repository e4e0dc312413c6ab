//! Trace conditions on what lies outside the trace row: its observations (level, model, cost,
//! latency), its scores, and the text of its input and output.
//!
//! Each condition is `id IN (subquery)` over the newest live versions of the other table
//! ([`push_latest`]), so an observation or score whose newest version stopped matching no
//! longer selects its trace. A condition depends on the trace id only, never on the trace row's
//! version, so it holds for every version of a trace alike. Cost and latency use the
//! definitions of the list views (`derived::Derived`), so a trace matches exactly when the
//! numbers it is listed with lie in the range.

use periscope_core::model::ScoreDataType;
use periscope_core::store::{TraceFilter, ValueRange};

use super::{Filter, no_filter, push_latest, push_time_range};
use crate::clickhouse::sql::Sql;

/// The latency of the list views: seconds from the earliest start to the latest end, never
/// negative, NULL unless both are known. (`greatest` would skip a NULL argument.)
const LATENCY_SECONDS: &str = "if(min(start_time) IS NULL OR max(end_time) IS NULL, NULL, \
    if(max(end_time) < min(start_time), 0, \
    toUnixTimestamp64Micro(max(end_time)) - toUnixTimestamp64Micro(min(start_time))) \
    / 1000000.0)";

/// The cost of the list views: the sum of the observations' total costs.
const TOTAL_COST: &str = "sum(ifNull(total_cost, 0))";

/// Appends ` AND ...` for the observation, score and search conditions of `filter`.
pub(crate) fn push_derived_trace_filter(sql: &mut Sql, project_id: &str, filter: &TraceFilter) {
    if let Some(level) = filter.level {
        let at_level = |sql: &mut Sql| {
            sql.push(" AND level = ");
            sql.bind_text(level.as_str());
        };
        push_traces_of_observations(sql, project_id, filter, "level", &at_level);
    }
    if let Some(model) = filter.model.as_deref() {
        let of_model = |sql: &mut Sql| {
            sql.push(" AND model = ");
            sql.bind_text(model);
        };
        push_traces_of_observations(sql, project_id, filter, "model", &of_model);
    }
    if !filter.cost_range.is_open() {
        push_cost_condition(sql, project_id, filter);
    }
    if !filter.latency_range.is_open() {
        // An unknown start or end makes the latency NULL, which no range matches.
        sql.push(" AND id IN (SELECT trace_id FROM (");
        push_latest_observations(sql, project_id, filter, "start_time, end_time", &no_filter);
        sql.push(") GROUP BY trace_id HAVING ");
        push_within(sql, LATENCY_SECONDS, filter.latency_range);
        sql.push(")");
    }
    if let Some(name) = filter.score_name.as_deref() {
        push_score_condition(sql, project_id, name, filter.score_range);
    }
    if let Some(search) = filter.search.as_deref().filter(|search| !search.is_empty()) {
        push_search(sql, project_id, filter, search);
    }
}

/// Appends the newest live versions of the project's observations matching `condition`, with
/// the columns `id, trace_id, {columns}`. With a time range, only observations of traces that
/// have a version in it are read: a superset of the matching traces, and safe to apply before
/// picking the newest version because an observation's trace never changes.
fn push_latest_observations(
    sql: &mut Sql,
    project_id: &str,
    filter: &TraceFilter,
    columns: &str,
    condition: Filter<'_>,
) {
    let (from, to) = (filter.from_timestamp, filter.to_timestamp);
    let of_traces_in_range = |sql: &mut Sql| {
        if from.is_none() && to.is_none() {
            return;
        }
        sql.push(" AND trace_id IN (SELECT id FROM traces WHERE project_id = ");
        sql.bind_text(project_id);
        push_time_range(sql, "timestamp", from, to);
        sql.push(")");
    };
    push_latest(
        sql,
        "observations",
        &format!("id, trace_id, {columns}"),
        project_id,
        &of_traces_in_range,
        condition,
    );
}

/// Appends ` AND` the trace has an observation matching `condition` on `column`.
fn push_traces_of_observations(
    sql: &mut Sql,
    project_id: &str,
    filter: &TraceFilter,
    column: &str,
    condition: Filter<'_>,
) {
    sql.push(" AND id IN (SELECT trace_id FROM (");
    push_latest_observations(sql, project_id, filter, column, condition);
    sql.push("))");
}

/// Appends ` AND` the trace's cost lies in the range. A trace without observations costs 0:
/// when 0 is in the range, the condition excludes the traces whose cost is outside it instead
/// of selecting those whose cost is inside.
fn push_cost_condition(sql: &mut Sql, project_id: &str, filter: &TraceFilter) {
    let range = filter.cost_range;
    let zero_matches = range.contains(0.0);
    sql.push(if zero_matches {
        " AND id NOT IN (SELECT trace_id FROM ("
    } else {
        " AND id IN (SELECT trace_id FROM ("
    });
    push_latest_observations(sql, project_id, filter, "total_cost", &no_filter);
    sql.push(if zero_matches {
        ") GROUP BY trace_id HAVING NOT "
    } else {
        ") GROUP BY trace_id HAVING "
    });
    push_within(sql, TOTAL_COST, range);
    sql.push(")");
}

/// Appends ` AND` the trace has a score named `name`; with a range, a numeric or boolean one
/// (stored as 1/0) whose value lies in it. Scores have no value column: the value is read
/// from the body. A score's trace may change on upsert, so `trace_id` is no safe condition.
fn push_score_condition(sql: &mut Sql, project_id: &str, name: &str, range: ValueRange) {
    let matching = |sql: &mut Sql| {
        sql.push(" AND name = ");
        sql.bind_text(name);
        sql.push(" AND trace_id IS NOT NULL");
        if !range.is_open() {
            sql.push(" AND data_type IN ");
            sql.bind_texts(&[
                ScoreDataType::Numeric.as_str().to_owned(),
                ScoreDataType::Boolean.as_str().to_owned(),
            ]);
            sql.push(" AND ");
            push_within(sql, "JSONExtractFloat(body, 'value')", range);
        }
    };
    let columns = if range.is_open() {
        "id, trace_id, name"
    } else {
        "id, trace_id, name, data_type, body"
    };
    sql.push(" AND id IN (SELECT trace_id FROM (");
    push_latest(sql, "scores", columns, project_id, &no_filter, &matching);
    sql.push("))");
}

/// Appends ` AND` `search` within the JSON text of the newest version's input or output
/// (the full values in the body, not the truncated previews).
fn push_search(sql: &mut Sql, project_id: &str, filter: &TraceFilter, search: &str) {
    let (from, to) = (filter.from_timestamp, filter.to_timestamp);
    // The same safe condition as the trace list's own (a tombstone keeps the old key time).
    let in_range = move |sql: &mut Sql| push_time_range(sql, "timestamp", from, to);
    let containing = |sql: &mut Sql| {
        sql.push(" AND (positionCaseInsensitiveUTF8(JSONExtractRaw(body, 'input'), ");
        sql.bind_text(search);
        sql.push(") > 0 OR positionCaseInsensitiveUTF8(JSONExtractRaw(body, 'output'), ");
        sql.bind_text(search);
        sql.push(") > 0)");
    };
    sql.push(" AND id IN (SELECT id FROM (");
    push_latest(
        sql,
        "traces",
        "id, body",
        project_id,
        &in_range,
        &containing,
    );
    sql.push("))");
}

/// Appends `(expression within range)` as one condition (`(1)` for an open range).
fn push_within(sql: &mut Sql, expression: &str, range: ValueRange) {
    sql.push("(1");
    if let Some(min) = range.min {
        sql.push(&format!(" AND {expression} >= "));
        bind_float(sql, min);
    }
    if let Some(max) = range.max {
        sql.push(&format!(" AND {expression} <= "));
        bind_float(sql, max);
    }
    sql.push(")");
}

/// Appends a `Float64` parameter exactly: its bits travel as an integer, because parsing a
/// decimal text may round the last bit differently and break an inclusive bound.
fn bind_float(sql: &mut Sql, value: f64) {
    sql.push("reinterpretAsFloat64(");
    sql.bind_int(value.to_bits().cast_signed());
    sql.push(")");
}
