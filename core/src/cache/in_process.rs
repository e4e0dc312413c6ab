//! An in-process `Cache` for single-node deployments.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;

use super::Cache;
use crate::error::{BackendError, BackendResult};

/// Entries are swept when the map grows past this many, so memory stays bounded by live keys.
const SWEEP_THRESHOLD: usize = 100_000;

/// A mutex-protected map with per-entry expiry. Operations are O(1) and never await while
/// holding the lock.
#[derive(Debug, Default)]
pub struct InProcessCache {
    entries: Mutex<HashMap<String, (Bytes, Instant)>>,
}

impl InProcessCache {
    /// Returns an empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> BackendResult<std::sync::MutexGuard<'_, HashMap<String, (Bytes, Instant)>>> {
        self.entries.lock().map_err(|_| BackendError::Unavailable {
            backend: "in-process cache",
            message: "lock poisoned by a panicked thread".to_owned(),
        })
    }
}

fn sweep(entries: &mut HashMap<String, (Bytes, Instant)>, now: Instant) {
    if entries.len() > SWEEP_THRESHOLD {
        entries.retain(|_, (_, expires)| *expires > now);
    }
}

#[async_trait]
impl Cache for InProcessCache {
    async fn get(&self, key: &str) -> BackendResult<Option<Bytes>> {
        let now = Instant::now();
        let entries = self.lock()?;
        Ok(entries
            .get(key)
            .filter(|(_, expires)| *expires > now)
            .map(|(v, _)| v.clone()))
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> BackendResult<()> {
        let now = Instant::now();
        let mut entries = self.lock()?;
        sweep(&mut entries, now);
        entries.insert(key.to_owned(), (value, now + ttl));
        Ok(())
    }

    async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Duration) -> BackendResult<bool> {
        let now = Instant::now();
        let mut entries = self.lock()?;
        if entries.get(key).is_some_and(|(_, expires)| *expires > now) {
            return Ok(false);
        }
        sweep(&mut entries, now);
        entries.insert(key.to_owned(), (value, now + ttl));
        Ok(true)
    }

    async fn set_if_present(&self, key: &str, value: Bytes, ttl: Duration) -> BackendResult<bool> {
        let now = Instant::now();
        let mut entries = self.lock()?;
        match entries.get_mut(key) {
            Some(entry) if entry.1 > now => {
                *entry = (value, now + ttl);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete(&self, key: &str) -> BackendResult<()> {
        self.lock()?.remove(key);
        Ok(())
    }

    async fn increment(&self, key: &str, ttl: Duration) -> BackendResult<u64> {
        let now = Instant::now();
        let mut entries = self.lock()?;
        let current = entries
            .get(key)
            .filter(|(_, expires)| *expires > now)
            .map(|(value, expires)| (parse_count(value), *expires));
        let (count, expires) = match current {
            Some((count, expires)) => (count + 1, expires),
            None => (1, now + ttl),
        };
        entries.insert(key.to_owned(), (Bytes::from(count.to_string()), expires));
        Ok(count)
    }
}

fn parse_count(value: &Bytes) -> u64 {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
