//! Pure pricing: resolve a model definition, estimate missing usage, snapshot the prices and
//! derive the costs. No I/O; [`super::Pricer`] adds the per-project definitions.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use periscope_core::meta::ModelDefinition;
use periscope_core::model::{ObservationRecord, PriceSnapshot};
use periscope_core::prices::{builtin_models, match_model};

use super::estimate::estimate_usage;

/// Usage keys that usage normalisation splits out of `input` or `output` (WIRE-PROTOCOL §10:
/// a detail is subtracted from its parent), with the parent they are billed like when a
/// definition has no price of its own for them.
const DETAIL_KEYS: &[(&str, &str)] = &[
    ("input_cached_tokens", "input"),
    ("input_cache_read", "input"),
    ("input_cache_creation", "input"),
    ("input_audio_tokens", "input"),
    ("output_reasoning_tokens", "output"),
    ("output_audio_tokens", "output"),
    ("output_accepted_prediction_tokens", "output"),
    ("output_rejected_prediction_tokens", "output"),
];

/// Returns the time an observation's price is resolved at: its start, else its event time.
pub fn pricing_time(observation: &ObservationRecord) -> DateTime<Utc> {
    observation.start_time.unwrap_or(observation.event_time)
}

/// Prices an observation against the project's own definitions and the built-ins: the same as
/// [`super::Pricer::apply`] with the definitions given directly.
pub fn price_with_models(observation: &mut ObservationRecord, project_models: &[ModelDefinition]) {
    let at = pricing_time(observation);
    let matched = observation
        .model
        .as_deref()
        .and_then(|model| match_model(project_models.iter().chain(builtin_models()), model, at));
    complete(observation, matched);
}

/// Finishes an observation once its definition is known: estimates missing usage, stores the
/// price snapshot (when the observation names a model) and derives the costs.
pub(super) fn complete(observation: &mut ObservationRecord, matched: Option<&ModelDefinition>) {
    if let Some(usage) = estimate_usage(observation) {
        observation.usage_details = usage;
        observation.usage_estimated = true;
    }
    // A record without a model says nothing about the price; `None` never erases on merge.
    if observation.model.is_some() {
        observation.price =
            matched.map(|definition| price_snapshot(definition, &observation.usage_details));
    }
    observation.finalize_costs();
}

/// Returns the snapshot of a definition's prices, completed for detail keys.
///
/// Usage normalisation takes cached, reasoning and audio tokens *out of* `input`/`output`, so a
/// detail key without a price of its own would make those tokens free. Such keys (the known
/// ones, and any `input_*`/`output_*` key in `usage`) get their parent's price instead: the
/// conservative choice when a custom definition only lists `input` and `output`.
pub fn price_snapshot(
    definition: &ModelDefinition,
    usage: &BTreeMap<String, i64>,
) -> PriceSnapshot {
    let mut prices = definition.prices.clone();
    let usage_details = usage.keys().filter_map(|key| {
        let parent = if key.starts_with("input_") {
            "input"
        } else if key.starts_with("output_") {
            "output"
        } else {
            return None;
        };
        Some((key.as_str(), parent))
    });
    for (detail, parent) in DETAIL_KEYS.iter().copied().chain(usage_details) {
        if prices.contains_key(detail) {
            continue;
        }
        if let Some(parent_price) = definition.prices.get(parent) {
            prices.insert(detail.to_owned(), *parent_price);
        }
    }
    PriceSnapshot {
        model_id: definition.id.clone(),
        model_name: definition.model_name.clone(),
        prices,
    }
}
