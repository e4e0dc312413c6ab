//! Aggregates the read API adds to sessions and prompt versions (docs/adr/0018-metrics-api.md).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::metrics_query::{
    Aggregation, FieldCondition, Measure, MetricSpec, MetricsCondition, MetricsField, MetricsQuery,
    MetricsRow, MetricsView, Percentile,
};
use crate::model::ScoreDataType;

/// Scores of one name and data type, summarised.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreSummary {
    pub name: String,
    pub data_type: ScoreDataType,
    pub count: u64,
    /// Average of the numeric values (`value`; 1/0 for booleans); `None` for categorical.
    pub average: Option<f64>,
}

/// Totals of one session: its traces, their observations, and the scores on the session
/// and on its traces.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionMetrics {
    pub session_id: String,
    pub trace_count: u64,
    /// The earliest trace start (trace timestamp, else first seen).
    pub first_trace_at: DateTime<Utc>,
    /// The latest of the traces' starts and their observations' starts and ends.
    pub last_activity_at: DateTime<Utc>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_tokens: i64,
    /// USD, summed over every observation of the session's traces.
    pub total_cost: f64,
    /// Scores whose session is this one or whose trace belongs to it, by name then type.
    pub scores: Vec<ScoreSummary>,
}

impl SessionMetrics {
    /// Returns seconds from the first trace to the last activity.
    pub fn duration_seconds(&self) -> f64 {
        let micros = (self.last_activity_at - self.first_trace_at)
            .num_microseconds()
            .unwrap_or(0)
            .max(0);
        micros as f64 / 1_000_000.0
    }
}

/// Usage of one prompt version by the observations (generations) that name it.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptVersionMetrics {
    pub version: i64,
    pub observation_count: u64,
    /// Milliseconds, over observations with a start and an end.
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub total_tokens: f64,
    /// Per observation that reports usage.
    pub average_tokens: Option<f64>,
    pub total_cost: f64,
    /// Per priced observation.
    pub average_cost: Option<f64>,
    pub first_used_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// Average value of the numeric and boolean scores on those observations, by score name.
    pub average_scores: BTreeMap<String, f64>,
}

/// The selection of `TraceStore::prompt_version_metrics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PromptMetricsFilter {
    /// Observations starting in `[from, to)`.
    pub from_start_time: Option<DateTime<Utc>>,
    pub to_start_time: Option<DateTime<Utc>>,
}

/// The average of one score name on the observations of one prompt version.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptVersionScore {
    pub version: i64,
    pub name: String,
    pub average: f64,
}

/// The metrics of [`prompt_usage_query`], in this order.
const PROMPT_METRICS: [(Measure, Aggregation); 9] = [
    (Measure::Count, Aggregation::Count),
    (Measure::Latency, Aggregation::Percentile(Percentile::P50)),
    (Measure::Latency, Aggregation::Percentile(Percentile::P95)),
    (Measure::TotalTokens, Aggregation::Sum),
    (Measure::TotalTokens, Aggregation::Avg),
    (Measure::TotalCost, Aggregation::Sum),
    (Measure::TotalCost, Aggregation::Avg),
    (Measure::StartTime, Aggregation::Min),
    (Measure::StartTime, Aggregation::Max),
];

/// Returns the metrics query both stores run for the usage part of
/// `TraceStore::prompt_version_metrics`: observations naming the prompt, by version.
pub fn prompt_usage_query(prompt_name: &str, filter: &PromptMetricsFilter) -> MetricsQuery {
    MetricsQuery {
        view: MetricsView::Observations,
        dimensions: vec![MetricsField::PromptVersion],
        metrics: PROMPT_METRICS
            .iter()
            .map(|&(measure, aggregation)| MetricSpec {
                measure,
                aggregation,
            })
            .collect(),
        filters: vec![MetricsCondition {
            field: MetricsField::PromptName,
            condition: FieldCondition::Equals(prompt_name.to_owned()),
        }],
        granularity: None,
        from_timestamp: filter.from_start_time,
        to_timestamp: filter.to_start_time,
        order_by: Vec::new(),
        row_limit: u64::MAX,
    }
}

/// Combines the rows of [`prompt_usage_query`] with the score averages into one entry per
/// version, newest version first.
pub fn assemble_prompt_metrics(
    usage: Vec<MetricsRow>,
    scores: Vec<PromptVersionScore>,
) -> Vec<PromptVersionMetrics> {
    let mut versions: Vec<PromptVersionMetrics> = usage
        .into_iter()
        .filter_map(|row| {
            let version = row.dimensions.first()?.as_deref()?.parse::<i64>().ok()?;
            let metric = |index: usize| row.metrics.get(index).copied().flatten();
            let time = |index: usize| {
                metric(index).and_then(|millis| DateTime::from_timestamp_millis(millis as i64))
            };
            Some(PromptVersionMetrics {
                version,
                observation_count: metric(0).unwrap_or(0.0) as u64,
                latency_p50_ms: metric(1),
                latency_p95_ms: metric(2),
                total_tokens: metric(3).unwrap_or(0.0),
                average_tokens: metric(4),
                total_cost: metric(5).unwrap_or(0.0),
                average_cost: metric(6),
                first_used_at: time(7),
                last_used_at: time(8),
                average_scores: BTreeMap::new(),
            })
        })
        .collect();
    for score in scores {
        if let Some(entry) = versions.iter_mut().find(|v| v.version == score.version) {
            entry.average_scores.insert(score.name, score.average);
        }
    }
    versions.sort_by_key(|entry| std::cmp::Reverse(entry.version));
    versions
}
