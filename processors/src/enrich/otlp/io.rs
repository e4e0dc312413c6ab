//! Input and output of an observation (WIRE-PROTOCOL.md §10 "input/output").
//!
//! Every instrumentation library stores prompts and completions its own way. The conventions
//! are tried in a fixed order and the first one that yields an input or an output wins; JSON
//! strings are parsed so that the API returns structured values.

use std::collections::BTreeMap;

use periscope_proto::otlp_common::any_value::Value as Any;
use periscope_proto::otlp_trace::span::Event;
use serde_json::{Map, Value, json};

use super::attributes::{Attributes, any_to_json, json_of, structured_json_of};

/// An observation's input and output; `None` when the span carries none.
#[derive(Debug, Default, PartialEq)]
pub(super) struct InputOutput {
    pub(super) input: Option<Value>,
    pub(super) output: Option<Value>,
}

impl InputOutput {
    fn found(input: Option<Value>, output: Option<Value>) -> Option<Self> {
        (input.is_some() || output.is_some()).then_some(Self { input, output })
    }
}

/// One convention: returns the I/O if the span uses it.
type Convention = fn(&Attributes<'_>, &[Event], &str) -> Option<InputOutput>;

/// The conventions, in precedence order.
const CONVENTIONS: [Convention; 14] = [
    |attributes, _, _| {
        pair(
            attributes,
            "langfuse.observation.input",
            "langfuse.observation.output",
        )
    },
    vercel_ai,
    google_adk,
    livekit,
    |attributes, _, _| pair(attributes, "mlflow.spanInputs", "mlflow.spanOutputs"),
    |attributes, _, _| {
        pair(
            attributes,
            "traceloop.entity.input",
            "traceloop.entity.output",
        )
    },
    |attributes, _, _| pair(attributes, "input.value", "output.value"),
    |attributes, _, _| flattened(attributes, "llm.input_messages", "llm.output_messages"),
    pydantic_ai_and_logfire,
    operation_details_event,
    message_events,
    content_events,
    |attributes, _, _| flattened(attributes, "gen_ai.prompt", "gen_ai.completion"),
    |attributes, _, _| gen_ai_messages(attributes),
];

/// Extracts the observation's input and output from its attributes and events.
pub(super) fn extract(attributes: &Attributes<'_>, events: &[Event], scope: &str) -> InputOutput {
    CONVENTIONS
        .iter()
        .find_map(|convention| convention(attributes, events, scope))
        .or_else(|| {
            pair(
                attributes,
                "gen_ai.tool.call.arguments",
                "gen_ai.tool.call.result",
            )
        })
        .unwrap_or_default()
}

/// Returns whether an attribute holds I/O under some convention; such attributes are left out
/// of the `attributes` metadata map so that large prompts are not stored twice.
pub(super) fn is_io_attribute(key: &str) -> bool {
    matches!(
        key,
        "langfuse.trace.input"
            | "langfuse.trace.output"
            | "langfuse.observation.input"
            | "langfuse.observation.output"
            | "ai.prompt.messages"
            | "ai.prompt"
            | "ai.toolCall.args"
            | "ai.response.text"
            | "ai.result.text"
            | "ai.toolCall.result"
            | "ai.response.object"
            | "ai.result.object"
            | "ai.response.toolCalls"
            | "ai.result.toolCalls"
            | "gcp.vertex.agent.llm_request"
            | "gcp.vertex.agent.llm_response"
            | "gcp.vertex.agent.tool_call_args"
            | "gcp.vertex.agent.tool_response"
            | "prompt"
            | "all_messages_events"
            | "events"
            | "lk.input_text"
            | "lk.user_transcript"
            | "lk.chat_ctx"
            | "lk.user_input"
            | "lk.function_tool.output"
            | "lk.response.text"
            | "mlflow.spanInputs"
            | "mlflow.spanOutputs"
            | "traceloop.entity.input"
            | "traceloop.entity.output"
            | "input.value"
            | "output.value"
            | "final_result"
            | "pydantic_ai.all_messages"
            | "input"
            | "output"
            | "tool_arguments"
            | "tool_response"
            | "gen_ai.input.messages"
            | "gen_ai.output.messages"
            | "gen_ai.system_instructions"
            | "gen_ai.tool.call.arguments"
            | "gen_ai.tool.call.result"
    ) || [
        "gen_ai.prompt",
        "gen_ai.completion",
        "llm.input_messages",
        "llm.output_messages",
    ]
    .iter()
    .any(|prefix| key.starts_with(prefix))
}

/// The simplest convention: one attribute for the input, one for the output.
fn pair(attributes: &Attributes<'_>, input: &str, output: &str) -> Option<InputOutput> {
    InputOutput::found(
        attributes.get(input).map(json_of),
        attributes.get(output).map(json_of),
    )
}

/// Returns the first of `keys` that is present, parsed.
fn first_of(attributes: &Attributes<'_>, keys: &[&str]) -> Option<Value> {
    keys.iter().find_map(|key| attributes.get(key)).map(json_of)
}

/// Vercel AI SDK (scope `ai`): the prompt, and the response text, object or tool calls.
fn vercel_ai(attributes: &Attributes<'_>, _: &[Event], scope: &str) -> Option<InputOutput> {
    if scope != "ai" && !attributes.has("ai.operationId") {
        return None;
    }
    let input = first_of(
        attributes,
        &["ai.prompt.messages", "ai.prompt", "ai.toolCall.args"],
    );
    let output = match (
        attributes.get("ai.response.text"),
        attributes.get("ai.response.toolCalls"),
    ) {
        (Some(text), Some(tool_calls)) => Some(json!({
            "role": "assistant",
            "content": any_to_json(Some(text)),
            "tool_calls": json_of(tool_calls),
        })),
        _ => first_of(
            attributes,
            &[
                "ai.response.text",
                "ai.result.text",
                "ai.toolCall.result",
                "ai.response.object",
                "ai.result.object",
                "ai.response.toolCalls",
                "ai.result.toolCalls",
            ],
        ),
    };
    InputOutput::found(input, output)
}

/// Google ADK: the LLM request and response, which are `{}` on tool spans.
fn google_adk(attributes: &Attributes<'_>, _: &[Event], _: &str) -> Option<InputOutput> {
    let non_empty = |key: &str| {
        attributes
            .get(key)
            .filter(|value| !is_empty_object_text(value))
    };
    let input = non_empty("gcp.vertex.agent.llm_request")
        .or_else(|| attributes.get("gcp.vertex.agent.tool_call_args"));
    let output = non_empty("gcp.vertex.agent.llm_response")
        .or_else(|| attributes.get("gcp.vertex.agent.tool_response"));
    InputOutput::found(input.map(json_of), output.map(json_of))
}

fn is_empty_object_text(value: &Any) -> bool {
    matches!(value, Any::StringValue(text) if text == "{}")
}

/// LiveKit agents.
fn livekit(attributes: &Attributes<'_>, _: &[Event], _: &str) -> Option<InputOutput> {
    InputOutput::found(
        first_of(
            attributes,
            &["lk.input_text", "lk.user_transcript", "lk.chat_ctx"],
        ),
        first_of(attributes, &["lk.function_tool.output", "lk.response.text"]),
    )
}

/// Logfire's `prompt`, generic `input`/`output` (Pydantic, Pipecat), Pydantic AI agent runs and
/// tool calls.
fn pydantic_ai_and_logfire(
    attributes: &Attributes<'_>,
    _: &[Event],
    scope: &str,
) -> Option<InputOutput> {
    pair(attributes, "prompt", "all_messages_events")
        .or_else(|| pair(attributes, "input", "output"))
        .or_else(|| {
            if scope == "pydantic-ai" {
                pair(attributes, "pydantic_ai.all_messages", "final_result")
            } else {
                None
            }
        })
        .or_else(|| pair(attributes, "tool_arguments", "tool_response"))
}

/// The GenAI semconv event carrying the messages of one inference call.
fn operation_details_event(_: &Attributes<'_>, events: &[Event], _: &str) -> Option<InputOutput> {
    let event = events
        .iter()
        .find(|event| event.name == "gen_ai.client.inference.operation.details")?;
    gen_ai_messages(&Attributes::new(&event.attributes))
}

/// GenAI message events: `gen_ai.{system,user,assistant,tool}.message` become the input list of
/// `{"role", ...attributes}`, `gen_ai.choice` events the output (a single object for one choice).
fn message_events(_: &Attributes<'_>, events: &[Event], _: &str) -> Option<InputOutput> {
    let mut messages = Vec::new();
    let mut choices = Vec::new();
    for event in events {
        let role = match event.name.as_str() {
            "gen_ai.system.message" => "system",
            "gen_ai.user.message" => "user",
            "gen_ai.assistant.message" => "assistant",
            "gen_ai.tool.message" => "tool",
            "gen_ai.choice" => {
                choices.push(Value::Object(event_object(event)));
                continue;
            }
            _ => continue,
        };
        let mut message = Map::new();
        message.insert("role".to_owned(), Value::String(role.to_owned()));
        // The event's own `role` attribute, if any, overrides the one derived from its name.
        message.extend(event_object(event));
        messages.push(Value::Object(message));
    }
    let input = (!messages.is_empty()).then_some(Value::Array(messages));
    let output = match choices.len() {
        0 => None,
        1 => choices.pop(),
        _ => Some(Value::Array(choices)),
    };
    InputOutput::found(input, output)
}

/// Legacy `gen_ai.content.prompt`/`gen_ai.content.completion` events (Semantic Kernel).
fn content_events(_: &Attributes<'_>, events: &[Event], _: &str) -> Option<InputOutput> {
    let side = |event_name: &str, key: &str| {
        let event = events.iter().find(|event| event.name == event_name)?;
        let attributes = Attributes::new(&event.attributes);
        Some(match attributes.get(key) {
            Some(value) => json_of(value),
            None => Value::Object(event_object(event)),
        })
    };
    InputOutput::found(
        side("gen_ai.content.prompt", "gen_ai.prompt"),
        side("gen_ai.content.completion", "gen_ai.completion"),
    )
}

fn event_object(event: &Event) -> Map<String, Value> {
    event
        .attributes
        .iter()
        .map(|kv| {
            let value = kv.value.as_ref().and_then(|value| value.value.as_ref());
            (kv.key.clone(), structured_json_of(value))
        })
        .collect()
}

/// GenAI semconv `gen_ai.input.messages`/`gen_ai.output.messages`; `gen_ai.system_instructions`
/// become a leading system message.
fn gen_ai_messages(attributes: &Attributes<'_>) -> Option<InputOutput> {
    let messages = attributes.get("gen_ai.input.messages").map(json_of);
    let input = match attributes.get("gen_ai.system_instructions").map(json_of) {
        None => messages,
        Some(instructions) => {
            let system = match instructions {
                Value::Array(parts) => json!({"role": "system", "parts": parts}),
                other => json!({"role": "system", "content": other}),
            };
            Some(match messages {
                Some(Value::Array(mut list)) => {
                    list.insert(0, system);
                    Value::Array(list)
                }
                Some(other) => Value::Array(vec![system, other]),
                None => Value::Array(vec![system]),
            })
        }
    };
    InputOutput::found(input, attributes.get("gen_ai.output.messages").map(json_of))
}

/// Flattened messages (`gen_ai.prompt.0.role`, `llm.input_messages.0.message.content`) rebuilt
/// into nested objects; a plain `gen_ai.prompt` attribute is used as it is.
fn flattened(attributes: &Attributes<'_>, input: &str, output: &str) -> Option<InputOutput> {
    InputOutput::found(rebuild(attributes, input), rebuild(attributes, output))
}

fn rebuild(attributes: &Attributes<'_>, prefix: &str) -> Option<Value> {
    if let Some(value) = attributes.get(prefix) {
        return Some(json_of(value));
    }
    let dotted = format!("{prefix}.");
    let entries = attributes.with_prefix(&dotted);
    if entries.is_empty() {
        return None;
    }
    let mut root = BTreeMap::new();
    for (key, value) in entries {
        insert_path(
            &mut root,
            &key[dotted.len()..],
            any_to_json(value.value.as_ref()),
        );
    }
    Some(branch_to_json(root))
}

/// A segment of a flattened key; numeric segments sort first, by number, and become arrays.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Index(u64),
    Name(String),
}

#[derive(Debug)]
enum Node {
    Leaf(Value),
    Branch(BTreeMap<Segment, Node>),
}

fn segment(text: &str) -> Segment {
    match text.parse() {
        Ok(index) if text.bytes().all(|byte| byte.is_ascii_digit()) => Segment::Index(index),
        _ => Segment::Name(text.to_owned()),
    }
}

fn insert_path(branch: &mut BTreeMap<Segment, Node>, path: &str, value: Value) {
    match path.split_once('.') {
        // When a key is both a value and a prefix of others, the nested values win.
        None => {
            branch.entry(segment(path)).or_insert(Node::Leaf(value));
        }
        Some((first, rest)) => {
            let node = branch
                .entry(segment(first))
                .or_insert_with(|| Node::Branch(BTreeMap::new()));
            if let Node::Leaf(_) = node {
                *node = Node::Branch(BTreeMap::new());
            }
            if let Node::Branch(children) = node {
                insert_path(children, rest, value);
            }
        }
    }
}

fn branch_to_json(branch: BTreeMap<Segment, Node>) -> Value {
    let node_to_json = |node: Node| match node {
        Node::Leaf(value) => value,
        Node::Branch(children) => branch_to_json(children),
    };
    if branch.keys().all(|key| matches!(key, Segment::Index(_))) {
        return Value::Array(branch.into_values().map(node_to_json).collect());
    }
    let object = branch.into_iter().map(|(key, node)| {
        let key = match key {
            Segment::Index(index) => index.to_string(),
            Segment::Name(name) => name,
        };
        (key, node_to_json(node))
    });
    Value::Object(object.collect())
}
