//! Evaluator backfills (`eval_backfills`, migration 8) in Postgres: their state, cursor and progress, and
//! the lease of the worker walking each one.
//!
//! Every change is one conditional statement (Postgres re-checks its condition against the
//! newest row version when two workers race): a worker's progress is saved only while it
//! still holds the backfill, and a pause or a cancel is seen (and the lease released) when
//! the worker saves its page, so it stops there without losing that page's progress.

use chrono::{DateTime, Utc};
use periscope_core::error::BackendResult;
use periscope_core::evals::backfill::{Backfill, BackfillProgress, BackfillState};
use periscope_core::model::Page;
use periscope_core::store::PageRequest;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::{encode_json, json_column};
use crate::postgres::connect::{
    corrupt, db_error, get, get_optional_time, get_time, micros, sql_integer,
};

const COLUMNS: &str = "id, project_id, evaluator_id, evaluator_version, from_time, to_time, \
    filter, budget, estimate, state, reason, cursor, total, done, matched, emitted, skipped, \
    active_ms, created_at, started_at, updated_at, finished_at";

fn count(row: &PgRow, column: &str) -> BackendResult<u64> {
    Ok(u64::try_from(get::<i64>(row, column)?).unwrap_or(0))
}

fn decode(row: &PgRow) -> BackendResult<Backfill> {
    let state: String = get(row, "state")?;
    let cursor: Option<Value> = get(row, "cursor")?;
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

pub(super) async fn create(pool: &PgPool, backfill: &Backfill) -> BackendResult<()> {
    let cursor = backfill
        .cursor
        .as_ref()
        .map(|cursor| encode_json(cursor, "backfill cursor"))
        .transpose()?;
    sqlx::query(&format!(
        "INSERT INTO eval_backfills ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
            $18, $19, $20, $21, $22)"
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
    .execute(pool)
    .await
    .map_err(|error| db_error("failed to create backfill", error))?;
    Ok(())
}

pub(super) async fn get_one(
    pool: &PgPool,
    project_id: &str,
    id: &str,
) -> BackendResult<Option<Backfill>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM eval_backfills WHERE project_id = $1 AND id = $2"
    ))
    .bind(project_id)
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(|error| db_error("failed to read backfill", error))?;
    row.as_ref().map(decode).transpose()
}

pub(super) async fn list(
    pool: &PgPool,
    project_id: &str,
    evaluator_id: &str,
    page: PageRequest,
) -> BackendResult<Page<Backfill>> {
    let total: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM eval_backfills WHERE project_id = $1 AND evaluator_id = $2",
    )
    .bind(project_id)
    .bind(evaluator_id)
    .fetch_one(pool)
    .await
    .map_err(|error| db_error("failed to count backfills", error))?;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM eval_backfills WHERE project_id = $1 AND evaluator_id = $2 \
         ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
    ))
    .bind(project_id)
    .bind(evaluator_id)
    .bind(sql_integer(page.limit))
    .bind(sql_integer(page.offset()))
    .fetch_all(pool)
    .await
    .map_err(|error| db_error("failed to list backfills", error))?;
    Ok(Page {
        items: rows.iter().map(decode).collect::<BackendResult<_>>()?,
        total_items: u64::try_from(total).unwrap_or(0),
    })
}

pub(super) async fn transition(
    pool: &PgPool,
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
    let mut query = QueryBuilder::<Postgres>::new("UPDATE eval_backfills SET state = ");
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
        .execute(pool)
        .await
        .map_err(|error| db_error("failed to change backfill state", error))?;
    Ok(moved.rows_affected() > 0)
}

pub(super) async fn claim(
    pool: &PgPool,
    owner: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> BackendResult<Option<Backfill>> {
    // One statement; `SKIP LOCKED` lets two workers claim two different backfills at once
    // instead of one waiting for the other's row.
    let row = sqlx::query(&format!(
        "UPDATE eval_backfills SET state = 'running', lease_owner = $1, lease_until = $2, \
            started_at = COALESCE(started_at, $3), updated_at = $3 \
         WHERE id = (SELECT id FROM eval_backfills \
            WHERE state IN ('pending', 'running') AND (lease_until IS NULL OR lease_until < $3) \
            ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING {COLUMNS}"
    ))
    .bind(owner)
    .bind(micros(lease_until))
    .bind(micros(now))
    .fetch_optional(pool)
    .await
    .map_err(|error| db_error("failed to claim a backfill", error))?;
    row.as_ref().map(decode).transpose()
}

pub(super) async fn save_progress(
    pool: &PgPool,
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
        "UPDATE eval_backfills SET cursor = $1, done = $2, matched = $3, emitted = $4, \
            skipped = $5, active_ms = $6, \
            lease_until = CASE WHEN state = 'running' THEN $7::BIGINT END, updated_at = $8 \
         WHERE id = $9 AND lease_owner = $10 AND state IN ('running', 'paused', 'cancelled') \
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
    .fetch_optional(pool)
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
    pool: &PgPool,
    id: &str,
    owner: &str,
    state: BackfillState,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> BackendResult<bool> {
    let finished = sqlx::query(
        "UPDATE eval_backfills SET state = $1, reason = $2, lease_owner = NULL, \
            lease_until = NULL, updated_at = $3, finished_at = $3 \
         WHERE id = $4 AND lease_owner = $5 AND state = 'running'",
    )
    .bind(state.as_str())
    .bind(reason)
    .bind(micros(now))
    .bind(id)
    .bind(owner)
    .execute(pool)
    .await
    .map_err(|error| db_error("failed to finish backfill", error))?;
    Ok(finished.rows_affected() > 0)
}
