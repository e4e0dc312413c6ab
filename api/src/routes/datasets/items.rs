//! Dataset items: `POST /dataset-items` (upsert by id), `GET /dataset-items` (paginated,
//! newest first) and `GET /dataset-items/{id}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use periscope_core::datasets::DatasetItemFilter;
use periscope_core::error::BackendError;
use periscope_core::ids::new_event_id;
use periscope_core::store::PageRequest;

use super::{dataset_named, request};
use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::params::QueryParams;
use crate::state::ApiState;
use crate::views::PageResponse;
use crate::views::dataset::DatasetItemView;

/// Largest page of `GET /dataset-items`: datasets are read whole by the SDK, page by page.
const MAX_ITEMS_LIMIT: u64 = 1000;

/// Creates or updates a dataset item (`POST /dataset-items`).
pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<DatasetItemView>> {
    let request = request::parse_create_item(&body, new_event_id())?;
    let dataset = dataset_named(&state, &caller.project_id, &request.dataset_name).await?;
    match state
        .datasets
        .upsert_item(&caller.project_id, &dataset, &request.item)
        .await
    {
        Ok(item) => Ok(Json(DatasetItemView::from_item(&item))),
        Err(BackendError::AlreadyExists { .. }) => {
            let owner = state
                .datasets
                .get_item(&caller.project_id, &request.item.id)
                .await?
                .map_or_else(
                    || "another dataset".to_owned(),
                    |item| format!("dataset {:?}", item.dataset_name),
                );
            Err(ApiError::InvalidBody(format!(
                "id {:?} already belongs to an item of {owner}; dataset item ids are unique \
                 per project",
                request.item.id
            )))
        }
        Err(error) => Err(error.into()),
    }
}

/// Returns one dataset item (`GET /dataset-items/{id}`).
pub(crate) async fn get_one(
    State(state): State<ApiState>,
    caller: Caller,
    Path(item_id): Path<String>,
) -> Result<Json<DatasetItemView>> {
    let item = state
        .datasets
        .get_item(&caller.project_id, &item_id)
        .await?
        .ok_or(ApiError::NamedNotFound {
            what: "Dataset item",
            name: item_id,
        })?;
    Ok(Json(DatasetItemView::from_item(&item)))
}

/// Returns a page of items, newest first, optionally of one dataset and source
/// (`GET /dataset-items?datasetName=&sourceTraceId=&sourceObservationId=&page=&limit=`).
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<PageResponse<DatasetItemView>>> {
    let params = QueryParams::parse(query.as_deref());
    // Items are updated in place; an earlier version cannot be served.
    params.reject_unsupported(&["version"])?;
    let page = PageRequest {
        page: params.positive_integer("page")?.unwrap_or(1),
        limit: params.limit(MAX_ITEMS_LIMIT)?,
    };
    let dataset_id = match params.get("datasetName") {
        Some(name) => Some(dataset_named(&state, &caller.project_id, name).await?.id),
        None => None,
    };
    let filter = DatasetItemFilter {
        dataset_id,
        source_trace_id: params.string("sourceTraceId"),
        source_observation_id: params.string("sourceObservationId"),
        status: None,
    };
    let items = state
        .datasets
        .list_items(&caller.project_id, &filter, page)
        .await?;
    let data = items.items.iter().map(DatasetItemView::from_item).collect();
    Ok(Json(PageResponse::new(
        data,
        page.page,
        page.limit,
        items.total_items,
    )))
}
