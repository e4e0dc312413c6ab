//! Evaluator backfills (`eval_backfills`, migration 8): their state, cursor and progress, and
//! the lease of the worker walking each one.
//!
//! Every change is one conditional statement: a worker's progress is saved only while it
//! still holds the backfill, and a pause or a cancel is seen (and the lease released) when
//! the worker saves its page, so it stops there without losing that page's progress.

use chrono::{DateTime, Utc};
use periscope_core::error::BackendResult;
use periscope_core::evals::backfill::{Backfill, BackfillProgress, BackfillState};
use periscope_core::model::Page;
use periscope_core::store::PageRequest;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Sqlite};

use super::{encode_json, json_column};
use crate::sqlite::columns::{get, get_optional_time, get_time, micros};
use crate::sqlite::connect::{Pools, corrupt, db_error};
use crate::sqlite::filters::sql_integer;

const COLUMNS: &str = "id, project_id, evaluator_id, evaluator_version, from_time, to_time, \
    filter, budget, estimate, state, reason, cursor, total, done, matched, emitted, skipped, \
    active_ms, created_at, started_at, updated_at, finished_at";

fn count(row: &SqliteRow, column: &str) -> BackendResult<u64> {
    Ok(u64::try_from(get::<i64>(row, column)?).unwrap_or(0))
}

fn decode(row: &SqliteRow) -> BackendResult<Backfill> {
    let state: String = get(row, "state")?;
    let cursor: Option<String> = get(row, "cursor")?;
    Ok(Backfill {
        id: get(row, "id")?,
        project_id: get(row, "project_id")?,
        evaluator_id: get(row, "evaluator_id")?,
        evaluator_version: get(row, "evaluator_version")?,
        from: get_time(row, "from_time")?,
        to: get_time(row, "to_time")?,
        filter: json_column(row, "filter")?,
        budget: json_column(row, "budget")?,
        estimate: json_column(row, "estimate")?,
        state: BackfillState::parse(&state)
            .ok_or_else(|| corrupt(format!("unknown backfill state {state:?}")))?,
        reason: get(row, "reason")?,
        cursor: match cursor {
            Some(_) => Some(json_column(row, "cursor")?),
            None => None,
        },
        total: count(row, "total")?,
        done: count(row, "done")?,
        matched: count(row, "matched")?,
        emitted: count(row, "emitted")?,
        skipped: count(row, "skipped")?,
        active_ms: count(row, "active_ms")?,
        created_at: get_time(row, "created_at")?,
        started_at: get_optional_time(row, "started_at")?,
        updated_at: get_time(row, "updated_at")?,
        finished_at: get_optional_time(row, "finished_at")?,
    })
}

pub(super) async fn create(pools: &Pools, backfill: &Backfill) -> BackendResult<()> {
    let cursor = backfill
        .cursor
        .as_ref()
        .map(|cursor| encode_json(cursor, "backfill cursor"))
        .transpose()?;
    sqlx::query(&format!(
        "INSERT INTO eval_backfills ({COLUMNS}) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&backfill.id)
    .bind(&backfill.project_id)
    .bind(&backfill.evaluator_id)
    .bind(backfill.evaluator_version)
    .bind(micros(backfill.from))
    .bind(micros(backfill.to))
    .bind(encode_json(&backfill.filter, "backfill filter")?)
    .bind(encode_json(&backfill.budget, "backfill budget")?)
    .bind(encode_json(&backfill.estimate, "backfill estimate")?)
    .bind(backfill.state.as_str())
    .bind(&backfill.reason)
    .bind(cursor)
    .bind(sql_integer(backfill.total))
    .bind(sql_integer(backfill.done))
    .bind(sql_integer(backfill.matched))
    .bind(sql_integer(backfill.emitted))
    .bind(sql_integer(backfill.skipped))
    .bind(sql_integer(backfill.active_ms))
    .bind(micros(backfill.created_at))
    .bind(backfill.started_at.map(micros))
    .bind(micros(backfill.updated_at))
    .bind(backfill.finished_at.map(micros))
    .execute(&pools.writer)
    .await
    .map_err(|error| db_error("failed to create backfill", error))?;
    Ok(())
}

pub(super) async fn get_one(
    pools: &Pools,
    project_id: &str,
    id: &str,
) -> BackendResult<Option<Backfill>> {
    // Progress changes every page: read from the writer so a poll never sees an old page.
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM eval_backfills WHERE project_id = ? AND id = ?"
    ))
    .bind(project_id)
    .bind(id)
    .fetch_optional(&pools.writer)
    .await
    .map_err(|error| db_error("failed to read backfill", error))?;
    row.as_ref().map(decode).transpose()
}

pub(super) async fn list(
    pools: &Pools,
    project_id: &str,
    evaluator_id: &str,
    page: PageRequest,
) -> BackendResult<Page<Backfill>> {
    let total: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM eval_backfills WHERE project_id = ? AND evaluator_id = ?",
    )
    .bind(project_id)
    .bind(evaluator_id)
    .fetch_one(&pools.reader)
    .await
    .map_err(|error| db_error("failed to count backfills", error))?;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM eval_backfills WHERE project_id = ? AND evaluator_id = ? \
         ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"
    ))
    .bind(project_id)
    .bind(evaluator_id)
    .bind(sql_integer(page.limit))
    .bind(sql_integer(page.offset()))
    .fetch_all(&pools.reader)
    .await
    .map_err(|error| db_error("failed to list backfills", error))?;
    Ok(Page {
        items: rows.iter().map(decode).collect::<BackendResult<_>>()?,
        total_items: u64::try_from(total).unwrap_or(0),
    })
}

pub(super) async fn transition(
    pools: &Pools,
    project_id: &str,
    id: &str,
    from: &[BackfillState],
    to: BackfillState,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> BackendResult<bool> {
    if from.is_empty() {
        return Ok(false);
    }
    let finished = to.is_final().then_some(micros(now));
    let mut query = QueryBuilder::<Sqlite>::new("UPDATE eval_backfills SET state = ");
    query
        .push_bind(to.as_str())
        .push(", reason = ")
        .push_bind(reason)
        .push(", updated_at = ")
        .push_bind(micros(now))
        .push(", finished_at = COALESCE(finished_at, ")
        .push_bind(finished)
        .push(") WHERE project_id = ")
        .push_bind(project_id)
        .push(" AND id = ")
        .push_bind(id)
        .push(" AND state IN (");
    let mut states = query.separated(", ");
    for state in from {
        states.push_bind(state.as_str());
    }
    states.push_unseparated(")");
    let moved = query
        .build()
        .execute(&pools.writer)
        .await
        .map_err(|error| db_error("failed to change backfill state", error))?;
    Ok(moved.rows_affected() > 0)
}

pub(super) async fn claim(
    pools: &Pools,
    owner: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> BackendResult<Option<Backfill>> {
    // One statement: SQLite runs it under the write lock, so two workers never claim the
    // same backfill.
    let row = sqlx::query(&format!(
        "UPDATE eval_backfills SET state = 'running', lease_owner = ?, lease_until = ?, \
            started_at = COALESCE(started_at, ?), updated_at = ? \
         WHERE id = (SELECT id FROM eval_backfills \
            WHERE state IN ('pending', 'running') AND (lease_until IS NULL OR lease_until < ?) \
            ORDER BY created_at, id LIMIT 1) \
         RETURNING {COLUMNS}"
    ))
    .bind(owner)
    .bind(micros(lease_until))
    .bind(micros(now))
    .bind(micros(now))
    .bind(micros(now))
    .fetch_optional(&pools.writer)
    .await
    .map_err(|error| db_error("failed to claim a backfill", error))?;
    row.as_ref().map(decode).transpose()
}

pub(super) async fn save_progress(
    pools: &Pools,
    id: &str,
    owner: &str,
    progress: &BackfillProgress,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> BackendResult<Option<BackfillState>> {
    let cursor = progress
        .cursor
        .as_ref()
        .map(|cursor| encode_json(cursor, "backfill cursor"))
        .transpose()?;
    let row = sqlx::query(
        "UPDATE eval_backfills SET cursor = ?, done = ?, matched = ?, emitted = ?, skipped = ?, \
            active_ms = ?, lease_until = CASE WHEN state = 'running' THEN ? END, updated_at = ? \
         WHERE id = ? AND lease_owner = ? AND state IN ('running', 'paused', 'cancelled') \
         RETURNING state",
    )
    .bind(cursor)
    .bind(sql_integer(progress.done))
    .bind(sql_integer(progress.matched))
    .bind(sql_integer(progress.emitted))
    .bind(sql_integer(progress.skipped))
    .bind(sql_integer(progress.active_ms))
    .bind(micros(lease_until))
    .bind(micros(now))
    .bind(id)
    .bind(owner)
    .fetch_optional(&pools.writer)
    .await
    .map_err(|error| db_error("failed to save backfill progress", error))?;
    let Some(row) = row else {
        return Ok(None);
    };
    let state: String = get(&row, "state")?;
    BackfillState::parse(&state)
        .map(Some)
        .ok_or_else(|| corrupt(format!("unknown backfill state {state:?}")))
}

pub(super) async fn finish(
    pools: &Pools,
    id: &str,
    owner: &str,
    state: BackfillState,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> BackendResult<bool> {
    let finished = sqlx::query(
        "UPDATE eval_backfills SET state = ?, reason = ?, lease_owner = NULL, \
            lease_until = NULL, updated_at = ?, finished_at = ? \
         WHERE id = ? AND lease_owner = ? AND state = 'running'",
    )
    .bind(state.as_str())
    .bind(reason)
    .bind(micros(now))
    .bind(micros(now))
    .bind(id)
    .bind(owner)
    .execute(&pools.writer)
    .await
    .map_err(|error| db_error("failed to finish backfill", error))?;
    Ok(finished.rows_affected() > 0)
}
