//! API key administration: list, create and revoke a project's keys, and the optional admin
//! token that may do so for every project (docs/adr/0015-admin-api.md).
//!
//! Revoking deletes the key, so the meta store stops finding it at once; an authenticator
//! that cached the key before keeps accepting it for at most `auth.cache_ttl`.

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{SubsecRound as _, Utc};
use sha2::{Digest, Sha256};

use crate::error::BackendResult;
use crate::meta::{ApiKey, hash_secret};

/// Environment variable holding the admin token (unset: no admin token is accepted).
pub const ADMIN_TOKEN_ENV: &str = "PERISCOPE_ADMIN_TOKEN";

/// Shortest admin token accepted, so that a typo like `x` never becomes a credential.
const MIN_ADMIN_TOKEN_CHARS: usize = 16;

/// A stored key with its optional note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyEntry {
    pub key: ApiKey,
    pub note: Option<String>,
}

/// Administration of API keys, next to `MetaStore`'s lookup used for authentication.
#[async_trait]
pub trait ApiKeyAdmin: Send + Sync + Debug + 'static {
    /// Returns the project's keys, oldest first.
    async fn list_api_keys(&self, project_id: &str) -> BackendResult<Vec<ApiKeyEntry>>;

    /// Stores a new key; fails with `AlreadyExists` if the public key is taken.
    async fn create_api_key(&self, entry: &ApiKeyEntry) -> BackendResult<()>;

    /// Deletes the key with this id from the project; returns it if it existed.
    async fn revoke_api_key(&self, project_id: &str, key_id: &str)
    -> BackendResult<Option<ApiKey>>;

    /// Deletes the key with this public key, whatever its project; returns it if it existed.
    async fn revoke_public_key(&self, public_key: &str) -> BackendResult<Option<ApiKey>>;
}

/// A new key pair: the stored entry, and the secret, which is shown once and never stored.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub entry: ApiKeyEntry,
    pub secret_key: String,
}

/// Returns a new random `pk-lf-…`/`sk-lf-…` key pair for `project_id`.
pub fn generate_api_key(
    project_id: &str,
    note: Option<String>,
) -> Result<NewApiKey, getrandom::Error> {
    let public_key = format!("pk-lf-{}", crate::ids::random_hex(16)?);
    let secret_key = format!("sk-lf-{}", crate::ids::random_hex(24)?);
    let key = ApiKey {
        id: crate::ids::new_event_id(),
        project_id: project_id.to_owned(),
        public_key,
        secret_hash: hash_secret(&secret_key),
        display_secret: display_secret(&secret_key),
        // Stores keep microseconds; the creation answer must equal later reads.
        created_at: Utc::now().trunc_subsecs(6),
    };
    Ok(NewApiKey {
        entry: ApiKeyEntry { key, note },
        secret_key,
    })
}

/// Returns the displayable form of a secret: its first six and last four characters.
pub fn display_secret(secret_key: &str) -> String {
    let chars: Vec<char> = secret_key.chars().collect();
    let prefix: String = chars.iter().take(6).collect();
    let suffix: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("{prefix}…{suffix}")
}

/// The admin token, kept only as a hash so it never appears in a debug print.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken {
    hash: [u8; 32],
}

impl Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(..)")
    }
}

impl AdminToken {
    /// Returns the token of `value`, or an error naming the rule it breaks.
    pub fn new(value: &str) -> Result<Self, String> {
        if value.chars().count() < MIN_ADMIN_TOKEN_CHARS {
            return Err(format!(
                "{ADMIN_TOKEN_ENV} must have at least {MIN_ADMIN_TOKEN_CHARS} characters"
            ));
        }
        Ok(Self {
            hash: Sha256::digest(value.as_bytes()).into(),
        })
    }

    /// Reads `PERISCOPE_ADMIN_TOKEN`: `Ok(None)` when unset or empty.
    pub fn from_env() -> Result<Option<Self>, String> {
        match std::env::var(ADMIN_TOKEN_ENV) {
            Ok(value) if !value.is_empty() => Self::new(&value).map(Some),
            _ => Ok(None),
        }
    }

    /// Returns whether `candidate` is the token, comparing hashes without an early exit.
    pub fn matches(&self, candidate: &str) -> bool {
        let candidate: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
        candidate
            .iter()
            .zip(self.hash.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_verify_and_show_only_the_ends_of_the_secret() {
        let new = generate_api_key("p1", Some("ci".into())).unwrap();
        let key = &new.entry.key;
        assert!(key.public_key.starts_with("pk-lf-") && key.public_key.len() == 38);
        assert!(new.secret_key.starts_with("sk-lf-"));
        assert_eq!(key.secret_hash, hash_secret(&new.secret_key));
        assert_eq!(key.project_id, "p1");
        assert_eq!(new.entry.note.as_deref(), Some("ci"));
        assert_eq!(display_secret("sk-lf-0123456789abcd"), "sk-lf-…abcd");
        assert!(!key.display_secret.contains(&new.secret_key[6..]));
    }

    #[test]
    fn admin_tokens_match_only_themselves() {
        let token = AdminToken::new("a-long-admin-token-1234").unwrap();
        assert!(token.matches("a-long-admin-token-1234"));
        assert!(!token.matches("a-long-admin-token-1235"));
        assert!(!token.matches(""));
        assert!(AdminToken::new("short").is_err());
        assert_eq!(format!("{token:?}"), "AdminToken(..)");
    }
}
