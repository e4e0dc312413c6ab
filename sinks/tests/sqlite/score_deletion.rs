//! Deleting scores: gone from every read, not brought back by a replay, recreated by a newer
//! write.

use chrono::{Duration, Utc};
use periscope_core::model::{Record, ScoreRecord};
use periscope_core::store::{PageRequest, ScoreFilter, TraceStore};

use crate::common::{at, open_store, score, trace};

#[tokio::test]
async fn a_deleted_score_stays_deleted_until_a_newer_write() {
    let test = open_store().await;
    let original = score("p", "s1", Some("t1"), at(10));
    let records = vec![
        Record::Trace(trace("p", "t1", at(0))),
        Record::Score(original.clone()),
        Record::Score(score("p", "s2", Some("t1"), at(11))),
        Record::Score(score("q", "s1", Some("t1"), at(12))),
    ];
    test.store.write(records.clone()).await.unwrap();

    assert!(test.store.delete_score("p", "s1").await.unwrap());
    assert!(!test.store.delete_score("p", "s1").await.unwrap());
    assert!(!test.store.delete_score("p", "nope").await.unwrap());
    assert_eq!(test.store.get_score("p", "s1").await.unwrap(), None);
    // The other project's score of the same id is untouched.
    assert!(test.store.get_score("q", "s1").await.unwrap().is_some());
    let trace = test.store.get_trace("p", "t1").await.unwrap().unwrap();
    let ids: Vec<&str> = trace.scores.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["s2"]);
    let page = test
        .store
        .list_scores("p", &ScoreFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.total_items, 1);

    // A replay of the same batch (the pipeline re-reading the log) does not resurrect it.
    test.store.write(records).await.unwrap();
    assert_eq!(test.store.get_score("p", "s1").await.unwrap(), None);

    // A write newer than the deletion creates the score again.
    let later = Utc::now() + Duration::hours(1);
    let recreated = ScoreRecord {
        value: 0.1,
        event_time: later,
        ..original
    };
    test.store
        .write(vec![Record::Score(recreated)])
        .await
        .unwrap();
    let stored = test.store.get_score("p", "s1").await.unwrap().unwrap();
    assert_eq!(stored.value, 0.1);
}
