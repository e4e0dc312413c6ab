//! `GET /api/public/sessions` and `GET /api/public/sessions/{id}`, each session with its
//! aggregates (trace count, duration, tokens, cost, scores), read for the whole page in one
//! grouped store call (`TraceStore::session_metrics`), never per session.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use periscope_core::store::{SessionFilter, SessionMetrics, TraceStore};

use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::params::QueryParams;
use crate::state::ApiState;
use crate::views::PageResponse;
use crate::views::session::{SessionDetailView, SessionView};
use crate::views::session_metrics::{
    SessionDetailWithMetricsView, SessionMetricsView, SessionWithMetricsView,
};

fn session_filter(params: &QueryParams) -> Result<SessionFilter> {
    Ok(SessionFilter {
        environments: params.all("environment"),
        from_timestamp: params.datetime("fromTimestamp")?,
        to_timestamp: params.datetime("toTimestamp")?,
    })
}

/// Returns a page of sessions with their aggregates, newest first.
async fn session_page(
    store: &dyn TraceStore,
    project_id: &str,
    query: Option<&str>,
) -> Result<PageResponse<SessionWithMetricsView>> {
    let params = QueryParams::parse(query);
    let page = params.page()?;
    let filter = session_filter(&params)?;
    let sessions = store.list_sessions(project_id, &filter, page).await?;
    let ids: Vec<String> = sessions.items.iter().map(|s| s.id.clone()).collect();
    let metrics = store.session_metrics(project_id, &ids).await?;
    let by_id: HashMap<&str, &SessionMetrics> =
        metrics.iter().map(|m| (m.session_id.as_str(), m)).collect();
    let data = sessions
        .items
        .iter()
        .map(|session| SessionWithMetricsView {
            session: SessionView::from_session(session),
            metrics: SessionMetricsView::new(by_id.get(session.id.as_str()).copied()),
        })
        .collect();
    Ok(PageResponse::new(
        data,
        page.page,
        page.limit,
        sessions.total_items,
    ))
}

/// Returns one session with its traces (earliest first) and its aggregates.
async fn session_detail(
    store: &dyn TraceStore,
    project_id: &str,
    session_id: &str,
) -> Result<SessionDetailWithMetricsView> {
    let session = store.get_session(project_id, session_id).await?;
    let session = session.ok_or(ApiError::NotFound { what: "Session" })?;
    let ids = [session_id.to_owned()];
    let metrics = store.session_metrics(project_id, &ids).await?;
    Ok(SessionDetailWithMetricsView {
        session: SessionDetailView::from_session(&session),
        metrics: SessionMetricsView::new(metrics.first()),
    })
}

/// `GET /api/public/sessions`.
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<PageResponse<SessionWithMetricsView>>> {
    let page = session_page(state.traces.as_ref(), &caller.project_id, query.as_deref()).await?;
    Ok(Json(page))
}

/// `GET /api/public/sessions/{id}`.
pub(crate) async fn get_one(
    State(state): State<ApiState>,
    caller: Caller,
    Path(session_id): Path<String>,
) -> Result<Json<SessionDetailWithMetricsView>> {
    let detail = session_detail(state.traces.as_ref(), &caller.project_id, &session_id).await?;
    Ok(Json(detail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    use periscope_core::model::{ObservationRecord, Record, ScoreDataType, ScoreRecord};
    use periscope_core::model::{ScoreSource, TraceRecord};
    use periscope_sinks::SqliteTraceStore;
    use serde_json::json;

    fn at(seconds: i64) -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
    }

    #[tokio::test]
    async fn sessions_carry_their_aggregates_and_ordered_traces() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteTraceStore::open(&dir.path().join("traces.db"))
            .await
            .unwrap();
        let trace = |id: &str, second: i64| {
            Record::Trace(TraceRecord {
                project_id: "p".into(),
                id: id.into(),
                session_id: Some("s1".into()),
                timestamp: Some(at(second)),
                event_time: at(second),
                ..TraceRecord::default()
            })
        };
        let observation = Record::Observation(ObservationRecord {
            project_id: "p".into(),
            id: "o1".into(),
            trace_id: "t2".into(),
            start_time: Some(at(60)),
            end_time: Some(at(90)),
            usage_details: [("input".to_owned(), 7), ("output".to_owned(), 3)].into(),
            cost_details: [("total".to_owned(), 0.25)].into(),
            event_time: at(60),
            ..ObservationRecord::default()
        });
        let score = Record::Score(ScoreRecord {
            project_id: "p".into(),
            id: "sc1".into(),
            trace_id: None,
            observation_id: None,
            session_id: Some("s1".into()),
            dataset_run_id: None,
            name: "helpful".into(),
            value: 1.0,
            string_value: None,
            data_type: ScoreDataType::Numeric,
            source: ScoreSource::Api,
            comment: None,
            metadata: None,
            config_id: None,
            queue_id: None,
            author_user_id: None,
            environment: "default".into(),
            timestamp: at(100),
            event_time: at(100),
        });
        store
            .write(vec![trace("t2", 60), trace("t1", 0), observation, score])
            .await
            .unwrap();

        let page = session_page(&store, "p", None).await.unwrap();
        let page = serde_json::to_value(page).unwrap();
        assert_eq!(page["meta"]["totalItems"], 1);
        let session = &page["data"][0];
        assert_eq!(session["id"], "s1");
        assert_eq!(session["countTraces"], 2);
        assert_eq!(session["sessionDuration"], 90.0);
        assert_eq!(session["totalTokens"], 10);
        assert_eq!(session["totalCost"], 0.25);
        assert_eq!(
            session["scores"],
            json!([{"name": "helpful", "dataType": "NUMERIC", "count": 1, "average": 1.0}])
        );

        let detail = session_detail(&store, "p", "s1").await.unwrap();
        let detail = serde_json::to_value(detail).unwrap();
        assert_eq!(detail["traces"][0]["id"], "t1");
        assert_eq!(detail["traces"][1]["id"], "t2");
        assert_eq!(detail["countTraces"], 2);
        assert_eq!(detail["firstTraceAt"], "2026-11-27T00:00:00.000Z");
        assert_eq!(detail["lastActivityAt"], "2026-11-27T00:01:30.000Z");
        let missing = session_detail(&store, "p", "nope").await.unwrap_err();
        assert_eq!(missing.status().as_u16(), 404);
        assert!(session_detail(&store, "q", "s1").await.is_err());
    }

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
