//! Cost: prices observations with the effective-dated price catalog
//! (`periscope_core::prices`: built-in defaults plus per-project model definitions), estimates
//! token counts when a client reported no usage, and derives the costs.
//!
//! The same record and catalog always give the same price and costs, so re-processing a record
//! (at-least-once delivery) is harmless. An unpriced model is flagged (`CostSource::Unpriced`),
//! never silently zero.

mod estimate;
mod pricer;
mod pricing;
#[cfg(test)]
mod tests;

pub use estimate::{count_text_tokens, estimate_usage};
pub use pricer::{DEFAULT_MODELS_TTL, Pricer, load_project_models};
pub use pricing::{price_snapshot, price_with_models, pricing_time};
