//! Storage backends that the pipeline writes into and the API reads from.
//!
//! - [`sqlite`]: the embedded single-node `TraceStore` and `MetaStore`, each in its own SQLite
//!   database file.
//! - [`TraceStoreSink`]: the pipeline `Sink` that writes record batches into any `TraceStore`.

pub mod sqlite;
mod store_sink;

pub use sqlite::{SqliteMetaStore, SqliteTraceStore};
pub use store_sink::TraceStoreSink;
