//! Template variables from a target: the target as a JSON document, and JSON paths into it.
//!
//! Paths are dot-separated field names with `[n]` indexes and `["quoted.keys"]`, an optional
//! leading `$.`: `input`, `metadata.reference_context`, `output.choices[0].message.content`.
//! Metadata keys often contain dots (`langfuse.experiment.id`), so at each object a path tries
//! the longest run of its remaining dotted names that is a key.

use serde_json::{Map, Value, json};

use crate::model::{ObservationRecord, Trace};

/// Returns the document of a trace that paths are resolved against.
pub fn trace_document(trace: &Trace) -> Value {
    let record = &trace.record;
    json!({
        "id": record.id,
        "name": record.name,
        "input": record.input,
        "output": record.output,
        "metadata": record.metadata,
        "tags": record.tags,
        "userId": record.user_id,
        "sessionId": record.session_id,
        "release": record.release,
        "version": record.version,
        "environment": record.environment,
        "timestamp": record.timestamp,
    })
}

/// Returns the document of an observation that paths are resolved against.
pub fn observation_document(observation: &ObservationRecord) -> Value {
    json!({
        "id": observation.id,
        "traceId": observation.trace_id,
        "type": observation.observation_type,
        "name": observation.name,
        "input": observation.input,
        "output": observation.output,
        "metadata": observation.metadata,
        "model": observation.model,
        "modelParameters": observation.model_parameters,
        "level": observation.level,
        "statusMessage": observation.status_message,
        "environment": observation.environment,
        "usageDetails": observation.usage_details,
        "startTime": observation.start_time,
        "endTime": observation.end_time,
    })
}

/// Adds `expected_output` (also as `expectedOutput`) and the dataset item to a document.
pub fn with_dataset_item(
    mut document: Value,
    expected_output: Option<&Value>,
    item_input: Option<&Value>,
    item_metadata: Option<&Value>,
) -> Value {
    if let Value::Object(fields) = &mut document {
        let expected = expected_output.cloned().unwrap_or(Value::Null);
        fields.insert("expected_output".to_owned(), expected.clone());
        fields.insert("expectedOutput".to_owned(), expected.clone());
        let mut item = Map::new();
        item.insert(
            "input".to_owned(),
            item_input.cloned().unwrap_or(Value::Null),
        );
        item.insert("expectedOutput".to_owned(), expected);
        item.insert(
            "metadata".to_owned(),
            item_metadata.cloned().unwrap_or(Value::Null),
        );
        fields.insert("datasetItem".to_owned(), Value::Object(item));
    }
    document
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Name(String),
    Index(usize),
}

fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    let path = path.trim();
    let path = path
        .strip_prefix("$.")
        .or_else(|| path.strip_prefix('$'))
        .unwrap_or(path);
    let mut steps = Vec::new();
    let mut chars = path.char_indices().peekable();
    let mut name = String::new();
    while let Some((_, c)) = chars.next() {
        match c {
            '.' => {
                if !name.is_empty() {
                    steps.push(Step::Name(std::mem::take(&mut name)));
                }
            }
            '[' => {
                if !name.is_empty() {
                    steps.push(Step::Name(std::mem::take(&mut name)));
                }
                let mut inner = String::new();
                let mut closed = false;
                for (_, c) in chars.by_ref() {
                    if c == ']' {
                        closed = true;
                        break;
                    }
                    inner.push(c);
                }
                if !closed {
                    return Err(format!("path {path:?} has an unclosed '['"));
                }
                let inner = inner.trim();
                if let Ok(index) = inner.parse::<usize>() {
                    steps.push(Step::Index(index));
                } else if let Some(key) = unquote(inner) {
                    steps.push(Step::Name(key.to_owned()));
                } else {
                    return Err(format!(
                        "path {path:?}: [{inner}] is neither an index nor a quoted key"
                    ));
                }
            }
            _ => name.push(c),
        }
    }
    if !name.is_empty() {
        steps.push(Step::Name(name));
    }
    if steps.is_empty() {
        return Err("path is empty".to_owned());
    }
    Ok(steps)
}

fn unquote(text: &str) -> Option<&str> {
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .or_else(|| text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')))
}

/// Returns (a copy of) the value at `path` in `document`; `Ok(None)` when the path does not
/// exist.
pub fn resolve_path(document: &Value, path: &str) -> Result<Option<Value>, String> {
    let steps = parse_path(path)?;
    Ok(walk(document, &steps))
}

fn walk(value: &Value, steps: &[Step]) -> Option<Value> {
    let Some(first) = steps.first() else {
        return Some(value.clone());
    };
    match (value, first) {
        (Value::Array(items), Step::Index(index)) => walk(items.get(*index)?, &steps[1..]),
        (Value::Object(fields), Step::Name(_)) => {
            // Longest dotted key first: `metadata.a.b` prefers the key "a.b" over a → b.
            let names: Vec<&str> = steps
                .iter()
                .map_while(|step| match step {
                    Step::Name(name) => Some(name.as_str()),
                    Step::Index(_) => None,
                })
                .collect();
            (1..=names.len()).rev().find_map(|taken| {
                let key = names[..taken].join(".");
                walk(fields.get(&key)?, &steps[taken..])
            })
        }
        // A JSON document stored as a string (OTLP attributes often are): look inside it.
        (Value::String(text), _) => {
            let parsed: Value = serde_json::from_str(text).ok()?;
            if parsed.is_object() || parsed.is_array() {
                walk(&parsed, steps)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Returns the text a value renders as in a prompt: strings as they are, `null` as nothing,
/// anything else as compact JSON.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
