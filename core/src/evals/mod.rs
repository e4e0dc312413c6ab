//! Evaluators (LLM-as-a-judge on live traces): LLM connections with encrypted keys, versioned
//! judge templates, evaluators (target, filter, sampling, variable mapping, settle window),
//! the jobs the scheduler makes and the runner executes, and the store that keeps them.
//!
//! The rules here are pure so that the API (which writes connections, templates and
//! evaluators) and the processors (which match, sample and judge) apply the same ones.
//! See docs/adr/0013-evaluators.md.

pub mod backfill;
mod builtin;
mod cipher;
mod connection;
mod evaluator;
mod job;
mod matching;
mod store;
mod template;
#[cfg(test)]
mod tests;
mod variables;

use std::sync::Arc;

pub use builtin::{builtin_template, builtin_templates};
pub use cipher::{CipherError, ENCRYPTION_KEY_ENV, SecretCipher};
pub use connection::{LlmConnection, key_preview, validate_connection};
pub use evaluator::{
    DEFAULT_SETTLE_WINDOW, EvalFilter, EvalTarget, Evaluator, EvaluatorPatch, MAX_SETTLE_WINDOW,
    validate_evaluator,
};
pub use job::{
    EvalJob, Funnel, JobExecution, JobOutcome, JobStatus, TargetRef, job_id, sampled, score_id,
};
pub use matching::match_record;
pub use store::{EvalStore, JobClaim, JobRegistration, find_template};
pub use template::{
    EvaluatorTemplate, OutputSpec, render_prompt, template_variables, validate_template,
};
pub use variables::{
    observation_document, resolve_path, trace_document, value_text, with_dataset_item,
};

/// What the API needs for evaluators: the store and the cipher for connection keys.
#[derive(Debug, Clone)]
pub struct EvalServices {
    pub store: Arc<dyn EvalStore>,
    pub cipher: SecretCipher,
}

impl EvalServices {
    /// Bundles a store and a cipher.
    pub fn new(store: Arc<dyn EvalStore>, cipher: SecretCipher) -> Self {
        Self { store, cipher }
    }
}
