//! Langfuse legacy ingestion events and scores → records.
//!
//! Each event maps on its own to partial records; ordering is left to the merge rules in
//! `periscope_core::model` (the record's `event_time` is the envelope timestamp, so a later event
//! overwrites the fields it sets, whichever arrives first). Bodies are expected to have passed
//! `periscope_core::langfuse::validate_event`; fields are read leniently here, so a value of the
//! wrong shape is skipped rather than failing the event.

mod body;
mod observation;
mod score;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use periscope_core::langfuse::{EventError, EventType, IngestionEvent, parse_score_event};
use periscope_core::model::{Record, TraceRecord};

pub use score::map_score;

/// An event that cannot be mapped to records.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// The event lacks or mis-shapes a field the mapping needs.
    #[error("invalid {event_type} event {event_id}: {source}")]
    InvalidEvent {
        event_id: String,
        event_type: &'static str,
        #[source]
        source: EventError,
    },
}

/// Maps one legacy ingestion event to the records it produces.
///
/// `trace-create` gives a trace; span, generation, event and observation events give an
/// observation plus, when they name a trace, a bare trace record so that the trace materialises
/// even if its own event never comes; `score-create` gives a score; `sdk-log` gives nothing.
/// `received_at` is the fallback when the envelope timestamp does not parse.
pub fn map_ingestion_event(
    project_id: &str,
    event: &IngestionEvent,
    received_at: DateTime<Utc>,
) -> Result<Vec<Record>, MapError> {
    let event_time = event.timestamp_utc().unwrap_or(received_at);
    let invalid = |source: EventError| MapError::InvalidEvent {
        event_id: event.id.clone(),
        event_type: event.event_type.as_str(),
        source,
    };
    match event.event_type {
        EventType::SdkLog => Ok(Vec::new()),
        EventType::TraceCreate => {
            let trace = map_trace(project_id, event, event_time).map_err(invalid)?;
            Ok(vec![Record::Trace(trace)])
        }
        EventType::ScoreCreate => {
            let score = parse_score_event(event).map_err(invalid)?;
            Ok(vec![Record::Score(score::score_record(
                project_id, &score, event_time,
            ))])
        }
        EventType::SpanCreate
        | EventType::SpanUpdate
        | EventType::GenerationCreate
        | EventType::GenerationUpdate
        | EventType::EventCreate
        | EventType::ObservationCreate
        | EventType::ObservationUpdate => {
            let observation =
                observation::map_observation(project_id, event, event_time).map_err(invalid)?;
            let mut records = Vec::with_capacity(2);
            if !observation.trace_id.is_empty() {
                // Carries only identity and environment: it exists so that the trace shows up
                // even when its trace-create is late or never sent (Langfuse does the same).
                records.push(Record::Trace(TraceRecord {
                    project_id: project_id.to_owned(),
                    id: observation.trace_id.clone(),
                    environment: observation.environment.clone(),
                    event_time,
                    ..Default::default()
                }));
            }
            records.push(Record::Observation(observation));
            Ok(records)
        }
    }
}

/// Maps a `trace-create` body; every field it sets overwrites, omitted fields keep their value.
fn map_trace(
    project_id: &str,
    event: &IngestionEvent,
    event_time: DateTime<Utc>,
) -> Result<TraceRecord, EventError> {
    let fields = body::Body::new(&event.body);
    let mut tags = fields.string_array("tags");
    // The record keeps tags as a sorted set (the merge relies on it).
    tags.sort();
    tags.dedup();
    Ok(TraceRecord {
        project_id: project_id.to_owned(),
        id: fields.required_id()?,
        // Langfuse stamps a trace without a timestamp with its event's time; the merge keeps
        // the earliest value, so a later upsert without one cannot move it.
        timestamp: Some(fields.time("timestamp").unwrap_or(event_time)),
        name: fields.string("name"),
        user_id: fields.string("userId"),
        session_id: fields.string("sessionId"),
        release: fields.string("release"),
        version: fields.string("version"),
        environment: fields.string("environment"),
        input: fields.json("input"),
        output: fields.json("output"),
        metadata: fields.metadata(),
        tags,
        public: fields.boolean("public"),
        event_time,
    })
}
