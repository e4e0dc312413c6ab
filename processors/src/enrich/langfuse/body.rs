//! Lenient typed reads of a validated event body.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use periscope_core::langfuse::{EventError, json_integer, parse_timestamp};
use serde_json::Value;

/// A body object; every getter treats `null` and a wrong shape as "not given".
#[derive(Debug, Clone, Copy)]
pub(super) struct Body<'a> {
    body: &'a Value,
}

impl<'a> Body<'a> {
    pub(super) fn new(body: &'a Value) -> Self {
        Self { body }
    }

    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        self.body.get(key).filter(|value| !value.is_null())
    }

    /// Returns `body.id`, which every trace and observation event must carry.
    pub(super) fn required_id(&self) -> Result<String, EventError> {
        self.string("id")
            .ok_or_else(|| EventError::missing("body.id"))
    }

    pub(super) fn str(&self, key: &str) -> Option<&'a str> {
        self.get(key).and_then(Value::as_str)
    }

    pub(super) fn string(&self, key: &str) -> Option<String> {
        self.str(key).map(str::to_owned)
    }

    pub(super) fn time(&self, key: &str) -> Option<DateTime<Utc>> {
        self.str(key).and_then(parse_timestamp)
    }

    pub(super) fn boolean(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(Value::as_bool)
    }

    pub(super) fn integer(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(json_integer)
    }

    /// Returns any JSON value as sent (inputs and outputs).
    pub(super) fn json(&self, key: &str) -> Option<Value> {
        self.get(key).cloned()
    }

    pub(super) fn object(&self, key: &str) -> Option<&'a serde_json::Map<String, Value>> {
        self.get(key).and_then(Value::as_object)
    }

    pub(super) fn string_array(&self, key: &str) -> Vec<String> {
        let Some(Value::Array(items)) = self.get(key) else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    }

    /// Returns `metadata` as map entries: an object's keys, or anything else under the key
    /// `metadata` (as Langfuse stores non-object metadata).
    pub(super) fn metadata(&self) -> BTreeMap<String, Value> {
        match self.get("metadata") {
            None => BTreeMap::new(),
            Some(Value::Object(entries)) => entries
                .iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
            Some(other) => BTreeMap::from([("metadata".to_owned(), other.clone())]),
        }
    }
}
