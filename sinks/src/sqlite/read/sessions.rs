//! Reading sessions: the traces of a project grouped by `session_id`.
//!
//! A session starts at its earliest trace (the trace timestamp, else the time the trace was
//! first seen) and takes that trace's environment.

use periscope_core::error::BackendResult;
use periscope_core::model::{Page, Session};
use periscope_core::store::{PageRequest, SessionFilter};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use super::fetch_count;
use super::traces::{TRACE_COLUMNS, decode_trace, with_derived_fields};
use crate::sqlite::columns::{get, get_time};
use crate::sqlite::connect::db_error;
use crate::sqlite::filters::{push_any_of, push_time_range, sql_integer};

/// One row per session. With a lone `MIN()` aggregate, SQLite takes the bare column
/// `environment` from the row holding the minimum, i.e. from the session's first trace.
const SESSIONS: &str = "SELECT t.session_id AS id, \
        MIN(COALESCE(t.timestamp, t.created_at)) AS created_at, t.environment AS environment \
    FROM traces t WHERE t.session_id IS NOT NULL AND t.project_id = ";

fn push_sessions<'a>(
    query: &mut QueryBuilder<'a, Sqlite>,
    project_id: &'a str,
    filter: &'a SessionFilter,
) {
    query.push(SESSIONS).push_bind(project_id);
    query.push(" GROUP BY t.session_id) s WHERE s.id IS NOT NULL");
    push_any_of(query, "s.environment", &filter.environments);
    push_time_range(
        query,
        "s.created_at",
        filter.from_timestamp,
        filter.to_timestamp,
    );
}

/// Returns a page of sessions (without traces), newest first.
pub(crate) async fn list_sessions(
    pool: &SqlitePool,
    project_id: &str,
    filter: &SessionFilter,
    page: PageRequest,
) -> BackendResult<Page<Session>> {
    let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM (");
    push_sessions(&mut count, project_id, filter);
    let total_items = fetch_count(pool, count, "failed to count sessions").await?;

    let mut query = QueryBuilder::<Sqlite>::new("SELECT s.id, s.created_at, s.environment FROM (");
    push_sessions(&mut query, project_id, filter);
    query.push(" ORDER BY s.created_at DESC, s.id DESC LIMIT ");
    query
        .push_bind(sql_integer(page.limit))
        .push(" OFFSET ")
        .push_bind(sql_integer(page.offset()));
    let rows = query
        .build()
        .fetch_all(pool)
        .await
        .map_err(|error| db_error("failed to list sessions", error))?;
    let items = rows
        .iter()
        .map(|row| {
            Ok(Session {
                id: get(row, "id")?,
                project_id: project_id.to_owned(),
                created_at: get_time(row, "created_at")?,
                environment: get(row, "environment")?,
                traces: Vec::new(),
            })
        })
        .collect::<BackendResult<Vec<_>>>()?;
    Ok(Page { items, total_items })
}

/// Returns one session with its traces, earliest first, as list views show them.
pub(crate) async fn get_session(
    pool: &SqlitePool,
    project_id: &str,
    session_id: &str,
) -> BackendResult<Option<Session>> {
    let rows = sqlx::query(&format!(
        "SELECT {TRACE_COLUMNS}, t.environment FROM traces t \
         WHERE t.project_id = ? AND t.session_id = ? \
         ORDER BY COALESCE(t.timestamp, t.created_at), t.id"
    ))
    .bind(project_id)
    .bind(session_id)
    .fetch_all(pool)
    .await
    .map_err(|error| db_error("failed to read session", error))?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let environment: String = get(first, "environment")?;
    let stored = rows
        .iter()
        .map(decode_trace)
        .collect::<BackendResult<Vec<_>>>()?;
    let created_at = stored
        .first()
        .map(|trace| trace.record.timestamp.unwrap_or(trace.created_at))
        .unwrap_or_default();
    let traces = with_derived_fields(pool, project_id, stored).await?;
    Ok(Some(Session {
        id: session_id.to_owned(),
        project_id: project_id.to_owned(),
        created_at,
        environment,
        traces,
    }))
}
