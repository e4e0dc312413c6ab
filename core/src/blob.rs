//! The `BlobStore` trait (raw archive, large payloads, exports) and its filesystem
//! implementation for single-node use.

pub mod filesystem;

use std::fmt::Debug;

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::BackendResult;

/// An object store with conditional create.
#[async_trait]
pub trait BlobStore: Send + Sync + Debug + 'static {
    /// Stores `body` under `key` unless the key exists. Returns `false` when it existed (a
    /// retry of the same deterministic key then writes nothing twice).
    async fn put_if_absent(&self, key: &str, body: Bytes) -> BackendResult<bool>;

    /// Returns the object, or `None`.
    async fn get(&self, key: &str) -> BackendResult<Option<Bytes>>;

    /// Lists keys starting with `prefix`, sorted.
    async fn list(&self, prefix: &str) -> BackendResult<Vec<String>>;

    /// Deletes the object if present.
    async fn delete(&self, key: &str) -> BackendResult<()>;
}
