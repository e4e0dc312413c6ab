//! Evaluators: which records a template judges, with which connection and model, how often
//! (sampling), and when (the settle window).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{Level, ObservationType};

/// The settle window when none is given: a trace is judged once it had no update for 10 s.
/// Langfuse SDKs flush every few seconds, so a shorter window would often judge a trace whose
/// output has not arrived yet; a longer one only delays scores.
pub const DEFAULT_SETTLE_WINDOW: Duration = Duration::from_secs(10);
/// The longest settle window accepted.
pub const MAX_SETTLE_WINDOW: Duration = Duration::from_secs(3600);

/// What an evaluator judges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EvalTarget {
    /// Whole traces.
    Trace,
    /// Observations, optionally of one type and/or name.
    Observation {
        #[serde(
            default,
            rename = "observationType",
            skip_serializing_if = "Option::is_none"
        )]
        observation_type: Option<ObservationType>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// Items of dataset runs (experiments): the task span of each item, with the dataset
    /// item's expected output available as `expected_output`.
    DatasetRunItem,
}

impl EvalTarget {
    /// Returns the stable name of the target kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Observation { .. } => "observation",
            Self::DatasetRunItem => "dataset_run_item",
        }
    }
}

/// Conditions a record must meet; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvalFilter {
    /// Trace or observation name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Every tag must be present (trace targets).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Any of these environments (a record without one is in `default`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<String>,
    /// Trace targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Trace targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Observation targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// Observation targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Metadata key = value; a string value also matches the same text in any JSON form.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Value>,
}

/// A live evaluator of one project.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluator {
    pub id: String,
    pub project_id: String,
    /// The name of the scores it writes.
    pub score_name: String,
    pub template_name: String,
    pub template_version: i64,
    pub connection_id: String,
    /// The model to ask; the connection's default model when `None`.
    pub model: Option<String>,
    pub target: EvalTarget,
    pub filter: EvalFilter,
    /// The share of matching targets judged, 0..=1, decided by a hash of the evaluator id and
    /// the target id (so the same target is always in or always out).
    pub sampling_rate: f64,
    /// Template variable → JSON path into the target (`input`, `metadata.reference_context`,
    /// `expected_output`, `output.choices[0].message.content`, ...).
    pub variable_mapping: BTreeMap<String, String>,
    /// A target is judged once it had no update for this long.
    pub settle_window: Duration,
    pub active: bool,
    /// 1 when created; every change adds one.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The fields a `PATCH` may change; `None` keeps the stored value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvaluatorPatch {
    pub score_name: Option<String>,
    pub template_version: Option<i64>,
    pub connection_id: Option<String>,
    /// `Some(None)` clears the model (back to the connection's default).
    pub model: Option<Option<String>>,
    pub target: Option<EvalTarget>,
    pub filter: Option<EvalFilter>,
    pub sampling_rate: Option<f64>,
    pub variable_mapping: Option<BTreeMap<String, String>>,
    pub settle_window: Option<Duration>,
    pub active: Option<bool>,
}

impl Evaluator {
    /// Applies `patch` and bumps the version (every change is a new version, so jobs of the
    /// old configuration stay distinguishable from those of the new one).
    pub fn apply(&mut self, patch: EvaluatorPatch, now: DateTime<Utc>) {
        let EvaluatorPatch {
            score_name,
            template_version,
            connection_id,
            model,
            target,
            filter,
            sampling_rate,
            variable_mapping,
            settle_window,
            active,
        } = patch;
        set(&mut self.score_name, score_name);
        set(&mut self.template_version, template_version);
        set(&mut self.connection_id, connection_id);
        set(&mut self.model, model);
        set(&mut self.target, target);
        set(&mut self.filter, filter);
        set(&mut self.sampling_rate, sampling_rate);
        set(&mut self.variable_mapping, variable_mapping);
        set(&mut self.settle_window, settle_window);
        set(&mut self.active, active);
        self.version += 1;
        self.updated_at = now;
    }

    /// Returns the JSON path a template variable is read from: the mapping, else a default
    /// (`question` → `input`, `answer` → `output`, `context` → `metadata.context`, anything
    /// else → a field of the same name).
    pub fn variable_path(&self, variable: &str) -> String {
        if let Some(path) = self.variable_mapping.get(variable) {
            return path.clone();
        }
        match variable {
            "question" | "query" => "input".to_owned(),
            "answer" | "response" => "output".to_owned(),
            "context" => "metadata.context".to_owned(),
            other => other.to_owned(),
        }
    }
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

/// Checks an evaluator's own fields (not that its template and connection exist); the message
/// names the field.
pub fn validate_evaluator(evaluator: &Evaluator) -> Result<(), String> {
    if evaluator.score_name.trim().is_empty() {
        return Err("scoreName is required and must be a non-empty string".to_owned());
    }
    if !(0.0..=1.0).contains(&evaluator.sampling_rate) {
        return Err(format!(
            "samplingRate must be between 0 and 1, got {}",
            evaluator.sampling_rate
        ));
    }
    if evaluator.settle_window > MAX_SETTLE_WINDOW {
        return Err(format!(
            "settleWindowMs must be at most {} ms",
            MAX_SETTLE_WINDOW.as_millis()
        ));
    }
    if evaluator
        .model
        .as_deref()
        .is_some_and(|m| m.trim().is_empty())
    {
        return Err("model must be a non-empty string when given".to_owned());
    }
    for (variable, path) in &evaluator.variable_mapping {
        if path.trim().is_empty() {
            return Err(format!(
                "variableMapping.{variable} must be a non-empty path"
            ));
        }
    }
    let filter = &evaluator.filter;
    let trace_only = [
        ("tags", !filter.tags.is_empty()),
        ("userId", filter.user_id.is_some()),
        ("sessionId", filter.session_id.is_some()),
    ];
    let observation_only = [
        ("level", filter.level.is_some()),
        ("model", filter.model.is_some()),
    ];
    match evaluator.target {
        EvalTarget::Trace => {
            if let Some((field, _)) = observation_only.iter().find(|(_, set)| *set) {
                return Err(format!(
                    "filter.{field} applies to observation targets, not traces"
                ));
            }
        }
        EvalTarget::Observation { .. } | EvalTarget::DatasetRunItem => {
            if let Some((field, _)) = trace_only.iter().find(|(_, set)| *set) {
                return Err(format!(
                    "filter.{field} applies to trace targets; observations do not carry it"
                ));
            }
        }
    }
    Ok(())
}
