//! The bytes of one archive object: a gzip stream of a magic header followed by frames.
//!
//! ```text
//! "PSARC1\n"                                    magic + format version
//! repeated: varint offset | varint length | `periscope.v1.Event` bytes exactly as in the log
//! ```
//! The event bytes are copied from the log untouched (raw input as sent); the offset lets the
//! reader drop events that an overlapping object already delivered.

use std::io::{Read, Write};

use bytes::{Buf, Bytes};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use periscope_core::error::{BackendError, BackendResult};

const MAGIC: &[u8] = b"PSARC1\n";
const BACKEND: &str = "event archive";

/// One archived event: its log offset and its `periscope.v1.Event` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub offset: i64,
    pub event: Bytes,
}

/// Frames and gzips `frames` (in offset order) into one object body.
pub fn encode_object<'a>(
    frames: impl IntoIterator<Item = (i64, &'a [u8])>,
) -> BackendResult<Bytes> {
    let mut plain = Vec::from(MAGIC);
    for (offset, event) in frames {
        debug_assert!(offset >= 0, "log offsets are never negative");
        prost::encoding::encode_varint(offset as u64, &mut plain);
        prost::encoding::encode_varint(event.len() as u64, &mut plain);
        plain.extend_from_slice(event);
    }
    // Fast compression: the archive is written on the ingest hot path's cores, and event JSON
    // still shrinks several-fold at level 1.
    let mut encoder = GzEncoder::new(Vec::with_capacity(plain.len() / 4), Compression::fast());
    encoder
        .write_all(&plain)
        .map_err(|source| BackendError::Io {
            backend: BACKEND,
            context: "failed to compress an archive object".to_owned(),
            source,
        })?;
    let compressed = encoder.finish().map_err(|source| BackendError::Io {
        backend: BACKEND,
        context: "failed to compress an archive object".to_owned(),
        source,
    })?;
    Ok(Bytes::from(compressed))
}

/// Inflates and splits an object body written by [`encode_object`].
pub fn decode_object(key: &str, body: &[u8]) -> BackendResult<Vec<Frame>> {
    let corrupt = |message: String| BackendError::Invalid {
        backend: BACKEND,
        message: format!("object {key} is not a valid archive object: {message}"),
    };
    let mut plain = Vec::new();
    GzDecoder::new(body)
        .read_to_end(&mut plain)
        .map_err(|error| corrupt(format!("gzip: {error}")))?;
    let mut rest = Bytes::from(plain);
    if !rest.starts_with(MAGIC) {
        return Err(corrupt("unknown header (expected PSARC1)".to_owned()));
    }
    rest.advance(MAGIC.len());
    let mut frames = Vec::new();
    while rest.has_remaining() {
        let offset = prost::encoding::decode_varint(&mut rest)
            .map_err(|error| corrupt(format!("frame offset: {error}")))?;
        let length = prost::encoding::decode_varint(&mut rest)
            .map_err(|error| corrupt(format!("frame length: {error}")))?;
        let length = usize::try_from(length)
            .ok()
            .filter(|length| *length <= rest.remaining())
            .ok_or_else(|| corrupt(format!("frame at offset {offset} is truncated")))?;
        frames.push(Frame {
            offset: i64::try_from(offset)
                .map_err(|_| corrupt(format!("frame offset {offset} out of range")))?,
            event: rest.split_to(length),
        });
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_corruption_is_reported() {
        let body = encode_object([(5, b"one".as_slice()), (9, b"".as_slice())]).unwrap();
        let frames = decode_object("k", &body).unwrap();
        assert_eq!(
            frames,
            vec![
                Frame {
                    offset: 5,
                    event: Bytes::from_static(b"one")
                },
                Frame {
                    offset: 9,
                    event: Bytes::new()
                },
            ]
        );
        let error = decode_object("k", b"not gzip").unwrap_err();
        assert!(error.to_string().contains("object k"), "{error}");
        let truncated = encode_object([(1, b"abcdef".as_slice())]).unwrap();
        let mut plain = Vec::new();
        GzDecoder::new(truncated.as_ref())
            .read_to_end(&mut plain)
            .unwrap();
        plain.truncate(plain.len() - 2);
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(&plain).unwrap();
        let error = decode_object("k", &encoder.finish().unwrap()).unwrap_err();
        assert!(error.to_string().contains("truncated"), "{error}");
    }
}
