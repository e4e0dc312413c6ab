//! The scale-out meta store on Postgres: [`PostgresMetaStore`].
//!
//! It keeps what the embedded `SqliteMetaStore` keeps (projects, hashed API keys and their
//! administration, model definitions, prompts, datasets, score configs, comments, annotation
//! queues, shares, evaluators and their jobs) with the same semantics, checked by the conformance suite in
//! `sinks/tests/meta_store_conformance/` against both stores.
//!
//! Guarantees: every write commits in one transaction, all or nothing. Writes that read before
//! they decide (prompt versions, dataset upserts) take a transaction-scoped advisory lock on
//! their key first, so concurrent writers in any number of processes serialise per key instead
//! of failing on a unique index. Schema migrations are transactional and serialised by an
//! advisory lock ([`migrate`], docs/adr/0010-postgres-migrations.md): a crash mid-migration
//! leaves nothing to repair, and the next start finishes the work.
//!
//! Only runtime-checked queries (`sqlx::query`) are used, so building never needs a database.

mod annotation_store;
mod comment_store;
mod connect;
mod dataset_rows;
mod dataset_store;
mod eval_store;
mod key_admin;
mod meta_store;
pub mod migrate;
mod prompt_store;
mod schema;
mod score_config_store;
mod share_store;

pub use meta_store::PostgresMetaStore;
pub use schema::META_MIGRATIONS;
