//! `TraceStore::session_metrics` on ClickHouse: three grouped queries over the newest row
//! versions for any number of sessions (traces, their observations, their scores).

use std::collections::BTreeMap;

use clickhouse::{Client, Row};
use periscope_core::error::BackendResult;
use periscope_core::model::ScoreDataType;
use periscope_core::store::{ScoreSummary, SessionMetrics};
use serde::Deserialize;

use super::traces::from_micros;
use super::{no_filter, push_latest};
use crate::clickhouse::connect::{ch_error, corrupt};
use crate::clickhouse::sql::Sql;

/// Sessions per query (the id list is one array parameter).
const SESSIONS_PER_QUERY: usize = 1_000;

#[derive(Debug, Row, Deserialize)]
struct TraceTotals {
    id: String,
    traces: u64,
    first: i64,
    last: i64,
}

#[derive(Debug, Row, Deserialize)]
struct ObservationTotals {
    id: String,
    cost: f64,
    input: i64,
    output: i64,
    total: i64,
    last: Option<i64>,
}

#[derive(Debug, Row, Deserialize)]
struct ScoreTotals {
    id: String,
    name: String,
    data_type: String,
    count: u64,
    average: Option<f64>,
}

/// Appends `(id, sid)` of the newest traces of the sessions.
fn push_session_traces(sql: &mut Sql, project_id: &str, ids: &[String]) {
    let of_sessions = |sql: &mut Sql| {
        sql.push(" AND session_id IN ");
        sql.bind_texts(ids);
    };
    sql.push("SELECT id, assumeNotNull(session_id) AS sid, timestamp FROM (");
    push_latest(
        sql,
        "traces",
        "id, session_id, timestamp",
        project_id,
        &no_filter,
        &of_sessions,
    );
    sql.push(")");
}

/// Returns the totals of the sessions of `session_ids` that exist, by session id.
pub(crate) async fn session_metrics(
    client: &Client,
    project_id: &str,
    session_ids: &[String],
) -> BackendResult<Vec<SessionMetrics>> {
    let mut sessions = BTreeMap::new();
    for chunk in session_ids.chunks(SESSIONS_PER_QUERY) {
        read_chunk(client, project_id, chunk, &mut sessions).await?;
    }
    Ok(sessions.into_values().collect())
}

async fn read_chunk(
    client: &Client,
    project_id: &str,
    ids: &[String],
    sessions: &mut BTreeMap<String, SessionMetrics>,
) -> BackendResult<()> {
    let mut sql = Sql::new(
        "SELECT sid AS id, count() AS traces, toUnixTimestamp64Micro(min(timestamp)) AS first, \
            toUnixTimestamp64Micro(max(timestamp)) AS last FROM (",
    );
    push_session_traces(&mut sql, project_id, ids);
    sql.push(") GROUP BY sid");
    let rows = sql
        .query(client)
        .fetch_all::<TraceTotals>()
        .await
        .map_err(|error| ch_error("failed to read session traces", error))?;
    for row in rows {
        sessions.insert(
            row.id.clone(),
            SessionMetrics {
                session_id: row.id,
                trace_count: row.traces,
                first_trace_at: from_micros(row.first, "first")?,
                last_activity_at: from_micros(row.last, "last")?,
                input_tokens: 0,
                output_tokens: 0,
                total_tokens: 0,
                total_cost: 0.0,
                scores: Vec::new(),
            },
        );
    }

    let of_traces = |sql: &mut Sql| {
        sql.push(" AND trace_id IN (SELECT id FROM (");
        push_session_traces(sql, project_id, ids);
        sql.push("))");
    };
    let mut sql = Sql::new(
        "SELECT t.sid AS id, sum(ifNull(o.total_cost, 0)) AS cost, \
            sum(ifNull(o.usage_input, 0)) AS input, sum(ifNull(o.usage_output, 0)) AS output, \
            sum(ifNull(o.usage_total, 0)) AS total, \
            toUnixTimestamp64Micro(max(coalesce(o.end_time, o.start_time))) AS last FROM (",
    );
    let columns = "trace_id, start_time, end_time, total_cost, usage_input, usage_output, \
        usage_total";
    push_latest(
        &mut sql,
        "observations",
        columns,
        project_id,
        &of_traces,
        &no_filter,
    );
    sql.push(") AS o INNER JOIN (");
    push_session_traces(&mut sql, project_id, ids);
    sql.push(") AS t ON o.trace_id = t.id GROUP BY t.sid");
    let rows = sql
        .query(client)
        .fetch_all::<ObservationTotals>()
        .await
        .map_err(|error| ch_error("failed to read session observations", error))?;
    for row in rows {
        let Some(session) = sessions.get_mut(&row.id) else {
            continue;
        };
        session.total_cost = row.cost;
        session.input_tokens = row.input;
        session.output_tokens = row.output;
        session.total_tokens = row.total;
        if let Some(last) = row.last {
            session.last_activity_at = session.last_activity_at.max(from_micros(last, "last")?);
        }
    }

    read_scores(client, project_id, ids, sessions).await
}

/// Adds the scores on each session and on its traces, each score counted once.
async fn read_scores(
    client: &Client,
    project_id: &str,
    ids: &[String],
    sessions: &mut BTreeMap<String, SessionMetrics>,
) -> BackendResult<()> {
    let columns = "id, trace_id, session_id, name, data_type, body";
    let value = "JSONExtract(s.body, 'value', 'Float64')";
    let of_sessions = |sql: &mut Sql| {
        sql.push(" AND session_id IN ");
        sql.bind_texts(ids);
    };
    let of_traces = |sql: &mut Sql| {
        sql.push(" AND trace_id IN (SELECT id FROM (");
        push_session_traces(sql, project_id, ids);
        sql.push("))");
    };
    let mut sql = Sql::new(
        "SELECT sid AS id, name, data_type, count() AS count, \
            CAST(avg(value), 'Nullable(Float64)') AS average FROM (\
            SELECT id, sid, any(name) AS name, any(data_type) AS data_type, any(value) AS value \
            FROM (",
    );
    sql.push(&format!(
        "SELECT s.id AS id, assumeNotNull(s.session_id) AS sid, s.name AS name, \
            toString(s.data_type) AS data_type, {value} AS value FROM ("
    ));
    push_latest(
        &mut sql,
        "scores",
        columns,
        project_id,
        &no_filter,
        &of_sessions,
    );
    sql.push(&format!(
        ") AS s UNION ALL SELECT s.id AS id, t.sid AS sid, s.name AS name, \
            toString(s.data_type) AS data_type, {value} AS value FROM ("
    ));
    push_latest(
        &mut sql, "scores", columns, project_id, &no_filter, &of_traces,
    );
    sql.push(") AS s INNER JOIN (");
    push_session_traces(&mut sql, project_id, ids);
    sql.push(
        ") AS t ON s.trace_id = t.id) GROUP BY id, sid) \
         GROUP BY sid, name, data_type ORDER BY sid, name, data_type",
    );
    let rows = sql
        .query(client)
        .fetch_all::<ScoreTotals>()
        .await
        .map_err(|error| ch_error("failed to read session scores", error))?;
    for row in rows {
        let Some(session) = sessions.get_mut(&row.id) else {
            continue;
        };
        let data_type = ScoreDataType::parse(&row.data_type)
            .ok_or_else(|| corrupt(format!("unknown score data type {}", row.data_type)))?;
        session.scores.push(ScoreSummary {
            name: row.name,
            data_type,
            count: row.count,
            average: row
                .average
                .filter(|_| data_type != ScoreDataType::Categorical),
        });
    }
    Ok(())
}
