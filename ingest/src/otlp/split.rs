//! Validating OTLP spans and regrouping them into one log event per (resource, trace).
//!
//! Spans are moved, never cloned: the decoded request is consumed, and only the (small)
//! resource and scope descriptions are copied into each trace's group.

use std::collections::HashMap;
use std::fmt::Write as _;

use bytes::Bytes;
use periscope_core::ids::new_event_id;
use periscope_core::log::LogRecord;
use periscope_core::topics;
use periscope_proto::otlp_collector::ExportTraceServiceRequest;
use periscope_proto::otlp_trace::{ResourceSpans, ScopeSpans, Span};
use periscope_proto::pv1;
use prost::Message;

/// The envelope layout version written by this ingester.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// At most this many rejection reasons are spelled out in `partial_success.error_message`.
const MAX_REPORTED_REJECTIONS: usize = 10;

/// Why one span was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SpanProblem {
    #[error("trace_id must be 16 bytes, got {0}")]
    TraceIdLength(usize),
    #[error("trace_id must not be all zero")]
    TraceIdZero,
    #[error("span_id must be 8 bytes, got {0}")]
    SpanIdLength(usize),
    #[error("span_id must not be all zero")]
    SpanIdZero,
    #[error("parent_span_id must be empty or 8 bytes, got {0}")]
    ParentSpanIdLength(usize),
    #[error("end_time_unix_nano {end} is before start_time_unix_nano {start}")]
    EndBeforeStart { start: u64, end: u64 },
}

/// Checks the invariants every later stage relies on; an empty name is allowed.
pub(crate) fn validate_span(span: &Span) -> Result<[u8; 16], SpanProblem> {
    let trace_id: [u8; 16] = span
        .trace_id
        .as_slice()
        .try_into()
        .map_err(|_| SpanProblem::TraceIdLength(span.trace_id.len()))?;
    if trace_id == [0; 16] {
        return Err(SpanProblem::TraceIdZero);
    }
    if span.span_id.len() != 8 {
        return Err(SpanProblem::SpanIdLength(span.span_id.len()));
    }
    if span.span_id.iter().all(|byte| *byte == 0) {
        return Err(SpanProblem::SpanIdZero);
    }
    if !matches!(span.parent_span_id.len(), 0 | 8) {
        return Err(SpanProblem::ParentSpanIdLength(span.parent_span_id.len()));
    }
    let (start, end) = (span.start_time_unix_nano, span.end_time_unix_nano);
    if end != 0 && end < start {
        return Err(SpanProblem::EndBeforeStart { start, end });
    }
    Ok(trace_id)
}

/// The log records of one export request, and what was rejected.
#[derive(Debug, Default)]
pub(crate) struct SplitExport {
    pub(crate) records: Vec<LogRecord>,
    pub(crate) accepted_spans: usize,
    pub(crate) rejected_spans: usize,
    /// Empty when nothing was rejected; otherwise names each rejected span and its field.
    pub(crate) error_message: String,
}

impl SplitExport {
    fn reject(&mut self, location: (usize, usize, usize), problem: &SpanProblem) {
        self.rejected_spans += 1;
        if self.rejected_spans <= MAX_REPORTED_REJECTIONS {
            if !self.error_message.is_empty() {
                self.error_message.push_str("; ");
            }
            let (resource, scope, span) = location;
            let _ = write!(
                self.error_message,
                "resource_spans[{resource}].scope_spans[{scope}].spans[{span}]: {problem}"
            );
        }
    }

    fn finish_message(&mut self) {
        if self.rejected_spans > MAX_REPORTED_REJECTIONS {
            let more = self.rejected_spans - MAX_REPORTED_REJECTIONS;
            let _ = write!(self.error_message, "; and {more} more rejected spans");
        }
    }
}

/// Spans of one trace from one `ResourceSpans`, being collected.
struct TraceGroup {
    trace_id: [u8; 16],
    spans: ResourceSpans,
    /// Index of the source scope whose `ScopeSpans` is last in `spans`, so consecutive spans of
    /// one scope share an entry.
    last_scope: Option<usize>,
}

/// What every event of one request shares.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventContext<'a> {
    pub(crate) project_id: &'a str,
    pub(crate) source: pv1::Source,
    pub(crate) received_at_unix_nano: i64,
}

/// Validates every span and returns one encoded `pv1::Event` per (resource_spans, trace),
/// keyed `project_id/trace_id_hex`, in order of first appearance.
pub(crate) fn split_export(
    request: ExportTraceServiceRequest,
    context: EventContext<'_>,
) -> SplitExport {
    let mut split = SplitExport::default();
    for (resource_index, resource_spans) in request.resource_spans.into_iter().enumerate() {
        let groups = group_by_trace(resource_spans, resource_index, &mut split);
        split
            .records
            .extend(groups.into_iter().map(|group| encode_group(group, context)));
    }
    split.finish_message();
    split
}

fn group_by_trace(
    resource_spans: ResourceSpans,
    resource_index: usize,
    split: &mut SplitExport,
) -> Vec<TraceGroup> {
    let ResourceSpans {
        resource,
        scope_spans,
        schema_url,
    } = resource_spans;
    let mut groups: Vec<TraceGroup> = Vec::new();
    let mut group_of_trace: HashMap<[u8; 16], usize> = HashMap::new();
    for (scope_index, scope_spans) in scope_spans.into_iter().enumerate() {
        let ScopeSpans {
            scope,
            spans,
            schema_url: scope_schema_url,
        } = scope_spans;
        for (span_index, span) in spans.into_iter().enumerate() {
            let trace_id = match validate_span(&span) {
                Ok(trace_id) => trace_id,
                Err(problem) => {
                    split.reject((resource_index, scope_index, span_index), &problem);
                    continue;
                }
            };
            let group_index = *group_of_trace.entry(trace_id).or_insert_with(|| {
                groups.push(TraceGroup {
                    trace_id,
                    spans: ResourceSpans {
                        resource: resource.clone(),
                        scope_spans: Vec::new(),
                        schema_url: schema_url.clone(),
                    },
                    last_scope: None,
                });
                groups.len() - 1
            });
            let Some(group) = groups.get_mut(group_index) else {
                continue;
            };
            if group.last_scope != Some(scope_index) {
                group.spans.scope_spans.push(ScopeSpans {
                    scope: scope.clone(),
                    spans: Vec::new(),
                    schema_url: scope_schema_url.clone(),
                });
                group.last_scope = Some(scope_index);
            }
            if let Some(entry) = group.spans.scope_spans.last_mut() {
                entry.spans.push(span);
                split.accepted_spans += 1;
            }
        }
    }
    groups
}

fn encode_group(group: TraceGroup, context: EventContext<'_>) -> LogRecord {
    let key = topics::trace_key(context.project_id, &hex::encode(group.trace_id));
    let event = pv1::Event {
        event_id: new_event_id(),
        project_id: context.project_id.to_owned(),
        received_at_unix_nano: context.received_at_unix_nano,
        source: context.source as i32,
        schema_version: SCHEMA_VERSION,
        body: Some(pv1::event::Body::OtlpSpans(group.spans)),
    };
    LogRecord {
        key: Bytes::from(key),
        value: Bytes::from(event.encode_to_vec()),
    }
}

#[cfg(test)]
mod tests;
