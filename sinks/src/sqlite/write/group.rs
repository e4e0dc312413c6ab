//! Grouping and merging a batch in memory before it touches the database, so each stored row
//! is read and written once per batch however many partial records it receives.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use periscope_core::model::{ObservationRecord, Record, ScoreRecord, TraceRecord};
use periscope_core::store::WriteSummary;

/// A row key: `(project_id, id)`. Ordered, so rows are written in index order.
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
    /// Groups `records` by key and merges records of the same key.
    pub(crate) fn group(records: Vec<Record>) -> Self {
        let mut batch = GroupedBatch::default();
        for record in records {
            match record {
                Record::Trace(trace) => batch.add_trace(trace),
                Record::Observation(observation) => batch.add_observation(observation),
                Record::Score(score) => batch.add_score(score),
            }
        }
        batch
    }

    fn add_trace(&mut self, trace: TraceRecord) {
        self.summary.traces += 1;
        let key = (trace.project_id.clone(), trace.id.clone());
        match self.traces.get_mut(&key) {
            Some(pending) => {
                pending.first_event_time = pending.first_event_time.min(trace.event_time);
                pending.record.merge(trace);
            }
            None => {
                let first_event_time = trace.event_time;
                self.traces.insert(
                    key,
                    PendingTrace {
                        record: trace,
                        first_event_time,
                    },
                );
            }
        }
    }

    fn add_observation(&mut self, observation: ObservationRecord) {
        self.summary.observations += 1;
        let key = (observation.project_id.clone(), observation.id.clone());
        match self.observations.get_mut(&key) {
            Some(pending) => pending.merge(observation),
            None => {
                self.observations.insert(key, observation);
            }
        }
    }

    fn add_score(&mut self, score: ScoreRecord) {
        self.summary.scores += 1;
        let key = (score.project_id.clone(), score.id.clone());
        match self.scores.get_mut(&key) {
            // Scores are whole-record upserts: the newer event wins.
            Some(current) if score.event_time >= current.event_time => *current = score,
            Some(_) => {}
            None => {
                self.scores.insert(key, score);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use periscope_core::model::{ScoreDataType, ScoreSource};

    use super::*;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, second)
            .single()
            .unwrap()
    }

    fn trace(id: &str, second: u32, name: &str) -> Record {
        Record::Trace(TraceRecord {
            project_id: "p".into(),
            id: id.into(),
            name: Some(name.into()),
            event_time: at(second),
            ..TraceRecord::default()
        })
    }

    fn score(second: u32, value: f64) -> Record {
        Record::Score(ScoreRecord {
            project_id: "p".into(),
            id: "s".into(),
            trace_id: None,
            observation_id: None,
            session_id: None,
            dataset_run_id: None,
            name: "n".into(),
            value,
            string_value: None,
            data_type: ScoreDataType::Numeric,
            source: ScoreSource::Api,
            comment: None,
            metadata: None,
            config_id: None,
            queue_id: None,
            author_user_id: None,
            environment: "default".into(),
            timestamp: at(second),
            event_time: at(second),
        })
    }

    #[test]
    fn records_of_one_key_merge_into_one_row_and_keep_the_earliest_event() {
        let batch = GroupedBatch::group(vec![
            trace("t", 5, "newer"),
            trace("t", 1, "older"),
            trace("u", 2, "other"),
            score(3, 1.0),
            score(2, 2.0),
        ]);
        assert_eq!(
            batch.summary,
            WriteSummary {
                traces: 3,
                observations: 0,
                scores: 2
            }
        );
        assert_eq!(batch.traces.len(), 2);
        let merged = &batch.traces[&("p".to_string(), "t".to_string())];
        assert_eq!(merged.record.name.as_deref(), Some("newer"));
        assert_eq!(merged.first_event_time, at(1));
        assert_eq!(batch.scores.len(), 1);
        assert_eq!(batch.scores[&("p".to_string(), "s".to_string())].value, 1.0);
    }
}
