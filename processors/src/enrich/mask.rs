//! Server-side masking rules.
//!
//! Every match of every configured pattern is replaced in the free-form payloads of a record:
//! trace and observation `input`, `output` and `metadata`, and score `comment` and `metadata`.
//! Masking walks JSON arrays and objects (values, not keys), and looks inside strings that hold
//! JSON (the Langfuse SDK JSON-encodes many values), so that escaped text is matched too.

use std::borrow::Cow;

use periscope_core::config::MaskingRule;
use periscope_core::model::Record;
use regex::{NoExpand, Regex};
use serde_json::Value;

/// Compiled masking rules, applied in configuration order.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    rules: Vec<(Regex, String)>,
}

impl Masker {
    /// Compiles the rules; fails on the first invalid pattern.
    ///
    /// Replacements are literal: `$1` in a replacement is not a capture-group reference.
    pub fn new(rules: &[MaskingRule]) -> Result<Self, regex::Error> {
        let rules = rules
            .iter()
            .map(|rule| Ok((Regex::new(&rule.pattern)?, rule.replacement.clone())))
            .collect::<Result<_, regex::Error>>()?;
        Ok(Self { rules })
    }

    /// Returns true when there are no rules, so callers can skip masking entirely.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Masks the payloads of `record` in place.
    pub fn apply(&self, record: &mut Record) {
        if self.is_empty() {
            return;
        }
        match record {
            Record::Trace(trace) => {
                self.mask_option(&mut trace.input);
                self.mask_option(&mut trace.output);
                trace.metadata.values_mut().for_each(|value| {
                    self.mask_value(value);
                });
            }
            Record::Observation(observation) => {
                self.mask_option(&mut observation.input);
                self.mask_option(&mut observation.output);
                observation.metadata.values_mut().for_each(|value| {
                    self.mask_value(value);
                });
            }
            Record::Score(score) => {
                if let Some(comment) = &mut score.comment
                    && let Some(masked) = self.mask_str(comment)
                {
                    *comment = masked;
                }
                self.mask_option(&mut score.metadata);
            }
        }
    }

    /// Masks every string inside `value`; returns whether anything changed.
    pub fn mask_value(&self, value: &mut Value) -> bool {
        match value {
            Value::String(text) => match self.mask_str(text) {
                Some(masked) => {
                    *text = masked;
                    true
                }
                None => false,
            },
            // Not `any`: every element must be visited.
            Value::Array(items) => items
                .iter_mut()
                .fold(false, |changed, item| self.mask_value(item) | changed),
            Value::Object(entries) => entries
                .values_mut()
                .fold(false, |changed, item| self.mask_value(item) | changed),
            Value::Null | Value::Bool(_) | Value::Number(_) => false,
        }
    }

    fn mask_option(&self, value: &mut Option<Value>) {
        if let Some(value) = value {
            self.mask_value(value);
        }
    }

    /// Returns the masked text, or `None` when no rule matched.
    fn mask_str(&self, text: &str) -> Option<String> {
        let structured = self.mask_embedded_json(text);
        let current = structured.as_deref().unwrap_or(text);
        // The raw pass also runs on JSON text, for rules written against its syntax
        // (`"password":\s*"[^"]*"`).
        self.replace_all(current).or(structured)
    }

    /// Masks the strings inside a string that holds a JSON object or array and re-encodes it;
    /// `None` when it holds no JSON or nothing matched (so unmatched text keeps its formatting).
    fn mask_embedded_json(&self, text: &str) -> Option<String> {
        let trimmed = text.trim_start();
        if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
            return None;
        }
        let mut parsed: Value = serde_json::from_str(text).ok()?;
        if !self.mask_value(&mut parsed) {
            return None;
        }
        serde_json::to_string(&parsed).ok()
    }

    fn replace_all(&self, text: &str) -> Option<String> {
        let mut current = Cow::Borrowed(text);
        for (pattern, replacement) in &self.rules {
            if let Cow::Owned(replaced) = pattern.replace_all(&current, NoExpand(replacement)) {
                current = Cow::Owned(replaced);
            }
        }
        match current {
            Cow::Owned(masked) => Some(masked),
            Cow::Borrowed(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use periscope_core::model::{
        ObservationRecord, ScoreDataType, ScoreRecord, ScoreSource, TraceRecord,
    };
    use serde_json::json;

    const EMAIL: &str = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}";
    const API_KEY: &str = r"sk-[A-Za-z0-9]{20,}";
    const KEY: &str = "sk-abcdefghijklmnopqrstuvwxyz";

    fn rule(pattern: &str, replacement: &str) -> MaskingRule {
        MaskingRule {
            pattern: pattern.into(),
            replacement: replacement.into(),
        }
    }

    fn masker() -> Masker {
        Masker::new(&[rule(EMAIL, "[EMAIL]"), rule(API_KEY, "[KEY]")]).unwrap()
    }

    #[test]
    fn strings_nested_anywhere_are_masked() {
        let cases = [
            (json!("mail bob@example.com now"), json!("mail [EMAIL] now")),
            (
                json!(["a@b.io", 1, null, {"k": format!("key {KEY}")}]),
                json!(["[EMAIL]", 1, null, {"k": "key [KEY]"}]),
            ),
            (
                json!({"messages": [{"role": "user", "content": "I am x.y@z.org"}]}),
                json!({"messages": [{"role": "user", "content": "I am [EMAIL]"}]}),
            ),
            // Keys are structure, not payload.
            (json!({"a@b.io": true}), json!({"a@b.io": true})),
            (json!("nothing to hide"), json!("nothing to hide")),
            (json!(42), json!(42)),
        ];
        for (mut input, expected) in cases {
            let before = input.clone();
            let changed = masker().mask_value(&mut input);
            assert_eq!(input, expected, "{before}");
            assert_eq!(changed, before != expected, "{before}");
        }
    }

    #[test]
    fn json_encoded_strings_are_masked_inside_and_stay_valid_json() {
        // The email is escaped in the JSON text, so only the structured pass can see it.
        let encoded = r#"{"user":"bob\u0040example.com","n":1}"#;
        let mut value = json!(encoded);
        assert!(masker().mask_value(&mut value));
        let decoded: Value = serde_json::from_str(value.as_str().unwrap()).unwrap();
        assert_eq!(decoded, json!({"user": "[EMAIL]", "n": 1}));

        // A replacement containing quotes keeps the re-encoded JSON valid.
        let quoting = Masker::new(&[rule(EMAIL, r#"<"hidden">"#)]).unwrap();
        let mut value = json!(r#"["a@b.io"]"#);
        quoting.mask_value(&mut value);
        let decoded: Value = serde_json::from_str(value.as_str().unwrap()).unwrap();
        assert_eq!(decoded, json!([r#"<"hidden">"#]));

        // Unmatched JSON text keeps its formatting.
        let mut untouched = json!("{ \"a\" : 1 }");
        assert!(!masker().mask_value(&mut untouched));
        assert_eq!(untouched, json!("{ \"a\" : 1 }"));
    }

    #[test]
    fn rules_written_against_json_text_still_apply() {
        let by_syntax =
            Masker::new(&[rule(r#""password":\s*"[^"]*""#, r#""password":"***""#)]).unwrap();
        let mut value = json!(r#"{"password": "hunter2", "user": "bob"}"#);
        assert!(by_syntax.mask_value(&mut value));
        assert_eq!(value, json!(r#"{"password":"***", "user": "bob"}"#));
    }

    #[test]
    fn replacements_are_literal() {
        let literal = Masker::new(&[rule(r"(\d{4})-\d{4}", "$1-XXXX")]).unwrap();
        let mut value = json!("card 1234-5678");
        literal.mask_value(&mut value);
        assert_eq!(value, json!("card $1-XXXX"));
    }

    #[test]
    fn records_are_masked_in_their_payload_fields_only() {
        let now = Utc::now();
        let mut trace = Record::Trace(TraceRecord {
            id: "t".into(),
            name: Some("bob@example.com".into()),
            input: Some(json!({"q": "from bob@example.com"})),
            output: Some(json!(KEY)),
            metadata: [("owner".to_string(), json!("ann@example.com"))].into(),
            event_time: now,
            ..Default::default()
        });
        masker().apply(&mut trace);
        let Record::Trace(trace) = trace else {
            unreachable!()
        };
        assert_eq!(trace.input, Some(json!({"q": "from [EMAIL]"})));
        assert_eq!(trace.output, Some(json!("[KEY]")));
        assert_eq!(trace.metadata["owner"], json!("[EMAIL]"));
        assert_eq!(
            trace.name.as_deref(),
            Some("bob@example.com"),
            "names are not payload"
        );

        let mut observation = Record::Observation(ObservationRecord {
            id: "o".into(),
            input: Some(json!([{"content": format!("use {KEY}")}])),
            output: Some(json!("reply to a@b.io")),
            metadata: [("k".to_string(), json!({"deep": ["x@y.io"]}))].into(),
            event_time: now,
            ..Default::default()
        });
        masker().apply(&mut observation);
        let Record::Observation(observation) = observation else {
            unreachable!()
        };
        assert_eq!(observation.input, Some(json!([{"content": "use [KEY]"}])));
        assert_eq!(observation.output, Some(json!("reply to [EMAIL]")));
        assert_eq!(observation.metadata["k"], json!({"deep": ["[EMAIL]"]}));

        let mut score = Record::Score(ScoreRecord {
            project_id: "p".into(),
            id: "s".into(),
            trace_id: Some("t".into()),
            observation_id: None,
            session_id: None,
            dataset_run_id: None,
            name: "feedback".into(),
            value: 0.0,
            string_value: Some("a@b.io".into()),
            data_type: ScoreDataType::Categorical,
            source: ScoreSource::Api,
            comment: Some("mail me at a@b.io".into()),
            metadata: Some(json!({"key": KEY})),
            config_id: None,
            queue_id: None,
            author_user_id: None,
            environment: "default".into(),
            timestamp: now,
            event_time: now,
        });
        masker().apply(&mut score);
        let Record::Score(score) = score else {
            unreachable!()
        };
        assert_eq!(score.comment.as_deref(), Some("mail me at [EMAIL]"));
        assert_eq!(score.metadata, Some(json!({"key": "[KEY]"})));
    }

    #[test]
    fn an_empty_masker_changes_nothing_and_bad_patterns_fail() {
        let empty = Masker::new(&[]).unwrap();
        assert!(empty.is_empty());
        assert!(!masker().is_empty());
        let mut record = Record::Trace(TraceRecord {
            input: Some(json!("a@b.io")),
            event_time: Utc::now(),
            ..Default::default()
        });
        let before = record.clone();
        empty.apply(&mut record);
        assert_eq!(record, before);
        assert!(Masker::new(&[rule("(unclosed", "x")]).is_err());
    }
}
