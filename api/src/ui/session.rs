//! The UI's login sessions: a random 256-bit token (the `periscope_session` cookie) mapped to
//! the project and public key that logged in, with a sliding idle expiry.
//!
//! Sessions live in the deployment's `Cache` (docs/adr/0020-ui-sessions.md): Redis when
//! several api processes run behind a load balancer, so a session started on one works on
//! every other and a logout on any of them ends it everywhere; the in-process cache in
//! `periscope serve`. The key is `ui:session:<sha256(token) hex>`, so a dump of the cache
//! holds no usable token. The value records its own expiry, which lets a request decide
//! whether the TTL is worth refreshing without a second round trip.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use periscope_core::cache::Cache;
use periscope_core::error::BackendError;
use periscope_core::meta::hash_secret;
use serde::{Deserialize, Serialize};

/// A session ends after this long without a request.
const IDLE_TIMEOUT: Duration = Duration::from_secs(12 * 60 * 60);

/// A request re-sets its session only once this much of the idle timeout has passed (less
/// than 11 h remain), so a busy UI costs one cache write an hour instead of one a request.
const REFRESH_AFTER: Duration = Duration::from_secs(60 * 60);

/// Prefix of the session keys in the cache (after the cache's own `redis.key_prefix`).
const KEY_PREFIX: &str = "ui:session:";

/// Random bytes in a token (256 bits).
const TOKEN_BYTES: usize = 32;

/// Length of a token's text: unpadded URL-safe base64 of `TOKEN_BYTES` bytes.
const TOKEN_CHARS: usize = 43;

/// Who a session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    pub(crate) project_id: String,
    pub(crate) public_key: String,
}

/// The cached value of a session.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredSession {
    project_id: String,
    public_key: String,
    /// Milliseconds since the Unix epoch at which the cache entry expires (as last written).
    expires_at_ms: u64,
}

/// The session store could not be read or written: the request must fail with 503, not be
/// treated as logged out.
#[derive(Debug, thiserror::Error)]
#[error("ui session store failed: {0}")]
pub(crate) struct SessionStoreError(#[source] pub(crate) BackendError);

impl From<BackendError> for SessionStoreError {
    fn from(error: BackendError) -> Self {
        Self(error)
    }
}

/// Sessions in a cache. Cheap to build per request: it only borrows the cache.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionStore<'a> {
    cache: &'a dyn Cache,
    idle_timeout: Duration,
    refresh_after: Duration,
}

impl<'a> SessionStore<'a> {
    /// Returns the store over `cache` with the production timeouts.
    pub(crate) fn new(cache: &'a dyn Cache) -> Self {
        Self {
            cache,
            idle_timeout: IDLE_TIMEOUT,
            refresh_after: REFRESH_AFTER,
        }
    }

    /// Starts a session and returns its token.
    pub(crate) async fn create(
        &self,
        project_id: String,
        public_key: String,
        now: SystemTime,
    ) -> Result<String, SessionStoreError> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes).map_err(|error| BackendError::Unavailable {
            backend: "random",
            message: format!("no randomness for a session token: {error}"),
        })?;
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let stored = StoredSession {
            project_id,
            public_key,
            expires_at_ms: unix_millis(now + self.idle_timeout),
        };
        self.cache
            .set(&session_key(&token), encode(&stored)?, self.idle_timeout)
            .await?;
        Ok(token)
    }

    /// Returns the session of `token`, extending it when due, or `None` when it is unknown,
    /// expired or ended.
    pub(crate) async fn touch(
        &self,
        token: &str,
        now: SystemTime,
    ) -> Result<Option<Session>, SessionStoreError> {
        if token.len() != TOKEN_CHARS {
            return Ok(None);
        }
        let key = session_key(token);
        let Some(value) = self.cache.get(&key).await? else {
            return Ok(None);
        };
        let Ok(mut stored) = serde_json::from_slice::<StoredSession>(&value) else {
            // Not a value this code wrote: nobody can be logged in with it.
            tracing::debug!("unreadable ui session value; treating the session as unknown");
            return Ok(None);
        };
        let now_ms = unix_millis(now);
        if stored.expires_at_ms <= now_ms {
            // The cache expires entries itself; this covers a clock that ran ahead of it.
            return Ok(None);
        }
        let remaining = Duration::from_millis(stored.expires_at_ms - now_ms);
        if remaining + self.refresh_after < self.idle_timeout {
            stored.expires_at_ms = unix_millis(now + self.idle_timeout);
            // `set_if_present`: a logout that deleted the key since our read wins.
            let refreshed = self
                .cache
                .set_if_present(&key, encode(&stored)?, self.idle_timeout)
                .await?;
            if !refreshed {
                return Ok(None);
            }
        }
        Ok(Some(Session {
            project_id: stored.project_id,
            public_key: stored.public_key,
        }))
    }

    /// Ends the session of `token` (nothing happens when there is none).
    pub(crate) async fn remove(&self, token: &str) -> Result<(), SessionStoreError> {
        if token.len() != TOKEN_CHARS {
            return Ok(());
        }
        self.cache.delete(&session_key(token)).await?;
        Ok(())
    }
}

/// The cache key of `token`: only its SHA-256 is stored, so the cache's contents cannot be
/// replayed as cookies.
fn session_key(token: &str) -> String {
    format!("{KEY_PREFIX}{}", hash_secret(token))
}

fn encode(stored: &StoredSession) -> Result<Bytes, BackendError> {
    serde_json::to_vec(stored)
        .map(Bytes::from)
        .map_err(|error| BackendError::Other {
            backend: "ui session store",
            context: "failed to encode a session".to_owned(),
            source: error.into(),
        })
}

/// Milliseconds since the Unix epoch (0 for a clock set before 1970).
fn unix_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    })
}

#[cfg(test)]
mod tests;
