//! `GET /v2/prompts/{name}/metrics`: per-version usage of a prompt.

use std::collections::BTreeMap;

use periscope_core::store::PromptVersionMetrics;
use serde::Serialize;

use super::{IsoTime, iso_opt};

/// Usage of one prompt version.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PromptVersionMetricsView {
    pub(crate) version: i64,
    /// Observations (generations) that name this version.
    pub(crate) count_generations: u64,
    pub(crate) latency_p50_ms: Option<f64>,
    pub(crate) latency_p95_ms: Option<f64>,
    pub(crate) total_tokens: f64,
    pub(crate) average_tokens: Option<f64>,
    pub(crate) total_cost: f64,
    pub(crate) average_cost: Option<f64>,
    pub(crate) first_used_at: Option<IsoTime>,
    pub(crate) last_used_at: Option<IsoTime>,
    /// Average numeric/boolean score value on those generations, by score name.
    pub(crate) average_scores: BTreeMap<String, f64>,
}

impl From<&PromptVersionMetrics> for PromptVersionMetricsView {
    fn from(metrics: &PromptVersionMetrics) -> Self {
        Self {
            version: metrics.version,
            count_generations: metrics.observation_count,
            latency_p50_ms: metrics.latency_p50_ms,
            latency_p95_ms: metrics.latency_p95_ms,
            total_tokens: metrics.total_tokens,
            average_tokens: metrics.average_tokens,
            total_cost: metrics.total_cost,
            average_cost: metrics.average_cost,
            first_used_at: iso_opt(metrics.first_used_at),
            last_used_at: iso_opt(metrics.last_used_at),
            average_scores: metrics.average_scores.clone(),
        }
    }
}

/// The response body: the prompt name and one entry per used version, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PromptMetricsResponse {
    pub(crate) name: String,
    pub(crate) data: Vec<PromptVersionMetricsView>,
}
