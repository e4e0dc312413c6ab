//! Comments (Langfuse-compatible): free text attached to a trace, observation, session or
//! prompt of a project.

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::BackendResult;
use crate::model::Page;
use crate::store::PageRequest;

/// Longest comment Langfuse accepts, in characters.
pub const MAX_COMMENT_CHARS: usize = 5000;

/// What a comment is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommentObjectType {
    Trace,
    Observation,
    Session,
    Prompt,
}

impl CommentObjectType {
    /// Returns the wire name (`TRACE`, `OBSERVATION`, `SESSION`, `PROMPT`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trace => "TRACE",
            Self::Observation => "OBSERVATION",
            Self::Session => "SESSION",
            Self::Prompt => "PROMPT",
        }
    }

    /// Parses a wire name; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Trace, Self::Observation, Self::Session, Self::Prompt]
            .into_iter()
            .find(|kind| kind.as_str() == value)
    }
}

/// A stored comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub id: String,
    pub project_id: String,
    pub object_type: CommentObjectType,
    pub object_id: String,
    pub content: String,
    pub author_user_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Filters of the comment list; each one set must match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommentFilter {
    pub object_type: Option<CommentObjectType>,
    pub object_id: Option<String>,
    pub author_user_id: Option<String>,
}

/// Storage of comments.
#[async_trait]
pub trait CommentStore: Send + Sync + Debug + 'static {
    /// Stores a new comment (its id is chosen by the caller).
    async fn create_comment(&self, comment: &Comment) -> BackendResult<()>;

    /// Returns the comment `id` of the project.
    async fn get_comment(&self, project_id: &str, id: &str) -> BackendResult<Option<Comment>>;

    /// Returns one page of the project's comments matching `filter`, newest first.
    async fn list_comments(
        &self,
        project_id: &str,
        filter: &CommentFilter,
        page: PageRequest,
    ) -> BackendResult<Page<Comment>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_types_round_trip_their_wire_names() {
        for kind in [
            CommentObjectType::Trace,
            CommentObjectType::Observation,
            CommentObjectType::Session,
            CommentObjectType::Prompt,
        ] {
            assert_eq!(CommentObjectType::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(CommentObjectType::parse("trace"), None);
    }
}
