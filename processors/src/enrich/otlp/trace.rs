//! Trace-level fields and the trace record a span contributes (WIRE-PROTOCOL.md §10 "Trace
//! root", userId, sessionId, tags, public).

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use periscope_core::model::TraceRecord;
use periscope_proto::otlp_common::any_value::Value as Any;
use serde_json::Value;

use super::attributes::{Attributes, any_to_json, json_of};
use super::io::InputOutput;
use super::metadata::{self, Domain, Parts};
use super::{ResourceContext, ScopeContext};

/// Attributes that make a non-root span update its trace.
const TRACE_UPDATE_KEYS: [&str; 19] = [
    "langfuse.trace.name",
    "langfuse.trace.input",
    "langfuse.trace.output",
    "langfuse.trace.metadata",
    "langfuse.trace.public",
    "langfuse.trace.tags",
    "langfuse.user.id",
    "langfuse.session.id",
    "langfuse.tags",
    "user.id",
    "session.id",
    "gen_ai.conversation.id",
    "langfuse.observation.metadata.langfuse_user_id",
    "langfuse.observation.metadata.langfuse_session_id",
    "langfuse.observation.metadata.langfuse_tags",
    "ai.telemetry.metadata.userId",
    "ai.telemetry.metadata.sessionId",
    "ai.telemetry.metadata.tags",
    "tag.tags",
];

/// Returns whether a span carries trace attributes (one of the keys above, or any
/// `langfuse.trace.metadata.<key>`), so that it updates its trace even when it is not the root.
/// A `false` flag carries nothing.
pub(super) fn has_trace_updates(attributes: &Attributes<'_>) -> bool {
    TRACE_UPDATE_KEYS.iter().any(|key| {
        attributes
            .get(key)
            .is_some_and(|value| *value != Any::BoolValue(false))
    }) || attributes.has_prefix("langfuse.trace.metadata.")
}

/// What the span's observation already resolved, reused for the trace of a root span.
#[derive(Debug)]
pub(super) struct RootObservation<'s> {
    pub(super) name: &'s str,
    pub(super) io: &'s InputOutput,
    pub(super) metadata: &'s BTreeMap<String, Value>,
    pub(super) raw_attributes: Option<&'s Value>,
}

/// Everything a span contributes to its trace.
#[derive(Debug)]
pub(super) struct TraceSource<'s, 'a> {
    pub(super) project_id: &'s str,
    pub(super) trace_id: &'s str,
    pub(super) attributes: &'s Attributes<'a>,
    pub(super) resource: &'s ResourceContext<'a>,
    pub(super) scope: &'s ScopeContext<'a>,
    /// Set for the root span: the trace then takes its name, I/O and metadata.
    pub(super) root: Option<RootObservation<'s>>,
    pub(super) start_time: DateTime<Utc>,
    pub(super) environment: &'s str,
    pub(super) received_at: DateTime<Utc>,
}

/// Builds the trace record of a root span or of a span with trace attributes.
pub(super) fn trace_record(source: TraceSource<'_, '_>) -> TraceRecord {
    let attributes = source.attributes;
    let resource = &source.resource.attributes;
    let trace_metadata = metadata::extract(attributes, Domain::Trace);
    let explicit_io = |key: &str| attributes.get(key).map(json_of);
    let mut input = explicit_io("langfuse.trace.input");
    let mut output = explicit_io("langfuse.trace.output");
    let mut name = attributes.text("langfuse.trace.name").map(Cow::into_owned);
    let mut parts = Parts {
        resource_trace: Some(&source.resource.trace_metadata),
        trace: Some(&trace_metadata),
        resource_attributes: Some(&source.resource.json),
        scope: Some(&source.scope.json),
        ..Parts::default()
    };
    if let Some(root) = &source.root {
        input = input.or_else(|| root.io.input.clone());
        output = output.or_else(|| root.io.output.clone());
        name = name.or_else(|| Some(root.name.to_owned()));
        parts.observation = Some(root.metadata);
        parts.raw_attributes = root.raw_attributes;
    }
    TraceRecord {
        project_id: source.project_id.to_owned(),
        id: source.trace_id.to_owned(),
        timestamp: Some(source.start_time),
        name,
        user_id: user_id(attributes),
        session_id: session_id(attributes),
        release: attributes
            .text("langfuse.release")
            .or_else(|| resource.text("langfuse.release"))
            .map(Cow::into_owned),
        version: attributes
            .text("langfuse.version")
            .or_else(|| resource.text("service.version"))
            .map(Cow::into_owned),
        environment: Some(source.environment.to_owned()),
        input,
        output,
        metadata: parts.compose(),
        tags: tags(attributes),
        public: attributes
            .flag("langfuse.trace.public")
            .or_else(|| attributes.flag("langfuse.public")),
        event_time: source.received_at,
    }
}

/// Returns the first id found under `direct` keys, else under `metadata` keys, whose values
/// the Langfuse SDK JSON-quotes.
fn identifier(attributes: &Attributes<'_>, direct: &[&str], metadata: &[&str]) -> Option<String> {
    if let Some(id) = attributes.first_text(direct) {
        return Some(id.into_owned());
    }
    let id = attributes.first_text(metadata)?;
    match serde_json::from_str::<Value>(&id) {
        Ok(Value::String(unquoted)) => Some(unquoted),
        _ => Some(id.into_owned()),
    }
}

/// Returns the user id: `langfuse.user.id`, `user.id`, or metadata `langfuse_user_id`.
pub(super) fn user_id(attributes: &Attributes<'_>) -> Option<String> {
    identifier(
        attributes,
        &["langfuse.user.id", "user.id"],
        &[
            "langfuse.observation.metadata.langfuse_user_id",
            "langfuse.trace.metadata.langfuse_user_id",
            "ai.telemetry.metadata.userId",
        ],
    )
}

/// Returns the session id: `langfuse.session.id`, `session.id`, `gen_ai.conversation.id`, or
/// metadata `langfuse_session_id`.
pub(super) fn session_id(attributes: &Attributes<'_>) -> Option<String> {
    identifier(
        attributes,
        &[
            "langfuse.session.id",
            "session.id",
            "gen_ai.conversation.id",
        ],
        &[
            "langfuse.observation.metadata.langfuse_session_id",
            "langfuse.trace.metadata.langfuse_session_id",
            "ai.telemetry.metadata.sessionId",
        ],
    )
}

/// Returns the trace tags, sorted and without duplicates. They may be sent as a string array,
/// a JSON array string or a comma-separated string.
pub(super) fn tags(attributes: &Attributes<'_>) -> Vec<String> {
    const KEYS: [&str; 6] = [
        "langfuse.trace.tags",
        "langfuse.tags",
        "langfuse.observation.metadata.langfuse_tags",
        "langfuse.trace.metadata.langfuse_tags",
        "ai.telemetry.metadata.tags",
        "tag.tags",
    ];
    let Some(value) = KEYS.iter().find_map(|key| attributes.get(key)) else {
        return Vec::new();
    };
    let mut tags: Vec<String> = match value {
        Any::ArrayValue(array) => array
            .values
            .iter()
            .map(|item| tag_text(any_to_json(item.value.as_ref())))
            .collect(),
        Any::StringValue(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) if text.trim_start().starts_with('[') => {
                items.into_iter().map(tag_text).collect()
            }
            _ if text.contains(',') => text.split(',').map(|tag| tag.trim().to_owned()).collect(),
            _ => vec![text.clone()],
        },
        other => vec![tag_text(any_to_json(Some(other)))],
    };
    tags.retain(|tag| !tag.is_empty());
    tags.sort();
    tags.dedup();
    tags
}

fn tag_text(value: Value) -> String {
    match value {
        Value::String(text) => text,
        other => other.to_string(),
    }
}
