//! Score configs (Langfuse-compatible): named schemas that scores may point at through
//! `configId`, fixing their data type and the values they may take.
//!
//! The pure rules live here so that every writer of scores (the ingest crate) and of configs
//! (the API) applies the same checks: [`validate_config`] for a config, and
//! [`check_score_value`] for a score that names a config.

use std::collections::HashSet;
use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::BackendResult;
use crate::model::{Page, ScoreDataType};
use crate::store::PageRequest;

/// One category of a categorical (or boolean) config.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigCategory {
    pub label: String,
    pub value: f64,
}

/// A stored score config.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreConfig {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub data_type: ScoreDataType,
    pub is_archived: bool,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
    /// The categories; for boolean configs always `False = 0`, `True = 1`.
    pub categories: Vec<ConfigCategory>,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The fields a `PATCH` may change; `None` keeps the stored value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScoreConfigPatch {
    pub name: Option<String>,
    pub is_archived: Option<bool>,
    pub description: Option<String>,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
    pub categories: Option<Vec<ConfigCategory>>,
}

/// Storage of score configs.
#[async_trait]
pub trait ScoreConfigStore: Send + Sync + Debug + 'static {
    /// Stores a new config (its id is chosen by the caller).
    async fn create_score_config(&self, config: &ScoreConfig) -> BackendResult<()>;

    /// Returns the config `id` of the project.
    async fn get_score_config(
        &self,
        project_id: &str,
        id: &str,
    ) -> BackendResult<Option<ScoreConfig>>;

    /// Returns one page of the project's configs, newest first.
    async fn list_score_configs(
        &self,
        project_id: &str,
        page: PageRequest,
    ) -> BackendResult<Page<ScoreConfig>>;

    /// Replaces the stored config with `config` (same project and id); returns whether it
    /// existed.
    async fn update_score_config(&self, config: &ScoreConfig) -> BackendResult<bool>;
}

/// The implicit categories of a boolean config.
pub fn boolean_categories() -> Vec<ConfigCategory> {
    vec![
        ConfigCategory {
            label: "False".to_owned(),
            value: 0.0,
        },
        ConfigCategory {
            label: "True".to_owned(),
            value: 1.0,
        },
    ]
}

/// Checks a config's fields against Langfuse's rules; the message names the field.
///
/// Normalizes what the rules imply: boolean configs get the implicit categories, numeric
/// configs lose categories.
pub fn validate_config(config: &mut ScoreConfig) -> Result<(), String> {
    if config.name.trim().is_empty() {
        return Err("name is required and must be a non-empty string".to_owned());
    }
    match config.data_type {
        ScoreDataType::Numeric => {
            if !config.categories.is_empty() {
                return Err("categories are only allowed for CATEGORICAL configs".to_owned());
            }
            if let (Some(min), Some(max)) = (config.min_value, config.max_value)
                && min > max
            {
                return Err(format!(
                    "minValue ({min}) must be less than or equal to maxValue ({max})"
                ));
            }
        }
        ScoreDataType::Categorical => {
            if config.categories.is_empty() {
                return Err(
                    "categories must hold at least one category for CATEGORICAL configs".to_owned(),
                );
            }
            let mut labels = HashSet::new();
            let mut values = Vec::new();
            for category in &config.categories {
                if category.label.is_empty() {
                    return Err("categories: every label must be a non-empty string".to_owned());
                }
                if !labels.insert(category.label.as_str()) {
                    return Err(format!("categories: duplicate label {:?}", category.label));
                }
                if values.contains(&category.value) {
                    return Err(format!("categories: duplicate value {}", category.value));
                }
                values.push(category.value);
            }
            config.min_value = None;
            config.max_value = None;
        }
        ScoreDataType::Boolean => {
            config.categories = boolean_categories();
            config.min_value = None;
            config.max_value = None;
        }
    }
    Ok(())
}

/// The value a score gives: a number or a string (a category label).
#[derive(Debug, Clone, PartialEq)]
pub enum ScoreInput<'a> {
    Number(f64),
    Text(&'a str),
}

/// A score value checked against its config.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedScore {
    /// The numeric value to store.
    pub value: f64,
    /// The label to store as `stringValue` (categorical and boolean configs).
    pub string_value: Option<String>,
}

/// Checks a score against the config it names; `data_type` is the score's own `dataType`
/// (when given). The error message names `configId`, `dataType` or `value`.
pub fn check_score_value(
    config: &ScoreConfig,
    data_type: Option<ScoreDataType>,
    input: &ScoreInput<'_>,
) -> Result<CheckedScore, String> {
    if config.is_archived {
        return Err(format!(
            "configId {:?} names an archived score config; scores cannot use it",
            config.id
        ));
    }
    if let Some(data_type) = data_type
        && data_type != config.data_type
    {
        return Err(format!(
            "dataType {} does not match the data type {} of configId {:?}",
            data_type.as_str(),
            config.data_type.as_str(),
            config.id
        ));
    }
    match config.data_type {
        ScoreDataType::Numeric => {
            let ScoreInput::Number(value) = *input else {
                return Err(format!(
                    "value must be a number for the NUMERIC configId {:?}",
                    config.id
                ));
            };
            if config.min_value.is_some_and(|min| value < min)
                || config.max_value.is_some_and(|max| value > max)
            {
                return Err(format!(
                    "value {value} is outside the range [{}, {}] of configId {:?}",
                    bound(config.min_value, "-inf"),
                    bound(config.max_value, "+inf"),
                    config.id
                ));
            }
            Ok(CheckedScore {
                value,
                string_value: None,
            })
        }
        ScoreDataType::Categorical | ScoreDataType::Boolean => {
            let found = match *input {
                ScoreInput::Text(label) => config.categories.iter().find(|c| c.label == label),
                ScoreInput::Number(value) => config.categories.iter().find(|c| c.value == value),
            };
            let Some(category) = found else {
                let labels: Vec<&str> =
                    config.categories.iter().map(|c| c.label.as_str()).collect();
                return Err(format!(
                    "value {} is not a category of configId {:?} (allowed: {})",
                    describe(input),
                    config.id,
                    labels.join(", ")
                ));
            };
            Ok(CheckedScore {
                value: category.value,
                string_value: Some(category.label.clone()),
            })
        }
    }
}

fn bound(value: Option<f64>, open: &str) -> String {
    value.map_or_else(|| open.to_owned(), |value| value.to_string())
}

fn describe(input: &ScoreInput<'_>) -> String {
    match input {
        ScoreInput::Number(value) => value.to_string(),
        ScoreInput::Text(text) => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests;
