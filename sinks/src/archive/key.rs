//! Object keys of the archive: deterministic, so a retried batch maps to the same objects.

use chrono::NaiveDate;

/// Root folder of the archive in the blob store.
pub const ROOT: &str = "archive";
const SUFFIX: &str = ".pb.gz";
/// Offsets are zero-padded so that a listing's byte order is offset order.
const OFFSET_WIDTH: usize = 20;

/// Where one archive object sits: whose events, which day, and which log offsets it covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ArchiveKey {
    pub project_id: String,
    pub day: NaiveDate,
    pub partition: i32,
    pub first_offset: i64,
    pub last_offset: i64,
}

impl ArchiveKey {
    /// The object key, e.g. `archive/p1/2026-11-27/0/00000000000000000007-00000000000000000042.pb.gz`.
    pub fn to_key(&self) -> String {
        format!(
            "{}{}/{:0width$}-{:0width$}{SUFFIX}",
            day_prefix(&self.project_id, self.day),
            self.partition,
            self.first_offset,
            self.last_offset,
            width = OFFSET_WIDTH,
        )
    }

    /// Parses a key written by [`ArchiveKey::to_key`]; `None` for anything else.
    pub fn parse(key: &str) -> Option<Self> {
        let mut parts = key.strip_prefix(ROOT)?.strip_prefix('/')?.split('/');
        let project_id = decode_segment(parts.next()?)?;
        let day = NaiveDate::parse_from_str(parts.next()?, "%Y-%m-%d").ok()?;
        let partition = parts.next()?.parse().ok()?;
        let (first, last) = parts.next()?.strip_suffix(SUFFIX)?.split_once('-')?;
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            project_id,
            day,
            partition,
            first_offset: first.parse().ok()?,
            last_offset: last.parse().ok()?,
        })
    }
}

/// The folder holding one project's objects of one day (ends with `/`).
pub fn day_prefix(project_id: &str, day: NaiveDate) -> String {
    format!(
        "{ROOT}/{}/{}/",
        encode_segment(project_id),
        day.format("%Y-%m-%d")
    )
}

/// Percent-encodes every byte outside `[A-Za-z0-9_-]`, so any project id is one safe path
/// segment on every blob store (no `/`, no `..`).
fn encode_segment(raw: &str) -> String {
    let mut encoded = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    if encoded.is_empty() {
        // An empty segment would collapse the path; `%` alone never comes out of the encoder.
        encoded.push('%');
    }
    encoded
}

fn decode_segment(encoded: &str) -> Option<String> {
    if encoded == "%" {
        return Some(String::new());
    }
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut rest = encoded.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if first == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(first);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_escape_project_ids() {
        let key = ArchiveKey {
            project_id: "team/a..b c".to_owned(),
            day: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
            partition: 3,
            first_offset: 7,
            last_offset: 42,
        };
        let text = key.to_key();
        assert_eq!(
            text,
            "archive/team%2Fa%2E%2Eb%20c/2026-11-27/3/00000000000000000007-00000000000000000042.pb.gz"
        );
        assert_eq!(ArchiveKey::parse(&text), Some(key));
        assert_eq!(ArchiveKey::parse("archive/p/2026-11-27/0/1-2.json"), None);
        assert_eq!(decode_segment(&encode_segment("")), Some(String::new()));
    }
}
