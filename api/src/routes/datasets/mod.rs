//! Datasets and experiments (WIRE-PROTOCOL.md §8, §12): `POST/GET /v2/datasets`,
//! `GET /v2/datasets/{name}`, the v1 `POST /datasets` and `GET /datasets/{name}` of older
//! SDKs, dataset items (`items`) and dataset runs (`runs`).
//!
//! Names arrive percent-encoded in the path (`a%2Fb` for `a/b`); axum decodes them. Missing
//! datasets, items and runs are 404s that name what was not found.

pub(crate) mod items;
mod request;
pub(crate) mod runs;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use periscope_core::datasets::{Dataset, DatasetItemFilter, DatasetItemStatus, merge_runs};
use periscope_core::ids::new_event_id;
use periscope_core::store::PageRequest;

use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::params::QueryParams;
use crate::state::ApiState;
use crate::views::PageResponse;
use crate::views::dataset::{DatasetItemView, DatasetV1View, DatasetView};

/// Most items the v1 dataset endpoints return inline; larger datasets are read page by page
/// through `GET /dataset-items`, and the v1 endpoints refuse rather than truncate them.
const V1_MAX_ITEMS: u64 = 10_000;

/// Returns the caller's dataset named `name`, or a 404 naming it.
pub(crate) async fn dataset_named(
    state: &ApiState,
    project_id: &str,
    name: &str,
) -> Result<Dataset> {
    state
        .datasets
        .get_dataset(project_id, name)
        .await?
        .ok_or_else(|| ApiError::NamedNotFound {
            what: "Dataset",
            name: name.to_owned(),
        })
}

/// Creates a dataset, or updates the fields the body sets (`POST /v2/datasets`).
pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<DatasetView>> {
    let upsert = request::parse_create_dataset(&body, new_event_id())?;
    let dataset = state
        .datasets
        .upsert_dataset(&caller.project_id, &upsert)
        .await?;
    Ok(Json(DatasetView::from_dataset(&dataset)))
}

/// Returns a page of datasets, newest first (`GET /v2/datasets`).
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<PageResponse<DatasetView>>> {
    let page = QueryParams::parse(query.as_deref()).page()?;
    let datasets = state
        .datasets
        .list_datasets(&caller.project_id, page)
        .await?;
    let data = datasets
        .items
        .iter()
        .map(DatasetView::from_dataset)
        .collect();
    Ok(Json(PageResponse::new(
        data,
        page.page,
        page.limit,
        datasets.total_items,
    )))
}

/// Returns one dataset (`GET /v2/datasets/{name}`).
pub(crate) async fn get_one(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<DatasetView>> {
    let dataset = dataset_named(&state, &caller.project_id, &name).await?;
    Ok(Json(DatasetView::from_dataset(&dataset)))
}

/// Returns one dataset with its active items and run names (v1 `GET /datasets/{name}`).
pub(crate) async fn get_one_v1(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<DatasetV1View>> {
    let dataset = dataset_named(&state, &caller.project_id, &name).await?;
    Ok(Json(v1_view(&state, &caller.project_id, dataset).await?))
}

/// Creates a dataset like `create`, answering in the v1 shape (JS v3 `POST /datasets`).
pub(crate) async fn create_v1(
    State(state): State<ApiState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<DatasetV1View>> {
    let upsert = request::parse_create_dataset(&body, new_event_id())?;
    let dataset = state
        .datasets
        .upsert_dataset(&caller.project_id, &upsert)
        .await?;
    Ok(Json(v1_view(&state, &caller.project_id, dataset).await?))
}

/// Builds the v1 dataset: the dataset, its active items (newest first) and its run names.
async fn v1_view(state: &ApiState, project_id: &str, dataset: Dataset) -> Result<DatasetV1View> {
    let filter = DatasetItemFilter {
        dataset_id: Some(dataset.id.clone()),
        status: Some(DatasetItemStatus::Active),
        ..DatasetItemFilter::default()
    };
    let page = PageRequest {
        page: 1,
        limit: V1_MAX_ITEMS,
    };
    let items = state.datasets.list_items(project_id, &filter, page).await?;
    if items.total_items > V1_MAX_ITEMS {
        return Err(ApiError::Forbidden(format!(
            "dataset {:?} has {} items, more than the {V1_MAX_ITEMS} this endpoint returns; \
             read them with GET /api/public/dataset-items?datasetName=...",
            dataset.name, items.total_items
        )));
    }
    let runs = merge_runs(
        state.datasets.list_runs(project_id, &dataset.id).await?,
        state
            .experiments
            .experiment_runs(project_id, &dataset.id)
            .await?,
    );
    Ok(DatasetV1View {
        dataset: DatasetView::from_dataset(&dataset),
        items: items.items.iter().map(DatasetItemView::from_item).collect(),
        runs: runs.into_iter().map(|run| run.name).collect(),
    })
}

/// Returns the entries of page `page` of `all`.
pub(crate) fn page_of<T: Clone>(all: &[T], page: PageRequest) -> Vec<T> {
    let skip = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let take = usize::try_from(page.limit).unwrap_or(usize::MAX);
    all.iter().skip(skip).take(take).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_memory_pages_slice_the_list() {
        let all: Vec<u32> = (1..=5).collect();
        assert_eq!(page_of(&all, PageRequest { page: 1, limit: 2 }), [1, 2]);
        assert_eq!(page_of(&all, PageRequest { page: 3, limit: 2 }), [5]);
        assert!(page_of(&all, PageRequest { page: 4, limit: 2 }).is_empty());
    }
}
