//! The same scenarios against every `EventLog`: the embedded segment-file log (temp dir) and,
//! with the `kafka` feature, Kafka (a real Kafka-protocol broker at `PERISCOPE__KAFKA__BROKERS`,
//! random topic and group names per test).
//!
//! Run: `eval "$(deploy/dev-services.sh start)"` then
//! `cargo test -p periscope-core --features kafka --test event_log_conformance`.
// The whole file is test code, so its fixtures may unwrap.
#![cfg(test)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use periscope_core::config::{FsyncPolicy, LogConfig};
use periscope_core::log::embedded::EmbeddedLog;
use periscope_core::log::{ConsumedRecord, EventLog, LogConsumer, LogRecord};
use periscope_core::topics;

/// Long enough for a first group join on Tansu (about half the session timeout) and a
/// cooperative rebalance (up to ~18 s there).
const DRAIN_DEADLINE: Duration = Duration::from_secs(60);

/// One log under test, with what it needs to stay alive.
struct Backend {
    log: Arc<dyn EventLog>,
    /// Makes topic and group names unique to this test run.
    suffix: String,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    fn topic(&self, name: &str) -> String {
        format!("conformance.{name}.{}", self.suffix)
    }

    fn group(&self, name: &str) -> String {
        format!("{name}-{}", self.suffix)
    }
}

fn unique_suffix() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

fn embedded() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        fsync: FsyncPolicy::Never,
        segment_bytes: 8 << 20,
        retention_bytes: u64::MAX,
        retention_age: Duration::from_secs(3600),
    };
    let log = EmbeddedLog::open(dir.path(), &config).unwrap();
    Backend {
        log: Arc::new(log),
        suffix: unique_suffix(),
        _dir: Some(dir),
    }
}

fn record(key: &str, value: impl Into<Bytes>) -> LogRecord {
    LogRecord {
        key: Bytes::from(key.to_owned()),
        value: value.into(),
    }
}

/// Polls until `expected` records arrived, failing after `DRAIN_DEADLINE`.
async fn drain(consumer: &mut dyn LogConsumer, expected: usize) -> Vec<ConsumedRecord> {
    let started = Instant::now();
    let mut all = Vec::new();
    while all.len() < expected {
        assert!(
            started.elapsed() < DRAIN_DEADLINE,
            "the log returned {} of {expected} records in {DRAIN_DEADLINE:?}",
            all.len()
        );
        all.extend(consumer.poll(1000, Duration::from_secs(1)).await.unwrap());
    }
    assert_eq!(all.len(), expected, "more records than appended");
    all
}

/// Asserts that nothing more arrives within a short wait.
async fn assert_drained(consumer: &mut dyn LogConsumer) {
    let extra = consumer.poll(1000, Duration::from_secs(2)).await.unwrap();
    let offsets: Vec<(i32, i64)> = extra.iter().map(|r| (r.partition, r.offset)).collect();
    assert!(extra.is_empty(), "unexpected extra records {offsets:?}");
}

/// Commits the last offset of every partition present in `records`.
async fn commit_all(consumer: &mut dyn LogConsumer, records: &[ConsumedRecord]) {
    let mut last: BTreeMap<i32, i64> = BTreeMap::new();
    for record in records {
        let entry = last.entry(record.partition).or_insert(record.offset);
        *entry = (*entry).max(record.offset);
    }
    for (partition, offset) in last {
        consumer.commit(partition, offset).await.unwrap();
    }
}

async fn append_records_come_back_in_order_per_key(backend: Backend) {
    let topic = backend.topic("order");
    backend.log.ensure_topic(&topic).await.unwrap();
    for chunk in 0..4 {
        let records = (chunk * 50..chunk * 50 + 50)
            .map(|i| record(&format!("project/trace-{}", i % 10), format!("{}", i / 10)))
            .collect();
        backend.log.append(&topic, records).await.unwrap();
    }
    let mut consumer = backend
        .log
        .subscribe(&topic, &backend.group("g"))
        .await
        .unwrap();
    let all = drain(consumer.as_mut(), 200).await;
    let mut per_key: HashMap<Bytes, Vec<u32>> = HashMap::new();
    let mut last_offset: HashMap<i32, i64> = HashMap::new();
    for record in &all {
        let sequence = std::str::from_utf8(&record.value).unwrap().parse().unwrap();
        per_key
            .entry(record.key.clone())
            .or_default()
            .push(sequence);
        let previous = last_offset.insert(record.partition, record.offset);
        assert!(
            previous.is_none_or(|p| p < record.offset),
            "offsets go back"
        );
        assert!(record.timestamp_ms > 0, "records carry their append time");
    }
    assert_eq!(per_key.len(), 10);
    for (key, sequences) in per_key {
        assert_eq!(sequences, (0..20).collect::<Vec<u32>>(), "order of {key:?}");
    }
    assert_drained(consumer.as_mut()).await;
}

async fn a_new_member_resumes_right_after_the_commit(backend: Backend) {
    let topic = backend.topic("resume");
    let group = backend.group("g");
    backend.log.ensure_topic(&topic).await.unwrap();
    // One append of one key: one produced batch on one partition, so the commit lands inside
    // it (a broker that resumes at the batch end would silently skip records here).
    let records = (0..10).map(|i| record("p/t", format!("v{i}"))).collect();
    backend.log.append(&topic, records).await.unwrap();
    let first = {
        let mut consumer = backend.log.subscribe(&topic, &group).await.unwrap();
        let first = drain(consumer.as_mut(), 10).await;
        consumer
            .commit(first[3].partition, first[3].offset)
            .await
            .unwrap();
        first
    };
    assert_eq!(backend.log.lag(&topic, &group).await.unwrap(), 6);
    let mut consumer = backend.log.subscribe(&topic, &group).await.unwrap();
    let rest = drain(consumer.as_mut(), 6).await;
    assert_eq!(rest[0].offset, first[3].offset + 1);
    assert_eq!(rest[0].value, Bytes::from("v4"));
    assert_eq!(rest[5].value, Bytes::from("v9"));
    assert_drained(consumer.as_mut()).await;
}

async fn groups_read_independently_and_lag_counts(backend: Backend) {
    let topic = backend.topic("groups");
    let (a, b) = (backend.group("a"), backend.group("b"));
    backend.log.ensure_topic(&topic).await.unwrap();
    let records = (0..30)
        .map(|i| record(&format!("p/t{}", i % 7), format!("v{i}")))
        .collect();
    backend.log.append(&topic, records).await.unwrap();
    assert_eq!(backend.log.lag(&topic, &a).await.unwrap(), 30);
    let mut consumer_a = backend.log.subscribe(&topic, &a).await.unwrap();
    let read_a = drain(consumer_a.as_mut(), 30).await;
    commit_all(consumer_a.as_mut(), &read_a).await;
    assert_eq!(backend.log.lag(&topic, &a).await.unwrap(), 0);
    assert_eq!(backend.log.lag(&topic, &b).await.unwrap(), 30);
    let mut consumer_b = backend.log.subscribe(&topic, &b).await.unwrap();
    let read_b = drain(consumer_b.as_mut(), 30).await;
    commit_all(consumer_b.as_mut(), &read_b[..10]).await;
    assert!(backend.log.lag(&topic, &b).await.unwrap() >= 20);
    backend
        .log
        .append(&topic, vec![record("p/t0", "late")])
        .await
        .unwrap();
    assert_eq!(
        drain(consumer_a.as_mut(), 1).await[0].value,
        Bytes::from("late")
    );
    assert_eq!(backend.log.lag(&topic, &a).await.unwrap(), 1);
}

async fn rewind_returns_to_the_last_commit(backend: Backend) {
    let topic = backend.topic("rewind");
    backend.log.ensure_topic(&topic).await.unwrap();
    let records = (0..4).map(|i| record("p/t", format!("v{i}"))).collect();
    backend.log.append(&topic, records).await.unwrap();
    let mut consumer = backend
        .log
        .subscribe(&topic, &backend.group("g"))
        .await
        .unwrap();
    let batch = drain(consumer.as_mut(), 4).await;
    consumer
        .commit(batch[1].partition, batch[1].offset)
        .await
        .unwrap();
    consumer.rewind().await.unwrap();
    let again = drain(consumer.as_mut(), 2).await;
    assert_eq!(again[0].offset, batch[2].offset);
    assert_eq!(again[1].value, Bytes::from("v3"));
    assert_drained(consumer.as_mut()).await;
}

#[expect(
    clippy::print_stderr,
    reason = "the measured throughput is the test's report"
)]
async fn many_records_and_a_one_mib_record(backend: Backend) {
    let topic = backend.topic("many");
    backend.log.ensure_topic(&topic).await.unwrap();
    let (batches, batch_len) = (20, 1000);
    let value = Bytes::from(vec![b'x'; 500]);
    let started = Instant::now();
    for batch in 0..batches {
        let records = (0..batch_len)
            .map(|i| {
                record(
                    &format!("p/t{}", (batch * batch_len + i) % 97),
                    value.clone(),
                )
            })
            .collect();
        backend.log.append(&topic, records).await.unwrap();
    }
    let elapsed = started.elapsed();
    let total = batches * batch_len;
    eprintln!(
        "append throughput: {total} records of 500 bytes in batches of {batch_len}: {:.0} records/s",
        total as f64 / elapsed.as_secs_f64()
    );
    let large: Bytes = (0..1 << 20)
        .map(|i: u32| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into();
    backend
        .log
        .append(&topic, vec![record("p/large", large.clone())])
        .await
        .unwrap();
    let mut consumer = backend
        .log
        .subscribe(&topic, &backend.group("g"))
        .await
        .unwrap();
    let all = drain(consumer.as_mut(), total + 1).await;
    let found = all.iter().find(|r| r.key == "p/large").unwrap();
    assert_eq!(found.value, large);
}

#[expect(
    clippy::print_stderr,
    reason = "the measured throughput is the test's report"
)]
async fn concurrent_small_appends_are_all_stored(backend: Backend) {
    let topic = backend.topic("concurrent");
    backend.log.ensure_topic(&topic).await.unwrap();
    // Like ingest: many requests at once, each appending a few events.
    let (appenders, appends, records_per_append) = (16, 50, 10);
    let started = Instant::now();
    let tasks = (0..appenders).map(|appender| {
        let (log, topic) = (backend.log.clone(), topic.clone());
        async move {
            for append in 0..appends {
                let records = (0..records_per_append)
                    .map(|i| record(&format!("p/t{appender}"), format!("{append}-{i}")))
                    .collect();
                log.append(&topic, records).await.unwrap();
            }
        }
    });
    futures::future::join_all(tasks).await;
    let total = appenders * appends * records_per_append;
    eprintln!(
        "append throughput: {appenders} concurrent appenders of {records_per_append} records: \
         {:.0} records/s",
        total as f64 / started.elapsed().as_secs_f64()
    );
    let mut consumer = backend
        .log
        .subscribe(&topic, &backend.group("g"))
        .await
        .unwrap();
    drain(consumer.as_mut(), total).await;
    assert_drained(consumer.as_mut()).await;
}

async fn dead_letter_topics_are_created_like_any_other(backend: Backend) {
    let dlq = topics::dlq(&backend.topic("source"));
    backend.log.ensure_topic(&dlq).await.unwrap();
    backend.log.ensure_topic(&dlq).await.unwrap();
    backend
        .log
        .append(&dlq, vec![record("p/t", "poison")])
        .await
        .unwrap();
    let mut consumer = backend
        .log
        .subscribe(&dlq, &backend.group("g"))
        .await
        .unwrap();
    assert_eq!(
        drain(consumer.as_mut(), 1).await[0].value,
        Bytes::from("poison")
    );
}

/// Declares one test per scenario and backend.
macro_rules! conformance {
    ($($scenario:ident),* $(,)?) => {
        mod embedded_log {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(super::embedded()).await;
                }
            )*
        }

        #[cfg(feature = "kafka")]
        mod kafka_log {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(super::kafka::backend().await).await;
                }
            )*
        }
    };
}

conformance!(
    append_records_come_back_in_order_per_key,
    a_new_member_resumes_right_after_the_commit,
    groups_read_independently_and_lag_counts,
    rewind_returns_to_the_last_commit,
    many_records_and_a_one_mib_record,
    concurrent_small_appends_are_all_stored,
    dead_letter_topics_are_created_like_any_other,
);

#[cfg(feature = "kafka")]
mod kafka {
    use periscope_core::config::KafkaConfig;
    use periscope_core::log::kafka::KafkaEventLog;

    use super::*;

    pub(super) const PARTITIONS: i32 = 3;

    pub(super) fn config() -> KafkaConfig {
        let brokers = std::env::var("PERISCOPE__KAFKA__BROKERS").unwrap_or_default();
        assert!(
            !brokers.is_empty(),
            "PERISCOPE__KAFKA__BROKERS is not set; start the services: \
             eval \"$(deploy/dev-services.sh start)\""
        );
        KafkaConfig {
            brokers,
            partitions: PARTITIONS,
            replication: 1,
            session_timeout: Duration::from_secs(6),
            namespace: String::new(),
            properties: BTreeMap::new(),
        }
    }

    pub(super) async fn backend() -> Backend {
        let log = KafkaEventLog::connect(&config()).await.unwrap();
        Backend {
            log: Arc::new(log),
            suffix: unique_suffix(),
            _dir: None,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn topics_get_the_configured_partitions_and_per_partition_lag() {
        let log = KafkaEventLog::connect(&config()).await.unwrap();
        let topic = format!("conformance.partitions.{}", unique_suffix());
        log.ensure_topic(&topic).await.unwrap();
        let records = (0..40).map(|i| record(&format!("p/t{i}"), "v")).collect();
        log.append(&topic, records).await.unwrap();
        let lags = log.partition_lag(&topic, "nobody").await.unwrap();
        assert_eq!(lags.len(), PARTITIONS as usize);
        assert_eq!(lags.iter().map(|l| l.lag).sum::<u64>(), 40);
        assert!(
            lags.iter().all(|l| l.lag > 0),
            "keys spread over partitions: {lags:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn records_above_the_limit_are_rejected_for_good() {
        let log = KafkaEventLog::connect(&config()).await.unwrap();
        let topic = format!("conformance.oversized.{}", unique_suffix());
        log.ensure_topic(&topic).await.unwrap();
        let huge = Bytes::from(vec![0u8; periscope_core::log::kafka::MAX_RECORD_BYTES + 1]);
        let error = log
            .append(&topic, vec![record("p/t", huge)])
            .await
            .unwrap_err();
        assert!(!error.is_transient(), "{error}");
        assert!(error.to_string().contains("exceeds"), "{error}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unreachable_broker_fails_at_connect() {
        let mut config = config();
        config.brokers = "127.0.0.1:1".to_owned();
        config.properties.insert(
            "socket.connection.setup.timeout.ms".to_owned(),
            "1000".to_owned(),
        );
        let started = Instant::now();
        let error = KafkaEventLog::connect(&config).await.unwrap_err();
        assert!(error.to_string().contains("cannot reach"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(40));
    }
}
