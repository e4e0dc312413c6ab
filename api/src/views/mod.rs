//! Conversion of stored records into Langfuse's JSON shapes (WIRE-PROTOCOL.md §12).
//!
//! Conventions shared by all views: camelCase names; absent optional fields are `null` (as
//! Langfuse returns them), never omitted; times are ISO-8601 UTC with `Z` and milliseconds;
//! `environment` defaults to `default`; metadata values stored as JSON text are decoded.

pub(crate) mod dataset;
pub(crate) mod metrics_v2;
pub(crate) mod model;
pub(crate) mod observation;
pub(crate) mod observation_v2;
pub(crate) mod prompt_metrics;
pub(crate) mod score;
pub(crate) mod session;
pub(crate) mod session_metrics;
pub(crate) mod trace;

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use periscope_core::model::{PageMeta, decode_json_string};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// The environment of records that never named one.
pub(crate) const DEFAULT_ENVIRONMENT: &str = "default";

/// A time serialised as `2026-11-27T01:40:51.684Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IsoTime(pub(crate) DateTime<Utc>);

impl Serialize for IsoTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&iso(self.0))
    }
}

/// Returns `time` as ISO-8601 UTC with `Z` and millisecond precision.
pub(crate) fn iso(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Returns `Some(IsoTime)` for an optional time.
pub(crate) fn iso_opt(time: Option<DateTime<Utc>>) -> Option<IsoTime> {
    time.map(IsoTime)
}

/// Returns the environment, or `default` when unset or empty.
pub(crate) fn environment_or_default(environment: Option<&str>) -> String {
    environment
        .filter(|environment| !environment.is_empty())
        .unwrap_or(DEFAULT_ENVIRONMENT)
        .to_owned()
}

/// Decodes every metadata value that holds JSON text (`"\"eu\""` → `"eu"`, `"3"` → `3`),
/// except the keys in `keep`, which are returned as stored.
pub(crate) fn decode_metadata(
    metadata: &BTreeMap<String, Value>,
    keep: &[&str],
) -> BTreeMap<String, Value> {
    metadata
        .iter()
        .map(|(key, value)| {
            let value = if keep.contains(&key.as_str()) {
                value.clone()
            } else {
                decode_json_string(value)
            };
            (key.clone(), value)
        })
        .collect()
}

/// Seconds between two times, when both are known.
pub(crate) fn seconds_between(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Option<f64> {
    let (from, to) = (from?, to?);
    // Microseconds keep sub-millisecond spans; the i64 range covers ±292,000 years.
    let micros = (to - from).num_microseconds()?;
    Some(micros as f64 / 1_000_000.0)
}

/// A page of results in Langfuse's `{data, meta}` envelope.
#[derive(Debug, Serialize)]
pub(crate) struct PageResponse<T> {
    pub(crate) data: Vec<T>,
    pub(crate) meta: PageMeta,
}

impl<T> PageResponse<T> {
    /// Wraps page `page` (1-based) of `limit` items out of `total_items`.
    pub(crate) fn new(data: Vec<T>, page: u64, limit: u64, total_items: u64) -> Self {
        Self {
            data,
            meta: PageMeta::new(page, limit, total_items),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    #[test]
    fn times_have_milliseconds_and_z() {
        let time = Utc.timestamp_opt(1_795_743_651, 684_585_000).unwrap();
        assert_eq!(
            serde_json::to_value(IsoTime(time)).unwrap(),
            json!("2026-11-27T01:40:51.684Z")
        );
        let whole = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(iso(whole), "2026-01-02T03:04:05.000Z");
    }

    #[test]
    fn metadata_decodes_json_text_but_keeps_listed_keys() {
        let metadata: BTreeMap<String, Value> = [
            ("region".to_owned(), json!("\"eu\"")),
            ("count".to_owned(), json!("3")),
            ("plain".to_owned(), json!("ml")),
            ("nested".to_owned(), json!("{\"a\":1}")),
            ("scope".to_owned(), json!("{\"name\":\"langfuse\"}")),
        ]
        .into();
        let decoded = decode_metadata(&metadata, &["scope"]);
        assert_eq!(decoded["region"], json!("eu"));
        assert_eq!(decoded["count"], json!(3));
        assert_eq!(decoded["plain"], json!("ml"));
        assert_eq!(decoded["nested"], json!({"a": 1}));
        assert_eq!(decoded["scope"], json!("{\"name\":\"langfuse\"}"));
    }

    #[test]
    fn seconds_between_needs_both_ends() {
        let start = Utc.timestamp_opt(100, 0).unwrap();
        let end = Utc.timestamp_opt(101, 500_000_000).unwrap();
        assert_eq!(seconds_between(Some(start), Some(end)), Some(1.5));
        assert_eq!(seconds_between(Some(start), None), None);
        assert_eq!(seconds_between(None, Some(end)), None);
    }

    #[test]
    fn environment_defaults() {
        assert_eq!(environment_or_default(None), "default");
        assert_eq!(environment_or_default(Some("")), "default");
        assert_eq!(environment_or_default(Some("staging")), "staging");
    }

    #[test]
    fn pages_count_total_pages() {
        let page = PageResponse::new(vec![1, 2], 2, 2, 5);
        assert_eq!(
            serde_json::to_value(page).unwrap(),
            json!({"data": [1, 2], "meta": {"page": 2, "limit": 2, "totalItems": 5, "totalPages": 3}})
        );
    }
}
