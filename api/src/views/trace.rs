//! Traces as `GET /traces` (with observation and score ids) and `GET /traces/{id}` (with full
//! observations and scores) return them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use periscope_core::model::Trace;
use serde::Serialize;
use serde_json::Value;

use super::observation::ObservationView;
use super::score::ScoreView;
use super::{IsoTime, decode_metadata, environment_or_default};

/// Returns the path of a trace in the UI, as Langfuse reports it in `htmlPath`.
pub(crate) fn html_path(project_id: &str, trace_id: &str) -> String {
    format!("/project/{project_id}/traces/{trace_id}")
}

/// The fields every trace view shares: Langfuse's `Trace` plus the derived ones.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TraceView {
    pub(crate) id: String,
    pub(crate) project_id: String,
    pub(crate) timestamp: IsoTime,
    pub(crate) name: Option<String>,
    pub(crate) input: Option<Value>,
    pub(crate) output: Option<Value>,
    pub(crate) session_id: Option<String>,
    pub(crate) release: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) metadata: BTreeMap<String, Value>,
    pub(crate) tags: Vec<String>,
    pub(crate) public: bool,
    pub(crate) environment: String,
    pub(crate) created_at: IsoTime,
    pub(crate) updated_at: IsoTime,
    pub(crate) html_path: String,
    /// Seconds; 0 when no observation has both ends (the SDKs' schema requires a number).
    pub(crate) latency: f64,
    pub(crate) total_cost: f64,
}

impl TraceView {
    /// Converts a merged trace (without its observations and scores).
    pub(crate) fn from_trace(trace: &Trace) -> Self {
        let record = &trace.record;
        let timestamp: DateTime<Utc> = record.timestamp.unwrap_or(trace.created_at);
        Self {
            id: record.id.clone(),
            project_id: record.project_id.clone(),
            timestamp: IsoTime(timestamp),
            name: record.name.clone(),
            input: record.input.clone(),
            output: record.output.clone(),
            session_id: record.session_id.clone(),
            release: record.release.clone(),
            version: record.version.clone(),
            user_id: record.user_id.clone(),
            metadata: decode_metadata(&record.metadata, &[]),
            tags: record.tags.clone(),
            public: record.public.unwrap_or(false),
            environment: environment_or_default(record.environment.as_deref()),
            created_at: IsoTime(trace.created_at),
            updated_at: IsoTime(trace.updated_at),
            html_path: html_path(&record.project_id, &record.id),
            latency: trace.latency_seconds.unwrap_or(0.0),
            total_cost: trace.total_cost,
        }
    }
}

/// A trace in list views: observations and scores as ids.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct TraceListView {
    #[serde(flatten)]
    pub(crate) trace: TraceView,
    pub(crate) observations: Vec<String>,
    pub(crate) scores: Vec<String>,
}

impl TraceListView {
    /// Converts a trace of a list (ids from the id lists, or from full bodies when filled).
    pub(crate) fn from_trace(trace: &Trace) -> Self {
        let observations = if trace.observation_ids.is_empty() {
            trace.observations.iter().map(|o| o.id.clone()).collect()
        } else {
            trace.observation_ids.clone()
        };
        let scores = if trace.score_ids.is_empty() {
            trace.scores.iter().map(|s| s.id.clone()).collect()
        } else {
            trace.score_ids.clone()
        };
        Self {
            trace: TraceView::from_trace(trace),
            observations,
            scores,
        }
    }
}

/// A single trace with its observations and scores in full.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct TraceDetailView {
    #[serde(flatten)]
    pub(crate) trace: TraceView,
    pub(crate) observations: Vec<ObservationView>,
    pub(crate) scores: Vec<ScoreView>,
}

impl TraceDetailView {
    /// Converts a trace read with its observations and scores.
    pub(crate) fn from_trace(trace: &Trace) -> Self {
        Self {
            trace: TraceView::from_trace(trace),
            observations: trace
                .observations
                .iter()
                .map(ObservationView::from_record)
                .collect(),
            scores: trace.scores.iter().map(ScoreView::from_record).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use periscope_core::model::{
        ObservationRecord, ScoreDataType, ScoreRecord, ScoreSource, TraceRecord,
    };
    use serde_json::json;

    fn at(millis: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(1_795_743_649_067 + millis)
            .unwrap()
    }

    fn trace() -> Trace {
        Trace {
            record: TraceRecord {
                project_id: "p1".into(),
                id: "trace-1".into(),
                timestamp: Some(at(0)),
                name: Some("answer-question".into()),
                user_id: Some("user-7".into()),
                session_id: Some("session-42".into()),
                release: Some("r1".into()),
                version: Some("1.0".into()),
                environment: Some("staging".into()),
                input: Some(json!({"q": "?"})),
                output: Some(json!("!")),
                metadata: [
                    ("team".to_owned(), json!("\"ml\"")),
                    ("n".to_owned(), json!("3")),
                ]
                .into(),
                tags: vec!["demo".into(), "eu".into()],
                public: Some(true),
                event_time: at(5),
            },
            created_at: at(10),
            updated_at: at(20),
            latency_seconds: Some(1.25),
            total_cost: 0.5,
            observation_ids: vec!["gen-1".into()],
            score_ids: vec!["s-1".into()],
            observations: Vec::new(),
            scores: Vec::new(),
        }
    }

    #[test]
    fn list_view_converts_every_field() {
        let view = serde_json::to_value(TraceListView::from_trace(&trace())).unwrap();
        assert_eq!(
            view,
            json!({
                "id": "trace-1",
                "projectId": "p1",
                "timestamp": "2026-11-27T01:40:49.067Z",
                "name": "answer-question",
                "input": {"q": "?"},
                "output": "!",
                "sessionId": "session-42",
                "release": "r1",
                "version": "1.0",
                "userId": "user-7",
                "metadata": {"team": "ml", "n": 3},
                "tags": ["demo", "eu"],
                "public": true,
                "environment": "staging",
                "createdAt": "2026-11-27T01:40:49.077Z",
                "updatedAt": "2026-11-27T01:40:49.087Z",
                "htmlPath": "/project/p1/traces/trace-1",
                "latency": 1.25,
                "totalCost": 0.5,
                "observations": ["gen-1"],
                "scores": ["s-1"],
            })
        );
    }

    #[test]
    fn a_sparse_trace_gets_defaults() {
        let mut sparse = trace();
        sparse.record = TraceRecord {
            project_id: "p1".into(),
            id: "t2".into(),
            event_time: at(0),
            ..Default::default()
        };
        sparse.latency_seconds = None;
        let view = serde_json::to_value(TraceListView::from_trace(&sparse)).unwrap();
        assert_eq!(
            view["timestamp"], "2026-11-27T01:40:49.077Z",
            "falls back to createdAt"
        );
        assert_eq!(view["environment"], "default");
        assert_eq!(view["public"], false);
        assert_eq!(view["tags"], json!([]));
        assert_eq!(view["metadata"], json!({}));
        assert_eq!(view["latency"], json!(0.0));
        assert!(view["name"].is_null() && view["input"].is_null() && view["userId"].is_null());
    }

    #[test]
    fn detail_view_embeds_observations_and_scores() {
        let mut full = trace();
        full.observation_ids.clear();
        full.score_ids.clear();
        full.observations = vec![ObservationRecord {
            project_id: "p1".into(),
            id: "gen-1".into(),
            trace_id: "trace-1".into(),
            event_time: at(1),
            ..Default::default()
        }];
        full.scores = vec![ScoreRecord {
            project_id: "p1".into(),
            id: "s-1".into(),
            trace_id: Some("trace-1".into()),
            observation_id: None,
            session_id: None,
            dataset_run_id: None,
            name: "quality".into(),
            value: 0.0,
            string_value: Some("good".into()),
            data_type: ScoreDataType::Categorical,
            source: ScoreSource::Api,
            comment: None,
            metadata: None,
            config_id: None,
            queue_id: None,
            author_user_id: None,
            environment: "staging".into(),
            timestamp: at(2),
            event_time: at(2),
        }];
        let view = serde_json::to_value(TraceDetailView::from_trace(&full)).unwrap();
        assert_eq!(view["observations"][0]["id"], "gen-1");
        assert_eq!(view["observations"][0]["type"], "SPAN");
        assert_eq!(view["scores"][0]["stringValue"], "good");
        assert_eq!(view["htmlPath"], "/project/p1/traces/trace-1");
        let list = TraceListView::from_trace(&full);
        assert_eq!(
            (list.observations, list.scores),
            (vec!["gen-1".to_owned()], vec!["s-1".to_owned()])
        );
    }
}
