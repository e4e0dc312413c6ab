//! Reading sessions: the traces of a project grouped by `session_id`. A session starts at its
//! earliest trace (the trace timestamp, else the time the trace was first seen, which is what
//! the `timestamp` column holds then) and takes that trace's environment.

use clickhouse::{Client, Row};
use periscope_core::error::BackendResult;
use periscope_core::model::{Page, Session};
use periscope_core::store::{PageRequest, SessionFilter, TraceFilter};
use serde::Deserialize;

use super::traces::{TRACE_HEAD, TraceHead, from_micros, push_filtered_traces, traces_of_heads};
use super::{fetch_count, push_any_of, push_page, push_time_range};
use crate::clickhouse::connect::ch_error;
use crate::clickhouse::sql::Sql;

#[derive(Debug, Row, Deserialize)]
struct SessionRow {
    id: String,
    created_at: i64,
    environment: String,
}

/// Appends one row per session of the project matching `filter`.
fn push_sessions(sql: &mut Sql, project_id: &str, filter: &SessionFilter) {
    sql.push(
        "SELECT assumeNotNull(session_id) AS sid, min(timestamp) AS started, \
            argMin(environment, (timestamp, id)) AS env FROM (",
    );
    push_filtered_traces(sql, project_id, &TraceFilter::default());
    sql.push(") WHERE session_id IS NOT NULL GROUP BY session_id HAVING 1 = 1");
    push_any_of(sql, "env", &filter.environments);
    push_time_range(sql, "started", filter.from_timestamp, filter.to_timestamp);
}

/// Returns a page of sessions (without traces), newest first.
pub(crate) async fn list_sessions(
    client: &Client,
    project_id: &str,
    filter: &SessionFilter,
    page: PageRequest,
) -> BackendResult<Page<Session>> {
    let mut count = Sql::new("SELECT count() FROM (");
    push_sessions(&mut count, project_id, filter);
    count.push(")");
    let total_items = fetch_count(client, &count, "failed to count sessions").await?;

    let mut sql = Sql::new("SELECT sid AS id, started AS created_at, env AS environment FROM (");
    push_sessions(&mut sql, project_id, filter);
    sql.push(") ORDER BY started DESC, sid DESC");
    push_page(&mut sql, page.limit, page.offset());
    let rows = sql
        .query(client)
        .fetch_all::<SessionRow>()
        .await
        .map_err(|error| ch_error("failed to list sessions", error))?;
    let items = rows
        .into_iter()
        .map(|row| {
            Ok(Session {
                id: row.id,
                project_id: project_id.to_owned(),
                created_at: from_micros(row.created_at, "created_at")?,
                environment: row.environment,
                traces: Vec::new(),
            })
        })
        .collect::<BackendResult<Vec<_>>>()?;
    Ok(Page { items, total_items })
}

/// Returns one session with its traces, earliest first, as list views show them.
pub(crate) async fn get_session(
    client: &Client,
    project_id: &str,
    session_id: &str,
) -> BackendResult<Option<Session>> {
    let filter = TraceFilter {
        session_id: Some(session_id.to_owned()),
        ..TraceFilter::default()
    };
    let mut sql = Sql::new(&format!("SELECT {TRACE_HEAD} FROM ("));
    push_filtered_traces(&mut sql, project_id, &filter);
    sql.push(") ORDER BY timestamp, id");
    let heads = sql
        .query(client)
        .fetch_all::<TraceHead>()
        .await
        .map_err(|error| ch_error("failed to read session", error))?;
    let Some(first) = heads.first() else {
        return Ok(None);
    };
    let created_at = from_micros(first.timestamp, "timestamp")?;
    let environment = first.environment.clone();
    let traces = traces_of_heads(client, project_id, &heads).await?;
    Ok(Some(Session {
        id: session_id.to_owned(),
        project_id: project_id.to_owned(),
        created_at,
        environment,
        traces,
    }))
}
