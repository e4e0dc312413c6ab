//! The estimate shown before a backfill starts: how many targets, how many judge calls after
//! sampling, how many tokens (from the size of the prompts rendered for a sample of targets)
//! and what that costs when the judge model has a price.
//!
//! Counting uses the store's own count; matching the parts of the filter the store cannot
//! check, sampling and rendering look at the first [`SAMPLE_TARGETS`] targets and are
//! extrapolated to the rest (exact when the range holds no more than that).

use std::collections::BTreeMap;

use chrono::Utc;

use super::model::BackfillEstimate;
use super::pager::{TargetScope, count_targets, listed_document, next_page};
use crate::error::BackendResult;
use crate::evals::{
    Evaluator, EvaluatorTemplate, render_prompt, resolve_path, sampled, value_text,
};
use crate::meta::ModelDefinition;
use crate::prices::{builtin_models, match_model};
use crate::store::TraceStore;

/// Targets looked at to extrapolate matching, sampling and prompt size.
pub const SAMPLE_TARGETS: u64 = 500;
/// Prompts rendered to measure their size.
const RENDERED_PROMPTS: usize = 50;
/// The completion the judge is expected to write (a short reasoning and a score).
pub const COMPLETION_TOKENS_PER_JOB: u64 = 120;
/// The system instruction and message framing the runner adds to every prompt.
const PROMPT_OVERHEAD_TOKENS: u64 = 60;

/// What an estimate needs besides the trace store.
#[derive(Debug, Clone, Copy)]
pub struct EstimateInput<'a> {
    pub evaluator: &'a Evaluator,
    pub template: &'a EvaluatorTemplate,
    /// The model judge calls use (the evaluator's, else its connection's default).
    pub model: &'a str,
    /// The project's own model definitions (built-in ones are added).
    pub project_models: &'a [ModelDefinition],
    pub scope: &'a TargetScope,
}

/// Returns the prompt tokens of a rendered prompt: about four characters per token, plus the
/// runner's framing. Deliberately simple: it is an estimate shown before spending money.
pub fn estimate_prompt_tokens(prompt: &str) -> u64 {
    (prompt.chars().count() as u64).div_ceil(4) + PROMPT_OVERHEAD_TOKENS
}

/// Returns the estimate of a backfill of `input.evaluator` over `input.scope`.
pub async fn estimate(
    traces: &dyn TraceStore,
    input: EstimateInput<'_>,
) -> BackendResult<BackfillEstimate> {
    let EstimateInput {
        evaluator,
        template,
        model,
        project_models,
        scope,
    } = input;
    let targets = count_targets(traces, scope).await?;
    let mut looked_at = 0u64;
    let mut matching = 0u64;
    let mut in_sample = 0u64;
    let mut prompt_tokens = Vec::new();
    let mut cursor = None;
    while looked_at < SAMPLE_TARGETS.min(targets) {
        let page = next_page(traces, scope, cursor.as_ref(), SAMPLE_TARGETS - looked_at).await?;
        for record in &page.records {
            looked_at += 1;
            let Some(target) = scope.target_of(evaluator, record) else {
                continue;
            };
            matching += 1;
            if !sampled(&evaluator.id, target.target_id(), evaluator.sampling_rate) {
                continue;
            }
            in_sample += 1;
            if prompt_tokens.len() < RENDERED_PROMPTS
                && let Some(document) = listed_document(record)
            {
                let prompt = render_for_estimate(evaluator, template, &document);
                prompt_tokens.push(estimate_prompt_tokens(&prompt));
            }
        }
        if page.records.is_empty() || page.next == super::pager::BackfillCursor::End {
            break;
        }
        cursor = Some(page.next);
    }
    let extrapolate = |count: u64| -> u64 {
        if looked_at == 0 || looked_at >= targets {
            return count;
        }
        (count as f64 * targets as f64 / looked_at as f64).round() as u64
    };
    let expected_jobs = extrapolate(in_sample);
    // Without a sample to render, the template alone sizes the prompt.
    let prompt_per_job = match prompt_tokens.len() as u64 {
        0 => estimate_prompt_tokens(&template.prompt),
        n => prompt_tokens.iter().sum::<u64>().div_ceil(n),
    };
    let tokens_per_job = prompt_per_job + COMPLETION_TOKENS_PER_JOB;
    let cost_per_job_usd = price_per_job(project_models, model, prompt_per_job);
    Ok(BackfillEstimate {
        targets,
        matching_targets: extrapolate(matching),
        expected_jobs,
        tokens_per_job,
        estimated_tokens: expected_jobs.saturating_mul(tokens_per_job),
        cost_per_job_usd,
        estimated_cost_usd: cost_per_job_usd.map(|cost| cost * expected_jobs as f64),
        model: model.to_owned(),
        examined_targets: looked_at,
    })
}

/// Renders the template for one target; a variable the target lacks counts as empty (the
/// runner would fail that job, which costs nothing).
fn render_for_estimate(
    evaluator: &Evaluator,
    template: &EvaluatorTemplate,
    document: &serde_json::Value,
) -> String {
    let mut values = BTreeMap::new();
    for variable in template.variables() {
        let path = evaluator.variable_path(&variable);
        let text = resolve_path(document, &path)
            .ok()
            .flatten()
            .filter(|value| !value.is_null())
            .map(|value| value_text(&value))
            .unwrap_or_default();
        values.insert(variable, text);
    }
    render_prompt(&template.prompt, &values).unwrap_or_else(|_| template.prompt.clone())
}

/// Returns the USD price of one judge call, when the model has input and output prices.
fn price_per_job(
    project_models: &[ModelDefinition],
    model: &str,
    prompt_tokens: u64,
) -> Option<f64> {
    let definition = match_model(
        project_models.iter().chain(builtin_models()),
        model,
        Utc::now(),
    )?;
    let input = definition.prices.get("input")?;
    let output = definition.prices.get("output").copied().unwrap_or(0.0);
    Some(prompt_tokens as f64 * input + COMPLETION_TOKENS_PER_JOB as f64 * output)
}
