//! Reading traces: one trace with its observations and scores, and filtered pages of traces
//! with the ids and aggregates the list views show.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use periscope_core::error::BackendResult;
use periscope_core::model::{
    ObservationRecord, Page, ScoreRecord, Trace, TraceRecord, merge_earliest,
};
use periscope_core::store::{PageRequest, SortOrder, TraceFilter, TraceOrderField};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use super::{IDS_PER_QUERY, fetch_count};
use crate::sqlite::columns::{
    get, get_body, get_optional_time, get_time, observation_total_cost, optional_micros,
};
use crate::sqlite::connect::db_error;
use crate::sqlite::filters::{push_trace_filter, sql_integer};

/// The columns every trace read selects, for `decode_trace`.
pub(crate) const TRACE_COLUMNS: &str = "t.timestamp, t.created_at, t.updated_at, t.body";

/// A trace row before the observation- and score-derived fields are added.
#[derive(Debug)]
pub(crate) struct StoredTrace {
    pub(crate) record: TraceRecord,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

/// Decodes a row selected with [`TRACE_COLUMNS`].
pub(crate) fn decode_trace(row: &SqliteRow) -> BackendResult<StoredTrace> {
    let mut record: TraceRecord = get_body(row)?;
    // The column holds the effective timestamp: the own one, else the earliest observation's.
    if record.timestamp.is_none() {
        record.timestamp = get_optional_time(row, "timestamp")?;
    }
    Ok(StoredTrace {
        record,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

/// What a trace's observations contribute to its view.
#[derive(Debug, Default)]
struct Derived {
    earliest_start: Option<i64>,
    latest_end: Option<i64>,
    total_cost: f64,
    observation_ids: Vec<String>,
}

impl Derived {
    fn add(&mut self, start: Option<i64>, end: Option<i64>, cost: Option<f64>) {
        merge_earliest(&mut self.earliest_start, start);
        self.latest_end = self.latest_end.max(end);
        self.total_cost += cost.unwrap_or(0.0);
    }

    /// Seconds from the earliest start to the latest end, when both are known.
    fn latency_seconds(&self) -> Option<f64> {
        let (start, end) = (self.earliest_start?, self.latest_end?);
        Some((end.saturating_sub(start)).max(0) as f64 / 1_000_000.0)
    }
}

fn into_trace(stored: StoredTrace, derived: Derived, score_ids: Vec<String>) -> Trace {
    Trace {
        record: stored.record,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
        latency_seconds: derived.latency_seconds(),
        total_cost: derived.total_cost,
        observation_ids: derived.observation_ids,
        score_ids,
        observations: Vec::new(),
        scores: Vec::new(),
    }
}

/// Returns one trace with its full observations (by start time) and scores.
pub(crate) async fn get_trace(
    pool: &SqlitePool,
    project_id: &str,
    trace_id: &str,
) -> BackendResult<Option<Trace>> {
    let context = "failed to read trace";
    // One read transaction, so the three reads see one snapshot: read apart, a batch committed
    // between them showed its observations under a trace synthesized without its record (no
    // name), although the record was written in the same batch.
    let mut snapshot = pool
        .begin()
        .await
        .map_err(|error| db_error(context, error))?;
    let row = sqlx::query(&format!(
        "SELECT {TRACE_COLUMNS} FROM traces t WHERE t.project_id = ? AND t.id = ?"
    ))
    .bind(project_id)
    .bind(trace_id)
    .fetch_optional(&mut *snapshot)
    .await
    .map_err(|error| db_error(context, error))?;
    let observations: Vec<ObservationRecord> = fetch_bodies(
        &mut snapshot,
        "SELECT body FROM observations WHERE project_id = ? AND trace_id = ? \
         ORDER BY start_time IS NULL, start_time, id",
        project_id,
        trace_id,
    )
    .await?;
    let scores: Vec<ScoreRecord> = fetch_bodies(
        &mut snapshot,
        "SELECT body FROM scores WHERE project_id = ? AND trace_id = ? ORDER BY timestamp, id",
        project_id,
        trace_id,
    )
    .await?;
    snapshot
        .commit()
        .await
        .map_err(|error| db_error(context, error))?;
    let stored = match row {
        Some(row) => decode_trace(&row)?,
        None => match synthesize_trace(project_id, trace_id, &observations) {
            Some(stored) => stored,
            None => return Ok(None),
        },
    };
    let mut derived = Derived::default();
    for observation in &observations {
        derived.add(
            optional_micros(observation.start_time),
            optional_micros(observation.end_time),
            observation_total_cost(observation),
        );
    }
    let mut trace = into_trace(stored, derived, Vec::new());
    trace.observations = observations;
    trace.scores = scores;
    Ok(Some(trace))
}

/// Returns a trace made from its observations alone (their trace record is not stored yet).
fn synthesize_trace(
    project_id: &str,
    trace_id: &str,
    observations: &[ObservationRecord],
) -> Option<StoredTrace> {
    let first = observations.first()?;
    let created_at = observations.iter().map(|o| o.event_time).min()?;
    let updated_at = observations.iter().map(|o| o.event_time).max()?;
    let record = TraceRecord {
        project_id: project_id.to_owned(),
        id: trace_id.to_owned(),
        timestamp: observations.iter().filter_map(|o| o.start_time).min(),
        environment: first.environment.clone(),
        event_time: updated_at,
        ..TraceRecord::default()
    };
    Some(StoredTrace {
        record,
        created_at,
        updated_at,
    })
}

async fn fetch_bodies<T: serde::de::DeserializeOwned>(
    snapshot: &mut sqlx::Transaction<'_, Sqlite>,
    sql: &str,
    project_id: &str,
    trace_id: &str,
) -> BackendResult<Vec<T>> {
    let rows = sqlx::query(sql)
        .bind(project_id)
        .bind(trace_id)
        .fetch_all(&mut **snapshot)
        .await
        .map_err(|error| db_error("failed to read the rows of a trace", error))?;
    rows.iter().map(get_body).collect()
}

/// Returns a page of traces matching `filter`, in the requested order.
pub(crate) async fn list_traces(
    pool: &SqlitePool,
    project_id: &str,
    filter: &TraceFilter,
    page: PageRequest,
) -> BackendResult<Page<Trace>> {
    let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM traces t");
    push_trace_filter(&mut count, project_id, filter);
    let total_items = fetch_count(pool, count, "failed to count traces").await?;

    let mut query = QueryBuilder::<Sqlite>::new(format!("SELECT {TRACE_COLUMNS} FROM traces t"));
    push_trace_filter(&mut query, project_id, filter);
    let column = match filter.order_by {
        TraceOrderField::Timestamp => "timestamp",
        TraceOrderField::Name => "name",
        TraceOrderField::UserId => "user_id",
        TraceOrderField::SessionId => "session_id",
        TraceOrderField::Release => "release",
        TraceOrderField::Version => "version",
    };
    let direction = match filter.order {
        SortOrder::Asc => "ASC",
        SortOrder::Desc => "DESC",
    };
    // The id breaks ties, so pages never overlap or skip rows.
    query.push(format!(
        " ORDER BY t.{column} {direction}, t.id {direction} LIMIT "
    ));
    query
        .push_bind(sql_integer(page.limit))
        .push(" OFFSET ")
        .push_bind(sql_integer(page.offset()));
    let rows = query
        .build()
        .fetch_all(pool)
        .await
        .map_err(|error| db_error("failed to list traces", error))?;
    let stored = rows
        .iter()
        .map(decode_trace)
        .collect::<BackendResult<Vec<_>>>()?;
    let items = with_derived_fields(pool, project_id, stored).await?;
    Ok(Page { items, total_items })
}

/// Adds observation ids, score ids, latency and cost to traces of one project, as list views
/// show them (ids only, no bodies).
pub(crate) async fn with_derived_fields(
    pool: &SqlitePool,
    project_id: &str,
    traces: Vec<StoredTrace>,
) -> BackendResult<Vec<Trace>> {
    let mut derived: HashMap<String, Derived> = HashMap::new();
    let mut score_ids: HashMap<String, Vec<String>> = HashMap::new();
    let ids: Vec<&str> = traces
        .iter()
        .map(|trace| trace.record.id.as_str())
        .collect();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT trace_id, id, start_time, end_time, total_cost FROM observations \
             WHERE project_id = ",
        );
        push_id_list(&mut query, project_id, chunk);
        query.push(" ORDER BY start_time IS NULL, start_time, id");
        let rows = query
            .build()
            .fetch_all(pool)
            .await
            .map_err(|error| db_error("failed to read observations of traces", error))?;
        for row in &rows {
            let entry = derived.entry(get(row, "trace_id")?).or_default();
            entry.add(
                get(row, "start_time")?,
                get(row, "end_time")?,
                get(row, "total_cost")?,
            );
            entry.observation_ids.push(get(row, "id")?);
        }

        let mut query =
            QueryBuilder::<Sqlite>::new("SELECT trace_id, id FROM scores WHERE project_id = ");
        push_id_list(&mut query, project_id, chunk);
        query.push(" ORDER BY timestamp, id");
        let rows = query
            .build()
            .fetch_all(pool)
            .await
            .map_err(|error| db_error("failed to read scores of traces", error))?;
        for row in &rows {
            score_ids
                .entry(get(row, "trace_id")?)
                .or_default()
                .push(get(row, "id")?);
        }
    }
    Ok(traces
        .into_iter()
        .map(|stored| {
            let id = stored.record.id.as_str();
            let derived = derived.remove(id).unwrap_or_default();
            let scores = score_ids.remove(id).unwrap_or_default();
            into_trace(stored, derived, scores)
        })
        .collect())
}

/// Appends `? AND trace_id IN (?, ...)`.
fn push_id_list<'a>(query: &mut QueryBuilder<'a, Sqlite>, project_id: &'a str, ids: &[&'a str]) {
    query.push_bind(project_id).push(" AND trace_id IN (");
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    list.push_unseparated(")");
}
