//! Tests of the SQLite trace and meta stores, on real database files in temporary directories.
//!
//! Every module is `cfg(test)` so that its fixtures count as test code (they may unwrap).

#[cfg(test)]
mod annotation;
#[cfg(test)]
mod common;
#[cfg(test)]
mod concurrency;
#[cfg(test)]
mod datasets;
#[cfg(test)]
mod experiments;
#[cfg(test)]
mod key_admin;
#[cfg(test)]
mod meta;
#[cfg(test)]
mod metrics;
#[cfg(test)]
mod migrations;
#[cfg(test)]
mod observations;
#[cfg(test)]
mod prompts;
#[cfg(test)]
mod score_configs;
#[cfg(test)]
mod score_deletion;
#[cfg(test)]
mod scores;
#[cfg(test)]
mod sessions;
#[cfg(test)]
mod sharing;
#[cfg(test)]
mod sink;
#[cfg(test)]
mod traces;
#[cfg(test)]
mod write;
