//! The runner when the judge misbehaves: timeouts, garbage, 429s (retried, then succeeding or
//! failing with a reason), and a key that cannot be opened.

use std::time::Duration;

use periscope_core::evals::{
    EvalStore, Evaluator, JobExecution, JobStatus, LlmConnection, SecretCipher,
};
use periscope_core::store::PageRequest;

use super::harness::{Harness, PROJECT, eventually, seed_trace};
use super::stub_judge::STUB_API_KEY;

const CONTEXT: &str = "the sky is blue";

async fn job_of(harness: &Harness, evaluator: &Evaluator, trace_id: &str) -> Option<JobExecution> {
    let jobs = harness
        .meta
        .list_jobs(PROJECT, &evaluator.id, None, PageRequest::default())
        .await
        .unwrap();
    jobs.items
        .into_iter()
        .find(|job| job.job.target.trace_id() == trace_id && job.status.is_final())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_garbage_and_429s_end_as_retried_successes_or_failures_with_a_reason() {
    let mut harness = Harness::new().await;
    let connection = harness.create_connection().await;
    let template = harness.create_hallucination_template().await;
    let evaluator = harness
        .create_evaluator(&template, &connection, "flaky", 1.0)
        .await;

    // A connection whose key was sealed with another PERISCOPE_ENCRYPTION_KEY.
    let mut foreign = connection.clone();
    foreign.id = "conn-foreign".into();
    foreign.name = "foreign".into();
    let other_key = "11".repeat(32);
    foreign.sealed_api_key = SecretCipher::from_hex(Some(&other_key))
        .seal(
            STUB_API_KEY,
            &LlmConnection::seal_context(PROJECT, &foreign.id),
        )
        .unwrap();
    harness.meta.create_connection(&foreign).await.unwrap();
    let locked_out = harness
        .create_evaluator(&template, &foreign, "locked", 1.0)
        .await;
    harness.start_pipeline();

    let trace = |id: &str, tag: &str, answer: &str| seed_trace(id, tag, "q", CONTEXT, answer);
    harness
        .append_traces(&[
            trace("slow", "flaky", "[slow] the sky is blue"),
            trace("garbage", "flaky", "[garbage] the sky is blue"),
            trace("retried", "flaky", "[429-twice] the sky is blue"),
            trace("limited", "flaky", "[429-always] the sky is blue"),
            trace("locked", "locked", "the sky is blue"),
        ])
        .await;

    let timeout = Duration::from_secs(40);
    let outcome = |trace_id: &'static str, evaluator: Evaluator| {
        let harness = &harness;
        async move {
            eventually(trace_id, timeout, || async {
                job_of(harness, &evaluator, trace_id).await
            })
            .await
        }
    };
    let slow = outcome("slow", evaluator.clone()).await;
    assert_eq!(slow.status, JobStatus::Failed);
    assert_eq!(slow.outcome.failure_reason.as_deref(), Some("timeout"));
    assert_eq!(slow.outcome.attempts, 3);
    assert!(slow.outcome.message.as_deref().unwrap().contains("300 ms"));

    let garbage = outcome("garbage", evaluator.clone()).await;
    assert_eq!(garbage.status, JobStatus::Failed);
    assert_eq!(
        garbage.outcome.failure_reason.as_deref(),
        Some("invalid_answer")
    );
    assert!(
        garbage
            .outcome
            .message
            .as_deref()
            .unwrap()
            .contains("rather not grade")
    );
    assert_eq!(garbage.outcome.prompt_tokens, Some(42));

    let retried = outcome("retried", evaluator.clone()).await;
    assert_eq!(retried.status, JobStatus::Succeeded, "{retried:?}");
    assert_eq!(retried.outcome.attempts, 3);
    let limited = outcome("limited", evaluator.clone()).await;
    assert_eq!(
        limited.outcome.failure_reason.as_deref(),
        Some("rate_limited")
    );
    assert_eq!(limited.outcome.attempts, 3);

    let locked = outcome("locked", locked_out.clone()).await;
    assert_eq!(
        locked.outcome.failure_reason.as_deref(),
        Some("encryption_key")
    );
    assert!(
        locked
            .outcome
            .message
            .as_deref()
            .unwrap()
            .contains("PERISCOPE_ENCRYPTION_KEY")
    );

    assert_eq!(harness.judge.count("[slow]"), 3);
    assert_eq!(harness.judge.count("[garbage]"), 1);
    assert_eq!(harness.judge.count("[429-twice]"), 3);
    assert_eq!(harness.judge.count("[429-always]"), 3);
    let score = eventually("the retried job's score", timeout, || async {
        harness.scores("retried").await.into_iter().next()
    })
    .await;
    assert_eq!(score.metadata.unwrap()["job_id"], retried.job.id.as_str());
    for failed in ["slow", "garbage", "limited", "locked"] {
        assert!(harness.scores(failed).await.is_empty(), "{failed}");
    }
    let funnel = harness.meta.funnel(PROJECT, &evaluator.id).await.unwrap();
    assert_eq!((funnel.matched, funnel.scored, funnel.failed), (4, 1, 3));
    assert_eq!(funnel.failed_by_reason.len(), 3);
    harness.stop().await;
}
