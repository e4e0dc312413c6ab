//! Usage normalisation (WIRE-PROTOCOL.md §10 "usageDetails").
//!
//! Periscope prices usage key by key (`input × price(input) + input_cached_tokens ×
//! price(input_cached_tokens) + …`), so every token must be counted under exactly one key.
//! Providers disagree on whether `input` already contains cached tokens: OpenAI's
//! `prompt_tokens` does (the details are a breakdown), Anthropic's `input_tokens` does not (cache
//! reads and writes are reported beside it). The normalisers below subtract a breakdown from its
//! total wherever the source includes it, so the keys always partition the tokens.

use std::collections::BTreeMap;

use serde_json::Value;

/// Normalises a usage object as sent by clients (Langfuse `usage_details`, legacy `usage`
/// `{input, output, total, unit}` / `{promptTokens, completionTokens, totalTokens}`, OpenAI Chat
/// `{prompt_tokens, completion_tokens, total_tokens, *_details}`, OpenAI Responses
/// `{input_tokens, output_tokens, total_tokens, *_details}`, Anthropic `{input_tokens,
/// output_tokens, cache_read_input_tokens, cache_creation_input_tokens}`) into Periscope's keys
/// (`input`, `output`, `total`, `input_cached_tokens`, `input_cache_creation`,
/// `output_reasoning_tokens`, `output_audio_tokens`, ...). A missing `total` is the sum.
///
/// Each entry of `prompt_tokens_details`/`input_tokens_details` becomes `input_<k>` and of
/// `completion_tokens_details`/`output_tokens_details` becomes `output_<k>`, and is subtracted
/// from `input`/`output` (floor 0); a `null` details object adds nothing. Anthropic cache counts
/// are not subtracted because Anthropic's `input_tokens` excludes them. Values that are not
/// non-negative integers (strings, floats with a fraction, nested objects) are dropped, as are
/// the legacy `unit` and `*Cost` fields.
pub fn normalize_usage_object(usage: &Value) -> BTreeMap<String, i64> {
    let Value::Object(fields) = usage else {
        return BTreeMap::new();
    };
    let mut normalized = BTreeMap::new();
    let mut input = None;
    let mut output = None;
    let mut total = None;
    let mut input_breakdown = 0_i64;
    let mut output_breakdown = 0_i64;
    for (key, value) in fields {
        match key.as_str() {
            "input" | "input_tokens" | "prompt_tokens" | "promptTokens" | "inputTokens" => {
                input = input.or(token_count(value));
            }
            "output" | "output_tokens" | "completion_tokens" | "completionTokens"
            | "outputTokens" => output = output.or(token_count(value)),
            "total" | "total_tokens" | "totalTokens" => total = total.or(token_count(value)),
            "prompt_tokens_details" | "input_tokens_details" => {
                input_breakdown += add_details(&mut normalized, "input_", value);
            }
            "completion_tokens_details" | "output_tokens_details" => {
                output_breakdown += add_details(&mut normalized, "output_", value);
            }
            // Anthropic: reported beside `input_tokens`, never inside it.
            "cache_read_input_tokens" => {
                insert_count(&mut normalized, "input_cached_tokens", value)
            }
            "cache_creation_input_tokens" => {
                insert_count(&mut normalized, "input_cache_creation", value);
            }
            // Legacy `usage` fields that are not token counts.
            "unit" | "inputCost" | "outputCost" | "totalCost" => {}
            other => insert_count(&mut normalized, other, value),
        }
    }
    if let Some(input) = input {
        normalized.insert(
            "input".to_owned(),
            input.saturating_sub(input_breakdown).max(0),
        );
    }
    if let Some(output) = output {
        normalized.insert(
            "output".to_owned(),
            output.saturating_sub(output_breakdown).max(0),
        );
    }
    finish_total(&mut normalized, total);
    normalized
}

/// Normalises usage given as flat span attributes, `(attribute key, integer value)` pairs in
/// priority order (the first value for a normalised key wins): OTel GenAI `gen_ai.usage.*`
/// (`input_tokens`/`prompt_tokens`, `output_tokens`/`completion_tokens`, `total_tokens`, cache
/// reads and writes, `reasoning_tokens`, `audio_tokens`), OpenInference `llm.token_count.*`
/// (`prompt`, `completion`, `total`, `prompt_details.*`, `completion_details.*`), Traceloop's
/// `llm.usage.total_tokens` and the Vercel AI SDK's `ai.usage.*`.
///
/// `provider` is the span's `gen_ai.provider.name`/`gen_ai.system`: with `anthropic`, the
/// Anthropic-named cache attributes (`gen_ai.usage.cache_read_input_tokens`, ...) are taken to sit
/// beside `input_tokens` as in Anthropic's API; otherwise they are a breakdown of it and are
/// subtracted, as are the OTel semconv `cache_read.input_tokens` and the OpenInference and
/// Vercel details. Reasoning and audio output tokens are subtracted from `output` except for
/// Google models, whose output count excludes thoughts. A missing `total` is the sum.
pub fn normalize_usage_attributes<'a>(
    entries: impl IntoIterator<Item = (&'a str, i64)>,
    provider: Option<&str>,
) -> BTreeMap<String, i64> {
    let caches_beside_input = provider.is_some_and(|p| p.eq_ignore_ascii_case("anthropic"));
    let reasoning_beside_output = provider.is_some_and(is_google_provider);
    let mut counts: BTreeMap<String, (i64, Side)> = BTreeMap::new();
    for (key, count) in entries {
        if count < 0 {
            continue;
        }
        let Some((normalized_key, side)) =
            flat_usage_key(key, caches_beside_input, reasoning_beside_output)
        else {
            continue;
        };
        counts
            .entry(normalized_key.into_owned())
            .or_insert((count, side));
    }
    let mut input_breakdown = 0_i64;
    let mut output_breakdown = 0_i64;
    let mut normalized = BTreeMap::new();
    let mut total = None;
    for (key, (count, side)) in counts {
        match side {
            Side::InsideInput => input_breakdown = input_breakdown.saturating_add(count),
            Side::InsideOutput => output_breakdown = output_breakdown.saturating_add(count),
            Side::Separate => {}
        }
        if key == "total" {
            total = Some(count);
        } else {
            normalized.insert(key, count);
        }
    }
    if let Some(input) = normalized.get_mut("input") {
        *input = input.saturating_sub(input_breakdown).max(0);
    }
    if let Some(output) = normalized.get_mut("output") {
        *output = output.saturating_sub(output_breakdown).max(0);
    }
    finish_total(&mut normalized, total);
    normalized
}

/// Whether a breakdown count is already part of `input` or `output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    InsideInput,
    InsideOutput,
    Separate,
}

/// Maps one flat usage attribute to its normalised key and how it relates to input/output.
fn flat_usage_key(
    key: &str,
    caches_beside_input: bool,
    reasoning_beside_output: bool,
) -> Option<(std::borrow::Cow<'static, str>, Side)> {
    use std::borrow::Cow::{Borrowed, Owned};
    let anthropic_cache = if caches_beside_input {
        Side::Separate
    } else {
        Side::InsideInput
    };
    let reasoning = if reasoning_beside_output {
        Side::Separate
    } else {
        Side::InsideOutput
    };
    if let Some(suffix) = key.strip_prefix("gen_ai.usage.") {
        let mapped = match suffix {
            "input_tokens" | "prompt_tokens" => ("input", Side::Separate),
            "output_tokens" | "completion_tokens" => ("output", Side::Separate),
            "total_tokens" => ("total", Side::Separate),
            "cache_read.input_tokens" => ("input_cached_tokens", Side::InsideInput),
            "cache_creation.input_tokens" => ("input_cache_creation", Side::InsideInput),
            "cache_read_input_tokens" | "cache_read_tokens" | "cached_tokens" => {
                ("input_cached_tokens", anthropic_cache)
            }
            "cache_creation_input_tokens" | "cache_creation_tokens" | "cache_write_tokens" => {
                ("input_cache_creation", anthropic_cache)
            }
            "reasoning_tokens" | "reasoning.output_tokens" => {
                ("output_reasoning_tokens", reasoning)
            }
            "audio_tokens" => ("output_audio_tokens", reasoning),
            // `cost` is money, not tokens; dotted keys (`details.*`) repeat the counts above.
            "cost" => return None,
            other if other.contains('.') => return None,
            other => return Some((Owned(other.to_owned()), Side::Separate)),
        };
        return Some((Borrowed(mapped.0), mapped.1));
    }
    let mapped = if key == "llm.usage.total_tokens" {
        ("total", Side::Separate)
    } else if let Some(suffix) = key.strip_prefix("llm.token_count.") {
        match suffix {
            "prompt" => ("input", Side::Separate),
            "completion" => ("output", Side::Separate),
            "total" => ("total", Side::Separate),
            "prompt_details.cache_read" => ("input_cached_tokens", Side::InsideInput),
            "prompt_details.cache_write" => ("input_cache_creation", Side::InsideInput),
            "prompt_details.audio" => ("input_audio_tokens", Side::InsideInput),
            "completion_details.reasoning" => ("output_reasoning_tokens", Side::InsideOutput),
            "completion_details.audio" => ("output_audio_tokens", Side::InsideOutput),
            _ => return None,
        }
    } else if let Some(suffix) = key.strip_prefix("ai.usage.") {
        match suffix {
            "promptTokens" | "inputTokens" => ("input", Side::Separate),
            "completionTokens" | "outputTokens" => ("output", Side::Separate),
            "tokens" | "totalTokens" => ("total", Side::Separate),
            "cachedInputTokens" => ("input_cached_tokens", Side::InsideInput),
            "reasoningTokens" => ("output_reasoning_tokens", Side::InsideOutput),
            _ => return None,
        }
    } else {
        return None;
    };
    Some((Borrowed(mapped.0), mapped.1))
}

fn is_google_provider(provider: &str) -> bool {
    let provider = provider.to_ascii_lowercase();
    provider.starts_with("gcp.") || provider.contains("gemini") || provider.contains("vertex")
}

/// Returns a token count: a non-negative integer, or a float without fraction (`3.0`).
fn token_count(value: &Value) -> Option<i64> {
    let Value::Number(number) = value else {
        return None;
    };
    let count = number.as_i64().or_else(|| {
        let float = number.as_f64()?;
        // The bound keeps the cast exact.
        (float.fract() == 0.0 && (0.0..9.0e18).contains(&float)).then_some(float as i64)
    })?;
    (count >= 0).then_some(count)
}

fn insert_count(normalized: &mut BTreeMap<String, i64>, key: &str, value: &Value) {
    if let Some(count) = token_count(value) {
        normalized.insert(key.to_owned(), count);
    }
}

/// Adds `<prefix><k>` for each count of a details object; returns their sum.
fn add_details(normalized: &mut BTreeMap<String, i64>, prefix: &str, details: &Value) -> i64 {
    let Value::Object(details) = details else {
        return 0;
    };
    let mut sum = 0_i64;
    for (key, value) in details {
        if let Some(count) = token_count(value) {
            normalized.insert(format!("{prefix}{key}"), count);
            sum = sum.saturating_add(count);
        }
    }
    sum
}

/// Sets `total`: the given one, else the sum of all other keys (when there are any).
fn finish_total(normalized: &mut BTreeMap<String, i64>, total: Option<i64>) {
    let total = match total {
        Some(total) => total,
        None if normalized.is_empty() => return,
        None => normalized
            .values()
            .fold(0_i64, |sum, count| sum.saturating_add(*count)),
    };
    normalized.insert("total".to_owned(), total);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        pairs
            .iter()
            .map(|(key, count)| ((*key).to_owned(), *count))
            .collect()
    }

    #[test]
    fn langfuse_keys_pass_through() {
        let usage = json!({"input": 120, "output": 45, "total": 165});
        assert_eq!(
            normalize_usage_object(&usage),
            map(&[("input", 120), ("output", 45), ("total", 165)])
        );
    }

    #[test]
    fn openai_chat_with_null_details_adds_nothing() {
        let usage = json!({"completion_tokens": 6, "prompt_tokens": 13, "total_tokens": 19,
                           "completion_tokens_details": null, "prompt_tokens_details": null});
        assert_eq!(
            normalize_usage_object(&usage),
            map(&[("input", 13), ("output", 6), ("total", 19)])
        );
    }

    #[test]
    fn openai_chat_details_are_subtracted_so_tokens_are_counted_once() {
        let usage = json!({
            "prompt_tokens": 1000, "completion_tokens": 300, "total_tokens": 1300,
            "prompt_tokens_details": {"cached_tokens": 800, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 200, "audio_tokens": null,
                                          "accepted_prediction_tokens": 0}
        });
        assert_eq!(
            normalize_usage_object(&usage),
            map(&[
                ("input", 200),
                ("input_cached_tokens", 800),
                ("input_audio_tokens", 0),
                ("output", 100),
                ("output_reasoning_tokens", 200),
                ("output_accepted_prediction_tokens", 0),
                ("total", 1300),
            ])
        );
    }

    #[test]
    fn a_breakdown_larger_than_its_total_floors_at_zero() {
        let usage = json!({"prompt_tokens": 5, "prompt_tokens_details": {"cached_tokens": 9}});
        let normalized = normalize_usage_object(&usage);
        assert_eq!(normalized.get("input"), Some(&0));
        assert_eq!(normalized.get("input_cached_tokens"), Some(&9));
        assert_eq!(
            normalized.get("total"),
            Some(&9),
            "missing total is the sum"
        );
    }

    #[test]
    fn openai_responses_shape_is_handled_alike() {
        let usage = json!({"input_tokens": 50, "output_tokens": 30, "total_tokens": 80,
                           "input_tokens_details": {"cached_tokens": 10},
                           "output_tokens_details": {"reasoning_tokens": 12}});
        assert_eq!(
            normalize_usage_object(&usage),
            map(&[
                ("input", 40),
                ("input_cached_tokens", 10),
                ("output", 18),
                ("output_reasoning_tokens", 12),
                ("total", 80),
            ])
        );
    }

    #[test]
    fn anthropic_cache_counts_sit_beside_input() {
        let usage = json!({"input_tokens": 7, "output_tokens": 445,
                           "cache_read_input_tokens": 16399, "cache_creation_input_tokens": 2089,
                           "cache_creation": {"ephemeral_5m_input_tokens": 2089},
                           "service_tier": "standard"});
        assert_eq!(
            normalize_usage_object(&usage),
            map(&[
                ("input", 7),
                ("input_cache_creation", 2089),
                ("input_cached_tokens", 16399),
                ("output", 445),
                ("total", 7 + 445 + 16399 + 2089),
            ])
        );
    }

    #[test]
    fn legacy_usage_drops_unit_and_costs_and_camel_case_maps() {
        let usage =
            json!({"input": 3, "output": 4, "unit": "TOKENS", "inputCost": 0, "totalCost": 1});
        assert_eq!(
            normalize_usage_object(&usage),
            map(&[("input", 3), ("output", 4), ("total", 7)])
        );
        let usage = json!({"promptTokens": 3, "completionTokens": 4, "totalTokens": 8});
        assert_eq!(
            normalize_usage_object(&usage),
            map(&[("input", 3), ("output", 4), ("total", 8)])
        );
    }

    #[test]
    fn non_integer_values_are_dropped() {
        let usage = json!({"input": "12", "output": 2.5, "custom": 4.0, "negative": -1, "x": {}});
        assert_eq!(
            normalize_usage_object(&usage),
            map(&[("custom", 4), ("total", 4)])
        );
        assert!(normalize_usage_object(&json!([1, 2])).is_empty());
        assert!(normalize_usage_object(&json!({})).is_empty());
    }

    #[test]
    fn semconv_attributes_map_and_missing_total_is_the_sum() {
        let entries = [
            ("gen_ai.usage.input_tokens", 50),
            ("gen_ai.usage.output_tokens", 20),
        ];
        assert_eq!(
            normalize_usage_attributes(entries, Some("openai")),
            map(&[("input", 50), ("output", 20), ("total", 70)])
        );
        let legacy = [
            ("gen_ai.usage.prompt_tokens", 11),
            ("gen_ai.usage.completion_tokens", 4),
        ];
        assert_eq!(
            normalize_usage_attributes(legacy, None),
            map(&[("input", 11), ("output", 4), ("total", 15)])
        );
    }

    #[test]
    fn cache_attributes_follow_the_provider_semantics() {
        let entries = [
            ("gen_ai.usage.input_tokens", 100),
            ("gen_ai.usage.cache_read_input_tokens", 30),
            ("gen_ai.usage.cache_creation_input_tokens", 10),
            ("gen_ai.usage.output_tokens", 20),
        ];
        assert_eq!(
            normalize_usage_attributes(entries, Some("anthropic")),
            map(&[
                ("input", 100),
                ("input_cache_creation", 10),
                ("input_cached_tokens", 30),
                ("output", 20),
                ("total", 160),
            ])
        );
        assert_eq!(
            normalize_usage_attributes(entries, Some("openai")),
            map(&[
                ("input", 60),
                ("input_cache_creation", 10),
                ("input_cached_tokens", 30),
                ("output", 20),
                ("total", 120),
            ])
        );
    }

    #[test]
    fn reasoning_is_inside_output_except_for_google() {
        let entries = [
            ("gen_ai.usage.output_tokens", 50),
            ("gen_ai.usage.reasoning_tokens", 20),
            ("gen_ai.usage.total_tokens", 90),
        ];
        let openai = normalize_usage_attributes(entries, Some("openai"));
        assert_eq!(
            openai,
            map(&[
                ("output", 30),
                ("output_reasoning_tokens", 20),
                ("total", 90)
            ])
        );
        let gemini = normalize_usage_attributes(entries, Some("gcp.gemini"));
        assert_eq!(gemini.get("output"), Some(&50));
    }

    #[test]
    fn openinference_and_vercel_counts_map() {
        let entries = [
            ("llm.token_count.prompt", 120),
            ("llm.token_count.completion", 30),
            ("llm.token_count.total", 150),
            ("llm.token_count.prompt_details.cache_read", 100),
            ("llm.token_count.completion_details.reasoning", 10),
        ];
        assert_eq!(
            normalize_usage_attributes(entries, None),
            map(&[
                ("input", 20),
                ("input_cached_tokens", 100),
                ("output", 20),
                ("output_reasoning_tokens", 10),
                ("total", 150),
            ])
        );
        let vercel = [
            ("ai.usage.promptTokens", 9),
            ("ai.usage.completionTokens", 3),
        ];
        assert_eq!(
            normalize_usage_attributes(vercel, None),
            map(&[("input", 9), ("output", 3), ("total", 12)])
        );
    }

    #[test]
    fn the_first_source_of_a_key_wins_and_cost_is_not_usage() {
        let entries = [
            ("gen_ai.usage.input_tokens", 5),
            ("gen_ai.usage.prompt_tokens", 6),
            ("ai.usage.promptTokens", 7),
            ("gen_ai.usage.cost", 1),
            ("gen_ai.usage.details.input_tokens", 5),
            ("gen_ai.usage.input_tokens_audio", 2),
        ];
        assert_eq!(
            normalize_usage_attributes(entries, None),
            map(&[("input", 5), ("input_tokens_audio", 2), ("total", 7)])
        );
        assert!(normalize_usage_attributes([], None).is_empty());
    }
}
