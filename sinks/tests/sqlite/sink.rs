//! The pipeline sink over a trace store.

use std::sync::Arc;

use periscope_core::model::Record;
use periscope_core::pipeline::Sink;
use periscope_core::store::{TraceStore, WriteSummary};
use periscope_sinks::TraceStoreSink;

use crate::common::{at, observation, open_store, trace};

#[tokio::test]
async fn the_sink_writes_batches_into_the_store() {
    let test = open_store().await;
    let store: Arc<dyn TraceStore> = Arc::new(test.store.clone());
    let mut sink = TraceStoreSink::new(store, "sqlite");
    assert_eq!(sink.name(), "sqlite");
    sink.healthcheck().await.unwrap();
    let summary = sink
        .write(vec![
            Record::Trace(trace("p", "t", at(0))),
            Record::Observation(observation("p", "o", "t", at(1))),
        ])
        .await
        .unwrap();
    assert_eq!(
        summary,
        WriteSummary {
            traces: 1,
            observations: 1,
            scores: 0
        }
    );
    let stored = test.store.get_trace("p", "t").await.unwrap().unwrap();
    assert_eq!(stored.observations.len(), 1);
}
