//! The experiment index of the trace stores: dataset runs found in `langfuse.experiment.*`
//! observation metadata, as the Langfuse v5 SDK sends it.

use periscope_core::datasets::{ExperimentIndex, experiment_keys};
use periscope_core::model::{ObservationRecord, Record};
use periscope_core::store::TraceStore;
use serde_json::json;

use crate::common::{at, clickhouse, observation};

/// A span of the item `item` run in `trace`, carrying the experiment keys of run `run_name`.
fn experiment_span(project: &str, id: &str, trace: &str, item: &str, start: i64) -> Record {
    let mut span: ObservationRecord = observation(project, id, trace, at(start));
    let root = format!("task-{trace}");
    let keys = [
        (experiment_keys::RUN_ID, "5f0c2a91d3b7e84a"),
        (experiment_keys::RUN_NAME, "baseline"),
        (experiment_keys::DATASET_ID, "ds-1"),
        (experiment_keys::ITEM_ID, item),
        (experiment_keys::ROOT_OBSERVATION_ID, root.as_str()),
    ];
    for (key, value) in keys {
        span.metadata.insert(key.to_owned(), json!(value));
    }
    if id.starts_with("root") {
        let description = json!("lookup baseline");
        span.metadata
            .insert(experiment_keys::DESCRIPTION.to_owned(), description);
    }
    if id.starts_with("task") {
        let metadata = json!("{\"model\": \"lookup-table\"}");
        span.metadata
            .insert(experiment_keys::METADATA.to_owned(), metadata);
    }
    Record::Observation(span)
}

fn item_trace(project: &str, trace: &str, item: &str, start: i64) -> Vec<Record> {
    ["root", "task", "eval"]
        .iter()
        .zip(0..)
        .map(|(kind, n)| {
            experiment_span(project, &format!("{kind}-{trace}"), trace, item, start + n)
        })
        .collect()
}

/// Writes two items of run `baseline` in `p` (and one in `q`), twice, and returns what the
/// index shows.
async fn index_of<S: TraceStore + ExperimentIndex>(store: &S) -> String {
    let mut batch = item_trace("p", "trace-1", "item-1", 10);
    batch.extend(item_trace("p", "trace-2", "item-2", 20));
    batch.extend(item_trace("q", "trace-9", "item-1", 30));
    store.write(batch.clone()).await.unwrap();
    store.write(batch).await.unwrap();
    let runs = store.experiment_runs("p", "ds-1").await.unwrap();
    let run = store.experiment_run("p", "ds-1", "baseline").await.unwrap();
    let other = store.experiment_runs("q", "ds-1").await.unwrap();
    let missing = store.experiment_run("p", "ds-1", "nope").await.unwrap();
    assert!(
        store
            .delete_experiment_run("q", "ds-1", "baseline")
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_experiment_run("q", "ds-1", "baseline")
            .await
            .unwrap()
    );
    let deleted = store.experiment_runs("q", "ds-1").await.unwrap();
    format!("{runs:?}\n{run:?}\n{other:?}\n{missing:?}\n{deleted:?}")
}

#[tokio::test]
async fn experiment_spans_index_alike_in_both_stores() {
    let directory = tempfile::tempdir().unwrap();
    let sqlite_store = periscope_sinks::SqliteTraceStore::open(&directory.path().join("t.db"))
        .await
        .unwrap();
    let expected = index_of(&sqlite_store).await;
    assert!(expected.contains("lookup baseline") && expected.contains("task-trace-2"));
    let backend = clickhouse().await;
    let store = backend.clickhouse_store().unwrap();
    assert_eq!(index_of(&store).await, expected);
    backend.finish().await;
}
