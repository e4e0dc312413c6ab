//! `GET /api/public/sessions` and `GET /api/public/sessions/{id}`.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use periscope_core::store::SessionFilter;

use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::params::QueryParams;
use crate::state::ApiState;
use crate::views::PageResponse;
use crate::views::session::{SessionDetailView, SessionView};

fn session_filter(params: &QueryParams) -> Result<SessionFilter> {
    Ok(SessionFilter {
        environments: params.all("environment"),
        from_timestamp: params.datetime("fromTimestamp")?,
        to_timestamp: params.datetime("toTimestamp")?,
    })
}

/// Returns a page of sessions, newest first.
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<PageResponse<SessionView>>> {
    let params = QueryParams::parse(query.as_deref());
    let page = params.page()?;
    let filter = session_filter(&params)?;
    let sessions = state
        .traces
        .list_sessions(&caller.project_id, &filter, page)
        .await?;
    let data = sessions
        .items
        .iter()
        .map(SessionView::from_session)
        .collect();
    Ok(Json(PageResponse::new(
        data,
        page.page,
        page.limit,
        sessions.total_items,
    )))
}

/// Returns one session with its traces.
pub(crate) async fn get_one(
    State(state): State<ApiState>,
    caller: Caller,
    Path(session_id): Path<String>,
) -> Result<Json<SessionDetailView>> {
    let session = state
        .traces
        .get_session(&caller.project_id, &session_id)
        .await?;
    let session = session.ok_or(ApiError::NotFound { what: "Session" })?;
    Ok(Json(SessionDetailView::from_session(&session)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn session_parameters_reach_the_filter() {
        let params =
            QueryParams::parse(Some("environment=a&environment=b&fromTimestamp=2026-01-01"));
        assert_eq!(
            session_filter(&params).unwrap(),
            SessionFilter {
                environments: vec!["a".into(), "b".into()],
                from_timestamp: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
                to_timestamp: None,
            }
        );
        assert!(session_filter(&QueryParams::parse(Some("toTimestamp=2026-13-01"))).is_err());
    }
}
