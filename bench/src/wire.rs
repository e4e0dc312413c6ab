//! Finds the id and time fields inside an encoded `ExportTraceServiceRequest`, so that the pool
//! can give every send fresh trace/span ids and current times by overwriting fixed-size bytes
//! in a copy of a pre-encoded template, instead of building and encoding a request per send.
//!
//! Only the path `ExportTraceServiceRequest.resource_spans(1) → ResourceSpans.scope_spans(2) →
//! ScopeSpans.spans(2) → Span` is walked; everything else is skipped by its wire type.

use anyhow::{Context as _, bail, ensure};

/// What a slot of the encoded template holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotKind {
    /// A 16-byte trace id of the trace with this index in the request.
    TraceId(u64),
    /// An 8-byte span id (or parent span id) of the span with this index in the request.
    SpanId(u64),
    /// A little-endian fixed64 time, this many nanoseconds after the request's base time.
    Time(u64),
}

/// A field of the template that is rewritten before each send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    /// Byte offset of the field's value in the encoded request.
    pub(crate) offset: usize,
    /// What the value is.
    pub(crate) kind: SlotKind,
}

/// One field of an encoded message: its number and the byte range of its value.
#[derive(Debug, Clone, Copy)]
struct Field {
    number: u64,
    start: usize,
    end: usize,
}

/// Returns every id and time slot of an encoded request built with placeholder ids (see
/// `spans::placeholder_trace_id` and `spans::placeholder_span_id`).
pub(crate) fn find_slots(encoded: &[u8]) -> anyhow::Result<Vec<Slot>> {
    let mut slots = Vec::new();
    for resource_spans in message_fields(encoded, 0, encoded.len())?
        .into_iter()
        .filter(|f| f.number == 1)
    {
        let resource_fields = message_fields(encoded, resource_spans.start, resource_spans.end)?;
        for scope_spans in resource_fields.into_iter().filter(|f| f.number == 2) {
            let scope_fields = message_fields(encoded, scope_spans.start, scope_spans.end)?;
            for span in scope_fields.into_iter().filter(|f| f.number == 2) {
                span_slots(encoded, span, &mut slots)?;
            }
        }
    }
    Ok(slots)
}

fn span_slots(encoded: &[u8], span: Field, slots: &mut Vec<Slot>) -> anyhow::Result<()> {
    for field in message_fields(encoded, span.start, span.end)? {
        let value = &encoded[field.start..field.end];
        let kind = match (field.number, value.len()) {
            (1, 16) => SlotKind::TraceId(be_u64(&value[8..16])),
            (1, length) => bail!("Span.trace_id has {length} bytes, expected 16"),
            (2 | 4, 8) => match be_u64(value).checked_sub(1) {
                Some(index) => SlotKind::SpanId(index),
                None => bail!("Span.span_id is zero, which no placeholder id is"),
            },
            (2, length) => bail!("Span.span_id has {length} bytes, expected 8"),
            (4, 0) => continue,
            (4, length) => bail!("Span.parent_span_id has {length} bytes, expected 8 or none"),
            (7 | 8, 8) => SlotKind::Time(le_u64(value)),
            _ => continue,
        };
        slots.push(Slot {
            offset: field.start,
            kind,
        });
    }
    Ok(())
}

/// Splits the message in `encoded[start..end]` into its fields.
fn message_fields(encoded: &[u8], start: usize, end: usize) -> anyhow::Result<Vec<Field>> {
    let mut fields = Vec::new();
    let mut position = start;
    while position < end {
        let key = read_varint(encoded, &mut position, end)?;
        let (number, wire_type) = (key >> 3, (key & 7) as u8);
        let value_start;
        match wire_type {
            0 => {
                read_varint(encoded, &mut position, end)?;
                value_start = position;
            }
            1 => {
                value_start = position;
                position += 8;
            }
            2 => {
                let length = read_varint(encoded, &mut position, end)?;
                value_start = position;
                position += usize::try_from(length).context("field length overflows usize")?;
            }
            5 => {
                value_start = position;
                position += 4;
            }
            other => bail!("field {number} has unsupported wire type {other}"),
        }
        ensure!(
            position <= end,
            "field {number} runs past the end of its message"
        );
        fields.push(Field {
            number,
            start: value_start,
            end: position,
        });
    }
    Ok(fields)
}

fn read_varint(encoded: &[u8], position: &mut usize, end: usize) -> anyhow::Result<u64> {
    let mut value = 0_u64;
    for shift in (0..64).step_by(7) {
        ensure!(*position < end, "varint runs past the end of its message");
        let byte = encoded[*position];
        *position += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    bail!("varint is longer than 10 bytes")
}

fn be_u64(bytes: &[u8]) -> u64 {
    let mut buffer = [0_u8; 8];
    buffer.copy_from_slice(&bytes[..8]);
    u64::from_be_bytes(buffer)
}

fn le_u64(bytes: &[u8]) -> u64 {
    let mut buffer = [0_u8; 8];
    buffer.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(buffer)
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::spans::{Rng, build_request};

    #[test]
    fn finds_every_id_and_time_of_every_span() {
        let request = build_request(&mut Rng::new(3), 12, "pk-lf-bench");
        let encoded = request.encode_to_vec();
        let slots = find_slots(&encoded).unwrap();
        let count =
            |predicate: fn(&SlotKind) -> bool| slots.iter().filter(|s| predicate(&s.kind)).count();
        assert_eq!(count(|k| matches!(k, SlotKind::TraceId(_))), 12);
        assert_eq!(count(|k| matches!(k, SlotKind::Time(_))), 24);
        // 12 span ids + 12 parents, minus the two roots (traces 0 and 1 are whole; trace 2 has 2).
        assert_eq!(count(|k| matches!(k, SlotKind::SpanId(_))), 22);
        let spans = &request.resource_spans[0].scope_spans[0].spans;
        for slot in &slots {
            match slot.kind {
                SlotKind::TraceId(trace) => {
                    assert_eq!(
                        &encoded[slot.offset..slot.offset + 16],
                        &crate::spans::placeholder_trace_id(trace)[..]
                    );
                }
                SlotKind::SpanId(span) => assert!(span < 15, "span index {span}"),
                SlotKind::Time(time) => assert!(
                    spans
                        .iter()
                        .any(|s| s.start_time_unix_nano == time || s.end_time_unix_nano == time)
                ),
            }
        }
    }

    #[test]
    fn rejects_a_truncated_message() {
        let encoded = build_request(&mut Rng::new(3), 5, "pk").encode_to_vec();
        assert!(find_slots(&encoded[..encoded.len() - 3]).is_err());
    }
}
