//! Reading HTTP request bodies within the size limit and the in-flight budget, and inflating
//! gzip bodies without letting a zip bomb past the limit.

use std::io::Read;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::{Bytes, BytesMut};
use flate2::read::MultiGzDecoder;
use futures::StreamExt;

use crate::error::{IngestError, Result};
use crate::state::{InflightPermit, IngestState};

/// Inflation reserves in-flight bytes in steps of this size, so a bomb is stopped after at
/// most one step beyond the budget rather than after it exhausted memory.
const INFLATE_STEP_BYTES: usize = 1024 * 1024;

/// Deflate cannot compress better than about 1032:1, which bounds an honest size hint.
const MAX_DEFLATE_RATIO: usize = 1032;

/// How a request body is encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContentEncoding {
    Identity,
    Gzip,
}

/// Returns the `Content-Encoding` of a request; anything but gzip or identity is refused (415)
/// rather than misread.
pub(crate) fn content_encoding(headers: &HeaderMap) -> Result<ContentEncoding> {
    let Some(value) = headers.get(header::CONTENT_ENCODING) else {
        return Ok(ContentEncoding::Identity);
    };
    let text = value
        .to_str()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match text.as_str() {
        "" | "identity" => Ok(ContentEncoding::Identity),
        "gzip" | "x-gzip" => Ok(ContentEncoding::Gzip),
        _ => Err(IngestError::UnsupportedContentEncoding(text)),
    }
}

/// Returns the media type of `Content-Type` without parameters, lower-cased ("" when absent).
pub(crate) fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Returns the `Authorization` header as text, if present and readable.
pub(crate) fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
}

/// Reads the whole body, reserving in-flight bytes before buffering them.
///
/// A declared `Content-Length` above the limit is refused before a byte is read, and the
/// declared length is reserved up front so that overload is answered at once. Chunked bodies
/// reserve as their chunks arrive. Either way the body can never grow past the limit.
pub(crate) async fn read_body(
    state: &IngestState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Bytes, InflightPermit)> {
    let limit = state.limits().max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<usize>().ok());
    if let Some(length) = declared
        && length > limit
    {
        return Err(IngestError::BodyTooLarge { limit });
    }
    let mut permit = state.try_reserve(declared.unwrap_or(0))?;
    let mut buffer = BytesMut::with_capacity(declared.unwrap_or(0));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(IngestError::BodyRead)?;
        let length = buffer.len() + chunk.len();
        if length > limit {
            return Err(IngestError::BodyTooLarge { limit });
        }
        if length > permit.bytes() {
            permit.grow(state, length - permit.bytes())?;
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok((buffer.freeze(), permit))
}

/// Decodes a body as sent: inflates it first when it is gzip, and runs both on the blocking
/// pool unless the body is small and uncompressed. The wire bytes are released as soon as they
/// are inflated; the permit (grown by the inflated size) is handed back for the caller to hold
/// until the request is acknowledged.
pub(crate) async fn decode_wire<T, F>(
    state: &IngestState,
    bytes: Bytes,
    encoding: ContentEncoding,
    permit: InflightPermit,
    decode: F,
) -> Result<(T, InflightPermit)>
where
    T: Send + 'static,
    F: FnOnce(&[u8]) -> Result<T> + Send + 'static,
{
    let task_state = state.clone();
    let inline = encoding == ContentEncoding::Identity;
    state
        .run_decode(bytes.len(), inline, move || {
            let mut permit = permit;
            let value = match encoding {
                ContentEncoding::Identity => decode(&bytes)?,
                ContentEncoding::Gzip => {
                    let inflated = inflate_gzip(&task_state, &bytes, &mut permit)?;
                    drop(bytes);
                    decode(&inflated)?
                }
            };
            Ok((value, permit))
        })
        .await
}

/// Inflates a gzip body of at most `state`'s body limit, reserving in-flight bytes for the
/// output as it grows. Runs synchronously: call it on the blocking pool.
fn inflate_gzip(
    state: &IngestState,
    compressed: &[u8],
    permit: &mut InflightPermit,
) -> Result<Vec<u8>> {
    let limit = state.limits().max_body_bytes;
    let hint = gzip_size_hint(compressed)
        .min(limit)
        .min(compressed.len().saturating_mul(MAX_DEFLATE_RATIO));
    let mut reserved = hint;
    permit.grow(state, hint)?;
    let mut output = Vec::with_capacity(hint);
    let mut decoder = MultiGzDecoder::new(compressed);
    loop {
        // Read at most one byte past the limit: enough to tell "too large" from "exactly full".
        let target = output
            .len()
            .saturating_add(INFLATE_STEP_BYTES)
            .min(limit.saturating_add(1));
        if target > reserved {
            permit.grow(state, target - reserved)?;
            reserved = target;
        }
        let wanted = target - output.len();
        let read = (&mut decoder)
            .take(wanted as u64)
            .read_to_end(&mut output)
            .map_err(IngestError::Gzip)?;
        if output.len() > limit {
            return Err(IngestError::BodyTooLarge { limit });
        }
        if read < wanted {
            return Ok(output);
        }
    }
}

/// Returns the uncompressed size a gzip stream claims in its trailer (ISIZE, modulo 2^32).
///
/// Untrusted: used only to size the output buffer, never as a limit.
fn gzip_size_hint(compressed: &[u8]) -> usize {
    match compressed
        .len()
        .checked_sub(4)
        .and_then(|start| compressed.get(start..))
    {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]) as usize,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn size_hint_reads_the_gzip_trailer() {
        assert_eq!(gzip_size_hint(&gzip(&[7u8; 12345])), 12345);
        assert_eq!(gzip_size_hint(b"ab"), 0);
    }

    #[test]
    fn encodings_other_than_gzip_and_identity_are_refused() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            content_encoding(&headers).unwrap(),
            ContentEncoding::Identity
        );
        headers.insert(header::CONTENT_ENCODING, "GZIP".parse().unwrap());
        assert_eq!(content_encoding(&headers).unwrap(), ContentEncoding::Gzip);
        headers.insert(header::CONTENT_ENCODING, "br".parse().unwrap());
        let error = content_encoding(&headers).unwrap_err();
        assert!(error.to_string().contains("\"br\""), "{error}");
    }

    #[test]
    fn media_type_drops_parameters_and_case() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "Application/JSON; charset=utf-8".parse().unwrap(),
        );
        assert_eq!(media_type(&headers), "application/json");
    }
}
