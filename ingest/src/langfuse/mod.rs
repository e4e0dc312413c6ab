//! Langfuse REST writes and the native gRPC ingest: legacy batch events and scores become
//! `pv1::Event`s on the ingest topic, one outcome per event.
//!
//! Validation is `periscope_core::langfuse`'s; this module decides what each validated event
//! becomes on the log and how it is keyed. Retried envelope ids are not deduplicated here:
//! downstream upserts by id are idempotent.

mod configs;
pub(crate) mod http;
pub(crate) mod native;

use bytes::Bytes;
use periscope_core::auth::AuthScope;
use periscope_core::langfuse::{EventType, IngestionEvent, ParsedEvent, ScoreBody};
use periscope_core::log::LogRecord;
use periscope_core::topics;
use periscope_proto::pv1;
use prost::Message;
use serde_json::Value;

use crate::otlp::unix_nanos_now;

/// The envelope layout version written by this ingester.
const SCHEMA_VERSION: u32 = 1;

/// The per-event message when a Bearer (scores-only) key sends anything but a score.
pub(crate) const ACCESS_SCOPE_DENIED: &str = "Access Scope Denied";

/// What happened to one event of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EventOutcome {
    /// Appended (status 201).
    Accepted,
    /// An `sdk-log` event: logged, not stored, and listed in neither array of a 207.
    NotStored,
    /// Not appended; `message` is Langfuse's short text, `error` the details naming the field.
    Rejected {
        status: u16,
        message: String,
        error: String,
    },
}

/// The log records of one batch and the outcome of each of its events, in batch order.
#[derive(Debug, Default)]
pub(crate) struct LegacyBatch {
    pub(crate) records: Vec<LogRecord>,
    /// The client's envelope id of each record, parallel to `records` (for dedup claims).
    pub(crate) envelope_ids: Vec<String>,
    pub(crate) outcomes: Vec<(Option<String>, EventOutcome)>,
}

/// The caller of a batch, as the blocking decode task needs it.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) project_id: String,
    pub(crate) scope: AuthScope,
}

/// Turns parsed events into log records (accepted ones) and outcomes (all of them).
pub(crate) fn build_batch(events: Vec<ParsedEvent>, caller: &Caller) -> LegacyBatch {
    let received_at_unix_nano = unix_nanos_now();
    let mut batch = LegacyBatch {
        records: Vec::with_capacity(events.len()),
        envelope_ids: Vec::with_capacity(events.len()),
        outcomes: Vec::with_capacity(events.len()),
    };
    for ParsedEvent { id, result } in events {
        let outcome = match result {
            Err(error) => EventOutcome::Rejected {
                status: error.status(),
                message: error.message().to_owned(),
                error: error.to_string(),
            },
            Ok(event) => match admit(&event, caller.scope) {
                Err(outcome) => outcome,
                Ok(()) => {
                    batch
                        .records
                        .push(event_record(&event, caller, received_at_unix_nano));
                    batch.envelope_ids.push(event.id.clone());
                    EventOutcome::Accepted
                }
            },
        };
        batch.outcomes.push((id, outcome));
    }
    batch
}

/// Decides whether a valid event is stored: `sdk-log` never is, and a scores-only caller may
/// only send scores.
fn admit(event: &IngestionEvent, scope: AuthScope) -> Result<(), EventOutcome> {
    if event.event_type == EventType::SdkLog {
        tracing::debug!(envelope_id = event.id, body = %event.body, "sdk-log event from a client");
        return Err(EventOutcome::NotStored);
    }
    if scope == AuthScope::ScoresOnly && event.event_type != EventType::ScoreCreate {
        return Err(EventOutcome::Rejected {
            status: 401,
            message: ACCESS_SCOPE_DENIED.to_owned(),
            error: format!(
                "type: {} needs Basic auth with publicKey:secretKey; a Bearer public key may \
                 only send score-create",
                event.event_type.as_str()
            ),
        });
    }
    Ok(())
}

/// Returns the log record of a legacy event, kept as sent.
fn event_record(event: &IngestionEvent, caller: &Caller, received_at_unix_nano: i64) -> LogRecord {
    #[expect(clippy::expect_used, reason = "a serde_json::Value always serialises")]
    let body_json = serde_json::to_vec(&event.body).expect("json value serialises");
    let envelope = pv1::Event {
        event_id: periscope_core::ids::new_event_id(),
        project_id: caller.project_id.clone(),
        received_at_unix_nano,
        source: pv1::Source::LangfuseRest as i32,
        schema_version: SCHEMA_VERSION,
        body: Some(pv1::event::Body::LangfuseEvent(pv1::LangfuseEvent {
            envelope_id: event.id.clone(),
            event_type: event.event_type.as_str().to_owned(),
            timestamp: event.timestamp.clone(),
            body_json,
        })),
    };
    let subject = event_subject(event);
    LogRecord {
        key: Bytes::from(topics::trace_key(&caller.project_id, subject)),
        value: Bytes::from(envelope.encode_to_vec()),
    }
}

/// Returns what a legacy event is keyed by: its trace (traces: `body.id`; observations and
/// scores: `body.traceId`), else the session or dataset run of a score, else the entity id,
/// else the envelope id.
fn event_subject(event: &IngestionEvent) -> &str {
    let field = |name: &str| {
        event
            .body
            .get(name)
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
    };
    let subject = match event.event_type {
        EventType::TraceCreate => field("id"),
        EventType::ScoreCreate => field("traceId")
            .or_else(|| field("sessionId"))
            .or_else(|| field("datasetRunId"))
            .or_else(|| field("id")),
        _ => field("traceId").or_else(|| field("id")),
    };
    subject.unwrap_or(&event.id)
}

/// Returns the log record of a score from `POST /api/public/scores`.
pub(crate) fn score_record(score: &ScoreBody, project_id: &str) -> LogRecord {
    #[expect(
        clippy::expect_used,
        reason = "a derived Serialize of strings, numbers and a json Value cannot fail"
    )]
    let score_json = serde_json::to_vec(score).expect("score serialises");
    let envelope = pv1::Event {
        event_id: periscope_core::ids::new_event_id(),
        project_id: project_id.to_owned(),
        received_at_unix_nano: unix_nanos_now(),
        source: pv1::Source::LangfuseRest as i32,
        schema_version: SCHEMA_VERSION,
        body: Some(pv1::event::Body::ScoreJson(score_json)),
    };
    let subject = score
        .trace_id
        .as_deref()
        .or(score.session_id.as_deref())
        .or(score.dataset_run_id.as_deref())
        .unwrap_or(&score.id);
    LogRecord {
        key: Bytes::from(topics::trace_key(project_id, subject)),
        value: Bytes::from(envelope.encode_to_vec()),
    }
}

#[cfg(test)]
mod tests;
