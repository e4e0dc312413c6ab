//! Prompt management (Langfuse-compatible): versioned prompts per `(project, name)`, deployment
//! labels, tags, and composition of prompts from other prompts.
//!
//! Rules every `PromptStore` keeps (they follow Langfuse's prompt API):
//! - Versions of a name are numbered 1, 2, 3, … in creation order; concurrent creates of one
//!   name never share a number.
//! - A label sits on at most one version of a name: giving it to a version takes it away from
//!   the others. `latest` is managed by the store and always sits on the newest version.
//! - Tags belong to the name: a create that gives tags sets them for every version, one that
//!   gives none keeps the current ones.
//! - All versions of a name share one type (text or chat).
//!
//! The pure helpers live beside the trait: [`validation`] (names, labels, variables, chat
//! messages) and [`compose`] (`@@@langfusePrompt:…@@@` references and their resolution).

pub mod compose;
pub mod validation;

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::{BackendError, BackendResult};
use crate::model::Page;
use crate::store::PageRequest;

pub use compose::{DependencyTarget, PromptDependency};

/// The label the server keeps on the newest version of every prompt.
pub const LATEST_LABEL: &str = "latest";

/// The label served when a client asks for neither a label nor a version.
pub const PRODUCTION_LABEL: &str = "production";

/// Whether a prompt is one template string or a list of chat messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PromptType {
    /// `prompt` is a JSON string.
    Text,
    /// `prompt` is a JSON array of `{role, content}` messages and `{type: "placeholder", name}`.
    Chat,
}

impl PromptType {
    /// Returns the wire name (`text` or `chat`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Chat => "chat",
        }
    }

    /// Parses a wire name; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "text" => Some(Self::Text),
            "chat" => Some(Self::Chat),
            _ => None,
        }
    }
}

/// One stored version of a prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub id: String,
    pub project_id: String,
    pub name: String,
    /// 1 for the first version of a name.
    pub version: i64,
    pub prompt_type: PromptType,
    /// A JSON string (text) or array of messages (chat), as created (references unresolved).
    pub prompt: Value,
    /// Free-form JSON (`{}` when the client gave none).
    pub config: Value,
    /// The labels on this version, sorted.
    pub labels: Vec<String>,
    /// The tags of the name (the same on every version), in the order given.
    pub tags: Vec<String>,
    pub commit_message: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Changes when labels or tags of this version change.
    pub updated_at: DateTime<Utc>,
    /// Who created the version (`API` for the public API).
    pub created_by: String,
}

/// A version to create; the store assigns its number.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPrompt {
    /// Unique id of the new version (a UUID).
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub prompt_type: PromptType,
    pub prompt: Value,
    pub config: Value,
    /// Labels to put on the new version (moved from older versions); never `latest`, which
    /// the store adds itself.
    pub labels: Vec<String>,
    /// New tags of the name, or `None` to keep the current ones.
    pub tags: Option<Vec<String>>,
    pub commit_message: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// The prompts this version references (see [`compose::parse_dependencies`]), recorded so
    /// that deleting a referenced version can be refused.
    pub dependencies: Vec<PromptDependency>,
}

/// Which version of a name to read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PromptSelector {
    /// The version carrying this label.
    Label(String),
    /// This version number.
    Version(i64),
}

/// Which versions of a name to delete: all of them, one version, or the one with a label.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PromptDeletion {
    /// Every version (the name disappears).
    #[default]
    All,
    /// The version with this number.
    Version(i64),
    /// The version carrying this label.
    Label(String),
}

/// Filters of the prompt list; each applies to versions, and a name is listed when at least
/// one of its versions matches.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PromptListFilter {
    /// Exact name.
    pub name: Option<String>,
    /// Versions carrying this label.
    pub label: Option<String>,
    /// Names with this tag.
    pub tag: Option<String>,
    /// Versions updated at or after this time.
    pub from_updated_at: Option<DateTime<Utc>>,
    /// Versions updated before this time.
    pub to_updated_at: Option<DateTime<Utc>>,
}

/// One name in the prompt list (Langfuse's `PromptMeta`).
#[derive(Debug, Clone, PartialEq)]
pub struct PromptMeta {
    pub name: String,
    pub prompt_type: PromptType,
    /// The matching versions, ascending.
    pub versions: Vec<i64>,
    /// The labels of the matching versions, sorted.
    pub labels: Vec<String>,
    pub tags: Vec<String>,
    /// The latest `updated_at` of the matching versions.
    pub last_updated_at: DateTime<Utc>,
    /// The config of the newest matching version.
    pub last_config: Value,
}

/// Why a prompt operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// The request conflicts with the stored prompts (a type change, a deletion that would
    /// break a reference, …); the message says what to change.
    #[error("{0}")]
    Rejected(String),
    /// No version matches.
    #[error("prompt {name} not found")]
    NotFound { name: String },
    /// The store failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Result of prompt operations.
pub type PromptResult<T> = Result<T, PromptError>;

/// Storage of prompt versions, labels and tags.
#[async_trait]
pub trait PromptStore: Send + Sync + Debug + 'static {
    /// Creates the next version of `new.name` atomically: numbers it one above the newest,
    /// moves `new.labels` and `latest` onto it, and applies `new.tags` to every version.
    /// Fails with `Rejected` when older versions have another type.
    async fn create_version(&self, new: NewPrompt) -> PromptResult<Prompt>;

    /// Returns the version of `name` carrying `label`.
    async fn get_by_label(
        &self,
        project_id: &str,
        name: &str,
        label: &str,
    ) -> BackendResult<Option<Prompt>>;

    /// Returns version `version` of `name`.
    async fn get_by_version(
        &self,
        project_id: &str,
        name: &str,
        version: i64,
    ) -> BackendResult<Option<Prompt>>;

    /// Adds `new_labels` to version `version` of `name`, taking them away from the other
    /// versions; labels already on the version stay. Fails with `NotFound` when the version
    /// does not exist.
    async fn update_labels(
        &self,
        project_id: &str,
        name: &str,
        version: i64,
        new_labels: &[String],
    ) -> PromptResult<Prompt>;

    /// Returns one page of names (ordered by name) whose versions match `filter`.
    async fn list(
        &self,
        project_id: &str,
        filter: &PromptListFilter,
        page: PageRequest,
    ) -> BackendResult<Page<PromptMeta>>;

    /// Deletes the versions of `name` that `target` selects and returns how many went. Moves
    /// `latest` to the newest remaining version. Fails with `NotFound` when nothing matches
    /// and with `Rejected` when another prompt references a version or label that would
    /// disappear.
    async fn delete(
        &self,
        project_id: &str,
        name: &str,
        target: &PromptDeletion,
    ) -> PromptResult<u64>;
}

/// Returns the version `selector` names.
pub async fn get_prompt(
    store: &dyn PromptStore,
    project_id: &str,
    name: &str,
    selector: &PromptSelector,
) -> BackendResult<Option<Prompt>> {
    match selector {
        PromptSelector::Label(label) => store.get_by_label(project_id, name, label).await,
        PromptSelector::Version(version) => store.get_by_version(project_id, name, *version).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_types_round_trip_their_wire_names() {
        for prompt_type in [PromptType::Text, PromptType::Chat] {
            assert_eq!(PromptType::parse(prompt_type.as_str()), Some(prompt_type));
        }
        assert_eq!(PromptType::parse("Chat"), None);
        assert_eq!(PromptType::parse(""), None);
    }
}
