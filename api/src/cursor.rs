//! The opaque cursor of `GET /v2/observations`.
//!
//! A cursor is URL-safe base64 (no padding) of a small JSON object holding the last returned
//! row's `(start_time, id)`, so it survives query strings without escaping. Observations
//! without a start time sort last and are addressed with `DateTime::<Utc>::MIN_UTC`, the same
//! sentinel the trace stores use for them (see `TraceStore::list_observations_after`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use periscope_core::model::ObservationRecord;
use periscope_core::store::ObservationCursor;
use serde::{Deserialize, Serialize};

/// The JSON inside a cursor. Seconds and nanoseconds rather than a string, because the
/// sentinel `MIN_UTC` has no RFC 3339 form.
#[derive(Debug, Serialize, Deserialize)]
struct CursorToken {
    #[serde(rename = "s")]
    seconds: i64,
    #[serde(rename = "n")]
    nanos: u32,
    #[serde(rename = "i")]
    id: String,
}

/// Why a cursor could not be decoded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CursorError {
    #[error("is not base64")]
    NotBase64,
    #[error("is not a cursor returned by this server")]
    Malformed,
    #[error("holds an impossible time")]
    BadTime,
}

/// Returns the cursor that continues after `record`.
pub(crate) fn cursor_after(record: &ObservationRecord) -> ObservationCursor {
    ObservationCursor {
        start_time: record.start_time.unwrap_or(DateTime::<Utc>::MIN_UTC),
        id: record.id.clone(),
    }
}

/// Encodes a cursor for the response's `meta.cursor`.
pub(crate) fn encode_cursor(cursor: &ObservationCursor) -> String {
    let token = CursorToken {
        seconds: cursor.start_time.timestamp(),
        nanos: cursor.start_time.timestamp_subsec_nanos(),
        id: cursor.id.clone(),
    };
    // Serialising a struct of integers and a string cannot fail; an empty cursor would only
    // restart the listing, never skip rows.
    let json = serde_json::to_vec(&token).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor from the `cursor` query parameter. Standard base64 (with `+`, `/` and
/// padding) is accepted too, in case a client re-encoded it.
pub(crate) fn decode_cursor(text: &str) -> Result<ObservationCursor, CursorError> {
    let normalized: String = text
        .trim()
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            other => other,
        })
        .collect();
    let json = URL_SAFE_NO_PAD
        .decode(normalized)
        .map_err(|_| CursorError::NotBase64)?;
    let token: CursorToken = serde_json::from_slice(&json).map_err(|_| CursorError::Malformed)?;
    let start_time =
        DateTime::from_timestamp(token.seconds, token.nanos).ok_or(CursorError::BadTime)?;
    Ok(ObservationCursor {
        start_time,
        id: token.id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use chrono::TimeZone;

    #[test]
    fn cursors_round_trip_with_nanosecond_precision() {
        let start_time = Utc.timestamp_opt(1_795_743_651, 684_585_123).unwrap();
        let cursor = ObservationCursor {
            start_time,
            id: "282309a565e05723".to_owned(),
        };
        let text = encode_cursor(&cursor);
        assert!(
            text.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(decode_cursor(&text).unwrap(), cursor);
    }

    #[test]
    fn the_missing_start_time_sentinel_round_trips() {
        let record = ObservationRecord {
            id: "o/1+?".to_owned(),
            ..Default::default()
        };
        let cursor = cursor_after(&record);
        assert_eq!(cursor.start_time, DateTime::<Utc>::MIN_UTC);
        assert_eq!(decode_cursor(&encode_cursor(&cursor)).unwrap(), cursor);
    }

    #[test]
    fn standard_base64_is_accepted() {
        let json = br#"{"s":1795743651,"n":0,"i":"abc"}"#;
        let decoded = decode_cursor(&STANDARD.encode(json)).unwrap();
        assert_eq!(decoded.id, "abc");
        assert_eq!(
            decoded.start_time,
            Utc.timestamp_opt(1_795_743_651, 0).unwrap()
        );
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(matches!(decode_cursor("!!!"), Err(CursorError::NotBase64)));
        assert!(matches!(
            decode_cursor(&URL_SAFE_NO_PAD.encode("{}")),
            Err(CursorError::Malformed)
        ));
        let impossible = URL_SAFE_NO_PAD.encode(br#"{"s":1,"n":4000000000,"i":"x"}"#);
        assert!(matches!(
            decode_cursor(&impossible),
            Err(CursorError::BadTime)
        ));
    }
}
