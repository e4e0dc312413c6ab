#![expect(
    clippy::disallowed_methods,
    reason = "tests spawn concurrent tasks directly"
)]

//! Runner tests over the real embedded log: outputs are produced before the commit, poison
//! records go to the DLQ without losing neighbours, transient failures are retried, and an
//! uncommitted batch is re-read after a restart.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::Utc;

use super::*;
use crate::config::{FsyncPolicy, LogConfig};
use crate::log::embedded::EmbeddedLog;
use crate::log::{ConsumedRecord, EventLog, LogRecord};
use crate::model::{Record, TraceRecord};
use tokio_util::sync::CancellationToken;

fn open_log(dir: &std::path::Path) -> Arc<dyn EventLog> {
    let config = LogConfig {
        fsync: FsyncPolicy::Never,
        segment_bytes: 1 << 20,
        retention_bytes: u64::MAX,
        retention_age: Duration::from_secs(3600),
    };
    Arc::new(EmbeddedLog::open(dir, &config).unwrap())
}

fn runner_config(group: &str) -> RunnerConfig {
    RunnerConfig {
        group: group.to_owned(),
        batch_max_records: 100,
        batch_max_wait: Duration::from_millis(20),
        max_backoff: Duration::from_millis(50),
    }
}

/// Upper-cases values; `poison` is unprocessable; fails transiently `flaky` times first.
struct Upper {
    flaky: Mutex<u32>,
}

#[async_trait]
impl Processor for Upper {
    fn name(&self) -> &'static str {
        "upper"
    }

    async fn process(&self, record: &ConsumedRecord) -> Result<Vec<LogRecord>, StageError> {
        {
            let mut flaky = self.flaky.lock().unwrap();
            if *flaky > 0 {
                *flaky -= 1;
                return Err(StageError::Transient(
                    crate::error::BackendError::Unavailable {
                        backend: "test",
                        message: "flaky".into(),
                    },
                ));
            }
        }
        if &record.value[..] == b"poison" {
            return Err(StageError::Poison("cannot process poison".into()));
        }
        let upper = String::from_utf8_lossy(&record.value).to_uppercase();
        Ok(vec![LogRecord {
            key: record.key.clone(),
            value: Bytes::from(upper),
        }])
    }
}

async fn read_all(log: &Arc<dyn EventLog>, topic: &str, n: usize) -> Vec<ConsumedRecord> {
    let mut consumer = log.subscribe(topic, "reader").await.unwrap();
    let mut all = Vec::new();
    while all.len() < n {
        let batch = consumer.poll(1000, Duration::from_secs(5)).await.unwrap();
        assert!(!batch.is_empty(), "topic {topic} has {} of {n}", all.len());
        all.extend(batch);
    }
    all
}

fn value(text: &str) -> LogRecord {
    LogRecord {
        key: Bytes::from_static(b"k"),
        value: Bytes::from(text.to_owned()),
    }
}

#[tokio::test]
async fn processor_outputs_everything_and_dead_letters_poison_without_losing_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    log.append("in", vec![value("a"), value("poison"), value("b")])
        .await
        .unwrap();
    let stats = Arc::new(PipelineStats::default());
    let cancel = CancellationToken::new();
    let runner = tokio::spawn({
        let (log, stats, cancel) = (log.clone(), stats.clone(), cancel.clone());
        async move {
            let upper = Upper {
                flaky: Mutex::new(2),
            };
            run_processor(log, upper, "in", "out", runner_config("g"), stats, cancel).await
        }
    });
    let out = read_all(&log, "out", 2).await;
    assert_eq!(
        out.iter().map(|r| r.value.clone()).collect::<Vec<_>>(),
        vec!["A", "B"]
    );
    let dlq = read_all(&log, "in.dlq", 1).await;
    let dead: serde_json::Value = serde_json::from_slice(&dlq[0].value).unwrap();
    assert_eq!(dead["offset"], 1);
    assert_eq!(dead["error"], "cannot process poison");
    while stats.committed_offset.load(Ordering::Relaxed) < 3 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(stats.transient_errors_total.load(Ordering::Relaxed), 2);
    assert_eq!(stats.dead_lettered_total.load(Ordering::Relaxed), 1);
    assert_eq!(log.lag("in", "g").await.unwrap(), 0);
    cancel.cancel();
    runner.await.unwrap().unwrap();
}

/// Records every write; fails transiently while `down` is set.
struct RecordingSink {
    written: Arc<Mutex<Vec<Record>>>,
    down: Arc<std::sync::atomic::AtomicBool>,
}

#[async_trait]
impl Sink for RecordingSink {
    fn name(&self) -> &'static str {
        "recording"
    }

    async fn healthcheck(&self) -> Result<(), StageError> {
        Ok(())
    }

    async fn write(&mut self, records: Vec<Record>) -> Result<WriteSummary, StageError> {
        if self.down.load(Ordering::Relaxed) {
            return Err(StageError::Transient(
                crate::error::BackendError::Unavailable {
                    backend: "test",
                    message: "store down".into(),
                },
            ));
        }
        let n = records.len() as u64;
        self.written.lock().unwrap().extend(records);
        Ok(WriteSummary {
            traces: n,
            ..Default::default()
        })
    }
}

fn trace_record(id: &str) -> LogRecord {
    let record = Record::Trace(TraceRecord {
        project_id: "p".into(),
        id: id.into(),
        event_time: Utc::now(),
        ..Default::default()
    });
    LogRecord {
        key: Bytes::from_static(b"p/t"),
        value: Bytes::from(serde_json::to_vec(&record).unwrap()),
    }
}

#[tokio::test]
async fn sink_commits_only_after_the_store_accepted_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    log.append(
        "records",
        vec![trace_record("t1"), value("not json"), trace_record("t2")],
    )
    .await
    .unwrap();
    let written = Arc::new(Mutex::new(Vec::new()));
    let down = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let stats = Arc::new(PipelineStats::default());
    let cancel = CancellationToken::new();
    let sink = RecordingSink {
        written: written.clone(),
        down: down.clone(),
    };
    let runner = tokio::spawn({
        let (log, stats, cancel) = (log.clone(), stats.clone(), cancel.clone());
        async move { run_sink(log, sink, "records", runner_config("sink"), stats, cancel).await }
    });
    // While the store is down nothing is committed, however long it lasts.
    while stats.transient_errors_total.load(Ordering::Relaxed) < 3 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(log.lag("records", "sink").await.unwrap(), 3);
    assert!(written.lock().unwrap().is_empty());
    down.store(false, Ordering::Relaxed);
    while stats.committed_offset.load(Ordering::Relaxed) < 3 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(written.lock().unwrap().len(), 2);
    assert_eq!(stats.dead_lettered_total.load(Ordering::Relaxed), 1);
    cancel.cancel();
    runner.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_batch_interrupted_by_shutdown_is_read_again_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    log.append("records", vec![trace_record("t1")])
        .await
        .unwrap();
    let down = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let stats = Arc::new(PipelineStats::default());
    let cancel = CancellationToken::new();
    let sink = RecordingSink {
        written: Arc::new(Mutex::new(Vec::new())),
        down: down.clone(),
    };
    let runner = tokio::spawn({
        let (log, stats, cancel) = (log.clone(), stats.clone(), cancel.clone());
        async move { run_sink(log, sink, "records", runner_config("sink"), stats, cancel).await }
    });
    while stats.transient_errors_total.load(Ordering::Relaxed) < 1 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cancel.cancel();
    runner.await.unwrap().unwrap();
    assert_eq!(log.lag("records", "sink").await.unwrap(), 1);

    let written = Arc::new(Mutex::new(Vec::new()));
    down.store(false, Ordering::Relaxed);
    let stats = Arc::new(PipelineStats::default());
    let cancel = CancellationToken::new();
    let sink = RecordingSink {
        written: written.clone(),
        down,
    };
    let runner = tokio::spawn({
        let (log, stats, cancel) = (log.clone(), stats.clone(), cancel.clone());
        async move { run_sink(log, sink, "records", runner_config("sink"), stats, cancel).await }
    });
    while stats.committed_offset.load(Ordering::Relaxed) < 1 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(written.lock().unwrap().len(), 1);
    cancel.cancel();
    runner.await.unwrap().unwrap();
}
