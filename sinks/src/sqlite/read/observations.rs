//! Reading observations: by id, by page (newest start first) and by cursor.

use chrono::{DateTime, Utc};
use periscope_core::error::BackendResult;
use periscope_core::model::{ObservationRecord, Page};
use periscope_core::store::{ObservationCursor, ObservationFilter, PageRequest};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use super::fetch_count;
use crate::sqlite::columns::{get_body, micros};
use crate::sqlite::connect::db_error;
use crate::sqlite::filters::{push_observation_filter, sql_integer};

/// Returns one observation.
pub(crate) async fn get_observation(
    pool: &SqlitePool,
    project_id: &str,
    observation_id: &str,
) -> BackendResult<Option<ObservationRecord>> {
    let row = sqlx::query("SELECT body FROM observations WHERE project_id = ? AND id = ?")
        .bind(project_id)
        .bind(observation_id)
        .fetch_optional(pool)
        .await
        .map_err(|error| db_error("failed to read observation", error))?;
    row.as_ref().map(get_body).transpose()
}

/// Returns a page of observations matching `filter`, newest start time first.
pub(crate) async fn list_observations(
    pool: &SqlitePool,
    project_id: &str,
    filter: &ObservationFilter,
    page: PageRequest,
) -> BackendResult<Page<ObservationRecord>> {
    let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM observations o");
    push_observation_filter(&mut count, project_id, filter);
    let total_items = fetch_count(pool, count, "failed to count observations").await?;

    let mut query = QueryBuilder::<Sqlite>::new("SELECT o.body FROM observations o");
    push_observation_filter(&mut query, project_id, filter);
    query.push(" ORDER BY o.start_time DESC, o.id DESC LIMIT ");
    query
        .push_bind(sql_integer(page.limit))
        .push(" OFFSET ")
        .push_bind(sql_integer(page.offset()));
    let items = fetch(pool, query).await?;
    Ok(Page { items, total_items })
}

/// Returns up to `limit` observations strictly after `cursor` in `(start_time desc, id desc)`
/// order.
///
/// Observations without a start time come last; a cursor pointing at one of them carries
/// `DateTime::<Utc>::MIN_UTC` as its start time.
pub(crate) async fn list_observations_after(
    pool: &SqlitePool,
    project_id: &str,
    filter: &ObservationFilter,
    cursor: Option<&ObservationCursor>,
    limit: u64,
) -> BackendResult<Vec<ObservationRecord>> {
    let Some(cursor) = cursor else {
        let mut query = QueryBuilder::<Sqlite>::new("SELECT o.body FROM observations o");
        push_observation_filter(&mut query, project_id, filter);
        query
            .push(" ORDER BY o.start_time DESC, o.id DESC LIMIT ")
            .push_bind(sql_integer(limit));
        return fetch(pool, query).await;
    };
    let mut items = Vec::new();
    if cursor.start_time != DateTime::<Utc>::MIN_UTC {
        let mut query = QueryBuilder::<Sqlite>::new("SELECT o.body FROM observations o");
        push_observation_filter(&mut query, project_id, filter);
        // A row-value comparison lets SQLite seek the (start_time, id) index to the cursor.
        query
            .push(" AND (o.start_time, o.id) < (")
            .push_bind(micros(cursor.start_time));
        query.push(", ").push_bind(cursor.id.as_str()).push(")");
        query
            .push(" ORDER BY o.start_time DESC, o.id DESC LIMIT ")
            .push_bind(sql_integer(limit));
        items = fetch(pool, query).await?;
    }
    let remaining = limit.saturating_sub(items.len() as u64);
    if remaining > 0 {
        let mut query = QueryBuilder::<Sqlite>::new("SELECT o.body FROM observations o");
        push_observation_filter(&mut query, project_id, filter);
        query.push(" AND o.start_time IS NULL");
        if cursor.start_time == DateTime::<Utc>::MIN_UTC {
            query.push(" AND o.id < ").push_bind(cursor.id.as_str());
        }
        query
            .push(" ORDER BY o.id DESC LIMIT ")
            .push_bind(sql_integer(remaining));
        items.extend(fetch(pool, query).await?);
    }
    Ok(items)
}

async fn fetch(
    pool: &SqlitePool,
    mut query: QueryBuilder<'_, Sqlite>,
) -> BackendResult<Vec<ObservationRecord>> {
    let rows = query
        .build()
        .fetch_all(pool)
        .await
        .map_err(|error| db_error("failed to list observations", error))?;
    rows.iter().map(get_body).collect()
}
