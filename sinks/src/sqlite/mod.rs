//! The embedded SQLite backends: [`SqliteTraceStore`] and [`SqliteMetaStore`].
//!
//! Each store lives in its own database file chosen by the caller (conventionally `traces.db`
//! and `meta.db` in the data directory), in WAL mode, with numbered migrations applied on open.
//!
//! Delivery guarantee of trace writes: a batch commits in one transaction, all or nothing, and
//! merges idempotently into the stored rows, so a retried or replayed batch changes nothing
//! twice. The trace database runs with `synchronous=NORMAL`: a power loss may roll back the last
//! committed batches, which is safe because the event log stays the source of truth and the
//! pipeline replays those batches idempotently. The meta database holds data that exists nowhere
//! else (projects, keys, model prices) and runs with `synchronous=FULL`.
//!
//! Only runtime-checked queries (`sqlx::query`) are used, so building never needs a database.

mod annotation_store;
mod columns;
mod comment_store;
mod connect;
mod dataset_rows;
mod dataset_store;
mod eval_store;
mod experiment_index;
mod filters;
mod key_admin;
mod meta_store;
mod migrate;
mod prompt_store;
mod read;
mod schema;
mod score_config_store;
mod share_store;
mod trace_store;
mod write;

pub use meta_store::SqliteMetaStore;
pub use trace_store::SqliteTraceStore;
