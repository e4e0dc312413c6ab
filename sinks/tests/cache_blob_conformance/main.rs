//! One conformance suite per backend trait, run against both implementations: the `Cache`
//! scenarios against the in-process cache and Redis, the `BlobStore` scenarios against the
//! filesystem store and S3, and the raw event archive on both blob stores.
//!
//! Needs the real services: `eval "$(deploy/dev-services.sh start)"`. Every test isolates itself
//! (random Redis key prefix, random S3 key prefix / archive project), so tests run in parallel
//! and repeatedly. Every module is `cfg(test)` so that its fixtures count as test code (they may
//! unwrap).

#[cfg(test)]
mod archive;
#[cfg(test)]
mod blob;
#[cfg(test)]
mod cache;
#[cfg(test)]
mod common;
#[cfg(test)]
mod redis_only;
