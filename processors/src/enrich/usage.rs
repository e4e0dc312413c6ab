//! Usage normalisation (WIRE-PROTOCOL.md §10 "usageDetails").

use std::collections::BTreeMap;

use serde_json::Value;

/// Normalises a usage object as sent by clients (Langfuse `usage_details`, legacy `usage`
/// `{input, output, total, unit}` / `{promptTokens, completionTokens, totalTokens}`, OpenAI Chat
/// `{prompt_tokens, completion_tokens, total_tokens, *_details}`, OpenAI Responses
/// `{input_tokens, output_tokens, total_tokens, *_details}`, Anthropic `{input_tokens,
/// output_tokens, cache_read_input_tokens, cache_creation_input_tokens}`) into Periscope's keys
/// (`input`, `output`, `total`, `input_cached_tokens`, `input_cache_creation`,
/// `output_reasoning_tokens`, `output_audio_tokens`, ...). A missing `total` is the sum.
pub fn normalize_usage_object(_usage: &Value) -> BTreeMap<String, i64> {
    BTreeMap::new()
}
