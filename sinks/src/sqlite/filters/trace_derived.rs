//! Trace conditions on what lies outside the trace row: its observations (level, model, cost,
//! latency), its scores, and the text of its input and output.
//!
//! Each condition is a subquery correlated on the trace (`t.project_id`, `t.id`), answered by
//! the `(project_id, trace_id, ...)` indexes of observations and scores. Observations and scores
//! are stored merged, one row per id, so every subquery sees their current values. Cost and
//! latency use the definitions of the list views (`read::traces::Derived`), so a trace matches
//! exactly when the numbers it is listed with lie in the range.

use periscope_core::model::ScoreDataType;
use periscope_core::store::{TraceFilter, ValueRange};
use sqlx::{QueryBuilder, Sqlite};

/// The observations of the trace `t`. The alias differs from the `o` of the queries that
/// join observations to traces.
const TRACE_OBSERVATIONS: &str =
    "FROM observations fo WHERE fo.project_id = t.project_id AND fo.trace_id = t.id";

/// The latency of the list views: seconds from the earliest start to the latest end, never
/// negative, NULL unless both are known (microseconds, as stored).
const LATENCY_SECONDS: &str = "(MAX(0, MAX(fo.end_time) - MIN(fo.start_time)) / 1000000.0)";

/// The cost of the list views: the sum of the observations' total costs, 0 without any.
const TOTAL_COST: &str = "TOTAL(fo.total_cost)";

/// Appends ` AND ...` for the observation, score and search conditions of `filter`, for
/// traces aliased `t`.
pub(crate) fn push_derived_trace_filter<'a>(
    query: &mut QueryBuilder<'a, Sqlite>,
    filter: &'a TraceFilter,
) {
    if let Some(level) = filter.level {
        query
            .push(format!(
                " AND EXISTS (SELECT 1 {TRACE_OBSERVATIONS} AND fo.level = "
            ))
            .push_bind(level.as_str())
            .push(")");
    }
    if let Some(model) = filter.model.as_deref() {
        query
            .push(format!(
                " AND EXISTS (SELECT 1 {TRACE_OBSERVATIONS} AND fo.model = "
            ))
            .push_bind(model)
            .push(")");
    }
    if !filter.cost_range.is_open() {
        push_aggregate_in_range(query, TOTAL_COST, filter.cost_range);
    }
    if !filter.latency_range.is_open() {
        // An unknown start or end makes the latency NULL, which no comparison matches.
        push_aggregate_in_range(query, LATENCY_SECONDS, filter.latency_range);
    }
    if let Some(name) = filter.score_name.as_deref() {
        push_score_condition(query, name, filter.score_range);
    }
    if let Some(search) = filter.search.as_deref().filter(|search| !search.is_empty()) {
        push_search(query, search);
    }
}

/// Appends ` AND` the aggregate `expression` over the trace's observations lies in `range`.
/// An aggregate without `GROUP BY` has its one row even when the trace has no observations.
fn push_aggregate_in_range(
    query: &mut QueryBuilder<'_, Sqlite>,
    expression: &str,
    range: ValueRange,
) {
    query.push(format!(
        " AND EXISTS (SELECT {expression} {TRACE_OBSERVATIONS} HAVING TRUE"
    ));
    push_range(query, expression, range);
    query.push(")");
}

/// Appends ` AND {expression} >= min AND {expression} <= max` for the bounds that are set.
fn push_range(query: &mut QueryBuilder<'_, Sqlite>, expression: &str, range: ValueRange) {
    if let Some(min) = range.min {
        query.push(format!(" AND {expression} >= ")).push_bind(min);
    }
    if let Some(max) = range.max {
        query.push(format!(" AND {expression} <= ")).push_bind(max);
    }
}

/// Appends ` AND` a score named `name` on the trace; with a range, only numeric and boolean
/// scores (stored as 1/0) whose value lies in it.
fn push_score_condition<'a>(
    query: &mut QueryBuilder<'a, Sqlite>,
    name: &'a str,
    range: ValueRange,
) {
    query
        .push(
            " AND EXISTS (SELECT 1 FROM scores fs WHERE fs.project_id = t.project_id \
             AND fs.trace_id = t.id AND fs.name = ",
        )
        .push_bind(name);
    if !range.is_open() {
        query
            .push(" AND fs.data_type IN (")
            .push_bind(ScoreDataType::Numeric.as_str())
            .push(", ")
            .push_bind(ScoreDataType::Boolean.as_str())
            .push(")");
        push_range(query, "json_extract(fs.body, '$.value')", range);
    }
    query.push(")");
}

/// Appends ` AND` `search` within the JSON text of the trace's input or output. `->` returns
/// a value as JSON text (a string keeps its quotes and escapes), the form the ClickHouse store
/// searches too. SQLite's `lower` folds ASCII letters only.
fn push_search<'a>(query: &mut QueryBuilder<'a, Sqlite>, search: &'a str) {
    query
        .push(" AND (instr(lower(t.body -> '$.input'), lower(")
        .push_bind(search)
        .push(")) > 0 OR instr(lower(t.body -> '$.output'), lower(")
        .push_bind(search)
        .push(")) > 0)");
}
