//! Trace reads: every filter of `list_traces`, ordering, pagination, derived fields and
//! project isolation.

use periscope_core::model::{ObservationRecord, Record, TraceRecord};
use periscope_core::store::{PageRequest, SortOrder, TraceFilter, TraceOrderField, TraceStore};

use crate::common::{TestStore, at, generation, observation, open_store, score, trace};

fn tagged(
    id: &str,
    second: i64,
    name: &str,
    user: &str,
    session: Option<&str>,
    environment: Option<&str>,
    tags: &[&str],
) -> Record {
    let release = if id == "t2" { "r2" } else { "r1" };
    Record::Trace(TraceRecord {
        name: Some(name.into()),
        user_id: Some(user.into()),
        session_id: session.map(Into::into),
        release: Some(release.into()),
        version: Some(format!("v-{release}")),
        environment: environment.map(Into::into),
        tags: tags.iter().map(|tag| tag.to_string()).collect(),
        ..trace("p", id, at(second))
    })
}

/// Four traces in project `p` and one trace with a colliding id in project `q`.
async fn seeded() -> TestStore {
    let test = open_store().await;
    let other_project = TraceRecord {
        name: Some("other".into()),
        ..trace("q", "t1", at(100))
    };
    let span_t1 = ObservationRecord {
        end_time: Some(at(105)),
        ..observation("p", "o2", "t1", at(101))
    };
    test.store
        .write(vec![
            tagged(
                "t1",
                100,
                "chat",
                "u1",
                Some("s1"),
                Some("prod"),
                &["a", "b"],
            ),
            tagged("t2", 200, "chat", "u2", Some("s1"), Some("staging"), &["a"]),
            tagged("t3", 300, "search", "u1", Some("s2"), None, &["b", "c"]),
            tagged("t4", 400, "search", "u3", None, Some("prod"), &[]),
            Record::Trace(other_project),
            Record::Observation(generation("p", "o1", "t1", at(100), "gpt-4o")),
            Record::Observation(span_t1),
            Record::Observation(generation("q", "o1", "t1", at(100), "gpt-4o")),
            Record::Score(score("p", "sc1", Some("t1"), at(110))),
            Record::Score(score("p", "sc2", Some("t1"), at(120))),
        ])
        .await
        .unwrap();
    test
}

async fn ids(test: &TestStore, filter: TraceFilter) -> Vec<String> {
    let page = test
        .store
        .list_traces(
            "p",
            &filter,
            PageRequest {
                page: 1,
                limit: 100,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.total_items, page.items.len() as u64);
    page.items
        .into_iter()
        .map(|trace| trace.record.id)
        .collect()
}

#[tokio::test]
async fn every_trace_filter_selects_exactly_its_traces() {
    let test = seeded().await;
    let cases: Vec<(TraceFilter, &[&str])> = vec![
        (TraceFilter::default(), &["t4", "t3", "t2", "t1"]),
        (
            TraceFilter {
                user_id: Some("u1".into()),
                ..Default::default()
            },
            &["t3", "t1"],
        ),
        (
            TraceFilter {
                name: Some("chat".into()),
                ..Default::default()
            },
            &["t2", "t1"],
        ),
        (
            TraceFilter {
                session_id: Some("s1".into()),
                ..Default::default()
            },
            &["t2", "t1"],
        ),
        (
            TraceFilter {
                release: Some("r2".into()),
                ..Default::default()
            },
            &["t2"],
        ),
        (
            TraceFilter {
                version: Some("v-r1".into()),
                ..Default::default()
            },
            &["t4", "t3", "t1"],
        ),
        (
            TraceFilter {
                tags: vec!["a".into(), "b".into()],
                ..Default::default()
            },
            &["t1"],
        ),
        (
            TraceFilter {
                tags: vec!["b".into()],
                ..Default::default()
            },
            &["t3", "t1"],
        ),
        (
            TraceFilter {
                tags: vec!["a".into(), "c".into()],
                ..Default::default()
            },
            &[],
        ),
        (
            TraceFilter {
                environments: vec!["prod".into(), "staging".into()],
                ..Default::default()
            },
            &["t4", "t2", "t1"],
        ),
        (
            TraceFilter {
                environments: vec!["default".into()],
                ..Default::default()
            },
            &["t3"],
        ),
        (
            TraceFilter {
                from_timestamp: Some(at(200)),
                to_timestamp: Some(at(400)),
                ..Default::default()
            },
            &["t3", "t2"],
        ),
        (
            TraceFilter {
                user_id: Some("u1".into()),
                tags: vec!["b".into()],
                environments: vec!["prod".into()],
                ..Default::default()
            },
            &["t1"],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            ids(&test, filter.clone()).await,
            expected,
            "filter {filter:?}"
        );
    }
}

#[tokio::test]
async fn traces_are_ordered_by_the_requested_field_with_id_as_tie_break() {
    let test = seeded().await;
    let order = |order_by, order| TraceFilter {
        order_by,
        order,
        ..Default::default()
    };
    let cases: Vec<(TraceFilter, &[&str])> = vec![
        (
            order(TraceOrderField::Timestamp, SortOrder::Asc),
            &["t1", "t2", "t3", "t4"],
        ),
        (
            order(TraceOrderField::Name, SortOrder::Asc),
            &["t1", "t2", "t3", "t4"],
        ),
        (
            order(TraceOrderField::Name, SortOrder::Desc),
            &["t4", "t3", "t2", "t1"],
        ),
        (
            order(TraceOrderField::UserId, SortOrder::Asc),
            &["t1", "t3", "t2", "t4"],
        ),
        (
            order(TraceOrderField::SessionId, SortOrder::Desc),
            &["t3", "t2", "t1", "t4"],
        ),
        (
            order(TraceOrderField::Release, SortOrder::Desc),
            &["t2", "t4", "t3", "t1"],
        ),
        (
            order(TraceOrderField::Version, SortOrder::Asc),
            &["t1", "t3", "t4", "t2"],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            ids(&test, filter.clone()).await,
            expected,
            "order {filter:?}"
        );
    }
}

#[tokio::test]
async fn pages_split_the_matches_and_report_the_total() {
    let test = seeded().await;
    let filter = TraceFilter::default();
    let mut seen = Vec::new();
    for (page, expected_len) in [(1, 3), (2, 1), (3, 0)] {
        let result = test
            .store
            .list_traces("p", &filter, PageRequest { page, limit: 3 })
            .await
            .unwrap();
        assert_eq!(result.total_items, 4);
        assert_eq!(result.items.len(), expected_len, "page {page}");
        seen.extend(result.items.into_iter().map(|trace| trace.record.id));
    }
    assert_eq!(seen, ["t4", "t3", "t2", "t1"]);
}

#[tokio::test]
async fn list_views_carry_ids_latency_and_cost() {
    let test = seeded().await;
    let filter = TraceFilter {
        name: Some("chat".into()),
        ..Default::default()
    };
    let page = test
        .store
        .list_traces("p", &filter, PageRequest::default())
        .await
        .unwrap();
    let t1 = page
        .items
        .iter()
        .find(|trace| trace.record.id == "t1")
        .unwrap();
    assert_eq!(t1.observation_ids, ["o1", "o2"]);
    assert_eq!(t1.score_ids, ["sc1", "sc2"]);
    assert_eq!(t1.latency_seconds, Some(5.0));
    assert!((t1.total_cost - 1.2).abs() < 1e-9);
    assert!(t1.observations.is_empty() && t1.scores.is_empty());
    assert_eq!(t1.record.tags, ["a", "b"]);
    let t2 = page
        .items
        .iter()
        .find(|trace| trace.record.id == "t2")
        .unwrap();
    assert!(t2.observation_ids.is_empty() && t2.score_ids.is_empty());
    assert_eq!(t2.latency_seconds, None);
    assert_eq!(t2.total_cost, 0.0);
}

#[tokio::test]
async fn a_project_never_sees_another_projects_rows() {
    let test = seeded().await;
    let page = test
        .store
        .list_traces("q", &TraceFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.total_items, 1);
    assert_eq!(page.items[0].record.name.as_deref(), Some("other"));
    assert_eq!(page.items[0].observation_ids, ["o1"]);
    assert!(page.items[0].score_ids.is_empty());

    let q_trace = test.store.get_trace("q", "t1").await.unwrap().unwrap();
    assert_eq!(q_trace.observations.len(), 1);
    assert!(q_trace.scores.is_empty());
    assert_eq!(test.store.get_trace("q", "t2").await.unwrap(), None);
    assert_eq!(test.store.get_observation("q", "o2").await.unwrap(), None);
    assert_eq!(test.store.get_score("q", "sc1").await.unwrap(), None);
    let filter = TraceFilter {
        tags: vec!["a".into()],
        ..Default::default()
    };
    assert_eq!(
        test.store
            .list_traces("q", &filter, PageRequest::default())
            .await
            .unwrap()
            .total_items,
        0
    );
    assert!(
        test.store
            .list_traces("nobody", &TraceFilter::default(), PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}
