//! `GET /api/public/traces` and `GET /api/public/traces/{id}`.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use periscope_core::model::Level;
use periscope_core::sharing::ShareObjectType;
use periscope_core::store::{TraceFilter, ValueRange};

use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::params::{QueryParams, Sign, parse_trace_order};
use crate::state::ApiState;
use crate::views::PageResponse;
use crate::views::trace::{TraceDetailView, TraceListView};

const LEVELS: &str = "DEBUG, DEFAULT, WARNING, ERROR";

/// Builds the trace filter from the query parameters.
fn trace_filter(params: &QueryParams) -> Result<TraceFilter> {
    params.reject_unsupported(&["filter"])?;
    let (order_by, order) = params
        .get("orderBy")
        .map(parse_trace_order)
        .transpose()?
        .unwrap_or_default();
    let (score_name, score_range) = score_filter(params)?;
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
        level: params.parsed("level", Level::parse, LEVELS)?,
        model: params.string("model"),
        score_name,
        score_range,
        cost_range: params.range("minCost", "maxCost", Sign::NonNegative)?,
        latency_range: params.range("minLatency", "maxLatency", Sign::NonNegative)?,
        // Surrounding blanks are typing noise: "  " would otherwise match every JSON text.
        search: params
            .get("search")
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned),
        order_by,
        order,
    })
}

/// Returns `scoreName` and its value range; a range without a name is refused, because it
/// would have no score to apply to.
fn score_filter(params: &QueryParams) -> Result<(Option<String>, ValueRange)> {
    let score_name = params.string("scoreName");
    let score_range = params.range("minScore", "maxScore", Sign::Any)?;
    if score_name.is_none() && !score_range.is_open() {
        let bound = if score_range.min.is_some() {
            "minScore"
        } else {
            "maxScore"
        };
        return Err(ApiError::parameter(bound, "needs scoreName"));
    }
    Ok((score_name, score_range))
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
                ..TraceFilter::default()
            }
        );
    }

    #[test]
    fn the_value_filters_reach_the_filter() {
        let params = QueryParams::parse(Some(
            "level=error&model=gpt-4o&scoreName=quality&minScore=-1&maxScore=0.5\
             &minCost=0.001&maxCost=2&minLatency=1.5&maxLatency=10&search=%20Zeppelin%20",
        ));
        let filter = trace_filter(&params).unwrap();
        assert_eq!(
            filter,
            TraceFilter {
                level: Some(Level::Error),
                model: Some("gpt-4o".into()),
                score_name: Some("quality".into()),
                score_range: ValueRange {
                    min: Some(-1.0),
                    max: Some(0.5)
                },
                cost_range: ValueRange {
                    min: Some(0.001),
                    max: Some(2.0)
                },
                latency_range: ValueRange {
                    min: Some(1.5),
                    max: Some(10.0)
                },
                search: Some("Zeppelin".into()),
                ..TraceFilter::default()
            }
        );
        let unset = trace_filter(&QueryParams::parse(Some(
            "level=&model=&scoreName=&minCost=&search=%20%20",
        )))
        .unwrap();
        assert_eq!(unset, TraceFilter::default(), "blank values are absent");
        let named_only = trace_filter(&QueryParams::parse(Some("scoreName=quality"))).unwrap();
        assert_eq!(
            (named_only.score_name.as_deref(), named_only.score_range),
            (Some("quality"), ValueRange::default())
        );
    }

    /// Returns the 400 message of a query that must be refused.
    fn refusal(query: &str) -> String {
        let error = trace_filter(&QueryParams::parse(Some(query))).unwrap_err();
        assert_eq!(
            error.status(),
            axum::http::StatusCode::BAD_REQUEST,
            "{query}"
        );
        error.to_string()
    }

    #[test]
    fn bad_value_filters_are_400_naming_the_parameter() {
        assert_eq!(
            refusal("level=LOUD"),
            "invalid query parameter level: expected one of DEBUG, DEFAULT, WARNING, ERROR, \
             got \"LOUD\""
        );
        for (query, name) in [
            ("scoreName=q&minScore=high", "minScore"),
            ("scoreName=q&maxScore=NaN", "maxScore"),
            ("minCost=cheap", "minCost"),
            ("maxCost=-1", "maxCost"),
            ("minLatency=-0.5", "minLatency"),
            ("maxLatency=1s", "maxLatency"),
        ] {
            let message = refusal(query);
            assert!(
                message.starts_with(&format!("invalid query parameter {name}: ")),
                "{query}: {message}"
            );
        }
    }

    #[test]
    fn inverted_ranges_name_both_bounds() {
        for (query, min, max) in [
            ("scoreName=q&minScore=3&maxScore=1", "minScore", "maxScore"),
            ("minCost=0.5&maxCost=0.1", "minCost", "maxCost"),
            ("minLatency=10&maxLatency=2", "minLatency", "maxLatency"),
        ] {
            let message = refusal(query);
            assert!(
                message.starts_with(&format!("invalid query parameter {min}: "))
                    && message.contains(max),
                "{query}: {message}"
            );
        }
    }

    #[test]
    fn a_score_range_needs_a_score_name() {
        assert_eq!(
            refusal("minScore=1"),
            "invalid query parameter minScore: needs scoreName"
        );
        assert_eq!(
            refusal("maxScore=1"),
            "invalid query parameter maxScore: needs scoreName"
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
