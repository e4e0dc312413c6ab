//! Observation reads: filters, page order and cursor pagination.

use chrono::{DateTime, Utc};
use periscope_core::model::{Level, ObservationRecord, ObservationType, Record, TraceRecord};
use periscope_core::store::{ObservationCursor, ObservationFilter, PageRequest, TraceStore};

use crate::common::{TestStore, at, observation, open_store, trace};

async fn seeded() -> TestStore {
    let test = open_store().await;
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
    test.store
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
    test
}

async fn ids(test: &TestStore, filter: &ObservationFilter) -> Vec<String> {
    let page = test
        .store
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
    let test = seeded().await;
    let cases: Vec<(ObservationFilter, &[&str])> = vec![
        (ObservationFilter::default(), &["o3", "o2", "o1"]),
        (
            ObservationFilter {
                trace_id: Some("t1".into()),
                ..Default::default()
            },
            &["o2", "o1"],
        ),
        (
            ObservationFilter {
                observation_type: Some(ObservationType::Generation),
                ..Default::default()
            },
            &["o2"],
        ),
        (
            ObservationFilter {
                name: Some("click".into()),
                ..Default::default()
            },
            &["o3"],
        ),
        (
            ObservationFilter {
                parent_observation_id: Some("o1".into()),
                ..Default::default()
            },
            &["o2"],
        ),
        (
            ObservationFilter {
                user_id: Some("alice".into()),
                ..Default::default()
            },
            &["o2", "o1"],
        ),
        (
            ObservationFilter {
                level: Some(Level::Error),
                ..Default::default()
            },
            &["o2"],
        ),
        (
            ObservationFilter {
                version: Some("v2".into()),
                ..Default::default()
            },
            &["o2"],
        ),
        (
            ObservationFilter {
                environments: vec!["staging".into(), "default".into()],
                ..Default::default()
            },
            &["o3", "o1"],
        ),
        (
            ObservationFilter {
                from_start_time: Some(at(10)),
                to_start_time: Some(at(30)),
                ..Default::default()
            },
            &["o2", "o1"],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(ids(&test, &filter).await, expected, "filter {filter:?}");
    }
}

#[tokio::test]
async fn observation_pages_report_the_total_and_stay_in_the_project() {
    let test = seeded().await;
    let filter = ObservationFilter::default();
    let page = test
        .store
        .list_observations("p", &filter, PageRequest { page: 2, limit: 2 })
        .await
        .unwrap();
    assert_eq!(page.total_items, 3);
    assert_eq!(
        page.items.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        ["o1"]
    );
    let other = test
        .store
        .list_observations("q", &filter, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        other
            .items
            .iter()
            .map(|o| o.id.as_str())
            .collect::<Vec<_>>(),
        ["o4"]
    );
}

fn cursor_of(record: &ObservationRecord) -> ObservationCursor {
    ObservationCursor {
        start_time: record.start_time.unwrap_or(DateTime::<Utc>::MIN_UTC),
        id: record.id.clone(),
    }
}

#[tokio::test]
async fn a_cursor_walk_returns_every_observation_exactly_once() {
    let test = open_store().await;
    let mut records = Vec::new();
    for n in 0..23 {
        // Three observations share each start time, so the id must break ties.
        records.push(Record::Observation(observation(
            "p",
            &format!("o{n:02}"),
            "t",
            at(n / 3),
        )));
    }
    for id in ["n1", "n2"] {
        let no_start = ObservationRecord {
            start_time: None,
            ..observation("p", id, "t", at(0))
        };
        records.push(Record::Observation(no_start));
    }
    records.push(Record::Observation(observation("q", "other", "t", at(5))));
    test.store.write(records).await.unwrap();

    let filter = ObservationFilter::default();
    let all = test
        .store
        .list_observations(
            "p",
            &filter,
            PageRequest {
                page: 1,
                limit: 100,
            },
        )
        .await
        .unwrap();
    let expected: Vec<String> = all.items.iter().map(|o| o.id.clone()).collect();
    assert_eq!(expected.len(), 25);
    assert_eq!(&expected[..4], ["o22", "o21", "o20", "o19"]);
    assert_eq!(&expected[23..], ["n2", "n1"]);

    for limit in [1, 4, 7] {
        let mut walked = Vec::new();
        let mut cursor = None;
        loop {
            let items = test
                .store
                .list_observations_after("p", &filter, cursor.as_ref(), limit)
                .await
                .unwrap();
            assert!(items.len() as u64 <= limit);
            let Some(last) = items.last() else { break };
            cursor = Some(cursor_of(last));
            walked.extend(items.into_iter().map(|o| o.id));
        }
        assert_eq!(walked, expected, "limit {limit}");
    }
}

#[tokio::test]
async fn a_cursor_walk_applies_the_filter() {
    let test = seeded().await;
    let filter = ObservationFilter {
        trace_id: Some("t1".into()),
        ..Default::default()
    };
    let first = test
        .store
        .list_observations_after("p", &filter, None, 1)
        .await
        .unwrap();
    assert_eq!(
        first.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        ["o2"]
    );
    let cursor = cursor_of(&first[0]);
    let rest = test
        .store
        .list_observations_after("p", &filter, Some(&cursor), 10)
        .await
        .unwrap();
    assert_eq!(
        rest.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        ["o1"]
    );
    let none = test
        .store
        .list_observations_after("q", &filter, Some(&cursor), 10)
        .await
        .unwrap();
    assert!(none.is_empty());
}
