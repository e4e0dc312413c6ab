//! Token-count estimation for generations and embeddings whose client reported no usage.
//!
//! Periscope ships no BPE vocabularies: the OpenAI ones (cl100k, o200k) are megabytes of data
//! each, Anthropic's and Google's are not public, and the estimate only matters when a client
//! sent no usage at all. Instead [`count_text_tokens`] imitates what a GPT-style BPE does to text:
//! its pre-tokenizer splits text into words (with their leading space), runs of up to three
//! digits, runs of punctuation and runs of whitespace, and the vocabulary then holds almost every
//! common English word as a single token. So the estimate counts
//!
//! - one token per word of up to 7 ASCII letters, one more per further 7 letters,
//! - one token per 3 bytes of non-ASCII letters (a CJK character is about one token),
//! - one token per 1–3 digits and per 1–3 punctuation characters,
//! - nothing for the single space before a word, one token for any other whitespace run.
//!
//! On English prose this lands near the usual rule of thumb of ~4 characters (~0.75 words) per
//! token. Chat inputs add OpenAI's documented framing: 3 tokens per message plus one for the role
//! and 3 to prime the reply. The estimate does not distinguish tokenizer families
//! (`tokenizer_id`); a real tokenizer can replace it behind [`estimate_usage`].

use std::collections::BTreeMap;

use periscope_core::model::{ObservationRecord, ObservationType};
use serde_json::{Map, Value};

/// Framing tokens OpenAI adds around every chat message.
const TOKENS_PER_MESSAGE: u64 = 3;
/// Tokens that prime the assistant's reply after the last message.
const TOKENS_PER_REPLY: u64 = 3;
/// Flat count for an image, audio or file part: the real count depends on its size, which the
/// trace does not carry; 85 is OpenAI's price of one low-detail image.
const MEDIA_PART_TOKENS: u64 = 85;
/// ASCII letters that one token covers in a long word.
const LETTERS_PER_TOKEN: u64 = 7;

/// Returns estimated usage (`input`, `output`, `total`) for a generation or embedding that has a
/// model and input or output but no usage, or `None` when nothing should be estimated.
pub fn estimate_usage(observation: &ObservationRecord) -> Option<BTreeMap<String, i64>> {
    let is_embedding = match observation.observation_type {
        Some(ObservationType::Generation) => false,
        Some(ObservationType::Embedding) => true,
        _ => return None,
    };
    if observation.model.is_none() || !observation.usage_details.is_empty() {
        return None;
    }
    let input = observation.input.as_ref().map(|input| {
        if is_embedding {
            count_value_tokens(input)
        } else {
            count_prompt_tokens(input)
        }
    });
    // An embedding's output is vectors, which are not billed as tokens.
    let output = match &observation.output {
        Some(output) if !is_embedding => Some(count_completion_tokens(output)),
        _ => None,
    };
    if input.is_none() && output.is_none() {
        return None;
    }
    let mut usage = BTreeMap::new();
    for (key, tokens) in [("input", input), ("output", output)] {
        if let Some(tokens) = tokens {
            usage.insert(key.to_owned(), saturating_i64(tokens));
        }
    }
    let total = input.unwrap_or(0).saturating_add(output.unwrap_or(0));
    usage.insert("total".to_owned(), saturating_i64(total));
    Some(usage)
}

fn saturating_i64(tokens: u64) -> i64 {
    i64::try_from(tokens).unwrap_or(i64::MAX)
}

/// Returns the estimated number of BPE tokens of `text` (see the module docs).
pub fn count_text_tokens(text: &str) -> u64 {
    let mut tokens: u64 = 0;
    let mut chars = text.chars().peekable();
    while let Some(&first) = chars.peek() {
        if first.is_alphabetic() {
            let (mut ascii_letters, mut other_bytes) = (0_u64, 0_u64);
            while let Some(letter) = chars.next_if(|c| c.is_alphabetic()) {
                if letter.is_ascii() {
                    ascii_letters += 1;
                } else {
                    other_bytes += letter.len_utf8() as u64;
                }
            }
            let ascii_tokens = ascii_letters.div_ceil(LETTERS_PER_TOKEN);
            tokens += (ascii_tokens + other_bytes.div_ceil(3)).max(1);
        } else if first.is_numeric() {
            let digits = count_run(&mut chars, char::is_numeric);
            tokens += digits.div_ceil(3);
        } else if first.is_whitespace() {
            let spaces = count_run(&mut chars, char::is_whitespace);
            // A lone space belongs to the next word's token.
            if !(spaces == 1 && first == ' ') {
                tokens += 1;
            }
        } else {
            let symbols = count_run(&mut chars, |c| !c.is_alphanumeric() && !c.is_whitespace());
            tokens += symbols.div_ceil(3);
        }
    }
    tokens
}

fn count_run(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, class: fn(char) -> bool) -> u64 {
    let mut length = 0;
    while chars.next_if(|c| class(*c)).is_some() {
        length += 1;
    }
    length
}

/// Counts a prompt: a chat message list (bare or under `messages`/`contents`) with its framing,
/// else the value's text.
fn count_prompt_tokens(input: &Value) -> u64 {
    if let Some(messages) = as_message_list(input) {
        return count_chat(messages);
    }
    if let Value::Object(fields) = input {
        let messages_key = ["messages", "contents"]
            .into_iter()
            .find(|key| fields.get(*key).and_then(as_message_list).is_some());
        if let Some(messages_key) = messages_key {
            // The rest (tools, system prompt, response format) is sent to the model too.
            let rest: u64 = fields
                .iter()
                .filter(|(key, _)| key.as_str() != messages_key)
                .map(|(_, value)| count_value_tokens(value))
                .sum();
            let messages = fields
                .get(messages_key)
                .and_then(as_message_list)
                .unwrap_or(&[]);
            return count_chat(messages) + rest;
        }
    }
    count_value_tokens(input)
}

/// Counts a completion: message contents (one message, a list, or OpenAI `choices`) without
/// framing, else the value's text.
fn count_completion_tokens(output: &Value) -> u64 {
    if let Some(messages) = as_message_list(output) {
        return messages.iter().map(count_message_body).sum();
    }
    if let Value::Object(fields) = output {
        if is_message(fields) {
            return count_message_body(output);
        }
        if let Some(Value::Array(choices)) = fields.get("choices") {
            return choices
                .iter()
                .map(|choice| match choice.get("message") {
                    Some(message) => count_message_body(message),
                    None => choice.get("text").map_or(0, count_value_tokens),
                })
                .sum();
        }
    }
    count_value_tokens(output)
}

fn as_message_list(value: &Value) -> Option<&[Value]> {
    let Value::Array(items) = value else {
        return None;
    };
    let all_messages = !items.is_empty()
        && items
            .iter()
            .all(|item| item.as_object().is_some_and(is_message));
    all_messages.then_some(items.as_slice())
}

fn is_message(fields: &Map<String, Value>) -> bool {
    fields.get("role").is_some_and(Value::is_string)
}

fn count_chat(messages: &[Value]) -> u64 {
    let framing = TOKENS_PER_MESSAGE + 1;
    let body: u64 = messages
        .iter()
        .map(|message| framing + count_message_body(message))
        .sum();
    body + TOKENS_PER_REPLY
}

/// Counts one message's content, name and tool calls (not its role or framing).
fn count_message_body(message: &Value) -> u64 {
    let Value::Object(fields) = message else {
        return count_value_tokens(message);
    };
    let mut tokens = 0;
    for key in ["content", "parts"] {
        if let Some(content) = fields.get(key) {
            tokens += count_content(content);
        }
    }
    if let Some(Value::String(name)) = fields.get("name") {
        tokens += 1 + count_text_tokens(name);
    }
    for key in ["tool_calls", "function_call", "tool_call_id"] {
        if let Some(value) = fields.get(key) {
            tokens += count_value_tokens(value);
        }
    }
    tokens
}

/// Counts message content: a string, or a list of parts (text, media, tool use and results).
fn count_content(content: &Value) -> u64 {
    match content {
        Value::String(text) => count_text_tokens(text),
        Value::Array(parts) => parts.iter().map(count_content_part).sum(),
        Value::Null => 0,
        other => count_value_tokens(other),
    }
}

fn count_content_part(part: &Value) -> u64 {
    let Value::Object(fields) = part else {
        return count_content(part);
    };
    if let Some(Value::String(text)) = fields.get("text") {
        return count_text_tokens(text);
    }
    let part_type = fields
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let is_media = matches!(
        part_type,
        "image" | "image_url" | "input_image" | "input_audio" | "audio" | "file" | "input_file"
    ) || ["inline_data", "inlineData", "file_data", "fileData"]
        .iter()
        .any(|key| fields.contains_key(*key));
    if is_media {
        return MEDIA_PART_TOKENS;
    }
    count_value_tokens(part)
}

/// Counts any JSON value: a string's text, or the compact JSON text of anything else (keys and
/// punctuation are tokens too when a structure is sent to a model).
fn count_value_tokens(value: &Value) -> u64 {
    match value {
        Value::Null => 0,
        Value::String(text) => count_text_tokens(text),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            items.iter().map(count_value_tokens).sum()
        }
        other => count_text_tokens(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_english_matches_real_bpe_counts() {
        // Counts from OpenAI's tokenizers (cl100k and o200k agree on these).
        assert_eq!(
            count_text_tokens("The quick brown fox jumps over the lazy dog."),
            10
        );
        assert_eq!(count_text_tokens("Hello, world!"), 4);
        assert_eq!(count_text_tokens("Hello"), 1);
        assert_eq!(count_text_tokens(""), 0);
    }

    #[test]
    fn english_prose_is_about_four_characters_per_token() {
        let text = "Observability for language model applications means recording every \
            prompt, completion and tool call, together with latency, token usage and cost, so \
            that engineers can debug a bad answer, compare two prompt versions and see which \
            customers drive their spending. A trace groups the steps of one request; a \
            generation is one call to a model, with its parameters and its usage. Without \
            usage reported by the client, the server has to estimate the number of tokens \
            from the text itself, which is what this function does.";
        let tokens = count_text_tokens(text) as f64;
        let characters = text.chars().count() as f64;
        let words = text.split_whitespace().count() as f64;
        let chars_per_token = characters / tokens;
        assert!(
            (3.4..=5.0).contains(&chars_per_token),
            "{chars_per_token} chars per token"
        );
        let tokens_per_word = tokens / words;
        assert!(
            (1.0..=1.5).contains(&tokens_per_word),
            "{tokens_per_word} tokens per word"
        );
    }

    #[test]
    fn numbers_symbols_and_other_scripts_count_more_densely() {
        assert_eq!(count_text_tokens("1234567"), 3);
        assert_eq!(count_text_tokens("{\"a\":1}"), 5);
        // Four CJK characters: about one token each.
        assert_eq!(count_text_tokens("你好世界"), 4);
        assert!(count_text_tokens("internationalization") >= 2);
    }

    #[test]
    fn a_single_user_message_costs_openais_framing() {
        // The OpenAI API reports 8 prompt tokens for `[{"role":"user","content":"Hello"}]`.
        assert_eq!(
            count_prompt_tokens(&json!([{"role": "user", "content": "Hello"}])),
            8
        );
        let wrapped = json!({"messages": [{"role": "user", "content": "Hello"}]});
        assert_eq!(count_prompt_tokens(&wrapped), 8);
        let with_tools = json!({
            "messages": [{"role": "user", "content": "Hello"}],
            "tools": [{"type": "function", "function": {"name": "get_weather"}}]
        });
        assert!(count_prompt_tokens(&with_tools) > 8);
    }

    #[test]
    fn media_parts_count_flat_and_completions_have_no_framing() {
        let data_url = format!("data:image/png;base64,{}", "A".repeat(10_000));
        let image = json!([{"role": "user", "content": [
            {"type": "text", "text": "Hello"},
            {"type": "image_url", "image_url": {"url": data_url}}
        ]}]);
        assert_eq!(count_prompt_tokens(&image), 8 + MEDIA_PART_TOKENS);
        let message = json!({"role": "assistant", "content": "Hello, world!"});
        assert_eq!(count_completion_tokens(&message), 4);
        let choices = json!({"choices": [{"message": {"role": "assistant", "content": "Hello"}}]});
        assert_eq!(count_completion_tokens(&choices), 1);
        assert_eq!(count_completion_tokens(&json!("Hello, world!")), 4);
    }

    fn generation(input: Option<Value>, output: Option<Value>) -> ObservationRecord {
        ObservationRecord {
            observation_type: Some(ObservationType::Generation),
            model: Some("gpt-4o".into()),
            input,
            output,
            ..Default::default()
        }
    }

    #[test]
    fn usage_is_estimated_only_when_missing() {
        let prompt = json!([{"role": "user", "content": "Hello"}]);
        let observation = generation(Some(prompt.clone()), Some(json!("Hello, world!")));
        let usage = estimate_usage(&observation).unwrap();
        let expected: BTreeMap<String, i64> = [
            ("input".into(), 8),
            ("output".into(), 4),
            ("total".into(), 12),
        ]
        .into();
        assert_eq!(usage, expected);

        let mut reported = observation.clone();
        reported.usage_details.insert("input".into(), 5);
        assert_eq!(estimate_usage(&reported), None);
        let mut no_model = observation.clone();
        no_model.model = None;
        assert_eq!(estimate_usage(&no_model), None);
        let mut span = observation;
        span.observation_type = Some(ObservationType::Span);
        assert_eq!(estimate_usage(&span), None);
        assert_eq!(estimate_usage(&generation(None, None)), None);

        let input_only = estimate_usage(&generation(Some(prompt), None)).unwrap();
        assert_eq!(input_only.get("output"), None);
        assert_eq!(input_only.get("total"), Some(&8));
    }

    #[test]
    fn embeddings_count_input_text_only() {
        let mut embedding = generation(Some(json!(["Hello", "Hello, world!"])), Some(json!([0.1])));
        embedding.observation_type = Some(ObservationType::Embedding);
        let usage = estimate_usage(&embedding).unwrap();
        let expected: BTreeMap<String, i64> = [("input".into(), 5), ("total".into(), 5)].into();
        assert_eq!(usage, expected);
    }
}
