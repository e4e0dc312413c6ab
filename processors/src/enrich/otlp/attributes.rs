//! A per-span attribute lookup, built once, and `AnyValue` → JSON conversion.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use periscope_proto::otlp_common::any_value::Value as Any;
use periscope_proto::otlp_common::{AnyValue, KeyValue};
use serde_json::{Map, Number, Value};

/// The empty value, for keys sent without one.
static EMPTY: AnyValue = AnyValue { value: None };

/// Attributes sorted by key: exact lookups and prefix scans (`langfuse.trace.metadata.*`) are
/// binary searches over one small vector, built once per span.
#[derive(Debug)]
pub(super) struct Attributes<'a> {
    sorted: Vec<(&'a str, &'a AnyValue)>,
}

impl<'a> Attributes<'a> {
    /// Indexes `key_values`; when a key repeats, the last value wins (as in a JS object).
    pub(super) fn new(key_values: &'a [KeyValue]) -> Self {
        let mut sorted: Vec<(&'a str, &'a AnyValue)> = key_values
            .iter()
            .map(|kv| (kv.key.as_str(), kv.value.as_ref().unwrap_or(&EMPTY)))
            .collect();
        // Stable, so equal keys keep their order and the dedup below keeps the last one.
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        sorted.dedup_by(|later, earlier| {
            let same = later.0 == earlier.0;
            if same {
                *earlier = *later;
            }
            same
        });
        Self { sorted }
    }

    /// Returns all entries in key order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&'a str, &'a AnyValue)> + '_ {
        self.sorted.iter().copied()
    }

    /// Returns the value of `key` when it is present and meaningful: not empty, not an empty
    /// string, array or map.
    pub(super) fn get(&self, key: &str) -> Option<&'a Any> {
        let index = self.sorted.binary_search_by(|(k, _)| (*k).cmp(key)).ok()?;
        let value = self.sorted[index].1.value.as_ref()?;
        is_meaningful(value).then_some(value)
    }

    /// Returns whether `key` is present and meaningful.
    pub(super) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Returns the value of `key` if it is a non-empty string.
    pub(super) fn str(&self, key: &str) -> Option<&'a str> {
        match self.get(key)? {
            Any::StringValue(text) => Some(text),
            _ => None,
        }
    }

    /// Returns the value of `key` as text: strings as they are, other values as JSON.
    pub(super) fn text(&self, key: &str) -> Option<Cow<'a, str>> {
        match self.get(key)? {
            Any::StringValue(text) => Some(Cow::Borrowed(text)),
            other => Some(Cow::Owned(any_to_json(Some(other)).to_string())),
        }
    }

    /// Returns the first key of `keys` that has a string value.
    pub(super) fn first_str(&self, keys: &[&str]) -> Option<&'a str> {
        keys.iter().find_map(|key| self.str(key))
    }

    /// Returns the first key of `keys` that has a value, as text.
    pub(super) fn first_text(&self, keys: &[&str]) -> Option<Cow<'a, str>> {
        keys.iter().find_map(|key| self.text(key))
    }

    /// Returns whether `key` is `true` (a bool, or the string `"true"`).
    pub(super) fn flag(&self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Any::BoolValue(flag) => Some(*flag),
            Any::StringValue(text) => Some(text.eq_ignore_ascii_case("true")),
            _ => Some(false),
        }
    }

    /// Returns `key` as an integer: an int, an integral double or a decimal string.
    pub(super) fn integer(&self, key: &str) -> Option<i64> {
        integer_of(self.get(key)?)
    }

    /// Returns `key` as a float: a double, an int or a decimal string.
    pub(super) fn float(&self, key: &str) -> Option<f64> {
        match self.get(key)? {
            Any::DoubleValue(float) => Some(*float),
            Any::IntValue(int) => Some(*int as f64),
            Any::StringValue(text) => text.trim().parse().ok(),
            _ => None,
        }
        .filter(|float: &f64| float.is_finite())
    }

    /// Returns the entries whose key starts with `prefix`, in key order.
    pub(super) fn with_prefix(&self, prefix: &str) -> &[(&'a str, &'a AnyValue)] {
        let start = self.sorted.partition_point(|(key, _)| *key < prefix);
        let len = self.sorted[start..].partition_point(|(key, _)| key.starts_with(prefix));
        &self.sorted[start..start + len]
    }

    /// Returns whether any key starts with `prefix`.
    pub(super) fn has_prefix(&self, prefix: &str) -> bool {
        !self.with_prefix(prefix).is_empty()
    }
}

/// Returns whether a value carries information: not an empty string, array or map.
fn is_meaningful(value: &Any) -> bool {
    match value {
        Any::StringValue(text) => !text.is_empty(),
        Any::ArrayValue(array) => !array.values.is_empty(),
        Any::KvlistValue(list) => !list.values.is_empty(),
        _ => true,
    }
}

/// Returns a value as an integer: an int, an integral double or a decimal string.
pub(super) fn integer_of(value: &Any) -> Option<i64> {
    match value {
        Any::IntValue(int) => Some(*int),
        Any::DoubleValue(float) => {
            // The bound keeps the cast exact.
            let in_range = (-9.0e18..9.0e18).contains(float);
            (float.fract() == 0.0 && in_range).then_some(*float as i64)
        }
        Any::StringValue(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// Converts an attribute value to JSON as sent: strings stay strings (never parsed), numbers
/// and bools keep their type, arrays and maps nest, bytes become base64.
pub(super) fn any_to_json(value: Option<&Any>) -> Value {
    match value {
        None | Some(Any::StringValueStrindex(_)) => Value::Null,
        Some(Any::StringValue(text)) => Value::String(text.clone()),
        Some(Any::BoolValue(flag)) => Value::Bool(*flag),
        Some(Any::IntValue(int)) => Value::Number((*int).into()),
        Some(Any::DoubleValue(float)) => float_to_json(*float),
        Some(Any::ArrayValue(array)) => Value::Array(
            array
                .values
                .iter()
                .map(|item| any_to_json(item.value.as_ref()))
                .collect(),
        ),
        Some(Any::KvlistValue(list)) => Value::Object(key_values_to_json(&list.values)),
        Some(Any::BytesValue(bytes)) => Value::String(BASE64.encode(bytes)),
    }
}

/// Converts attributes to a JSON object (last value of a repeated key wins).
pub(super) fn key_values_to_json(key_values: &[KeyValue]) -> Map<String, Value> {
    key_values
        .iter()
        .map(|kv| {
            (
                kv.key.clone(),
                any_to_json(kv.value.as_ref().and_then(|v| v.value.as_ref())),
            )
        })
        .collect()
}

/// JSON has no NaN or infinities; they are kept as their names rather than dropped.
fn float_to_json(float: f64) -> Value {
    match Number::from_f64(float) {
        Some(number) => Value::Number(number),
        None if float.is_nan() => Value::String("NaN".to_owned()),
        None if float > 0.0 => Value::String("Infinity".to_owned()),
        None => Value::String("-Infinity".to_owned()),
    }
}

/// Parses `text` as JSON when it is JSON, else returns it as a string: clients send I/O and
/// metadata as JSON text, or as a raw string that happens not to be JSON.
pub(super) fn parse_json_lenient(text: &str) -> Value {
    let first = text.trim_start().as_bytes().first().copied();
    let may_be_json = matches!(
        first,
        Some(b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n')
    );
    if may_be_json && let Ok(value) = serde_json::from_str(text) {
        return value;
    }
    Value::String(text.to_owned())
}

/// Converts an attribute value to JSON, parsing strings that hold JSON (I/O values).
pub(super) fn json_of(value: &Any) -> Value {
    match value {
        Any::StringValue(text) => parse_json_lenient(text),
        other => any_to_json(Some(other)),
    }
}

/// Converts an attribute value to JSON, parsing only strings that hold a JSON object or array:
/// message bodies in GenAI events are JSON, their plain-text contents must stay text.
pub(super) fn structured_json_of(value: Option<&Any>) -> Value {
    match value {
        Some(Any::StringValue(text)) if text.trim_start().starts_with(['{', '[']) => {
            parse_json_lenient(text)
        }
        other => any_to_json(other),
    }
}
