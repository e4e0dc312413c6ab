//! Sessions as `GET /sessions` and `GET /sessions/{id}` return them.

use periscope_core::model::Session;
use serde::Serialize;

use super::trace::TraceListView;
use super::{IsoTime, environment_or_default};

/// A session without its traces.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionView {
    pub(crate) id: String,
    pub(crate) created_at: IsoTime,
    pub(crate) project_id: String,
    pub(crate) environment: String,
}

impl SessionView {
    /// Converts a session.
    pub(crate) fn from_session(session: &Session) -> Self {
        Self {
            id: session.id.clone(),
            created_at: IsoTime(session.created_at),
            project_id: session.project_id.clone(),
            environment: environment_or_default(Some(&session.environment)),
        }
    }
}

/// A session with its traces (each as in trace lists, a superset of Langfuse's `Trace`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SessionDetailView {
    #[serde(flatten)]
    pub(crate) session: SessionView,
    pub(crate) traces: Vec<TraceListView>,
}

impl SessionDetailView {
    /// Converts a session read with its traces.
    pub(crate) fn from_session(session: &Session) -> Self {
        Self {
            session: SessionView::from_session(session),
            traces: session
                .traces
                .iter()
                .map(TraceListView::from_trace)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use periscope_core::model::{Trace, TraceRecord};
    use serde_json::json;

    #[test]
    fn session_views_have_langfuse_fields() {
        let created_at = Utc.timestamp_millis_opt(1_795_743_649_067).unwrap();
        let trace = Trace {
            record: TraceRecord {
                project_id: "p1".into(),
                id: "t1".into(),
                session_id: Some("session-42".into()),
                event_time: created_at,
                ..Default::default()
            },
            created_at,
            updated_at: created_at,
            latency_seconds: None,
            total_cost: 0.0,
            observation_ids: Vec::new(),
            score_ids: Vec::new(),
            observations: Vec::new(),
            scores: Vec::new(),
        };
        let session = Session {
            id: "session-42".into(),
            project_id: "p1".into(),
            created_at,
            environment: String::new(),
            traces: vec![trace],
        };
        let view = serde_json::to_value(SessionDetailView::from_session(&session)).unwrap();
        assert_eq!(view["id"], "session-42");
        assert_eq!(view["createdAt"], "2026-11-27T01:40:49.067Z");
        assert_eq!(view["projectId"], "p1");
        assert_eq!(view["environment"], "default");
        assert_eq!(view["traces"][0]["id"], "t1");
        assert_eq!(view["traces"][0]["sessionId"], "session-42");
        let list = serde_json::to_value(SessionView::from_session(&session)).unwrap();
        assert_eq!(
            list,
            json!({"id": "session-42", "createdAt": "2026-11-27T01:40:49.067Z", "projectId": "p1", "environment": "default"})
        );
    }
}
