//! One job per (evaluator, version, target), whatever is replayed.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use periscope_core::evals::{EvalStore, EvaluatorPatch, JobOutcome, JobStatus};
use periscope_core::log::ConsumedRecord;
use periscope_core::model::Record;
use periscope_core::pipeline::{PipelineStats, Processor, RunnerConfig, run_processor};
use periscope_core::topics;
use periscope_processors::evals::SchedulerProcessor;
use tokio_util::sync::CancellationToken;

use super::harness::{Harness, PROJECT, eventually, seed_trace};

fn consumed(record: &Record, offset: i64) -> ConsumedRecord {
    ConsumedRecord {
        topic: topics::RECORDS.into(),
        partition: 0,
        offset,
        timestamp_ms: 0,
        key: Bytes::from_static(b"k"),
        value: Bytes::from(serde_json::to_vec(record).unwrap()),
    }
}

#[tokio::test]
async fn the_scheduler_registers_each_job_once_across_replays_and_restarts() {
    let harness = Harness::new().await;
    let connection = harness.create_connection().await;
    let template = harness.create_hallucination_template().await;
    let mut evaluator = harness
        .create_evaluator(&template, &connection, "seed", 1.0)
        .await;
    let store: Arc<dyn EvalStore> = harness.meta.clone();
    let scheduler = SchedulerProcessor::new(store.clone(), Duration::ZERO);
    let trace = Record::Trace(seed_trace("t1", "seed", "q", "c", "a"));

    let first = scheduler.process(&consumed(&trace, 5)).await.unwrap();
    assert_eq!(first.len(), 1);
    // A later update of the same trace, or the same record appended again: no new job.
    assert!(
        scheduler
            .process(&consumed(&trace, 9))
            .await
            .unwrap()
            .is_empty()
    );
    // Re-reading the very record that made the still-queued job (the job may never have
    // reached the log before a crash) emits it again; the runner's claim dedups.
    let again = scheduler.process(&consumed(&trace, 5)).await.unwrap();
    let job_id = |records: &[periscope_core::log::LogRecord]| {
        let job: serde_json::Value = serde_json::from_slice(&records[0].value).unwrap();
        job["id"].as_str().unwrap().to_owned()
    };
    assert_eq!(again.len(), 1);
    assert_eq!(job_id(&again), job_id(&first));
    let job_id = job_id(&first);
    store
        .finish_job(
            &job_id,
            JobStatus::Succeeded,
            &JobOutcome::default(),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    assert!(
        scheduler
            .process(&consumed(&trace, 5))
            .await
            .unwrap()
            .is_empty()
    );

    // A restarted scheduler (nothing in memory) finds the job in the store.
    let restarted = SchedulerProcessor::new(store.clone(), Duration::ZERO);
    for offset in [5, 9, 12] {
        assert!(
            restarted
                .process(&consumed(&trace, offset))
                .await
                .unwrap()
                .is_empty()
        );
    }

    // A new evaluator version judges the target again, once.
    evaluator.apply(EvaluatorPatch::default(), chrono::Utc::now());
    assert!(store.update_evaluator(&evaluator).await.unwrap());
    assert_eq!(
        restarted
            .process(&consumed(&trace, 20))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        restarted
            .process(&consumed(&trace, 21))
            .await
            .unwrap()
            .is_empty()
    );

    // Outside the sample: counted as matched, never emitted.
    let unsampled = harness
        .create_evaluator(&template, &connection, "rare", 0.0)
        .await;
    let rare = Record::Trace(seed_trace("t2", "rare", "q", "c", "a"));
    assert!(
        restarted
            .process(&consumed(&rare, 30))
            .await
            .unwrap()
            .is_empty()
    );
    let funnel = store.funnel(PROJECT, &unsampled.id).await.unwrap();
    assert_eq!((funnel.matched, funnel.sampled), (1, 0));
    let funnel = store.funnel(PROJECT, &evaluator.id).await.unwrap();
    assert_eq!((funnel.matched, funnel.queued, funnel.scored), (2, 2, 1));
    harness.stop().await;
}

/// Counts the messages on the eval-jobs topic.
async fn eval_jobs_on_the_log(harness: &Harness, group: &str) -> usize {
    let mut consumer = harness
        .log
        .subscribe(topics::EVAL_JOBS, group)
        .await
        .unwrap();
    let mut total = 0;
    loop {
        let batch = consumer
            .poll(1000, Duration::from_millis(200))
            .await
            .unwrap();
        if batch.is_empty() {
            return total;
        }
        total += batch.len();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_the_records_topic_emits_no_second_job_and_no_second_judgement() {
    let mut harness = Harness::new().await;
    let connection = harness.create_connection().await;
    let template = harness.create_hallucination_template().await;
    let evaluator = harness
        .create_evaluator(&template, &connection, "seed", 1.0)
        .await;
    harness.start_pipeline();
    let traces = [
        seed_trace("r1", "seed", "q", "the sky is blue", "the sky is blue"),
        seed_trace("r2", "seed", "q", "the sky is blue", "grass grows"),
    ];
    harness.append_traces(&traces).await;
    let timeout = Duration::from_secs(30);
    eventually("both scores", timeout, || async {
        let funnel = harness.meta.funnel(PROJECT, &evaluator.id).await.unwrap();
        (funnel.scored == 2).then_some(())
    })
    .await;

    // The same records again (a client retry, or a producer replaying), and the whole
    // records topic re-read by a scheduler in a fresh consumer group (a replay after a reset).
    harness.append_traces(&traces).await;
    let replay = SchedulerProcessor::new(harness.meta.clone(), Duration::ZERO);
    let config = RunnerConfig {
        group: "replay".into(),
        batch_max_records: 100,
        batch_max_wait: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
    };
    let cancel = CancellationToken::new();
    let stats = Arc::new(PipelineStats::default());
    let replaying = run_processor(
        harness.log.clone(),
        replay,
        topics::RECORDS,
        topics::EVAL_JOBS,
        config,
        stats.clone(),
        cancel.clone(),
    );
    let stop = async {
        eventually("the replay to read every record", timeout, || async {
            let lag = harness.log.lag(topics::RECORDS, "replay").await.unwrap();
            let received = stats.received_events_total.load(Ordering::Relaxed);
            (lag == 0 && received >= 4).then_some(())
        })
        .await;
        cancel.cancel();
    };
    let (replayed, ()) = tokio::join!(replaying, stop);
    replayed.unwrap();
    assert_eq!(stats.sent_events_total.load(Ordering::Relaxed), 0);

    // Let the live scheduler see the re-appended records too, then count.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(eval_jobs_on_the_log(&harness, "count").await, 2);
    assert_eq!(harness.judge.count(""), 2);
    let funnel = harness.meta.funnel(PROJECT, &evaluator.id).await.unwrap();
    assert_eq!((funnel.matched, funnel.queued, funnel.scored), (2, 2, 2));
    assert_eq!(harness.scores("r1").await.len(), 1);
    harness.stop().await;
}
