//! Annotation queues (Langfuse-compatible): named work lists of traces, observations and
//! sessions that people review, each item `PENDING` until it is `COMPLETED`, optionally with
//! scores of the queue's score configs (written with source `ANNOTATION`).

mod score_writer;

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::error::BackendResult;
use crate::langfuse::ScoreBody;
use crate::model::Page;
use crate::store::PageRequest;

pub use score_writer::LogScoreWriter;

/// What a queue item points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnnotationObjectType {
    Trace,
    Observation,
    Session,
}

impl AnnotationObjectType {
    /// Returns the wire name (`TRACE`, `OBSERVATION`, `SESSION`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trace => "TRACE",
            Self::Observation => "OBSERVATION",
            Self::Session => "SESSION",
        }
    }

    /// Parses a wire name; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Trace, Self::Observation, Self::Session]
            .into_iter()
            .find(|kind| kind.as_str() == value)
    }
}

/// Whether an item still needs review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AnnotationStatus {
    #[default]
    Pending,
    Completed,
}

impl AnnotationStatus {
    /// Returns the wire name (`PENDING`, `COMPLETED`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Completed => "COMPLETED",
        }
    }

    /// Parses a wire name; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Pending, Self::Completed]
            .into_iter()
            .find(|status| status.as_str() == value)
    }
}

/// An annotation queue of a project.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnotationQueue {
    pub id: String,
    pub project_id: String,
    /// Unique within the project.
    pub name: String,
    pub description: Option<String>,
    /// The score configs reviewers fill in for each item.
    pub score_config_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One object waiting in (or done with) a queue.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnotationQueueItem {
    pub id: String,
    pub project_id: String,
    pub queue_id: String,
    pub object_id: String,
    pub object_type: AnnotationObjectType,
    pub status: AnnotationStatus,
    /// Set when the item became `COMPLETED`, cleared when it went back to `PENDING`.
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What creating a queue did.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueCreated {
    Created(AnnotationQueue),
    /// The project already has a queue with this name.
    NameTaken,
}

/// A user assigned to review a queue. Periscope has no user accounts: the id is the caller's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueAssignment {
    pub project_id: String,
    pub queue_id: String,
    pub user_id: String,
    pub created_at: DateTime<Utc>,
}

/// Storage of annotation queues, their items and assignments. Every method is scoped to one
/// project.
#[async_trait]
pub trait AnnotationStore: Send + Sync + Debug + 'static {
    /// Stores a new queue unless the project has one with the same name.
    async fn create_queue(&self, queue: &AnnotationQueue) -> BackendResult<QueueCreated>;

    /// Returns one queue.
    async fn get_queue(&self, project_id: &str, id: &str)
    -> BackendResult<Option<AnnotationQueue>>;

    /// Returns one page of the project's queues, oldest first.
    async fn list_queues(
        &self,
        project_id: &str,
        page: PageRequest,
    ) -> BackendResult<Page<AnnotationQueue>>;

    /// Stores a new item; when the queue already holds the same object, returns that item
    /// instead, so a retried request adds nothing twice.
    async fn add_item(&self, item: &AnnotationQueueItem) -> BackendResult<AnnotationQueueItem>;

    /// Returns one item of a queue.
    async fn get_item(
        &self,
        project_id: &str,
        queue_id: &str,
        item_id: &str,
    ) -> BackendResult<Option<AnnotationQueueItem>>;

    /// Returns one page of a queue's items (optionally of one status), oldest first.
    async fn list_items(
        &self,
        project_id: &str,
        queue_id: &str,
        status: Option<AnnotationStatus>,
        page: PageRequest,
    ) -> BackendResult<Page<AnnotationQueueItem>>;

    /// Sets an item's status (and `completed_at` accordingly); returns the updated item, or
    /// `None` when it does not exist.
    async fn set_item_status(
        &self,
        project_id: &str,
        queue_id: &str,
        item_id: &str,
        status: AnnotationStatus,
        now: DateTime<Utc>,
    ) -> BackendResult<Option<AnnotationQueueItem>>;

    /// Removes an item; returns whether it existed.
    async fn delete_item(
        &self,
        project_id: &str,
        queue_id: &str,
        item_id: &str,
    ) -> BackendResult<bool>;

    /// Assigns a user to a queue (idempotent).
    async fn assign(&self, assignment: &QueueAssignment) -> BackendResult<()>;

    /// Removes a user's assignment; returns whether it existed.
    async fn unassign(
        &self,
        project_id: &str,
        queue_id: &str,
        user_id: &str,
    ) -> BackendResult<bool>;

    /// Returns the users assigned to a queue, in assignment order.
    async fn list_assignments(
        &self,
        project_id: &str,
        queue_id: &str,
    ) -> BackendResult<Vec<QueueAssignment>>;
}

/// Writes scores the way every other score arrives: through the ingest log, so that the
/// enrich processor and the trace store treat them exactly like `POST /scores`.
#[async_trait]
pub trait ScoreWriter: Send + Sync + Debug + 'static {
    /// Appends `scores` of `project_id` durably; returns once the log accepted them.
    async fn write_scores(&self, project_id: &str, scores: &[ScoreBody]) -> BackendResult<()>;
}

/// Returns the id of the score a reviewer gives `score_name` on a queue item.
///
/// Deterministic, so that completing an item again (a retry, or a corrected value) replaces
/// the score instead of adding a second one.
pub fn annotation_score_id(queue_id: &str, item_id: &str, score_name: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [queue_id, item_id, score_name] {
        // Length prefixes keep ("a/b", "c") and ("a", "b/c") apart.
        hasher.update(part.len().to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(&hasher.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for kind in [
            AnnotationObjectType::Trace,
            AnnotationObjectType::Observation,
            AnnotationObjectType::Session,
        ] {
            assert_eq!(AnnotationObjectType::parse(kind.as_str()), Some(kind));
        }
        for status in [AnnotationStatus::Pending, AnnotationStatus::Completed] {
            assert_eq!(AnnotationStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(AnnotationObjectType::parse("PROMPT"), None);
        assert_eq!(AnnotationStatus::parse("pending"), None);
    }

    #[test]
    fn annotation_score_ids_are_stable_and_distinct() {
        let id = annotation_score_id("q", "i", "accuracy");
        assert_eq!(id, annotation_score_id("q", "i", "accuracy"));
        assert_eq!(id.len(), 32);
        assert_ne!(id, annotation_score_id("q", "i", "tone"));
        assert_ne!(
            annotation_score_id("a/b", "c", "n"),
            annotation_score_id("a", "b/c", "n")
        );
    }
}
