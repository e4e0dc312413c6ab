//! One topic of the embedded log: its segment files, the group-committing appender and the
//! high watermark that wakes consumers.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, oneshot, watch};

use super::segment::{self, parse_segment_file_name, segment_file_name};
use crate::config::{FsyncPolicy, LogConfig};
use crate::error::{BackendError, BackendResult};
use crate::log::LogRecord;

pub(super) const BACKEND: &str = "embedded event log";
/// Appends waiting for the writer; more callers wait on the channel (bounded backpressure).
const APPEND_QUEUE: usize = 1024;
/// One group commit writes at most this many bytes before it fsyncs and replies.
const GROUP_COMMIT_BYTES: usize = 16 * 1024 * 1024;

/// A segment file on disk.
#[derive(Debug, Clone)]
pub(super) struct SegmentMeta {
    pub(super) base_offset: i64,
    pub(super) path: PathBuf,
    pub(super) size: u64,
}

/// The segment list, shared by the writer (appends, rolls, retention) and readers (lookup).
#[derive(Debug, Default)]
pub(super) struct Segments {
    pub(super) list: Vec<SegmentMeta>,
}

impl Segments {
    /// Returns the segment holding `offset`, or the oldest one when `offset` was deleted.
    pub(super) fn find(&self, offset: i64) -> Option<&SegmentMeta> {
        let index = self.list.partition_point(|s| s.base_offset <= offset);
        if index == 0 {
            self.list.first()
        } else {
            self.list.get(index - 1)
        }
    }
}

pub(super) struct AppendRequest {
    records: Vec<LogRecord>,
    reply: oneshot::Sender<BackendResult<()>>,
}

/// Handle to a topic: send appends, watch the high watermark, look up segments.
#[derive(Debug)]
pub(super) struct TopicHandle {
    pub(super) dir: PathBuf,
    pub(super) segments: Arc<Mutex<Segments>>,
    /// Offset of the next record to be written: every offset below it is readable.
    pub(super) watermark: watch::Receiver<i64>,
    sender: mpsc::Sender<AppendRequest>,
}

impl std::fmt::Debug for AppendRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppendRequest")
            .field("records", &self.records.len())
            .finish()
    }
}

pub(super) fn lock(segments: &Mutex<Segments>) -> BackendResult<MutexGuard<'_, Segments>> {
    segments.lock().map_err(|_| BackendError::Unavailable {
        backend: BACKEND,
        message: "segment list lock poisoned by a panicked thread".to_owned(),
    })
}

pub(super) fn io_error(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackendError {
    let context = context.into();
    move |source| BackendError::Io {
        backend: BACKEND,
        context,
        source,
    }
}

impl TopicHandle {
    /// Opens (recovering) or creates the topic directory and starts its writer.
    pub(super) fn open(dir: PathBuf, config: &LogConfig) -> BackendResult<Self> {
        std::fs::create_dir_all(&dir)
            .map_err(io_error(format!("failed to create {}", dir.display())))?;
        let mut list = Vec::new();
        let entries = std::fs::read_dir(&dir).map_err(io_error("failed to list log segments"))?;
        for entry in entries {
            let entry = entry.map_err(io_error("failed to list log segments"))?;
            let name = entry.file_name();
            if let Some(base_offset) = name.to_str().and_then(parse_segment_file_name) {
                let size = entry
                    .metadata()
                    .map_err(io_error("failed to stat a segment"))?
                    .len();
                list.push(SegmentMeta {
                    base_offset,
                    path: entry.path(),
                    size,
                });
            }
        }
        list.sort_by_key(|s| s.base_offset);
        let next_offset = match list.last_mut() {
            Some(last) => {
                let (next, valid_len) = segment::recover(&last.path, last.base_offset).map_err(
                    io_error(format!("failed to recover {}", last.path.display())),
                )?;
                last.size = valid_len;
                next
            }
            None => {
                let path = dir.join(segment_file_name(0));
                File::create(&path).map_err(io_error("failed to create the first segment"))?;
                list.push(SegmentMeta {
                    base_offset: 0,
                    path,
                    size: 0,
                });
                0
            }
        };
        let (watermark_tx, watermark) = watch::channel(next_offset);
        let segments = Arc::new(Mutex::new(Segments { list }));
        let (sender, receiver) = mpsc::channel(APPEND_QUEUE);
        let writer = Writer::open(
            dir.clone(),
            segments.clone(),
            next_offset,
            watermark_tx,
            config,
        )?;
        // The writer does blocking file I/O, so it lives on the blocking pool; it ends when
        // every sender (the handle) is dropped.
        tokio::task::spawn_blocking(move || writer.run(receiver));
        Ok(Self {
            dir,
            segments,
            watermark,
            sender,
        })
    }

    /// Appends `records`, returning once they are written (and fsynced per policy).
    pub(super) async fn append(&self, records: Vec<LogRecord>) -> BackendResult<()> {
        let (reply, done) = oneshot::channel();
        let closed = || BackendError::Unavailable {
            backend: BACKEND,
            message: "the log writer has stopped".to_owned(),
        };
        self.sender
            .send(AppendRequest { records, reply })
            .await
            .map_err(|_| closed())?;
        done.await.map_err(|_| closed())?
    }
}

/// The single writer of a topic: group commit, segment roll and retention.
struct Writer {
    dir: PathBuf,
    segments: Arc<Mutex<Segments>>,
    file: File,
    active_size: u64,
    next_offset: i64,
    watermark: watch::Sender<i64>,
    fsync: FsyncPolicy,
    segment_bytes: u64,
    retention_bytes: u64,
    retention_age: Duration,
}

impl Writer {
    fn open(
        dir: PathBuf,
        segments: Arc<Mutex<Segments>>,
        next_offset: i64,
        watermark: watch::Sender<i64>,
        config: &LogConfig,
    ) -> BackendResult<Self> {
        let (path, active_size) = {
            let guard = lock(&segments)?;
            let last = guard.list.last().ok_or_else(|| BackendError::Invalid {
                backend: BACKEND,
                message: "topic has no segment".to_owned(),
            })?;
            (last.path.clone(), last.size)
        };
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io_error(format!("failed to open {}", path.display())))?;
        Ok(Self {
            dir,
            segments,
            file,
            active_size,
            next_offset,
            watermark,
            fsync: config.fsync,
            segment_bytes: config.segment_bytes,
            retention_bytes: config.retention_bytes,
            retention_age: config.retention_age,
        })
    }

    fn run(mut self, mut receiver: mpsc::Receiver<AppendRequest>) {
        let mut buffer = Vec::with_capacity(1 << 20);
        while let Some(first) = receiver.blocking_recv() {
            let mut group = vec![first];
            let mut group_bytes: usize = group[0].records.iter().map(|r| r.value.len()).sum();
            while group_bytes < GROUP_COMMIT_BYTES {
                match receiver.try_recv() {
                    Ok(next) => {
                        group_bytes += next.records.iter().map(|r| r.value.len()).sum::<usize>();
                        group.push(next);
                    }
                    Err(_) => break,
                }
            }
            let result = self.write_group(&group, &mut buffer);
            for request in group {
                let reply = match &result {
                    Ok(()) => Ok(()),
                    Err(error) => Err(BackendError::Unavailable {
                        backend: BACKEND,
                        message: error.to_string(),
                    }),
                };
                let _ = request.reply.send(reply);
            }
        }
    }

    /// Writes one group with one write and at most one fsync, then publishes the watermark.
    fn write_group(&mut self, group: &[AppendRequest], buffer: &mut Vec<u8>) -> BackendResult<()> {
        buffer.clear();
        let timestamp_ms = now_ms();
        let mut offset = self.next_offset;
        for record in group.iter().flat_map(|r| &r.records) {
            segment::encode(buffer, offset, timestamp_ms, &record.key, &record.value);
            offset += 1;
        }
        let written = self.file.write_all(buffer).and_then(|()| match self.fsync {
            FsyncPolicy::Always => self.file.sync_data(),
            FsyncPolicy::Never => Ok(()),
        });
        if let Err(error) = written {
            // A partial write is cut off so the next append starts on a record boundary.
            let _ = self.file.set_len(self.active_size);
            return Err(io_error("failed to append to the event log")(error));
        }
        self.active_size += buffer.len() as u64;
        self.next_offset = offset;
        {
            let mut guard = lock(&self.segments)?;
            if let Some(last) = guard.list.last_mut() {
                last.size = self.active_size;
            }
        }
        self.watermark.send_replace(offset);
        if self.active_size >= self.segment_bytes {
            self.roll()?;
        }
        Ok(())
    }

    /// Starts a new segment and applies retention to the closed ones.
    fn roll(&mut self) -> BackendResult<()> {
        let path = self.dir.join(segment_file_name(self.next_offset));
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_error(format!("failed to create {}", path.display())))?;
        self.active_size = 0;
        let mut guard = lock(&self.segments)?;
        guard.list.push(SegmentMeta {
            base_offset: self.next_offset,
            path,
            size: 0,
        });
        apply_retention(&mut guard, self.retention_bytes, self.retention_age);
        Ok(())
    }
}

/// Deletes the oldest closed segments while the topic is over its size budget or they are
/// older than the retention age. The active (last) segment is never deleted.
fn apply_retention(segments: &mut Segments, retention_bytes: u64, retention_age: Duration) {
    let now = SystemTime::now();
    loop {
        if segments.list.len() < 2 {
            return;
        }
        let total: u64 = segments.list.iter().map(|s| s.size).sum();
        let oldest = &segments.list[0];
        let too_old = modified_age(&oldest.path, now).is_some_and(|age| age > retention_age);
        if total <= retention_bytes && !too_old {
            return;
        }
        if let Err(error) = std::fs::remove_file(&oldest.path) {
            tracing::warn!(%error, path = %oldest.path.display(), "failed to delete an expired segment");
            return;
        }
        tracing::info!(path = %oldest.path.display(), "deleted an event-log segment past retention");
        segments.list.remove(0);
    }
}

fn modified_age(path: &Path, now: SystemTime) -> Option<Duration> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    now.duration_since(modified).ok()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
