//! `GET /api/public/metrics/daily`: per-day counts, costs and per-model usage.

use axum::Json;
use axum::extract::{RawQuery, State};
use periscope_core::model::DailyMetrics;
use periscope_core::store::MetricsFilter;

use crate::auth::Caller;
use crate::error::Result;
use crate::params::QueryParams;
use crate::state::ApiState;
use crate::views::PageResponse;

fn metrics_filter(params: &QueryParams) -> Result<MetricsFilter> {
    Ok(MetricsFilter {
        trace_name: params.string("traceName"),
        user_id: params.string("userId"),
        tags: params.all("tags"),
        environments: params.all("environment"),
        from_timestamp: params.datetime("fromTimestamp")?,
        to_timestamp: params.datetime("toTimestamp")?,
    })
}

/// Returns a page of days, newest first, in Langfuse's `DailyMetrics` shape.
pub(crate) async fn daily(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<PageResponse<DailyMetrics>>> {
    let params = QueryParams::parse(query.as_deref());
    let page = params.page()?;
    let filter = metrics_filter(&params)?;
    let days = state
        .traces
        .daily_metrics(&caller.project_id, &filter, page)
        .await?;
    Ok(Json(PageResponse::new(
        days.items,
        page.page,
        page.limit,
        days.total_items,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use periscope_core::model::DailyModelUsage;
    use serde_json::json;

    #[test]
    fn metrics_parameters_reach_the_filter() {
        let params =
            QueryParams::parse(Some("traceName=qa&userId=u&tags=a&tags=b&environment=prod"));
        assert_eq!(
            metrics_filter(&params).unwrap(),
            MetricsFilter {
                trace_name: Some("qa".into()),
                user_id: Some("u".into()),
                tags: vec!["a".into(), "b".into()],
                environments: vec!["prod".into()],
                from_timestamp: None,
                to_timestamp: None,
            }
        );
    }

    #[test]
    fn days_serialise_in_langfuse_shape() {
        let day = DailyMetrics {
            date: "2026-11-27".into(),
            count_traces: 2,
            count_observations: 5,
            total_cost: 0.25,
            usage: vec![DailyModelUsage {
                model: "gpt-4o".into(),
                input_usage: 100,
                output_usage: 40,
                total_usage: 140,
                count_observations: 2,
                count_traces: 1,
                total_cost: 0.25,
            }],
        };
        let page = serde_json::to_value(PageResponse::new(vec![day], 1, 50, 1)).unwrap();
        assert_eq!(
            page,
            json!({
                "data": [{
                    "date": "2026-11-27", "countTraces": 2, "countObservations": 5, "totalCost": 0.25,
                    "usage": [{"model": "gpt-4o", "inputUsage": 100, "outputUsage": 40, "totalUsage": 140,
                               "countObservations": 2, "countTraces": 1, "totalCost": 0.25}]
                }],
                "meta": {"page": 1, "limit": 50, "totalItems": 1, "totalPages": 1}
            })
        );
    }
}
