//! Reading scores: by id and by page (newest timestamp first).

use periscope_core::error::BackendResult;
use periscope_core::model::{Page, ScoreRecord};
use periscope_core::store::{PageRequest, ScoreFilter};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use super::fetch_count;
use crate::sqlite::columns::get_body;
use crate::sqlite::connect::db_error;
use crate::sqlite::filters::{push_score_filter, sql_integer};

/// Returns one score.
pub(crate) async fn get_score(
    pool: &SqlitePool,
    project_id: &str,
    score_id: &str,
) -> BackendResult<Option<ScoreRecord>> {
    let row = sqlx::query("SELECT body FROM scores WHERE project_id = ? AND id = ?")
        .bind(project_id)
        .bind(score_id)
        .fetch_optional(pool)
        .await
        .map_err(|error| db_error("failed to read score", error))?;
    row.as_ref().map(get_body).transpose()
}

/// Returns a page of scores matching `filter`, newest first.
pub(crate) async fn list_scores(
    pool: &SqlitePool,
    project_id: &str,
    filter: &ScoreFilter,
    page: PageRequest,
) -> BackendResult<Page<ScoreRecord>> {
    let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM scores s");
    push_score_filter(&mut count, project_id, filter);
    let total_items = fetch_count(pool, count, "failed to count scores").await?;

    let mut query = QueryBuilder::<Sqlite>::new("SELECT s.body FROM scores s");
    push_score_filter(&mut query, project_id, filter);
    query.push(" ORDER BY s.timestamp DESC, s.id DESC LIMIT ");
    query
        .push_bind(sql_integer(page.limit))
        .push(" OFFSET ")
        .push_bind(sql_integer(page.offset()));
    let rows = query
        .build()
        .fetch_all(pool)
        .await
        .map_err(|error| db_error("failed to list scores", error))?;
    let items = rows
        .iter()
        .map(get_body)
        .collect::<BackendResult<Vec<_>>>()?;
    Ok(Page { items, total_items })
}
