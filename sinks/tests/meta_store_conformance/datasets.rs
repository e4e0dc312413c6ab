//! `DatasetStore`: datasets, items, runs and run items.

use chrono::{Duration, Utc};
use periscope_core::datasets::{
    Dataset, DatasetItemFilter, DatasetItemStatus, DatasetItemUpsert, DatasetRunItemUpsert,
    DatasetRunUpsert, DatasetStore, DatasetUpsert,
};
use periscope_core::error::BackendError;
use periscope_core::store::PageRequest;
use serde_json::json;

use crate::backends::Backend;

fn dataset_upsert(id: &str, name: &str) -> DatasetUpsert {
    DatasetUpsert {
        id: id.into(),
        name: name.into(),
        ..DatasetUpsert::default()
    }
}

async fn create_dataset(store: &impl DatasetStore, project: &str, name: &str) -> Dataset {
    store
        .upsert_dataset(project, &dataset_upsert(&format!("id-{name}"), name))
        .await
        .unwrap()
}

fn item_upsert(id: &str) -> DatasetItemUpsert {
    DatasetItemUpsert {
        id: id.into(),
        input: Some(json!({"country": id})),
        ..DatasetItemUpsert::default()
    }
}

fn page(page: u64, limit: u64) -> PageRequest {
    PageRequest { page, limit }
}

pub(crate) async fn a_dataset_upsert_creates_once_and_only_set_fields_update_it(
    backend: &impl Backend,
) {
    let store = backend.store();
    let first = DatasetUpsert {
        id: "ds-1".into(),
        name: "qa-set".into(),
        description: Some("capital cities".into()),
        metadata: Some(json!({"owner": "ml-team"})),
        input_schema: Some(json!({"type": "object"})),
        expected_output_schema: None,
    };
    let created = store.upsert_dataset("p", &first).await.unwrap();
    assert_eq!(created.id, "ds-1");
    assert_eq!(created.project_id, "p");
    assert_eq!(created.created_at, created.updated_at);

    // A retry with another candidate id changes nothing, not even updated_at.
    let retried = store
        .upsert_dataset(
            "p",
            &DatasetUpsert {
                id: "ds-2".into(),
                ..first.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(retried, created);

    // Unset fields keep their value; a set field replaces it.
    let updated = store
        .upsert_dataset(
            "p",
            &DatasetUpsert {
                metadata: Some(json!({"owner": "eval-team"})),
                ..dataset_upsert("ds-3", "qa-set")
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.id, "ds-1");
    assert_eq!(updated.description.as_deref(), Some("capital cities"));
    assert_eq!(updated.metadata, Some(json!({"owner": "eval-team"})));
    assert_eq!(updated.input_schema, Some(json!({"type": "object"})));
    assert!(updated.updated_at >= created.updated_at);
    assert_eq!(updated.created_at, created.created_at);
    assert_eq!(
        store.get_dataset("p", "qa-set").await.unwrap(),
        Some(updated)
    );
}

pub(crate) async fn datasets_are_isolated_per_project_and_paginate_newest_first(
    backend: &impl Backend,
) {
    let store = backend.store();
    for name in ["a", "b", "c"] {
        create_dataset(store, "p", name).await;
    }
    assert_eq!(store.get_dataset("other", "a").await.unwrap(), None);
    let other = store
        .upsert_dataset("other", &dataset_upsert("other-a", "a"))
        .await
        .unwrap();
    assert_eq!(other.id, "other-a");
    assert_eq!(
        store.get_dataset("p", "a").await.unwrap().unwrap().id,
        "id-a"
    );

    let first = store.list_datasets("p", page(1, 2)).await.unwrap();
    assert_eq!(first.total_items, 3);
    let names: Vec<&str> = first.items.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["c", "b"]);
    let second = store.list_datasets("p", page(2, 2)).await.unwrap();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.items[0].name, "a");
    assert_eq!(
        store
            .list_datasets("other", page(1, 50))
            .await
            .unwrap()
            .total_items,
        1
    );
}

pub(crate) async fn items_upsert_by_id_within_their_dataset(backend: &impl Backend) {
    let store = backend.store();
    let dataset = create_dataset(store, "p", "qa-set").await;
    let created = store
        .upsert_item("p", &dataset, &item_upsert("item-1"))
        .await
        .unwrap();
    assert_eq!(created.status, DatasetItemStatus::Active);
    assert_eq!(created.dataset_name, "qa-set");
    assert_eq!(created.dataset_id, dataset.id);
    // The SDK retries with the same body: nothing changes.
    let retried = store
        .upsert_item("p", &dataset, &item_upsert("item-1"))
        .await
        .unwrap();
    assert_eq!(retried, created);
    // Only what is set changes.
    let archived = store
        .upsert_item(
            "p",
            &dataset,
            &DatasetItemUpsert {
                id: "item-1".into(),
                status: Some(DatasetItemStatus::Archived),
                expected_output: Some(json!("Rome")),
                ..DatasetItemUpsert::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(archived.status, DatasetItemStatus::Archived);
    assert_eq!(archived.input, Some(json!({"country": "item-1"})));
    assert_eq!(archived.expected_output, Some(json!("Rome")));
    assert_eq!(store.get_item("p", "item-1").await.unwrap(), Some(archived));

    // The id is taken in this project by another dataset, but free in another project.
    let other_dataset = create_dataset(store, "p", "other-set").await;
    let error = store
        .upsert_item("p", &other_dataset, &item_upsert("item-1"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, BackendError::AlreadyExists { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("qa-set"), "{error}");
    assert_eq!(store.get_item("q", "item-1").await.unwrap(), None);
    let foreign = create_dataset(store, "q", "qa-set").await;
    let foreign_item = store
        .upsert_item("q", &foreign, &item_upsert("item-1"))
        .await
        .unwrap();
    assert_eq!(foreign_item.status, DatasetItemStatus::Active);
    assert_eq!(
        store.get_item("p", "item-1").await.unwrap().unwrap().status,
        DatasetItemStatus::Archived
    );
}

pub(crate) async fn items_list_with_filters_and_page_metadata(backend: &impl Backend) {
    let store = backend.store();
    let dataset = create_dataset(store, "p", "qa-set").await;
    let other = create_dataset(store, "p", "other-set").await;
    for index in 0..5 {
        let upsert = DatasetItemUpsert {
            source_trace_id: (index % 2 == 0).then(|| "trace-even".to_owned()),
            source_observation_id: (index == 3).then(|| "obs-3".to_owned()),
            ..item_upsert(&format!("item-{index}"))
        };
        store.upsert_item("p", &dataset, &upsert).await.unwrap();
    }
    store
        .upsert_item("p", &other, &item_upsert("elsewhere"))
        .await
        .unwrap();
    let in_dataset = DatasetItemFilter {
        dataset_id: Some(dataset.id.clone()),
        ..DatasetItemFilter::default()
    };
    let first = store
        .list_items("p", &in_dataset, page(1, 2))
        .await
        .unwrap();
    assert_eq!(first.total_items, 5);
    let ids: Vec<&str> = first.items.iter().map(|item| item.id.as_str()).collect();
    assert_eq!(ids, ["item-4", "item-3"]);
    let last = store
        .list_items("p", &in_dataset, page(3, 2))
        .await
        .unwrap();
    assert_eq!(last.items.len(), 1);
    assert_eq!(last.items[0].id, "item-0");
    assert!(
        store
            .list_items("p", &in_dataset, page(4, 2))
            .await
            .unwrap()
            .items
            .is_empty()
    );

    let all = DatasetItemFilter::default();
    assert_eq!(
        store
            .list_items("p", &all, page(1, 50))
            .await
            .unwrap()
            .total_items,
        6
    );
    let by_trace = DatasetItemFilter {
        source_trace_id: Some("trace-even".into()),
        ..DatasetItemFilter::default()
    };
    assert_eq!(
        store
            .list_items("p", &by_trace, page(1, 50))
            .await
            .unwrap()
            .total_items,
        3
    );
    let by_observation = DatasetItemFilter {
        source_observation_id: Some("obs-3".into()),
        ..in_dataset.clone()
    };
    let found = store
        .list_items("p", &by_observation, page(1, 50))
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0].id, "item-3");
    let archived = DatasetItemFilter {
        status: Some(DatasetItemStatus::Archived),
        ..DatasetItemFilter::default()
    };
    assert_eq!(
        store
            .list_items("p", &archived, page(1, 50))
            .await
            .unwrap()
            .total_items,
        0
    );
    assert_eq!(
        store
            .list_items("q", &all, page(1, 50))
            .await
            .unwrap()
            .total_items,
        0
    );
}

pub(crate) async fn runs_and_run_items_are_idempotent_and_deletable(backend: &impl Backend) {
    let store = backend.store();
    let dataset = create_dataset(store, "p", "qa-set").await;
    store
        .upsert_item("p", &dataset, &item_upsert("item-1"))
        .await
        .unwrap();
    let created_at = Utc::now() - Duration::seconds(10);
    let run_upsert = DatasetRunUpsert {
        id: "run-1".into(),
        dataset_id: dataset.id.clone(),
        name: "baseline".into(),
        description: None,
        metadata: None,
        created_at,
    };
    let run = store.upsert_run("p", &run_upsert).await.unwrap();
    assert_eq!(run.id, "run-1");
    assert!((run.created_at - created_at).abs() < Duration::milliseconds(1));
    let again = store
        .upsert_run(
            "p",
            &DatasetRunUpsert {
                id: "run-2".into(),
                ..run_upsert.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(again, run);
    let described = store
        .upsert_run(
            "p",
            &DatasetRunUpsert {
                description: Some("lookup baseline".into()),
                metadata: Some(json!({"model": "lookup"})),
                ..run_upsert.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(described.id, "run-1");
    assert_eq!(described.description.as_deref(), Some("lookup baseline"));

    let link = DatasetRunItemUpsert {
        id: "link-1".into(),
        dataset_run_id: "run-1".into(),
        dataset_item_id: "item-1".into(),
        trace_id: "trace-1".into(),
        observation_id: None,
        created_at,
    };
    let first = store.upsert_run_item("p", &link).await.unwrap();
    assert_eq!(first.id, "link-1");
    assert_eq!(first.dataset_run_name, "baseline");
    // A retry with a new candidate id returns the stored link; an observation fills the gap.
    let retried = store
        .upsert_run_item(
            "p",
            &DatasetRunItemUpsert {
                id: "link-2".into(),
                ..link.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(retried, first);
    let with_observation = store
        .upsert_run_item(
            "p",
            &DatasetRunItemUpsert {
                id: "link-3".into(),
                observation_id: Some("obs-1".into()),
                ..link.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(with_observation.id, "link-1");
    assert_eq!(with_observation.observation_id.as_deref(), Some("obs-1"));
    let second_trace = store
        .upsert_run_item(
            "p",
            &DatasetRunItemUpsert {
                id: "link-4".into(),
                trace_id: "trace-2".into(),
                created_at: created_at + Duration::seconds(1),
                ..link.clone()
            },
        )
        .await
        .unwrap();

    let stored = store
        .get_run("p", &dataset.id, "baseline")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.run, described);
    assert_eq!(stored.items, vec![with_observation, second_trace]);
    assert_eq!(
        store.list_runs("p", &dataset.id).await.unwrap(),
        vec![described]
    );
    assert_eq!(
        store.get_run("q", &dataset.id, "baseline").await.unwrap(),
        None
    );
    assert!(store.list_runs("q", &dataset.id).await.unwrap().is_empty());
    assert!(
        !store
            .delete_run("q", &dataset.id, "baseline")
            .await
            .unwrap()
    );

    assert!(
        store
            .delete_run("p", &dataset.id, "baseline")
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_run("p", &dataset.id, "baseline")
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_run("p", &dataset.id, "baseline").await.unwrap(),
        None
    );
    // Re-creating the run starts without the deleted items.
    store.upsert_run("p", &run_upsert).await.unwrap();
    let recreated = store
        .get_run("p", &dataset.id, "baseline")
        .await
        .unwrap()
        .unwrap();
    assert!(recreated.items.is_empty());
}

pub(crate) async fn concurrent_upserts_of_one_dataset_create_it_once(backend: &impl Backend) {
    let first = backend.store().clone();
    let second = backend.open_again().await;
    let upserts = (0..8).map(|index| {
        let store = if index % 2 == 0 { &first } else { &second };
        async move {
            store
                .upsert_dataset(
                    "p",
                    &dataset_upsert(&format!("candidate-{index}"), "shared"),
                )
                .await
        }
    });
    let ids: std::collections::HashSet<String> = futures::future::join_all(upserts)
        .await
        .into_iter()
        .map(|dataset| dataset.unwrap().id)
        .collect();
    assert_eq!(
        ids.len(),
        1,
        "every upsert returns the one stored dataset: {ids:?}"
    );
    let stored = first.get_dataset("p", "shared").await.unwrap().unwrap();
    assert!(ids.contains(&stored.id));
    assert_eq!(
        first
            .list_datasets("p", page(1, 50))
            .await
            .unwrap()
            .total_items,
        1
    );
}
