//! Score reads (every filter, newest-first order, pagination) and score deletion.

use chrono::{Duration, Utc};
use periscope_core::model::{Record, ScoreDataType, ScoreRecord, ScoreSource, TraceRecord};
use periscope_core::store::{PageRequest, ScoreFilter, TraceStore};

use crate::common::{Backend, at, for_each_backend, score, trace};

async fn seed(store: &dyn TraceStore) {
    let on_observation = ScoreRecord {
        observation_id: Some("o1".into()),
        name: "quality".into(),
        data_type: ScoreDataType::Categorical,
        string_value: Some("good".into()),
        source: ScoreSource::Eval,
        config_id: Some("c1".into()),
        environment: "prod".into(),
        ..score("p", "s2", Some("t1"), at(20))
    };
    let on_session = ScoreRecord {
        session_id: Some("session-1".into()),
        data_type: ScoreDataType::Boolean,
        source: ScoreSource::Annotation,
        environment: "staging".into(),
        ..score("p", "s3", None, at(30))
    };
    let on_run = ScoreRecord {
        dataset_run_id: Some("run-1".into()),
        ..score("p", "s4", None, at(40))
    };
    store
        .write(vec![
            Record::Trace(TraceRecord {
                user_id: Some("alice".into()),
                ..trace("p", "t1", at(0))
            }),
            Record::Trace(TraceRecord {
                user_id: Some("alice".into()),
                ..trace("q", "t1", at(0))
            }),
            Record::Score(score("p", "s1", Some("t1"), at(10))),
            Record::Score(on_observation),
            Record::Score(on_session),
            Record::Score(on_run),
            Record::Score(score("q", "s5", Some("t1"), at(50))),
        ])
        .await
        .unwrap();
}

#[tokio::test]
async fn every_score_filter_selects_exactly_its_scores() {
    let filter = |f: fn(&mut ScoreFilter)| {
        let mut filter = ScoreFilter::default();
        f(&mut filter);
        filter
    };
    let cases: Vec<(ScoreFilter, &[&str])> = vec![
        (ScoreFilter::default(), &["s4", "s3", "s2", "s1"]),
        (filter(|f| f.trace_id = Some("t1".into())), &["s2", "s1"]),
        (filter(|f| f.observation_id = Some("o1".into())), &["s2"]),
        (filter(|f| f.session_id = Some("session-1".into())), &["s3"]),
        (filter(|f| f.dataset_run_id = Some("run-1".into())), &["s4"]),
        (filter(|f| f.name = Some("quality".into())), &["s2"]),
        (
            filter(|f| f.data_type = Some(ScoreDataType::Boolean)),
            &["s3"],
        ),
        (filter(|f| f.source = Some(ScoreSource::Api)), &["s4", "s1"]),
        (filter(|f| f.user_id = Some("alice".into())), &["s2", "s1"]),
        (filter(|f| f.user_id = Some("bob".into())), &[]),
        (filter(|f| f.config_id = Some("c1".into())), &["s2"]),
        (
            filter(|f| f.environments = vec!["prod".into(), "staging".into()]),
            &["s3", "s2"],
        ),
        (
            filter(|f| {
                f.from_timestamp = Some(at(20));
                f.to_timestamp = Some(at(40));
            }),
            &["s3", "s2"],
        ),
    ];
    for_each_backend(async |backend: &Backend| {
        seed(backend.store.as_ref()).await;
        for (filter, expected) in &cases {
            let page = backend
                .store
                .list_scores(
                    "p",
                    filter,
                    PageRequest {
                        page: 1,
                        limit: 100,
                    },
                )
                .await
                .unwrap();
            let ids: Vec<&str> = page.items.iter().map(|s| s.id.as_str()).collect();
            assert_eq!(ids, *expected, "{} {filter:?}", backend.name);
            assert_eq!(page.total_items, expected.len() as u64, "{}", backend.name);
        }
    })
    .await;
}

#[tokio::test]
async fn score_pages_report_the_total_and_stay_in_the_project() {
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        seed(store).await;
        let page = store
            .list_scores(
                "p",
                &ScoreFilter::default(),
                PageRequest { page: 2, limit: 3 },
            )
            .await
            .unwrap();
        assert_eq!(page.total_items, 4, "{}", backend.name);
        let ids: Vec<&str> = page.items.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["s1"], "{}", backend.name);
        let other = store
            .list_scores("q", &ScoreFilter::default(), PageRequest::default())
            .await
            .unwrap();
        let ids: Vec<&str> = other.items.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["s5"], "{}", backend.name);
        assert_eq!(store.get_score("q", "s1").await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn a_moved_score_is_found_under_its_new_trace_and_time_only() {
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        seed(store).await;
        let moved = ScoreRecord {
            event_time: at(100),
            ..score("p", "s1", Some("t9"), at(90))
        };
        store.write(vec![Record::Score(moved)]).await.unwrap();
        let by_trace = |trace_id: &str| ScoreFilter {
            trace_id: Some(trace_id.into()),
            ..Default::default()
        };
        let list = async |filter: ScoreFilter| -> Vec<String> {
            let page = store
                .list_scores("p", &filter, PageRequest::default())
                .await;
            page.unwrap().items.into_iter().map(|s| s.id).collect()
        };
        assert_eq!(list(by_trace("t1")).await, ["s2"], "{}", backend.name);
        assert_eq!(list(by_trace("t9")).await, ["s1"], "{}", backend.name);
        let early = ScoreFilter {
            to_timestamp: Some(at(15)),
            ..Default::default()
        };
        assert!(list(early).await.is_empty(), "{}", backend.name);
        let trace = store.get_trace("p", "t1").await.unwrap().unwrap();
        assert_eq!(trace.scores.len(), 1, "{}", backend.name);
    })
    .await;
}

#[tokio::test]
async fn a_deleted_score_stays_deleted_until_a_newer_write() {
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        let original = score("p", "s1", Some("t1"), at(10));
        let records = vec![
            Record::Trace(trace("p", "t1", at(0))),
            Record::Score(original.clone()),
            Record::Score(score("p", "s2", Some("t1"), at(11))),
            Record::Score(score("q", "s1", Some("t1"), at(12))),
        ];
        store.write(records.clone()).await.unwrap();
        assert!(
            store.delete_score("p", "s1").await.unwrap(),
            "{}",
            backend.name
        );
        assert!(
            !store.delete_score("p", "s1").await.unwrap(),
            "{}",
            backend.name
        );
        assert!(!store.delete_score("p", "nope").await.unwrap());
        assert_eq!(store.get_score("p", "s1").await.unwrap(), None);
        assert!(store.get_score("q", "s1").await.unwrap().is_some());
        let trace = store.get_trace("p", "t1").await.unwrap().unwrap();
        let ids: Vec<&str> = trace.scores.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["s2"], "{}", backend.name);
        let page = store
            .list_scores("p", &ScoreFilter::default(), PageRequest::default())
            .await
            .unwrap();
        assert_eq!(page.total_items, 1, "{}", backend.name);

        // A replay of the same batch does not resurrect it.
        store.write(records).await.unwrap();
        assert_eq!(
            store.get_score("p", "s1").await.unwrap(),
            None,
            "{}",
            backend.name
        );

        // A write newer than the deletion creates the score again.
        let recreated = ScoreRecord {
            value: 0.1,
            event_time: Utc::now() + Duration::hours(1),
            ..original
        };
        store.write(vec![Record::Score(recreated)]).await.unwrap();
        let stored = store.get_score("p", "s1").await.unwrap().unwrap();
        assert_eq!(stored.value, 0.1, "{}", backend.name);
    })
    .await;
}
