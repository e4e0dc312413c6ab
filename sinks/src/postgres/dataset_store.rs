//! `DatasetStore` for [`PostgresMetaStore`]: datasets, items, runs and run items
//! (migration 4).
//!
//! Each upsert runs in one transaction that takes the advisory lock of its key, reads the
//! stored row, merges in Rust (a `None` field keeps the stored value) and writes only when
//! something changed, so a retried request changes nothing, not even `updated_at`, and two
//! concurrent upserts of one key never both insert.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use periscope_core::datasets::{
    Dataset, DatasetItem, DatasetItemFilter, DatasetItemUpsert, DatasetRun, DatasetRunItem,
    DatasetRunItemUpsert, DatasetRunUpsert, DatasetRunWithItems, DatasetStore, DatasetUpsert,
};
use periscope_core::error::{BackendError, BackendResult};
use periscope_core::model::Page;
use periscope_core::store::PageRequest;
use sqlx::{Postgres, QueryBuilder, Transaction};

use super::PostgresMetaStore;
use super::connect::{
    BACKEND, LockClass, db_error, lock_for_transaction, micros, sql_integer, stored_precision,
};
use super::dataset_rows::{
    DATASET_COLUMNS, ITEM_SELECT, RUN_COLUMNS, RUN_ITEM_SELECT, dataset_by_name, decode_dataset,
    decode_item, decode_run, decode_run_item, item_by_id, push_item_filter, run_by_name,
    run_item_by_key, write_dataset, write_item, write_run,
};

impl PostgresMetaStore {
    /// Opens a transaction holding the advisory lock of one dataset key.
    async fn begin_locked(
        &self,
        class: LockClass,
        key: &[&str],
        context: &str,
    ) -> BackendResult<Transaction<'static, Postgres>> {
        let mut transaction = self
            .pool
            .begin()
            .await
            .map_err(|error| db_error(context, error))?;
        lock_for_transaction(&mut transaction, class, key, context).await?;
        Ok(transaction)
    }
}

async fn commit(transaction: Transaction<'static, Postgres>, context: &str) -> BackendResult<()> {
    transaction
        .commit()
        .await
        .map_err(|error| db_error(context, error))
}

/// Replaces `stored` with `update` when set; returns whether the value changed.
fn merge_field<T: PartialEq + Clone>(stored: &mut Option<T>, update: Option<&T>) -> bool {
    match update {
        Some(value) if stored.as_ref() != Some(value) => {
            *stored = Some(value.clone());
            true
        }
        _ => false,
    }
}

fn now() -> DateTime<Utc> {
    stored_precision(Utc::now())
}

/// Runs `SELECT COUNT(*) …` built by `query`.
async fn fetch_count(
    store: &PostgresMetaStore,
    mut query: QueryBuilder<'_, Postgres>,
    context: &str,
) -> BackendResult<u64> {
    let count: i64 = query
        .build_query_scalar()
        .fetch_one(&store.pool)
        .await
        .map_err(|error| db_error(context, error))?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// Merges an upsert into a stored item; returns whether anything changed.
fn merge_item(item: &mut DatasetItem, upsert: &DatasetItemUpsert) -> bool {
    let mut status = Some(item.status);
    let changed = [
        merge_field(&mut item.input, upsert.input.as_ref()),
        merge_field(&mut item.expected_output, upsert.expected_output.as_ref()),
        merge_field(&mut item.metadata, upsert.metadata.as_ref()),
        merge_field(&mut item.source_trace_id, upsert.source_trace_id.as_ref()),
        merge_field(
            &mut item.source_observation_id,
            upsert.source_observation_id.as_ref(),
        ),
        merge_field(&mut status, upsert.status.as_ref()),
    ];
    item.status = status.unwrap_or_default();
    changed.contains(&true)
}

#[async_trait]
impl DatasetStore for PostgresMetaStore {
    async fn upsert_dataset(
        &self,
        project_id: &str,
        upsert: &DatasetUpsert,
    ) -> BackendResult<Dataset> {
        let context = format!("failed to upsert dataset {}", upsert.name);
        let key = [project_id, upsert.name.as_str()];
        let mut transaction = self
            .begin_locked(LockClass::DatasetName, &key, &context)
            .await?;
        let stored = dataset_by_name(&mut transaction, project_id, &upsert.name, &context).await?;
        let dataset = match stored {
            None => {
                let created_at = now();
                let dataset = Dataset {
                    id: upsert.id.clone(),
                    project_id: project_id.to_owned(),
                    name: upsert.name.clone(),
                    description: upsert.description.clone(),
                    metadata: upsert.metadata.clone(),
                    input_schema: upsert.input_schema.clone(),
                    expected_output_schema: upsert.expected_output_schema.clone(),
                    created_at,
                    updated_at: created_at,
                };
                write_dataset(&mut transaction, &dataset, &context).await?;
                dataset
            }
            Some(mut dataset) => {
                let changed = [
                    merge_field(&mut dataset.description, upsert.description.as_ref()),
                    merge_field(&mut dataset.metadata, upsert.metadata.as_ref()),
                    merge_field(&mut dataset.input_schema, upsert.input_schema.as_ref()),
                    merge_field(
                        &mut dataset.expected_output_schema,
                        upsert.expected_output_schema.as_ref(),
                    ),
                ];
                if changed.contains(&true) {
                    dataset.updated_at = now().max(dataset.updated_at);
                    write_dataset(&mut transaction, &dataset, &context).await?;
                }
                dataset
            }
        };
        commit(transaction, &context).await?;
        Ok(dataset)
    }

    async fn get_dataset(&self, project_id: &str, name: &str) -> BackendResult<Option<Dataset>> {
        let mut connection = self
            .pool
            .acquire()
            .await
            .map_err(|error| db_error("failed to read dataset", error))?;
        dataset_by_name(&mut connection, project_id, name, "failed to read dataset").await
    }

    async fn list_datasets(
        &self,
        project_id: &str,
        page: PageRequest,
    ) -> BackendResult<Page<Dataset>> {
        let mut count =
            QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM datasets WHERE project_id = ");
        count.push_bind(project_id);
        let total_items = fetch_count(self, count, "failed to count datasets").await?;
        let rows = sqlx::query(&format!(
            "SELECT {DATASET_COLUMNS} FROM datasets WHERE project_id = $1 \
             ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT $2 OFFSET $3"
        ))
        .bind(project_id)
        .bind(sql_integer(page.limit))
        .bind(sql_integer(page.offset()))
        .fetch_all(&self.pool)
        .await
        .map_err(|error| db_error("failed to list datasets", error))?;
        let items = rows
            .iter()
            .map(decode_dataset)
            .collect::<BackendResult<_>>()?;
        Ok(Page { items, total_items })
    }

    async fn upsert_item(
        &self,
        project_id: &str,
        dataset: &Dataset,
        upsert: &DatasetItemUpsert,
    ) -> BackendResult<DatasetItem> {
        let context = format!("failed to upsert dataset item {}", upsert.id);
        let key = [project_id, upsert.id.as_str()];
        let mut transaction = self
            .begin_locked(LockClass::DatasetItem, &key, &context)
            .await?;
        let stored = item_by_id(&mut transaction, project_id, &upsert.id, &context).await?;
        let item = match stored {
            Some(other) if other.dataset_id != dataset.id => {
                return Err(BackendError::AlreadyExists {
                    backend: BACKEND,
                    what: format!(
                        "dataset item {} in dataset {}, not {}",
                        other.id, other.dataset_name, dataset.name
                    ),
                });
            }
            None => {
                let created_at = now();
                let item = DatasetItem {
                    id: upsert.id.clone(),
                    dataset_id: dataset.id.clone(),
                    dataset_name: dataset.name.clone(),
                    input: upsert.input.clone(),
                    expected_output: upsert.expected_output.clone(),
                    metadata: upsert.metadata.clone(),
                    source_trace_id: upsert.source_trace_id.clone(),
                    source_observation_id: upsert.source_observation_id.clone(),
                    status: upsert.status.unwrap_or_default(),
                    created_at,
                    updated_at: created_at,
                };
                write_item(&mut transaction, project_id, &item, &context).await?;
                item
            }
            Some(mut item) => {
                if merge_item(&mut item, upsert) {
                    item.updated_at = now().max(item.updated_at);
                    write_item(&mut transaction, project_id, &item, &context).await?;
                }
                item
            }
        };
        commit(transaction, &context).await?;
        Ok(item)
    }

    async fn get_item(
        &self,
        project_id: &str,
        item_id: &str,
    ) -> BackendResult<Option<DatasetItem>> {
        let context = "failed to read dataset item";
        let mut connection = self
            .pool
            .acquire()
            .await
            .map_err(|error| db_error(context, error))?;
        item_by_id(&mut connection, project_id, item_id, context).await
    }

    async fn list_items(
        &self,
        project_id: &str,
        filter: &DatasetItemFilter,
        page: PageRequest,
    ) -> BackendResult<Page<DatasetItem>> {
        let mut count = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM dataset_items i");
        push_item_filter(&mut count, project_id, filter);
        let total_items = fetch_count(self, count, "failed to count dataset items").await?;
        let mut query = QueryBuilder::<Postgres>::new(ITEM_SELECT);
        push_item_filter(&mut query, project_id, filter);
        query
            .push(" ORDER BY i.created_at DESC, i.id COLLATE \"C\" DESC LIMIT ")
            .push_bind(sql_integer(page.limit))
            .push(" OFFSET ")
            .push_bind(sql_integer(page.offset()));
        let rows = query
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(|error| db_error("failed to list dataset items", error))?;
        let items = rows.iter().map(decode_item).collect::<BackendResult<_>>()?;
        Ok(Page { items, total_items })
    }

    async fn upsert_run(
        &self,
        project_id: &str,
        upsert: &DatasetRunUpsert,
    ) -> BackendResult<DatasetRun> {
        let context = format!("failed to upsert dataset run {}", upsert.name);
        let key = [project_id, upsert.dataset_id.as_str(), upsert.name.as_str()];
        let mut transaction = self
            .begin_locked(LockClass::DatasetRun, &key, &context)
            .await?;
        let stored = run_by_name(
            &mut transaction,
            project_id,
            &upsert.dataset_id,
            &upsert.name,
            &context,
        )
        .await?;
        let run = match stored {
            None => {
                let run = DatasetRun {
                    id: upsert.id.clone(),
                    dataset_id: upsert.dataset_id.clone(),
                    name: upsert.name.clone(),
                    description: upsert.description.clone(),
                    metadata: upsert.metadata.clone(),
                    created_at: stored_precision(upsert.created_at),
                    updated_at: stored_precision(upsert.created_at),
                };
                write_run(&mut transaction, project_id, &run, &context).await?;
                run
            }
            Some(mut run) => {
                let changed = [
                    merge_field(&mut run.description, upsert.description.as_ref()),
                    merge_field(&mut run.metadata, upsert.metadata.as_ref()),
                ];
                if changed.contains(&true) {
                    run.updated_at = now().max(run.updated_at);
                    write_run(&mut transaction, project_id, &run, &context).await?;
                }
                run
            }
        };
        commit(transaction, &context).await?;
        Ok(run)
    }

    async fn upsert_run_item(
        &self,
        project_id: &str,
        upsert: &DatasetRunItemUpsert,
    ) -> BackendResult<DatasetRunItem> {
        let context = format!("failed to store run item of run {}", upsert.dataset_run_id);
        let key = [
            project_id,
            upsert.dataset_run_id.as_str(),
            upsert.dataset_item_id.as_str(),
            upsert.trace_id.as_str(),
        ];
        let mut transaction = self
            .begin_locked(LockClass::DatasetRunItem, &key, &context)
            .await?;
        let stored = run_item_by_key(&mut transaction, project_id, upsert, &context).await?;
        match stored {
            None => {
                sqlx::query(
                    "INSERT INTO dataset_run_items (project_id, id, run_id, dataset_item_id, \
                        trace_id, observation_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                )
                .bind(project_id)
                .bind(upsert.id.as_str())
                .bind(upsert.dataset_run_id.as_str())
                .bind(upsert.dataset_item_id.as_str())
                .bind(upsert.trace_id.as_str())
                .bind(upsert.observation_id.as_deref())
                .bind(micros(upsert.created_at))
                .execute(&mut *transaction)
                .await
                .map_err(|error| db_error(&context, error))?;
            }
            // Only a missing observation is filled in: the first link stays as it was.
            Some(stored) if stored.observation_id.is_none() && upsert.observation_id.is_some() => {
                sqlx::query(
                    "UPDATE dataset_run_items SET observation_id = $1, updated_at = $2 \
                     WHERE project_id = $3 AND id = $4",
                )
                .bind(upsert.observation_id.as_deref())
                .bind(micros(now().max(stored.updated_at)))
                .bind(project_id)
                .bind(stored.id.as_str())
                .execute(&mut *transaction)
                .await
                .map_err(|error| db_error(&context, error))?;
            }
            Some(_) => {}
        }
        let item = run_item_by_key(&mut transaction, project_id, upsert, &context)
            .await?
            .ok_or_else(|| BackendError::Invalid {
                backend: BACKEND,
                message: format!("run item of run {} vanished", upsert.dataset_run_id),
            })?;
        commit(transaction, &context).await?;
        Ok(item)
    }

    async fn get_run(
        &self,
        project_id: &str,
        dataset_id: &str,
        run_name: &str,
    ) -> BackendResult<Option<DatasetRunWithItems>> {
        let context = "failed to read dataset run";
        let mut transaction = self
            .pool
            .begin()
            .await
            .map_err(|error| db_error(context, error))?;
        // The run and its items from one snapshot.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *transaction)
            .await
            .map_err(|error| db_error(context, error))?;
        let Some(run) =
            run_by_name(&mut transaction, project_id, dataset_id, run_name, context).await?
        else {
            return Ok(None);
        };
        let rows = sqlx::query(&format!(
            "{RUN_ITEM_SELECT} WHERE ri.project_id = $1 AND ri.run_id = $2 \
             ORDER BY ri.created_at, ri.id COLLATE \"C\""
        ))
        .bind(project_id)
        .bind(run.id.as_str())
        .fetch_all(&mut *transaction)
        .await
        .map_err(|error| db_error(context, error))?;
        commit(transaction, context).await?;
        let items = rows
            .iter()
            .map(decode_run_item)
            .collect::<BackendResult<_>>()?;
        Ok(Some(DatasetRunWithItems { run, items }))
    }

    async fn list_runs(
        &self,
        project_id: &str,
        dataset_id: &str,
    ) -> BackendResult<Vec<DatasetRun>> {
        let rows = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM dataset_runs WHERE project_id = $1 AND dataset_id = $2 \
             ORDER BY created_at DESC, name COLLATE \"C\""
        ))
        .bind(project_id)
        .bind(dataset_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|error| db_error("failed to list dataset runs", error))?;
        rows.iter().map(decode_run).collect()
    }

    async fn delete_run(
        &self,
        project_id: &str,
        dataset_id: &str,
        run_name: &str,
    ) -> BackendResult<bool> {
        // The run's items go with it (`ON DELETE CASCADE`).
        let result = sqlx::query(
            "DELETE FROM dataset_runs WHERE project_id = $1 AND dataset_id = $2 AND name = $3",
        )
        .bind(project_id)
        .bind(dataset_id)
        .bind(run_name)
        .execute(&self.pool)
        .await
        .map_err(|error| db_error(&format!("failed to delete dataset run {run_name}"), error))?;
        Ok(result.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_set_and_different_values_change_a_field() {
        let mut stored = Some(1);
        assert!(!merge_field(&mut stored, None));
        assert!(!merge_field(&mut stored, Some(&1)));
        assert!(merge_field(&mut stored, Some(&2)));
        assert_eq!(stored, Some(2));
    }
}
