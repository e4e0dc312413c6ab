//! The `MetaStore` trait: projects, API keys, model definitions (and, later, prompts, datasets,
//! evaluators and jobs).
//!
//! Implementations: SQLite (embedded, in `periscope-sinks`) and Postgres (scale-out).

use std::collections::BTreeMap;
use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::BackendResult;

/// A project: the unit of isolation of all data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// An API key pair as stored: the secret only as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub project_id: String,
    pub public_key: String,
    /// Hex SHA-256 of the secret key (see `hash_secret`).
    pub secret_hash: String,
    /// The secret's first and last characters, for display (`sk-lf-…abcd`).
    pub display_secret: String,
    pub created_at: DateTime<Utc>,
}

/// Returns the stored form of a secret key.
///
/// Secret keys are high-entropy random tokens, so a fast hash is enough to make a leaked table
/// useless; a password hash would only slow every uncached request.
pub fn hash_secret(secret_key: &str) -> String {
    hex::encode(Sha256::digest(secret_key.as_bytes()))
}

/// A model definition used for pricing (built-in or per project).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelDefinition {
    pub id: String,
    /// `None` for built-in models, which every project sees.
    pub project_id: Option<String>,
    pub model_name: String,
    /// A regular expression matched against the observation's model name.
    pub match_pattern: String,
    /// Prices apply to observations starting at or after this time.
    pub start_date: Option<DateTime<Utc>>,
    /// USD per unit for each usage key (`input`, `output`, `input_cached_tokens`, ...).
    pub prices: BTreeMap<String, f64>,
    /// Unit of usage, `TOKENS` by default.
    pub unit: String,
    /// Tokenizer used to count tokens when usage is missing (`openai`, `claude`, or none).
    pub tokenizer_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Configuration data of Periscope.
#[async_trait]
pub trait MetaStore: Send + Sync + Debug + 'static {
    /// Checks that the store is reachable and migrated.
    async fn healthcheck(&self) -> BackendResult<()>;

    /// Creates a project, or returns the existing one with that id.
    async fn upsert_project(&self, id: &str, name: &str) -> BackendResult<Project>;

    /// Returns all projects.
    async fn list_projects(&self) -> BackendResult<Vec<Project>>;

    /// Returns one project.
    async fn get_project(&self, id: &str) -> BackendResult<Option<Project>>;

    /// Stores a key pair; a pair with the same public key is left unchanged (idempotent).
    async fn upsert_api_key(&self, key: &ApiKey) -> BackendResult<()>;

    /// Returns the key pair with this public key.
    async fn find_api_key(&self, public_key: &str) -> BackendResult<Option<ApiKey>>;

    /// Stores a project model definition (replacing one with the same id).
    async fn upsert_model(&self, model: &ModelDefinition) -> BackendResult<()>;

    /// Returns the project's own model definitions.
    async fn list_models(&self, project_id: &str) -> BackendResult<Vec<ModelDefinition>>;

    /// Deletes a project model definition; returns whether it existed.
    async fn delete_model(&self, project_id: &str, model_id: &str) -> BackendResult<bool>;
}
