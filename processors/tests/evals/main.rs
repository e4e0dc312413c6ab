//! Evaluators end to end on the embedded backends: records → scheduler → eval jobs → runner →
//! an OpenAI-compatible judge (a stub server on loopback) → score events → enrich → the trace
//! store.

mod dedup;
mod failures;
mod harness;
mod seed_experiment;
mod stub_judge;
