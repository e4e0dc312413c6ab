//! The UI's login sessions: a random 256-bit token (the `periscope_session` cookie) mapped to
//! the project and public key that logged in, with a sliding idle expiry.
//!
//! Sessions live in this process only (see docs/adr/0020-ui-sessions.md): `ApiState` has no
//! slot for them, so one store serves every router of the process. Tokens are random, so
//! routers sharing the store cannot guess each other's sessions.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use periscope_core::error::BackendError;

/// A session ends after this long without a request.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(12 * 60 * 60);

/// Most live sessions kept; beyond this the one idle longest is dropped.
const MAX_SESSIONS: usize = 10_000;

/// Random bytes in a token (256 bits).
const TOKEN_BYTES: usize = 32;

/// Length of a token's text: unpadded URL-safe base64 of `TOKEN_BYTES` bytes.
const TOKEN_CHARS: usize = 43;

/// Who a session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    pub(crate) project_id: String,
    pub(crate) public_key: String,
    expires_at: Instant,
}

/// Live sessions by token.
#[derive(Debug)]
pub(crate) struct SessionStore {
    sessions: Mutex<HashMap<String, Session>>,
    idle_timeout: Duration,
}

/// The store shared by every router of this process.
static PROCESS_SESSIONS: LazyLock<SessionStore> = LazyLock::new(|| SessionStore::new(IDLE_TIMEOUT));

/// Returns the sessions of this process.
pub(crate) fn process_sessions() -> &'static SessionStore {
    &PROCESS_SESSIONS
}

impl SessionStore {
    /// Returns an empty store whose sessions end after `idle_timeout` without use.
    pub(crate) fn new(idle_timeout: Duration) -> Self {
        Self {
            sessions: Mutex::new(HashMap::new()),
            idle_timeout,
        }
    }

    /// Starts a session and returns its token.
    pub(crate) fn create(
        &self,
        project_id: String,
        public_key: String,
        now: Instant,
    ) -> Result<String, BackendError> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes).map_err(|error| BackendError::Unavailable {
            backend: "random",
            message: format!("no randomness for a session token: {error}"),
        })?;
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let session = Session {
            project_id,
            public_key,
            expires_at: now + self.idle_timeout,
        };
        let mut sessions = self.lock();
        if sessions.len() >= MAX_SESSIONS {
            sessions.retain(|_, session| session.expires_at > now);
        }
        if sessions.len() >= MAX_SESSIONS {
            let oldest = sessions
                .iter()
                .min_by_key(|(_, session)| session.expires_at)
                .map(|(token, _)| token.clone());
            if let Some(oldest) = oldest {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(token.clone(), session);
        Ok(token)
    }

    /// Returns the session of `token` and extends it, or `None` when it is unknown or expired.
    pub(crate) fn touch(&self, token: &str, now: Instant) -> Option<Session> {
        if token.len() != TOKEN_CHARS {
            return None;
        }
        let mut sessions = self.lock();
        let session = sessions.get_mut(token)?;
        if session.expires_at <= now {
            sessions.remove(token);
            return None;
        }
        session.expires_at = now + self.idle_timeout;
        Some(session.clone())
    }

    /// Ends the session of `token` (nothing happens when there is none).
    pub(crate) fn remove(&self, token: &str) {
        self.lock().remove(token);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // The map stays consistent even if a holder panicked: every change is one call.
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_slides_while_used_and_ends_when_idle_or_removed() {
        let store = SessionStore::new(Duration::from_secs(10));
        let start = Instant::now();
        let token = store.create("p1".into(), "pk".into(), start).unwrap();
        assert_eq!(token.len(), TOKEN_CHARS);
        let later = start + Duration::from_secs(8);
        assert_eq!(store.touch(&token, later).unwrap().project_id, "p1");
        // Used at +8 s, so it lives until +18 s.
        assert!(
            store
                .touch(&token, start + Duration::from_secs(17))
                .is_some()
        );
        assert!(
            store
                .touch(&token, start + Duration::from_secs(28))
                .is_none()
        );
        assert!(
            store.touch(&token, start).is_none(),
            "expired sessions are gone"
        );

        let token = store.create("p1".into(), "pk".into(), start).unwrap();
        store.remove(&token);
        assert!(store.touch(&token, start).is_none());
    }

    #[test]
    fn tokens_are_random_and_forged_ones_are_unknown() {
        let store = SessionStore::new(IDLE_TIMEOUT);
        let now = Instant::now();
        let first = store.create("p1".into(), "pk".into(), now).unwrap();
        let second = store.create("p1".into(), "pk".into(), now).unwrap();
        assert_ne!(first, second);
        assert!(store.touch(&"A".repeat(TOKEN_CHARS), now).is_none());
        assert!(store.touch("short", now).is_none());
    }
}
