//! `AnnotationStore`: queues, items, status changes and assignments, scoped by project.

use chrono::{DateTime, Duration, Utc};
use periscope_core::annotation::{
    AnnotationObjectType, AnnotationQueue, AnnotationQueueItem, AnnotationStatus, AnnotationStore,
    QueueAssignment, QueueCreated,
};
use periscope_core::store::PageRequest;

use crate::backends::Backend;

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap() + Duration::seconds(seconds)
}

fn queue(project: &str, id: &str, name: &str, seconds: i64) -> AnnotationQueue {
    AnnotationQueue {
        id: id.into(),
        project_id: project.into(),
        name: name.into(),
        description: Some(format!("about {name}")),
        score_config_ids: vec!["c1".into(), "c2".into()],
        created_at: at(seconds),
        updated_at: at(seconds),
    }
}

fn item(queue_id: &str, id: &str, object_id: &str, seconds: i64) -> AnnotationQueueItem {
    AnnotationQueueItem {
        id: id.into(),
        project_id: "p1".into(),
        queue_id: queue_id.into(),
        object_id: object_id.into(),
        object_type: AnnotationObjectType::Trace,
        status: AnnotationStatus::Pending,
        completed_at: None,
        created_at: at(seconds),
        updated_at: at(seconds),
    }
}

fn page(page: u64, limit: u64) -> PageRequest {
    PageRequest { page, limit }
}

pub(crate) async fn queues_are_created_once_per_name_and_listed_oldest_first(
    backend: &impl Backend,
) {
    let store = backend.store();
    let first = queue("p1", "q1", "review", 0);
    assert_eq!(
        store.create_queue(&first).await.unwrap(),
        QueueCreated::Created(first.clone())
    );
    assert_eq!(
        store
            .create_queue(&queue("p1", "q9", "review", 1))
            .await
            .unwrap(),
        QueueCreated::NameTaken
    );
    // Another project may use the same name.
    let other = queue("p2", "q2", "review", 2);
    assert!(matches!(
        store.create_queue(&other).await.unwrap(),
        QueueCreated::Created(_)
    ));
    store
        .create_queue(&queue("p1", "q3", "second", 3))
        .await
        .unwrap();

    assert_eq!(store.get_queue("p1", "q1").await.unwrap(), Some(first));
    assert_eq!(store.get_queue("p1", "q2").await.unwrap(), None);
    let listed = store.list_queues("p1", page(1, 10)).await.unwrap();
    assert_eq!(listed.total_items, 2);
    let ids: Vec<_> = listed.items.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(ids, ["q1", "q3"]);
    let second_page = store.list_queues("p1", page(2, 1)).await.unwrap();
    assert_eq!(second_page.items[0].id, "q3");
}

pub(crate) async fn items_are_added_once_completed_reopened_and_deleted(backend: &impl Backend) {
    let store = backend.store();
    store
        .create_queue(&queue("p1", "q1", "review", 0))
        .await
        .unwrap();
    let added = store.add_item(&item("q1", "i1", "t1", 1)).await.unwrap();
    assert_eq!(added, item("q1", "i1", "t1", 1));
    // The same object again returns the first item.
    let again = store.add_item(&item("q1", "i2", "t1", 2)).await.unwrap();
    assert_eq!(again.id, "i1");
    let mut session = item("q1", "i3", "s1", 3);
    session.object_type = AnnotationObjectType::Session;
    store.add_item(&session).await.unwrap();

    let done = store
        .set_item_status("p1", "q1", "i1", AnnotationStatus::Completed, at(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, AnnotationStatus::Completed);
    assert_eq!((done.completed_at, done.updated_at), (Some(at(10)), at(10)));
    // Completing again keeps the first completion time.
    let redone = store
        .set_item_status("p1", "q1", "i1", AnnotationStatus::Completed, at(20))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(redone.completed_at, Some(at(10)));

    let pending = store
        .list_items("p1", "q1", Some(AnnotationStatus::Pending), page(1, 10))
        .await
        .unwrap();
    assert_eq!(pending.total_items, 1);
    assert_eq!(pending.items[0].id, "i3");
    let all = store
        .list_items("p1", "q1", None, page(1, 10))
        .await
        .unwrap();
    let ids: Vec<_> = all.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["i1", "i3"]);

    let reopened = store
        .set_item_status("p1", "q1", "i1", AnnotationStatus::Pending, at(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reopened.completed_at, None);

    // Other projects and queues see nothing.
    assert_eq!(store.get_item("p2", "q1", "i1").await.unwrap(), None);
    assert_eq!(store.get_item("p1", "q2", "i1").await.unwrap(), None);
    assert!(
        store
            .set_item_status("p2", "q1", "i1", AnnotationStatus::Completed, at(40))
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.delete_item("p2", "q1", "i1").await.unwrap());
    assert!(store.delete_item("p1", "q1", "i1").await.unwrap());
    assert!(!store.delete_item("p1", "q1", "i1").await.unwrap());
    assert_eq!(store.get_item("p1", "q1", "i1").await.unwrap(), None);
}

pub(crate) async fn assignments_are_idempotent_and_removable(backend: &impl Backend) {
    let store = backend.store();
    let assignment = |user: &str, seconds| QueueAssignment {
        project_id: "p1".into(),
        queue_id: "q1".into(),
        user_id: user.into(),
        created_at: at(seconds),
    };
    store.assign(&assignment("alice", 1)).await.unwrap();
    store.assign(&assignment("alice", 5)).await.unwrap();
    store.assign(&assignment("bob", 2)).await.unwrap();
    let listed = store.list_assignments("p1", "q1").await.unwrap();
    assert_eq!(listed, [assignment("alice", 1), assignment("bob", 2)]);
    assert!(store.list_assignments("p2", "q1").await.unwrap().is_empty());
    assert!(store.unassign("p1", "q1", "alice").await.unwrap());
    assert!(!store.unassign("p1", "q1", "alice").await.unwrap());
    assert_eq!(
        store.list_assignments("p1", "q1").await.unwrap(),
        [assignment("bob", 2)]
    );
}
