//! Score reads: every filter, newest-first order, pagination.

use periscope_core::model::{Record, ScoreDataType, ScoreRecord, ScoreSource, TraceRecord};
use periscope_core::store::{PageRequest, ScoreFilter, TraceStore};

use crate::common::{TestStore, at, open_store, score, trace};

async fn seeded() -> TestStore {
    let test = open_store().await;
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
    test.store
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
    test
}

#[tokio::test]
async fn every_score_filter_selects_exactly_its_scores() {
    let test = seeded().await;
    let cases: Vec<(ScoreFilter, &[&str])> = vec![
        (ScoreFilter::default(), &["s4", "s3", "s2", "s1"]),
        (
            ScoreFilter {
                trace_id: Some("t1".into()),
                ..Default::default()
            },
            &["s2", "s1"],
        ),
        (
            ScoreFilter {
                observation_id: Some("o1".into()),
                ..Default::default()
            },
            &["s2"],
        ),
        (
            ScoreFilter {
                session_id: Some("session-1".into()),
                ..Default::default()
            },
            &["s3"],
        ),
        (
            ScoreFilter {
                dataset_run_id: Some("run-1".into()),
                ..Default::default()
            },
            &["s4"],
        ),
        (
            ScoreFilter {
                name: Some("quality".into()),
                ..Default::default()
            },
            &["s2"],
        ),
        (
            ScoreFilter {
                data_type: Some(ScoreDataType::Boolean),
                ..Default::default()
            },
            &["s3"],
        ),
        (
            ScoreFilter {
                source: Some(ScoreSource::Api),
                ..Default::default()
            },
            &["s4", "s1"],
        ),
        (
            ScoreFilter {
                user_id: Some("alice".into()),
                ..Default::default()
            },
            &["s2", "s1"],
        ),
        (
            ScoreFilter {
                user_id: Some("bob".into()),
                ..Default::default()
            },
            &[],
        ),
        (
            ScoreFilter {
                config_id: Some("c1".into()),
                ..Default::default()
            },
            &["s2"],
        ),
        (
            ScoreFilter {
                environments: vec!["prod".into(), "staging".into()],
                ..Default::default()
            },
            &["s3", "s2"],
        ),
        (
            ScoreFilter {
                from_timestamp: Some(at(20)),
                to_timestamp: Some(at(40)),
                ..Default::default()
            },
            &["s3", "s2"],
        ),
    ];
    for (filter, expected) in cases {
        let page = test
            .store
            .list_scores(
                "p",
                &filter,
                PageRequest {
                    page: 1,
                    limit: 100,
                },
            )
            .await
            .unwrap();
        let ids: Vec<&str> = page.items.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, expected, "filter {filter:?}");
        assert_eq!(page.total_items, expected.len() as u64);
    }
}

#[tokio::test]
async fn score_pages_report_the_total_and_stay_in_the_project() {
    let test = seeded().await;
    let page = test
        .store
        .list_scores(
            "p",
            &ScoreFilter::default(),
            PageRequest { page: 2, limit: 3 },
        )
        .await
        .unwrap();
    assert_eq!(page.total_items, 4);
    assert_eq!(
        page.items.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["s1"]
    );
    let other = test
        .store
        .list_scores("q", &ScoreFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        other
            .items
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>(),
        ["s5"]
    );
    assert_eq!(test.store.get_score("q", "s1").await.unwrap(), None);
    assert_eq!(
        test.store
            .get_score("p", "s3")
            .await
            .unwrap()
            .unwrap()
            .session_id
            .as_deref(),
        Some("session-1")
    );
}
