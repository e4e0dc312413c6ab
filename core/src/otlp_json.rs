//! OTLP/JSON decoding into the protobuf types of `periscope-proto`.
//!
//! OTLP/JSON is the protobuf JSON mapping with OpenTelemetry's deviations: trace and span ids
//! are **hex** strings (not base64), 64-bit integers may be JSON strings or numbers, enums may be
//! integers or their names, and field names are lowerCamelCase (the original snake_case names
//! are accepted too). Unknown fields are ignored so that newer senders keep working.
//!
//! The body is parsed once into a `serde_json::Value` and then walked by hand, moving strings
//! out of the tree instead of cloning them. Errors name the JSON path of the offending field,
//! e.g. `resourceSpans[0].scopeSpans[0].spans[2].name: expected a string`, so that
//! a 400 response tells the sender exactly what to fix.

mod path;
mod value;

#[cfg(test)]
mod tests;

use periscope_proto::otlp_collector::ExportTraceServiceRequest;
use periscope_proto::otlp_common::InstrumentationScope;
use periscope_proto::otlp_resource::Resource;
use periscope_proto::otlp_trace::span::{Event, Link, SpanKind};
use periscope_proto::otlp_trace::status::StatusCode;
use periscope_proto::otlp_trace::{ResourceSpans, ScopeSpans, Span, Status};
use serde_json::Value;

use crate::error::{ErrorCode, ServiceError};
use path::JsonPath;
use value::{
    decode_entity_refs, decode_key_values, decode_repeated, enum_value, id_bytes, into_object,
    into_string, to_u32, to_u64,
};

/// Why an OTLP/JSON body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum OtlpJsonError {
    /// The body is not syntactically valid JSON.
    #[error("body is not valid JSON: {0}")]
    Syntax(#[source] serde_json::Error),
    /// A field has the wrong JSON type or an invalid value.
    #[error("{path}: {problem}")]
    Field {
        /// JSON path of the field, e.g. `resourceSpans[0].scopeSpans[0].spans[2].traceId`.
        path: String,
        /// What is wrong with it.
        problem: FieldProblem,
    },
}

/// What is wrong with one field of an OTLP/JSON body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldProblem {
    /// A message was expected.
    #[error("expected a JSON object")]
    ExpectedObject,
    /// A repeated field was expected.
    #[error("expected a JSON array")]
    ExpectedArray,
    /// A string field holds another JSON type.
    #[error("expected a string")]
    ExpectedString,
    /// A bool field holds another JSON type.
    #[error("expected a boolean")]
    ExpectedBool,
    /// An integer field holds something that is not an integer of the field's type.
    #[error("expected {0} (a JSON number or a decimal string)")]
    ExpectedInteger(&'static str),
    /// A double field holds something that is not a number.
    #[error("expected a number")]
    ExpectedNumber,
    /// A bytes value is not base64.
    #[error("expected base64")]
    ExpectedBase64,
    /// An enum name is not one of the known names.
    #[error("unknown enum value {0:?}")]
    UnknownEnum(String),
}

impl ServiceError for OtlpJsonError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidArgument
    }
}

/// Result of the decoders in this module.
type Result<T, E = OtlpJsonError> = std::result::Result<T, E>;

/// Decodes an OTLP/JSON `ExportTraceServiceRequest` (the body of `POST /v1/traces` with
/// `Content-Type: application/json`) into the prost types.
pub fn decode_export_request(json: &[u8]) -> Result<ExportTraceServiceRequest> {
    let value: Value = serde_json::from_slice(json).map_err(OtlpJsonError::Syntax)?;
    let root = JsonPath::root();
    let mut request = ExportTraceServiceRequest::default();
    for (key, field) in into_object(value, &root)? {
        if field.is_null() {
            continue;
        }
        if let "resourceSpans" | "resource_spans" = key.as_str() {
            let path = root.field("resourceSpans");
            request.resource_spans = decode_repeated(field, &path, decode_resource_spans)?;
        }
    }
    Ok(request)
}

fn decode_resource_spans(value: Value, path: &JsonPath<'_>) -> Result<ResourceSpans> {
    let mut message = ResourceSpans::default();
    for (key, field) in into_object(value, path)? {
        if field.is_null() {
            continue;
        }
        match key.as_str() {
            "resource" => message.resource = Some(decode_resource(field, &path.field("resource"))?),
            // `instrumentationLibrarySpans` is the pre-1.0 name, still sent by old exporters.
            "scopeSpans" | "scope_spans" | "instrumentationLibrarySpans" => {
                let path = path.field("scopeSpans");
                message
                    .scope_spans
                    .extend(decode_repeated(field, &path, decode_scope_spans)?);
            }
            "schemaUrl" | "schema_url" => {
                message.schema_url = into_string(field, &path.field("schemaUrl"))?;
            }
            _ => {}
        }
    }
    Ok(message)
}

fn decode_resource(value: Value, path: &JsonPath<'_>) -> Result<Resource> {
    let mut message = Resource::default();
    for (key, field) in into_object(value, path)? {
        if field.is_null() {
            continue;
        }
        match key.as_str() {
            "attributes" => {
                message.attributes = decode_key_values(field, &path.field("attributes"))?;
            }
            "droppedAttributesCount" | "dropped_attributes_count" => {
                message.dropped_attributes_count =
                    to_u32(&field, &path.field("droppedAttributesCount"))?;
            }
            "entityRefs" | "entity_refs" => {
                message.entity_refs = decode_entity_refs(field, &path.field("entityRefs"))?;
            }
            _ => {}
        }
    }
    Ok(message)
}

fn decode_scope_spans(value: Value, path: &JsonPath<'_>) -> Result<ScopeSpans> {
    let mut message = ScopeSpans::default();
    for (key, field) in into_object(value, path)? {
        if field.is_null() {
            continue;
        }
        match key.as_str() {
            "scope" | "instrumentationLibrary" => {
                message.scope = Some(decode_scope(field, &path.field("scope"))?);
            }
            "spans" => message.spans = decode_repeated(field, &path.field("spans"), decode_span)?,
            "schemaUrl" | "schema_url" => {
                message.schema_url = into_string(field, &path.field("schemaUrl"))?;
            }
            _ => {}
        }
    }
    Ok(message)
}

fn decode_scope(value: Value, path: &JsonPath<'_>) -> Result<InstrumentationScope> {
    let mut message = InstrumentationScope::default();
    for (key, field) in into_object(value, path)? {
        if field.is_null() {
            continue;
        }
        match key.as_str() {
            "name" => message.name = into_string(field, &path.field("name"))?,
            "version" => message.version = into_string(field, &path.field("version"))?,
            "attributes" => {
                message.attributes = decode_key_values(field, &path.field("attributes"))?;
            }
            "droppedAttributesCount" | "dropped_attributes_count" => {
                message.dropped_attributes_count =
                    to_u32(&field, &path.field("droppedAttributesCount"))?;
            }
            _ => {}
        }
    }
    Ok(message)
}

/// Length in bytes of a trace id.
const TRACE_ID_BYTES: usize = 16;
/// Length in bytes of a span id.
const SPAN_ID_BYTES: usize = 8;

fn decode_span(value: Value, path: &JsonPath<'_>) -> Result<Span> {
    let mut span = Span::default();
    for (key, field) in into_object(value, path)? {
        if field.is_null() {
            continue;
        }
        match key.as_str() {
            "traceId" | "trace_id" => {
                span.trace_id = id_bytes(&field, &path.field("traceId"), TRACE_ID_BYTES)?;
            }
            "spanId" | "span_id" => {
                span.span_id = id_bytes(&field, &path.field("spanId"), SPAN_ID_BYTES)?;
            }
            "parentSpanId" | "parent_span_id" => {
                span.parent_span_id = id_bytes(&field, &path.field("parentSpanId"), SPAN_ID_BYTES)?;
            }
            "traceState" | "trace_state" => {
                span.trace_state = into_string(field, &path.field("traceState"))?;
            }
            "flags" => span.flags = to_u32(&field, &path.field("flags"))?,
            "name" => span.name = into_string(field, &path.field("name"))?,
            "kind" => span.kind = enum_value(&field, &path.field("kind"), span_kind_from_name)?,
            "startTimeUnixNano" | "start_time_unix_nano" => {
                span.start_time_unix_nano = to_u64(&field, &path.field("startTimeUnixNano"))?;
            }
            "endTimeUnixNano" | "end_time_unix_nano" => {
                span.end_time_unix_nano = to_u64(&field, &path.field("endTimeUnixNano"))?;
            }
            "attributes" => span.attributes = decode_key_values(field, &path.field("attributes"))?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                span.dropped_attributes_count =
                    to_u32(&field, &path.field("droppedAttributesCount"))?;
            }
            "events" => span.events = decode_repeated(field, &path.field("events"), decode_event)?,
            "droppedEventsCount" | "dropped_events_count" => {
                span.dropped_events_count = to_u32(&field, &path.field("droppedEventsCount"))?;
            }
            "links" => span.links = decode_repeated(field, &path.field("links"), decode_link)?,
            "droppedLinksCount" | "dropped_links_count" => {
                span.dropped_links_count = to_u32(&field, &path.field("droppedLinksCount"))?;
            }
            "status" => span.status = Some(decode_status(field, &path.field("status"))?),
            _ => {}
        }
    }
    Ok(span)
}

fn decode_event(value: Value, path: &JsonPath<'_>) -> Result<Event> {
    let mut event = Event::default();
    for (key, field) in into_object(value, path)? {
        if field.is_null() {
            continue;
        }
        match key.as_str() {
            "timeUnixNano" | "time_unix_nano" => {
                event.time_unix_nano = to_u64(&field, &path.field("timeUnixNano"))?;
            }
            "name" => event.name = into_string(field, &path.field("name"))?,
            "attributes" => {
                event.attributes = decode_key_values(field, &path.field("attributes"))?;
            }
            "droppedAttributesCount" | "dropped_attributes_count" => {
                event.dropped_attributes_count =
                    to_u32(&field, &path.field("droppedAttributesCount"))?;
            }
            _ => {}
        }
    }
    Ok(event)
}

fn decode_link(value: Value, path: &JsonPath<'_>) -> Result<Link> {
    let mut link = Link::default();
    for (key, field) in into_object(value, path)? {
        if field.is_null() {
            continue;
        }
        match key.as_str() {
            "traceId" | "trace_id" => {
                link.trace_id = id_bytes(&field, &path.field("traceId"), TRACE_ID_BYTES)?;
            }
            "spanId" | "span_id" => {
                link.span_id = id_bytes(&field, &path.field("spanId"), SPAN_ID_BYTES)?;
            }
            "traceState" | "trace_state" => {
                link.trace_state = into_string(field, &path.field("traceState"))?;
            }
            "attributes" => link.attributes = decode_key_values(field, &path.field("attributes"))?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                link.dropped_attributes_count =
                    to_u32(&field, &path.field("droppedAttributesCount"))?;
            }
            "flags" => link.flags = to_u32(&field, &path.field("flags"))?,
            _ => {}
        }
    }
    Ok(link)
}

fn decode_status(value: Value, path: &JsonPath<'_>) -> Result<Status> {
    let mut status = Status::default();
    for (key, field) in into_object(value, path)? {
        if field.is_null() {
            continue;
        }
        match key.as_str() {
            "message" => status.message = into_string(field, &path.field("message"))?,
            "code" => status.code = enum_value(&field, &path.field("code"), status_code_from_name)?,
            _ => {}
        }
    }
    Ok(status)
}

/// Resolves `SPAN_KIND_SERVER`, and the short form `SERVER` some hand-written senders use.
fn span_kind_from_name(name: &str) -> Option<i32> {
    SpanKind::from_str_name(name)
        .or_else(|| SpanKind::from_str_name(&format!("SPAN_KIND_{}", name.to_ascii_uppercase())))
        .map(|kind| kind as i32)
}

/// Resolves `STATUS_CODE_ERROR`, and the short form `ERROR`.
fn status_code_from_name(name: &str) -> Option<i32> {
    StatusCode::from_str_name(name)
        .or_else(|| {
            StatusCode::from_str_name(&format!("STATUS_CODE_{}", name.to_ascii_uppercase()))
        })
        .map(|code| code as i32)
}
