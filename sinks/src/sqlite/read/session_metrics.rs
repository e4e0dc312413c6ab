//! `TraceStore::session_metrics` on SQLite: three grouped queries for any number of sessions
//! (traces, their observations, the scores on them), never one query per session or trace.

use std::collections::BTreeMap;

use periscope_core::error::BackendResult;
use periscope_core::model::ScoreDataType;
use periscope_core::store::{ScoreSummary, SessionMetrics};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use crate::sqlite::columns::{from_micros, get};
use crate::sqlite::connect::{corrupt, db_error};

/// Sessions per query (bound parameters stay far below SQLite's limit).
const SESSIONS_PER_QUERY: usize = 200;

/// Appends `t.project_id = ? AND t.session_id IN (...)`.
fn push_sessions<'a>(query: &mut QueryBuilder<'a, Sqlite>, project_id: &'a str, ids: &'a [String]) {
    query.push("t.project_id = ").push_bind(project_id);
    query.push(" AND t.session_id IN (");
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(id.as_str());
    }
    list.push_unseparated(")");
}

/// Returns the totals of the sessions of `session_ids` that exist, by session id.
pub(crate) async fn session_metrics(
    pool: &SqlitePool,
    project_id: &str,
    session_ids: &[String],
) -> BackendResult<Vec<SessionMetrics>> {
    let mut sessions = BTreeMap::new();
    for chunk in session_ids.chunks(SESSIONS_PER_QUERY) {
        read_chunk(pool, project_id, chunk, &mut sessions).await?;
    }
    Ok(sessions.into_values().collect())
}

async fn read_chunk(
    pool: &SqlitePool,
    project_id: &str,
    ids: &[String],
    sessions: &mut BTreeMap<String, SessionMetrics>,
) -> BackendResult<()> {
    let mut query = QueryBuilder::<Sqlite>::new(
        "SELECT t.session_id AS id, COUNT(*) AS traces, \
            MIN(COALESCE(t.timestamp, t.created_at)) AS first, \
            MAX(COALESCE(t.timestamp, t.created_at)) AS last FROM traces t WHERE ",
    );
    push_sessions(&mut query, project_id, ids);
    query.push(" GROUP BY t.session_id");
    let rows = query
        .build()
        .fetch_all(pool)
        .await
        .map_err(|error| db_error("failed to read session traces", error))?;
    for row in &rows {
        let id: String = get(row, "id")?;
        let first = from_micros(get(row, "first")?, "first")?;
        let last = from_micros(get(row, "last")?, "last")?;
        let traces: i64 = get(row, "traces")?;
        sessions.insert(
            id.clone(),
            SessionMetrics {
                session_id: id,
                trace_count: u64::try_from(traces).unwrap_or(0),
                first_trace_at: first,
                last_activity_at: last,
                input_tokens: 0,
                output_tokens: 0,
                total_tokens: 0,
                total_cost: 0.0,
                scores: Vec::new(),
            },
        );
    }

    let mut query = QueryBuilder::<Sqlite>::new(
        "SELECT t.session_id AS id, TOTAL(o.total_cost) AS cost, \
            COALESCE(SUM(o.usage_input), 0) AS input, COALESCE(SUM(o.usage_output), 0) AS output, \
            COALESCE(SUM(o.usage_total), 0) AS total, \
            MAX(COALESCE(o.end_time, o.start_time)) AS last \
         FROM traces t JOIN observations o ON o.project_id = t.project_id AND o.trace_id = t.id \
         WHERE ",
    );
    push_sessions(&mut query, project_id, ids);
    query.push(" GROUP BY t.session_id");
    let rows = query
        .build()
        .fetch_all(pool)
        .await
        .map_err(|error| db_error("failed to read session observations", error))?;
    for row in &rows {
        let id: String = get(row, "id")?;
        let Some(session) = sessions.get_mut(&id) else {
            continue;
        };
        session.total_cost = get(row, "cost")?;
        session.input_tokens = get(row, "input")?;
        session.output_tokens = get(row, "output")?;
        session.total_tokens = get(row, "total")?;
        if let Some(last) = get::<Option<i64>>(row, "last")? {
            session.last_activity_at = session.last_activity_at.max(from_micros(last, "last")?);
        }
    }

    // A score counts once for its session, whether it names the session, a trace of it, or
    // both (`UNION` drops the duplicate row).
    let mut query = QueryBuilder::<Sqlite>::new(
        "SELECT sid AS id, name, data_type, COUNT(*) AS count, AVG(value) AS average FROM (\
            SELECT s.id, s.session_id AS sid, s.name, s.data_type, \
                CAST(json_extract(s.body, '$.value') AS REAL) AS value \
            FROM scores s WHERE s.project_id = ",
    );
    query.push_bind(project_id).push(" AND s.session_id IN (");
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(id.as_str());
    }
    list.push_unseparated(")");
    query.push(
        " UNION SELECT s.id, t.session_id AS sid, s.name, s.data_type, \
            CAST(json_extract(s.body, '$.value') AS REAL) AS value \
         FROM traces t JOIN scores s ON s.project_id = t.project_id AND s.trace_id = t.id \
         WHERE ",
    );
    push_sessions(&mut query, project_id, ids);
    query.push(") GROUP BY sid, name, data_type ORDER BY sid, name, data_type");
    let rows = query
        .build()
        .fetch_all(pool)
        .await
        .map_err(|error| db_error("failed to read session scores", error))?;
    for row in &rows {
        let id: String = get(row, "id")?;
        let Some(session) = sessions.get_mut(&id) else {
            continue;
        };
        let data_type: String = get(row, "data_type")?;
        let data_type = ScoreDataType::parse(&data_type)
            .ok_or_else(|| corrupt(format!("unknown score data type {data_type}")))?;
        let count: i64 = get(row, "count")?;
        let average: Option<f64> = get(row, "average")?;
        session.scores.push(ScoreSummary {
            name: get(row, "name")?,
            data_type,
            count: u64::try_from(count).unwrap_or(0),
            average: average.filter(|_| data_type != ScoreDataType::Categorical),
        });
    }
    Ok(())
}
