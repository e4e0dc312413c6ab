//! OTLP spans → records (WIRE-PROTOCOL.md §10).
//!
//! Every span becomes one observation record, plus one trace record when the span is its
//! trace's root (no parent, or `langfuse.internal.as_root`) or carries trace attributes
//! (`langfuse.trace.*`, `user.id`, `session.id`, ...). The mapping looks at one span at a time
//! and never at its relatives: children usually arrive before their parents and a trace may span
//! many requests, so the partial records are merged by the store (`periscope_core::model`).
//!
//! The interpretation follows Langfuse's: the Langfuse SDK's attributes first, then the
//! OpenTelemetry GenAI conventions, OpenInference, the Vercel AI SDK and other instrumentations.

mod attributes;
mod fields;
mod io;
mod kind;
mod metadata;
mod trace;

#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use periscope_core::model::{ObservationRecord, ObservationType, Record};
use periscope_proto::otlp_common::{InstrumentationScope, KeyValue};
use periscope_proto::otlp_trace::{ResourceSpans, Span};
use serde_json::{Map, Value};

use attributes::{Attributes, key_values_to_json};
use metadata::Domain;
use trace::{RootObservation, TraceSource};

/// Maps the spans of one `ResourceSpans` to records: per span, a trace record when the span is
/// a root or carries trace attributes, then its observation record. Spans without a trace or
/// span id cannot be stored and are skipped (ingest rejects them before they get here).
pub fn map_resource_spans(
    project_id: &str,
    resource_spans: &ResourceSpans,
    received_at: DateTime<Utc>,
) -> Vec<Record> {
    let resource_attributes = resource_spans
        .resource
        .as_ref()
        .map_or(&[][..], |resource| &resource.attributes);
    let resource = ResourceContext::new(resource_attributes);
    let span_count: usize = resource_spans
        .scope_spans
        .iter()
        .map(|scope| scope.spans.len())
        .sum();
    let mut records = Vec::with_capacity(span_count + span_count / 2);
    let mut skipped = 0_usize;
    for scope_spans in &resource_spans.scope_spans {
        let scope = ScopeContext::new(scope_spans.scope.as_ref());
        for span in &scope_spans.spans {
            let context = SpanContext {
                project_id,
                resource: &resource,
                scope: &scope,
                received_at,
            };
            if !map_span(&context, span, &mut records) {
                skipped += 1;
            }
        }
    }
    if skipped > 0 {
        tracing::warn!(
            project_id,
            skipped,
            "skipped spans without a trace id or span id"
        );
    }
    records
}

/// What the spans of one resource share, computed once.
#[derive(Debug)]
pub(super) struct ResourceContext<'a> {
    attributes: Attributes<'a>,
    /// The `resourceAttributes` metadata entry.
    json: Value,
    /// `langfuse.trace.metadata.*` set on the resource, which every span's metadata inherits.
    trace_metadata: BTreeMap<String, Value>,
}

impl<'a> ResourceContext<'a> {
    fn new(key_values: &'a [KeyValue]) -> Self {
        let attributes = Attributes::new(key_values);
        let trace_metadata = metadata::extract(&attributes, Domain::Trace);
        Self {
            json: Value::Object(key_values_to_json(key_values)),
            attributes,
            trace_metadata,
        }
    }
}

/// What the spans of one instrumentation scope share, computed once.
#[derive(Debug)]
pub(super) struct ScopeContext<'a> {
    name: &'a str,
    version: &'a str,
    /// Spans of the Langfuse SDK, whose raw attributes are not copied into metadata.
    is_langfuse_sdk: bool,
    /// The `scope` metadata entry.
    json: Value,
}

impl<'a> ScopeContext<'a> {
    fn new(scope: Option<&'a InstrumentationScope>) -> Self {
        let name = scope.map_or("", |scope| scope.name.as_str());
        let version = scope.map_or("", |scope| scope.version.as_str());
        let mut json = Map::new();
        json.insert("name".to_owned(), Value::String(name.to_owned()));
        if !version.is_empty() {
            json.insert("version".to_owned(), Value::String(version.to_owned()));
        }
        let attributes = scope.map_or(&[][..], |scope| &scope.attributes);
        json.insert(
            "attributes".to_owned(),
            Value::Object(key_values_to_json(attributes)),
        );
        Self {
            name,
            version,
            is_langfuse_sdk: name.starts_with("langfuse-sdk"),
            json: Value::Object(json),
        }
    }
}

/// The surroundings of one span.
struct SpanContext<'s, 'a> {
    project_id: &'s str,
    resource: &'s ResourceContext<'a>,
    scope: &'s ScopeContext<'a>,
    received_at: DateTime<Utc>,
}

/// Maps one span; returns false when it has no identity and was skipped.
fn map_span(context: &SpanContext<'_, '_>, span: &Span, records: &mut Vec<Record>) -> bool {
    if span.trace_id.is_empty() || span.span_id.is_empty() {
        return false;
    }
    let (resource, scope) = (context.resource, context.scope);
    let attributes = Attributes::new(&span.attributes);
    let trace_id = hex::encode(&span.trace_id);
    // An `as_root` span's parent is random and never exported: it is the trace's root.
    let as_root = attributes.flag("langfuse.internal.as_root") == Some(true);
    let parent_observation_id =
        (!as_root && !span.parent_span_id.is_empty()).then(|| hex::encode(&span.parent_span_id));
    let is_root = parent_observation_id.is_none();
    let (start_time, end_time) = span_times(span, context.received_at);

    let observation_type = kind::observation_type(&attributes, resource, scope);
    let name = kind::observation_name(&attributes, &span.name).into_owned();
    let io = io::extract(&attributes, &span.events, scope.name);
    let environment = fields::environment(&attributes, &resource.attributes);
    let span_metadata = metadata::extract(&attributes, Domain::Observation);
    let raw_attributes = (!scope.is_langfuse_sdk).then(|| metadata::raw_attributes(&attributes));

    if is_root || trace::has_trace_updates(&attributes) {
        let root = is_root.then_some(RootObservation {
            name: &name,
            io: &io,
            metadata: &span_metadata,
            raw_attributes: raw_attributes.as_ref(),
        });
        records.push(Record::Trace(trace::trace_record(TraceSource {
            project_id: context.project_id,
            trace_id: &trace_id,
            attributes: &attributes,
            resource,
            scope,
            root,
            start_time,
            environment: &environment,
            received_at: context.received_at,
        })));
    }

    let mut observation_metadata = resource.trace_metadata.clone();
    observation_metadata.extend(span_metadata);
    if let Some(raw_attributes) = raw_attributes {
        observation_metadata.insert("attributes".to_owned(), raw_attributes);
    }
    observation_metadata.insert("resourceAttributes".to_owned(), resource.json.clone());
    observation_metadata.insert("scope".to_owned(), scope.json.clone());

    // Prompts link only to generations.
    let (prompt_name, prompt_version) = if observation_type == ObservationType::Generation {
        fields::prompt(&attributes)
    } else {
        (None, None)
    };
    let status = span.status.as_ref();
    records.push(Record::Observation(ObservationRecord {
        project_id: context.project_id.to_owned(),
        id: hex::encode(&span.span_id),
        trace_id,
        parent_observation_id,
        observation_type: Some(observation_type),
        name: Some(name),
        start_time: Some(start_time),
        end_time: Some(end_time),
        completion_start_time: fields::completion_start_time(&attributes, start_time),
        model: fields::model(&attributes),
        model_parameters: fields::model_parameters(&attributes),
        input: io.input,
        output: io.output,
        metadata: observation_metadata,
        level: Some(fields::level(&attributes, status, scope.name, &span.name)),
        status_message: fields::status_message(&attributes, status),
        version: attributes
            .text("langfuse.version")
            .map(|version| version.into_owned()),
        environment: Some(environment),
        usage_details: fields::usage_details(&attributes, observation_type),
        cost_details: fields::cost_details(&attributes),
        prompt_name,
        prompt_version,
        event_time: context.received_at,
        ..ObservationRecord::default()
    }));
    true
}

/// Returns the span's start and end; a missing edge takes the other one, and a span with
/// neither is placed at the time it was received.
fn span_times(span: &Span, received_at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = nanos_to_time(span.start_time_unix_nano);
    let end = nanos_to_time(span.end_time_unix_nano);
    let start_time = start.or(end).unwrap_or(received_at);
    (start_time, end.unwrap_or(start_time))
}

/// Converts Unix nanoseconds; 0 (unset) and times past 2262 are none.
fn nanos_to_time(nanos: u64) -> Option<DateTime<Utc>> {
    let nanos = i64::try_from(nanos).ok().filter(|nanos| *nanos > 0)?;
    Some(DateTime::from_timestamp_nanos(nanos))
}
