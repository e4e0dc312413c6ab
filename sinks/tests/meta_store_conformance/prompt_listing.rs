//! `PromptStore`: listing and deleting prompts, including references that block a deletion.

use chrono::Utc;
use periscope_core::prompts::{
    DependencyTarget, NewPrompt, Prompt, PromptDeletion, PromptDependency, PromptError,
    PromptListFilter, PromptMeta, PromptStore, PromptType,
};
use periscope_core::store::PageRequest;
use serde_json::{Value, json};

use crate::backends::Backend;
use crate::prompts::{labels_of, new_prompt};

fn names(items: &[PromptMeta]) -> Vec<&str> {
    items.iter().map(|meta| meta.name.as_str()).collect()
}

pub(crate) async fn the_list_groups_versions_by_name_with_filters_and_pages(
    backend: &impl Backend,
) {
    let store = backend.store();
    store
        .create_version(new_prompt("p", "b/qa", &["production"], Some(&["x"])))
        .await
        .unwrap();
    let mut newest = new_prompt("p", "b/qa", &["staging"], None);
    newest.config = json!({"model": "gpt-4o-mini"});
    store.create_version(newest).await.unwrap();
    store
        .create_version(new_prompt("p", "a", &[], Some(&["y"])))
        .await
        .unwrap();
    store
        .create_version(new_prompt("p", "c", &[], None))
        .await
        .unwrap();

    let all = store
        .list(
            "p",
            &PromptListFilter::default(),
            PageRequest { page: 1, limit: 2 },
        )
        .await
        .unwrap();
    assert_eq!(all.total_items, 3);
    assert_eq!(names(&all.items), ["a", "b/qa"]);
    let qa = &all.items[1];
    assert_eq!(qa.versions, [1, 2]);
    assert_eq!(qa.labels, ["latest", "production", "staging"]);
    assert_eq!(qa.tags, ["x"]);
    assert_eq!(qa.prompt_type, PromptType::Text);
    assert_eq!(qa.last_config, json!({"model": "gpt-4o-mini"}));
    let second_page = store
        .list(
            "p",
            &PromptListFilter::default(),
            PageRequest { page: 2, limit: 2 },
        )
        .await
        .unwrap();
    assert_eq!(names(&second_page.items), ["c"]);

    let by_label = PromptListFilter {
        label: Some("production".into()),
        ..Default::default()
    };
    let listed = store
        .list("p", &by_label, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(names(&listed.items), ["b/qa"]);
    assert_eq!(listed.items[0].versions, [1]);
    assert_eq!(listed.items[0].labels, ["production"]);
    assert_eq!(listed.items[0].last_config, json!({"temperature": 0.1}));

    let by_tag = PromptListFilter {
        tag: Some("y".into()),
        ..Default::default()
    };
    let listed = store
        .list("p", &by_tag, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(names(&listed.items), ["a"]);
    let by_name = PromptListFilter {
        name: Some("c".into()),
        ..Default::default()
    };
    assert_eq!(
        store
            .list("p", &by_name, PageRequest::default())
            .await
            .unwrap()
            .total_items,
        1
    );
    let future = PromptListFilter {
        from_updated_at: Some(Utc::now() + chrono::Duration::hours(1)),
        ..Default::default()
    };
    assert_eq!(
        store
            .list("p", &future, PageRequest::default())
            .await
            .unwrap()
            .total_items,
        0
    );
}

pub(crate) async fn deleting_versions_moves_latest_and_removes_the_name_last(
    backend: &impl Backend,
) {
    let store = backend.store();
    for labels in [&["production"][..], &["staging"], &[]] {
        store
            .create_version(new_prompt("p", "qa", labels, None))
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .delete("p", "qa", &PromptDeletion::Version(3))
            .await
            .unwrap(),
        1
    );
    assert_eq!(labels_of(store, "qa", 2).await, ["latest", "staging"]);
    let missing = store
        .delete("p", "qa", &PromptDeletion::Version(3))
        .await
        .unwrap_err();
    assert!(matches!(missing, PromptError::NotFound { .. }));
    let by_label = PromptDeletion::Label("production".into());
    assert_eq!(store.delete("p", "qa", &by_label).await.unwrap(), 1);
    assert_eq!(store.get_by_version("p", "qa", 1).await.unwrap(), None);

    // Numbering continues after the highest remaining version.
    assert_eq!(
        store
            .create_version(new_prompt("p", "qa", &[], None))
            .await
            .unwrap()
            .version,
        3
    );
    assert_eq!(
        store.delete("p", "qa", &PromptDeletion::All).await.unwrap(),
        2
    );
    let listed = store
        .list("p", &PromptListFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.total_items, 0);
    // A deleted name starts over, with any type.
    let chat = NewPrompt {
        prompt_type: PromptType::Chat,
        prompt: Value::Array(Vec::new()),
        ..new_prompt("p", "qa", &[], None)
    };
    assert_eq!(store.create_version(chat).await.unwrap().version, 1);
}

fn referencing(name: &str, child: &str, target: DependencyTarget) -> NewPrompt {
    let tag = match &target {
        DependencyTarget::Version(version) => {
            format!("@@@langfusePrompt:name={child}|version={version}@@@")
        }
        DependencyTarget::Label(label) => {
            format!("@@@langfusePrompt:name={child}|label={label}@@@")
        }
    };
    NewPrompt {
        prompt: json!(format!("Intro: {tag}")),
        dependencies: vec![PromptDependency {
            name: child.into(),
            target,
            tag,
        }],
        ..new_prompt("p", name, &[], None)
    }
}

pub(crate) async fn referenced_versions_and_labels_cannot_be_deleted(backend: &impl Backend) {
    let store = backend.store();
    store
        .create_version(new_prompt("p", "base", &["production"], None))
        .await
        .unwrap();
    store
        .create_version(new_prompt("p", "base", &[], None))
        .await
        .unwrap();
    let parent: Prompt = store
        .create_version(referencing(
            "by-version",
            "base",
            DependencyTarget::Version(1),
        ))
        .await
        .unwrap();
    store
        .create_version(referencing(
            "by-label",
            "base",
            DependencyTarget::Label("production".into()),
        ))
        .await
        .unwrap();

    let error = store
        .delete("p", "base", &PromptDeletion::Version(1))
        .await
        .unwrap_err();
    let PromptError::Rejected(message) = error else {
        panic!("expected a rejection, got {error}")
    };
    assert!(
        message.contains("by-version v1 references base version 1"),
        "{message}"
    );
    assert!(
        message.contains("by-label v1 references base label \"production\""),
        "{message}"
    );
    assert!(
        store
            .get_by_version("p", "base", 1)
            .await
            .unwrap()
            .is_some()
    );

    // Version 2 carries only `latest`, which moves to version 1: no reference breaks.
    store
        .delete("p", "base", &PromptDeletion::Version(2))
        .await
        .unwrap();
    assert_eq!(labels_of(store, "base", 1).await, ["latest", "production"]);

    // Once the referencing prompts are gone, the version can go too.
    store
        .delete("p", "by-version", &PromptDeletion::All)
        .await
        .unwrap();
    store
        .delete("p", "by-label", &PromptDeletion::All)
        .await
        .unwrap();
    assert_eq!(parent.version, 1);
    store
        .delete("p", "base", &PromptDeletion::All)
        .await
        .unwrap();
}

pub(crate) async fn the_list_filters_by_update_time(backend: &impl Backend) {
    let store = backend.store();
    let mut old = new_prompt("p", "old", &[], None);
    old.created_at = Utc::now() - chrono::Duration::hours(2);
    let old = store.create_version(old).await.unwrap();
    let fresh = store
        .create_version(new_prompt("p", "fresh", &[], None))
        .await
        .unwrap();
    let an_hour_ago = Utc::now() - chrono::Duration::hours(1);

    let recent = PromptListFilter {
        from_updated_at: Some(an_hour_ago),
        ..Default::default()
    };
    let listed = store
        .list("p", &recent, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(names(&listed.items), ["fresh"]);
    assert_eq!(listed.items[0].last_updated_at, fresh.updated_at);

    let earlier = PromptListFilter {
        to_updated_at: Some(an_hour_ago),
        ..Default::default()
    };
    let listed = store
        .list("p", &earlier, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(names(&listed.items), ["old"]);
    assert_eq!(listed.items[0].last_updated_at, old.updated_at);
    assert_eq!(listed.total_items, 1);
}
