//! The legacy ingestion envelope: `{"batch": [{id, timestamp, type, body}], "metadata"?}`.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::bodies::{ObservationSchema, validate_observation_body, validate_trace_body};
use super::error::{EnvelopeError, EventError};
use super::fields::{Fields, parse_timestamp};
use super::score::{ScoreBody, parse_score_at};

/// The type of a legacy ingestion event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    TraceCreate,
    SpanCreate,
    SpanUpdate,
    GenerationCreate,
    GenerationUpdate,
    EventCreate,
    ScoreCreate,
    /// Client debug output: logged, never stored.
    SdkLog,
    /// Deprecated; the body names its observation `type`.
    ObservationCreate,
    /// Deprecated; the body names its observation `type`.
    ObservationUpdate,
}

impl EventType {
    /// All event types, in declaration order.
    pub const ALL: [EventType; 10] = [
        Self::TraceCreate,
        Self::SpanCreate,
        Self::SpanUpdate,
        Self::GenerationCreate,
        Self::GenerationUpdate,
        Self::EventCreate,
        Self::ScoreCreate,
        Self::SdkLog,
        Self::ObservationCreate,
        Self::ObservationUpdate,
    ];

    /// Returns the wire name, e.g. `"generation-update"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TraceCreate => "trace-create",
            Self::SpanCreate => "span-create",
            Self::SpanUpdate => "span-update",
            Self::GenerationCreate => "generation-create",
            Self::GenerationUpdate => "generation-update",
            Self::EventCreate => "event-create",
            Self::ScoreCreate => "score-create",
            Self::SdkLog => "sdk-log",
            Self::ObservationCreate => "observation-create",
            Self::ObservationUpdate => "observation-update",
        }
    }

    /// Parses a wire name; names are matched exactly, as Langfuse does.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|event_type| event_type.as_str() == name)
    }

    /// Returns true for the `*-update` types, which Langfuse applies after the creates of a batch.
    pub fn is_update(self) -> bool {
        matches!(
            self,
            Self::SpanUpdate | Self::GenerationUpdate | Self::ObservationUpdate
        )
    }

    /// Returns true for the types whose body is an observation.
    pub fn is_observation(self) -> bool {
        self.observation_schema().is_some()
    }

    pub(crate) fn observation_schema(self) -> Option<ObservationSchema> {
        match self {
            Self::SpanCreate | Self::SpanUpdate => Some(ObservationSchema::Span),
            Self::GenerationCreate | Self::GenerationUpdate => Some(ObservationSchema::Generation),
            Self::EventCreate => Some(ObservationSchema::Event),
            Self::ObservationCreate | Self::ObservationUpdate => Some(ObservationSchema::Legacy),
            Self::TraceCreate | Self::ScoreCreate | Self::SdkLog => None,
        }
    }
}

/// One validated ingestion event; `body` is the raw body object as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestionEvent {
    /// The envelope id: the client's dedup key for retried batches.
    pub id: String,
    /// The envelope timestamp as sent (ISO-8601).
    pub timestamp: String,
    pub event_type: EventType,
    pub body: Value,
}

impl IngestionEvent {
    /// Returns the envelope timestamp as UTC, if it parses (it always does after validation).
    pub fn timestamp_utc(&self) -> Option<DateTime<Utc>> {
        parse_timestamp(&self.timestamp)
    }

    /// Returns `body.id`, the id of the entity the event creates or updates.
    pub fn body_id(&self) -> Option<&str> {
        self.body.get("id").and_then(Value::as_str)
    }
}

/// One element of a batch: its envelope id when one could be read, and the parse outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedEvent {
    /// The envelope `id` if it was a string (even an invalid one), for the 207 response.
    pub id: Option<String>,
    pub result: Result<IngestionEvent, EventError>,
}

/// Parses a `POST /api/public/ingestion` body into its events.
///
/// Fails only when the body is not a JSON object with a `batch` array; every element is then
/// validated on its own, so one bad event never loses its neighbours.
pub fn parse_ingestion_batch(body: &[u8]) -> Result<Vec<ParsedEvent>, EnvelopeError> {
    let root: Value = serde_json::from_slice(body).map_err(EnvelopeError::NotJson)?;
    let Value::Object(mut root) = root else {
        return Err(EnvelopeError::NotAnObject);
    };
    let Some(Value::Array(batch)) = root.remove("batch") else {
        return Err(EnvelopeError::MissingBatch);
    };
    Ok(batch.into_iter().map(parse_element).collect())
}

fn parse_element(element: Value) -> ParsedEvent {
    let id = element.get("id").and_then(Value::as_str).map(str::to_owned);
    ParsedEvent {
        id,
        result: event_from_element(element),
    }
}

fn event_from_element(element: Value) -> Result<IngestionEvent, EventError> {
    let Value::Object(mut envelope) = element else {
        return Err(EventError::invalid("event", "expected an object"));
    };
    // Moved out rather than cloned: bodies carry the (possibly large) inputs and outputs.
    let body = envelope.remove("body").filter(|body| !body.is_null());
    let envelope = Value::Object(envelope);
    let fields = Fields::from_value(&envelope, "")?;
    let id = fields.required_id("id")?.to_owned();
    let timestamp = fields.required_string("timestamp")?.to_owned();
    let event_type = parse_event_type(fields.required_string("type")?)?;
    let body = body.ok_or_else(|| EventError::missing("body"))?;
    let event = IngestionEvent {
        id,
        timestamp,
        event_type,
        body,
    };
    validate_event(&event)?;
    Ok(event)
}

/// Builds and validates an event from its parts, as the native gRPC ingest and the enrich
/// processor receive them (`body_json` is the body object as JSON).
pub fn event_from_parts(
    id: &str,
    event_type: &str,
    timestamp: &str,
    body_json: &[u8],
) -> Result<IngestionEvent, EventError> {
    let event_type = parse_event_type(event_type)?;
    let body: Value = serde_json::from_slice(body_json)
        .map_err(|error| EventError::invalid("body", format!("invalid json: {error}")))?;
    let event = IngestionEvent {
        id: id.to_owned(),
        timestamp: timestamp.to_owned(),
        event_type,
        body,
    };
    validate_event(&event)?;
    Ok(event)
}

/// Validates an event: the envelope id and timestamp, then the body schema of its type.
pub fn validate_event(event: &IngestionEvent) -> Result<(), EventError> {
    if let Some(reason) = super::fields::id_problem(&event.id) {
        return Err(EventError::invalid("id", reason));
    }
    if parse_timestamp(&event.timestamp).is_none() {
        return Err(EventError::invalid(
            "timestamp",
            "expected an ISO-8601 date-time",
        ));
    }
    let body = Fields::from_value(&event.body, "body")?;
    match event.event_type {
        EventType::SdkLog => Ok(()),
        EventType::TraceCreate => validate_trace_body(&body),
        EventType::ScoreCreate => score_from_body(event).map(drop),
        other => match other.observation_schema() {
            Some(schema) => validate_observation_body(&body, schema),
            None => Ok(()),
        },
    }
}

/// Parses the score of a `score-create` event.
///
/// A body without an `id` takes the envelope id, which is stable across client retries and log
/// replays (a fresh UUID would duplicate the score on every replay).
pub fn parse_score_event(event: &IngestionEvent) -> Result<ScoreBody, EventError> {
    if event.event_type != EventType::ScoreCreate {
        return Err(EventError::invalid("type", "expected score-create"));
    }
    score_from_body(event)
}

fn score_from_body(event: &IngestionEvent) -> Result<ScoreBody, EventError> {
    parse_score_at(&event.body, "body", || event.id.clone())
}

fn parse_event_type(name: &str) -> Result<EventType, EventError> {
    EventType::parse(name)
        .ok_or_else(|| EventError::invalid("type", format!("unknown event type {name:?}")))
}
