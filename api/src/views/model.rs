//! Model definitions as `GET /models` returns them (Langfuse's `Model`).

use std::collections::BTreeMap;

use periscope_core::meta::ModelDefinition;
use serde::Serialize;
use serde_json::Value;

use super::{IsoTime, iso_opt};

/// One price of a model (`prices.input.price`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct PriceView {
    pub(crate) price: f64,
}

/// A pricing tier. Periscope has flat prices only, shown as Langfuse's single default tier so
/// that clients expecting `pricingTiers` find them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PricingTierView {
    pub(crate) id: String,
    pub(crate) name: &'static str,
    pub(crate) is_default: bool,
    pub(crate) priority: u32,
    pub(crate) conditions: Vec<Value>,
    pub(crate) prices: BTreeMap<String, f64>,
}

/// One model definition in Langfuse's `Model` shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ModelView {
    pub(crate) id: String,
    pub(crate) model_name: String,
    pub(crate) match_pattern: String,
    pub(crate) start_date: Option<IsoTime>,
    pub(crate) unit: String,
    pub(crate) input_price: Option<f64>,
    pub(crate) output_price: Option<f64>,
    pub(crate) total_price: Option<f64>,
    pub(crate) tokenizer_id: Option<String>,
    /// Tokenizer configuration is not stored; always `null`.
    pub(crate) tokenizer_config: Option<Value>,
    /// True for built-in definitions, which cannot be changed or deleted.
    pub(crate) is_langfuse_managed: bool,
    pub(crate) created_at: IsoTime,
    pub(crate) prices: BTreeMap<String, PriceView>,
    pub(crate) pricing_tiers: Vec<PricingTierView>,
}

impl ModelView {
    /// Converts a model definition (built-in or the project's own).
    pub(crate) fn from_definition(model: &ModelDefinition) -> Self {
        let price = |usage_key: &str| model.prices.get(usage_key).copied();
        let pricing_tiers = if model.prices.is_empty() {
            Vec::new()
        } else {
            vec![PricingTierView {
                id: format!("{}-default", model.id),
                name: "Standard",
                is_default: true,
                priority: 0,
                conditions: Vec::new(),
                prices: model.prices.clone(),
            }]
        };
        Self {
            id: model.id.clone(),
            model_name: model.model_name.clone(),
            match_pattern: model.match_pattern.clone(),
            start_date: iso_opt(model.start_date),
            unit: model.unit.clone(),
            input_price: price("input"),
            output_price: price("output"),
            total_price: price("total"),
            tokenizer_id: model.tokenizer_id.clone(),
            tokenizer_config: None,
            is_langfuse_managed: model.project_id.is_none(),
            created_at: IsoTime(model.created_at),
            prices: model
                .prices
                .iter()
                .map(|(key, price)| (key.clone(), PriceView { price: *price }))
                .collect(),
            pricing_tiers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    #[test]
    fn a_project_model_has_every_langfuse_field() {
        let model = ModelDefinition {
            id: "m1".into(),
            project_id: Some("p1".into()),
            model_name: "my-model".into(),
            match_pattern: "(?i)^my-model$".into(),
            start_date: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
            prices: [("input".to_owned(), 0.001), ("output".to_owned(), 0.002)].into(),
            unit: "TOKENS".into(),
            tokenizer_id: Some("openai".into()),
            created_at: Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap(),
        };
        let view = serde_json::to_value(ModelView::from_definition(&model)).unwrap();
        assert_eq!(
            view,
            json!({
                "id": "m1",
                "modelName": "my-model",
                "matchPattern": "(?i)^my-model$",
                "startDate": "2026-01-01T00:00:00.000Z",
                "unit": "TOKENS",
                "inputPrice": 0.001,
                "outputPrice": 0.002,
                "totalPrice": null,
                "tokenizerId": "openai",
                "tokenizerConfig": null,
                "isLangfuseManaged": false,
                "createdAt": "2026-02-01T00:00:00.000Z",
                "prices": {"input": {"price": 0.001}, "output": {"price": 0.002}},
                "pricingTiers": [{
                    "id": "m1-default",
                    "name": "Standard",
                    "isDefault": true,
                    "priority": 0,
                    "conditions": [],
                    "prices": {"input": 0.001, "output": 0.002},
                }],
            })
        );
    }

    #[test]
    fn built_in_models_are_managed_and_unpriced_models_have_no_tier() {
        let model = ModelDefinition {
            id: "builtin-x".into(),
            project_id: None,
            model_name: "x".into(),
            match_pattern: "x".into(),
            start_date: None,
            prices: BTreeMap::new(),
            unit: "TOKENS".into(),
            tokenizer_id: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
        };
        let view = ModelView::from_definition(&model);
        assert!(view.is_langfuse_managed);
        assert!(view.pricing_tiers.is_empty());
        assert_eq!(view.start_date, None);
    }
}
