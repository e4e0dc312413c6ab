//! Sessions: traces grouped by session id.

use periscope_core::model::{Record, TraceRecord};
use periscope_core::store::{PageRequest, SessionFilter, TraceStore};

use crate::common::{Backend, at, for_each_backend, observation, trace};

fn in_session(
    project: &str,
    id: &str,
    second: i64,
    session: Option<&str>,
    env: Option<&str>,
) -> Record {
    Record::Trace(TraceRecord {
        session_id: session.map(Into::into),
        environment: env.map(Into::into),
        ..trace(project, id, at(second))
    })
}

async fn seed(store: &dyn TraceStore) {
    store
        .write(vec![
            in_session("p", "t2", 200, Some("s1"), Some("staging")),
            in_session("p", "t1", 100, Some("s1"), Some("prod")),
            in_session("p", "t3", 300, Some("s2"), None),
            in_session("p", "t4", 400, None, Some("prod")),
            in_session("q", "t5", 50, Some("s1"), Some("prod")),
            Record::Observation(observation("p", "o1", "t1", at(100))),
        ])
        .await
        .unwrap();
}

async fn session_ids(store: &dyn TraceStore, filter: SessionFilter) -> Vec<String> {
    let page = store
        .list_sessions("p", &filter, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.total_items, page.items.len() as u64);
    page.items.into_iter().map(|session| session.id).collect()
}

#[tokio::test]
async fn sessions_start_at_their_first_trace_and_take_its_environment() {
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        seed(store).await;
        let page = store
            .list_sessions("p", &SessionFilter::default(), PageRequest::default())
            .await
            .unwrap();
        assert_eq!(page.total_items, 2, "{}", backend.name);
        let summary: Vec<(&str, _, &str)> = page
            .items
            .iter()
            .map(|s| (s.id.as_str(), s.created_at, s.environment.as_str()))
            .collect();
        assert_eq!(
            summary,
            [("s2", at(300), "default"), ("s1", at(100), "prod")],
            "{}",
            backend.name
        );
        assert!(
            page.items
                .iter()
                .all(|s| s.traces.is_empty() && s.project_id == "p")
        );
    })
    .await;
}

#[tokio::test]
async fn every_session_filter_selects_exactly_its_sessions() {
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        seed(store).await;
        let env = |names: &[&str]| SessionFilter {
            environments: names.iter().map(|name| name.to_string()).collect(),
            ..Default::default()
        };
        assert_eq!(
            session_ids(store, env(&["prod"])).await,
            ["s1"],
            "{}",
            backend.name
        );
        assert!(session_ids(store, env(&["staging"])).await.is_empty());
        assert_eq!(
            session_ids(store, env(&["default", "prod"])).await,
            ["s2", "s1"]
        );
        let from = SessionFilter {
            from_timestamp: Some(at(150)),
            ..Default::default()
        };
        assert_eq!(session_ids(store, from).await, ["s2"], "{}", backend.name);
        let to = SessionFilter {
            to_timestamp: Some(at(150)),
            ..Default::default()
        };
        assert_eq!(session_ids(store, to).await, ["s1"], "{}", backend.name);
        let second_page = store
            .list_sessions(
                "p",
                &SessionFilter::default(),
                PageRequest { page: 2, limit: 1 },
            )
            .await
            .unwrap();
        assert_eq!(second_page.total_items, 2, "{}", backend.name);
        let ids: Vec<&str> = second_page.items.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["s1"], "{}", backend.name);
    })
    .await;
}

#[tokio::test]
async fn a_session_lists_its_traces_in_time_order_with_list_fields() {
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        seed(store).await;
        let session = store.get_session("p", "s1").await.unwrap().unwrap();
        assert_eq!(session.created_at, at(100), "{}", backend.name);
        assert_eq!(session.environment, "prod", "{}", backend.name);
        let ids: Vec<&str> = session
            .traces
            .iter()
            .map(|t| t.record.id.as_str())
            .collect();
        assert_eq!(ids, ["t1", "t2"], "{}", backend.name);
        assert_eq!(
            session.traces[0].observation_ids,
            ["o1"],
            "{}",
            backend.name
        );
        assert!(session.traces[0].observations.is_empty());
        let other = store.get_session("q", "s1").await.unwrap().unwrap();
        let ids: Vec<&str> = other.traces.iter().map(|t| t.record.id.as_str()).collect();
        assert_eq!(ids, ["t5"], "{}", backend.name);
        assert_eq!(store.get_session("p", "missing").await.unwrap(), None);
        assert_eq!(store.get_session("q", "s2").await.unwrap(), None);
    })
    .await;
}
