//! The price catalog: built-in, effective-dated model prices, and the matching of an
//! observation's model name to a model definition (built-in or per project).
//!
//! Matching rules: a definition applies when its `match_pattern` (a regular expression, always
//! matched case-insensitively) matches the model name and its `start_date` is not after the
//! observation's time. Among those, a project's own definition beats a built-in one, then the
//! latest `start_date` wins (a price change is a new definition with a later start date), then
//! the smaller id, so the choice never depends on iteration order.

mod catalog;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::{OnceLock, PoisonError, RwLock};

use chrono::{DateTime, NaiveDate, Utc};
use regex::{Regex, RegexBuilder};

use crate::meta::ModelDefinition;

/// Prefix of the ids of built-in definitions.
pub const BUILTIN_ID_PREFIX: &str = "builtin-";

/// The unit of all built-in prices.
pub const TOKENS_UNIT: &str = "TOKENS";

/// Tokenizer ids a model definition may name.
pub const KNOWN_TOKENIZERS: &[&str] = &["openai", "claude"];

/// Longest accepted `match_pattern`, in bytes.
pub const MAX_PATTERN_LEN: usize = 1024;

/// Compiled-size limit of a pattern, so a hostile custom pattern cannot take much memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Compiled patterns kept at most; the cache is emptied when full (it refills in one pass).
const MAX_CACHED_PATTERNS: usize = 4096;

/// Returns the built-in definitions (project `None`), built once per process.
pub fn builtin_models() -> &'static [ModelDefinition] {
    static MODELS: OnceLock<Vec<ModelDefinition>> = OnceLock::new();
    MODELS.get_or_init(|| catalog::ENTRIES.iter().map(builtin_definition).collect())
}

fn builtin_definition(entry: &catalog::Entry) -> ModelDefinition {
    let per_token = |per_million: f64| per_million / 1_000_000.0;
    let mut prices = BTreeMap::new();
    prices.insert("input".to_owned(), per_token(entry.input));
    let optional_prices = [
        ("output", entry.output),
        ("input_cached_tokens", entry.cache_read),
        ("input_cache_creation", entry.cache_write),
        ("output_reasoning_tokens", entry.reasoning),
    ];
    for (usage_key, price) in optional_prices {
        if let Some(price) = price {
            prices.insert(usage_key.to_owned(), per_token(price));
        }
    }
    ModelDefinition {
        id: format!("{BUILTIN_ID_PREFIX}{}", entry.id),
        project_id: None,
        model_name: entry.model_name.to_owned(),
        match_pattern: catalog::full_pattern(entry),
        start_date: entry
            .since
            .and_then(|(year, month, day)| utc_midnight(year, month, day)),
        prices,
        unit: TOKENS_UNIT.to_owned(),
        tokenizer_id: catalog::tokenizer_id(entry.provider).map(str::to_owned),
        created_at: DateTime::UNIX_EPOCH,
    }
}

fn utc_midnight(year: i32, month: u32, day: u32) -> Option<DateTime<Utc>> {
    Some(
        NaiveDate::from_ymd_opt(year, month, day)?
            .and_hms_opt(0, 0, 0)?
            .and_utc(),
    )
}

/// Returns the definition that prices `model` at time `at`, or `None` when nothing matches.
///
/// Pass the project's own definitions together with the built-ins, e.g.
/// `match_model(project_models.iter().chain(builtin_models()), model, at)`.
pub fn match_model<'a>(
    models: impl IntoIterator<Item = &'a ModelDefinition>,
    model: &str,
    at: DateTime<Utc>,
) -> Option<&'a ModelDefinition> {
    let model = model.trim();
    if model.is_empty() {
        return None;
    }
    pick_effective(
        models
            .into_iter()
            .filter(|definition| pattern_matches(definition, model)),
        at,
    )
}

/// Returns the definition that applies at `at` among `candidates`, all of which are known to
/// match the model name: project-specific first, then the latest start date not after `at`.
pub fn pick_effective<'a>(
    candidates: impl IntoIterator<Item = &'a ModelDefinition>,
    at: DateTime<Utc>,
) -> Option<&'a ModelDefinition> {
    candidates
        .into_iter()
        .filter(|definition| definition.start_date.is_none_or(|start| start <= at))
        .fold(None, |best, candidate| match best {
            Some(best) if rank(best, candidate) != Ordering::Less => Some(best),
            _ => Some(candidate),
        })
}

/// Orders two applicable definitions; `Greater` means `a` is preferred.
fn rank(a: &ModelDefinition, b: &ModelDefinition) -> Ordering {
    (a.project_id.is_some(), a.start_date)
        .cmp(&(b.project_id.is_some(), b.start_date))
        .then_with(|| b.id.cmp(&a.id))
}

/// Returns whether the definition's pattern matches `model` (case-insensitively).
///
/// An invalid pattern never matches. Compiled patterns are memoised process-wide: built-in and
/// custom patterns are few, and compiling one per observation would dominate the cost stage.
pub fn pattern_matches(definition: &ModelDefinition, model: &str) -> bool {
    let cache = pattern_cache();
    {
        let compiled = cache.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(regex) = compiled.get(&definition.match_pattern) {
            return regex.as_ref().is_some_and(|regex| regex.is_match(model));
        }
    }
    let regex = match compile_pattern(&definition.match_pattern) {
        Ok(regex) => Some(regex),
        Err(error) => {
            // Definitions are validated on the way in, so this is an old or hand-edited row.
            tracing::warn!(
                %error,
                model_id = %definition.id,
                "model definition has an invalid match pattern and never matches"
            );
            None
        }
    };
    let matched = regex.as_ref().is_some_and(|regex| regex.is_match(model));
    let mut compiled = cache.write().unwrap_or_else(PoisonError::into_inner);
    if compiled.len() >= MAX_CACHED_PATTERNS {
        compiled.clear();
    }
    compiled.insert(definition.match_pattern.clone(), regex);
    matched
}

fn pattern_cache() -> &'static RwLock<HashMap<String, Option<Regex>>> {
    static CACHE: OnceLock<RwLock<HashMap<String, Option<Regex>>>> = OnceLock::new();
    CACHE.get_or_init(|| RwLock::new(HashMap::new()))
}

/// The ways a pattern can be unusable.
#[derive(Debug, thiserror::Error)]
enum PatternError {
    #[error("is longer than {MAX_PATTERN_LEN} bytes")]
    TooLong,
    #[error("is not a valid regular expression: {0}")]
    Invalid(#[from] regex::Error),
}

fn compile_pattern(pattern: &str) -> Result<Regex, PatternError> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(PatternError::TooLong);
    }
    Ok(RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()?)
}

/// Checks a custom model definition; the error message names the offending field (camelCase,
/// as in the models API).
pub fn validate_model_definition(definition: &ModelDefinition) -> Result<(), String> {
    if definition.model_name.trim().is_empty() {
        return Err("modelName must not be empty".to_owned());
    }
    if definition.match_pattern.trim().is_empty() {
        return Err("matchPattern must not be empty".to_owned());
    }
    if let Err(error) = compile_pattern(&definition.match_pattern) {
        return Err(format!("matchPattern {error}"));
    }
    if definition.unit.trim().is_empty() {
        return Err("unit must not be empty".to_owned());
    }
    for (usage_key, price) in &definition.prices {
        if usage_key.trim().is_empty() {
            return Err("prices must not have an empty usage key".to_owned());
        }
        if !price.is_finite() || *price < 0.0 {
            return Err(format!(
                "prices.{usage_key} must be a non-negative number, got {price}"
            ));
        }
    }
    if let Some(tokenizer) = &definition.tokenizer_id
        && !KNOWN_TOKENIZERS.contains(&tokenizer.as_str())
    {
        return Err(format!(
            "tokenizerId must be one of {}, got {tokenizer:?}",
            KNOWN_TOKENIZERS.join(", ")
        ));
    }
    Ok(())
}
