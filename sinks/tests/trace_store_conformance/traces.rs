//! Trace reads: every filter of `list_traces`, ordering, pagination, derived fields and
//! project isolation.

use periscope_core::model::{ObservationRecord, Record, TraceRecord};
use periscope_core::store::{
    ObservationFilter, PageRequest, SortOrder, TraceFilter, TraceOrderField, TraceStore,
};

use crate::common::{
    Backend, at, for_each_backend, generation, listed, observation, score, trace, trace_version,
};

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
async fn seed(store: &dyn TraceStore) {
    let other_project = TraceRecord {
        name: Some("other".into()),
        ..trace("q", "t1", at(100))
    };
    let span_t1 = ObservationRecord {
        end_time: Some(at(105)),
        ..observation("p", "o2", "t1", at(101))
    };
    store
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
}

async fn ids(store: &dyn TraceStore, filter: &TraceFilter) -> Vec<String> {
    listed(store, filter)
        .await
        .into_iter()
        .map(|trace| trace.record.id)
        .collect()
}

#[tokio::test]
async fn every_trace_filter_selects_exactly_its_traces() {
    let filter = |f: fn(&mut TraceFilter)| {
        let mut filter = TraceFilter::default();
        f(&mut filter);
        filter
    };
    let cases: Vec<(TraceFilter, &[&str])> = vec![
        (TraceFilter::default(), &["t4", "t3", "t2", "t1"]),
        (filter(|f| f.user_id = Some("u1".into())), &["t3", "t1"]),
        (filter(|f| f.name = Some("chat".into())), &["t2", "t1"]),
        (filter(|f| f.session_id = Some("s1".into())), &["t2", "t1"]),
        (filter(|f| f.release = Some("r2".into())), &["t2"]),
        (
            filter(|f| f.version = Some("v-r1".into())),
            &["t4", "t3", "t1"],
        ),
        (filter(|f| f.tags = vec!["a".into(), "b".into()]), &["t1"]),
        (filter(|f| f.tags = vec!["b".into()]), &["t3", "t1"]),
        (filter(|f| f.tags = vec!["a".into(), "c".into()]), &[]),
        (
            filter(|f| f.environments = vec!["prod".into(), "staging".into()]),
            &["t4", "t2", "t1"],
        ),
        (filter(|f| f.environments = vec!["default".into()]), &["t3"]),
        (
            filter(|f| {
                f.from_timestamp = Some(at(200));
                f.to_timestamp = Some(at(400));
            }),
            &["t3", "t2"],
        ),
        (
            filter(|f| {
                f.user_id = Some("u1".into());
                f.tags = vec!["b".into()];
                f.environments = vec!["prod".into()];
            }),
            &["t1"],
        ),
    ];
    for_each_backend(async |backend: &Backend| {
        seed(backend.store.as_ref()).await;
        for (filter, expected) in &cases {
            let found = ids(backend.store.as_ref(), filter).await;
            assert_eq!(found, *expected, "{} {filter:?}", backend.name);
        }
    })
    .await;
}

#[tokio::test]
async fn traces_are_ordered_by_the_requested_field_with_id_as_tie_break() {
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
            order(TraceOrderField::SessionId, SortOrder::Asc),
            &["t4", "t1", "t2", "t3"],
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
    for_each_backend(async |backend: &Backend| {
        seed(backend.store.as_ref()).await;
        for (filter, expected) in &cases {
            let found = ids(backend.store.as_ref(), filter).await;
            assert_eq!(found, *expected, "{} {filter:?}", backend.name);
        }
    })
    .await;
}

#[tokio::test]
async fn pages_split_the_matches_and_report_the_total() {
    for_each_backend(async |backend: &Backend| {
        seed(backend.store.as_ref()).await;
        let mut seen = Vec::new();
        for (page, expected_len) in [(1, 3), (2, 1), (3, 0)] {
            let result = backend
                .store
                .list_traces("p", &TraceFilter::default(), PageRequest { page, limit: 3 })
                .await
                .unwrap();
            assert_eq!(result.total_items, 4, "{}", backend.name);
            assert_eq!(
                result.items.len(),
                expected_len,
                "{} page {page}",
                backend.name
            );
            seen.extend(result.items.into_iter().map(|trace| trace.record.id));
        }
        assert_eq!(seen, ["t4", "t3", "t2", "t1"], "{}", backend.name);
    })
    .await;
}

#[tokio::test]
async fn list_views_carry_ids_latency_and_cost() {
    for_each_backend(async |backend: &Backend| {
        seed(backend.store.as_ref()).await;
        let filter = TraceFilter {
            name: Some("chat".into()),
            ..Default::default()
        };
        let page = backend
            .store
            .list_traces("p", &filter, PageRequest::default())
            .await
            .unwrap();
        let t1 = page.items.iter().find(|t| t.record.id == "t1").unwrap();
        assert_eq!(t1.observation_ids, ["o1", "o2"], "{}", backend.name);
        assert_eq!(t1.score_ids, ["sc1", "sc2"], "{}", backend.name);
        assert_eq!(t1.latency_seconds, Some(5.0), "{}", backend.name);
        assert!((t1.total_cost - 1.2).abs() < 1e-9, "{}", backend.name);
        assert!(t1.observations.is_empty() && t1.scores.is_empty());
        assert_eq!(t1.record.tags, ["a", "b"], "{}", backend.name);
        let t2 = page.items.iter().find(|t| t.record.id == "t2").unwrap();
        assert!(t2.observation_ids.is_empty() && t2.score_ids.is_empty());
        assert_eq!(t2.latency_seconds, None, "{}", backend.name);
        assert_eq!(t2.total_cost, 0.0, "{}", backend.name);
    })
    .await;
}

#[tokio::test]
async fn an_updated_trace_is_found_by_its_new_values_only() {
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        seed(store).await;
        let renamed = TraceRecord {
            name: Some("renamed".into()),
            user_id: Some("u9".into()),
            tags: vec!["z".into()],
            event_time: at(1000),
            ..trace("p", "t1", at(100))
        };
        store.write(vec![Record::Trace(renamed)]).await.unwrap();
        let by_name = |name: &str| TraceFilter {
            name: Some(name.into()),
            ..Default::default()
        };
        assert_eq!(
            ids(store, &by_name("chat")).await,
            ["t2"],
            "{}",
            backend.name
        );
        assert_eq!(
            ids(store, &by_name("renamed")).await,
            ["t1"],
            "{}",
            backend.name
        );
        let old_user = TraceFilter {
            user_id: Some("u1".into()),
            ..Default::default()
        };
        assert_eq!(ids(store, &old_user).await, ["t3"], "{}", backend.name);
        assert_eq!(ids(store, &TraceFilter::default()).await.len(), 4);
    })
    .await;
}

/// ClickHouse selects a user's or session's traces before picking their newest versions
/// (docs/adr/0022): a version left under an old user, session or time must never show.
#[tokio::test]
async fn a_trace_moved_to_another_user_session_or_time_is_found_under_the_new_ones_only() {
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        store
            .write(vec![
                trace_version("u1", "s1", 30, 1),
                Record::Observation(generation("p", "g1", "t1", at(11), "gpt-4o")),
                Record::Score(score("p", "sc1", Some("t1"), at(12))),
            ])
            .await
            .unwrap();
        // Another user and session at the same time (the sorting key stays).
        store
            .write(vec![trace_version("u2", "s2", 30, 2)])
            .await
            .unwrap();
        // Back to the first user, in a third session and at an earlier time (a trace's time
        // only moves earlier on merge).
        store
            .write(vec![trace_version("u1", "s3", 10, 3)])
            .await
            .unwrap();
        let filter = |user: Option<&str>, session: Option<&str>, from: i64, to: i64| TraceFilter {
            user_id: user.map(Into::into),
            session_id: session.map(Into::into),
            from_timestamp: Some(at(from)),
            to_timestamp: Some(at(to)),
            ..Default::default()
        };
        let cases: [(TraceFilter, &[&str]); 8] = [
            (filter(Some("u1"), None, 0, 100), &["t1"]),
            (filter(Some("u2"), None, 0, 100), &[]),
            (filter(None, Some("s1"), 0, 100), &[]),
            (filter(None, Some("s2"), 0, 100), &[]),
            (filter(None, Some("s3"), 0, 100), &["t1"]),
            (filter(Some("u1"), None, 25, 40), &[]),
            (filter(Some("u1"), Some("s3"), 0, 15), &["t1"]),
            (filter(Some("u1"), Some("s1"), 0, 100), &[]),
        ];
        for (filter, expected) in cases {
            assert_eq!(
                ids(store, &filter).await,
                expected,
                "{}: {filter:?}",
                backend.name
            );
        }
        // Observations and scores filtered by user follow their trace.
        for (user, expected) in [("u1", 1), ("u2", 0)] {
            let observations = ObservationFilter {
                user_id: Some(user.into()),
                ..Default::default()
            };
            let page = store
                .list_observations("p", &observations, PageRequest::default())
                .await
                .unwrap();
            assert_eq!(page.total_items, expected, "{}: {user}", backend.name);
            assert_eq!(
                page.items.len() as u64,
                expected,
                "{}: {user}",
                backend.name
            );
            let scores = periscope_core::store::ScoreFilter {
                user_id: Some(user.into()),
                ..Default::default()
            };
            let page = store
                .list_scores("p", &scores, PageRequest::default())
                .await
                .unwrap();
            assert_eq!(page.total_items, expected, "{}: {user}", backend.name);
        }
    })
    .await;
}

#[tokio::test]
async fn a_project_never_sees_another_projects_rows() {
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        seed(store).await;
        let page = store
            .list_traces("q", &TraceFilter::default(), PageRequest::default())
            .await
            .unwrap();
        assert_eq!(page.total_items, 1, "{}", backend.name);
        assert_eq!(page.items[0].record.name.as_deref(), Some("other"));
        assert_eq!(page.items[0].observation_ids, ["o1"], "{}", backend.name);
        assert!(page.items[0].score_ids.is_empty());
        let q_trace = store.get_trace("q", "t1").await.unwrap().unwrap();
        assert_eq!(q_trace.observations.len(), 1, "{}", backend.name);
        assert!(q_trace.scores.is_empty());
        assert_eq!(store.get_trace("q", "t2").await.unwrap(), None);
        assert_eq!(store.get_observation("q", "o2").await.unwrap(), None);
        assert_eq!(store.get_score("q", "sc1").await.unwrap(), None);
        let nobody = store
            .list_traces("nobody", &TraceFilter::default(), PageRequest::default())
            .await
            .unwrap();
        assert!(nobody.items.is_empty(), "{}", backend.name);
    })
    .await;
}

#[tokio::test]
async fn a_page_past_the_end_is_empty_and_still_reports_the_total() {
    for_each_backend(async |backend: &Backend| {
        let store = &backend.store;
        store
            .write(vec![
                Record::Trace(trace("p", "t1", at(1))),
                Record::Trace(trace("p", "t2", at(2))),
                Record::Trace(trace("p", "t3", at(3))),
                Record::Observation(observation("p", "o1", "t1", at(1))),
                Record::Observation(observation("p", "o2", "t2", at(2))),
                Record::Observation(observation("p", "o3", "t3", at(3))),
            ])
            .await
            .unwrap();
        let past_the_end = PageRequest { page: 3, limit: 2 };
        let traces = store
            .list_traces("p", &TraceFilter::default(), past_the_end)
            .await
            .unwrap();
        assert!(traces.items.is_empty(), "{}", backend.name);
        assert_eq!(traces.total_items, 3, "{}", backend.name);
        let observations = store
            .list_observations("p", &ObservationFilter::default(), past_the_end)
            .await
            .unwrap();
        assert!(observations.items.is_empty(), "{}", backend.name);
        assert_eq!(observations.total_items, 3, "{}", backend.name);
        let last = PageRequest { page: 2, limit: 2 };
        let traces = store
            .list_traces("p", &TraceFilter::default(), last)
            .await
            .unwrap();
        assert_eq!(traces.items.len(), 1, "{}", backend.name);
        assert_eq!(traces.total_items, 3, "{}", backend.name);
    })
    .await;
}
