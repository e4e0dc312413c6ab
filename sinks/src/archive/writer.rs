//! [`ArchiveWriter`]: turns a batch of ingest-topic records into archive objects.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate};
use periscope_core::blob::BlobStore;
use periscope_core::error::{BackendError, BackendResult};
use periscope_core::log::ConsumedRecord;
use prost::Message;

use super::format::encode_object;
use super::key::ArchiveKey;

/// The two envelope fields the archive routes by. Decoding only these lets prost skip the
/// (large) body without parsing it.
#[derive(Clone, PartialEq, prost::Message)]
struct EventRouting {
    #[prost(string, tag = "2")]
    project_id: String,
    #[prost(int64, tag = "3")]
    received_at_unix_nano: i64,
}

/// What one [`ArchiveWriter::write_batch`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArchiveWriteSummary {
    /// Events archived (in new or already existing objects).
    pub events: usize,
    pub objects_written: usize,
    /// Objects whose key existed already: a retried batch.
    pub objects_existing: usize,
    /// Records that are not a `periscope.v1.Event` (they also go to the enrich DLQ).
    pub undecodable: usize,
}

/// Writes batches of `periscope.ingest.v1` records as archive objects into a blob store.
#[derive(Debug, Clone)]
pub struct ArchiveWriter {
    blob: Arc<dyn BlobStore>,
}

/// The records of one object, in offset order.
type Groups<'a> = BTreeMap<(String, NaiveDate, i32), Vec<&'a ConsumedRecord>>;

impl ArchiveWriter {
    pub fn new(blob: Arc<dyn BlobStore>) -> Self {
        Self { blob }
    }

    /// Archives `records`: one object per project, day and partition of the batch, each
    /// created with `put_if_absent`, so writing the same batch again writes nothing twice.
    /// Returns only when every object is durable.
    pub async fn write_batch(
        &self,
        records: &[ConsumedRecord],
    ) -> BackendResult<ArchiveWriteSummary> {
        let (groups, undecodable) = group(records);
        let mut summary = ArchiveWriteSummary {
            undecodable,
            ..ArchiveWriteSummary::default()
        };
        let objects = encode_groups(groups).await?;
        for (key, body, events) in objects {
            let created = self.blob.put_if_absent(&key.to_key(), body).await?;
            if created {
                summary.objects_written += 1;
            } else {
                summary.objects_existing += 1;
                tracing::debug!(key = %key.to_key(), "archive object exists already (retried batch)");
            }
            summary.events += events;
        }
        Ok(summary)
    }
}

fn group(records: &[ConsumedRecord]) -> (Groups<'_>, usize) {
    let mut groups = Groups::new();
    let mut undecodable = 0;
    for record in records {
        let routing = match EventRouting::decode(record.value.as_ref()) {
            Ok(routing) => routing,
            Err(error) => {
                undecodable += 1;
                tracing::warn!(
                    partition = record.partition,
                    offset = record.offset,
                    %error,
                    "not archiving a record that is not a periscope.v1.Event"
                );
                continue;
            }
        };
        let day = DateTime::from_timestamp_nanos(routing.received_at_unix_nano).date_naive();
        groups
            .entry((routing.project_id, day, record.partition))
            .or_default()
            .push(record);
    }
    for group in groups.values_mut() {
        group.sort_by_key(|record| record.offset);
    }
    (groups, undecodable)
}

/// Frames and compresses every group on the blocking pool (gzip is CPU work).
async fn encode_groups(
    groups: Groups<'_>,
) -> BackendResult<Vec<(ArchiveKey, bytes::Bytes, usize)>> {
    let owned: Vec<(ArchiveKey, Vec<ConsumedRecord>)> = groups
        .into_iter()
        .filter_map(|((project_id, day, partition), records)| {
            let key = ArchiveKey {
                project_id,
                day,
                partition,
                first_offset: records.first()?.offset,
                last_offset: records.last()?.offset,
            };
            Some((key, records.into_iter().cloned().collect()))
        })
        .collect();
    tokio::task::spawn_blocking(move || {
        owned
            .into_iter()
            .map(|(key, records)| {
                let frames = records.iter().map(|r| (r.offset, r.value.as_ref()));
                let body = encode_object(frames)?;
                Ok((key, body, records.len()))
            })
            .collect()
    })
    .await
    .map_err(|error| BackendError::Other {
        backend: "event archive",
        context: "blocking compression task failed".to_owned(),
        source: Box::new(error),
    })?
}
