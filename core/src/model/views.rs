//! Merged read models returned by the trace store.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::records::{ObservationRecord, ScoreRecord, TraceRecord};

/// One page of results and the total number of matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total_items: u64,
}

/// Langfuse's page metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageMeta {
    pub page: u64,
    pub limit: u64,
    pub total_items: u64,
    pub total_pages: u64,
}

impl PageMeta {
    /// Returns the metadata of page `page` (1-based) of `limit` items out of `total_items`.
    pub fn new(page: u64, limit: u64, total_items: u64) -> Self {
        let total_pages = if limit == 0 {
            0
        } else {
            total_items.div_ceil(limit)
        };
        Self {
            page,
            limit,
            total_items,
            total_pages,
        }
    }
}

/// A merged trace with what the read API derives from its observations and scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The merged trace. `timestamp` falls back to the earliest observation start.
    pub record: TraceRecord,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Seconds from the earliest observation start to the latest observation end.
    pub latency_seconds: Option<f64>,
    /// Sum of the observations' total costs (client-given or calculated), in USD.
    pub total_cost: f64,
    /// Ids of the trace's observations (list views) — or empty when `observations` is filled.
    pub observation_ids: Vec<String>,
    /// Ids of the trace's scores (list views).
    pub score_ids: Vec<String>,
    /// Full observations (single-trace reads only).
    pub observations: Vec<ObservationRecord>,
    /// Full scores (single-trace reads only).
    pub scores: Vec<ScoreRecord>,
}

/// A session: the traces sharing one `sessionId`.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub project_id: String,
    pub created_at: DateTime<Utc>,
    pub environment: String,
    /// Filled only for single-session reads.
    pub traces: Vec<Trace>,
}

/// One day of `GET /metrics/daily`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DailyMetrics {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub count_traces: u64,
    pub count_observations: u64,
    pub total_cost: f64,
    pub usage: Vec<DailyModelUsage>,
}

/// Usage of one model on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DailyModelUsage {
    pub model: String,
    pub input_usage: i64,
    pub output_usage: i64,
    pub total_usage: i64,
    pub count_observations: u64,
    pub count_traces: u64,
    pub total_cost: f64,
}

/// Helper for views: total of a cost map (`total` key if present, else the sum).
pub fn cost_total(costs: &BTreeMap<String, f64>) -> Option<f64> {
    if costs.is_empty() {
        return None;
    }
    Some(
        costs
            .get("total")
            .copied()
            .unwrap_or_else(|| costs.values().sum()),
    )
}
