//! Backfills: running an evaluator over history. A backfill walks the targets of a time range
//! page by page with a cursor that the store keeps, so it resumes where it stopped after a
//! pause, a crash or a restart; its jobs go through the same dedup key as the live scheduler's,
//! so a target that already has a job of the evaluator's version is skipped.
//!
//! This module holds the parts the API, the CLI and the worker share: the backfill row, the
//! target pager over a `TraceStore` and the cost estimate. See docs/adr/0017-evaluator-backfill.md.

mod estimate;
mod model;
mod pager;
mod plan;
#[cfg(test)]
mod tests;

pub use estimate::{
    COMPLETION_TOKENS_PER_JOB, EstimateInput, SAMPLE_TARGETS, estimate, estimate_prompt_tokens,
};
pub use model::{
    BUDGET_REACHED, Backfill, BackfillBudget, BackfillEstimate, BackfillProgress, BackfillState,
    backfill_origin,
};
pub use pager::{BackfillCursor, TargetPage, TargetScope, count_targets, next_page};
pub use plan::{BackfillRequest, PlanError, plan_backfill};
