//! Periscope's stream processors, each its own consumer group: `enrich` (map OTLP spans and
//! Langfuse events to records, merge-ready, masked, priced) and `cost` (usage and prices).

pub mod cost;
pub mod enrich;
pub mod evals;
