//! Tests of the SQLite trace and meta stores, on real database files in temporary directories.

mod common;
mod meta;
mod metrics;
mod migrations;
mod observations;
mod scores;
mod sessions;
mod sink;
mod traces;
mod write;
