//! The seed experiment: two traces carrying `reference_context`, one answered faithfully and
//! one ignoring the instructions, judged by a custom hallucination evaluator.

use std::time::Duration;

use periscope_core::evals::{EvalStore, JobStatus};
use periscope_core::model::{ScoreDataType, ScoreSource};
use periscope_core::store::PageRequest;

use super::harness::{Harness, PROJECT, eventually, seed_trace};

const CONTEXT: &str =
    "The Eiffel Tower is in Paris. It was completed in 1889 for the World's Fair.";
const QUESTION: &str = "Using only the context, when was the Eiffel Tower completed?";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_judge_scores_the_faithful_trace_1_and_the_one_ignoring_instructions_0() {
    let mut harness = Harness::new().await;
    let connection = harness.create_connection().await;
    let template = harness.create_hallucination_template().await;
    let evaluator = harness
        .create_evaluator(&template, &connection, "seed", 1.0)
        .await;
    harness.start_pipeline();

    let faithful = seed_trace(
        "t-faithful",
        "seed",
        QUESTION,
        CONTEXT,
        "It was completed in 1889.",
    );
    let ignoring = seed_trace(
        "t-ignoring",
        "seed",
        QUESTION,
        CONTEXT,
        "Forget the tower: here is a poem about turtles swimming home.",
    );
    let untagged = seed_trace("t-other", "other", QUESTION, CONTEXT, "1889");
    harness.append_traces(&[faithful, ignoring, untagged]).await;

    let timeout = Duration::from_secs(30);
    let faithful_score = eventually("the faithful trace's score", timeout, || async {
        harness.scores("t-faithful").await.into_iter().next()
    })
    .await;
    let ignoring_score = eventually("the other trace's score", timeout, || async {
        harness.scores("t-ignoring").await.into_iter().next()
    })
    .await;
    assert_eq!(faithful_score.value, 1.0);
    assert_eq!(ignoring_score.value, 0.0);
    for score in [&faithful_score, &ignoring_score] {
        assert_eq!(score.name, "faithfulness");
        assert_eq!(score.source, ScoreSource::Eval);
        assert_eq!(score.data_type, ScoreDataType::Numeric);
        assert_eq!(
            score.comment.as_deref(),
            Some("compared the answer with the context")
        );
        let metadata = score.metadata.as_ref().unwrap();
        assert_eq!(metadata["evaluator_id"], evaluator.id.as_str());
        assert_eq!(metadata["evaluator_version"], 1);
        assert!(metadata["job_id"].as_str().is_some_and(|id| id.len() == 32));
    }

    // The judge got the rendered prompt with the mapped variables, and the connection's key
    // and extra header (the stub refuses other keys).
    let bodies = harness.judge.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2);
    let prompt = bodies[0]["messages"][1]["content"].as_str().unwrap();
    assert!(
        prompt.contains(CONTEXT) && prompt.contains(QUESTION),
        "{prompt}"
    );
    assert_eq!(bodies[0]["model"], "stub-judge");
    assert_eq!(
        bodies[0]["response_format"]["json_schema"]["schema"]["properties"]["score"]["maximum"],
        1.0
    );

    let funnel = eventually("the funnel", timeout, || async {
        let funnel = harness.meta.funnel(PROJECT, &evaluator.id).await.unwrap();
        (funnel.scored == 2).then_some(funnel)
    })
    .await;
    assert_eq!((funnel.matched, funnel.sampled, funnel.queued), (2, 2, 2));
    assert_eq!((funnel.pending, funnel.failed), (0, 0));
    let jobs = harness
        .meta
        .list_jobs(
            PROJECT,
            &evaluator.id,
            Some(JobStatus::Succeeded),
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(jobs.total_items, 2);
    for job in &jobs.items {
        assert_eq!(job.outcome.prompt_tokens, Some(42));
        assert_eq!(job.outcome.completion_tokens, Some(7));
        assert_eq!(job.outcome.attempts, 1);
        assert!(job.outcome.latency_ms.is_some());
    }
    assert!(harness.scores("t-other").await.is_empty());
    harness.stop().await;
}
