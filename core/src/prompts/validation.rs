//! Pure checks of prompt input: names, labels, commit messages, `{{variables}}` and chat
//! messages. Every error names the offending field, so API clients know what to fix.
//!
//! The rules follow Langfuse where it has one (names without `|`, folder-style `/` paths,
//! labels of lowercase `a-z0-9_-.` up to 36 characters, placeholders named like identifiers)
//! and are stricter where Langfuse would store a prompt that the SDK's `compile()` silently
//! mis-renders (an unclosed `{{`).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{LATEST_LABEL, PromptType};

/// Longest prompt name, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// Longest label, in characters.
pub const MAX_LABEL_CHARS: usize = 36;
/// Longest commit message, in characters.
pub const MAX_COMMIT_MESSAGE_CHARS: usize = 500;

/// A prompt field that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {reason}")]
pub struct InvalidPrompt {
    /// The field path, such as `name`, `labels[1]` or `prompt[2].content`.
    pub field: String,
    /// What is wrong, phrased to follow the field name.
    pub reason: String,
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> InvalidPrompt {
    InvalidPrompt {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Returns the name with surrounding whitespace removed, after checking it: non-empty, at most
/// `MAX_NAME_CHARS`, no `|` (it separates the parts of a prompt reference), and `/` only
/// between folder segments (not first, last or doubled).
pub fn normalize_name(name: &str) -> Result<String, InvalidPrompt> {
    let name = name.trim();
    if name.is_empty() {
        return Err(invalid("name", "must not be empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(
            "name",
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.contains('|') {
        return Err(invalid(
            "name",
            "must not contain '|' (it separates the parts of a prompt reference)",
        ));
    }
    if name.starts_with('/') || name.ends_with('/') {
        return Err(invalid("name", "must not start or end with '/'"));
    }
    if name.contains("//") {
        return Err(invalid("name", "must not contain consecutive slashes"));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("name", "must not contain control characters"));
    }
    Ok(name.to_owned())
}

/// Checks one label: 1 to `MAX_LABEL_CHARS` characters of `a-z`, `0-9`, `_`, `-` and `.`.
pub fn validate_label(label: &str, field: &str) -> Result<(), InvalidPrompt> {
    if label.is_empty() || label.chars().count() > MAX_LABEL_CHARS {
        return Err(invalid(
            field,
            format!("must be 1 to {MAX_LABEL_CHARS} characters long, got {label:?}"),
        ));
    }
    let allowed =
        |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.');
    if !label.chars().all(allowed) {
        return Err(invalid(
            field,
            format!(
                "must be lowercase alphanumeric with optional underscores, hyphens or periods, \
                 got {label:?}"
            ),
        ));
    }
    Ok(())
}

/// Checks labels a client wants to set (on create or PATCH) and returns them without
/// duplicates, in the given order. `latest` is refused: the server keeps it on the newest
/// version. `field` names the list (`labels`, `newLabels`).
pub fn validate_new_labels(labels: &[String], field: &str) -> Result<Vec<String>, InvalidPrompt> {
    let mut unique: Vec<String> = Vec::with_capacity(labels.len());
    for (index, label) in labels.iter().enumerate() {
        let item = format!("{field}[{index}]");
        validate_label(label, &item)?;
        if label == LATEST_LABEL {
            return Err(invalid(
                item,
                "must not be 'latest': the server keeps that label on the newest version",
            ));
        }
        if !unique.contains(label) {
            unique.push(label.clone());
        }
    }
    Ok(unique)
}

/// Checks the length of a commit message.
pub fn validate_commit_message(message: &str) -> Result<(), InvalidPrompt> {
    if message.chars().count() > MAX_COMMIT_MESSAGE_CHARS {
        return Err(invalid(
            "commitMessage",
            format!("must be at most {MAX_COMMIT_MESSAGE_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Returns whether `name` may name a variable: a letter or `_`, then letters, digits, `_`, `-`
/// or `.`.
fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_alphabetic() || first == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Returns the `{{variable}}` names of a template, in order of appearance, after checking that
/// every `{{` is closed by `}}` before the next `{{` and names a variable. `field` names the
/// template in errors. A lone `}}` is plain text (JSON examples end with it).
pub fn template_variables(template: &str, field: &str) -> Result<Vec<String>, InvalidPrompt> {
    let mut names = Vec::new();
    let mut rest = template;
    let mut offset = 0;
    while let Some(open) = rest.find("{{") {
        let start = offset + open;
        let after_open = &rest[open + 2..];
        let Some(close) = after_open.find("}}") else {
            return Err(invalid(
                field,
                format!(
                    "has an unclosed '{{{{' at character {}: close it with '}}}}'",
                    char_index(template, start)
                ),
            ));
        };
        let inner = &after_open[..close];
        if inner.contains("{{") {
            return Err(invalid(
                field,
                format!(
                    "has a '{{{{' at character {} that is not closed before the next '{{{{'",
                    char_index(template, start)
                ),
            ));
        }
        let name = inner.trim();
        if !is_variable_name(name) {
            return Err(invalid(
                field,
                format!(
                    "has a malformed variable {{{{{inner}}}}} at character {}: variable names \
                     start with a letter or '_' and contain only letters, digits, '_', '-' or '.'",
                    char_index(template, start)
                ),
            ));
        }
        if !names.iter().any(|known| known == name) {
            names.push(name.to_owned());
        }
        let consumed = open + 2 + close + 2;
        rest = &rest[consumed..];
        offset += consumed;
    }
    Ok(names)
}

/// Returns the character (not byte) position of byte offset `byte` in `text`.
fn char_index(text: &str, byte: usize) -> usize {
    text.get(..byte)
        .map_or(byte, |prefix| prefix.chars().count())
}

/// Returns whether `name` may name a placeholder: a letter, then letters, digits or `_`.
fn is_placeholder_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Returns a string member of a message, naming it in errors.
fn message_string<'a>(
    message: &'a Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<&'a str, InvalidPrompt> {
    match message.get(key) {
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(invalid(format!("{field}.{key}"), "must be a string")),
        None => Err(invalid(format!("{field}.{key}"), "is required")),
    }
}

/// Checks and normalises one chat message: `{role, content}` (other members dropped, as
/// Langfuse does) or `{type: "placeholder", name}`.
fn normalize_message(
    message: &Value,
    field: &str,
) -> Result<(Value, Option<String>), InvalidPrompt> {
    let Value::Object(message) = message else {
        return Err(invalid(
            field,
            "must be an object: {\"role\", \"content\"} or {\"type\": \"placeholder\", \"name\"}",
        ));
    };
    if message.get("type").and_then(Value::as_str) == Some("placeholder") {
        let name = message_string(message, "name", field)?;
        if !is_placeholder_name(name) {
            return Err(invalid(
                format!("{field}.name"),
                format!(
                    "must start with a letter and contain only letters, digits and '_', got \
                     {name:?}"
                ),
            ));
        }
        let normalized = serde_json::json!({"type": "placeholder", "name": name});
        return Ok((normalized, Some(name.to_owned())));
    }
    let role = message_string(message, "role", field)?;
    if role.trim().is_empty() {
        return Err(invalid(format!("{field}.role"), "must not be empty"));
    }
    let content = message_string(message, "content", field)?;
    Ok((serde_json::json!({"role": role, "content": content}), None))
}

/// Checks a prompt's content against its type and returns it normalised: a text prompt is a
/// string, a chat prompt a list of messages and placeholders. Every template must have
/// well-formed `{{variables}}`, and in a chat prompt no variable may share a placeholder's
/// name (the SDK's `compile()` could not tell them apart).
pub fn normalize_content(prompt_type: PromptType, prompt: &Value) -> Result<Value, InvalidPrompt> {
    match (prompt_type, prompt) {
        (PromptType::Text, Value::String(text)) => {
            template_variables(text, "prompt")?;
            Ok(prompt.clone())
        }
        (PromptType::Text, Value::Array(_)) => Err(invalid(
            "prompt",
            "must be a string for a text prompt; send \"type\": \"chat\" with a list of messages",
        )),
        (PromptType::Text, _) => Err(invalid("prompt", "must be a string for a text prompt")),
        (PromptType::Chat, Value::Array(messages)) => {
            let mut normalized = Vec::with_capacity(messages.len());
            let mut variables = BTreeSet::new();
            let mut placeholders = BTreeSet::new();
            for (index, message) in messages.iter().enumerate() {
                let field = format!("prompt[{index}]");
                let (message, placeholder) = normalize_message(message, &field)?;
                if let Some(content) = message.get("content").and_then(Value::as_str) {
                    variables.extend(template_variables(content, &format!("{field}.content"))?);
                }
                placeholders.extend(placeholder);
                normalized.push(message);
            }
            if let Some(name) = variables.intersection(&placeholders).next() {
                return Err(invalid(
                    "prompt",
                    format!("uses {name:?} as both a variable and a placeholder; rename one"),
                ));
            }
            Ok(Value::Array(normalized))
        }
        (PromptType::Chat, _) => Err(invalid(
            "prompt",
            "must be a list of chat messages for a chat prompt",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_allow_folders_and_refuse_pipes_and_stray_slashes() {
        assert_eq!(normalize_name("  qa-answer ").unwrap(), "qa-answer");
        assert_eq!(normalize_name("team/qa/v1").unwrap(), "team/qa/v1");
        for bad in ["", "   ", "a|b", "/a", "a/", "a//b", "a\nb"] {
            assert!(normalize_name(bad).is_err(), "{bad:?} should be refused");
        }
        let too_long = "x".repeat(MAX_NAME_CHARS + 1);
        assert!(normalize_name(&too_long).is_err());
        assert!(normalize_name(&too_long[1..]).is_ok());
        let error = normalize_name("a|b").unwrap_err();
        assert_eq!(error.field, "name");
        assert!(error.to_string().contains("'|'"), "{error}");
    }

    #[test]
    fn labels_are_lowercase_with_a_few_separators() {
        for good in ["production", "staging-2", "v1.2_rc", "0"] {
            validate_label(good, "labels[0]").unwrap();
        }
        for bad in ["", "Production", "with space", "ü", &"x".repeat(37)] {
            let error = validate_label(bad, "labels[0]").unwrap_err();
            assert_eq!(error.field, "labels[0]");
        }
    }

    #[test]
    fn new_labels_are_deduplicated_and_latest_is_reserved() {
        let labels = ["production", "staging", "production"].map(String::from);
        assert_eq!(
            validate_new_labels(&labels, "labels").unwrap(),
            ["production", "staging"]
        );
        let error =
            validate_new_labels(&["staging".into(), "latest".into()], "newLabels").unwrap_err();
        assert_eq!(error.field, "newLabels[1]");
        assert!(error.reason.contains("latest"));
    }

    #[test]
    fn commit_messages_are_bounded() {
        validate_commit_message(&"m".repeat(MAX_COMMIT_MESSAGE_CHARS)).unwrap();
        assert!(validate_commit_message(&"m".repeat(MAX_COMMIT_MESSAGE_CHARS + 1)).is_err());
    }

    #[test]
    fn variables_are_found_in_order_without_duplicates() {
        let names = template_variables("Hi {{ name }}, {{question}} {{name}} {{a.b-c_1}}", "p");
        assert_eq!(names.unwrap(), ["name", "question", "a.b-c_1"]);
        assert_eq!(
            template_variables("no variables", "p").unwrap(),
            Vec::<String>::new()
        );
        // A closing pair alone is text, e.g. the end of a nested JSON example.
        assert!(
            template_variables(r#"{"a": {"b": 1}}"#, "p")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn malformed_variables_are_refused_with_their_position() {
        let error = template_variables("Answer: {{question", "prompt").unwrap_err();
        assert_eq!(error.field, "prompt");
        assert!(error.reason.contains("unclosed"), "{error}");
        assert!(error.reason.contains("character 8"), "{error}");

        let error = template_variables("é {{a {{b}}", "prompt").unwrap_err();
        assert!(error.reason.contains("character 2"), "{error}");

        for bad in ["{{}}", "{{ }}", "{{1st}}", "{{two words}}", "{{a|b}}"] {
            let error = template_variables(bad, "prompt").unwrap_err();
            assert!(
                error.reason.contains("malformed variable"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn text_content_must_be_a_string() {
        let text = json!("Answer: {{question}}");
        assert_eq!(normalize_content(PromptType::Text, &text).unwrap(), text);
        let error = normalize_content(PromptType::Text, &json!([])).unwrap_err();
        assert!(error.reason.contains("\"type\": \"chat\""), "{error}");
        assert!(normalize_content(PromptType::Text, &json!(3)).is_err());
        assert!(normalize_content(PromptType::Text, &json!("{{oops")).is_err());
    }

    #[test]
    fn chat_messages_are_normalised_and_checked() {
        let prompt = json!([
            {"role": "system", "content": "You are {{persona}}.", "type": "chatmessage"},
            {"name": "history", "type": "placeholder"},
            {"role": "user", "content": "{{question}}"}
        ]);
        assert_eq!(
            normalize_content(PromptType::Chat, &prompt).unwrap(),
            json!([
                {"role": "system", "content": "You are {{persona}}."},
                {"type": "placeholder", "name": "history"},
                {"role": "user", "content": "{{question}}"}
            ])
        );
    }

    #[test]
    fn bad_chat_messages_name_the_message() {
        let cases = [
            (json!("text"), "prompt"),
            (json!([{"role": "user"}]), "prompt[0].content"),
            (json!([{"content": "hi"}]), "prompt[0].role"),
            (
                json!([{"role": "user", "content": ["part"]}]),
                "prompt[0].content",
            ),
            (json!([{"role": " ", "content": "x"}]), "prompt[0].role"),
            (json!([{"role": "user", "content": "ok"}, 7]), "prompt[1]"),
            (json!([{"type": "placeholder"}]), "prompt[0].name"),
            (
                json!([{"type": "placeholder", "name": "1x"}]),
                "prompt[0].name",
            ),
            (
                json!([{"role": "user", "content": "{{x"}]),
                "prompt[0].content",
            ),
        ];
        for (prompt, field) in cases {
            let error = normalize_content(PromptType::Chat, &prompt).unwrap_err();
            assert_eq!(error.field, field, "{prompt}: {error}");
        }
    }

    #[test]
    fn a_variable_may_not_share_a_placeholder_name() {
        let prompt = json!([
            {"type": "placeholder", "name": "history"},
            {"role": "user", "content": "{{history}}"}
        ]);
        let error = normalize_content(PromptType::Chat, &prompt).unwrap_err();
        assert!(error.reason.contains("\"history\""), "{error}");
    }
}
