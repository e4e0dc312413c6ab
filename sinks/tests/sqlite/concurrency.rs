//! Concurrent writers and readers on one store.

use periscope_core::model::Record;
use periscope_core::store::{ObservationFilter, PageRequest, TraceFilter, TraceStore};

use crate::common::{at, observation, open_store, trace};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_and_reads_all_succeed() {
    let test = open_store().await;
    let batch = |writer: usize| -> Vec<Record> {
        (0..50)
            .flat_map(|n| {
                let trace_id = format!("t{writer}-{n}");
                [
                    Record::Trace(trace("p", &trace_id, at(n))),
                    Record::Observation(observation(
                        "p",
                        &format!("o{writer}-{n}"),
                        &trace_id,
                        at(n),
                    )),
                ]
            })
            .collect()
    };
    let writes = (0..4).map(|writer| {
        let store = test.store.clone();
        let records = batch(writer);
        async move { store.write(records).await }
    });
    let reads = (0..4).map(|_| {
        let store = test.store.clone();
        async move {
            store
                .list_traces("p", &TraceFilter::default(), PageRequest::default())
                .await
        }
    });
    let (written, read) = tokio::join!(
        futures::future::join_all(writes),
        futures::future::join_all(reads)
    );
    assert!(written.iter().all(Result::is_ok), "{written:?}");
    assert!(read.iter().all(Result::is_ok), "{read:?}");

    let all_traces = TraceFilter::default();
    let traces = test
        .store
        .list_traces("p", &all_traces, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(traces.total_items, 200);
    let all_observations = ObservationFilter::default();
    let observations = test
        .store
        .list_observations("p", &all_observations, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(observations.total_items, 200);
}
