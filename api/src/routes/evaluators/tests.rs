//! The evaluator routes' logic against a real SQLite meta store.

use std::sync::Arc;

use chrono::Utc;
use periscope_core::evals::{
    EvalJob, EvalServices, EvalStore, JobOutcome, JobStatus, LlmConnection, SecretCipher,
    TargetRef, job_id,
};
use periscope_sinks::sqlite::SqliteMetaStore;
use serde_json::{Value, json};

use super::connections::create_connection;
use super::crud::{create_evaluator, update_evaluator};
use super::jobs::{evaluator_funnel, evaluator_jobs};
use super::templates::create_template;
use crate::error::ApiError;

const KEY: &str = "5f1a0c2b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a";

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<SqliteMetaStore>,
    evals: EvalServices,
}

async fn fixture(cipher: SecretCipher) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteMetaStore::open(&dir.path().join("meta.db"))
            .await
            .unwrap(),
    );
    let evals = EvalServices::new(store.clone(), cipher);
    Fixture {
        _dir: dir,
        store,
        evals,
    }
}

fn body(value: Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

fn message(error: ApiError) -> String {
    error.to_string()
}

#[tokio::test]
async fn connections_seal_their_key_and_show_only_a_preview() {
    let without_key = fixture(SecretCipher::from_hex(None)).await;
    let request = json!({"name": "judge", "baseURL": "http://127.0.0.1:9/v1/",
        "defaultModel": "gpt-4o-mini", "apiKey": "sk-test-0123456789abcdef"});
    let error = create_connection(&without_key.evals, "p", &body(request.clone()))
        .await
        .unwrap_err();
    assert!(matches!(error, ApiError::Rejected(_)));
    let text = message(error);
    assert!(text.contains("PERISCOPE_ENCRYPTION_KEY"), "{text}");
    assert!(text.contains("openssl rand -hex 32"), "{text}");

    let fixture = fixture(SecretCipher::from_hex(Some(KEY))).await;
    let view = create_connection(&fixture.evals, "p", &body(request.clone()))
        .await
        .unwrap();
    assert_eq!(view.base_url, "http://127.0.0.1:9/v1");
    assert_eq!(view.display_secret_key, "sk-…cdef");
    let shown = serde_json::to_string(&view).unwrap();
    assert!(!shown.contains("0123456789"), "{shown}");
    let stored = fixture
        .store
        .get_connection("p", &view.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.sealed_api_key.contains("sk-test"));
    let context = LlmConnection::seal_context("p", &view.id);
    let opened = fixture.evals.cipher.open(&stored.sealed_api_key, &context);
    assert_eq!(opened.unwrap(), "sk-test-0123456789abcdef");

    let duplicate = create_connection(&fixture.evals, "p", &body(request)).await;
    assert!(message(duplicate.unwrap_err()).contains("exists already"));
    let bad_url = json!({"name": "x", "baseURL": "ftp://host", "defaultModel": "m"});
    let error = create_connection(&fixture.evals, "p", &body(bad_url)).await;
    assert!(message(error.unwrap_err()).contains("baseURL"));
    let missing = json!({"name": "x", "baseURL": "http://h"});
    let error = create_connection(&fixture.evals, "p", &body(missing)).await;
    assert!(message(error.unwrap_err()).contains("defaultModel"));
    // Another project sees nothing.
    assert!(
        fixture
            .store
            .get_connection("q", &view.id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn templates_version_by_name_and_reserve_builtin_names() {
    let fixture = fixture(SecretCipher::from_hex(Some(KEY))).await;
    let template = json!({"name": "tone", "prompt": "Rate {{output}}", "outputType": "CATEGORICAL",
        "categories": ["polite", "rude"]});
    let first = create_template(&fixture.evals, "p", &body(template.clone()))
        .await
        .unwrap();
    let second = create_template(&fixture.evals, "p", &body(template))
        .await
        .unwrap();
    assert_eq!((first.version, second.version), (1, 2));
    assert_eq!(second.variables, ["output"]);
    assert_eq!(
        second.categories.as_deref(),
        Some(&["polite".to_owned(), "rude".to_owned()][..])
    );
    let other_project = json!({"name": "tone", "prompt": "{{input}}", "outputType": "BOOLEAN"});
    let other = create_template(&fixture.evals, "q", &body(other_project))
        .await
        .unwrap();
    assert_eq!(other.version, 1);

    for (request, fragment) in [
        (
            json!({"name": "hallucination", "prompt": "{{x}}", "outputType": "NUMERIC"}),
            "built-in",
        ),
        (
            json!({"name": "c", "prompt": "{{x}}", "outputType": "CATEGORICAL"}),
            "categories",
        ),
        (
            json!({"name": "n", "prompt": "no variables", "outputType": "NUMERIC"}),
            "variable",
        ),
        (
            json!({"name": "n", "prompt": "{{x}}", "outputType": "TEXT"}),
            "unknown variant",
        ),
    ] {
        let error = create_template(&fixture.evals, "p", &body(request))
            .await
            .unwrap_err();
        assert!(message(error).contains(fragment), "{fragment}");
    }
}

async fn connection_id(fixture: &Fixture) -> String {
    let request = json!({"name": "judge", "baseURL": "http://127.0.0.1:9/v1",
        "defaultModel": "judge-model"});
    create_connection(&fixture.evals, "p", &body(request))
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn evaluators_check_their_references_and_every_patch_is_a_new_version() {
    let fixture = fixture(SecretCipher::from_hex(None)).await;
    let connection = connection_id(&fixture).await;
    let request = json!({"scoreName": "faithfulness", "templateName": "hallucination",
        "connectionId": connection, "samplingRate": 0.5,
        "filter": {"tags": ["prod"], "metadata": {"tier": "gold"}},
        "variableMapping": {"context": "metadata.reference_context"}});
    let created = create_evaluator(&fixture.evals, "p", &body(request.clone()))
        .await
        .unwrap();
    assert_eq!((created.version, created.template_version), (1, 1));
    assert_eq!(created.settle_window_ms, 10_000);
    let view = serde_json::to_value(&created).unwrap();
    assert_eq!(view["target"], json!({"type": "trace"}));
    assert_eq!(view["filter"]["tags"], json!(["prod"]));

    let mut broken = request.clone();
    broken["connectionId"] = json!("nope");
    let error = create_evaluator(&fixture.evals, "p", &body(broken))
        .await
        .unwrap_err();
    assert!(message(error).contains("connectionId"));
    let mut broken = request.clone();
    broken["templateName"] = json!("missing");
    let error = create_evaluator(&fixture.evals, "p", &body(broken))
        .await
        .unwrap_err();
    assert!(message(error).contains("templateName"));
    let mut broken = request;
    broken["filter"] = json!({"model": "gpt-4o"});
    let error = create_evaluator(&fixture.evals, "p", &body(broken))
        .await
        .unwrap_err();
    assert!(message(error).contains("filter.model"));

    let patched = update_evaluator(
        &fixture.evals,
        "p",
        &created.id,
        &body(json!({"active": false, "model": "judge-2"})),
    )
    .await
    .unwrap();
    assert_eq!((patched.version, patched.active), (2, false));
    assert_eq!(patched.model.as_deref(), Some("judge-2"));
    let cleared = update_evaluator(
        &fixture.evals,
        "p",
        &created.id,
        &body(json!({"model": null})),
    )
    .await
    .unwrap();
    assert_eq!((cleared.version, cleared.model), (3, None));
    let error = update_evaluator(
        &fixture.evals,
        "p",
        &created.id,
        &body(json!({"samplingRate": 2})),
    )
    .await
    .unwrap_err();
    assert!(message(error).contains("samplingRate"));
    let error = update_evaluator(&fixture.evals, "q", &created.id, &body(json!({})))
        .await
        .unwrap_err();
    assert!(matches!(error, ApiError::NamedNotFound { .. }));
    let stored = fixture
        .store
        .get_evaluator("p", &created.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, 3);
    assert!(
        fixture
            .store
            .list_active_evaluators()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_funnel_and_job_list_show_every_job_fate() {
    let fixture = fixture(SecretCipher::from_hex(None)).await;
    let connection = connection_id(&fixture).await;
    let request = json!({"scoreName": "relevance", "templateName": "relevance",
        "connectionId": connection});
    let evaluator = create_evaluator(&fixture.evals, "p", &body(request))
        .await
        .unwrap();
    let now = Utc::now();
    let job = |trace: &str| EvalJob {
        id: job_id(&evaluator.id, 1, trace),
        project_id: "p".into(),
        evaluator_id: evaluator.id.clone(),
        evaluator_version: 1,
        target: TargetRef::Trace {
            trace_id: trace.into(),
        },
        not_before: now,
        created_at: now,
    };
    let store = &fixture.store;
    for (trace, status) in [
        ("t1", JobStatus::Queued),
        ("t2", JobStatus::Queued),
        ("t3", JobStatus::Queued),
        ("t4", JobStatus::Unsampled),
    ] {
        store
            .register_job(&job(trace), status, "records/0/1")
            .await
            .unwrap();
    }
    let scored = JobOutcome {
        score_value: Some(1.0),
        attempts: 1,
        ..JobOutcome::default()
    };
    store
        .finish_job(&job("t1").id, JobStatus::Succeeded, &scored, now)
        .await
        .unwrap();
    let failed = JobOutcome {
        failure_reason: Some("timeout".into()),
        attempts: 4,
        ..JobOutcome::default()
    };
    store
        .finish_job(&job("t2").id, JobStatus::Failed, &failed, now)
        .await
        .unwrap();

    let funnel = evaluator_funnel(&fixture.evals, "p", &evaluator.id)
        .await
        .unwrap();
    assert_eq!(
        (
            funnel.matched,
            funnel.sampled,
            funnel.queued,
            funnel.pending
        ),
        (4, 3, 3, 1)
    );
    assert_eq!((funnel.scored, funnel.failed), (1, 1));
    assert_eq!(funnel.failed_by_reason.get("timeout"), Some(&1));

    let all = evaluator_jobs(&fixture.evals, "p", &evaluator.id, None)
        .await
        .unwrap();
    assert_eq!(all.data.len(), 3);
    let failed = evaluator_jobs(&fixture.evals, "p", &evaluator.id, Some("status=failed"))
        .await
        .unwrap();
    assert_eq!(failed.data.len(), 1);
    let view = serde_json::to_value(&failed.data[0]).unwrap();
    assert_eq!(view["failureReason"], "timeout");
    assert_eq!(view["target"], json!({"kind": "trace", "traceId": "t2"}));
    let error = evaluator_jobs(&fixture.evals, "p", &evaluator.id, Some("status=done"))
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        ApiError::InvalidParameter { name: "status", .. }
    ));
    let error = evaluator_funnel(&fixture.evals, "q", &evaluator.id)
        .await
        .unwrap_err();
    assert!(matches!(error, ApiError::NamedNotFound { .. }));
}
