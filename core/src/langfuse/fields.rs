//! Field-level checks shared by the event and score schemas.
//!
//! Langfuse's schemas treat a `null` optional field like an absent one (`nullish`), and so do
//! these accessors: `Ok(None)` means "not given". Every error names the dotted path of the field.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use super::error::EventError;
use crate::model::Level;

/// Longest id Langfuse accepts (it must fit an S3 object key with room to spare).
pub const MAX_ID_CHARS: usize = 800;
/// Longest environment name.
pub const MAX_ENVIRONMENT_CHARS: usize = 40;

/// Parses an ISO-8601 date-time: RFC 3339 with `Z` or an offset, or without an offset (then
/// read as UTC, because some clients serialise naive UTC times).
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    // Offsets without a colon (`+0000`), which RFC 3339 forbids but ISO-8601 allows.
    if let Ok(time) = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(time.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .into_iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|naive| naive.and_utc())
}

/// Returns whether `name` is a valid environment: `^(?!langfuse)[a-z0-9-_]+$`, at most 40
/// characters (the `langfuse` prefix is reserved for Langfuse's own traces).
pub fn is_valid_environment(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_ENVIRONMENT_CHARS
        && !name.starts_with("langfuse")
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Returns a JSON number as an integer when it has no fractional part (`3` and `3.0`).
pub fn json_integer(value: &Value) -> Option<i64> {
    if let Some(integer) = value.as_i64() {
        return Some(integer);
    }
    let float = value.as_f64()?;
    let in_range = float >= i64::MIN as f64 && float <= i64::MAX as f64;
    (float.fract() == 0.0 && in_range).then_some(float as i64)
}

/// Returns the validation error for an id, or `None` when `id` is valid.
pub(crate) fn id_problem(id: &str) -> Option<&'static str> {
    if id.is_empty() {
        Some("must not be empty")
    } else if id.chars().count() > MAX_ID_CHARS {
        Some("must be at most 800 characters")
    } else if id.contains('\r') {
        Some("must not contain carriage return characters")
    } else {
        None
    }
}

/// A JSON object together with its path, for typed and error-naming field access.
#[derive(Debug, Clone)]
pub(crate) struct Fields<'a> {
    object: &'a Map<String, Value>,
    path: String,
}

impl<'a> Fields<'a> {
    /// Wraps `value`, which must be an object; `path` names it in errors (`""` for the root).
    pub(crate) fn from_value(value: &'a Value, path: &str) -> Result<Self, EventError> {
        match value {
            Value::Object(object) => Ok(Self {
                object,
                path: path.to_owned(),
            }),
            _ => Err(EventError::invalid(
                display_path(path),
                "expected an object",
            )),
        }
    }

    /// Returns the dotted path of `key` inside this object.
    pub(crate) fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Returns the value of `key`, treating `null` as absent.
    pub(crate) fn value(&self, key: &str) -> Option<&'a Value> {
        self.object.get(key).filter(|value| !value.is_null())
    }

    /// Iterates over the entries whose value is not `null`.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&'a String, &'a Value)> + use<'a> {
        self.object.iter().filter(|(_, value)| !value.is_null())
    }

    pub(crate) fn string(&self, key: &str) -> Result<Option<&'a str>, EventError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(EventError::invalid(self.path_of(key), "expected a string")),
        }
    }

    pub(crate) fn required_string(&self, key: &str) -> Result<&'a str, EventError> {
        self.string(key)?
            .ok_or_else(|| EventError::missing(self.path_of(key)))
    }

    /// Reads an optional id: a string of 1–800 characters without `\r`.
    pub(crate) fn id(&self, key: &str) -> Result<Option<&'a str>, EventError> {
        let Some(id) = self.string(key)? else {
            return Ok(None);
        };
        match id_problem(id) {
            Some(reason) => Err(EventError::invalid(self.path_of(key), reason)),
            None => Ok(Some(id)),
        }
    }

    pub(crate) fn required_id(&self, key: &str) -> Result<&'a str, EventError> {
        self.id(key)?
            .ok_or_else(|| EventError::missing(self.path_of(key)))
    }

    pub(crate) fn datetime(&self, key: &str) -> Result<Option<DateTime<Utc>>, EventError> {
        let Some(text) = self.string(key)? else {
            return Ok(None);
        };
        parse_timestamp(text)
            .map(Some)
            .ok_or_else(|| EventError::invalid(self.path_of(key), "expected an ISO-8601 date-time"))
    }

    pub(crate) fn boolean(&self, key: &str) -> Result<Option<bool>, EventError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(_) => Err(EventError::invalid(self.path_of(key), "expected a boolean")),
        }
    }

    pub(crate) fn integer(&self, key: &str) -> Result<Option<i64>, EventError> {
        let Some(value) = self.value(key) else {
            return Ok(None);
        };
        json_integer(value)
            .map(Some)
            .ok_or_else(|| EventError::invalid(self.path_of(key), "expected an integer"))
    }

    pub(crate) fn number(&self, key: &str) -> Result<Option<f64>, EventError> {
        match self.value(key) {
            None => Ok(None),
            Some(value) => value
                .as_f64()
                .map(Some)
                .ok_or_else(|| EventError::invalid(self.path_of(key), "expected a number")),
        }
    }

    pub(crate) fn object(&self, key: &str) -> Result<Option<Fields<'a>>, EventError> {
        match self.value(key) {
            None => Ok(None),
            Some(value) => Fields::from_value(value, &self.path_of(key)).map(Some),
        }
    }

    /// Reads an optional environment name (see [`is_valid_environment`]).
    pub(crate) fn environment(&self, key: &str) -> Result<Option<&'a str>, EventError> {
        let Some(name) = self.string(key)? else {
            return Ok(None);
        };
        if name.len() > MAX_ENVIRONMENT_CHARS {
            return Err(EventError::invalid(
                self.path_of(key),
                "must be at most 40 characters",
            ));
        }
        if !is_valid_environment(name) {
            return Err(EventError::invalid(
                self.path_of(key),
                "only lower-case alphanumeric characters, hyphens and underscores are allowed, \
                 and it must not start with 'langfuse'",
            ));
        }
        Ok(Some(name))
    }

    pub(crate) fn level(&self, key: &str) -> Result<Option<Level>, EventError> {
        let Some(name) = self.string(key)? else {
            return Ok(None);
        };
        Level::parse(name).map(Some).ok_or_else(|| {
            EventError::invalid(
                self.path_of(key),
                "expected one of DEBUG, DEFAULT, WARNING, ERROR",
            )
        })
    }

    /// Checks that `key`, when given, is an array of strings.
    pub(crate) fn string_array(&self, key: &str) -> Result<(), EventError> {
        let Some(value) = self.value(key) else {
            return Ok(());
        };
        let Value::Array(items) = value else {
            return Err(EventError::invalid(
                self.path_of(key),
                "expected an array of strings",
            ));
        };
        match items.iter().position(|item| !item.is_string()) {
            Some(index) => Err(EventError::invalid(
                format!("{}.{index}", self.path_of(key)),
                "expected a string",
            )),
            None => Ok(()),
        }
    }
}

/// Names the root object in errors when its path is empty.
fn display_path(path: &str) -> &str {
    if path.is_empty() { "body" } else { path }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    #[test]
    fn timestamps_parse_with_z_offsets_and_without_offset() {
        let expected = Utc
            .with_ymd_and_hms(2026, 11, 27, 1, 40, 49)
            .single()
            .unwrap()
            + chrono::Duration::milliseconds(67);
        for text in [
            "2026-11-27T01:40:49.067Z",
            "2026-11-27T01:40:49.067+00:00",
            "2026-11-27T02:40:49.067+01:00",
            "2026-11-27T01:40:49.067+0000",
            "2026-11-27T01:40:49.067",
        ] {
            assert_eq!(parse_timestamp(text), Some(expected), "{text}");
        }
        for text in [
            "",
            "yesterday",
            "2026-11-27",
            "2026-13-27T01:40:49Z",
            "1700000000",
        ] {
            assert_eq!(parse_timestamp(text), None, "{text}");
        }
    }

    #[test]
    fn environment_names_follow_langfuse_rules() {
        for ok in ["default", "prod", "eu-west_1", "0", &"a".repeat(40)] {
            assert!(is_valid_environment(ok), "{ok}");
        }
        for bad in [
            "",
            "Prod",
            "langfuse-internal",
            "has space",
            "ü",
            &"a".repeat(41),
        ] {
            assert!(!is_valid_environment(bad), "{bad}");
        }
    }

    #[test]
    fn integers_accept_whole_floats_only() {
        assert_eq!(json_integer(&json!(3)), Some(3));
        assert_eq!(json_integer(&json!(-3)), Some(-3));
        assert_eq!(json_integer(&json!(3.0)), Some(3));
        assert_eq!(json_integer(&json!(3.5)), None);
        assert_eq!(json_integer(&json!("3")), None);
    }

    #[test]
    fn null_counts_as_absent_and_errors_name_the_path() {
        let value = json!({"a": null, "b": 1, "o": {"c": "x"}});
        let fields = Fields::from_value(&value, "body").unwrap();
        assert_eq!(fields.string("a").unwrap(), None);
        assert_eq!(
            fields.required_string("a").unwrap_err().to_string(),
            "body.a: is required"
        );
        assert_eq!(fields.string("b").unwrap_err().field(), "body.b");
        let nested = fields.object("o").unwrap().unwrap();
        assert_eq!(
            nested.integer("c").unwrap_err().to_string(),
            "body.o.c: expected an integer"
        );
    }

    #[test]
    fn ids_are_bounded_and_single_line() {
        assert_eq!(id_problem("abc"), None);
        assert!(id_problem("").is_some());
        assert!(id_problem("a\rb").is_some());
        assert!(id_problem(&"x".repeat(801)).is_some());
        assert_eq!(id_problem(&"x".repeat(800)), None);
    }
}
