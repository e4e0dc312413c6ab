//! Dataset runs: `POST /dataset-run-items` (older SDKs' `item.link()`), `GET /dataset-run-items`,
//! and `GET`/`DELETE /datasets/{name}/runs[/{runName}]`.
//!
//! Reads show the union of the runs stored through `POST /dataset-run-items` and the runs the
//! v5 SDK records only in span attributes (`ExperimentIndex`), one per run name; see
//! docs/adr/0007. A stored run gets the id the v5 SDK would give the same run, so both halves
//! of a run share its id and `datasetRunId` scores.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use chrono::Utc;
use periscope_core::datasets::{
    DatasetItemStatus, DatasetRunItemUpsert, DatasetRunUpsert, DatasetRunWithItems,
    experiment_run_id, merge_run_with_items, merge_runs,
};
use periscope_core::ids::new_event_id;
use serde_json::{Value, json};

use super::{dataset_named, page_of, request};
use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::params::QueryParams;
use crate::state::ApiState;
use crate::views::PageResponse;
use crate::views::dataset::{DatasetRunItemView, DatasetRunView, DatasetRunWithItemsView};

/// Returns the named run of a dataset, stored and span-derived halves merged.
async fn merged_run(
    state: &ApiState,
    project_id: &str,
    dataset_id: &str,
    run_name: &str,
) -> Result<DatasetRunWithItems> {
    let stored = state
        .datasets
        .get_run(project_id, dataset_id, run_name)
        .await?;
    let derived = state
        .experiments
        .experiment_run(project_id, dataset_id, run_name)
        .await?;
    merge_run_with_items(stored, derived).ok_or_else(|| ApiError::NamedNotFound {
        what: "Dataset run",
        name: run_name.to_owned(),
    })
}

/// Links a dataset item to a trace in a run, creating the run if needed
/// (`POST /dataset-run-items`). Retries return the stored link.
pub(crate) async fn create_item(
    State(state): State<ApiState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<DatasetRunItemView>> {
    let request = request::parse_create_run_item(&body)?;
    let project_id = caller.project_id.as_str();
    let item = state
        .datasets
        .get_item(project_id, &request.dataset_item_id)
        .await?
        .filter(|item| item.status == DatasetItemStatus::Active)
        .ok_or_else(|| ApiError::NamedNotFound {
            what: "Active dataset item",
            name: request.dataset_item_id.clone(),
        })?;
    let trace_id = match (&request.trace_id, &request.observation_id) {
        (Some(trace_id), _) => trace_id.clone(),
        // Older SDKs linked observations only; their trace is the observation's.
        (None, Some(observation_id)) => {
            state
                .traces
                .get_observation(project_id, observation_id)
                .await?
                .ok_or_else(|| ApiError::NamedNotFound {
                    what: "Observation",
                    name: observation_id.clone(),
                })?
                .trace_id
        }
        (None, None) => {
            return Err(ApiError::InvalidBody(
                "traceId is required (or the observationId of a stored observation)".to_owned(),
            ));
        }
    };
    let created_at = request.created_at.unwrap_or_else(Utc::now);
    let run = state
        .datasets
        .upsert_run(
            project_id,
            &DatasetRunUpsert {
                id: experiment_run_id(project_id, &item.dataset_id, &request.run_name),
                dataset_id: item.dataset_id.clone(),
                name: request.run_name,
                description: request.run_description,
                metadata: request.metadata,
                created_at,
            },
        )
        .await?;
    let link = state
        .datasets
        .upsert_run_item(
            project_id,
            &DatasetRunItemUpsert {
                id: new_event_id(),
                dataset_run_id: run.id,
                dataset_item_id: item.id,
                trace_id,
                observation_id: request.observation_id,
                created_at,
            },
        )
        .await?;
    Ok(Json(DatasetRunItemView::from_item(&link)))
}

/// Returns a page of the items of one run (`GET /dataset-run-items?datasetId=&runName=`).
pub(crate) async fn list_items(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<PageResponse<DatasetRunItemView>>> {
    let params = QueryParams::parse(query.as_deref());
    let page = params.page()?;
    let required = |name: &'static str| {
        params
            .string(name)
            .ok_or_else(|| ApiError::parameter(name, "is required"))
    };
    let (dataset_id, run_name) = (required("datasetId")?, required("runName")?);
    let run = merged_run(&state, &caller.project_id, &dataset_id, &run_name).await?;
    let data = page_of(&run.items, page)
        .iter()
        .map(DatasetRunItemView::from_item)
        .collect();
    Ok(Json(PageResponse::new(
        data,
        page.page,
        page.limit,
        run.items.len() as u64,
    )))
}

/// Returns a page of the runs of a dataset, newest first (`GET /datasets/{name}/runs`).
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<PageResponse<DatasetRunView>>> {
    let page = QueryParams::parse(query.as_deref()).page()?;
    let dataset = dataset_named(&state, &caller.project_id, &name).await?;
    let runs = merge_runs(
        state
            .datasets
            .list_runs(&caller.project_id, &dataset.id)
            .await?,
        state
            .experiments
            .experiment_runs(&caller.project_id, &dataset.id)
            .await?,
    );
    let data = page_of(&runs, page)
        .iter()
        .map(|run| DatasetRunView::from_run(run, &dataset.name))
        .collect();
    Ok(Json(PageResponse::new(
        data,
        page.page,
        page.limit,
        runs.len() as u64,
    )))
}

/// Returns one run with its items (`GET /datasets/{name}/runs/{runName}`).
pub(crate) async fn get_one(
    State(state): State<ApiState>,
    caller: Caller,
    Path((name, run_name)): Path<(String, String)>,
) -> Result<Json<DatasetRunWithItemsView>> {
    let dataset = dataset_named(&state, &caller.project_id, &name).await?;
    let run = merged_run(&state, &caller.project_id, &dataset.id, &run_name).await?;
    Ok(Json(DatasetRunWithItemsView::from_run(&run, &dataset.name)))
}

/// Deletes a run and its items (`DELETE /datasets/{name}/runs/{runName}`). A run found in
/// spans is removed from the experiment index; the spans themselves stay.
pub(crate) async fn delete(
    State(state): State<ApiState>,
    caller: Caller,
    Path((name, run_name)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let dataset = dataset_named(&state, &caller.project_id, &name).await?;
    let stored = state
        .datasets
        .delete_run(&caller.project_id, &dataset.id, &run_name)
        .await?;
    let derived = state
        .experiments
        .delete_experiment_run(&caller.project_id, &dataset.id, &run_name)
        .await?;
    if !stored && !derived {
        return Err(ApiError::NamedNotFound {
            what: "Dataset run",
            name: run_name,
        });
    }
    Ok(Json(json!({"message": "Dataset run successfully deleted"})))
}
