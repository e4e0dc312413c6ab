//! `AnnotationStore` for [`PostgresMetaStore`]: annotation queues, their items and
//! assignments (migration 6).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use periscope_core::annotation::{
    AnnotationObjectType, AnnotationQueue, AnnotationQueueItem, AnnotationStatus, AnnotationStore,
    QueueAssignment, QueueCreated,
};
use periscope_core::error::{BackendError, BackendResult};
use periscope_core::model::Page;
use periscope_core::store::PageRequest;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder};

use super::PostgresMetaStore;
use super::connect::{
    corrupt, db_error, get, get_optional_time, get_time, micros, optional_micros, sql_integer,
};

const QUEUE_COLUMNS: &str =
    "id, project_id, name, description, score_config_ids, created_at, updated_at";
const ITEM_COLUMNS: &str = "id, project_id, queue_id, object_id, object_type, status, \
    completed_at, created_at, updated_at";

fn decode_queue(row: &PgRow) -> BackendResult<AnnotationQueue> {
    Ok(AnnotationQueue {
        id: get(row, "id")?,
        project_id: get(row, "project_id")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        score_config_ids: get(row, "score_config_ids")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

fn decode_item(row: &PgRow) -> BackendResult<AnnotationQueueItem> {
    let object_type: &str = get(row, "object_type")?;
    let status: &str = get(row, "status")?;
    Ok(AnnotationQueueItem {
        id: get(row, "id")?,
        project_id: get(row, "project_id")?,
        queue_id: get(row, "queue_id")?,
        object_id: get(row, "object_id")?,
        object_type: AnnotationObjectType::parse(object_type)
            .ok_or_else(|| corrupt(format!("unknown annotation object type {object_type:?}")))?,
        status: AnnotationStatus::parse(status)
            .ok_or_else(|| corrupt(format!("unknown annotation status {status:?}")))?,
        completed_at: get_optional_time(row, "completed_at")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

fn decode_assignment(row: &PgRow) -> BackendResult<QueueAssignment> {
    Ok(QueueAssignment {
        project_id: get(row, "project_id")?,
        queue_id: get(row, "queue_id")?,
        user_id: get(row, "user_id")?,
        created_at: get_time(row, "created_at")?,
    })
}

/// Runs a `COUNT(*)` query built by `query`.
async fn count(
    store: &PostgresMetaStore,
    mut query: QueryBuilder<'_, Postgres>,
) -> BackendResult<u64> {
    let total: i64 = query
        .build_query_scalar()
        .fetch_one(&store.pool)
        .await
        .map_err(|error| db_error("failed to count annotation rows", error))?;
    Ok(u64::try_from(total).unwrap_or(0))
}

fn push_page(query: &mut QueryBuilder<'_, Postgres>, page: PageRequest) {
    query
        .push(" LIMIT ")
        .push_bind(sql_integer(page.limit))
        .push(" OFFSET ")
        .push_bind(sql_integer(page.offset()));
}

/// Appends the `WHERE` of a queue's items, optionally of one status.
fn push_item_filter<'a>(
    query: &mut QueryBuilder<'a, Postgres>,
    project_id: &'a str,
    queue_id: &'a str,
    status: Option<AnnotationStatus>,
) {
    query
        .push(" WHERE project_id = ")
        .push_bind(project_id)
        .push(" AND queue_id = ")
        .push_bind(queue_id);
    if let Some(status) = status {
        query.push(" AND status = ").push_bind(status.as_str());
    }
}

#[async_trait]
impl AnnotationStore for PostgresMetaStore {
    async fn create_queue(&self, queue: &AnnotationQueue) -> BackendResult<QueueCreated> {
        let result = sqlx::query(&format!(
            "INSERT INTO annotation_queues ({QUEUE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(&queue.id)
        .bind(&queue.project_id)
        .bind(&queue.name)
        .bind(&queue.description)
        .bind(&queue.score_config_ids)
        .bind(micros(queue.created_at))
        .bind(micros(queue.updated_at))
        .execute(&self.pool)
        .await
        .map_err(|error| db_error("failed to create annotation queue", error));
        match result {
            Ok(_) => Ok(QueueCreated::Created(queue.clone())),
            Err(BackendError::AlreadyExists { .. }) => Ok(QueueCreated::NameTaken),
            Err(error) => Err(error),
        }
    }

    async fn get_queue(
        &self,
        project_id: &str,
        id: &str,
    ) -> BackendResult<Option<AnnotationQueue>> {
        let row = sqlx::query(&format!(
            "SELECT {QUEUE_COLUMNS} FROM annotation_queues WHERE project_id = $1 AND id = $2"
        ))
        .bind(project_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|error| db_error("failed to read annotation queue", error))?;
        row.as_ref().map(decode_queue).transpose()
    }

    async fn list_queues(
        &self,
        project_id: &str,
        page: PageRequest,
    ) -> BackendResult<Page<AnnotationQueue>> {
        let mut total = QueryBuilder::new("SELECT COUNT(*) FROM annotation_queues");
        total.push(" WHERE project_id = ").push_bind(project_id);
        let total_items = count(self, total).await?;
        let mut select = QueryBuilder::new(format!(
            "SELECT {QUEUE_COLUMNS} FROM annotation_queues WHERE project_id = "
        ));
        select
            .push_bind(project_id)
            .push(" ORDER BY created_at, id COLLATE \"C\"");
        push_page(&mut select, page);
        let rows = select
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(|error| db_error("failed to list annotation queues", error))?;
        let items = rows
            .iter()
            .map(decode_queue)
            .collect::<BackendResult<_>>()?;
        Ok(Page { items, total_items })
    }

    async fn add_item(&self, item: &AnnotationQueueItem) -> BackendResult<AnnotationQueueItem> {
        sqlx::query(&format!(
            "INSERT INTO annotation_queue_items ({ITEM_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (project_id, queue_id, object_type, object_id) DO NOTHING"
        ))
        .bind(&item.id)
        .bind(&item.project_id)
        .bind(&item.queue_id)
        .bind(&item.object_id)
        .bind(item.object_type.as_str())
        .bind(item.status.as_str())
        .bind(optional_micros(item.completed_at))
        .bind(micros(item.created_at))
        .bind(micros(item.updated_at))
        .execute(&self.pool)
        .await
        .map_err(|error| db_error("failed to add annotation queue item", error))?;
        // A separate statement, so its snapshot also sees an item a concurrent request
        // committed while the insert above waited on it.
        let row = sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM annotation_queue_items \
             WHERE project_id = $1 AND queue_id = $2 AND object_type = $3 AND object_id = $4"
        ))
        .bind(&item.project_id)
        .bind(&item.queue_id)
        .bind(item.object_type.as_str())
        .bind(&item.object_id)
        .fetch_one(&self.pool)
        .await
        .map_err(|error| db_error("failed to read annotation queue item", error))?;
        decode_item(&row)
    }

    async fn get_item(
        &self,
        project_id: &str,
        queue_id: &str,
        item_id: &str,
    ) -> BackendResult<Option<AnnotationQueueItem>> {
        let row = sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM annotation_queue_items \
             WHERE project_id = $1 AND queue_id = $2 AND id = $3"
        ))
        .bind(project_id)
        .bind(queue_id)
        .bind(item_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|error| db_error("failed to read annotation queue item", error))?;
        row.as_ref().map(decode_item).transpose()
    }

    async fn list_items(
        &self,
        project_id: &str,
        queue_id: &str,
        status: Option<AnnotationStatus>,
        page: PageRequest,
    ) -> BackendResult<Page<AnnotationQueueItem>> {
        let mut total = QueryBuilder::new("SELECT COUNT(*) FROM annotation_queue_items");
        push_item_filter(&mut total, project_id, queue_id, status);
        let total_items = count(self, total).await?;
        let mut select =
            QueryBuilder::new(format!("SELECT {ITEM_COLUMNS} FROM annotation_queue_items"));
        push_item_filter(&mut select, project_id, queue_id, status);
        select.push(" ORDER BY created_at, id COLLATE \"C\"");
        push_page(&mut select, page);
        let rows = select
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(|error| db_error("failed to list annotation queue items", error))?;
        let items = rows.iter().map(decode_item).collect::<BackendResult<_>>()?;
        Ok(Page { items, total_items })
    }

    async fn set_item_status(
        &self,
        project_id: &str,
        queue_id: &str,
        item_id: &str,
        status: AnnotationStatus,
        now: DateTime<Utc>,
    ) -> BackendResult<Option<AnnotationQueueItem>> {
        // Completing a completed item keeps its first completion time.
        let row = sqlx::query(&format!(
            "UPDATE annotation_queue_items SET status = $1::text, updated_at = $2::bigint, \
                completed_at = CASE WHEN $1::text = 'COMPLETED' \
                                    THEN COALESCE(completed_at, $2::bigint) ELSE NULL END \
             WHERE project_id = $3 AND queue_id = $4 AND id = $5 RETURNING {ITEM_COLUMNS}"
        ))
        .bind(status.as_str())
        .bind(micros(now))
        .bind(project_id)
        .bind(queue_id)
        .bind(item_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|error| db_error("failed to update annotation queue item", error))?;
        row.as_ref().map(decode_item).transpose()
    }

    async fn delete_item(
        &self,
        project_id: &str,
        queue_id: &str,
        item_id: &str,
    ) -> BackendResult<bool> {
        let result = sqlx::query(
            "DELETE FROM annotation_queue_items \
             WHERE project_id = $1 AND queue_id = $2 AND id = $3",
        )
        .bind(project_id)
        .bind(queue_id)
        .bind(item_id)
        .execute(&self.pool)
        .await
        .map_err(|error| db_error("failed to delete annotation queue item", error))?;
        Ok(result.rows_affected() > 0)
    }

    async fn assign(&self, assignment: &QueueAssignment) -> BackendResult<()> {
        sqlx::query(
            "INSERT INTO annotation_queue_assignments (project_id, queue_id, user_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(&assignment.project_id)
        .bind(&assignment.queue_id)
        .bind(&assignment.user_id)
        .bind(micros(assignment.created_at))
        .execute(&self.pool)
        .await
        .map_err(|error| db_error("failed to assign annotation queue", error))?;
        Ok(())
    }

    async fn unassign(
        &self,
        project_id: &str,
        queue_id: &str,
        user_id: &str,
    ) -> BackendResult<bool> {
        let result = sqlx::query(
            "DELETE FROM annotation_queue_assignments \
             WHERE project_id = $1 AND queue_id = $2 AND user_id = $3",
        )
        .bind(project_id)
        .bind(queue_id)
        .bind(user_id)
        .execute(&self.pool)
        .await
        .map_err(|error| db_error("failed to unassign annotation queue", error))?;
        Ok(result.rows_affected() > 0)
    }

    async fn list_assignments(
        &self,
        project_id: &str,
        queue_id: &str,
    ) -> BackendResult<Vec<QueueAssignment>> {
        let rows = sqlx::query(
            "SELECT project_id, queue_id, user_id, created_at FROM annotation_queue_assignments \
             WHERE project_id = $1 AND queue_id = $2 ORDER BY created_at, user_id COLLATE \"C\"",
        )
        .bind(project_id)
        .bind(queue_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|error| db_error("failed to list annotation queue assignments", error))?;
        rows.iter().map(decode_assignment).collect()
    }
}
