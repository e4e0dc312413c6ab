//! Observation and trace metadata (WIRE-PROTOCOL.md §10 "metadata").
//!
//! Values are stored as sent: the Langfuse SDK JSON-encodes each metadata value (`"\"eu\""`),
//! plain OTel senders do not (`"ml"`), and the read API decodes strings that hold JSON. Decoding
//! here instead would make the two indistinguishable for a replayed mapping.

use std::collections::BTreeMap;

use serde_json::Value;

use super::attributes::{Attributes, any_to_json, json_of};
use super::io::is_io_attribute;

/// Whose metadata to extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Domain {
    Observation,
    Trace,
}

/// Vercel AI SDK telemetry metadata keys that are trace fields, not metadata.
const VERCEL_TRACE_FIELDS: [&str; 4] = [
    "ai.telemetry.metadata.userId",
    "ai.telemetry.metadata.sessionId",
    "ai.telemetry.metadata.tags",
    "ai.telemetry.metadata.langfusePrompt",
];

/// Extracts the metadata a span sets for `domain`: the `langfuse.<domain>.metadata` JSON object
/// (or `langfuse.metadata`), overridden key-wise by `langfuse.<domain>.metadata.<key>`,
/// `langfuse.metadata.<key>` and `ai.telemetry.metadata.<key>`. Observations also keep the
/// Vercel AI SDK's tool list as `tools` and the dataset experiment attributes
/// (`langfuse.experiment.*`, under their full names) until dataset runs are derived from them.
pub(super) fn extract(attributes: &Attributes<'_>, domain: Domain) -> BTreeMap<String, Value> {
    let (object_key, key_prefix) = match domain {
        Domain::Observation => (
            "langfuse.observation.metadata",
            "langfuse.observation.metadata.",
        ),
        Domain::Trace => ("langfuse.trace.metadata", "langfuse.trace.metadata."),
    };
    let mut metadata = BTreeMap::new();
    if let Some(value) = attributes
        .get(object_key)
        .or_else(|| attributes.get("langfuse.metadata"))
    {
        match json_of(value) {
            Value::Object(object) => metadata.extend(object),
            // The SDK sends metadata that is not a dict as one JSON value; keep it whole.
            _ => {
                metadata.insert("metadata".to_owned(), any_to_json(Some(value)));
            }
        }
    }
    for prefix in [key_prefix, "langfuse.metadata.", "ai.telemetry.metadata."] {
        for (key, value) in attributes.with_prefix(prefix) {
            if !VERCEL_TRACE_FIELDS.contains(key) {
                metadata.insert(
                    key[prefix.len()..].to_owned(),
                    any_to_json(value.value.as_ref()),
                );
            }
        }
    }
    if domain == Domain::Observation {
        if let Some(tools) = attributes.get("ai.prompt.tools") {
            metadata.insert("tools".to_owned(), any_to_json(Some(tools)));
        }
        for (key, value) in attributes.with_prefix("langfuse.experiment.") {
            metadata.insert((*key).to_owned(), any_to_json(value.value.as_ref()));
        }
    }
    metadata
}

/// Returns the span's attributes as a JSON object, minus those consumed as input or output.
/// Langfuse keeps these for spans of other instrumentations, whose attributes it cannot know.
pub(super) fn raw_attributes(attributes: &Attributes<'_>) -> Value {
    Value::Object(
        attributes
            .iter()
            .filter(|(key, _)| !is_io_attribute(key))
            .map(|(key, value)| (key.to_owned(), any_to_json(value.value.as_ref())))
            .collect(),
    )
}

/// The parts of a metadata map, lowest precedence first; later parts override earlier keys.
#[derive(Debug, Default)]
pub(super) struct Parts<'s> {
    /// `langfuse.trace.metadata.*` set on the resource.
    pub(super) resource_trace: Option<&'s BTreeMap<String, Value>>,
    /// The span's trace metadata.
    pub(super) trace: Option<&'s BTreeMap<String, Value>>,
    /// The span's observation metadata.
    pub(super) observation: Option<&'s BTreeMap<String, Value>>,
    /// The `attributes` map of a non-SDK span.
    pub(super) raw_attributes: Option<&'s Value>,
    /// The `resourceAttributes` entry.
    pub(super) resource_attributes: Option<&'s Value>,
    /// The `scope` entry.
    pub(super) scope: Option<&'s Value>,
}

impl Parts<'_> {
    /// Builds the metadata map by copying the parts in precedence order.
    pub(super) fn compose(&self) -> BTreeMap<String, Value> {
        let mut metadata = BTreeMap::new();
        for part in [self.resource_trace, self.trace, self.observation]
            .into_iter()
            .flatten()
        {
            metadata.extend(part.iter().map(|(key, value)| (key.clone(), value.clone())));
        }
        let named = [
            ("attributes", self.raw_attributes),
            ("resourceAttributes", self.resource_attributes),
            ("scope", self.scope),
        ];
        for (key, value) in named {
            if let Some(value) = value {
                metadata.insert(key.to_owned(), value.clone());
            }
        }
        metadata
    }
}
