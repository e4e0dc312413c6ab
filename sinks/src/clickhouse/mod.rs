//! The ClickHouse backend: [`ClickHouseTraceStore`], the scale-out `TraceStore` (and its
//! `ExperimentIndex`).
//!
//! Schema: numbered, idempotent migrations (`schema.rs`) of `ReplacingMergeTree` tables keyed
//! by `(project_id, day, id)` and partitioned by month; docs/adr/0009 explains the choices.
//!
//! Delivery guarantee of writes: a batch is merged into the stored rows with the core merge
//! rules and inserted as new row versions, one `INSERT` per table. A batch is not atomic
//! across tables, but it is idempotent: the pipeline retries a failed batch and replays
//! converge, because merging is idempotent and a row that merges to what is stored is not
//! written again. Every read picks the newest version of each row itself, so results never
//! wait for background merges.
//!
//! Every query binds its values as server-side parameters (`{p0:String}`).

mod connect;
mod experiments;
mod migrate;
mod read;
mod rows;
mod schema;
mod score_rows;
mod sql;
mod store;
mod write;

pub use store::ClickHouseTraceStore;
