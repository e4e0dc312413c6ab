//! The `Cache` trait (API keys, prompts, dedup claims, rate limits) and its in-process
//! implementation for single-node use.

pub mod in_process;

use std::fmt::Debug;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::BackendResult;

/// A key-value cache with expiry.
#[async_trait]
pub trait Cache: Send + Sync + Debug + 'static {
    /// Returns the value under `key` if present and not expired.
    async fn get(&self, key: &str) -> BackendResult<Option<Bytes>>;

    /// Stores `value` under `key` for `ttl`.
    async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> BackendResult<()>;

    /// Stores `value` only if `key` is absent (`SET NX PX`); returns whether it was stored.
    async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Duration) -> BackendResult<bool>;

    /// Replaces the value under `key` only if the key exists (`SET XX PX`), restarting its
    /// `ttl`; returns whether it was stored. Refreshing an entry this way never brings back
    /// one that another process deleted meanwhile (a UI logout racing a session refresh).
    async fn set_if_present(&self, key: &str, value: Bytes, ttl: Duration) -> BackendResult<bool>;

    /// Removes `key`.
    async fn delete(&self, key: &str) -> BackendResult<()>;

    /// Adds one to the counter under `key` (created with `ttl`), returning the new count.
    async fn increment(&self, key: &str, ttl: Duration) -> BackendResult<u64>;
}
