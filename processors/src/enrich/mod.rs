//! The enrich processor: maps raw ingest events to trace, observation and score records.

pub mod langfuse;
pub mod mask;
pub mod otlp;
mod processor;
pub mod usage;

pub use processor::EnrichProcessor;
