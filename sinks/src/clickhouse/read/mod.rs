//! The read path. Every query is scoped to one project and reads the newest version of each
//! row itself ([`push_latest`]), so results never depend on whether background merges ran, and
//! no query uses `FINAL` over a range.

pub(crate) mod derived;
pub(crate) mod metrics;
pub(crate) mod metrics_query;
pub(crate) mod observations;
pub(crate) mod prompt_metrics;
pub(crate) mod scores;
pub(crate) mod session_metrics;
pub(crate) mod sessions;
pub(crate) mod trace_filters;
pub(crate) mod traces;

use chrono::{DateTime, Utc};
use clickhouse::Client;
use periscope_core::error::BackendResult;
use periscope_core::store::PageRequest;

use super::connect::ch_error;
use super::sql::Sql;

/// A filter fragment: appends ` AND ...` conditions on a table's columns, or nothing.
pub(crate) type Filter<'f> = &'f dyn Fn(&mut Sql);

/// Appends `SELECT {columns} FROM (newest version of each row) WHERE ...`: the newest live
/// version of every row of `project_id` in `table` that matches `filter`.
///
/// `safe` holds conditions that every version of a row (and every tombstone) satisfies when
/// the newest one does: the sorting-key time (a tombstone keeps the time of the version it
/// hides) and immutable columns, or under which a superseded version is always followed by a
/// tombstone: a trace's user and session (docs/adr/0022). They are applied before picking the
/// newest version. `filter` may test any column in `columns`: it first selects candidate ids
/// (any version matching), then is checked again on the newest version, so a row whose newest
/// version stopped matching is never returned.
pub(crate) fn push_latest(
    sql: &mut Sql,
    table: &str,
    columns: &str,
    project_id: &str,
    safe: Filter<'_>,
    filter: Filter<'_>,
) {
    let mut probe = Sql::new("");
    filter(&mut probe);
    push_latest_of(
        sql,
        table,
        columns,
        project_id,
        safe,
        filter,
        !probe.is_empty(),
    );
}

/// [`push_latest`] without the candidate step: for a `safe` selection so narrow (one trace,
/// one user's traces) that reading every version in it once costs less than reading it twice.
pub(crate) fn push_latest_narrow(
    sql: &mut Sql,
    table: &str,
    columns: &str,
    project_id: &str,
    safe: Filter<'_>,
    filter: Filter<'_>,
) {
    push_latest_of(sql, table, columns, project_id, safe, filter, false);
}

fn push_latest_of(
    sql: &mut Sql,
    table: &str,
    columns: &str,
    project_id: &str,
    safe: Filter<'_>,
    filter: Filter<'_>,
    filtered: bool,
) {
    sql.push(&format!(
        "SELECT {columns} FROM (SELECT {columns}, is_deleted FROM {table} WHERE project_id = "
    ));
    sql.bind_text(project_id);
    safe(sql);
    if filtered {
        sql.push(&format!(
            " AND id IN (SELECT id FROM {table} WHERE project_id = "
        ));
        sql.bind_text(project_id);
        safe(sql);
        filter(sql);
        sql.push(")");
    }
    sql.push(" ORDER BY row_version DESC LIMIT 1 BY id) WHERE is_deleted = 0");
    filter(sql);
}

/// Appends `AND {column} = ?` when `value` is set.
pub(crate) fn push_equal(sql: &mut Sql, column: &str, value: Option<&str>) {
    if let Some(value) = value {
        sql.push(&format!(" AND {column} = "));
        sql.bind_text(value);
    }
}

/// Appends `AND {column} IN (...)` when `values` is not empty (any of them matches).
pub(crate) fn push_any_of(sql: &mut Sql, column: &str, values: &[String]) {
    if !values.is_empty() {
        sql.push(&format!(" AND {column} IN "));
        sql.bind_texts(values);
    }
}

/// Appends the half-open range `from <= column < to` for the bounds that are set.
pub(crate) fn push_time_range(
    sql: &mut Sql,
    column: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) {
    if let Some(from) = from {
        sql.push(&format!(" AND {column} >= "));
        sql.bind_time(from);
    }
    if let Some(to) = to {
        sql.push(&format!(" AND {column} < "));
        sql.bind_time(to);
    }
}

/// Appends ` LIMIT ? OFFSET ?`.
pub(crate) fn push_page(sql: &mut Sql, limit: u64, offset: u64) {
    sql.push(" LIMIT ");
    sql.bind_count(limit);
    sql.push(" OFFSET ");
    sql.bind_count(offset);
}

/// Runs a query returning one count.
pub(crate) async fn fetch_count(client: &Client, sql: &Sql, context: &str) -> BackendResult<u64> {
    sql.query(client)
        .fetch_one::<u64>()
        .await
        .map_err(|error| ch_error(context, error))
}

/// Returns the total of a page read with `count() OVER () AS total`: carried by its first row,
/// or, for a page past the end (no row to carry it), counted by `SELECT count() FROM (rows)`
/// where `push_rows` appends the filtered rows.
pub(crate) async fn page_total(
    client: &Client,
    first_row_total: Option<u64>,
    page: PageRequest,
    push_rows: impl FnOnce(&mut Sql),
    context: &str,
) -> BackendResult<u64> {
    match first_row_total {
        Some(total) => Ok(total),
        None if page.offset() > 0 => {
            let mut count = Sql::new("SELECT count() FROM (");
            push_rows(&mut count);
            count.push(")");
            fetch_count(client, &count, context).await
        }
        None => Ok(0),
    }
}

/// A filter that adds nothing.
pub(crate) fn no_filter(_: &mut Sql) {}
