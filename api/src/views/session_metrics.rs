//! Session aggregates added to `GET /sessions` and `GET /sessions/{id}` (the fields of
//! Langfuse's session table: `countTraces`, `sessionDuration`, tokens, `totalCost`, scores).

use periscope_core::store::{ScoreSummary, SessionMetrics};
use serde::Serialize;

use super::IsoTime;
use super::session::{SessionDetailView, SessionView};

/// Scores of one name and data type on a session and its traces.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ScoreSummaryView {
    pub(crate) name: String,
    pub(crate) data_type: &'static str,
    pub(crate) count: u64,
    /// Average value (numeric and boolean scores); null for categorical ones.
    pub(crate) average: Option<f64>,
}

/// The aggregates of one session.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionMetricsView {
    pub(crate) count_traces: u64,
    /// Seconds from the first trace to the last activity (trace start, observation end).
    pub(crate) session_duration: f64,
    pub(crate) first_trace_at: Option<IsoTime>,
    pub(crate) last_activity_at: Option<IsoTime>,
    pub(crate) input_tokens: i64,
    pub(crate) output_tokens: i64,
    pub(crate) total_tokens: i64,
    pub(crate) total_cost: f64,
    pub(crate) scores: Vec<ScoreSummaryView>,
}

impl SessionMetricsView {
    /// Converts the totals of a session; a session without totals shows zeros.
    pub(crate) fn new(metrics: Option<&SessionMetrics>) -> Self {
        let Some(metrics) = metrics else {
            return Self {
                count_traces: 0,
                session_duration: 0.0,
                first_trace_at: None,
                last_activity_at: None,
                input_tokens: 0,
                output_tokens: 0,
                total_tokens: 0,
                total_cost: 0.0,
                scores: Vec::new(),
            };
        };
        Self {
            count_traces: metrics.trace_count,
            session_duration: metrics.duration_seconds(),
            first_trace_at: Some(IsoTime(metrics.first_trace_at)),
            last_activity_at: Some(IsoTime(metrics.last_activity_at)),
            input_tokens: metrics.input_tokens,
            output_tokens: metrics.output_tokens,
            total_tokens: metrics.total_tokens,
            total_cost: metrics.total_cost,
            scores: metrics.scores.iter().map(score_view).collect(),
        }
    }
}

fn score_view(score: &ScoreSummary) -> ScoreSummaryView {
    ScoreSummaryView {
        name: score.name.clone(),
        data_type: score.data_type.as_str(),
        count: score.count,
        average: score.average,
    }
}

/// A session of `GET /sessions` with its aggregates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SessionWithMetricsView {
    #[serde(flatten)]
    pub(crate) session: SessionView,
    #[serde(flatten)]
    pub(crate) metrics: SessionMetricsView,
}

/// A session of `GET /sessions/{id}`: its traces in time order and its aggregates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SessionDetailWithMetricsView {
    #[serde(flatten)]
    pub(crate) session: SessionDetailView,
    #[serde(flatten)]
    pub(crate) metrics: SessionMetricsView,
}
