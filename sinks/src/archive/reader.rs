//! [`read_archive`]: the events of one project and time range, back from the archive.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use futures::Stream;
use periscope_core::blob::BlobStore;
use periscope_core::error::{BackendError, BackendResult};
use periscope_proto::pv1::Event;
use prost::Message;

use super::format::decode_object;
use super::key::{ArchiveKey, day_prefix};

const BACKEND: &str = "event archive";

/// Streams the archived events of `project_id` received in `[from, to)`, day by day and, within
/// a day, partition by partition in log offset order. Each event comes out once even where a
/// crashed batch left overlapping objects. Objects are fetched one at a time, so memory stays
/// bounded by one object.
pub fn read_archive(
    blob: Arc<dyn BlobStore>,
    project_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> impl Stream<Item = BackendResult<Event>> + Send + 'static {
    let reader = ArchiveReader {
        blob,
        project_id: project_id.to_owned(),
        from_nanos: from.timestamp_nanos_opt().unwrap_or(i64::MIN),
        to_nanos: to.timestamp_nanos_opt().unwrap_or(i64::MAX),
        days: days_between(from, to),
        objects: VecDeque::new(),
        events: VecDeque::new(),
        delivered_up_to: HashMap::new(),
    };
    futures::stream::try_unfold(reader, |mut reader| async move {
        Ok(reader.next_event().await?.map(|event| (event, reader)))
    })
}

/// The UTC days that `[from, to)` touches.
fn days_between(from: DateTime<Utc>, to: DateTime<Utc>) -> VecDeque<NaiveDate> {
    let mut days = VecDeque::new();
    if to <= from {
        return days;
    }
    let last = (to - chrono::Duration::nanoseconds(1)).date_naive();
    let mut day = from.date_naive();
    while day <= last {
        days.push_back(day);
        let Some(next) = day.succ_opt() else { break };
        day = next;
    }
    days
}

struct ArchiveReader {
    blob: Arc<dyn BlobStore>,
    project_id: String,
    from_nanos: i64,
    to_nanos: i64,
    /// Days not listed yet.
    days: VecDeque<NaiveDate>,
    /// Objects of the current day not read yet, in (partition, first offset) order.
    objects: VecDeque<ArchiveKey>,
    /// Events of the current object not handed out yet.
    events: VecDeque<Event>,
    /// Per partition of the current day, the highest offset already handed out: an object that
    /// overlaps it (a batch re-read after a crash) contributes only its newer events.
    delivered_up_to: HashMap<i32, i64>,
}

impl ArchiveReader {
    async fn next_event(&mut self) -> BackendResult<Option<Event>> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Ok(Some(event));
            }
            if let Some(object) = self.objects.pop_front() {
                self.load(&object).await?;
                continue;
            }
            let Some(day) = self.days.pop_front() else {
                return Ok(None);
            };
            self.list_day(day).await?;
        }
    }

    async fn list_day(&mut self, day: NaiveDate) -> BackendResult<()> {
        let prefix = day_prefix(&self.project_id, day);
        let mut objects: Vec<ArchiveKey> = Vec::new();
        for key in self.blob.list(&prefix).await? {
            match ArchiveKey::parse(&key) {
                Some(object) => objects.push(object),
                None => tracing::warn!(%key, "skipping an object that is not an archive object"),
            }
        }
        objects.sort_by_key(|o| (o.partition, o.first_offset, o.last_offset));
        self.objects = objects.into();
        self.delivered_up_to.clear();
        Ok(())
    }

    async fn load(&mut self, object: &ArchiveKey) -> BackendResult<()> {
        let key = object.to_key();
        let Some(body) = self.blob.get(&key).await? else {
            // Listed a moment ago: someone deleted it meanwhile (retention); nothing to read.
            tracing::warn!(%key, "archive object vanished between list and get");
            return Ok(());
        };
        let delivered = self
            .delivered_up_to
            .get(&object.partition)
            .copied()
            .unwrap_or(-1);
        let (from, to) = (self.from_nanos, self.to_nanos);
        let decode_key = key.clone();
        let events = tokio::task::spawn_blocking(move || {
            decode_events(&decode_key, &body, delivered, from, to)
        })
        .await
        .map_err(|error| BackendError::Other {
            backend: BACKEND,
            context: "blocking decode task failed".to_owned(),
            source: Box::new(error),
        })??;
        let newest = events.last_offset.max(delivered);
        self.delivered_up_to.insert(object.partition, newest);
        self.events = events.events;
        Ok(())
    }
}

struct DecodedEvents {
    events: VecDeque<Event>,
    last_offset: i64,
}

/// Inflates one object and keeps the events after `delivered` received in `[from, to)`.
fn decode_events(
    key: &str,
    body: &[u8],
    delivered: i64,
    from: i64,
    to: i64,
) -> BackendResult<DecodedEvents> {
    let mut decoded = DecodedEvents {
        events: VecDeque::new(),
        last_offset: delivered,
    };
    for frame in decode_object(key, body)? {
        if frame.offset <= decoded.last_offset {
            continue;
        }
        decoded.last_offset = frame.offset;
        let event = Event::decode(frame.event).map_err(|error| BackendError::Invalid {
            backend: BACKEND,
            message: format!(
                "object {key}: event at offset {} does not decode: {error}",
                frame.offset
            ),
        })?;
        if (from..to).contains(&event.received_at_unix_nano) {
            decoded.events.push_back(event);
        }
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_cover_the_half_open_range() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let days = days_between(at("2026-11-27T23:00:00Z"), at("2026-11-29T00:00:00Z"));
        let expected: Vec<NaiveDate> = vec![
            NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
        ];
        assert_eq!(Vec::from(days), expected);
        assert!(days_between(at("2026-11-28T00:00:00Z"), at("2026-11-28T00:00:00Z")).is_empty());
    }
}
