//! Sessions: traces grouped by session id.

use periscope_core::model::{Record, TraceRecord};
use periscope_core::store::{PageRequest, SessionFilter, TraceStore};

use crate::common::{TestStore, at, observation, open_store, trace};

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

async fn seeded() -> TestStore {
    let test = open_store().await;
    test.store
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
    test
}

async fn session_ids(test: &TestStore, filter: SessionFilter) -> Vec<String> {
    let page = test
        .store
        .list_sessions("p", &filter, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.total_items, page.items.len() as u64);
    page.items.into_iter().map(|session| session.id).collect()
}

#[tokio::test]
async fn sessions_start_at_their_first_trace_and_take_its_environment() {
    let test = seeded().await;
    let page = test
        .store
        .list_sessions("p", &SessionFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.total_items, 2);
    let summary: Vec<(&str, _, &str)> = page
        .items
        .iter()
        .map(|s| (s.id.as_str(), s.created_at, s.environment.as_str()))
        .collect();
    assert_eq!(
        summary,
        [("s2", at(300), "default"), ("s1", at(100), "prod")]
    );
    assert!(
        page.items
            .iter()
            .all(|s| s.traces.is_empty() && s.project_id == "p")
    );
}

#[tokio::test]
async fn every_session_filter_selects_exactly_its_sessions() {
    let test = seeded().await;
    let env = |names: &[&str]| SessionFilter {
        environments: names.iter().map(|name| name.to_string()).collect(),
        ..Default::default()
    };
    assert_eq!(session_ids(&test, env(&["prod"])).await, ["s1"]);
    assert!(session_ids(&test, env(&["staging"])).await.is_empty());
    assert_eq!(
        session_ids(&test, env(&["default", "prod"])).await,
        ["s2", "s1"]
    );
    let from = SessionFilter {
        from_timestamp: Some(at(150)),
        ..Default::default()
    };
    assert_eq!(session_ids(&test, from).await, ["s2"]);
    let to = SessionFilter {
        to_timestamp: Some(at(150)),
        ..Default::default()
    };
    assert_eq!(session_ids(&test, to).await, ["s1"]);

    let second_page = test
        .store
        .list_sessions(
            "p",
            &SessionFilter::default(),
            PageRequest { page: 2, limit: 1 },
        )
        .await
        .unwrap();
    assert_eq!(second_page.total_items, 2);
    assert_eq!(
        second_page
            .items
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>(),
        ["s1"]
    );
}

#[tokio::test]
async fn a_session_lists_its_traces_in_time_order_with_list_fields() {
    let test = seeded().await;
    let session = test.store.get_session("p", "s1").await.unwrap().unwrap();
    assert_eq!(session.created_at, at(100));
    assert_eq!(session.environment, "prod");
    let ids: Vec<&str> = session
        .traces
        .iter()
        .map(|t| t.record.id.as_str())
        .collect();
    assert_eq!(ids, ["t1", "t2"]);
    assert_eq!(session.traces[0].observation_ids, ["o1"]);
    assert!(session.traces[0].observations.is_empty());

    let other = test.store.get_session("q", "s1").await.unwrap().unwrap();
    assert_eq!(
        other
            .traces
            .iter()
            .map(|t| t.record.id.as_str())
            .collect::<Vec<_>>(),
        ["t5"]
    );
    assert_eq!(test.store.get_session("p", "missing").await.unwrap(), None);
    assert_eq!(test.store.get_session("q", "s2").await.unwrap(), None);
}
