//! A pool of pre-encoded requests. Building and encoding ~180 KB of spans per request would cost
//! the generator about as much CPU as the server spends decoding them, on the same two cores;
//! instead each send copies a template and overwrites its ids and times in place.
//!
//! Every send gets a sequence number `n`; trace `t` of that send gets an id derived from
//! `(n, t)` and span `s` one derived from `(n, s)`, through a keyed bijective mix, so ids never
//! repeat within a run and look random (the server may shard or index by them).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::ensure;
use bytes::Bytes;
use prost::Message as _;

use crate::spans::{self, Rng};
use crate::wire::{self, Slot, SlotKind};

/// Generated times lie within this window before the send.
const TIME_WINDOW_NS: u64 = 10_000_000_000;

/// Marks marker ids so that they never collide with ids of pooled sends.
const MARKER_BIT: u64 = 1 << 63;

/// Most spans one request may carry (span indexes are packed into 20 bits).
pub(crate) const MAX_SPANS_PER_REQUEST: usize = 1 << 16;

/// One pre-encoded request and where its ids and times sit.
#[derive(Debug)]
struct Template {
    bytes: Vec<u8>,
    slots: Vec<Slot>,
    trace_spans: Vec<u32>,
}

/// Keys of the id derivation, random per run so that reruns against one data dir do not merge.
#[derive(Debug, Clone, Copy)]
struct IdKey {
    trace_high: u64,
    trace_low: u64,
    span: u64,
}

/// A request ready to send.
#[derive(Debug, Clone)]
pub(crate) struct PooledRequest {
    /// The send's sequence number (derives its ids).
    pub(crate) sequence: u64,
    /// The encoded `ExportTraceServiceRequest`.
    pub(crate) body: Bytes,
    /// Spans in the request.
    pub(crate) spans: u32,
}

/// Pre-encoded requests and the id derivation of the run.
#[derive(Debug)]
pub(crate) struct RequestPool {
    templates: Vec<Template>,
    key: IdKey,
    next_sequence: AtomicU64,
    public_key: String,
}

impl RequestPool {
    /// Builds `size` distinct templates of `spans_per_request` spans each.
    pub(crate) fn build(
        size: usize,
        spans_per_request: usize,
        public_key: &str,
    ) -> anyhow::Result<Self> {
        ensure!(size > 0, "--pool-size must be at least 1");
        ensure!(
            (1..=MAX_SPANS_PER_REQUEST).contains(&spans_per_request),
            "--spans-per-request must be between 1 and {MAX_SPANS_PER_REQUEST}"
        );
        let mut rng = Rng::new(0x5eed_0fbe_9c00);
        let mut templates = Vec::with_capacity(size);
        let trace_spans: Vec<u32> = spans::trace_shape(spans_per_request)
            .into_iter()
            .map(|n| n as u32)
            .collect();
        for _ in 0..size {
            let bytes =
                spans::build_request(&mut rng, spans_per_request, public_key).encode_to_vec();
            let slots = wire::find_slots(&bytes)?;
            let trace_slots = slots
                .iter()
                .filter(|s| matches!(s.kind, SlotKind::TraceId(_)))
                .count();
            ensure!(
                trace_slots == spans_per_request,
                "template has {trace_slots} trace ids"
            );
            templates.push(Template {
                bytes,
                slots,
                trace_spans: trace_spans.clone(),
            });
        }
        Ok(Self {
            templates,
            key: IdKey::random(),
            next_sequence: AtomicU64::new(0),
            public_key: public_key.to_owned(),
        })
    }

    /// Returns the next request with fresh ids and times ending at `now_unix_ns`.
    pub(crate) fn next_request(&self, now_unix_ns: u64) -> PooledRequest {
        let sequence = self.next_sequence.fetch_add(1, Ordering::Relaxed);
        let template = self.template(sequence);
        let mut bytes = template.bytes.clone();
        let base = now_unix_ns.saturating_sub(TIME_WINDOW_NS);
        for slot in &template.slots {
            match slot.kind {
                SlotKind::TraceId(trace) => {
                    bytes[slot.offset..slot.offset + 16]
                        .copy_from_slice(&self.trace_id(sequence, trace));
                }
                SlotKind::SpanId(span) => {
                    bytes[slot.offset..slot.offset + 8]
                        .copy_from_slice(&self.span_id(sequence, span));
                }
                SlotKind::Time(offset) => {
                    bytes[slot.offset..slot.offset + 8]
                        .copy_from_slice(&(base + offset).to_le_bytes());
                }
            }
        }
        let spans = template.trace_spans.iter().sum();
        PooledRequest {
            sequence,
            body: Bytes::from(bytes),
            spans,
        }
    }

    /// Returns the trace id of trace `trace` of send `sequence`.
    pub(crate) fn trace_id(&self, sequence: u64, trace: u64) -> [u8; 16] {
        let packed = (sequence << 16) | trace;
        let mut id = [0_u8; 16];
        id[..8].copy_from_slice(&mix(self.key.trace_high ^ sequence).to_be_bytes());
        id[8..].copy_from_slice(&mix(self.key.trace_low ^ packed).to_be_bytes());
        id
    }

    fn span_id(&self, sequence: u64, span: u64) -> [u8; 8] {
        mix(self.key.span ^ ((sequence << 20) | span)).to_be_bytes()
    }

    /// Returns the spans of every trace of send `sequence`, in request order.
    pub(crate) fn trace_spans(&self, sequence: u64) -> &[u32] {
        &self.template(sequence).trace_spans
    }

    /// Returns the encoded one-span request of marker `marker` and its trace id.
    pub(crate) fn marker(&self, marker: u64, now_unix_ns: u64) -> (Bytes, [u8; 16]) {
        let tagged = MARKER_BIT | marker;
        let mut trace_id = [0_u8; 16];
        trace_id[..8].copy_from_slice(&mix(self.key.trace_high ^ tagged).to_be_bytes());
        trace_id[8..].copy_from_slice(&mix(self.key.trace_low ^ tagged).to_be_bytes());
        let span_id = mix(self.key.span ^ tagged).to_be_bytes();
        let request = spans::marker_request(trace_id, span_id, now_unix_ns, &self.public_key);
        (Bytes::from(request.encode_to_vec()), trace_id)
    }

    /// Returns the mean encoded size of a request and of a span, in bytes.
    pub(crate) fn mean_sizes(&self) -> (usize, usize) {
        let bytes: usize = self.templates.iter().map(|t| t.bytes.len()).sum();
        let spans: u32 = self
            .templates
            .iter()
            .flat_map(|t| t.trace_spans.iter())
            .sum();
        (
            bytes / self.templates.len(),
            bytes / (spans.max(1) as usize),
        )
    }

    fn template(&self, sequence: u64) -> &Template {
        &self.templates[(sequence % self.templates.len() as u64) as usize]
    }
}

impl IdKey {
    fn random() -> Self {
        let clock = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let seed = mix(clock ^ (u64::from(std::process::id()) << 32));
        let trace_low = mix(seed ^ 0x7472_6163_655f_6c6f);
        let span = mix(trace_low ^ 0x7370_616e_5f69_6473);
        Self {
            trace_high: seed,
            trace_low,
            span,
        }
    }
}

/// Returns the current time in nanoseconds since the Unix epoch.
pub(crate) fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// SplitMix64's finaliser: a bijection on u64, so distinct inputs give distinct ids.
fn mix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use periscope_proto::otlp_collector::ExportTraceServiceRequest;

    use super::*;

    fn spans_of(request: &PooledRequest) -> Vec<periscope_proto::otlp_trace::Span> {
        let decoded = ExportTraceServiceRequest::decode(request.body.clone()).unwrap();
        decoded.resource_spans[0].scope_spans[0].spans.clone()
    }

    #[test]
    fn every_send_gets_fresh_ids_with_intact_parent_links() {
        let pool = RequestPool::build(2, 10, "pk-lf-bench").unwrap();
        let now = unix_now_ns();
        let mut trace_ids = HashSet::new();
        let mut span_ids = HashSet::new();
        for _ in 0..4 {
            let request = pool.next_request(now);
            let spans = spans_of(&request);
            assert_eq!(spans.len(), 10);
            assert_eq!(request.spans, 10);
            for span in &spans {
                assert!(span_ids.insert(span.span_id.clone()), "span id repeats");
                assert!(
                    span.end_time_unix_nano <= now
                        && span.start_time_unix_nano + TIME_WINDOW_NS >= now
                );
                if !span.parent_span_id.is_empty() {
                    let parent = spans
                        .iter()
                        .find(|p| p.span_id == span.parent_span_id)
                        .unwrap();
                    assert_eq!(parent.trace_id, span.trace_id);
                }
            }
            // Trace ids agree with what the pool derives for the send.
            assert_eq!(
                spans[0].trace_id,
                pool.trace_id(request.sequence, 0).to_vec()
            );
            assert_eq!(
                spans[9].trace_id,
                pool.trace_id(request.sequence, 1).to_vec()
            );
            trace_ids.extend(spans.iter().map(|s| s.trace_id.clone()));
        }
        assert_eq!(trace_ids.len(), 8);
        let (marker, marker_trace) = pool.marker(0, now);
        assert!(!trace_ids.contains(marker_trace.as_slice()));
        let decoded = ExportTraceServiceRequest::decode(marker).unwrap();
        assert_eq!(
            decoded.resource_spans[0].scope_spans[0].spans[0].trace_id,
            marker_trace.to_vec()
        );
    }

    #[test]
    fn rejects_empty_pools_and_oversized_requests() {
        assert!(RequestPool::build(0, 10, "pk").is_err());
        assert!(RequestPool::build(1, MAX_SPANS_PER_REQUEST + 1, "pk").is_err());
    }
}
