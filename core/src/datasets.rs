//! Datasets and experiments (WIRE-PROTOCOL.md §8): datasets, their items, dataset runs and run
//! items, the [`DatasetStore`] that keeps them, and the [`ExperimentIndex`] that finds the runs
//! the Langfuse v5 SDK records only as span attributes (`langfuse.experiment.*`).
//!
//! A run reaches Periscope in two ways. Older SDKs `POST /dataset-run-items`, which the
//! `DatasetStore` keeps. The v5 SDK never does: it marks the spans of each item's trace with
//! the run and item ids, and the trace store indexes those spans (`ExperimentIndex`). The read
//! API shows the union of both (`merge_runs`, `merge_run_with_items`); docs/adr/0007 explains
//! why the union is formed on read.

mod experiments;

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::BackendResult;
use crate::model::Page;
use crate::store::PageRequest;

pub use experiments::{
    ExperimentSpan, derived_run_item_id, experiment_keys, experiment_run_id, merge_run_with_items,
    merge_runs,
};

/// Whether a dataset item takes part in experiments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DatasetItemStatus {
    /// The default for new items.
    #[default]
    Active,
    /// Kept for history; excluded from experiments and new run items.
    Archived,
}

impl DatasetItemStatus {
    /// Returns the upper-case name used on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Archived => "ARCHIVED",
        }
    }

    /// Parses a status name case-insensitively.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Active, Self::Archived]
            .into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(name))
    }
}

/// A named collection of test inputs and expected outputs, unique by name within a project.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Generated on creation; never changes.
    pub id: String,
    /// The owning project.
    pub project_id: String,
    /// Unique within the project; the API addresses datasets by name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Any JSON value.
    pub metadata: Option<Value>,
    /// A JSON Schema for item inputs (stored, not enforced).
    pub input_schema: Option<Value>,
    /// A JSON Schema for item expected outputs (stored, not enforced).
    pub expected_output_schema: Option<Value>,
    /// When the dataset was created.
    pub created_at: DateTime<Utc>,
    /// When the dataset last changed.
    pub updated_at: DateTime<Utc>,
}

/// What `POST /v2/datasets` sends: creates the dataset, or updates the fields it sets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DatasetUpsert {
    /// The id the dataset gets if this call creates it; an existing dataset keeps its id.
    pub id: String,
    /// The dataset's name (the upsert key).
    pub name: String,
    /// `None` keeps the stored description.
    pub description: Option<String>,
    /// `None` keeps the stored metadata.
    pub metadata: Option<Value>,
    /// `None` keeps the stored schema.
    pub input_schema: Option<Value>,
    /// `None` keeps the stored schema.
    pub expected_output_schema: Option<Value>,
}

/// One test case of a dataset. Item ids are unique within a project.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetItem {
    /// Chosen by the client (the SDK sends a uuid4) or generated.
    pub id: String,
    /// The dataset the item belongs to; never changes.
    pub dataset_id: String,
    /// That dataset's name.
    pub dataset_name: String,
    /// Any JSON value.
    pub input: Option<Value>,
    /// Any JSON value.
    pub expected_output: Option<Value>,
    /// Any JSON value.
    pub metadata: Option<Value>,
    /// The trace the item was taken from, if any.
    pub source_trace_id: Option<String>,
    /// The observation the item was taken from, if any.
    pub source_observation_id: Option<String>,
    /// Active or archived.
    pub status: DatasetItemStatus,
    /// When the item was created.
    pub created_at: DateTime<Utc>,
    /// When the item last changed.
    pub updated_at: DateTime<Utc>,
}

/// What `POST /dataset-items` sends: creates the item with this id, or updates the fields it
/// sets. `None` fields keep their stored value (a new item's status is `ACTIVE`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DatasetItemUpsert {
    /// The item id (the upsert key).
    pub id: String,
    /// Any JSON value.
    pub input: Option<Value>,
    /// Any JSON value.
    pub expected_output: Option<Value>,
    /// Any JSON value.
    pub metadata: Option<Value>,
    /// The trace the item was taken from.
    pub source_trace_id: Option<String>,
    /// The observation the item was taken from.
    pub source_observation_id: Option<String>,
    /// Active or archived.
    pub status: Option<DatasetItemStatus>,
}

/// Filters of `GET /dataset-items`. Every set field must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DatasetItemFilter {
    /// Items of this dataset only.
    pub dataset_id: Option<String>,
    /// Items taken from this trace.
    pub source_trace_id: Option<String>,
    /// Items taken from this observation.
    pub source_observation_id: Option<String>,
    /// Items with this status.
    pub status: Option<DatasetItemStatus>,
}

/// One run of an experiment over a dataset, unique by name within the dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetRun {
    /// For runs created by Periscope, `experiment_run_id` of (project, dataset, name), which is
    /// also the id the v5 SDK gives the same run.
    pub id: String,
    /// The dataset the run belongs to.
    pub dataset_id: String,
    /// Unique within the dataset; the API addresses runs by name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Any JSON value.
    pub metadata: Option<Value>,
    /// When the run was created (its first item, for runs found in spans).
    pub created_at: DateTime<Utc>,
    /// When the run last changed (its latest item, for runs found in spans).
    pub updated_at: DateTime<Utc>,
}

/// What `POST /dataset-run-items` implies about its run: created if missing; a set description
/// or metadata replaces the stored one.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetRunUpsert {
    /// The id the run gets if this call creates it.
    pub id: String,
    /// The dataset the run belongs to.
    pub dataset_id: String,
    /// The run's name (with the dataset, the upsert key).
    pub name: String,
    /// `None` keeps the stored description.
    pub description: Option<String>,
    /// `None` keeps the stored metadata.
    pub metadata: Option<Value>,
    /// The creation time of a new run.
    pub created_at: DateTime<Utc>,
}

/// One dataset item executed in a run: the link between the item and the trace that ran it.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetRunItem {
    /// Generated on creation (stored items) or derived (`derived_run_item_id`, span items).
    pub id: String,
    /// The run.
    pub dataset_run_id: String,
    /// The run's name.
    pub dataset_run_name: String,
    /// The dataset item that was executed.
    pub dataset_item_id: String,
    /// The trace of the execution.
    pub trace_id: String,
    /// The observation of the execution (the SDK's task span), if known.
    pub observation_id: Option<String>,
    /// When the item was run.
    pub created_at: DateTime<Utc>,
    /// When the link last changed.
    pub updated_at: DateTime<Utc>,
}

/// A run item to store. Idempotent per (run, dataset item, trace): storing it again keeps the
/// first id and creation time and only fills in a missing observation.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetRunItemUpsert {
    /// The id the link gets if this call creates it.
    pub id: String,
    /// The run (which must exist).
    pub dataset_run_id: String,
    /// The dataset item that was executed.
    pub dataset_item_id: String,
    /// The trace of the execution.
    pub trace_id: String,
    /// The observation of the execution.
    pub observation_id: Option<String>,
    /// The creation time of a new link.
    pub created_at: DateTime<Utc>,
}

/// A run and all of its items, oldest item first.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetRunWithItems {
    /// The run.
    pub run: DatasetRun,
    /// Its items.
    pub items: Vec<DatasetRunItem>,
}

/// Keeps datasets, items, runs and run items. Every method is scoped to one project.
#[async_trait]
pub trait DatasetStore: Send + Sync + Debug + 'static {
    /// Creates the dataset named `dataset.name`, or updates the fields `dataset` sets.
    async fn upsert_dataset(
        &self,
        project_id: &str,
        dataset: &DatasetUpsert,
    ) -> BackendResult<Dataset>;

    /// Returns the dataset with this name.
    async fn get_dataset(&self, project_id: &str, name: &str) -> BackendResult<Option<Dataset>>;

    /// Returns a page of datasets, newest first.
    async fn list_datasets(
        &self,
        project_id: &str,
        page: PageRequest,
    ) -> BackendResult<Page<Dataset>>;

    /// Creates or updates the item `item.id` of `dataset`. Fails with
    /// `BackendError::AlreadyExists` when the id belongs to an item of another dataset.
    async fn upsert_item(
        &self,
        project_id: &str,
        dataset: &Dataset,
        item: &DatasetItemUpsert,
    ) -> BackendResult<DatasetItem>;

    /// Returns one item.
    async fn get_item(&self, project_id: &str, item_id: &str)
    -> BackendResult<Option<DatasetItem>>;

    /// Returns a page of items, newest first.
    async fn list_items(
        &self,
        project_id: &str,
        filter: &DatasetItemFilter,
        page: PageRequest,
    ) -> BackendResult<Page<DatasetItem>>;

    /// Creates the run (`run.dataset_id`, `run.name`) or updates the fields `run` sets, and
    /// returns it.
    async fn upsert_run(
        &self,
        project_id: &str,
        run: &DatasetRunUpsert,
    ) -> BackendResult<DatasetRun>;

    /// Links a dataset item to a trace in a run (idempotently, see `DatasetRunItemUpsert`) and
    /// returns the stored link.
    async fn upsert_run_item(
        &self,
        project_id: &str,
        item: &DatasetRunItemUpsert,
    ) -> BackendResult<DatasetRunItem>;

    /// Returns the named run of a dataset with its items.
    async fn get_run(
        &self,
        project_id: &str,
        dataset_id: &str,
        run_name: &str,
    ) -> BackendResult<Option<DatasetRunWithItems>>;

    /// Returns every run of a dataset, newest first.
    async fn list_runs(&self, project_id: &str, dataset_id: &str)
    -> BackendResult<Vec<DatasetRun>>;

    /// Deletes the named run of a dataset and its items; returns whether it existed.
    async fn delete_run(
        &self,
        project_id: &str,
        dataset_id: &str,
        run_name: &str,
    ) -> BackendResult<bool>;
}

/// Finds the dataset runs recorded only in span attributes (`langfuse.experiment.*`, see
/// `ExperimentSpan`). Implemented by the trace stores, which index those spans on write.
#[async_trait]
pub trait ExperimentIndex: Send + Sync + Debug + 'static {
    /// Returns the runs of a dataset found in spans, one per run name, newest first.
    async fn experiment_runs(
        &self,
        project_id: &str,
        dataset_id: &str,
    ) -> BackendResult<Vec<DatasetRun>>;

    /// Returns the named run of a dataset as found in spans, with one item per (dataset item,
    /// trace), oldest first.
    async fn experiment_run(
        &self,
        project_id: &str,
        dataset_id: &str,
        run_name: &str,
    ) -> BackendResult<Option<DatasetRunWithItems>>;

    /// Forgets the named run of a dataset; returns whether any span of it was indexed.
    async fn delete_experiment_run(
        &self,
        project_id: &str,
        dataset_id: &str,
        run_name: &str,
    ) -> BackendResult<bool>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_case_insensitively_and_serialise_upper_case() {
        assert_eq!(
            DatasetItemStatus::parse("archived"),
            Some(DatasetItemStatus::Archived)
        );
        assert_eq!(
            DatasetItemStatus::parse("ACTIVE"),
            Some(DatasetItemStatus::Active)
        );
        assert_eq!(DatasetItemStatus::parse("deleted"), None);
        assert_eq!(
            serde_json::to_value(DatasetItemStatus::Archived).unwrap(),
            serde_json::json!("ARCHIVED")
        );
        assert_eq!(DatasetItemStatus::default(), DatasetItemStatus::Active);
    }
}
