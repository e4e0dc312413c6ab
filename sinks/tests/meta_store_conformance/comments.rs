//! `CommentStore`: round trips, filters, pages and project isolation.

use periscope_core::comments::{Comment, CommentFilter, CommentObjectType, CommentStore};
use periscope_core::store::PageRequest;

use crate::backends::{Backend, at};

fn comment(project: &str, id: &str, object: &str, author: Option<&str>, seconds: i64) -> Comment {
    Comment {
        id: id.into(),
        project_id: project.into(),
        object_type: CommentObjectType::Trace,
        object_id: object.into(),
        content: format!("comment {id}"),
        author_user_id: author.map(Into::into),
        created_at: at(seconds),
        updated_at: at(seconds),
    }
}

pub(crate) async fn comments_are_filtered_paged_and_isolated_per_project(backend: &impl Backend) {
    let store = backend.store();
    let first = comment("p", "a", "t1", Some("alice"), 0);
    let second = comment("p", "b", "t1", None, 1);
    let mut third = comment("p", "c", "s1", Some("alice"), 2);
    third.object_type = CommentObjectType::Session;
    for comment in [
        &first,
        &second,
        &third,
        &comment("other", "d", "t1", None, 3),
    ] {
        store.create_comment(comment).await.unwrap();
    }

    assert_eq!(
        store.get_comment("p", "a").await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.get_comment("p", "d").await.unwrap(), None);

    let all = store
        .list_comments("p", &CommentFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(all.total_items, 3);
    assert_eq!(
        all.items,
        vec![third.clone(), second.clone(), first.clone()]
    );

    let on_trace = CommentFilter {
        object_type: Some(CommentObjectType::Trace),
        object_id: Some("t1".into()),
        ..CommentFilter::default()
    };
    let page = store
        .list_comments("p", &on_trace, PageRequest { page: 2, limit: 1 })
        .await
        .unwrap();
    assert_eq!(page.total_items, 2);
    assert_eq!(page.items, vec![first]);

    let by_alice = CommentFilter {
        author_user_id: Some("alice".into()),
        ..CommentFilter::default()
    };
    let page = store
        .list_comments("p", &by_alice, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.total_items, 2);
    assert_eq!(page.items.len(), 2);
    assert!(
        page.items
            .iter()
            .all(|c| c.author_user_id.as_deref() == Some("alice"))
    );
}
