//! The embedded event log: append-only segment files in the data directory, one partition per
//! topic, consumer groups with committed offsets, survives restarts.
//!
//! Durability: an append is acknowledged only after its bytes are written and, with
//! `fsync = "always"`, fsynced. Concurrent appends are group-committed: one write and one
//! fsync per group, never per event. A torn tail left by a crash is truncated on open.

mod consumer;
mod segment;
mod topic;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

pub use consumer::EmbeddedConsumer;
use consumer::{offset_file, read_committed};
use topic::{BACKEND, TopicHandle, io_error};

use crate::config::LogConfig;
use crate::error::{BackendError, BackendResult};
use crate::log::{EventLog, LogConsumer, LogRecord};

/// The segment-file event log of a single-node Periscope.
#[derive(Debug)]
pub struct EmbeddedLog {
    root: PathBuf,
    config: LogConfig,
    topics: Mutex<HashMap<String, Arc<TopicHandle>>>,
    /// Held for the life of the log: a second process on the same directory would corrupt it.
    _lock: File,
}

impl EmbeddedLog {
    /// Opens (or creates) the log under `dir`, taking an exclusive lock on it.
    pub fn open(dir: &Path, config: &LogConfig) -> BackendResult<Self> {
        std::fs::create_dir_all(dir)
            .map_err(io_error(format!("failed to create {}", dir.display())))?;
        let lock_path = dir.join("LOCK");
        let lock =
            File::create(&lock_path).map_err(io_error("failed to create the log lock file"))?;
        if lock.try_lock().is_err() {
            return Err(BackendError::Invalid {
                backend: BACKEND,
                message: format!(
                    "{} is in use by another periscope process; stop it or choose another --data-dir",
                    dir.display()
                ),
            });
        }
        Ok(Self {
            root: dir.to_path_buf(),
            config: config.clone(),
            topics: Mutex::new(HashMap::new()),
            _lock: lock,
        })
    }

    fn topic(&self, name: &str) -> BackendResult<Arc<TopicHandle>> {
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !valid {
            return Err(BackendError::Invalid {
                backend: BACKEND,
                message: format!(
                    "topic name {name:?} may only hold letters, digits, '.', '-' and '_'"
                ),
            });
        }
        let mut topics = self.topics.lock().map_err(|_| BackendError::Unavailable {
            backend: BACKEND,
            message: "topic map lock poisoned".to_owned(),
        })?;
        if let Some(handle) = topics.get(name) {
            return Ok(handle.clone());
        }
        let handle = Arc::new(TopicHandle::open(self.root.join(name), &self.config)?);
        topics.insert(name.to_owned(), handle.clone());
        Ok(handle)
    }
}

#[async_trait]
impl EventLog for EmbeddedLog {
    async fn ensure_topic(&self, topic: &str) -> BackendResult<()> {
        self.topic(topic).map(|_| ())
    }

    async fn append(&self, topic: &str, records: Vec<LogRecord>) -> BackendResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        self.topic(topic)?.append(records).await
    }

    async fn subscribe(&self, topic: &str, group: &str) -> BackendResult<Box<dyn LogConsumer>> {
        let handle = self.topic(topic)?;
        Ok(Box::new(EmbeddedConsumer::new(
            topic.to_owned(),
            handle,
            group,
        )?))
    }

    async fn lag(&self, topic: &str, group: &str) -> BackendResult<u64> {
        let handle = self.topic(topic)?;
        let committed = read_committed(&offset_file(&handle, group))?;
        let high = *handle.watermark.borrow();
        Ok(high.saturating_sub(committed).max(0) as u64)
    }
}

#[cfg(test)]
mod tests;
