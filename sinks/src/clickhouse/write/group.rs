//! Grouping and merging a batch in memory, so each stored row is loaded and written once per
//! batch however many partial records it receives.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use periscope_core::model::{ObservationRecord, Record, ScoreRecord, TraceRecord};
use periscope_core::store::WriteSummary;

/// A row key: `(project_id, id)`. Ordered, so the keys of one project are adjacent.
pub(crate) type Key = (String, String);

/// A trace merged from the batch, with the earliest event time merged into it.
#[derive(Debug)]
pub(crate) struct PendingTrace {
    pub(crate) record: TraceRecord,
    pub(crate) first_event_time: DateTime<Utc>,
}

/// A batch merged per row.
#[derive(Debug, Default)]
pub(crate) struct GroupedBatch {
    pub(crate) traces: BTreeMap<Key, PendingTrace>,
    pub(crate) observations: BTreeMap<Key, ObservationRecord>,
    pub(crate) scores: BTreeMap<Key, ScoreRecord>,
    /// Number of records of each kind received.
    pub(crate) summary: WriteSummary,
}

impl GroupedBatch {
    /// Groups `records` by key and merges the records of one key with the core merge rules.
    pub(crate) fn group(records: Vec<Record>) -> Self {
        let mut batch = GroupedBatch::default();
        for record in records {
            match record {
                Record::Trace(trace) => {
                    batch.summary.traces += 1;
                    let key = (trace.project_id.clone(), trace.id.clone());
                    match batch.traces.get_mut(&key) {
                        Some(pending) => {
                            pending.first_event_time =
                                pending.first_event_time.min(trace.event_time);
                            pending.record.merge(trace);
                        }
                        None => {
                            let first_event_time = trace.event_time;
                            let pending = PendingTrace {
                                record: trace,
                                first_event_time,
                            };
                            batch.traces.insert(key, pending);
                        }
                    }
                }
                Record::Observation(observation) => {
                    batch.summary.observations += 1;
                    let key = (observation.project_id.clone(), observation.id.clone());
                    match batch.observations.get_mut(&key) {
                        Some(pending) => pending.merge(observation),
                        None => {
                            batch.observations.insert(key, observation);
                        }
                    }
                }
                Record::Score(score) => {
                    batch.summary.scores += 1;
                    let key = (score.project_id.clone(), score.id.clone());
                    match batch.scores.get_mut(&key) {
                        // Scores are whole-record upserts: the newer event wins.
                        Some(current) if score.event_time >= current.event_time => {
                            *current = score;
                        }
                        Some(_) => {}
                        None => {
                            batch.scores.insert(key, score);
                        }
                    }
                }
            }
        }
        batch
    }
}

/// Returns the keys of `keys` grouped by project: `(project_id, ids)`.
pub(crate) fn by_project<'k>(keys: impl Iterator<Item = &'k Key>) -> Vec<(String, Vec<String>)> {
    let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
    for (project_id, id) in keys {
        match grouped.last_mut() {
            Some((project, ids)) if project == project_id => ids.push(id.clone()),
            _ => grouped.push((project_id.clone(), vec![id.clone()])),
        }
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_group_by_adjacent_project() {
        let keys: Vec<Key> = vec![
            ("p".into(), "a".into()),
            ("p".into(), "b".into()),
            ("q".into(), "a".into()),
        ];
        assert_eq!(
            by_project(keys.iter()),
            vec![
                ("p".to_string(), vec!["a".to_string(), "b".to_string()]),
                ("q".to_string(), vec!["a".to_string()])
            ]
        );
    }
}
