//! Datasets, items, runs and run items in Langfuse's shapes (fern `commons.Dataset`,
//! `DatasetItem`, `DatasetRun`, `DatasetRunWithItems`, `DatasetRunItem`; WIRE-PROTOCOL.md §8).
//! The Python SDK validates `Dataset` and `DatasetItem`, so every required key is present
//! (`null` when unset) and items carry an empty `mediaReferences` list.

use periscope_core::datasets::{
    Dataset, DatasetItem, DatasetRun, DatasetRunItem, DatasetRunWithItems,
};
use serde::Serialize;
use serde_json::Value;

use super::IsoTime;

/// A dataset (`GET /v2/datasets/{name}`, `POST /v2/datasets`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DatasetView {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) metadata: Option<Value>,
    pub(crate) input_schema: Option<Value>,
    pub(crate) expected_output_schema: Option<Value>,
    pub(crate) project_id: String,
    pub(crate) created_at: IsoTime,
    pub(crate) updated_at: IsoTime,
}

impl DatasetView {
    /// Converts a stored dataset.
    pub(crate) fn from_dataset(dataset: &Dataset) -> Self {
        Self {
            id: dataset.id.clone(),
            name: dataset.name.clone(),
            description: dataset.description.clone(),
            metadata: dataset.metadata.clone(),
            input_schema: dataset.input_schema.clone(),
            expected_output_schema: dataset.expected_output_schema.clone(),
            project_id: dataset.project_id.clone(),
            created_at: IsoTime(dataset.created_at),
            updated_at: IsoTime(dataset.updated_at),
        }
    }
}

/// A dataset as the v1 endpoints return it: with its active items and its run names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct DatasetV1View {
    #[serde(flatten)]
    pub(crate) dataset: DatasetView,
    pub(crate) items: Vec<DatasetItemView>,
    pub(crate) runs: Vec<String>,
}

/// A dataset item (`GET /dataset-items`, `GET /dataset-items/{id}`, `POST /dataset-items`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DatasetItemView {
    pub(crate) id: String,
    pub(crate) status: &'static str,
    pub(crate) input: Option<Value>,
    pub(crate) expected_output: Option<Value>,
    pub(crate) metadata: Option<Value>,
    pub(crate) source_trace_id: Option<String>,
    pub(crate) source_observation_id: Option<String>,
    pub(crate) dataset_id: String,
    pub(crate) dataset_name: String,
    pub(crate) created_at: IsoTime,
    pub(crate) updated_at: IsoTime,
    /// Periscope stores no media; the SDK requires the list.
    pub(crate) media_references: Vec<Value>,
}

impl DatasetItemView {
    /// Converts a stored item.
    pub(crate) fn from_item(item: &DatasetItem) -> Self {
        Self {
            id: item.id.clone(),
            status: item.status.as_str(),
            input: item.input.clone(),
            expected_output: item.expected_output.clone(),
            metadata: item.metadata.clone(),
            source_trace_id: item.source_trace_id.clone(),
            source_observation_id: item.source_observation_id.clone(),
            dataset_id: item.dataset_id.clone(),
            dataset_name: item.dataset_name.clone(),
            created_at: IsoTime(item.created_at),
            updated_at: IsoTime(item.updated_at),
            media_references: Vec::new(),
        }
    }
}

/// A dataset run (`GET /datasets/{name}/runs`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DatasetRunView {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) metadata: Option<Value>,
    pub(crate) dataset_id: String,
    pub(crate) dataset_name: String,
    pub(crate) created_at: IsoTime,
    pub(crate) updated_at: IsoTime,
}

impl DatasetRunView {
    /// Converts a run of the dataset named `dataset_name`.
    pub(crate) fn from_run(run: &DatasetRun, dataset_name: &str) -> Self {
        Self {
            id: run.id.clone(),
            name: run.name.clone(),
            description: run.description.clone(),
            metadata: run.metadata.clone(),
            dataset_id: run.dataset_id.clone(),
            dataset_name: dataset_name.to_owned(),
            created_at: IsoTime(run.created_at),
            updated_at: IsoTime(run.updated_at),
        }
    }
}

/// A run item (`POST /dataset-run-items`, and inside `DatasetRunWithItemsView`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DatasetRunItemView {
    pub(crate) id: String,
    pub(crate) dataset_run_id: String,
    pub(crate) dataset_run_name: String,
    pub(crate) dataset_item_id: String,
    pub(crate) trace_id: String,
    pub(crate) observation_id: Option<String>,
    pub(crate) created_at: IsoTime,
    pub(crate) updated_at: IsoTime,
}

impl DatasetRunItemView {
    /// Converts a run item.
    pub(crate) fn from_item(item: &DatasetRunItem) -> Self {
        Self {
            id: item.id.clone(),
            dataset_run_id: item.dataset_run_id.clone(),
            dataset_run_name: item.dataset_run_name.clone(),
            dataset_item_id: item.dataset_item_id.clone(),
            trace_id: item.trace_id.clone(),
            observation_id: item.observation_id.clone(),
            created_at: IsoTime(item.created_at),
            updated_at: IsoTime(item.updated_at),
        }
    }
}

/// A run with its items (`GET /datasets/{name}/runs/{runName}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DatasetRunWithItemsView {
    #[serde(flatten)]
    pub(crate) run: DatasetRunView,
    pub(crate) dataset_run_items: Vec<DatasetRunItemView>,
}

impl DatasetRunWithItemsView {
    /// Converts a run of the dataset named `dataset_name` with its items.
    pub(crate) fn from_run(run: &DatasetRunWithItems, dataset_name: &str) -> Self {
        Self {
            run: DatasetRunView::from_run(&run.run, dataset_name),
            dataset_run_items: run
                .items
                .iter()
                .map(DatasetRunItemView::from_item)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use periscope_core::datasets::DatasetItemStatus;
    use serde_json::json;

    #[test]
    fn a_dataset_item_has_every_key_the_sdk_requires() {
        let time = Utc.with_ymd_and_hms(2026, 11, 27, 1, 40, 51).unwrap();
        let item = DatasetItem {
            id: "3d124bea".into(),
            dataset_id: "ds-1".into(),
            dataset_name: "qa-set".into(),
            input: Some(json!({"country": "Italy"})),
            expected_output: None,
            metadata: None,
            source_trace_id: None,
            source_observation_id: None,
            status: DatasetItemStatus::Active,
            created_at: time,
            updated_at: time,
        };
        assert_eq!(
            serde_json::to_value(DatasetItemView::from_item(&item)).unwrap(),
            json!({
                "id": "3d124bea", "status": "ACTIVE", "input": {"country": "Italy"},
                "expectedOutput": null, "metadata": null, "sourceTraceId": null,
                "sourceObservationId": null, "datasetId": "ds-1", "datasetName": "qa-set",
                "createdAt": "2026-11-27T01:40:51.000Z", "updatedAt": "2026-11-27T01:40:51.000Z",
                "mediaReferences": [],
            })
        );
    }

    #[test]
    fn a_run_flattens_into_its_items_envelope() {
        let time = Utc.with_ymd_and_hms(2026, 11, 27, 1, 40, 51).unwrap();
        let run = DatasetRunWithItems {
            run: DatasetRun {
                id: "run-1".into(),
                dataset_id: "ds-1".into(),
                name: "baseline".into(),
                description: Some("lookup".into()),
                metadata: Some(json!({"model": "x"})),
                created_at: time,
                updated_at: time,
            },
            items: vec![DatasetRunItem {
                id: "link-1".into(),
                dataset_run_id: "run-1".into(),
                dataset_run_name: "baseline".into(),
                dataset_item_id: "item-1".into(),
                trace_id: "trace-1".into(),
                observation_id: None,
                created_at: time,
                updated_at: time,
            }],
        };
        let stamp = "2026-11-27T01:40:51.000Z";
        assert_eq!(
            serde_json::to_value(DatasetRunWithItemsView::from_run(&run, "qa-set")).unwrap(),
            json!({
                "id": "run-1", "name": "baseline", "description": "lookup",
                "metadata": {"model": "x"}, "datasetId": "ds-1", "datasetName": "qa-set",
                "createdAt": stamp, "updatedAt": stamp,
                "datasetRunItems": [{
                    "id": "link-1", "datasetRunId": "run-1", "datasetRunName": "baseline",
                    "datasetItemId": "item-1", "traceId": "trace-1", "observationId": null,
                    "createdAt": stamp, "updatedAt": stamp,
                }],
            })
        );
    }
}
