//! `EvalStore`: LLM connections, template versions, evaluators with optimistic updates, and
//! eval jobs (dedup on registration, exclusive claims, outcomes, listing, the funnel).

use std::collections::BTreeMap;
use std::time::Duration;

use periscope_core::error::BackendError;
use periscope_core::evals::{
    EvalFilter, EvalJob, EvalStore, EvalTarget, Evaluator, EvaluatorTemplate, JobClaim, JobOutcome,
    JobRegistration, JobStatus, LlmConnection, OutputSpec, TargetRef,
};
use periscope_core::model::ObservationType;
use periscope_core::store::PageRequest;

use crate::backends::{Backend, at};

fn connection(project: &str, id: &str, name: &str) -> LlmConnection {
    LlmConnection {
        id: id.into(),
        project_id: project.into(),
        name: name.into(),
        base_url: "http://127.0.0.1:4000/v1".into(),
        default_model: "gpt-4o-mini".into(),
        extra_headers: [("x-org".to_string(), "eval".to_string())].into(),
        sealed_api_key: "c2VhbGVk".into(),
        key_preview: "sk-…abcd".into(),
        created_at: at(0),
        updated_at: at(0),
    }
}

fn template(project: &str, id: &str, name: &str, output: OutputSpec) -> EvaluatorTemplate {
    EvaluatorTemplate {
        id: id.into(),
        project_id: Some(project.into()),
        name: name.into(),
        version: 0,
        prompt: "Is {{output}} a good answer to {{input}}?".into(),
        output,
        description: Some("judge helpfulness".into()),
        created_at: at(1),
    }
}

fn evaluator(project: &str, id: &str, seconds: i64, active: bool) -> Evaluator {
    Evaluator {
        id: id.into(),
        project_id: project.into(),
        score_name: format!("score-{id}"),
        template_name: "helpfulness".into(),
        template_version: 1,
        connection_id: "conn-1".into(),
        model: Some("gpt-4o".into()),
        target: EvalTarget::Observation {
            observation_type: Some(ObservationType::Generation),
            name: Some("answer".into()),
        },
        filter: EvalFilter {
            name: Some("qa".into()),
            tags: vec!["prod".into()],
            ..EvalFilter::default()
        },
        sampling_rate: 0.25,
        variable_mapping: BTreeMap::from([
            ("input".to_string(), "observation.input".to_string()),
            ("output".to_string(), "observation.output".to_string()),
        ]),
        settle_window: Duration::from_millis(1500),
        active,
        version: 1,
        created_at: at(seconds),
        updated_at: at(seconds),
    }
}

fn job(id: &str, evaluator_id: &str, seconds: i64) -> EvalJob {
    EvalJob {
        id: id.into(),
        project_id: "p".into(),
        evaluator_id: evaluator_id.into(),
        evaluator_version: 1,
        target: TargetRef::DatasetRunItem {
            trace_id: format!("trace-{id}"),
            observation_id: format!("obs-{id}"),
            dataset_item_id: "item-1".into(),
            dataset_run_id: "run-1".into(),
        },
        not_before: at(seconds + 2),
        created_at: at(seconds),
    }
}

pub(crate) async fn connections_are_unique_by_name_and_isolated_per_project(
    backend: &impl Backend,
) {
    let store = backend.store();
    let first = connection("p", "conn-1", "openai");
    store.create_connection(&first).await.unwrap();
    store
        .create_connection(&connection("p", "conn-2", "litellm"))
        .await
        .unwrap();
    store
        .create_connection(&connection("q", "conn-1", "openai"))
        .await
        .unwrap();
    let error = store
        .create_connection(&connection("p", "conn-3", "openai"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, BackendError::AlreadyExists { .. }),
        "{error:?}"
    );

    assert_eq!(
        store.get_connection("p", "conn-1").await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.get_connection("p", "missing").await.unwrap(), None);
    let names: Vec<String> = store
        .list_connections("p")
        .await
        .unwrap()
        .into_iter()
        .map(|connection| connection.name)
        .collect();
    assert_eq!(names, ["litellm", "openai"]);

    assert!(store.delete_connection("p", "conn-1").await.unwrap());
    assert!(!store.delete_connection("p", "conn-1").await.unwrap());
    assert_eq!(store.get_connection("p", "conn-1").await.unwrap(), None);
    assert!(store.get_connection("q", "conn-1").await.unwrap().is_some());
}

pub(crate) async fn template_versions_count_up_per_name(backend: &impl Backend) {
    let store = backend.store();
    let numeric = OutputSpec::Numeric {
        min: Some(0.0),
        max: Some(1.0),
    };
    let first = store
        .create_template_version(&template("p", "t1", "helpfulness", numeric.clone()))
        .await
        .unwrap();
    assert_eq!(first.version, 1);
    let categorical = OutputSpec::Categorical {
        categories: vec!["good".into(), "bad".into()],
    };
    let second = store
        .create_template_version(&template("p", "t2", "helpfulness", categorical.clone()))
        .await
        .unwrap();
    assert_eq!(second.version, 2);
    let other = store
        .create_template_version(&template("p", "t3", "conciseness", OutputSpec::Boolean))
        .await
        .unwrap();
    assert_eq!(other.version, 1);
    store
        .create_template_version(&template("q", "t4", "helpfulness", OutputSpec::Boolean))
        .await
        .unwrap();

    assert_eq!(
        store.get_template("p", "helpfulness", None).await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        store
            .get_template("p", "helpfulness", Some(1))
            .await
            .unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store
            .get_template("p", "helpfulness", Some(3))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.get_template("p", "missing", None).await.unwrap(),
        None
    );
    let listed: Vec<(String, i64)> = store
        .list_templates("p")
        .await
        .unwrap()
        .into_iter()
        .map(|template| (template.name, template.version))
        .collect();
    assert_eq!(
        listed,
        [
            ("conciseness".to_string(), 1),
            ("helpfulness".to_string(), 1),
            ("helpfulness".to_string(), 2)
        ]
    );
}

pub(crate) async fn concurrent_template_creates_get_distinct_versions(backend: &impl Backend) {
    let first = backend.store().clone();
    let second = backend.open_again().await;
    let creates = (0..10).map(|index| {
        let store = if index % 2 == 0 { &first } else { &second };
        let template = template("p", &format!("t{index}"), "busy", OutputSpec::Boolean);
        async move { store.create_template_version(&template).await }
    });
    let mut versions: Vec<i64> = futures::future::join_all(creates)
        .await
        .into_iter()
        .map(|template| template.unwrap().version)
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=10).collect::<Vec<i64>>());
}

pub(crate) async fn evaluators_round_trip_and_update_optimistically(backend: &impl Backend) {
    let store = backend.store();
    let active = evaluator("p", "e1", 0, true);
    let paused = evaluator("p", "e2", 1, false);
    let foreign = evaluator("q", "e3", 2, true);
    for evaluator in [&active, &paused, &foreign] {
        store.create_evaluator(evaluator).await.unwrap();
    }
    assert_eq!(
        store.get_evaluator("p", "e1").await.unwrap(),
        Some(active.clone())
    );
    assert_eq!(store.get_evaluator("q", "e1").await.unwrap(), None);
    assert_eq!(
        store.list_evaluators("p").await.unwrap(),
        vec![paused.clone(), active.clone()]
    );
    assert_eq!(
        store.list_active_evaluators().await.unwrap(),
        vec![active.clone(), foreign.clone()]
    );

    let mut updated = active.clone();
    updated.version = 2;
    updated.sampling_rate = 1.0;
    updated.model = None;
    updated.target = EvalTarget::Trace;
    updated.active = false;
    updated.updated_at = at(10);
    assert!(store.update_evaluator(&updated).await.unwrap());
    assert_eq!(
        store.get_evaluator("p", "e1").await.unwrap(),
        Some(updated.clone())
    );
    // A writer that read version 1 lost the race: its update is refused.
    let stale = Evaluator {
        score_name: "stale".into(),
        version: 2,
        ..active.clone()
    };
    assert!(!store.update_evaluator(&stale).await.unwrap());
    assert_eq!(store.list_active_evaluators().await.unwrap(), vec![foreign]);

    assert!(store.delete_evaluator("p", "e1").await.unwrap());
    assert!(!store.delete_evaluator("p", "e1").await.unwrap());
    assert_eq!(store.list_evaluators("p").await.unwrap(), vec![paused]);
}

pub(crate) async fn jobs_register_once_and_claim_exclusively(backend: &impl Backend) {
    let store = backend.store();
    let queued = job("j1", "e1", 0);
    assert_eq!(
        store
            .register_job(&queued, JobStatus::Queued, "records/0/10")
            .await
            .unwrap(),
        JobRegistration::Created
    );
    // A replayed record registers nothing new and learns where the job came from.
    assert_eq!(
        store
            .register_job(&queued, JobStatus::Queued, "records/0/99")
            .await
            .unwrap(),
        JobRegistration::Existing {
            status: JobStatus::Queued,
            origin: "records/0/10".into()
        }
    );
    let unsampled = job("j2", "e1", 1);
    store
        .register_job(&unsampled, JobStatus::Unsampled, "records/0/11")
        .await
        .unwrap();

    assert_eq!(
        store.claim_job("j1", at(5), at(65)).await.unwrap(),
        JobClaim::Claimed
    );
    assert_eq!(
        store.claim_job("j1", at(6), at(66)).await.unwrap(),
        JobClaim::Busy
    );
    // An expired lease can be taken over.
    assert_eq!(
        store.claim_job("j1", at(70), at(130)).await.unwrap(),
        JobClaim::Claimed
    );
    assert_eq!(
        store.claim_job("j2", at(5), at(65)).await.unwrap(),
        JobClaim::Final(JobStatus::Unsampled)
    );
    assert_eq!(
        store.claim_job("missing", at(5), at(65)).await.unwrap(),
        JobClaim::Missing
    );

    let running = store.get_job("p", "j1").await.unwrap().unwrap();
    assert_eq!(running.status, JobStatus::Running);
    assert_eq!(running.job, queued);
    assert_eq!(running.updated_at, at(70));
    assert_eq!(store.get_job("q", "j1").await.unwrap(), None);

    let outcome = JobOutcome {
        message: Some("clear and correct".into()),
        score_id: Some("score-1".into()),
        score_value: Some(0.75),
        score_label: Some("good".into()),
        prompt_tokens: Some(120),
        completion_tokens: Some(30),
        latency_ms: Some(850),
        attempts: 2,
        ..JobOutcome::default()
    };
    store
        .finish_job("j1", JobStatus::Succeeded, &outcome, at(80))
        .await
        .unwrap();
    let finished = store.get_job("p", "j1").await.unwrap().unwrap();
    assert_eq!(finished.status, JobStatus::Succeeded);
    assert_eq!(finished.outcome, outcome);
    assert_eq!(finished.updated_at, at(80));
    assert_eq!(
        store.claim_job("j1", at(200), at(260)).await.unwrap(),
        JobClaim::Final(JobStatus::Succeeded)
    );
}

pub(crate) async fn concurrent_claims_have_one_winner(backend: &impl Backend) {
    let first = backend.store().clone();
    let second = backend.open_again().await;
    first
        .register_job(&job("j1", "e1", 0), JobStatus::Queued, "records/0/1")
        .await
        .unwrap();
    let claims = (0..8).map(|index| {
        let store = if index % 2 == 0 { &first } else { &second };
        async move { store.claim_job("j1", at(5), at(65)).await }
    });
    let results: Vec<JobClaim> = futures::future::join_all(claims)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let winners = results
        .iter()
        .filter(|claim| **claim == JobClaim::Claimed)
        .count();
    assert_eq!(winners, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|claim| matches!(claim, JobClaim::Claimed | JobClaim::Busy))
    );
}

pub(crate) async fn jobs_list_newest_first_and_feed_the_funnel(backend: &impl Backend) {
    let store = backend.store();
    let statuses = [
        ("j1", JobStatus::Queued),
        ("j2", JobStatus::Unsampled),
        ("j3", JobStatus::Queued),
        ("j4", JobStatus::Queued),
        ("j5", JobStatus::Queued),
    ];
    for (index, (id, status)) in statuses.iter().enumerate() {
        let seconds = i64::try_from(index).unwrap();
        store
            .register_job(&job(id, "e1", seconds), *status, "records/0/1")
            .await
            .unwrap();
    }
    store
        .register_job(&job("other", "e2", 9), JobStatus::Queued, "records/0/2")
        .await
        .unwrap();
    let failed = |reason: &str| JobOutcome {
        failure_reason: Some(reason.into()),
        message: Some("judge said no".into()),
        attempts: 3,
        ..JobOutcome::default()
    };
    store
        .finish_job("j3", JobStatus::Failed, &failed("timeout"), at(20))
        .await
        .unwrap();
    store
        .finish_job("j4", JobStatus::Succeeded, &JobOutcome::default(), at(20))
        .await
        .unwrap();
    store.claim_job("j5", at(20), at(80)).await.unwrap();

    let page = store
        .list_jobs("p", "e1", None, PageRequest { page: 1, limit: 2 })
        .await
        .unwrap();
    assert_eq!(page.total_items, 4, "unsampled matches are not jobs");
    let ids: Vec<&str> = page.items.iter().map(|job| job.job.id.as_str()).collect();
    assert_eq!(ids, ["j5", "j4"]);
    let unsampled = store
        .list_jobs(
            "p",
            "e1",
            Some(JobStatus::Unsampled),
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(unsampled.total_items, 1);
    assert_eq!(unsampled.items[0].job.id, "j2");
    let failed_jobs = store
        .list_jobs("p", "e1", Some(JobStatus::Failed), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(failed_jobs.items[0].outcome, failed("timeout"));
    assert_eq!(
        store
            .list_jobs("q", "e1", None, PageRequest::default())
            .await
            .unwrap()
            .total_items,
        0
    );

    let funnel = store.funnel("p", "e1").await.unwrap();
    assert_eq!(funnel.matched, 5);
    assert_eq!(funnel.sampled, 4);
    assert_eq!(funnel.queued, 4);
    assert_eq!(funnel.pending, 2);
    assert_eq!(funnel.scored, 1);
    assert_eq!(funnel.failed, 1);
    assert_eq!(
        funnel.failed_by_reason,
        BTreeMap::from([("timeout".to_string(), 1)])
    );
    assert_eq!(store.funnel("p", "e2").await.unwrap().matched, 1);
}
