//! Public sharing of traces and sessions, and the administration of API keys: who may read
//! what with which credential (docs/adr/0014-public-sharing.md, docs/adr/0015-admin-api.md).
//!
//! Everything is private by default. A trace is public when its toggle says so, or, without a
//! toggle, when its record carries `public: true` (`langfuse.trace.public`, or `public` of a
//! `trace-create` event). A session is public only through its toggle. The share endpoints
//! are unauthenticated, so the share store also resolves an object id to its project.

pub mod api_keys;

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::BackendResult;

/// What can be shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShareObjectType {
    Trace,
    Session,
}

impl ShareObjectType {
    /// Returns the stored name (`TRACE`, `SESSION`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trace => "TRACE",
            Self::Session => "SESSION",
        }
    }

    /// Parses a stored name; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Trace, Self::Session]
            .into_iter()
            .find(|kind| kind.as_str() == value)
    }
}

/// The sharing state of one object of a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShareState {
    /// Set through the API (`PATCH /traces/{id}`); wins over the record flag.
    pub toggle: Option<bool>,
    /// The record's own `public` flag, as last reported by the trace sink.
    pub record_flag: bool,
}

impl ShareState {
    /// Returns whether the object is public: the toggle if set, else the record flag.
    pub fn is_public(self) -> bool {
        self.toggle.unwrap_or(self.record_flag)
    }
}

/// The `public` flag of a trace record, as the trace sink reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordShareFlag {
    pub project_id: String,
    pub trace_id: String,
    pub public: bool,
}

/// Which project an unauthenticated request for an object id may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareResolution {
    /// Exactly one project shares the object.
    Public { project_id: String },
    /// Some project knows the object and it is not public (or several projects claim the
    /// same id, which is refused rather than guessed).
    NotPublic,
    /// No project has a share row for the object.
    Unknown,
}

/// Storage of sharing state, keyed by (project, object type, object id).
#[async_trait]
pub trait ShareStore: Send + Sync + Debug + 'static {
    /// Sets the API toggle of an object.
    async fn set_public(
        &self,
        project_id: &str,
        object_type: ShareObjectType,
        object_id: &str,
        public: bool,
        now: DateTime<Utc>,
    ) -> BackendResult<()>;

    /// Records the `public` flags of trace records (idempotent; the toggle is kept).
    async fn record_public_flags(
        &self,
        flags: &[RecordShareFlag],
        now: DateTime<Utc>,
    ) -> BackendResult<()>;

    /// Returns the sharing state of an object, if any row exists for it.
    async fn share_state(
        &self,
        project_id: &str,
        object_type: ShareObjectType,
        object_id: &str,
    ) -> BackendResult<Option<ShareState>>;

    /// Finds the project that shares an object, across all projects.
    async fn resolve(
        &self,
        object_type: ShareObjectType,
        object_id: &str,
    ) -> BackendResult<ShareResolution>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_toggle_wins_over_the_record_flag() {
        let state = |toggle, record_flag| ShareState {
            toggle,
            record_flag,
        };
        assert!(!state(None, false).is_public());
        assert!(state(None, true).is_public());
        assert!(!state(Some(false), true).is_public());
        assert!(state(Some(true), false).is_public());
        for kind in [ShareObjectType::Trace, ShareObjectType::Session] {
            assert_eq!(ShareObjectType::parse(kind.as_str()), Some(kind));
        }
    }
}
