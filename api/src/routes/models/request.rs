//! Parsing and validation of Langfuse's `CreateModelRequest` (`POST /api/public/models`).
//!
//! Accepted fields: `modelName`, `matchPattern`, `startDate`, `unit`, the flat `inputPrice` /
//! `outputPrice` / `totalPrice`, `tokenizerId`, and two ways to give prices per usage key:
//! Periscope's `prices` map (`{"input_cached_tokens": 1e-7}` or `{"input": {"price": 1e-6}}`)
//! and Langfuse's `pricingTiers` restricted to its single default tier (conditional tiers are
//! refused, never ignored). `tokenizerConfig` is accepted and not stored. Every error names the
//! offending field.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use periscope_core::meta::ModelDefinition;
use periscope_core::prices::{TOKENS_UNIT, validate_model_definition};
use serde_json::{Map, Value};

use crate::error::{ApiError, Result};
use crate::params::parse_datetime;

/// Langfuse's `ModelUsageUnit` values.
const UNITS: &[&str] = &[
    "CHARACTERS",
    "TOKENS",
    "MILLISECONDS",
    "SECONDS",
    "IMAGES",
    "REQUESTS",
];

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::InvalidBody(message.into())
}

/// Returns a field's value; absent and `null` are the same.
fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).filter(|value| !value.is_null())
}

fn optional_string(object: &Map<String, Value>, name: &str) -> Result<Option<String>> {
    match field(object, name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(invalid(format!("{name} must be a string"))),
    }
}

fn required_string(object: &Map<String, Value>, name: &str) -> Result<String> {
    optional_string(object, name)?
        .filter(|text| !text.trim().is_empty())
        .ok_or_else(|| invalid(format!("{name} is required and must be a non-empty string")))
}

/// Checks one price: a finite, non-negative number. `name` is the field path for errors.
fn price(value: &Value, name: &str) -> Result<f64> {
    value
        .as_f64()
        .filter(|price| price.is_finite() && *price >= 0.0)
        .ok_or_else(|| invalid(format!("{name} must be a non-negative number")))
}

fn optional_price(object: &Map<String, Value>, name: &str) -> Result<Option<f64>> {
    field(object, name)
        .map(|value| price(value, name))
        .transpose()
}

/// Parses a map of usage key to price; values are numbers or `{"price": number}`.
fn price_map(value: &Value, name: &str) -> Result<BTreeMap<String, f64>> {
    let Value::Object(entries) = value else {
        return Err(invalid(format!(
            "{name} must be an object of usage type to price"
        )));
    };
    let mut prices = BTreeMap::new();
    for (usage_key, entry) in entries {
        let path = format!("{name}.{usage_key}");
        let amount = match entry {
            Value::Object(inner) => {
                let inner_price = inner
                    .get("price")
                    .ok_or_else(|| invalid(format!("{path}.price is required")))?;
                price(inner_price, &format!("{path}.price"))?
            }
            other => price(other, &path)?,
        };
        prices.insert(usage_key.clone(), amount);
    }
    Ok(prices)
}

/// Returns the prices of the one default tier of `pricingTiers`.
fn default_tier_prices(value: &Value) -> Result<BTreeMap<String, f64>> {
    let Value::Array(tiers) = value else {
        return Err(invalid("pricingTiers must be an array"));
    };
    let [tier] = tiers.as_slice() else {
        return Err(invalid(
            "pricingTiers must hold exactly one (default) tier; conditional tiers are not supported",
        ));
    };
    let tier = tier
        .as_object()
        .ok_or_else(|| invalid("pricingTiers[0] must be an object"))?;
    if field(tier, "isDefault").and_then(Value::as_bool) == Some(false) {
        return Err(invalid(
            "pricingTiers[0].isDefault must be true; conditional tiers are not supported",
        ));
    }
    let has_conditions = field(tier, "conditions")
        .and_then(Value::as_array)
        .is_some_and(|conditions| !conditions.is_empty());
    if has_conditions {
        return Err(invalid(
            "pricingTiers[0].conditions must be empty; conditional tiers are not supported",
        ));
    }
    let prices =
        field(tier, "prices").ok_or_else(|| invalid("pricingTiers[0].prices is required"))?;
    price_map(prices, "pricingTiers[0].prices")
}

/// Collects the prices of a request from its flat fields, `prices` and `pricingTiers`.
fn collect_prices(object: &Map<String, Value>) -> Result<BTreeMap<String, f64>> {
    let flat = [
        ("inputPrice", "input"),
        ("outputPrice", "output"),
        ("totalPrice", "total"),
    ];
    let mut prices = BTreeMap::new();
    for (name, usage_key) in flat {
        if let Some(amount) = optional_price(object, name)? {
            prices.insert(usage_key.to_owned(), amount);
        }
    }
    if prices.contains_key("total")
        && (prices.contains_key("input") || prices.contains_key("output"))
    {
        return Err(invalid(
            "totalPrice cannot be set together with inputPrice or outputPrice",
        ));
    }
    if let Some(tiers) = field(object, "pricingTiers") {
        if !prices.is_empty() || field(object, "prices").is_some() {
            return Err(invalid(
                "pricingTiers cannot be combined with inputPrice, outputPrice, totalPrice or prices",
            ));
        }
        return default_tier_prices(tiers);
    }
    if let Some(map) = field(object, "prices") {
        for (usage_key, amount) in price_map(map, "prices")? {
            if prices.insert(usage_key.clone(), amount).is_some() {
                return Err(invalid(format!(
                    "prices.{usage_key} repeats a price already given as a flat price field"
                )));
            }
        }
    }
    Ok(prices)
}

/// Parses a create request into the project model definition `id`, created at `now`.
pub(crate) fn parse_create_model(
    body: &[u8],
    project_id: &str,
    id: String,
    now: DateTime<Utc>,
) -> Result<ModelDefinition> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| invalid(format!("body is not valid JSON: {error}")))?;
    let Value::Object(object) = value else {
        return Err(invalid("body must be a JSON object"));
    };
    let start_date = optional_string(&object, "startDate")?
        .map(|text| parse_datetime(&text).map_err(|reason| invalid(format!("startDate: {reason}"))))
        .transpose()?;
    let unit = match optional_string(&object, "unit")? {
        None => TOKENS_UNIT.to_owned(),
        Some(unit) => UNITS
            .iter()
            .find(|known| known.eq_ignore_ascii_case(&unit))
            .map(|known| (*known).to_owned())
            .ok_or_else(|| {
                invalid(format!(
                    "unit must be one of {}, got {unit:?}",
                    UNITS.join(", ")
                ))
            })?,
    };
    let model = ModelDefinition {
        id,
        project_id: Some(project_id.to_owned()),
        model_name: required_string(&object, "modelName")?.trim().to_owned(),
        match_pattern: required_string(&object, "matchPattern")?,
        start_date,
        prices: collect_prices(&object)?,
        unit,
        tokenizer_id: optional_string(&object, "tokenizerId")?,
        created_at: now,
    };
    validate_model_definition(&model).map_err(invalid)?;
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap()
    }

    fn parse(body: Value) -> Result<ModelDefinition> {
        parse_create_model(body.to_string().as_bytes(), "p1", "m1".into(), now())
    }

    fn error_of(body: Value) -> String {
        parse(body).unwrap_err().to_string()
    }

    #[test]
    fn a_langfuse_request_becomes_a_project_definition() {
        let model = parse(json!({
            "modelName": " my-model ",
            "matchPattern": "(?i)^my-model$",
            "startDate": "2026-01-01T00:00:00.000Z",
            "unit": "tokens",
            "inputPrice": 0.000001,
            "outputPrice": 0.000002,
            "tokenizerId": "openai",
            "tokenizerConfig": {"tokensPerMessage": 3},
        }))
        .unwrap();
        assert_eq!(
            model,
            ModelDefinition {
                id: "m1".into(),
                project_id: Some("p1".into()),
                model_name: "my-model".into(),
                match_pattern: "(?i)^my-model$".into(),
                start_date: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
                prices: [
                    ("input".to_owned(), 0.000001),
                    ("output".to_owned(), 0.000002)
                ]
                .into(),
                unit: "TOKENS".into(),
                tokenizer_id: Some("openai".into()),
                created_at: now(),
            }
        );
    }

    #[test]
    fn minimal_requests_default_the_unit_and_nulls_are_absent() {
        let model =
            parse(json!({"modelName": "m", "matchPattern": "m", "startDate": null, "unit": null}))
                .unwrap();
        assert_eq!(model.unit, "TOKENS");
        assert!(model.prices.is_empty() && model.start_date.is_none());
    }

    #[test]
    fn the_prices_extension_and_a_default_tier_are_accepted() {
        let model = parse(json!({
            "modelName": "m", "matchPattern": "m", "inputPrice": 1.0,
            "prices": {"input_cached_tokens": 0.5, "output": {"price": 2.0}},
        }))
        .unwrap();
        assert_eq!(
            model.prices,
            [
                ("input".to_owned(), 1.0),
                ("input_cached_tokens".to_owned(), 0.5),
                ("output".to_owned(), 2.0)
            ]
            .into()
        );
        let tiered = parse(json!({
            "modelName": "m", "matchPattern": "m",
            "pricingTiers": [{"name": "Standard", "isDefault": true, "priority": 0, "conditions": [],
                              "prices": {"input": 3.0}}],
        }))
        .unwrap();
        assert_eq!(tiered.prices, [("input".to_owned(), 3.0)].into());
    }

    #[test]
    fn validation_errors_name_the_field() {
        let cases = [
            (json!({"matchPattern": "m"}), "modelName is required"),
            (json!({"modelName": "m"}), "matchPattern is required"),
            (
                json!({"modelName": "m", "matchPattern": "("}),
                "matchPattern is not a valid regular expression",
            ),
            (
                json!({"modelName": "m", "matchPattern": "m", "unit": "TOKEN"}),
                "unit must be one of",
            ),
            (
                json!({"modelName": "m", "matchPattern": "m", "inputPrice": -1}),
                "inputPrice must be a non-negative",
            ),
            (
                json!({"modelName": "m", "matchPattern": "m", "outputPrice": "1"}),
                "outputPrice must be a non-negative",
            ),
            (
                json!({"modelName": "m", "matchPattern": "m", "startDate": "soon"}),
                "startDate: expected an ISO-8601",
            ),
            (
                json!({"modelName": "m", "matchPattern": "m", "tokenizerId": "bpe"}),
                "tokenizerId must be one of",
            ),
            (
                json!({"modelName": "m", "matchPattern": "m", "totalPrice": 1, "inputPrice": 1}),
                "totalPrice cannot be set",
            ),
            (
                json!({"modelName": "m", "matchPattern": "m", "inputPrice": 1, "prices": {"input": 2}}),
                "prices.input repeats",
            ),
            (
                json!({"modelName": "m", "matchPattern": "m", "prices": {"input": {"cost": 1}}}),
                "prices.input.price is required",
            ),
            (
                json!({"modelName": "m", "matchPattern": "m", "pricingTiers": [{"isDefault": true, "prices": {}}, {}]}),
                "pricingTiers must hold exactly one",
            ),
            (
                json!({"modelName": "m", "matchPattern": "m",
                       "pricingTiers": [{"isDefault": true, "conditions": [{"usageDetailPattern": "input"}], "prices": {}}]}),
                "pricingTiers[0].conditions must be empty",
            ),
            (
                json!({"modelName": "m", "matchPattern": "m", "inputPrice": 1, "pricingTiers": []}),
                "pricingTiers cannot be combined",
            ),
            (json!(["not", "an", "object"]), "body must be a JSON object"),
        ];
        for (body, expected) in cases {
            let message = error_of(body.clone());
            assert!(message.starts_with("invalid request body: "), "{message}");
            assert!(message.contains(expected), "{body}: {message}");
        }
        let not_json = parse_create_model(b"{", "p1", "m1".into(), now()).unwrap_err();
        assert!(not_json.to_string().contains("body is not valid JSON"));
    }
}
