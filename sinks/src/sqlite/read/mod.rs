//! The read path of the trace store: one module per API resource. Every query runs on the
//! reader pool and is scoped to one project.

pub(crate) mod metrics;
pub(crate) mod metrics_groups;
pub(crate) mod metrics_query;
pub(crate) mod observations;
pub(crate) mod prompt_metrics;
pub(crate) mod scores;
pub(crate) mod session_metrics;
pub(crate) mod sessions;
pub(crate) mod traces;

use periscope_core::error::BackendResult;
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};

use super::connect::db_error;

/// Ids per `IN (...)` list of the per-page lookups.
const IDS_PER_QUERY: usize = 500;

/// Runs a `SELECT COUNT(...)` query.
async fn fetch_count(
    pool: &SqlitePool,
    mut query: QueryBuilder<'_, Sqlite>,
    context: &str,
) -> BackendResult<u64> {
    let count: i64 = query
        .build()
        .fetch_one(pool)
        .await
        .and_then(|row| row.try_get(0))
        .map_err(|error| db_error(context, error))?;
    Ok(u64::try_from(count).unwrap_or(0))
}
