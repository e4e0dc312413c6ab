//! What list views derive from a trace's observations and scores: observation and score ids,
//! latency and total cost.

use std::collections::HashMap;

use clickhouse::{Client, Row};
use periscope_core::error::BackendResult;
use periscope_core::model::{Trace, merge_earliest};
use serde::Deserialize;

use super::traces::StoredTrace;
use super::{no_filter, push_latest};
use crate::clickhouse::connect::ch_error;
use crate::clickhouse::sql::Sql;

/// Ids per `IN` list of the per-page lookups.
const IDS_PER_QUERY: usize = 500;

/// What a trace's observations contribute to its view.
#[derive(Debug, Default)]
pub(crate) struct Derived {
    earliest_start: Option<i64>,
    latest_end: Option<i64>,
    total_cost: f64,
    observation_ids: Vec<String>,
}

impl Derived {
    pub(crate) fn add(&mut self, start: Option<i64>, end: Option<i64>, cost: Option<f64>) {
        merge_earliest(&mut self.earliest_start, start);
        self.latest_end = self.latest_end.max(end);
        self.total_cost += cost.unwrap_or(0.0);
    }

    /// Seconds from the earliest start to the latest end, when both are known.
    fn latency_seconds(&self) -> Option<f64> {
        let (start, end) = (self.earliest_start?, self.latest_end?);
        Some((end.saturating_sub(start)).max(0) as f64 / 1_000_000.0)
    }
}

pub(crate) fn into_trace(stored: StoredTrace, derived: Derived, score_ids: Vec<String>) -> Trace {
    Trace {
        record: stored.record,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
        latency_seconds: derived.latency_seconds(),
        total_cost: derived.total_cost,
        observation_ids: derived.observation_ids,
        score_ids,
        observations: Vec::new(),
        scores: Vec::new(),
    }
}

#[derive(Debug, Row, Deserialize)]
struct ObservationSummary {
    trace_id: String,
    id: String,
    start_time: Option<i64>,
    end_time: Option<i64>,
    total_cost: Option<f64>,
}

#[derive(Debug, Row, Deserialize)]
struct ScoreId {
    trace_id: Option<String>,
    id: String,
}

/// What the observations and scores of some traces add to their list views.
#[derive(Debug, Default)]
pub(crate) struct DerivedFields {
    derived: HashMap<String, Derived>,
    score_ids: HashMap<String, Vec<String>>,
}

impl DerivedFields {
    /// Returns `traces` with their observation ids, score ids, latency and cost.
    pub(crate) fn into_traces(mut self, traces: Vec<StoredTrace>) -> Vec<Trace> {
        traces
            .into_iter()
            .map(|stored| {
                let id = stored.record.id.as_str();
                let derived = self.derived.remove(id).unwrap_or_default();
                let scores = self.score_ids.remove(id).unwrap_or_default();
                into_trace(stored, derived, scores)
            })
            .collect()
    }
}

/// Reads observation ids, score ids, latency and cost of the traces `trace_ids` of one
/// project, as list views show them (ids only, no bodies). The observation and score queries
/// run concurrently: on ClickHouse a query's fixed cost dominates these small reads.
pub(crate) async fn of_traces(
    client: &Client,
    project_id: &str,
    trace_ids: &[String],
) -> BackendResult<DerivedFields> {
    let mut fields = DerivedFields::default();
    for chunk in trace_ids.chunks(IDS_PER_QUERY) {
        let (observations, scores) = futures::try_join!(
            observation_summaries(client, project_id, chunk),
            score_ids(client, project_id, chunk)
        )?;
        for row in observations {
            let entry = fields.derived.entry(row.trace_id).or_default();
            entry.add(row.start_time, row.end_time, row.total_cost);
            entry.observation_ids.push(row.id);
        }
        for row in scores {
            if let Some(trace_id) = row.trace_id {
                fields.score_ids.entry(trace_id).or_default().push(row.id);
            }
        }
    }
    Ok(fields)
}

/// The newest observations of `trace_ids`, by start time.
async fn observation_summaries(
    client: &Client,
    project_id: &str,
    trace_ids: &[String],
) -> BackendResult<Vec<ObservationSummary>> {
    // An observation's trace never changes, so the trace ids select its versions safely.
    let in_traces = |sql: &mut Sql| {
        sql.push(" AND trace_id IN ");
        sql.bind_texts(trace_ids);
    };
    let mut sql = Sql::new("");
    push_latest(
        &mut sql,
        "observations",
        "trace_id, id, start_time, end_time, total_cost",
        project_id,
        &in_traces,
        &no_filter,
    );
    sql.push(" ORDER BY start_time ASC NULLS LAST, id");
    sql.query(client)
        .fetch_all::<ObservationSummary>()
        .await
        .map_err(|error| ch_error("failed to read observations of traces", error))
}

/// The ids of the newest live scores of `trace_ids`, by time.
async fn score_ids(
    client: &Client,
    project_id: &str,
    trace_ids: &[String],
) -> BackendResult<Vec<ScoreId>> {
    // A score's trace may change on upsert: the trace ids select candidates only.
    let in_traces = |sql: &mut Sql| {
        sql.push(" AND trace_id IN ");
        sql.bind_texts(trace_ids);
    };
    let mut sql = Sql::new("SELECT trace_id, id FROM (");
    push_latest(
        &mut sql,
        "scores",
        "trace_id, id, timestamp",
        project_id,
        &no_filter,
        &in_traces,
    );
    sql.push(") ORDER BY timestamp, id");
    sql.query(client)
        .fetch_all::<ScoreId>()
        .await
        .map_err(|error| ch_error("failed to read scores of traces", error))
}
