//! Rows of the dataset tables: the selected columns, decoding, and the single-row statements
//! the upserts of `dataset_store` run inside their transactions.

use periscope_core::datasets::{
    Dataset, DatasetItem, DatasetItemFilter, DatasetItemStatus, DatasetRun, DatasetRunItem,
    DatasetRunItemUpsert,
};
use periscope_core::error::BackendResult;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::connect::{corrupt, db_error, get, get_time, micros};

/// The columns of a dataset.
pub(super) const DATASET_COLUMNS: &str = "id, project_id, name, description, metadata, \
    input_schema, expected_output_schema, created_at, updated_at";

/// The columns of an item with its dataset's name (`i` = dataset_items, `d` = datasets).
pub(super) const ITEM_SELECT: &str = "SELECT i.id, i.dataset_id, d.name AS dataset_name, \
    i.input, i.expected_output, i.metadata, i.source_trace_id, i.source_observation_id, \
    i.status, i.created_at, i.updated_at \
    FROM dataset_items i JOIN datasets d ON d.project_id = i.project_id AND d.id = i.dataset_id";

/// The columns of a run.
pub(super) const RUN_COLUMNS: &str =
    "id, dataset_id, name, description, metadata, created_at, updated_at";

/// The columns of a run item with its run's name (`ri` = dataset_run_items, `r` = dataset_runs).
pub(super) const RUN_ITEM_SELECT: &str = "SELECT ri.id, ri.run_id, r.name AS run_name, \
    ri.dataset_item_id, ri.trace_id, ri.observation_id, ri.created_at, ri.updated_at \
    FROM dataset_run_items ri \
    JOIN dataset_runs r ON r.project_id = ri.project_id AND r.id = ri.run_id";

pub(super) fn decode_dataset(row: &PgRow) -> BackendResult<Dataset> {
    Ok(Dataset {
        id: get(row, "id")?,
        project_id: get(row, "project_id")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        metadata: get(row, "metadata")?,
        input_schema: get(row, "input_schema")?,
        expected_output_schema: get(row, "expected_output_schema")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

pub(super) fn decode_item(row: &PgRow) -> BackendResult<DatasetItem> {
    let status: &str = get(row, "status")?;
    let status = DatasetItemStatus::parse(status)
        .ok_or_else(|| corrupt(format!("dataset item has an unknown status {status:?}")))?;
    Ok(DatasetItem {
        id: get(row, "id")?,
        dataset_id: get(row, "dataset_id")?,
        dataset_name: get(row, "dataset_name")?,
        input: get(row, "input")?,
        expected_output: get(row, "expected_output")?,
        metadata: get(row, "metadata")?,
        source_trace_id: get(row, "source_trace_id")?,
        source_observation_id: get(row, "source_observation_id")?,
        status,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

pub(super) fn decode_run(row: &PgRow) -> BackendResult<DatasetRun> {
    Ok(DatasetRun {
        id: get(row, "id")?,
        dataset_id: get(row, "dataset_id")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        metadata: get(row, "metadata")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

pub(super) fn decode_run_item(row: &PgRow) -> BackendResult<DatasetRunItem> {
    Ok(DatasetRunItem {
        id: get(row, "id")?,
        dataset_run_id: get(row, "run_id")?,
        dataset_run_name: get(row, "run_name")?,
        dataset_item_id: get(row, "dataset_item_id")?,
        trace_id: get(row, "trace_id")?,
        observation_id: get(row, "observation_id")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

/// Reads a dataset by name.
pub(super) async fn dataset_by_name(
    connection: &mut PgConnection,
    project_id: &str,
    name: &str,
    context: &str,
) -> BackendResult<Option<Dataset>> {
    let row = sqlx::query(&format!(
        "SELECT {DATASET_COLUMNS} FROM datasets WHERE project_id = $1 AND name = $2"
    ))
    .bind(project_id)
    .bind(name)
    .fetch_optional(&mut *connection)
    .await
    .map_err(|error| db_error(context, error))?;
    row.as_ref().map(decode_dataset).transpose()
}

/// Reads an item by id.
pub(super) async fn item_by_id(
    connection: &mut PgConnection,
    project_id: &str,
    item_id: &str,
    context: &str,
) -> BackendResult<Option<DatasetItem>> {
    let row = sqlx::query(&format!(
        "{ITEM_SELECT} WHERE i.project_id = $1 AND i.id = $2"
    ))
    .bind(project_id)
    .bind(item_id)
    .fetch_optional(&mut *connection)
    .await
    .map_err(|error| db_error(context, error))?;
    row.as_ref().map(decode_item).transpose()
}

/// Reads a run by dataset and name.
pub(super) async fn run_by_name(
    connection: &mut PgConnection,
    project_id: &str,
    dataset_id: &str,
    name: &str,
    context: &str,
) -> BackendResult<Option<DatasetRun>> {
    let row = sqlx::query(&format!(
        "SELECT {RUN_COLUMNS} FROM dataset_runs \
         WHERE project_id = $1 AND dataset_id = $2 AND name = $3"
    ))
    .bind(project_id)
    .bind(dataset_id)
    .bind(name)
    .fetch_optional(&mut *connection)
    .await
    .map_err(|error| db_error(context, error))?;
    row.as_ref().map(decode_run).transpose()
}

/// Reads the run item of (run, dataset item, trace).
pub(super) async fn run_item_by_key(
    connection: &mut PgConnection,
    project_id: &str,
    item: &DatasetRunItemUpsert,
    context: &str,
) -> BackendResult<Option<DatasetRunItem>> {
    let row = sqlx::query(&format!(
        "{RUN_ITEM_SELECT} WHERE ri.project_id = $1 AND ri.run_id = $2 \
            AND ri.dataset_item_id = $3 AND ri.trace_id = $4"
    ))
    .bind(project_id)
    .bind(item.dataset_run_id.as_str())
    .bind(item.dataset_item_id.as_str())
    .bind(item.trace_id.as_str())
    .fetch_optional(&mut *connection)
    .await
    .map_err(|error| db_error(context, error))?;
    row.as_ref().map(decode_run_item).transpose()
}

/// Writes a dataset row (insert or full update of the mutable columns).
pub(super) async fn write_dataset(
    connection: &mut PgConnection,
    dataset: &Dataset,
    context: &str,
) -> BackendResult<()> {
    sqlx::query(&format!(
        "INSERT INTO datasets ({DATASET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (project_id, id) DO UPDATE SET description = excluded.description, \
            metadata = excluded.metadata, input_schema = excluded.input_schema, \
            expected_output_schema = excluded.expected_output_schema, \
            updated_at = excluded.updated_at"
    ))
    .bind(dataset.id.as_str())
    .bind(dataset.project_id.as_str())
    .bind(dataset.name.as_str())
    .bind(dataset.description.as_deref())
    .bind(dataset.metadata.as_ref())
    .bind(dataset.input_schema.as_ref())
    .bind(dataset.expected_output_schema.as_ref())
    .bind(micros(dataset.created_at))
    .bind(micros(dataset.updated_at))
    .execute(&mut *connection)
    .await
    .map_err(|error| db_error(context, error))?;
    Ok(())
}

/// Writes an item row (insert or full update of the mutable columns).
pub(super) async fn write_item(
    connection: &mut PgConnection,
    project_id: &str,
    item: &DatasetItem,
    context: &str,
) -> BackendResult<()> {
    sqlx::query(
        "INSERT INTO dataset_items (project_id, id, dataset_id, input, expected_output, \
            metadata, source_trace_id, source_observation_id, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (project_id, id) DO UPDATE SET input = excluded.input, \
            expected_output = excluded.expected_output, metadata = excluded.metadata, \
            source_trace_id = excluded.source_trace_id, \
            source_observation_id = excluded.source_observation_id, status = excluded.status, \
            updated_at = excluded.updated_at",
    )
    .bind(project_id)
    .bind(item.id.as_str())
    .bind(item.dataset_id.as_str())
    .bind(item.input.as_ref())
    .bind(item.expected_output.as_ref())
    .bind(item.metadata.as_ref())
    .bind(item.source_trace_id.as_deref())
    .bind(item.source_observation_id.as_deref())
    .bind(item.status.as_str())
    .bind(micros(item.created_at))
    .bind(micros(item.updated_at))
    .execute(&mut *connection)
    .await
    .map_err(|error| db_error(context, error))?;
    Ok(())
}

/// Writes a run row (insert or update of description, metadata and `updated_at`).
pub(super) async fn write_run(
    connection: &mut PgConnection,
    project_id: &str,
    run: &DatasetRun,
    context: &str,
) -> BackendResult<()> {
    sqlx::query(&format!(
        "INSERT INTO dataset_runs (project_id, {RUN_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (project_id, id) DO UPDATE SET description = excluded.description, \
            metadata = excluded.metadata, updated_at = excluded.updated_at"
    ))
    .bind(project_id)
    .bind(run.id.as_str())
    .bind(run.dataset_id.as_str())
    .bind(run.name.as_str())
    .bind(run.description.as_deref())
    .bind(run.metadata.as_ref())
    .bind(micros(run.created_at))
    .bind(micros(run.updated_at))
    .execute(&mut *connection)
    .await
    .map_err(|error| db_error(context, error))?;
    Ok(())
}

/// Appends the `WHERE` of an item list query.
pub(super) fn push_item_filter<'a>(
    query: &mut QueryBuilder<'a, Postgres>,
    project_id: &'a str,
    filter: &'a DatasetItemFilter,
) {
    query.push(" WHERE i.project_id = ").push_bind(project_id);
    if let Some(dataset_id) = &filter.dataset_id {
        query
            .push(" AND i.dataset_id = ")
            .push_bind(dataset_id.as_str());
    }
    if let Some(trace_id) = &filter.source_trace_id {
        query
            .push(" AND i.source_trace_id = ")
            .push_bind(trace_id.as_str());
    }
    if let Some(observation_id) = &filter.source_observation_id {
        query
            .push(" AND i.source_observation_id = ")
            .push_bind(observation_id.as_str());
    }
    if let Some(status) = filter.status {
        query.push(" AND i.status = ").push_bind(status.as_str());
    }
}
