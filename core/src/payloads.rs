//! Large-payload offload: an event whose encoded size passes a threshold is stored whole in
//! the blob store and replaced in the log by a [`pv1::BlobRef`] envelope.
//!
//! Kafka rejects records over 1 MiB by default and large records slow every consumer of a
//! partition, so the log carries only the reference; the enrich processor resolves it, so the
//! stored records — and the API — always hold the full body. The blob key is derived from the
//! event id, so a retried append stores nothing twice.

use bytes::Bytes;
use chrono::DateTime;
use prost::Message as _;

use crate::blob::BlobStore;
use crate::error::{BackendError, BackendResult};
use periscope_proto::pv1::{self, event::Body};

/// Prefix of every offloaded payload's key.
pub const KEY_PREFIX: &str = "payloads/";

/// The blob key of an offloaded event: `payloads/<project>/<yyyy-mm-dd>/<event_id>.pb`.
pub fn blob_key(event: &pv1::Event) -> String {
    let day = DateTime::from_timestamp_nanos(event.received_at_unix_nano).format("%Y-%m-%d");
    format!(
        "{KEY_PREFIX}{}/{day}/{}.pb",
        event.project_id, event.event_id
    )
}

/// The name of a body kind, recorded in the reference for operators.
fn body_kind(body: Option<&Body>) -> &'static str {
    match body {
        Some(Body::OtlpSpans(_)) => "otlp_spans",
        Some(Body::LangfuseEvent(_)) => "langfuse_event",
        Some(Body::ScoreJson(_)) => "score_json",
        Some(Body::DatasetRunItemJson(_)) => "dataset_run_item_json",
        Some(Body::BlobRef(_)) => "blob_ref",
        None => "none",
    }
}

/// Stores `encoded` (an encoded event larger than the threshold) in `blob` and returns the
/// encoded reference envelope to append instead; `None` when `encoded` is small enough or is
/// not an event (the caller appends it unchanged, and the pipeline dead-letters what is not
/// an event).
pub async fn offload_if_large(
    blob: &dyn BlobStore,
    encoded: &Bytes,
    threshold: usize,
) -> BackendResult<Option<Bytes>> {
    if encoded.len() <= threshold {
        return Ok(None);
    }
    let Ok(event) = pv1::Event::decode(encoded.as_ref()) else {
        return Ok(None);
    };
    if matches!(event.body, Some(Body::BlobRef(_))) {
        return Ok(None);
    }
    let key = blob_key(&event);
    blob.put_if_absent(&key, encoded.clone()).await?;
    let reference = pv1::Event {
        body: Some(Body::BlobRef(pv1::BlobRef {
            key,
            size_bytes: encoded.len() as u64,
            body_kind: body_kind(event.body.as_ref()).to_owned(),
        })),
        ..event
    };
    Ok(Some(Bytes::from(reference.encode_to_vec())))
}

/// Returns the full event behind a [`pv1::BlobRef`] envelope. A missing or mismatched blob
/// is an error naming the key (the event cannot be mapped without it).
pub async fn resolve(blob: &dyn BlobStore, reference: &pv1::BlobRef) -> BackendResult<pv1::Event> {
    // Permanent: retrying cannot bring back a payload that is gone, so the pipeline
    // dead-letters the event instead of blocking its partition.
    let missing = |message: String| BackendError::Invalid {
        backend: "blob",
        message,
    };
    let body = blob.get(&reference.key).await?.ok_or_else(|| {
        missing(format!(
            "offloaded payload {} does not exist",
            reference.key
        ))
    })?;
    let event = pv1::Event::decode(body.as_ref()).map_err(|error| {
        missing(format!(
            "offloaded payload {} is not an event: {error}",
            reference.key
        ))
    })?;
    if matches!(event.body, Some(Body::BlobRef(_)) | None) {
        return Err(missing(format!(
            "offloaded payload {} holds no event body",
            reference.key
        )));
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::filesystem::FilesystemBlobStore;

    fn event(body_len: usize) -> pv1::Event {
        pv1::Event {
            event_id: "0190f0f0-0000-7000-8000-000000000001".to_owned(),
            project_id: "p1".to_owned(),
            received_at_unix_nano: 1_764_000_000_000_000_000,
            source: pv1::Source::Native as i32,
            schema_version: 1,
            body: Some(Body::ScoreJson(vec![b'x'; body_len])),
        }
    }

    #[tokio::test]
    async fn large_events_become_references_that_resolve_to_the_same_event() {
        let dir = tempfile::tempdir().unwrap();
        let blob = FilesystemBlobStore::new(dir.path());
        let original = event(4096);
        let encoded = Bytes::from(original.encode_to_vec());
        let reference = offload_if_large(&blob, &encoded, 1024)
            .await
            .unwrap()
            .unwrap();
        assert!(
            reference.len() < 300,
            "a reference is small: {}",
            reference.len()
        );
        let decoded = pv1::Event::decode(reference.as_ref()).unwrap();
        assert_eq!(decoded.event_id, original.event_id);
        let Some(Body::BlobRef(blob_ref)) = &decoded.body else {
            panic!("expected a blob reference, got {decoded:?}");
        };
        assert_eq!(blob_ref.body_kind, "score_json");
        assert_eq!(
            blob_ref.key,
            "payloads/p1/2025-11-24/0190f0f0-0000-7000-8000-000000000001.pb"
        );
        assert_eq!(resolve(&blob, blob_ref).await.unwrap(), original);
        // A retried append of the same event stores nothing twice and yields the same reference.
        let again = offload_if_large(&blob, &encoded, 1024)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again, reference);
        assert_eq!(blob.list(KEY_PREFIX).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn small_events_and_non_events_stay_inline() {
        let dir = tempfile::tempdir().unwrap();
        let blob = FilesystemBlobStore::new(dir.path());
        let small = Bytes::from(event(10).encode_to_vec());
        assert!(
            offload_if_large(&blob, &small, 1024)
                .await
                .unwrap()
                .is_none()
        );
        let garbage = Bytes::from(vec![0xff; 4096]);
        assert!(
            offload_if_large(&blob, &garbage, 1024)
                .await
                .unwrap()
                .is_none()
        );
        assert!(blob.list(KEY_PREFIX).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_missing_payload_is_an_error_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let blob = FilesystemBlobStore::new(dir.path());
        let reference = pv1::BlobRef {
            key: "payloads/p1/2025-11-24/gone.pb".to_owned(),
            size_bytes: 1,
            body_kind: "otlp_spans".to_owned(),
        };
        let error = resolve(&blob, &reference).await.unwrap_err().to_string();
        assert!(error.contains("payloads/p1/2025-11-24/gone.pb"), "{error}");
    }
}
