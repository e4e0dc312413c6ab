//! Periscope's shared core: the domain model, ids, configuration, error codes, telemetry,
//! shutdown, the backend traits (event log, trace store, meta store, blob store, cache), the
//! pipeline runner, and the embedded single-node implementations of the log, blob store and cache.
//!
//! Dependencies point one way: `proto ← core ← {ingest, processors, sinks, api}`.

pub mod annotation;
pub mod auth;
pub mod blob;
pub mod cache;
pub mod comments;
pub mod config;
pub mod datasets;
pub mod error;
pub mod evals;
pub mod event_key;
pub mod ids;
pub mod langfuse;
pub mod log;
pub mod meta;
pub mod model;
pub mod otlp_json;
pub mod payloads;
pub mod pipeline;
pub mod prices;
pub mod prompts;
pub mod score_configs;
pub mod sharing;
pub mod shutdown;
pub mod store;
pub mod telemetry;
pub mod topics;

pub use error::{ErrorCode, Retry, ServiceError};
