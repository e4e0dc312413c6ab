//! Observation updates that arrive without their trace id (Langfuse's `*-update` events may
//! omit `traceId`) merge into the stored observation, in either order, in separate batches.

use periscope_core::model::{Level, ObservationRecord, Record};

use crate::common::{Backend, at, for_each_backend, observation};

/// An update of `id` that names no trace: it ends the observation with an error.
fn update_without_trace(id: &str) -> ObservationRecord {
    ObservationRecord {
        project_id: "p".into(),
        id: id.into(),
        end_time: Some(at(3)),
        level: Some(Level::Error),
        event_time: at(4),
        ..ObservationRecord::default()
    }
}

#[tokio::test]
async fn an_update_without_its_trace_id_merges_into_the_stored_observation() {
    for_each_backend(async |backend: &Backend| {
        let store = &backend.store;
        let mut create = observation("p", "o1", "t1", at(1));
        create.name = Some("retrieve".into());
        store
            .write(vec![Record::Observation(create)])
            .await
            .unwrap();
        store
            .write(vec![Record::Observation(update_without_trace("o1"))])
            .await
            .unwrap();

        let trace = store.get_trace("p", "t1").await.unwrap().expect("trace t1");
        assert_eq!(trace.observations.len(), 1, "{}", backend.name);
        let merged = &trace.observations[0];
        assert_eq!(merged.name.as_deref(), Some("retrieve"), "{}", backend.name);
        assert_eq!(merged.start_time, Some(at(1)), "{}", backend.name);
        assert_eq!(merged.end_time, Some(at(3)), "{}", backend.name);
        assert_eq!(merged.level, Some(Level::Error), "{}", backend.name);
    })
    .await;
}

#[tokio::test]
async fn a_create_with_its_trace_id_merges_into_an_update_stored_without_one() {
    for_each_backend(async |backend: &Backend| {
        let store = &backend.store;
        store
            .write(vec![Record::Observation(update_without_trace("o2"))])
            .await
            .unwrap();
        let mut create = observation("p", "o2", "t2", at(1));
        create.name = Some("answer".into());
        store
            .write(vec![Record::Observation(create)])
            .await
            .unwrap();

        let trace = store.get_trace("p", "t2").await.unwrap().expect("trace t2");
        assert_eq!(trace.observations.len(), 1, "{}", backend.name);
        let merged = &trace.observations[0];
        assert_eq!(merged.trace_id, "t2", "{}", backend.name);
        assert_eq!(merged.name.as_deref(), Some("answer"), "{}", backend.name);
        assert_eq!(merged.end_time, Some(at(3)), "{}", backend.name);
        assert_eq!(merged.level, Some(Level::Error), "{}", backend.name);
        let stored = store.get_observation("p", "o2").await.unwrap().unwrap();
        assert_eq!(&stored, merged, "{}", backend.name);
    })
    .await;
}
