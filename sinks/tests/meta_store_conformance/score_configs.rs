//! `ScoreConfigStore`: round trips, pages, updates and project isolation.

use periscope_core::model::ScoreDataType;
use periscope_core::score_configs::{
    ConfigCategory, ScoreConfig, ScoreConfigStore, boolean_categories,
};
use periscope_core::store::PageRequest;

use crate::backends::{Backend, at};

fn config(project: &str, id: &str, seconds: i64) -> ScoreConfig {
    ScoreConfig {
        id: id.into(),
        project_id: project.into(),
        name: format!("config {id}"),
        data_type: ScoreDataType::Categorical,
        is_archived: false,
        min_value: None,
        max_value: None,
        categories: vec![
            ConfigCategory {
                label: "good".into(),
                value: 1.0,
            },
            ConfigCategory {
                label: "bad".into(),
                value: -0.5,
            },
        ],
        description: Some("how good".into()),
        created_at: at(seconds),
        updated_at: at(seconds),
    }
}

pub(crate) async fn score_configs_round_trip_page_and_update_per_project(backend: &impl Backend) {
    let store = backend.store();
    let first = config("p", "c1", 0);
    let mut second = config("p", "c2", 1);
    second.data_type = ScoreDataType::Numeric;
    second.categories.clear();
    second.min_value = Some(0.0);
    second.max_value = Some(10.0);
    second.description = None;
    store.create_score_config(&first).await.unwrap();
    store.create_score_config(&second).await.unwrap();
    store
        .create_score_config(&config("other", "c3", 2))
        .await
        .unwrap();

    assert_eq!(
        store.get_score_config("p", "c1").await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.get_score_config("p", "c2").await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(store.get_score_config("other", "c1").await.unwrap(), None);

    let page = store
        .list_score_configs("p", PageRequest { page: 1, limit: 1 })
        .await
        .unwrap();
    assert_eq!(page.total_items, 2);
    assert_eq!(page.items, vec![second.clone()]);
    let page = store
        .list_score_configs("p", PageRequest { page: 2, limit: 1 })
        .await
        .unwrap();
    assert_eq!(page.items, vec![first.clone()]);
    let page = store
        .list_score_configs("p", PageRequest { page: 3, limit: 1 })
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.total_items, 2);

    let mut archived = first.clone();
    archived.is_archived = true;
    archived.name = "renamed".into();
    archived.updated_at = at(10);
    assert!(store.update_score_config(&archived).await.unwrap());
    assert_eq!(
        store.get_score_config("p", "c1").await.unwrap(),
        Some(archived)
    );
    let mut missing = first.clone();
    missing.id = "nope".into();
    assert!(!store.update_score_config(&missing).await.unwrap());
    // An update names its project: another project's config of that id stays as it was.
    let mut foreign = first;
    foreign.id = "c3".into();
    assert!(!store.update_score_config(&foreign).await.unwrap());
    assert_eq!(
        store
            .get_score_config("other", "c3")
            .await
            .unwrap()
            .unwrap()
            .name,
        "config c3"
    );
}

pub(crate) async fn boolean_and_numeric_configs_keep_their_fields(backend: &impl Backend) {
    let store = backend.store();
    let boolean = ScoreConfig {
        data_type: ScoreDataType::Boolean,
        categories: boolean_categories(),
        description: None,
        ..config("p", "bool", 0)
    };
    let numeric = ScoreConfig {
        data_type: ScoreDataType::Numeric,
        categories: Vec::new(),
        min_value: Some(-1.25),
        max_value: None,
        ..config("p", "num", 1)
    };
    for config in [&boolean, &numeric] {
        store.create_score_config(config).await.unwrap();
        assert_eq!(
            store
                .get_score_config("p", &config.id)
                .await
                .unwrap()
                .as_ref(),
            Some(config)
        );
    }
    let mut rescaled = numeric.clone();
    rescaled.min_value = None;
    rescaled.max_value = Some(5.5);
    rescaled.description = Some("now bounded above".into());
    rescaled.updated_at = at(20);
    assert!(store.update_score_config(&rescaled).await.unwrap());
    assert_eq!(
        store.get_score_config("p", "num").await.unwrap(),
        Some(rescaled)
    );
}
