//! Walking the targets of a time range page by page, with a cursor that survives restarts.
//!
//! Only the existing `TraceStore` reads are used. Traces are listed oldest first by
//! `(timestamp, id)`: the cursor is the timestamp of the last page's last trace plus how many
//! traces of that very timestamp were visited, and the next page starts at that timestamp
//! with an offset of whole pages below that count, dropping the few already-visited traces
//! it re-reads. Memory and per-page work stay bounded however many traces share a timestamp.
//! Observations use the store's own keyset cursor (`list_observations_after`, newest first).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{BackendError, BackendResult};
use crate::evals::{
    EvalFilter, EvalTarget, Evaluator, TargetRef, match_record, observation_document,
    trace_document,
};
use crate::model::{ObservationRecord, Record, Trace};
use crate::store::{
    ObservationCursor, ObservationFilter, PageRequest, SortOrder, TraceFilter, TraceOrderField,
    TraceStore,
};

/// Where a backfill's walk continues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BackfillCursor {
    /// Traces from `timestamp` on, after the first `visited_at_timestamp` of that timestamp.
    Trace {
        timestamp: DateTime<Utc>,
        #[serde(rename = "visitedAtTimestamp")]
        visited_at_timestamp: u64,
    },
    /// Observations strictly after this one (newest first).
    Observation {
        #[serde(rename = "startTime")]
        start_time: DateTime<Utc>,
        id: String,
    },
    /// Every target was visited.
    End,
}

/// What a backfill walks: one evaluator's target kind in a time range of a project, narrowed
/// by an extra filter.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetScope {
    pub project_id: String,
    pub target: EvalTarget,
    /// The evaluator's filter.
    pub filter: EvalFilter,
    /// The backfill's own filter; a target must match both.
    pub extra: EvalFilter,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// One page of listed targets (before matching) and where the next page starts.
#[derive(Debug, Clone)]
pub struct TargetPage {
    pub records: Vec<Record>,
    pub next: BackfillCursor,
}

impl TargetScope {
    /// Returns the scope of `evaluator` narrowed by `extra` over `[from, to)`.
    pub fn new(
        evaluator: &Evaluator,
        extra: EvalFilter,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Self {
        Self {
            project_id: evaluator.project_id.clone(),
            target: evaluator.target.clone(),
            filter: evaluator.filter.clone(),
            extra,
            from,
            to,
        }
    }

    /// Returns the target `record` gives `evaluator` when it matches both filters.
    pub fn target_of(&self, evaluator: &Evaluator, record: &Record) -> Option<TargetRef> {
        let target = match_record(evaluator, record)?;
        if self.extra == EvalFilter::default() {
            return Some(target);
        }
        let narrowed = Evaluator {
            filter: self.extra.clone(),
            ..evaluator.clone()
        };
        match_record(&narrowed, record).map(|_| target)
    }

    /// The store-side part of the filters (the rest is checked per record).
    fn trace_filter(&self, from: DateTime<Utc>) -> TraceFilter {
        let (own, extra) = (&self.filter, &self.extra);
        let mut tags = own.tags.clone();
        tags.extend(extra.tags.iter().cloned());
        TraceFilter {
            user_id: own.user_id.clone().or_else(|| extra.user_id.clone()),
            name: own.name.clone().or_else(|| extra.name.clone()),
            session_id: own.session_id.clone().or_else(|| extra.session_id.clone()),
            tags,
            environments: environments(own, extra),
            from_timestamp: Some(from),
            to_timestamp: Some(self.to),
            order_by: TraceOrderField::Timestamp,
            order: SortOrder::Asc,
            ..TraceFilter::default()
        }
    }

    fn observation_filter(&self) -> ObservationFilter {
        let (own, extra) = (&self.filter, &self.extra);
        let (observation_type, target_name) = match &self.target {
            EvalTarget::Observation {
                observation_type,
                name,
            } => (*observation_type, name.clone()),
            EvalTarget::Trace | EvalTarget::DatasetRunItem => (None, None),
        };
        ObservationFilter {
            observation_type,
            name: target_name
                .or_else(|| own.name.clone())
                .or_else(|| extra.name.clone()),
            level: own.level.or(extra.level),
            environments: environments(own, extra),
            from_start_time: Some(self.from),
            to_start_time: Some(self.to),
            ..ObservationFilter::default()
        }
    }

    fn walks_traces(&self) -> bool {
        matches!(self.target, EvalTarget::Trace)
    }
}

/// Either filter's environments (both are checked per record anyway).
fn environments(own: &EvalFilter, extra: &EvalFilter) -> Vec<String> {
    if own.environments.is_empty() {
        extra.environments.clone()
    } else {
        own.environments.clone()
    }
}

/// Returns the number of targets the store-side filter selects in the scope.
pub async fn count_targets(traces: &dyn TraceStore, scope: &TargetScope) -> BackendResult<u64> {
    let first = PageRequest { page: 1, limit: 1 };
    if scope.walks_traces() {
        let filter = scope.trace_filter(scope.from);
        let page = traces
            .list_traces(&scope.project_id, &filter, first)
            .await?;
        return Ok(page.total_items);
    }
    let filter = scope.observation_filter();
    let page = traces
        .list_observations(&scope.project_id, &filter, first)
        .await?;
    Ok(page.total_items)
}

/// Returns the page of at most `limit` targets after `cursor` (`None`: the first page).
pub async fn next_page(
    traces: &dyn TraceStore,
    scope: &TargetScope,
    cursor: Option<&BackfillCursor>,
    limit: u64,
) -> BackendResult<TargetPage> {
    let limit = limit.max(1);
    if scope.walks_traces() {
        let (start, visited) = match cursor {
            None => (scope.from, 0),
            Some(BackfillCursor::Trace {
                timestamp,
                visited_at_timestamp,
            }) => ((*timestamp).max(scope.from), *visited_at_timestamp),
            Some(BackfillCursor::End) => return Ok(TargetPage::end()),
            Some(other) => return Err(cursor_mismatch(other, scope)),
        };
        return trace_page(traces, scope, start, visited, limit).await;
    }
    let after = match cursor {
        None => None,
        Some(BackfillCursor::Observation { start_time, id }) => Some(ObservationCursor {
            start_time: *start_time,
            id: id.clone(),
        }),
        Some(BackfillCursor::End) => return Ok(TargetPage::end()),
        Some(other) => return Err(cursor_mismatch(other, scope)),
    };
    observation_page(traces, scope, after.as_ref(), limit).await
}

impl TargetPage {
    fn end() -> Self {
        Self {
            records: Vec::new(),
            next: BackfillCursor::End,
        }
    }
}

fn cursor_mismatch(cursor: &BackfillCursor, scope: &TargetScope) -> BackendError {
    BackendError::Invalid {
        backend: "backfill",
        message: format!(
            "cursor {cursor:?} does not walk {} targets",
            scope.target.kind()
        ),
    }
}

async fn trace_page(
    traces: &dyn TraceStore,
    scope: &TargetScope,
    start: DateTime<Utc>,
    visited: u64,
    limit: u64,
) -> BackendResult<TargetPage> {
    // Whole pages of already-visited traces are skipped by offset, the rest dropped here.
    let page = PageRequest {
        page: visited / limit + 1,
        limit,
    };
    let drop = usize::try_from(visited % limit).unwrap_or(usize::MAX);
    let filter = scope.trace_filter(start);
    let listed = traces.list_traces(&scope.project_id, &filter, page).await?;
    let fetched = listed.items.len() as u64;
    let items: Vec<Trace> = listed.items.into_iter().skip(drop).collect();
    let next = match items.last().and_then(|last| last.record.timestamp) {
        Some(last) if fetched >= limit => {
            let tail = items
                .iter()
                .rev()
                .take_while(|trace| trace.record.timestamp == Some(last))
                .count() as u64;
            let visited_at_timestamp = if last == start { visited + tail } else { tail };
            BackfillCursor::Trace {
                timestamp: last,
                visited_at_timestamp,
            }
        }
        _ => BackfillCursor::End,
    };
    let records = items
        .into_iter()
        .map(|trace| Record::Trace(trace.record))
        .collect();
    Ok(TargetPage { records, next })
}

async fn observation_page(
    traces: &dyn TraceStore,
    scope: &TargetScope,
    after: Option<&ObservationCursor>,
    limit: u64,
) -> BackendResult<TargetPage> {
    let filter = scope.observation_filter();
    let items: Vec<ObservationRecord> = traces
        .list_observations_after(&scope.project_id, &filter, after, limit)
        .await?;
    let next = match items.last() {
        Some(last) if items.len() as u64 >= limit => match last.start_time {
            Some(start_time) => BackfillCursor::Observation {
                start_time,
                id: last.id.clone(),
            },
            None => BackfillCursor::End,
        },
        _ => BackfillCursor::End,
    };
    let records = items.into_iter().map(Record::Observation).collect();
    Ok(TargetPage { records, next })
}

/// Returns the document a listed record offers the template's variables (list reads carry
/// the record's own fields, which is what the estimate needs).
pub(crate) fn listed_document(record: &Record) -> Option<Value> {
    match record {
        Record::Trace(trace) => Some(trace_document(&Trace {
            record: trace.clone(),
            created_at: trace.event_time,
            updated_at: trace.event_time,
            latency_seconds: None,
            total_cost: 0.0,
            observation_ids: Vec::new(),
            score_ids: Vec::new(),
            observations: Vec::new(),
            scores: Vec::new(),
        })),
        Record::Observation(observation) => Some(observation_document(observation)),
        Record::Score(_) => None,
    }
}
