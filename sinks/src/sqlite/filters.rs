//! `WHERE` clauses of the list queries, built with bound parameters only.
//!
//! Every clause starts with the project: no query can see another project's rows. Time ranges
//! are half-open, `from` inclusive and `to` exclusive, as in Langfuse's API.

mod trace_derived;

use chrono::{DateTime, Utc};
use periscope_core::store::{ObservationFilter, ScoreFilter, TraceFilter};
use sqlx::{QueryBuilder, Sqlite};

use self::trace_derived::push_derived_trace_filter;
use super::columns::micros;

/// Appends `AND {column} = ?` when `value` is set.
fn push_equal<'a>(query: &mut QueryBuilder<'a, Sqlite>, column: &str, value: Option<&'a str>) {
    if let Some(value) = value {
        query.push(format!(" AND {column} = ")).push_bind(value);
    }
}

/// Appends `AND {column} IN (...)` when `values` is not empty (any of them matches).
pub(crate) fn push_any_of<'a>(
    query: &mut QueryBuilder<'a, Sqlite>,
    column: &str,
    values: &'a [String],
) {
    if values.is_empty() {
        return;
    }
    query.push(format!(" AND {column} IN ("));
    let mut list = query.separated(", ");
    for value in values {
        list.push_bind(value.as_str());
    }
    list.push_unseparated(")");
}

/// Appends the half-open range `from <= column < to` for the bounds that are set.
pub(crate) fn push_time_range(
    query: &mut QueryBuilder<'_, Sqlite>,
    column: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) {
    if let Some(from) = from {
        query
            .push(format!(" AND {column} >= "))
            .push_bind(micros(from));
    }
    if let Some(to) = to {
        query
            .push(format!(" AND {column} < "))
            .push_bind(micros(to));
    }
}

/// Appends ` WHERE ...` for traces aliased `t`. Every tag of `filter.tags` must be present.
/// The conditions on observations, scores and input/output live in `trace_derived`.
pub(crate) fn push_trace_filter<'a>(
    query: &mut QueryBuilder<'a, Sqlite>,
    project_id: &'a str,
    filter: &'a TraceFilter,
) {
    query.push(" WHERE t.project_id = ").push_bind(project_id);
    push_equal(query, "t.user_id", filter.user_id.as_deref());
    push_equal(query, "t.name", filter.name.as_deref());
    push_equal(query, "t.session_id", filter.session_id.as_deref());
    push_equal(query, "t.release", filter.release.as_deref());
    push_equal(query, "t.version", filter.version.as_deref());
    for tag in &filter.tags {
        query
            .push(
                " AND EXISTS (SELECT 1 FROM trace_tags tt WHERE tt.project_id = t.project_id \
                 AND tt.trace_id = t.id AND tt.tag = ",
            )
            .push_bind(tag.as_str())
            .push(")");
    }
    push_any_of(query, "t.environment", &filter.environments);
    push_time_range(
        query,
        "t.timestamp",
        filter.from_timestamp,
        filter.to_timestamp,
    );
    push_derived_trace_filter(query, filter);
}

/// Appends ` WHERE ...` for observations aliased `o`.
pub(crate) fn push_observation_filter<'a>(
    query: &mut QueryBuilder<'a, Sqlite>,
    project_id: &'a str,
    filter: &'a ObservationFilter,
) {
    query.push(" WHERE o.project_id = ").push_bind(project_id);
    push_equal(query, "o.trace_id", filter.trace_id.as_deref());
    push_equal(
        query,
        "o.type",
        filter.observation_type.map(|kind| kind.as_str()),
    );
    push_equal(query, "o.name", filter.name.as_deref());
    push_equal(
        query,
        "o.parent_observation_id",
        filter.parent_observation_id.as_deref(),
    );
    push_equal(query, "o.level", filter.level.map(|level| level.as_str()));
    push_equal(query, "o.version", filter.version.as_deref());
    if let Some(user_id) = filter.user_id.as_deref() {
        push_trace_of_user(query, project_id, "o.trace_id", user_id);
    }
    push_any_of(query, "o.environment", &filter.environments);
    push_time_range(
        query,
        "o.start_time",
        filter.from_start_time,
        filter.to_start_time,
    );
}

/// Appends ` AND <trace_column> IN (the user's traces)`. An `IN` over the user's traces lets
/// SQLite start from the user index and probe the trace-id index, where a correlated `EXISTS`
/// made it walk every row of the project by time (seconds at a million observations).
fn push_trace_of_user<'a>(
    query: &mut QueryBuilder<'a, Sqlite>,
    project_id: &'a str,
    trace_column: &str,
    user_id: &'a str,
) {
    query
        .push(format!(
            " AND {trace_column} IN (SELECT id FROM traces WHERE project_id = "
        ))
        .push_bind(project_id)
        .push(" AND user_id = ")
        .push_bind(user_id)
        .push(")");
}

/// Appends ` WHERE ...` for scores aliased `s`.
pub(crate) fn push_score_filter<'a>(
    query: &mut QueryBuilder<'a, Sqlite>,
    project_id: &'a str,
    filter: &'a ScoreFilter,
) {
    query.push(" WHERE s.project_id = ").push_bind(project_id);
    push_equal(query, "s.trace_id", filter.trace_id.as_deref());
    push_equal(query, "s.observation_id", filter.observation_id.as_deref());
    push_equal(query, "s.session_id", filter.session_id.as_deref());
    push_equal(query, "s.dataset_run_id", filter.dataset_run_id.as_deref());
    push_equal(query, "s.name", filter.name.as_deref());
    push_equal(
        query,
        "s.data_type",
        filter.data_type.map(|kind| kind.as_str()),
    );
    push_equal(
        query,
        "s.source",
        filter.source.map(|source| source.as_str()),
    );
    push_equal(query, "s.config_id", filter.config_id.as_deref());
    if let Some(user_id) = filter.user_id.as_deref() {
        push_trace_of_user(query, project_id, "s.trace_id", user_id);
    }
    push_any_of(query, "s.environment", &filter.environments);
    push_time_range(
        query,
        "s.timestamp",
        filter.from_timestamp,
        filter.to_timestamp,
    );
}

/// Converts a page request's numbers to SQLite integers (saturating: a huge page is empty).
pub(crate) fn sql_integer(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
