//! `CommentStore` for [`PostgresMetaStore`]: comments (migration 5).

use async_trait::async_trait;
use periscope_core::comments::{Comment, CommentFilter, CommentObjectType, CommentStore};
use periscope_core::error::BackendResult;
use periscope_core::model::Page;
use periscope_core::store::PageRequest;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder};

use super::PostgresMetaStore;
use super::connect::{corrupt, db_error, get, get_time, micros, sql_integer};

const COLUMNS: &str =
    "id, project_id, object_type, object_id, content, author_user_id, created_at, updated_at";

fn decode(row: &PgRow) -> BackendResult<Comment> {
    let object_type: &str = get(row, "object_type")?;
    let object_type = CommentObjectType::parse(object_type)
        .ok_or_else(|| corrupt(format!("unknown comment object type {object_type:?}")))?;
    Ok(Comment {
        id: get(row, "id")?,
        project_id: get(row, "project_id")?,
        object_type,
        object_id: get(row, "object_id")?,
        content: get(row, "content")?,
        author_user_id: get(row, "author_user_id")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

/// Appends `WHERE project_id = … AND …` for the filter.
fn push_filter<'a>(
    query: &mut QueryBuilder<'a, Postgres>,
    project_id: &'a str,
    filter: &'a CommentFilter,
) {
    query.push(" WHERE project_id = ").push_bind(project_id);
    if let Some(object_type) = filter.object_type {
        query
            .push(" AND object_type = ")
            .push_bind(object_type.as_str());
    }
    if let Some(object_id) = &filter.object_id {
        query.push(" AND object_id = ").push_bind(object_id);
    }
    if let Some(author) = &filter.author_user_id {
        query.push(" AND author_user_id = ").push_bind(author);
    }
}

#[async_trait]
impl CommentStore for PostgresMetaStore {
    async fn create_comment(&self, comment: &Comment) -> BackendResult<()> {
        sqlx::query(&format!(
            "INSERT INTO comments ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&comment.id)
        .bind(&comment.project_id)
        .bind(comment.object_type.as_str())
        .bind(&comment.object_id)
        .bind(&comment.content)
        .bind(&comment.author_user_id)
        .bind(micros(comment.created_at))
        .bind(micros(comment.updated_at))
        .execute(&self.pool)
        .await
        .map_err(|error| db_error("failed to create comment", error))?;
        Ok(())
    }

    async fn get_comment(&self, project_id: &str, id: &str) -> BackendResult<Option<Comment>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM comments WHERE project_id = $1 AND id = $2"
        ))
        .bind(project_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|error| db_error("failed to read comment", error))?;
        row.as_ref().map(decode).transpose()
    }

    async fn list_comments(
        &self,
        project_id: &str,
        filter: &CommentFilter,
        page: PageRequest,
    ) -> BackendResult<Page<Comment>> {
        let mut count = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM comments");
        push_filter(&mut count, project_id, filter);
        let total: i64 = count
            .build_query_scalar()
            .fetch_one(&self.pool)
            .await
            .map_err(|error| db_error("failed to count comments", error))?;
        let mut select = QueryBuilder::<Postgres>::new(format!("SELECT {COLUMNS} FROM comments"));
        push_filter(&mut select, project_id, filter);
        select
            .push(" ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT ")
            .push_bind(sql_integer(page.limit))
            .push(" OFFSET ")
            .push_bind(sql_integer(page.offset()));
        let rows = select
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(|error| db_error("failed to list comments", error))?;
        let items = rows.iter().map(decode).collect::<BackendResult<_>>()?;
        Ok(Page {
            items,
            total_items: u64::try_from(total).unwrap_or(0),
        })
    }
}
