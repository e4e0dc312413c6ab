//! The on-disk record format of the embedded log and reading/recovering segment files.
//!
//! A segment is a file named after the offset of its first record (`00000000000000000042.log`).
//! Each record is framed as:
//!
//! ```text
//! u32 body_len | u32 crc32(body) | body = i64 offset | i64 timestamp_ms | u32 key_len | key | value
//! ```
//!
//! all little-endian. A crash can leave a torn record at the end of the newest segment; recovery
//! truncates the file at the first record whose length or checksum does not verify.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use bytes::Bytes;

/// Bytes of the frame header (`body_len` + `crc32`).
pub(super) const FRAME_HEADER: usize = 8;
/// Bytes of the fixed part of a body (`offset` + `timestamp_ms` + `key_len`).
const BODY_FIXED: usize = 20;
/// A record larger than this is treated as corruption rather than allocated.
const MAX_RECORD_BYTES: usize = 256 * 1024 * 1024;

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StoredRecord {
    pub(super) offset: i64,
    pub(super) timestamp_ms: i64,
    pub(super) key: Bytes,
    pub(super) value: Bytes,
}

/// Appends the framed encoding of one record to `out`.
pub(super) fn encode(out: &mut Vec<u8>, offset: i64, timestamp_ms: i64, key: &[u8], value: &[u8]) {
    let body_len = BODY_FIXED + key.len() + value.len();
    let start = out.len();
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&timestamp_ms.to_le_bytes());
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(value);
    let crc = crc32fast::hash(&out[start + FRAME_HEADER..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Reads the next record, `Ok(None)` at a clean end of file or at a torn/corrupt tail.
pub(super) fn read_next<R: Read>(reader: &mut R) -> io::Result<Option<(StoredRecord, u64)>> {
    let mut header = [0u8; FRAME_HEADER];
    if !read_full(reader, &mut header)? {
        return Ok(None);
    }
    let body_len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if !(BODY_FIXED..=MAX_RECORD_BYTES).contains(&body_len) {
        return Ok(None);
    }
    let mut body = vec![0u8; body_len];
    if !read_full(reader, &mut body)? || crc32fast::hash(&body) != crc {
        return Ok(None);
    }
    let offset = i64::from_le_bytes(body[0..8].try_into().unwrap_or_default());
    let timestamp_ms = i64::from_le_bytes(body[8..16].try_into().unwrap_or_default());
    let key_len = u32::from_le_bytes(body[16..20].try_into().unwrap_or_default()) as usize;
    if BODY_FIXED + key_len > body_len {
        return Ok(None);
    }
    let body = Bytes::from(body);
    let key = body.slice(BODY_FIXED..BODY_FIXED + key_len);
    let value = body.slice(BODY_FIXED + key_len..);
    let frame_len = (FRAME_HEADER + body_len) as u64;
    Ok(Some((
        StoredRecord {
            offset,
            timestamp_ms,
            key,
            value,
        },
        frame_len,
    )))
}

/// Fills `buf` completely; `false` when the reader ended first (a partial read counts as end).
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(true)
}

/// Returns the file name of the segment starting at `base_offset`.
pub(super) fn segment_file_name(base_offset: i64) -> String {
    format!("{base_offset:020}.log")
}

/// Parses a segment file name back into its base offset.
pub(super) fn parse_segment_file_name(name: &str) -> Option<i64> {
    name.strip_suffix(".log")?.parse().ok()
}

/// Scans a segment, truncating a torn tail. Returns the next offset after its last valid
/// record (or `base_offset` when empty) and the valid length in bytes.
pub(super) fn recover(path: &Path, base_offset: i64) -> io::Result<(i64, u64)> {
    let file = File::options().read(true).write(true).open(path)?;
    let file_len = file.metadata()?.len();
    let mut reader = BufReader::with_capacity(1 << 20, &file);
    let mut valid_len = 0u64;
    let mut next_offset = base_offset;
    while let Some((record, frame_len)) = read_next(&mut reader)? {
        if record.offset != next_offset {
            break;
        }
        next_offset += 1;
        valid_len += frame_len;
    }
    if valid_len < file_len {
        tracing::warn!(
            path = %path.display(),
            truncated_bytes = file_len - valid_len,
            "truncating a torn tail of the event log left by a crash"
        );
        file.set_len(valid_len)?;
        file.sync_all()?;
    }
    Ok((next_offset, valid_len))
}

/// A sequential reader positioned inside one segment.
#[derive(Debug)]
pub(super) struct SegmentReader {
    pub(super) base_offset: i64,
    reader: BufReader<File>,
}

impl SegmentReader {
    /// Opens `path` and skips records before `offset`.
    pub(super) fn open_at(path: &PathBuf, base_offset: i64, offset: i64) -> io::Result<Self> {
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(0))?;
        let mut reader = Self {
            base_offset,
            reader: BufReader::with_capacity(1 << 20, file),
        };
        // Records are variable-length with no index: skip forward from the segment start.
        // Segments are bounded (segment_bytes), and readers normally continue sequentially.
        let mut skipped = base_offset;
        while skipped < offset {
            match read_next(&mut reader.reader)? {
                Some((record, _)) => skipped = record.offset + 1,
                None => break,
            }
        }
        Ok(reader)
    }

    /// Reads the next record, if fully written.
    pub(super) fn next(&mut self) -> io::Result<Option<StoredRecord>> {
        Ok(read_next(&mut self.reader)?.map(|(record, _)| record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn records_round_trip_and_a_torn_tail_reads_as_end() {
        let mut buf = Vec::new();
        encode(&mut buf, 7, 1000, b"key", b"value");
        encode(&mut buf, 8, 1001, b"", b"second");
        let whole = buf.len();
        buf.truncate(whole - 3);
        let mut cursor = Cursor::new(buf);
        let (first, _) = read_next(&mut cursor).unwrap().unwrap();
        assert_eq!(
            (first.offset, &first.key[..], &first.value[..]),
            (7, &b"key"[..], &b"value"[..])
        );
        assert!(read_next(&mut cursor).unwrap().is_none());
    }

    #[test]
    fn a_flipped_bit_fails_the_checksum() {
        let mut buf = Vec::new();
        encode(&mut buf, 0, 0, b"k", b"v");
        let last = buf.len() - 1;
        buf[last] ^= 1;
        assert!(read_next(&mut Cursor::new(buf)).unwrap().is_none());
    }
}
