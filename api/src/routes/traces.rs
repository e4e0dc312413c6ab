//! `GET /api/public/traces` and `GET /api/public/traces/{id}`.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use periscope_core::sharing::ShareObjectType;
use periscope_core::store::TraceFilter;

use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::params::{QueryParams, parse_trace_order};
use crate::state::ApiState;
use crate::views::PageResponse;
use crate::views::trace::{TraceDetailView, TraceListView};

/// Builds the trace filter from the query parameters.
fn trace_filter(params: &QueryParams) -> Result<TraceFilter> {
    params.reject_unsupported(&["filter"])?;
    let (order_by, order) = params
        .get("orderBy")
        .map(parse_trace_order)
        .transpose()?
        .unwrap_or_default();
    Ok(TraceFilter {
        user_id: params.string("userId"),
        name: params.string("name"),
        session_id: params.string("sessionId"),
        tags: params.all("tags"),
        environments: params.all("environment"),
        release: params.string("release"),
        version: params.string("version"),
        from_timestamp: params.datetime("fromTimestamp")?,
        to_timestamp: params.datetime("toTimestamp")?,
        order_by,
        order,
    })
}

/// Returns a page of traces with their observation and score ids.
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<PageResponse<TraceListView>>> {
    let params = QueryParams::parse(query.as_deref());
    let page = params.page()?;
    let filter = trace_filter(&params)?;
    let traces = state
        .traces
        .list_traces(&caller.project_id, &filter, page)
        .await?;
    let data = traces.items.iter().map(TraceListView::from_trace).collect();
    Ok(Json(PageResponse::new(
        data,
        page.page,
        page.limit,
        traces.total_items,
    )))
}

/// Returns one trace with its observations and scores.
pub(crate) async fn get_one(
    State(state): State<ApiState>,
    caller: Caller,
    Path(trace_id): Path<String>,
) -> Result<Json<TraceDetailView>> {
    let trace = state
        .traces
        .get_trace(&caller.project_id, &trace_id)
        .await?;
    let mut trace = trace.ok_or(ApiError::NotFound { what: "Trace" })?;
    super::scores::apply_config_values(&state, &caller.project_id, &mut trace.scores).await?;
    let mut view = TraceDetailView::from_trace(&trace);
    // A share toggle set through the API wins over the flag the trace arrived with.
    let share = state
        .shares
        .share_state(&caller.project_id, ShareObjectType::Trace, &trace_id)
        .await?;
    if let Some(toggle) = share.and_then(|share| share.toggle) {
        view.trace.public = toggle;
    }
    Ok(Json(view))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use periscope_core::store::{SortOrder, TraceOrderField};

    #[test]
    fn every_trace_parameter_reaches_the_filter() {
        let params = QueryParams::parse(Some(
            "userId=u&name=n&sessionId=s&tags=a&tags=b&environment=prod&environment=dev\
             &release=r&version=v&fromTimestamp=2026-01-01T00:00:00Z&toTimestamp=2026-01-02\
             &orderBy=name.asc&fields=core",
        ));
        let filter = trace_filter(&params).unwrap();
        assert_eq!(
            filter,
            TraceFilter {
                user_id: Some("u".into()),
                name: Some("n".into()),
                session_id: Some("s".into()),
                tags: vec!["a".into(), "b".into()],
                environments: vec!["prod".into(), "dev".into()],
                release: Some("r".into()),
                version: Some("v".into()),
                from_timestamp: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
                to_timestamp: Some(Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap()),
                order_by: TraceOrderField::Name,
                order: SortOrder::Asc,
            }
        );
    }

    #[test]
    fn defaults_sort_newest_first_and_bad_values_are_400() {
        let filter = trace_filter(&QueryParams::default()).unwrap();
        assert_eq!(
            (filter.order_by, filter.order),
            (TraceOrderField::Timestamp, SortOrder::Desc)
        );
        let error = trace_filter(&QueryParams::parse(Some("orderBy=cost.desc"))).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("invalid query parameter orderBy")
        );
        let error = trace_filter(&QueryParams::parse(Some("fromTimestamp=now"))).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("invalid query parameter fromTimestamp")
        );
    }
}
