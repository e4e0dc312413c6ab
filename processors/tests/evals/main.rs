//! Evaluators end to end on the embedded backends: records → scheduler → eval jobs → runner →
//! an OpenAI-compatible judge (a stub server on loopback) → score events → enrich → the trace
//! store.
//!
//! Every module is `cfg(test)` so that its fixtures count as test code (they may unwrap).

#[cfg(test)]
mod backfill;
#[cfg(test)]
mod backfill_harness;
#[cfg(test)]
mod backfill_postgres;
#[cfg(test)]
mod backfill_scale;
#[cfg(test)]
mod dedup;
#[cfg(test)]
mod failures;
#[cfg(test)]
mod harness;
#[cfg(test)]
mod seed_experiment;
#[cfg(test)]
mod stub_judge;
