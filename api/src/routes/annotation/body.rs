//! A JSON object body and typed access to its fields, with errors that name the field.

use serde_json::{Map, Value};

use crate::error::{ApiError, Result};

/// Returns a 400 naming what to fix.
pub(super) fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::InvalidBody(message.into())
}

/// A parsed JSON object body.
#[derive(Debug)]
pub(super) struct JsonObject(pub(super) Map<String, Value>);

impl JsonObject {
    /// Parses a body that must be one JSON object.
    pub(super) fn parse(body: &[u8]) -> Result<Self> {
        match serde_json::from_slice(body) {
            Ok(Value::Object(object)) => Ok(Self(object)),
            Ok(_) => Err(invalid("body must be a JSON object")),
            Err(error) => Err(invalid(format!("body is not valid JSON: {error}"))),
        }
    }

    /// Refuses fields outside `allowed`, so a misspelt field is not silently ignored.
    pub(super) fn only(&self, allowed: &[&str]) -> Result<()> {
        match self.0.keys().find(|key| !allowed.contains(&key.as_str())) {
            Some(key) => Err(invalid(format!(
                "{key} is not a known field (expected: {})",
                allowed.join(", ")
            ))),
            None => Ok(()),
        }
    }

    pub(super) fn optional_string(&self, name: &str) -> Result<Option<String>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(invalid(format!("{name} must be a string"))),
        }
    }

    pub(super) fn required_string(&self, name: &str) -> Result<String> {
        self.optional_string(name)?
            .filter(|text| !text.trim().is_empty())
            .ok_or_else(|| invalid(format!("{name} is required and must be a non-empty string")))
    }

    /// Returns a list of strings; absent or `null` is an empty list.
    pub(super) fn string_list(&self, name: &str) -> Result<Vec<String>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(text) if !text.is_empty() => Ok(text.clone()),
                    _ => Err(invalid(format!(
                        "{name} must be a list of non-empty strings"
                    ))),
                })
                .collect(),
            Some(_) => Err(invalid(format!("{name} must be a list of strings"))),
        }
    }

    /// Returns an upper-case enum field parsed by `parse`; `expected` lists the names.
    pub(super) fn optional_enum<T>(
        &self,
        name: &str,
        parse: fn(&str) -> Option<T>,
        expected: &str,
    ) -> Result<Option<T>> {
        let Some(value) = self.optional_string(name)? else {
            return Ok(None);
        };
        parse(&value.to_ascii_uppercase())
            .map(Some)
            .ok_or_else(|| invalid(format!("{name} {value:?} is not one of {expected}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_typed_and_errors_name_them() {
        let object = JsonObject::parse(br#"{"a": "x", "l": ["p", "q"], "n": 3}"#).unwrap();
        assert_eq!(object.required_string("a").unwrap(), "x");
        assert_eq!(object.string_list("l").unwrap(), ["p", "q"]);
        assert!(object.string_list("missing").unwrap().is_empty());
        assert!(
            object
                .required_string("n")
                .unwrap_err()
                .to_string()
                .contains("n must")
        );
        assert!(
            object
                .string_list("a")
                .unwrap_err()
                .to_string()
                .contains("a must")
        );
        assert!(
            object
                .only(&["a", "l"])
                .unwrap_err()
                .to_string()
                .contains('n')
        );
        assert!(JsonObject::parse(b"[]").is_err());
    }
}
