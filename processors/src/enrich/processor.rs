//! The enrich processor: one raw ingest event in, merge-ready records out.
//!
//! Decodes the `periscope.v1.Event` envelope, maps its body (OTLP spans, a Langfuse legacy
//! event, or a score) to records, applies the masking rules, prices observations, and emits
//! each record as JSON keyed by `project_id/trace_id`. An envelope that can never be mapped is
//! poison and goes to the DLQ; a backend hiccup (the meta store while pricing) is transient.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use prost::Message as _;

use periscope_core::blob::BlobStore;
use periscope_core::config::MaskingRule;
use periscope_core::log::{ConsumedRecord, LogRecord};
use periscope_core::meta::MetaStore;
use periscope_core::model::{Record, TraceRecord};
use periscope_core::pipeline::{Processor, StageError};
use periscope_core::topics;
use periscope_proto::pv1::{self, event::Body};

use super::mask::Masker;
use super::{langfuse, otlp};
use crate::cost::Pricer;

/// Maps ingest events to records (see the module docs).
#[derive(Debug)]
pub struct EnrichProcessor {
    masker: Masker,
    pricer: Pricer,
    /// Resolves events offloaded by the ingest edge; without it they are dead-lettered.
    blob: Option<Arc<dyn BlobStore>>,
}

impl EnrichProcessor {
    /// Returns a processor applying `masking_rules` and pricing with built-in and project models.
    pub fn new(
        masking_rules: &[MaskingRule],
        meta: Arc<dyn MetaStore>,
    ) -> Result<Self, regex::Error> {
        Ok(Self {
            masker: Masker::new(masking_rules)?,
            pricer: Pricer::new(meta),
            blob: None,
        })
    }

    /// Resolves offloaded payloads (`BlobRef` envelopes) from `blob`.
    pub fn with_blob_store(mut self, blob: Arc<dyn BlobStore>) -> Self {
        self.blob = Some(blob);
        self
    }

    /// Replaces an offloaded event by the full event stored in the blob store.
    async fn resolve_offloaded(&self, event: pv1::Event) -> Result<pv1::Event, StageError> {
        let Some(Body::BlobRef(reference)) = &event.body else {
            return Ok(event);
        };
        let Some(blob) = &self.blob else {
            return Err(StageError::Poison(format!(
                "event {} was offloaded to {} but this processor has no blob store",
                event.event_id, reference.key
            )));
        };
        periscope_core::payloads::resolve(blob.as_ref(), reference)
            .await
            .map_err(|error| match error.is_transient() {
                true => StageError::Transient(error),
                false => StageError::Poison(error.to_string()),
            })
    }

    /// Maps one decoded envelope to records (no masking or pricing).
    pub fn map_event(event: &pv1::Event) -> Result<Vec<Record>, StageError> {
        let received_at = DateTime::<Utc>::from_timestamp_nanos(event.received_at_unix_nano);
        let project_id = event.project_id.as_str();
        match &event.body {
            Some(Body::OtlpSpans(resource_spans)) => Ok(otlp::map_resource_spans(
                project_id,
                resource_spans,
                received_at,
            )),
            Some(Body::LangfuseEvent(legacy)) => {
                let parsed = periscope_core::langfuse::event_from_parts(
                    &legacy.envelope_id,
                    &legacy.event_type,
                    &legacy.timestamp,
                    &legacy.body_json,
                )
                .map_err(|error| StageError::Poison(format!("invalid langfuse event: {error}")))?;
                langfuse::map_ingestion_event(project_id, &parsed, received_at).map_err(|error| {
                    StageError::Poison(format!("unmappable langfuse event: {error}"))
                })
            }
            Some(Body::ScoreJson(json)) => {
                let value: serde_json::Value = serde_json::from_slice(json)
                    .map_err(|error| StageError::Poison(format!("score is not json: {error}")))?;
                let score = periscope_core::langfuse::parse_score(&value)
                    .map_err(|error| StageError::Poison(format!("invalid score: {error}")))?;
                Ok(vec![Record::Score(langfuse::map_score(
                    project_id,
                    &score,
                    received_at,
                ))])
            }
            Some(Body::DatasetRunItemJson(_)) | Some(Body::BlobRef(_)) => Err(StageError::Poison(
                "event body kind is not supported by this version of the enrich processor"
                    .to_owned(),
            )),
            None => Err(StageError::Poison("event has no body".to_owned())),
        }
    }
}

#[async_trait]
impl Processor for EnrichProcessor {
    fn name(&self) -> &'static str {
        "enrich"
    }

    async fn process(&self, record: &ConsumedRecord) -> Result<Vec<LogRecord>, StageError> {
        let event = pv1::Event::decode(record.value.as_ref())
            .map_err(|error| StageError::Poison(format!("undecodable event envelope: {error}")))?;
        if event.schema_version > 1 {
            return Err(StageError::Poison(format!(
                "event schema version {} is newer than this processor understands",
                event.schema_version
            )));
        }
        let event = self.resolve_offloaded(event).await?;
        let mut records = merge_trace_records(Self::map_event(&event)?);
        let mut output = Vec::with_capacity(records.len());
        for record in &mut records {
            if !self.masker.is_empty() {
                self.masker.apply(record);
            }
            if let Record::Observation(observation) = record {
                self.pricer.apply(observation).await?;
            }
            let value = serde_json::to_vec(record).map_err(|error| {
                StageError::Poison(format!("failed to encode a record: {error}"))
            })?;
            let key = topics::trace_key(record.project_id(), record.trace_id().unwrap_or(""));
            output.push(LogRecord {
                key: Bytes::from(key),
                value: Bytes::from(value),
            });
        }
        Ok(output)
    }
}

/// Collapses the trace records of one event into one per trace, and puts them before the
/// event's other records. Every span of a Langfuse SDK request repeats the propagated trace
/// attributes, so merging shrinks the records topic and the store's work several-fold without
/// changing the merged result. Trace records go first because the trace sink may cut a batch
/// between any two records: written first, the trace's name and attributes are never missing
/// from a trace whose observations can already be read.
fn merge_trace_records(records: Vec<Record>) -> Vec<Record> {
    let mut traces: Vec<TraceRecord> = Vec::new();
    let mut others: Vec<Record> = Vec::with_capacity(records.len());
    let mut trace_positions: HashMap<(String, String), usize> = HashMap::new();
    for record in records {
        match record {
            Record::Trace(trace) => {
                let key = (trace.project_id.clone(), trace.id.clone());
                match trace_positions.get(&key) {
                    Some(&position) => traces[position].merge(trace),
                    None => {
                        trace_positions.insert(key, traces.len());
                        traces.push(trace);
                    }
                }
            }
            other => others.push(other),
        }
    }
    traces
        .into_iter()
        .map(Record::Trace)
        .chain(others)
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use periscope_core::model::ObservationRecord;

    use super::*;

    fn trace(id: &str, name: Option<&str>, second: u32) -> Record {
        Record::Trace(TraceRecord {
            project_id: "p".into(),
            id: id.into(),
            name: name.map(str::to_owned),
            event_time: Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, second).unwrap(),
            ..TraceRecord::default()
        })
    }

    fn observation(id: &str, trace_id: &str) -> Record {
        Record::Observation(ObservationRecord {
            project_id: "p".into(),
            id: id.into(),
            trace_id: trace_id.into(),
            ..ObservationRecord::default()
        })
    }

    #[test]
    fn trace_records_are_merged_per_trace_and_come_before_the_other_records() {
        let records = vec![
            observation("o1", "t1"),
            trace("t1", None, 1),
            observation("o2", "t2"),
            trace("t2", Some("second"), 2),
            trace("t1", Some("first"), 3),
            observation("o3", "t1"),
        ];
        let merged = merge_trace_records(records);
        let summary: Vec<String> = merged
            .iter()
            .map(|record| match record {
                Record::Trace(trace) => format!("trace {} {:?}", trace.id, trace.name),
                Record::Observation(observation) => format!("observation {}", observation.id),
                Record::Score(score) => format!("score {}", score.id),
            })
            .collect();
        assert_eq!(
            summary,
            [
                "trace t1 Some(\"first\")",
                "trace t2 Some(\"second\")",
                "observation o1",
                "observation o2",
                "observation o3",
            ]
        );
    }
}
