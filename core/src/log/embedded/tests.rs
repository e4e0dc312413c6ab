#![expect(
    clippy::disallowed_methods,
    reason = "tests spawn concurrent tasks directly"
)]

use std::time::Duration;

use bytes::Bytes;

use super::*;
use crate::config::FsyncPolicy;
use crate::log::ConsumedRecord;

fn config(segment_bytes: u64) -> LogConfig {
    LogConfig {
        fsync: FsyncPolicy::Always,
        segment_bytes,
        retention_bytes: u64::MAX,
        retention_age: Duration::from_secs(3600),
    }
}

fn record(i: usize) -> LogRecord {
    LogRecord {
        key: Bytes::from(format!("k{i}")),
        value: Bytes::from(format!("value-{i}")),
    }
}

async fn drain(consumer: &mut Box<dyn LogConsumer>, expected: usize) -> Vec<ConsumedRecord> {
    let mut all = Vec::new();
    while all.len() < expected {
        let batch = consumer.poll(1000, Duration::from_secs(2)).await.unwrap();
        assert!(
            !batch.is_empty(),
            "log returned nothing after {} of {expected}",
            all.len()
        );
        all.extend(batch);
    }
    all
}

#[tokio::test]
async fn appended_records_are_read_in_order_across_segments_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = EmbeddedLog::open(dir.path(), &config(200)).unwrap();
        for chunk in 0..10 {
            let records = (chunk * 10..chunk * 10 + 10).map(record).collect();
            log.append("t", records).await.unwrap();
        }
        let mut consumer = log.subscribe("t", "g").await.unwrap();
        let first = drain(&mut consumer, 40).await;
        assert_eq!(first[0].value, Bytes::from("value-0"));
        consumer.commit(0, first[39].offset).await.unwrap();
        assert_eq!(log.lag("t", "g").await.unwrap(), 60);
    }
    let segments = std::fs::read_dir(dir.path().join("t")).unwrap().count();
    assert!(segments > 3, "expected several segments, found {segments}");
    let log = EmbeddedLog::open(dir.path(), &config(200)).unwrap();
    let mut consumer = log.subscribe("t", "g").await.unwrap();
    let rest = drain(&mut consumer, 60).await;
    let offsets: Vec<i64> = rest.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, (40..100).collect::<Vec<i64>>());
    assert_eq!(rest[59].value, Bytes::from("value-99"));
    log.append("t", vec![record(100)]).await.unwrap();
    let next = drain(&mut consumer, 1).await;
    assert_eq!(next[0].offset, 100);
}

#[tokio::test]
async fn a_torn_tail_is_truncated_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = EmbeddedLog::open(dir.path(), &config(1 << 20)).unwrap();
        log.append("t", (0..5).map(record).collect()).await.unwrap();
    }
    let segment = dir.path().join("t").join("00000000000000000000.log");
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes.extend_from_slice(&[42, 0, 0, 0, 1, 2]);
    std::fs::write(&segment, bytes).unwrap();
    let log = EmbeddedLog::open(dir.path(), &config(1 << 20)).unwrap();
    log.append("t", vec![record(5)]).await.unwrap();
    let mut consumer = log.subscribe("t", "g").await.unwrap();
    let all = drain(&mut consumer, 6).await;
    assert_eq!(all[5].value, Bytes::from("value-5"));
    assert_eq!(all[5].offset, 5);
}

#[tokio::test]
async fn rewind_returns_to_the_last_commit_and_groups_are_independent() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(dir.path(), &config(1 << 20)).unwrap();
    log.append("t", (0..4).map(record).collect()).await.unwrap();
    let mut a = log.subscribe("t", "a").await.unwrap();
    let batch = drain(&mut a, 4).await;
    a.commit(0, batch[1].offset).await.unwrap();
    a.rewind().await.unwrap();
    let again = drain(&mut a, 2).await;
    assert_eq!(again[0].offset, 2);
    let mut b = log.subscribe("t", "b").await.unwrap();
    assert_eq!(drain(&mut b, 4).await[0].offset, 0);
}

#[tokio::test]
async fn concurrent_appends_are_all_durable_and_poll_wakes_on_append() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(EmbeddedLog::open(dir.path(), &config(1 << 20)).unwrap());
    let mut consumer = log.subscribe("t", "g").await.unwrap();
    let empty = consumer.poll(10, Duration::from_millis(20)).await.unwrap();
    assert!(empty.is_empty());
    let mut tasks = Vec::new();
    for task in 0..8 {
        let log = log.clone();
        tasks.push(tokio::task::spawn(async move {
            for i in 0..25 {
                log.append("t", vec![record(task * 100 + i)]).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let all = drain(&mut consumer, 200).await;
    let mut values: Vec<_> = all.iter().map(|r| r.value.clone()).collect();
    values.sort();
    values.dedup();
    assert_eq!(values.len(), 200);
}

#[tokio::test]
async fn a_second_process_cannot_open_the_same_directory() {
    let dir = tempfile::tempdir().unwrap();
    let _first = EmbeddedLog::open(dir.path(), &config(1 << 20)).unwrap();
    let error = EmbeddedLog::open(dir.path(), &config(1 << 20)).unwrap_err();
    assert!(error.to_string().contains("in use"), "{error}");
}

#[tokio::test]
async fn retention_deletes_the_oldest_segments_and_readers_skip_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(100);
    cfg.retention_bytes = 300;
    let log = EmbeddedLog::open(dir.path(), &cfg).unwrap();
    for i in 0..50 {
        log.append("t", vec![record(i)]).await.unwrap();
    }
    let mut consumer = log.subscribe("t", "late").await.unwrap();
    let batch = consumer.poll(1000, Duration::from_secs(1)).await.unwrap();
    assert!(batch[0].offset > 0, "oldest records should be gone");
    assert_eq!(batch.last().unwrap().offset, 49);
}
