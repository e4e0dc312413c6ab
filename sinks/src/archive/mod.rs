//! The raw event archive: every event of the ingest topic (`periscope.ingest.v1`), kept as sent,
//! in large gzip objects in a `BlobStore`, so that a mapping or price fix can be replayed over
//! history (`read_archive` feeds `periscope replay`).
//!
//! Layout: `archive/<project>/<yyyy-mm-dd>/<partition>/<first_offset>-<last_offset>.pb.gz`,
//! where the day is the event's `received_at` (UTC) and the offsets are the first and last log
//! offsets of the events in the object ([`key`]). An object holds the events of one project,
//! day and partition from one batch, framed one by one ([`format`]).
//!
//! Delivery guarantee: effectively-once. [`run_archiver`] is its own consumer group on the
//! ingest topic (the pipeline `Sink` trait takes decoded records of the records topic, not raw
//! events): it gathers a large batch, writes its objects with `put_if_absent` under
//! deterministic keys, and commits the offsets only after every object is durable. A retried
//! batch writes nothing twice; a batch re-read after a crash with different boundaries may
//! overlap an earlier object, and the reader drops those duplicates by offset, so every event
//! is read back exactly once.

mod archiver;
pub mod format;
pub mod key;
mod reader;
mod writer;

pub use archiver::{ArchiverConfig, run_archiver};
pub use reader::read_archive;
pub use writer::{ArchiveWriteSummary, ArchiveWriter};
