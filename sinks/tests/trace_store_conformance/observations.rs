//! Observation reads: filters, page order and cursor pagination.

use chrono::{DateTime, Utc};
use periscope_core::model::{Level, ObservationRecord, ObservationType, Record, TraceRecord};
use periscope_core::store::{ObservationCursor, ObservationFilter, PageRequest, TraceStore};

use crate::common::{Backend, at, for_each_backend, observation, trace};

async fn seed(store: &dyn TraceStore) {
    let user_trace = TraceRecord {
        user_id: Some("alice".into()),
        ..trace("p", "t1", at(0))
    };
    let generation = ObservationRecord {
        observation_type: Some(ObservationType::Generation),
        name: Some("llm".into()),
        parent_observation_id: Some("o1".into()),
        level: Some(Level::Error),
        version: Some("v2".into()),
        environment: Some("prod".into()),
        ..observation("p", "o2", "t1", at(20))
    };
    let event = ObservationRecord {
        observation_type: Some(ObservationType::Event),
        name: Some("click".into()),
        environment: Some("staging".into()),
        ..observation("p", "o3", "t2", at(30))
    };
    store
        .write(vec![
            Record::Trace(user_trace),
            Record::Trace(trace("p", "t2", at(0))),
            Record::Observation(ObservationRecord {
                name: Some("root".into()),
                ..observation("p", "o1", "t1", at(10))
            }),
            Record::Observation(generation),
            Record::Observation(event),
            Record::Observation(observation("q", "o4", "t1", at(40))),
        ])
        .await
        .unwrap();
}

async fn ids(store: &dyn TraceStore, filter: &ObservationFilter) -> Vec<String> {
    let page = store
        .list_observations(
            "p",
            filter,
            PageRequest {
                page: 1,
                limit: 100,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.total_items, page.items.len() as u64);
    page.items.into_iter().map(|o| o.id).collect()
}

#[tokio::test]
async fn every_observation_filter_selects_exactly_its_observations() {
    let filter = |f: fn(&mut ObservationFilter)| {
        let mut filter = ObservationFilter::default();
        f(&mut filter);
        filter
    };
    let cases: Vec<(ObservationFilter, &[&str])> = vec![
        (ObservationFilter::default(), &["o3", "o2", "o1"]),
        (filter(|f| f.trace_id = Some("t1".into())), &["o2", "o1"]),
        (
            filter(|f| f.observation_type = Some(ObservationType::Generation)),
            &["o2"],
        ),
        (filter(|f| f.name = Some("click".into())), &["o3"]),
        (
            filter(|f| f.parent_observation_id = Some("o1".into())),
            &["o2"],
        ),
        (filter(|f| f.user_id = Some("alice".into())), &["o2", "o1"]),
        (filter(|f| f.level = Some(Level::Error)), &["o2"]),
        (filter(|f| f.version = Some("v2".into())), &["o2"]),
        (
            filter(|f| f.environments = vec!["staging".into(), "default".into()]),
            &["o3", "o1"],
        ),
        (
            filter(|f| {
                f.from_start_time = Some(at(10));
                f.to_start_time = Some(at(30));
            }),
            &["o2", "o1"],
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
async fn observation_pages_report_the_total_and_stay_in_the_project() {
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        seed(store).await;
        let filter = ObservationFilter::default();
        let page = store
            .list_observations("p", &filter, PageRequest { page: 2, limit: 2 })
            .await
            .unwrap();
        assert_eq!(page.total_items, 3, "{}", backend.name);
        let found: Vec<&str> = page.items.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(found, ["o1"], "{}", backend.name);
        let other = store
            .list_observations("q", &filter, PageRequest::default())
            .await
            .unwrap();
        let found: Vec<&str> = other.items.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(found, ["o4"], "{}", backend.name);
    })
    .await;
}

fn cursor_of(record: &ObservationRecord) -> ObservationCursor {
    ObservationCursor {
        start_time: record.start_time.unwrap_or(DateTime::<Utc>::MIN_UTC),
        id: record.id.clone(),
    }
}

#[tokio::test]
async fn a_cursor_walk_returns_every_observation_exactly_once() {
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        let mut records = Vec::new();
        for n in 0..23 {
            // Three observations share each start time, so the id must break ties.
            let id = format!("o{n:02}");
            records.push(Record::Observation(observation("p", &id, "t", at(n / 3))));
        }
        for id in ["n1", "n2"] {
            let no_start = ObservationRecord {
                start_time: None,
                ..observation("p", id, "t", at(0))
            };
            records.push(Record::Observation(no_start));
        }
        records.push(Record::Observation(observation("q", "other", "t", at(5))));
        store.write(records).await.unwrap();

        let filter = ObservationFilter::default();
        let expected = ids(store, &filter).await;
        assert_eq!(expected.len(), 25, "{}", backend.name);
        assert_eq!(
            &expected[..4],
            ["o22", "o21", "o20", "o19"],
            "{}",
            backend.name
        );
        assert_eq!(&expected[23..], ["n2", "n1"], "{}", backend.name);
        for limit in [1, 4, 7] {
            let mut walked = Vec::new();
            let mut cursor = None;
            loop {
                let items = store
                    .list_observations_after("p", &filter, cursor.as_ref(), limit)
                    .await
                    .unwrap();
                assert!(items.len() as u64 <= limit);
                let Some(last) = items.last() else { break };
                cursor = Some(cursor_of(last));
                walked.extend(items.into_iter().map(|o| o.id));
            }
            assert_eq!(walked, expected, "{} limit {limit}", backend.name);
        }
    })
    .await;
}

#[tokio::test]
async fn a_cursor_walk_applies_the_filter() {
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        seed(store).await;
        let filter = ObservationFilter {
            trace_id: Some("t1".into()),
            ..Default::default()
        };
        let first = store
            .list_observations_after("p", &filter, None, 1)
            .await
            .unwrap();
        let found: Vec<&str> = first.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(found, ["o2"], "{}", backend.name);
        let cursor = cursor_of(&first[0]);
        let rest = store
            .list_observations_after("p", &filter, Some(&cursor), 10)
            .await
            .unwrap();
        let found: Vec<&str> = rest.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(found, ["o1"], "{}", backend.name);
        let none = store
            .list_observations_after("q", &filter, Some(&cursor), 10)
            .await
            .unwrap();
        assert!(none.is_empty(), "{}", backend.name);
    })
    .await;
}

#[tokio::test]
async fn an_observation_whose_start_moves_earlier_is_listed_once_at_its_new_start() {
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        let no_start = ObservationRecord {
            start_time: None,
            ..observation("p", "o", "t", at(500))
        };
        store
            .write(vec![Record::Observation(no_start)])
            .await
            .unwrap();
        store
            .write(vec![Record::Observation(observation(
                "p",
                "o",
                "t",
                at(50),
            ))])
            .await
            .unwrap();
        store
            .write(vec![Record::Observation(observation("p", "o", "t", at(5)))])
            .await
            .unwrap();
        assert_eq!(ids(store, &ObservationFilter::default()).await, ["o"]);
        let late = ObservationFilter {
            from_start_time: Some(at(10)),
            ..Default::default()
        };
        assert!(ids(store, &late).await.is_empty(), "{}", backend.name);
        let stored = store.get_observation("p", "o").await.unwrap().unwrap();
        assert_eq!(stored.start_time, Some(at(5)), "{}", backend.name);
    })
    .await;
}
