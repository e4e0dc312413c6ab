//! API-key authentication shared by the ingest and query edges (WIRE-PROTOCOL.md §1).
//!
//! `Authorization: Basic base64(pk:sk)` grants full project access; `Bearer pk` grants
//! scores-only access. Verified keys are cached (positive and negative) so the meta store is
//! not asked on every request.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;

use crate::cache::Cache;
use crate::error::{BackendError, ErrorCode, ServiceError};
use crate::meta::{MetaStore, hash_secret};

/// Failed lookups are remembered this long, so a flood of bad keys does not reach the store.
const NEGATIVE_TTL: Duration = Duration::from_secs(5);

/// What an authenticated request may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScope {
    /// Basic auth with public and secret key: everything in the project.
    Full,
    /// Bearer public key only: create scores.
    ScoresOnly,
}

/// The caller's project and scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthContext {
    pub project_id: String,
    pub public_key: String,
    pub scope: AuthScope,
}

/// Why authentication failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing authorization header; send Basic base64(publicKey:secretKey)")]
    Missing,
    #[error("malformed authorization header: {0}")]
    Malformed(&'static str),
    #[error("invalid api key")]
    Invalid,
    #[error("authentication is unavailable: {0}")]
    Unavailable(#[source] BackendError),
}

impl ServiceError for AuthError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Missing | Self::Malformed(_) | Self::Invalid => ErrorCode::Unauthenticated,
            Self::Unavailable(_) => ErrorCode::Unavailable,
        }
    }
}

/// Verifies API keys against the meta store through the cache.
#[derive(Debug, Clone)]
pub struct Authenticator {
    meta: Arc<dyn MetaStore>,
    cache: Arc<dyn Cache>,
    ttl: Duration,
}

impl Authenticator {
    /// Returns an authenticator caching verified keys for `ttl`.
    pub fn new(meta: Arc<dyn MetaStore>, cache: Arc<dyn Cache>, ttl: Duration) -> Self {
        Self { meta, cache, ttl }
    }

    /// Authenticates the value of an `Authorization` header.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
    ) -> Result<AuthContext, AuthError> {
        let header = authorization
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or(AuthError::Missing)?;
        let (scheme, credentials) = header.split_once(' ').ok_or(AuthError::Malformed(
            "expected \"Basic <base64>\" or \"Bearer <publicKey>\"",
        ))?;
        let credentials = credentials.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(credentials)
                .map_err(|_| AuthError::Malformed("basic credentials are not valid base64"))?;
            let decoded = String::from_utf8(decoded)
                .map_err(|_| AuthError::Malformed("basic credentials are not utf-8"))?;
            let (public_key, secret_key) = decoded.split_once(':').ok_or(AuthError::Malformed(
                "basic credentials must be publicKey:secretKey",
            ))?;
            let project_id = self.verify(public_key, Some(secret_key)).await?;
            return Ok(AuthContext {
                project_id,
                public_key: public_key.to_owned(),
                scope: AuthScope::Full,
            });
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            let project_id = self.verify(credentials, None).await?;
            return Ok(AuthContext {
                project_id,
                public_key: credentials.to_owned(),
                scope: AuthScope::ScoresOnly,
            });
        }
        Err(AuthError::Malformed(
            "unsupported scheme; use Basic or Bearer",
        ))
    }

    /// Returns the project of a key pair (or of a public key alone when `secret` is `None`).
    async fn verify(&self, public_key: &str, secret: Option<&str>) -> Result<String, AuthError> {
        let cache_key = match secret {
            Some(secret) => format!(
                "auth:basic:{}",
                hash_secret(&format!("{public_key}:{secret}"))
            ),
            None => format!("auth:bearer:{public_key}"),
        };
        // The cache is an optimisation: when it fails, fall through to the store.
        if let Ok(Some(cached)) = self.cache.get(&cache_key).await {
            if cached.is_empty() {
                return Err(AuthError::Invalid);
            }
            return String::from_utf8(cached.to_vec()).map_err(|_| AuthError::Invalid);
        }
        let key = self
            .meta
            .find_api_key(public_key)
            .await
            .map_err(AuthError::Unavailable)?;
        let verified = key.filter(|key| match secret {
            Some(secret) => constant_time_eq(&key.secret_hash, &hash_secret(secret)),
            None => true,
        });
        match verified {
            Some(key) => {
                let value = Bytes::from(key.project_id.clone());
                if let Err(error) = self.cache.set(&cache_key, value, self.ttl).await {
                    tracing::warn!(%error, "failed to cache a verified api key");
                }
                Ok(key.project_id)
            }
            None => {
                let _ = self.cache.set(&cache_key, Bytes::new(), NEGATIVE_TTL).await;
                Err(AuthError::Invalid)
            }
        }
    }
}

/// Compares two hashes without an early exit, so timing reveals nothing about the match.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
