//! Parsing of the score config bodies (Langfuse fern `CreateScoreConfigRequest` and
//! `UpdateScoreConfigRequest`). Absent and `null` fields are the same; unknown fields are
//! ignored. Every error names the offending field.

use periscope_core::model::ScoreDataType;
use periscope_core::score_configs::{ConfigCategory, ScoreConfigPatch};
use serde_json::{Map, Value};

use crate::error::{ApiError, Result};

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::InvalidBody(message.into())
}

/// Returns the body as a JSON object.
pub(super) fn object(body: &[u8]) -> Result<Map<String, Value>> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(invalid("body must be a JSON object")),
        Err(error) => Err(invalid(format!("body is not valid JSON: {error}"))),
    }
}

fn present<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).filter(|value| !value.is_null())
}

fn optional_string(object: &Map<String, Value>, name: &str) -> Result<Option<String>> {
    match present(object, name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(invalid(format!("{name} must be a string"))),
    }
}

fn optional_number(object: &Map<String, Value>, name: &str) -> Result<Option<f64>> {
    match present(object, name) {
        None => Ok(None),
        Some(value) => value
            .as_f64()
            .map(Some)
            .ok_or_else(|| invalid(format!("{name} must be a number"))),
    }
}

fn optional_categories(object: &Map<String, Value>) -> Result<Option<Vec<ConfigCategory>>> {
    let Some(value) = present(object, "categories") else {
        return Ok(None);
    };
    let Value::Array(items) = value else {
        return Err(invalid("categories must be an array of {label, value}"));
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let label = item
                .get("label")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(format!("categories[{index}].label must be a string")))?;
            let value = item
                .get("value")
                .and_then(Value::as_f64)
                .ok_or_else(|| invalid(format!("categories[{index}].value must be a number")))?;
            Ok(ConfigCategory {
                label: label.to_owned(),
                value,
            })
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// The fields of `POST /score-configs`, before the rules of `validate_config`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CreateScoreConfig {
    pub(super) name: String,
    pub(super) data_type: ScoreDataType,
    pub(super) categories: Vec<ConfigCategory>,
    pub(super) min_value: Option<f64>,
    pub(super) max_value: Option<f64>,
    pub(super) description: Option<String>,
}

/// Parses `POST /score-configs`.
pub(super) fn parse_create(body: &[u8]) -> Result<CreateScoreConfig> {
    let object = object(body)?;
    let name = optional_string(&object, "name")?.unwrap_or_default();
    let data_type = match optional_string(&object, "dataType")? {
        None => {
            return Err(invalid(
                "dataType is required (NUMERIC, CATEGORICAL or BOOLEAN)",
            ));
        }
        Some(text) => ScoreDataType::parse(&text).ok_or_else(|| {
            invalid(format!(
                "dataType {text:?} is not one of NUMERIC, CATEGORICAL, BOOLEAN"
            ))
        })?,
    };
    Ok(CreateScoreConfig {
        name,
        data_type,
        categories: optional_categories(&object)?.unwrap_or_default(),
        min_value: optional_number(&object, "minValue")?,
        max_value: optional_number(&object, "maxValue")?,
        description: optional_string(&object, "description")?,
    })
}

/// Parses `PATCH /score-configs/{id}`.
pub(super) fn parse_patch(body: &[u8]) -> Result<ScoreConfigPatch> {
    let object = object(body)?;
    let is_archived = match present(&object, "isArchived") {
        None => None,
        Some(Value::Bool(flag)) => Some(*flag),
        Some(_) => return Err(invalid("isArchived must be a boolean")),
    };
    Ok(ScoreConfigPatch {
        name: optional_string(&object, "name")?,
        is_archived,
        description: optional_string(&object, "description")?,
        min_value: optional_number(&object, "minValue")?,
        max_value: optional_number(&object, "maxValue")?,
        categories: optional_categories(&object)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(result: Result<impl std::fmt::Debug>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn create_parses_every_field() {
        let parsed = parse_create(
            br#"{"name": "q", "dataType": "CATEGORICAL", "description": "d",
                 "categories": [{"label": "good", "value": 1}], "minValue": null}"#,
        )
        .unwrap();
        assert_eq!(parsed.name, "q");
        assert_eq!(parsed.data_type, ScoreDataType::Categorical);
        assert_eq!(
            parsed.categories,
            vec![ConfigCategory {
                label: "good".into(),
                value: 1.0
            }]
        );
        assert_eq!(parsed.min_value, None);
        assert_eq!(parsed.description.as_deref(), Some("d"));
    }

    #[test]
    fn create_errors_name_the_field() {
        assert!(error(parse_create(br#"{"name": "q"}"#)).contains("dataType is required"));
        assert!(error(parse_create(br#"{"name": "q", "dataType": "TEXT"}"#)).contains("TEXT"));
        assert!(
            error(parse_create(br#"{"dataType": "NUMERIC", "minValue": "1"}"#))
                .contains("minValue must be a number")
        );
        assert!(
            error(parse_create(
                br#"{"dataType": "CATEGORICAL", "categories": [{"label": 1, "value": 1}]}"#
            ))
            .contains("categories[0].label")
        );
        assert!(error(parse_create(b"[1]")).contains("JSON object"));
    }

    #[test]
    fn patch_keeps_absent_fields_unset() {
        let patch = parse_patch(br#"{"isArchived": true}"#).unwrap();
        assert_eq!(
            patch,
            ScoreConfigPatch {
                is_archived: Some(true),
                ..ScoreConfigPatch::default()
            }
        );
        assert!(error(parse_patch(br#"{"isArchived": "yes"}"#)).contains("isArchived"));
    }
}
