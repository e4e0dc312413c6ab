//! Langfuse legacy ingestion events and score bodies: typed parsing and validation.
//!
//! The ingest edge uses this to answer `POST /api/public/ingestion` (400 for a malformed
//! envelope, a 400 entry in the 207 body for each malformed event) and `POST /api/public/scores`;
//! the native gRPC ingest and the enrich processor use [`event_from_parts`] on the same shape.
//! Validation follows Langfuse's ingestion schemas (WIRE-PROTOCOL.md §5, §11): unknown keys are
//! ignored, `null` means "not given", and every error names the offending field.

mod bodies;
mod error;
mod event;
mod fields;
mod score;
#[cfg(test)]
mod tests;

pub use error::{EnvelopeError, EventError, INVALID_REQUEST_MESSAGE};
pub use event::{
    EventType, IngestionEvent, ParsedEvent, event_from_parts, parse_ingestion_batch,
    parse_score_event, validate_event,
};
pub use fields::{
    MAX_ENVIRONMENT_CHARS, MAX_ID_CHARS, is_valid_environment, json_integer, parse_timestamp,
};
pub use score::{DEFAULT_ENVIRONMENT, ScoreBody, ScoreValue, parse_score};
