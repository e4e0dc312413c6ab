//! Closed enumerations of the model, serialised with Langfuse's spellings.

use serde::{Deserialize, Serialize};

/// The kind of an observation (WIRE-PROTOCOL.md §3 and §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ObservationType {
    Span,
    Generation,
    Event,
    Agent,
    Tool,
    Chain,
    Retriever,
    Evaluator,
    Embedding,
    Guardrail,
}

impl ObservationType {
    /// All observation types, in declaration order.
    pub const ALL: [ObservationType; 10] = [
        Self::Span,
        Self::Generation,
        Self::Event,
        Self::Agent,
        Self::Tool,
        Self::Chain,
        Self::Retriever,
        Self::Evaluator,
        Self::Embedding,
        Self::Guardrail,
    ];

    /// Returns the upper-case name used on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Span => "SPAN",
            Self::Generation => "GENERATION",
            Self::Event => "EVENT",
            Self::Agent => "AGENT",
            Self::Tool => "TOOL",
            Self::Chain => "CHAIN",
            Self::Retriever => "RETRIEVER",
            Self::Evaluator => "EVALUATOR",
            Self::Embedding => "EMBEDDING",
            Self::Guardrail => "GUARDRAIL",
        }
    }

    /// Parses a type name case-insensitively (`generation`, `GENERATION`).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(name))
    }
}

/// Severity of an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Level {
    Debug,
    Default,
    Warning,
    Error,
}

impl Level {
    /// Returns the upper-case name used on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "DEBUG",
            Self::Default => "DEFAULT",
            Self::Warning => "WARNING",
            Self::Error => "ERROR",
        }
    }

    /// Parses a level name case-insensitively.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Debug, Self::Default, Self::Warning, Self::Error]
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(name))
    }
}

/// The data type of a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScoreDataType {
    Numeric,
    Categorical,
    Boolean,
}

impl ScoreDataType {
    /// Returns the upper-case name used on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Numeric => "NUMERIC",
            Self::Categorical => "CATEGORICAL",
            Self::Boolean => "BOOLEAN",
        }
    }

    /// Parses a data type name case-insensitively.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Numeric, Self::Categorical, Self::Boolean]
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(name))
    }
}

/// Who produced a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScoreSource {
    Api,
    Eval,
    Annotation,
}

impl ScoreSource {
    /// Returns the upper-case name used on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "API",
            Self::Eval => "EVAL",
            Self::Annotation => "ANNOTATION",
        }
    }

    /// Parses a source name case-insensitively.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Api, Self::Eval, Self::Annotation]
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(name))
    }
}
