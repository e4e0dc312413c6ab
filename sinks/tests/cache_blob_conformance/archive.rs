//! The raw event archive on both blob stores: round trip, idempotent retry, overlapping
//! batches after a crash, and the archiver loop over a real event log.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures::TryStreamExt;
use periscope_core::config::{FsyncPolicy, LogConfig};
use periscope_core::log::embedded::EmbeddedLog;
use periscope_core::log::{ConsumedRecord, EventLog, LogRecord};
use periscope_core::pipeline::PipelineStats;
use periscope_core::topics;
use periscope_proto::pv1;
use periscope_sinks::archive::{ArchiveWriter, ArchiverConfig, read_archive, run_archiver};
use prost::Message;
use tokio_util::sync::CancellationToken;

use crate::common::{IsolatedBlobStore, unique};

fn at(day: u32, hour: u32, second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, second)
        .unwrap()
}

fn event(project_id: &str, received_at: DateTime<Utc>) -> pv1::Event {
    let event_id = uuid::Uuid::now_v7().to_string();
    pv1::Event {
        body: Some(pv1::event::Body::ScoreJson(
            format!(r#"{{"id":"{event_id}","value":1}}"#).into_bytes(),
        )),
        event_id,
        project_id: project_id.to_owned(),
        received_at_unix_nano: received_at.timestamp_nanos_opt().unwrap(),
        source: pv1::Source::Native as i32,
        schema_version: 1,
    }
}

fn record(partition: i32, offset: i64, event: &pv1::Event) -> ConsumedRecord {
    ConsumedRecord {
        topic: topics::INGEST.to_owned(),
        partition,
        offset,
        timestamp_ms: event.received_at_unix_nano / 1_000_000,
        key: topics::trace_key(&event.project_id, "trace").into(),
        value: event.encode_to_vec().into(),
    }
}

async fn read_all(
    isolated: &IsolatedBlobStore,
    project_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<pv1::Event> {
    read_archive(isolated.store.clone(), project_id, from, to)
        .try_collect()
        .await
        .unwrap()
}

async fn round_trip_by_project_day_and_range(isolated: IsolatedBlobStore) {
    let (project, other) = (unique("project"), unique("other"));
    let p0_day1: Vec<pv1::Event> = (0..3).map(|i| event(&project, at(27, 10, i))).collect();
    let p1_day1: Vec<pv1::Event> = (3..5).map(|i| event(&project, at(27, 10, i))).collect();
    let p0_day2 = vec![event(&project, at(28, 1, 0))];
    let foreign = event(&other, at(27, 10, 0));
    let mut batch = vec![
        record(0, 0, &p0_day1[0]),
        record(0, 1, &foreign),
        record(0, 2, &p0_day1[1]),
        record(0, 3, &p0_day2[0]),
        record(0, 4, &p0_day1[2]),
        record(1, 10, &p1_day1[0]),
        record(1, 11, &p1_day1[1]),
    ];
    let mut garbage = record(1, 12, &foreign);
    garbage.value = bytes::Bytes::from_static(b"\xff\xff not protobuf");
    batch.push(garbage);

    let writer = ArchiveWriter::new(isolated.store.clone());
    let summary = writer.write_batch(&batch).await.unwrap();
    assert_eq!(summary.objects_written, 4, "{summary:?}");
    assert_eq!(summary.events, 7);
    assert_eq!(summary.undecodable, 1);

    let everything = read_all(&isolated, &project, at(27, 0, 0), at(29, 0, 0)).await;
    let expected: Vec<pv1::Event> = [p0_day1.clone(), p1_day1.clone(), p0_day2.clone()].concat();
    assert_eq!(everything, expected);

    let second_day = read_all(&isolated, &project, at(28, 0, 0), at(29, 0, 0)).await;
    assert_eq!(second_day, p0_day2);
    let narrow = read_all(&isolated, &project, at(27, 10, 1), at(27, 10, 4)).await;
    assert_eq!(
        narrow,
        vec![p0_day1[1].clone(), p0_day1[2].clone(), p1_day1[0].clone()]
    );
    assert_eq!(
        read_all(&isolated, &other, at(27, 0, 0), at(28, 0, 0)).await,
        vec![foreign]
    );
    assert!(
        read_all(&isolated, &unique("nobody"), at(27, 0, 0), at(28, 0, 0))
            .await
            .is_empty()
    );
}

async fn a_retried_batch_writes_nothing_twice(isolated: IsolatedBlobStore) {
    let project = unique("project");
    let events: Vec<pv1::Event> = (0..20).map(|i| event(&project, at(27, 12, i))).collect();
    let batch: Vec<ConsumedRecord> = events
        .iter()
        .enumerate()
        .map(|(i, e)| record(0, i as i64, e))
        .collect();
    let writer = ArchiveWriter::new(isolated.store.clone());

    let first = writer.write_batch(&batch).await.unwrap();
    let keys_after_first = isolated
        .store
        .list(&format!("archive/{project}/"))
        .await
        .unwrap();
    let retry = writer.write_batch(&batch).await.unwrap();
    assert_eq!(first.objects_written, 1);
    assert_eq!(retry.objects_written, 0);
    assert_eq!(retry.objects_existing, 1);
    assert_eq!(
        isolated
            .store
            .list(&format!("archive/{project}/"))
            .await
            .unwrap(),
        keys_after_first
    );
    assert_eq!(
        read_all(&isolated, &project, at(27, 0, 0), at(28, 0, 0)).await,
        events
    );
}

async fn overlapping_batches_after_a_crash_are_read_once(isolated: IsolatedBlobStore) {
    let project = unique("project");
    let events: Vec<pv1::Event> = (0..10).map(|i| event(&project, at(27, 8, i))).collect();
    let records: Vec<ConsumedRecord> = events
        .iter()
        .enumerate()
        .map(|(i, e)| record(2, i as i64 + 100, e))
        .collect();
    let writer = ArchiveWriter::new(isolated.store.clone());
    // A batch written but not committed, then re-read with other boundaries after a restart.
    writer.write_batch(&records[..6]).await.unwrap();
    writer.write_batch(&records[..]).await.unwrap();
    writer.write_batch(&records[3..8]).await.unwrap();
    assert_eq!(
        isolated
            .store
            .list(&format!("archive/{project}/"))
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        read_all(&isolated, &project, at(27, 0, 0), at(28, 0, 0)).await,
        events
    );
}

async fn the_archiver_consumes_the_ingest_topic_and_resumes(isolated: IsolatedBlobStore) {
    let log_dir = tempfile::tempdir().unwrap();
    let log_config = LogConfig {
        fsync: FsyncPolicy::Never,
        segment_bytes: 1 << 20,
        retention_bytes: 1 << 30,
        retention_age: Duration::from_secs(86_400),
    };
    let log: Arc<dyn EventLog> = Arc::new(EmbeddedLog::open(log_dir.path(), &log_config).unwrap());
    let project = unique("project");
    let now = Utc::now();
    let events: Vec<pv1::Event> = (0..30).map(|_| event(&project, now)).collect();
    let config = ArchiverConfig {
        group: unique("archive"),
        max_records: 8,
        max_wait: Duration::from_millis(100),
        ..ArchiverConfig::default()
    };

    append(&*log, &events[..20]).await;
    archive_until_caught_up(&log, &isolated, &config).await;
    // A second run resumes at the committed offsets.
    append(&*log, &events[20..]).await;
    archive_until_caught_up(&log, &isolated, &config).await;

    let from = now - chrono::Duration::seconds(1);
    let to = now + chrono::Duration::seconds(1);
    assert_eq!(read_all(&isolated, &project, from, to).await, events);
    let objects = isolated
        .store
        .list(&format!("archive/{project}/"))
        .await
        .unwrap();
    assert!(
        objects.len() >= 4,
        "batches of at most 8 events: {objects:?}"
    );
}

async fn append(log: &dyn EventLog, events: &[pv1::Event]) {
    log.ensure_topic(topics::INGEST).await.unwrap();
    let records = events
        .iter()
        .map(|e| LogRecord {
            key: topics::trace_key(&e.project_id, "trace").into(),
            value: e.encode_to_vec().into(),
        })
        .collect();
    log.append(topics::INGEST, records).await.unwrap();
}

async fn archive_until_caught_up(
    log: &Arc<dyn EventLog>,
    isolated: &IsolatedBlobStore,
    config: &ArchiverConfig,
) {
    let cancel = CancellationToken::new();
    let stats = Arc::new(PipelineStats::default());
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(run_archiver(
        log.clone(),
        isolated.store.clone(),
        config.clone(),
        stats,
        cancel.clone(),
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while log.lag(topics::INGEST, &config.group).await.unwrap() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the archiver did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cancel.cancel();
    tasks.join_next().await.unwrap().unwrap().unwrap();
}

macro_rules! archive_conformance {
    ($($scenario:ident),* $(,)?) => {
        mod filesystem {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(crate::common::filesystem_store()).await;
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(crate::common::s3_isolated().await).await;
                }
            )*
        }
    };
}

archive_conformance!(
    round_trip_by_project_day_and_range,
    a_retried_batch_writes_nothing_twice,
    overlapping_batches_after_a_crash_are_read_once,
    the_archiver_consumes_the_ingest_topic_and_resumes,
);
