//! Session totals: traces, their observations and the scores on the session and its traces,
//! read for many sessions at once, and fast for a session of thousands of traces.

use std::time::{Duration as StdDuration, Instant};

use periscope_core::model::{Record, ScoreDataType, ScoreRecord, TraceRecord};
use periscope_core::store::{ScoreSummary, SessionMetrics, TraceStore};

use crate::common::{Backend, at, for_each_backend, generation, score, trace};

fn in_session(project: &str, id: &str, second: i64, session: &str) -> Record {
    Record::Trace(TraceRecord {
        session_id: Some(session.into()),
        ..trace(project, id, at(second))
    })
}

fn scored(id: &str, name: &str, trace: Option<&str>, session: Option<&str>) -> ScoreRecord {
    ScoreRecord {
        name: name.into(),
        session_id: session.map(Into::into),
        ..score("p", id, trace, at(300))
    }
}

async fn seed(store: &dyn TraceStore) {
    let label = ScoreRecord {
        data_type: ScoreDataType::Categorical,
        value: 0.0,
        string_value: Some("good".into()),
        ..scored("c1", "label", Some("a2"), None)
    };
    let accuracy = ScoreRecord {
        value: 0.5,
        ..scored("k1", "accuracy", Some("a1"), None)
    };
    store
        .write(vec![
            in_session("p", "a1", 100, "s1"),
            in_session("p", "a2", 200, "s1"),
            in_session("p", "b1", 50, "s2"),
            in_session("q", "z1", 10, "s1"),
            Record::Observation(generation("p", "g1", "a2", at(258), "gpt-4o")),
            Record::Score(accuracy),
            Record::Score(ScoreRecord {
                value: 1.0,
                ..scored("h1", "helpful", None, Some("s1"))
            }),
            Record::Score(scored("both", "both", Some("a1"), Some("s1"))),
            Record::Score(label),
        ])
        .await
        .unwrap();
}

fn summary(name: &str, data_type: ScoreDataType, average: Option<f64>) -> ScoreSummary {
    ScoreSummary {
        name: name.into(),
        data_type,
        count: 1,
        average,
    }
}

#[tokio::test]
async fn sessions_total_their_traces_observations_and_scores_in_one_read() {
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        seed(store).await;
        let ids = ["s1", "s2", "missing"].map(String::from);
        let metrics = store.session_metrics("p", &ids).await.unwrap();
        let expected = vec![
            SessionMetrics {
                session_id: "s1".into(),
                trace_count: 2,
                first_trace_at: at(100),
                last_activity_at: at(260),
                input_tokens: 1000,
                output_tokens: 100,
                total_tokens: 1100,
                total_cost: metrics[0].total_cost,
                scores: vec![
                    summary("accuracy", ScoreDataType::Numeric, Some(0.5)),
                    summary("both", ScoreDataType::Numeric, Some(0.9)),
                    summary("helpful", ScoreDataType::Numeric, Some(1.0)),
                    summary("label", ScoreDataType::Categorical, None),
                ],
            },
            SessionMetrics {
                session_id: "s2".into(),
                trace_count: 1,
                first_trace_at: at(50),
                last_activity_at: at(50),
                input_tokens: 0,
                output_tokens: 0,
                total_tokens: 0,
                total_cost: 0.0,
                scores: Vec::new(),
            },
        ];
        assert_eq!(metrics, expected, "{}", backend.name);
        assert!(
            (metrics[0].total_cost - 1.2).abs() < 1e-9,
            "{}",
            backend.name
        );
        assert_eq!(metrics[0].duration_seconds(), 160.0);
        let other = store.session_metrics("q", &ids).await.unwrap();
        assert_eq!(other.len(), 1, "{}", backend.name);
        assert_eq!(other[0].trace_count, 1, "{}", backend.name);
    })
    .await;
}

#[tokio::test]
async fn a_session_of_two_thousand_traces_reads_quickly() {
    const TRACES: i64 = 2_000;
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        let mut records = Vec::new();
        for index in 0..TRACES {
            let id = format!("t{index:05}");
            records.push(in_session("p", &id, index, "big"));
            records.push(Record::Observation(generation(
                "p",
                &format!("o{index:05}"),
                &id,
                at(index),
                "gpt-4o",
            )));
        }
        store.write(records).await.unwrap();

        let started = Instant::now();
        let session = store.get_session("p", "big").await.unwrap().unwrap();
        let metrics = store
            .session_metrics("p", &["big".to_owned()])
            .await
            .unwrap();
        let elapsed = started.elapsed();

        assert_eq!(session.traces.len(), TRACES as usize, "{}", backend.name);
        assert!(
            session
                .traces
                .windows(2)
                .all(|pair| pair[0].record.timestamp < pair[1].record.timestamp),
            "{}: traces in time order",
            backend.name
        );
        assert_eq!(metrics[0].trace_count, TRACES as u64, "{}", backend.name);
        assert_eq!(metrics[0].total_tokens, 1_100 * TRACES, "{}", backend.name);
        assert_eq!(
            metrics[0].last_activity_at,
            at(TRACES - 1 + 2),
            "{}",
            backend.name
        );
        assert!(
            elapsed < StdDuration::from_secs(5),
            "{}: session read took {elapsed:?}",
            backend.name
        );
    })
    .await;
}
