//! Consumer-group members of the embedded log. Committed offsets live in one small file per
//! group and topic, replaced atomically (write temp, fsync, rename).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::segment::SegmentReader;
use super::topic::{BACKEND, TopicHandle, io_error, lock};
use crate::error::{BackendError, BackendResult};
use crate::log::{ConsumedRecord, LogConsumer};

/// Upper bound on bytes returned by one poll, so a batch never balloons memory.
const MAX_POLL_BYTES: usize = 8 * 1024 * 1024;

/// Returns the file holding `group`'s committed offset.
pub(super) fn offset_file(topic: &TopicHandle, group: &str) -> PathBuf {
    topic.dir.join("groups").join(format!("{group}.offset"))
}

/// Reads a committed offset (0 when the group never committed).
pub(super) fn read_committed(path: &PathBuf) -> BackendResult<i64> {
    match std::fs::read_to_string(path) {
        Ok(text) => text.trim().parse().map_err(|_| BackendError::Invalid {
            backend: BACKEND,
            message: format!("offset file {} is corrupt", path.display()),
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(error) => Err(io_error(format!("failed to read {}", path.display()))(
            error,
        )),
    }
}

fn write_committed(path: &PathBuf, offset: i64) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let temp = path.with_extension("offset.tmp");
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(offset.to_string().as_bytes())?;
    file.sync_data()?;
    std::fs::rename(&temp, path)
}

/// One member of a consumer group (the embedded log has one partition per topic, so a group
/// has one active member).
#[derive(Debug)]
pub struct EmbeddedConsumer {
    topic_name: String,
    topic: Arc<TopicHandle>,
    offset_path: PathBuf,
    /// Next offset to return.
    position: i64,
    committed: i64,
    reader: Option<SegmentReader>,
}

impl EmbeddedConsumer {
    pub(super) fn new(
        topic_name: String,
        topic: Arc<TopicHandle>,
        group: &str,
    ) -> BackendResult<Self> {
        let offset_path = offset_file(&topic, group);
        let committed = read_committed(&offset_path)?;
        Ok(Self {
            topic_name,
            topic,
            offset_path,
            position: committed,
            committed,
            reader: None,
        })
    }

    /// Reads up to `max_records` records below `watermark` (blocking file I/O).
    fn read_blocking(
        mut self,
        max_records: usize,
        watermark: i64,
    ) -> (Self, BackendResult<Vec<ConsumedRecord>>) {
        let mut records = Vec::new();
        let mut bytes = 0usize;
        while records.len() < max_records && self.position < watermark && bytes < MAX_POLL_BYTES {
            let next = match self.next_record() {
                Ok(next) => next,
                Err(error) => return (self, Err(error)),
            };
            let Some(record) = next else { break };
            bytes += record.value.len();
            self.position = record.offset + 1;
            records.push(ConsumedRecord {
                topic: self.topic_name.clone(),
                partition: 0,
                offset: record.offset,
                timestamp_ms: record.timestamp_ms,
                key: record.key,
                value: record.value,
            });
        }
        (self, Ok(records))
    }

    fn next_record(&mut self) -> BackendResult<Option<super::segment::StoredRecord>> {
        loop {
            if self.reader.is_none() {
                let segment = {
                    let segments = lock(&self.topic.segments)?;
                    segments.find(self.position).cloned()
                };
                let Some(segment) = segment else {
                    return Ok(None);
                };
                if segment.base_offset > self.position {
                    tracing::warn!(
                        topic = %self.topic_name,
                        from = self.position,
                        to = segment.base_offset,
                        "records were deleted by retention before this group read them"
                    );
                    self.position = segment.base_offset;
                }
                let reader =
                    SegmentReader::open_at(&segment.path, segment.base_offset, self.position)
                        .map_err(io_error(format!(
                            "failed to open {}",
                            segment.path.display()
                        )))?;
                self.reader = Some(reader);
            }
            let Some(reader) = self.reader.as_mut() else {
                return Ok(None);
            };
            match reader
                .next()
                .map_err(io_error("failed to read the event log"))?
            {
                Some(record) if record.offset >= self.position => return Ok(Some(record)),
                Some(_) => continue,
                None => {
                    // End of this segment: move on if a newer segment holds our position.
                    let has_newer = {
                        let segments = lock(&self.topic.segments)?;
                        segments.find(self.position).map(|s| s.base_offset)
                            != Some(reader.base_offset)
                    };
                    if !has_newer {
                        // The record is not flushed into this reader's buffer yet; reopen later.
                        self.reader = None;
                        return Ok(None);
                    }
                    self.reader = None;
                }
            }
        }
    }
}

#[async_trait]
impl LogConsumer for EmbeddedConsumer {
    async fn poll(
        &mut self,
        max_records: usize,
        max_wait: Duration,
    ) -> BackendResult<Vec<ConsumedRecord>> {
        let mut watermark = self.topic.watermark.clone();
        if *watermark.borrow() <= self.position {
            let changed =
                tokio::time::timeout(max_wait, watermark.wait_for(|w| *w > self.position));
            if changed.await.is_err() {
                return Ok(Vec::new());
            }
        }
        let high = *watermark.borrow();
        // Move the consumer state into the blocking pool and back: file reads must not stall
        // the async workers.
        let placeholder = Self {
            topic_name: String::new(),
            topic: self.topic.clone(),
            offset_path: PathBuf::new(),
            position: self.position,
            committed: self.committed,
            reader: None,
        };
        let state = std::mem::replace(self, placeholder);
        let (state, result) =
            tokio::task::spawn_blocking(move || state.read_blocking(max_records, high))
                .await
                .map_err(|error| BackendError::Other {
                    backend: BACKEND,
                    context: "blocking read task failed".to_owned(),
                    source: Box::new(error),
                })?;
        *self = state;
        result
    }

    async fn commit(&mut self, _partition: i32, offset: i64) -> BackendResult<()> {
        let next = offset + 1;
        if next <= self.committed {
            return Ok(());
        }
        let path = self.offset_path.clone();
        tokio::task::spawn_blocking(move || write_committed(&path, next))
            .await
            .map_err(|error| BackendError::Other {
                backend: BACKEND,
                context: "blocking commit task failed".to_owned(),
                source: Box::new(error),
            })?
            .map_err(io_error("failed to commit a consumer offset"))?;
        self.committed = next;
        Ok(())
    }

    async fn rewind(&mut self) -> BackendResult<()> {
        self.position = self.committed;
        self.reader = None;
        Ok(())
    }
}
