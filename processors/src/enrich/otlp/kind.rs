//! Observation type and name resolution (WIRE-PROTOCOL.md §10 "Observation type", "name").

use std::borrow::Cow;

use periscope_core::model::ObservationType;

use super::attributes::Attributes;
use super::{ResourceContext, ScopeContext};

/// Vercel AI SDK operations that call a model, with the type they map to.
const VERCEL_MODEL_OPERATIONS: [(&str, ObservationType); 6] = [
    ("ai.generateText.doGenerate", ObservationType::Generation),
    ("ai.streamText.doStream", ObservationType::Generation),
    ("ai.generateObject.doGenerate", ObservationType::Generation),
    ("ai.streamObject.doStream", ObservationType::Generation),
    ("ai.embedMany.doEmbed", ObservationType::Embedding),
    ("ai.embed.doEmbed", ObservationType::Embedding),
];

/// Attributes naming a model; any of them makes a span a generation (last rule).
const MODEL_KEYS: [&str; 5] = [
    "langfuse.observation.model.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "llm.model_name",
    "model",
];

/// Attributes only generations carry, which give away generations the Python SDK ≤ 3.3 typed
/// as spans.
const SDK_GENERATION_KEYS: [&str; 7] = [
    "langfuse.observation.model.name",
    "langfuse.observation.cost_details",
    "langfuse.observation.usage_details",
    "langfuse.observation.completion_start_time",
    "langfuse.observation.model.parameters",
    "langfuse.observation.prompt.name",
    "langfuse.observation.prompt.version",
];

/// Resolves the observation type; the first rule that matches wins, else SPAN.
pub(super) fn observation_type(
    attributes: &Attributes<'_>,
    resource: &ResourceContext<'_>,
    scope: &ScopeContext<'_>,
) -> ObservationType {
    if python_sdk_3_3_generation(attributes, resource, scope) {
        return ObservationType::Generation;
    }
    let rules = [
        langfuse_type,
        openinference_kind,
        gen_ai_operation,
        genkit_subtype,
        vercel_operation,
        gen_ai_tool,
        model_attribute,
    ];
    rules
        .iter()
        .find_map(|rule| rule(attributes))
        .unwrap_or(ObservationType::Span)
}

/// Python SDK ≤ 3.3 typed generations as `span`; its generation attributes give them away.
fn python_sdk_3_3_generation(
    attributes: &Attributes<'_>,
    resource: &ResourceContext<'_>,
    scope: &ScopeContext<'_>,
) -> bool {
    if attributes.str("langfuse.observation.type") != Some("span")
        || scope.name != "langfuse-sdk"
        || resource.attributes.str("telemetry.sdk.language") != Some("python")
    {
        return false;
    }
    let mut version = scope
        .version
        .split('.')
        .map(|part| part.parse::<u32>().ok());
    let is_old = match (version.next().flatten(), version.next().flatten()) {
        (Some(major), Some(minor)) => major < 3 || (major == 3 && minor <= 3),
        // No parsable version: the override applies, as the affected SDKs always sent one.
        _ => true,
    };
    is_old && SDK_GENERATION_KEYS.iter().any(|key| attributes.has(key))
}

fn langfuse_type(attributes: &Attributes<'_>) -> Option<ObservationType> {
    ObservationType::parse(attributes.str("langfuse.observation.type")?)
}

fn openinference_kind(attributes: &Attributes<'_>) -> Option<ObservationType> {
    match attributes.str("openinference.span.kind")? {
        "LLM" => Some(ObservationType::Generation),
        "CHAIN" => Some(ObservationType::Chain),
        "RETRIEVER" => Some(ObservationType::Retriever),
        "EMBEDDING" => Some(ObservationType::Embedding),
        "AGENT" => Some(ObservationType::Agent),
        "TOOL" => Some(ObservationType::Tool),
        "GUARDRAIL" => Some(ObservationType::Guardrail),
        "EVALUATOR" => Some(ObservationType::Evaluator),
        _ => None,
    }
}

fn gen_ai_operation(attributes: &Attributes<'_>) -> Option<ObservationType> {
    match attributes.str("gen_ai.operation.name")? {
        "chat" | "completion" | "text_completion" | "generate_content" | "generate" => {
            Some(ObservationType::Generation)
        }
        "embeddings" => Some(ObservationType::Embedding),
        "invoke_agent" | "create_agent" => Some(ObservationType::Agent),
        "execute_tool" => Some(ObservationType::Tool),
        _ => None,
    }
}

fn genkit_subtype(attributes: &Attributes<'_>) -> Option<ObservationType> {
    match attributes.str("genkit:metadata:subtype")? {
        "model" => Some(ObservationType::Generation),
        "embedder" => Some(ObservationType::Embedding),
        "retriever" => Some(ObservationType::Retriever),
        "tool" => Some(ObservationType::Tool),
        "evaluator" => Some(ObservationType::Evaluator),
        _ => None,
    }
}

/// Vercel AI SDK: `operation.name` starts with the operation (a function id may follow), while
/// `ai.operationId` equals it. Model calls need model information to count as generations.
fn vercel_operation(attributes: &Attributes<'_>) -> Option<ObservationType> {
    let operation_name = attributes.str("operation.name");
    let operation_id = attributes.str("ai.operationId");
    let matches = |operation: &str| {
        operation_name.is_some_and(|name| name.starts_with(operation))
            || operation_id == Some(operation)
    };
    let has_model = [
        "langfuse.observation.model.name",
        "ai.model.id",
        "gen_ai.request.model",
        "gen_ai.response.model",
    ]
    .iter()
    .any(|key| attributes.has(key));
    if has_model && let Some((_, kind)) = VERCEL_MODEL_OPERATIONS.iter().find(|(op, _)| matches(op))
    {
        return Some(*kind);
    }
    matches("ai.toolCall").then_some(ObservationType::Tool)
}

fn gen_ai_tool(attributes: &Attributes<'_>) -> Option<ObservationType> {
    (attributes.has("gen_ai.tool.name") || attributes.has("gen_ai.tool.call.id"))
        .then_some(ObservationType::Tool)
}

fn model_attribute(attributes: &Attributes<'_>) -> Option<ObservationType> {
    MODEL_KEYS
        .iter()
        .any(|key| attributes.has(key))
        .then_some(ObservationType::Generation)
}

/// Returns the observation name: the tool name for tool calls (`gen_ai.tool.name`, Vercel
/// `ai.toolCall.name`), Logfire's `logfire.msg`, else the span name.
pub(super) fn observation_name<'a>(
    attributes: &Attributes<'a>,
    span_name: &'a str,
) -> Cow<'a, str> {
    attributes
        .first_text(&["gen_ai.tool.name", "logfire.msg", "ai.toolCall.name"])
        .unwrap_or(Cow::Borrowed(span_name))
}
