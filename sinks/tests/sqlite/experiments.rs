//! The experiment index of the trace store: dataset runs found in `langfuse.experiment.*`
//! observation metadata, as the Langfuse v5 SDK sends it.

use periscope_core::datasets::{ExperimentIndex, experiment_keys};
use periscope_core::model::{ObservationRecord, Record};
use periscope_core::store::TraceStore;
use periscope_sinks::SqliteTraceStore;
use serde_json::{Value, json};

use crate::common::{at, execute_raw, observation, open_store};

/// A span of the item `item` run in `trace`, carrying the experiment keys of run `run`.
fn experiment_span(
    project: &str,
    id: &str,
    trace: &str,
    item: &str,
    run: (&str, &str),
    start: i64,
) -> ObservationRecord {
    let mut span = observation(project, id, trace, at(start));
    let keys = [
        (experiment_keys::RUN_ID, run.0),
        (experiment_keys::RUN_NAME, run.1),
        (experiment_keys::DATASET_ID, "ds-1"),
        (experiment_keys::ITEM_ID, item),
        (
            experiment_keys::ROOT_OBSERVATION_ID,
            &format!("task-{trace}"),
        ),
    ];
    for (key, value) in keys {
        span.metadata.insert(key.to_owned(), json!(value));
    }
    span
}

/// The spans of one item: the root (described), the task and an evaluator.
fn item_trace(project: &str, trace: &str, item: &str, start: i64) -> Vec<Record> {
    let run = ("5f0c2a91d3b7e84a", "baseline");
    let mut root = experiment_span(project, &format!("root-{trace}"), trace, item, run, start);
    root.metadata.insert(
        experiment_keys::DESCRIPTION.to_owned(),
        json!("lookup baseline"),
    );
    let mut task = experiment_span(
        project,
        &format!("task-{trace}"),
        trace,
        item,
        run,
        start + 1,
    );
    task.metadata.insert(
        experiment_keys::METADATA.to_owned(),
        json!("{\"model\": \"lookup-table\"}"),
    );
    let evaluator = experiment_span(
        project,
        &format!("eval-{trace}"),
        trace,
        item,
        run,
        start + 2,
    );
    [root, task, evaluator]
        .into_iter()
        .map(Record::Observation)
        .collect()
}

#[tokio::test]
async fn experiment_spans_become_one_run_item_per_item_and_trace() {
    let test = open_store().await;
    let store = &test.store;
    let mut batch = item_trace("p", "trace-1", "item-1", 10);
    batch.extend(item_trace("p", "trace-2", "item-2", 20));
    // Another project's run of the same dataset id stays there.
    batch.extend(item_trace("q", "trace-9", "item-1", 30));
    // An experiment over local data names no dataset: no dataset run.
    let mut local = observation("p", "local", "trace-3", at(40));
    local
        .metadata
        .insert(experiment_keys::RUN_ID.to_owned(), json!("local-run"));
    local
        .metadata
        .insert(experiment_keys::RUN_NAME.to_owned(), json!("local"));
    local
        .metadata
        .insert(experiment_keys::ITEM_ID.to_owned(), json!("x"));
    batch.push(Record::Observation(local));
    store.write(batch.clone()).await.unwrap();

    let runs = store.experiment_runs("p", "ds-1").await.unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.id, "5f0c2a91d3b7e84a");
    assert_eq!(run.name, "baseline");
    assert_eq!(run.dataset_id, "ds-1");
    assert_eq!(run.description.as_deref(), Some("lookup baseline"));
    assert_eq!(run.metadata, Some(json!({"model": "lookup-table"})));
    assert_eq!((run.created_at, run.updated_at), (at(10), at(22)));

    let with_items = store
        .experiment_run("p", "ds-1", "baseline")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&with_items.run, run);
    let items: Vec<(&str, &str, Option<&str>)> = with_items
        .items
        .iter()
        .map(|item| {
            (
                item.dataset_item_id.as_str(),
                item.trace_id.as_str(),
                item.observation_id.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        items,
        [
            ("item-1", "trace-1", Some("task-trace-1")),
            ("item-2", "trace-2", Some("task-trace-2")),
        ]
    );
    assert!(
        with_items
            .items
            .iter()
            .all(|item| item.dataset_run_name == "baseline")
    );
    assert_eq!(with_items.items[0].created_at, at(10));

    // Project isolation, and no runs for unknown datasets or names.
    assert_eq!(store.experiment_runs("q", "ds-1").await.unwrap().len(), 1);
    assert!(store.experiment_runs("r", "ds-1").await.unwrap().is_empty());
    assert!(store.experiment_runs("p", "ds-2").await.unwrap().is_empty());
    assert_eq!(
        store.experiment_run("p", "ds-1", "other").await.unwrap(),
        None
    );

    // Replaying the batch changes nothing; the item ids are stable.
    store.write(batch).await.unwrap();
    let replayed = store.experiment_run("p", "ds-1", "baseline").await.unwrap();
    assert_eq!(replayed.as_ref(), Some(&with_items));

    assert!(
        store
            .delete_experiment_run("p", "ds-1", "baseline")
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_experiment_run("p", "ds-1", "baseline")
            .await
            .unwrap()
    );
    assert_eq!(
        store.experiment_run("p", "ds-1", "baseline").await.unwrap(),
        None
    );
    assert_eq!(store.experiment_runs("q", "ds-1").await.unwrap().len(), 1);
}

#[tokio::test]
async fn spans_of_one_item_merge_across_batches_in_any_order() {
    let test = open_store().await;
    let store = &test.store;
    let mut spans = item_trace("p", "trace-1", "item-1", 10);
    // The evaluator span arrives first, the described root last.
    spans.reverse();
    for span in spans {
        store.write(vec![span]).await.unwrap();
    }
    let run = store
        .experiment_run("p", "ds-1", "baseline")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.items.len(), 1);
    assert_eq!(run.run.description.as_deref(), Some("lookup baseline"));
    assert_eq!(run.items[0].created_at, at(10));
    assert_eq!(run.items[0].updated_at, at(12));
}

async fn experiment_run_count(store: &SqliteTraceStore) -> usize {
    store
        .experiment_run("p", "ds-1", "baseline")
        .await
        .unwrap()
        .map_or(0, |run| run.items.len())
}

#[tokio::test]
async fn the_migration_indexes_experiment_spans_stored_before_it() {
    let test = open_store().await;
    let mut spans = item_trace("p", "trace-1", "item-1", 10);
    if let Record::Observation(root) = &mut spans[0] {
        // An observation without a start time falls back to its event time.
        root.start_time = None;
        root.event_time = at(5);
    }
    test.store.write(spans).await.unwrap();
    assert_eq!(experiment_run_count(&test.store).await, 1);
    drop(test.store);
    // Roll the database back to before migration 4.
    execute_raw(&test.path, "DROP TABLE experiment_items").await;
    execute_raw(
        &test.path,
        "DELETE FROM schema_migrations WHERE version = 4",
    )
    .await;

    let reopened = SqliteTraceStore::open(&test.path).await.unwrap();
    let run = reopened
        .experiment_run("p", "ds-1", "baseline")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.run.id, "5f0c2a91d3b7e84a");
    assert_eq!(run.run.description.as_deref(), Some("lookup baseline"));
    assert_eq!(run.run.metadata, Some(json!({"model": "lookup-table"})));
    assert_eq!(run.items.len(), 1);
    assert_eq!(run.items[0].observation_id.as_deref(), Some("task-trace-1"));
    assert_eq!(run.items[0].created_at, at(5));
    assert_eq!(run.items[0].updated_at, at(12));
}

#[tokio::test]
async fn non_string_experiment_keys_are_ignored() {
    let test = open_store().await;
    let mut span = experiment_span("p", "s", "t", "item-1", ("r", "baseline"), 1);
    span.metadata
        .insert(experiment_keys::ITEM_ID.to_owned(), Value::from(17));
    test.store
        .write(vec![Record::Observation(span)])
        .await
        .unwrap();
    assert_eq!(experiment_run_count(&test.store).await, 0);
}
