//! Evaluator templates: a judge prompt with `{{variables}}` and the kind of score it asks for.
//!
//! Templates are versioned by name: creating a template under an existing name adds the next
//! version, and evaluators pin the version they were made with.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::ScoreDataType;

/// What a judge answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OutputSpec {
    /// A number, optionally within `[min, max]`.
    Numeric {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    /// True (1) or false (0).
    Boolean,
    /// One of the labels.
    Categorical { categories: Vec<String> },
}

impl OutputSpec {
    /// Returns the data type of the scores this output produces.
    pub fn data_type(&self) -> ScoreDataType {
        match self {
            Self::Numeric { .. } => ScoreDataType::Numeric,
            Self::Boolean => ScoreDataType::Boolean,
            Self::Categorical { .. } => ScoreDataType::Categorical,
        }
    }

    /// Returns the JSON schema of the `score` field a judge must answer.
    pub fn score_schema(&self) -> serde_json::Value {
        match self {
            Self::Numeric { min, max } => {
                let mut schema = serde_json::json!({"type": "number"});
                if let Some(min) = min {
                    schema["minimum"] = (*min).into();
                }
                if let Some(max) = max {
                    schema["maximum"] = (*max).into();
                }
                schema
            }
            Self::Boolean => serde_json::json!({"type": "boolean"}),
            Self::Categorical { categories } => {
                serde_json::json!({"type": "string", "enum": categories})
            }
        }
    }

    /// Describes the expected `score` in words, for the judge's instructions.
    pub fn describe(&self) -> String {
        match self {
            Self::Numeric { min, max } => match (min, max) {
                (Some(min), Some(max)) => format!("a number from {min} to {max}"),
                (Some(min), None) => format!("a number of at least {min}"),
                (None, Some(max)) => format!("a number of at most {max}"),
                (None, None) => "a number".to_owned(),
            },
            Self::Boolean => "true or false".to_owned(),
            Self::Categorical { categories } => {
                let quoted: Vec<String> = categories.iter().map(|c| format!("{c:?}")).collect();
                format!("exactly one of {}", quoted.join(", "))
            }
        }
    }
}

/// One version of a judge prompt. Built-in templates have no project.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluatorTemplate {
    pub id: String,
    /// `None` for the built-in templates, shared by every project.
    pub project_id: Option<String>,
    pub name: String,
    /// 1 for the first version of a name.
    pub version: i64,
    /// The judge prompt, with `{{variable}}` placeholders.
    pub prompt: String,
    pub output: OutputSpec,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl EvaluatorTemplate {
    /// Returns the variables of the prompt, in order of first use.
    pub fn variables(&self) -> Vec<String> {
        template_variables(&self.prompt)
    }
}

/// Returns the `{{variable}}` names in `prompt` (whitespace inside the braces ignored), each
/// once, in order of first use.
pub fn template_variables(prompt: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut names = Vec::new();
    let mut rest = prompt;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        if is_variable_name(name) && seen.insert(name.to_owned()) {
            names.push(name.to_owned());
        }
        rest = &after[end + 2..];
    }
    names
}

fn is_variable_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

/// Replaces every `{{variable}}` with its value. Values are inserted once, never re-scanned,
/// so a value that itself contains braces cannot inject another variable.
pub fn render_prompt(prompt: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    let mut rendered = String::with_capacity(prompt.len());
    let mut rest = prompt;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        rendered.push_str(&rest[..start]);
        if is_variable_name(name) {
            let value = values
                .get(name)
                .ok_or_else(|| format!("variable {name:?} has no value"))?;
            rendered.push_str(value);
        } else {
            rendered.push_str(&rest[start..start + 2 + end + 2]);
        }
        rest = &after[end + 2..];
    }
    rendered.push_str(rest);
    Ok(rendered)
}

/// Checks a template's fields; the message names the field.
pub fn validate_template(template: &EvaluatorTemplate) -> Result<(), String> {
    if template.name.trim().is_empty() {
        return Err("name is required and must be a non-empty string".to_owned());
    }
    if template.prompt.trim().is_empty() {
        return Err("prompt is required and must be a non-empty string".to_owned());
    }
    if template.variables().is_empty() {
        return Err(
            "prompt must use at least one {{variable}} (e.g. {{input}}, {{output}})".to_owned(),
        );
    }
    match &template.output {
        OutputSpec::Numeric {
            min: Some(min),
            max: Some(max),
        } if min > max => Err(format!(
            "outputType.min ({min}) must not exceed outputType.max ({max})"
        )),
        OutputSpec::Categorical { categories } => {
            if categories.is_empty() {
                return Err("outputType.categories must list at least one category".to_owned());
            }
            let mut seen = HashSet::new();
            for category in categories {
                if category.trim().is_empty() {
                    return Err("outputType.categories must not be empty strings".to_owned());
                }
                if !seen.insert(category.to_lowercase()) {
                    return Err(format!("outputType.categories: duplicate {category:?}"));
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
