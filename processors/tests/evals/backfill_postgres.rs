//! The backfill worker with its state in the Postgres meta store (`PERISCOPE__POSTGRES__URL`,
//! a database of its own per test run): exact counts across a pause, a crash and a rerun.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use periscope_core::config::PostgresConfig;
use periscope_core::evals::backfill::{
    Backfill, BackfillBudget, BackfillRequest, BackfillState, plan_backfill,
};
use periscope_core::evals::{EvalFilter, EvalStore};
use periscope_core::model::TraceRecord;
use periscope_processors::evals::backfill::{BackfillSettings, BackfillWorker};
use periscope_sinks::PostgresMetaStore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::backfill_harness::{
    distinct, history_start, history_trace, jobs_on_topic, write_history,
};
use super::harness::{Harness, PROJECT, eventually};

/// A database `periscope_test_backfill_<random>` on the test server, dropped at the end.
struct Database {
    server_url: String,
    name: String,
}

impl Database {
    fn create() -> Self {
        let url = std::env::var("PERISCOPE__POSTGRES__URL").unwrap_or_else(|_| {
            panic!(
                "PERISCOPE__POSTGRES__URL is not set: start the services: \
                 eval \"$(deploy/dev-services.sh start)\""
            )
        });
        let server_url = url
            .rsplit_once('/')
            .map(|(server, _)| server.to_owned())
            .unwrap();
        let name = format!(
            "periscope_test_backfill_{}",
            &periscope_core::ids::new_event_id()[..12]
        )
        .replace('-', "_");
        let database = Self { server_url, name };
        database.psql(&format!("CREATE DATABASE {}", database.name));
        database
    }

    fn psql(&self, sql: &str) {
        let status = Command::new("psql")
            .arg(format!("{}/postgres", self.server_url))
            .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
            .status()
            .expect("psql runs");
        assert!(status.success(), "psql failed: {sql}");
    }

    fn url(&self) -> String {
        format!("{}/{}", self.server_url, self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        self.psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

fn worker(harness: &Harness, store: &Arc<dyn EvalStore>) -> BackfillWorker {
    let settings = BackfillSettings {
        page_size: 40,
        poll_interval: Duration::from_millis(20),
        lease: Duration::from_secs(1),
    };
    BackfillWorker::new(
        store.clone(),
        harness.traces.clone(),
        harness.log.clone(),
        settings,
    )
}

async fn wait(store: &Arc<dyn EvalStore>, id: &str, until: impl Fn(&Backfill) -> bool) -> Backfill {
    eventually("backfill progress", Duration::from_secs(60), || {
        let store = store.clone();
        let until = &until;
        async move {
            let found = store.get_backfill(PROJECT, id).await.unwrap()?;
            until(&found).then_some(found)
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_on_postgres_resumes_after_pause_and_crash_with_exact_counts() {
    let database = Database::create();
    let config = PostgresConfig {
        url: database.url(),
        max_connections: 4,
    };
    let postgres = Arc::new(PostgresMetaStore::connect(&config).await.unwrap());
    let store: Arc<dyn EvalStore> = postgres.clone();
    let harness = Harness::new().await;
    let traces: Vec<TraceRecord> = (0..1500).map(|i| history_trace(i, 4, "pg")).collect();
    write_history(harness.traces.as_ref(), traces).await;
    let connection = harness.create_connection().await;
    let template = harness.create_hallucination_template().await;
    let evaluator = harness
        .create_evaluator(&template, &connection, "pg", 1.0)
        .await;
    store.create_connection(&connection).await.unwrap();
    store.create_template_version(&template).await.unwrap();
    store.create_evaluator(&evaluator).await.unwrap();

    let request = BackfillRequest {
        project_id: PROJECT.into(),
        evaluator_id: evaluator.id.clone(),
        from: history_start(),
        to: history_start() + chrono::Duration::days(1),
        filter: EvalFilter::default(),
        budget: BackfillBudget::default(),
    };
    let backfill = plan_backfill(
        store.as_ref(),
        harness.traces.as_ref(),
        &[],
        request.clone(),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(backfill.estimate.expected_jobs, 1500);
    store.create_backfill(&backfill).await.unwrap();

    let mut tasks = JoinSet::new();
    let first = worker(&harness, &store);
    let handle = tasks.spawn(async move { first.run(CancellationToken::new()).await.unwrap() });
    wait(&store, &backfill.id, |b| b.done >= 300).await;
    // Pause: the worker saves its page, sees the state and lets go.
    assert!(
        store
            .transition_backfill(
                PROJECT,
                &backfill.id,
                &[BackfillState::Running],
                BackfillState::Paused,
                None,
                Utc::now()
            )
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let paused = store
        .get_backfill(PROJECT, &backfill.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(paused.state, BackfillState::Paused);
    assert_eq!(jobs_on_topic(&harness).await.len() as u64, paused.emitted);
    store
        .transition_backfill(
            PROJECT,
            &backfill.id,
            &[BackfillState::Paused],
            BackfillState::Running,
            None,
            Utc::now(),
        )
        .await
        .unwrap();
    // Crash mid-way, then a new worker takes over after the lease.
    wait(&store, &backfill.id, |b| b.done >= 900).await;
    handle.abort();
    let _ = tasks.join_next().await;
    let second = worker(&harness, &store);
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    tasks.spawn(async move { second.run(token).await.unwrap() });
    let done = wait(&store, &backfill.id, |b| {
        b.state == BackfillState::Completed
    })
    .await;
    assert_eq!(
        (done.total, done.done, done.emitted, done.skipped),
        (1500, 1500, 1500, 0)
    );
    let jobs = jobs_on_topic(&harness).await;
    assert_eq!(distinct(&jobs), 1500);
    assert!(
        jobs.len() - 1500 <= 40,
        "{} jobs emitted twice",
        jobs.len() - 1500
    );

    // A rerun finds every job registered.
    let again = plan_backfill(
        store.as_ref(),
        harness.traces.as_ref(),
        &[],
        request,
        Utc::now(),
    )
    .await
    .unwrap();
    store.create_backfill(&again).await.unwrap();
    let again = wait(&store, &again.id, |b| b.state == BackfillState::Completed).await;
    assert_eq!((again.emitted, again.skipped), (0, 1500));
    let listed = store
        .list_backfills(PROJECT, &evaluator.id, Default::default())
        .await
        .unwrap();
    assert_eq!(listed.total_items, 2);
    assert_eq!(listed.items[0].id, again.id);
    let funnel = store.funnel(PROJECT, &evaluator.id).await.unwrap();
    assert_eq!((funnel.matched, funnel.queued), (1500, 1500));
    cancel.cancel();
    tasks.join_next().await.unwrap().unwrap();
    drop(postgres);
}
