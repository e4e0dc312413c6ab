//! Realistic GenAI spans as the Langfuse Python SDK v5 exports them (WIRE-PROTOCOL.md §2–§4).
//!
//! A generated trace has five spans in SDK end order (children first, root last): a retriever,
//! a generation on `gpt-4o-mini`, a tool call, a plain formatting span and the root span. Every
//! span repeats the propagated trace attributes, as `propagate_attributes` makes the SDK do, so
//! a span averages about 1.8 KB encoded, like the spans DESIGN.md §7 was measured with.
//!
//! Ids are placeholders that `wire::find_slots` recognises: trace `t` of a request has the id
//! `[0; 8] ++ be(t)` and span `s` the id `be(s + 1)`; times are offsets from zero. The pool
//! rewrites both in place before each send.

use crate::corpus::{ANSWERS, DOCUMENTS, HISTORY, QUESTIONS, SYSTEM_PROMPT};
use periscope_proto::otlp_collector::ExportTraceServiceRequest;
use periscope_proto::otlp_common::any_value::Value;
use periscope_proto::otlp_common::{AnyValue, ArrayValue, InstrumentationScope, KeyValue};
use periscope_proto::otlp_resource::Resource;
use periscope_proto::otlp_trace::span::SpanKind;
use periscope_proto::otlp_trace::{ResourceSpans, ScopeSpans, Span, Status};

/// Spans in one full generated trace.
pub(crate) const SPANS_PER_TRACE: usize = 5;

/// How far apart (ns) the generated traces of one request start.
const TRACE_STAGGER_NS: u64 = 20_000_000;

/// Distinct trace start offsets; with traces lasting under 3 s, every time stays below 7 s.
const TRACE_STARTS: u64 = 200;

/// A small deterministic generator (xorshift64*), so that a pool is reproducible.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// Returns a generator seeded with `seed` (zero is replaced: xorshift needs a set bit).
    pub(crate) fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// Returns the next pseudo-random number.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Returns a number in `0..bound` (`bound` > 0).
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }
}

/// Returns the placeholder trace id of trace `index` of a request.
pub(crate) fn placeholder_trace_id(index: u64) -> Vec<u8> {
    let mut id = vec![0_u8; 8];
    id.extend_from_slice(&index.to_be_bytes());
    id
}

/// Returns the placeholder span id of span `index` of a request.
pub(crate) fn placeholder_span_id(index: u64) -> Vec<u8> {
    (index + 1).to_be_bytes().to_vec()
}

/// Returns the number of spans of each trace in a request of `span_count` spans.
pub(crate) fn trace_shape(span_count: usize) -> Vec<usize> {
    let mut shape = vec![SPANS_PER_TRACE; span_count / SPANS_PER_TRACE];
    if !span_count.is_multiple_of(SPANS_PER_TRACE) {
        shape.push(span_count % SPANS_PER_TRACE);
    }
    shape
}

/// Builds a request of `span_count` spans in whole traces (the last one cut short if needed).
pub(crate) fn build_request(
    rng: &mut Rng,
    span_count: usize,
    public_key: &str,
) -> ExportTraceServiceRequest {
    let mut spans = Vec::with_capacity(span_count);
    for (trace_index, trace_spans) in trace_shape(span_count).into_iter().enumerate() {
        let first_span = spans.len() as u64;
        let trace = TraceContext::random(rng, trace_index as u64, first_span);
        let mut full = trace.spans(rng);
        // A cut-short trace keeps its first spans; its root (last) is then missing, which the
        // SDK also produces when a trace spans two flushes.
        full.truncate(trace_spans);
        spans.extend(full);
    }
    envelope(spans, public_key)
}

/// Builds the one-span request of a latency marker trace.
pub(crate) fn marker_request(
    trace_id: [u8; 16],
    span_id: [u8; 8],
    now_ns: u64,
    public_key: &str,
) -> ExportTraceServiceRequest {
    let span = Span {
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_vec(),
        name: "bench-marker".to_owned(),
        kind: SpanKind::Internal as i32,
        start_time_unix_nano: now_ns.saturating_sub(1_000_000),
        end_time_unix_nano: now_ns,
        flags: 256,
        status: Some(Status::default()),
        attributes: vec![
            string("langfuse.observation.type", "span"),
            string("langfuse.trace.name", "periscope-bench-marker"),
            string("langfuse.environment", "bench"),
            string("langfuse.observation.input", "{\"marker\": true}"),
        ],
        ..Span::default()
    };
    envelope(vec![span], public_key)
}

fn envelope(spans: Vec<Span>, public_key: &str) -> ExportTraceServiceRequest {
    let resource = Resource {
        attributes: vec![
            string("telemetry.sdk.language", "python"),
            string("telemetry.sdk.name", "opentelemetry"),
            string("telemetry.sdk.version", "1.45.2"),
            string("service.name", "unknown_service:python"),
            string("service.instance.id", "3f0c2a9e5b7d4e1f8a6c0b2d4e6f8a1c"),
            string("langfuse.environment", "production"),
            string("langfuse.release", "rel-1.4.2"),
        ],
        ..Resource::default()
    };
    let scope = InstrumentationScope {
        name: "langfuse-sdk".to_owned(),
        version: "5.0.4".to_owned(),
        attributes: vec![string("public_key", public_key)],
        ..InstrumentationScope::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![ScopeSpans {
                scope: Some(scope),
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

/// What the spans of one trace share.
struct TraceContext {
    trace_id: Vec<u8>,
    first_span: u64,
    start_ns: u64,
    topic: usize,
    propagated: Vec<KeyValue>,
}

impl TraceContext {
    fn random(rng: &mut Rng, trace_index: u64, first_span: u64) -> Self {
        let user = rng.below(5000);
        let session = rng.next_u64();
        let tier = ["free", "starter", "team", "enterprise"][rng.below(4) as usize];
        let propagated = vec![
            string("langfuse.trace.name", "support-answer"),
            KeyValue {
                key: "langfuse.trace.tags".to_owned(),
                value: Some(AnyValue {
                    value: Some(Value::ArrayValue(ArrayValue {
                        values: ["support", "rag", "prod"]
                            .iter()
                            .map(|tag| str_value(tag))
                            .collect(),
                    })),
                }),
                ..KeyValue::default()
            },
            string("user.id", &format!("user-{user:05}")),
            string("session.id", &format!("sess-{session:016x}")),
            string("langfuse.trace.metadata.feature", "\"search-v2\""),
            string("langfuse.trace.metadata.tier", &format!("\"{tier}\"")),
            string(
                "langfuse.trace.metadata.request_id",
                &format!("\"req_{:024x}\"", rng.next_u64()),
            ),
            string("langfuse.version", "app-v7"),
            string("langfuse.environment", "production"),
            string("langfuse.release", "rel-1.4.2"),
        ];
        Self {
            trace_id: placeholder_trace_id(trace_index),
            first_span,
            // Never zero: prost omits a zero fixed64, and the pool could not find that slot.
            start_ns: TRACE_STAGGER_NS * (1 + trace_index % TRACE_STARTS),
            topic: rng.below(QUESTIONS.len() as u64) as usize,
            propagated,
        }
    }

    /// Returns the five spans in end order: retriever, generation, tool, span, root.
    fn spans(&self, rng: &mut Rng) -> Vec<Span> {
        let question = QUESTIONS[self.topic];
        let answer = ANSWERS[self.topic];
        let root_id = self.first_span + 4;
        let ms = 1_000_000_u64;
        let mut clock = self.start_ns + 2 * ms;
        let mut window = |length_ms: u64| {
            let start = clock;
            clock += length_ms * ms + ms;
            (start, start + length_ms * ms)
        };
        let retrieve_window = window(40 + rng.below(80));
        let llm_window = window(600 + rng.below(1800));
        let tool_window = window(20 + rng.below(60));
        let format_window = window(3);
        let root_window = (self.start_ns, clock + ms);

        let documents = self.pick_documents(rng);
        let retriever = self
            .span(0, root_id, "retrieve-docs", retrieve_window)
            .observation("retriever")
            .input(&format!("{{\"query\": {}, \"top_k\": 3}}", json(question)))
            .output(&retrieved(&documents, rng))
            .attr(string("langfuse.observation.metadata.index", "\"kb-v3\""));

        let generation = self
            .span(1, root_id, "llm-call", llm_window)
            .observation("generation")
            .input(&self.messages(question, &documents))
            .output(&format!(
                "{{\"role\": \"assistant\", \"content\": {}}}",
                json(answer)
            ))
            .attr(string("langfuse.observation.model.name", "gpt-4o-mini"))
            .attr(string(
                "langfuse.observation.model.parameters",
                "{\"temperature\": 0.2, \"max_tokens\": 512}",
            ))
            .usage(380 + rng.below(400), 40 + rng.below(120))
            .attr(string(
                "langfuse.observation.completion_start_time",
                "\"2026-11-27T01:40:49.067048Z\"",
            ))
            .attr(string("langfuse.observation.prompt.name", "support-answer"))
            .attr(int("langfuse.observation.prompt.version", 7))
            .attr(string("langfuse.observation.metadata.region", "\"eu\""));

        let customer = rng.next_u64() & 0xff_ffff;
        let tool = self
            .span(2, root_id, "lookup-tool", tool_window)
            .observation("tool")
            .input(&format!(
                "{{\"name\": \"ticket_lookup\", \"arguments\": {{\"customer_id\": \"cus_{customer:06x}\"}}}}"
            ))
            .output(&format!(
                "{{\"plan\": \"annual\", \"region\": \"eu-west-1\", \"open_tickets\": \
                 [{{\"id\": \"T-{:05}\", \"status\": \"waiting_on_customer\", \"subject\": \
                 \"Export job failing since Monday\"}}, {{\"id\": \"T-{:05}\", \"status\": \
                 \"open\", \"subject\": \"Question about SSO setup\"}}]}}",
                rng.below(100_000),
                rng.below(100_000)
            ));

        let formatter = self
            .span(3, root_id, "format-answer", format_window)
            .observation("span")
            .input(&format!(
                "{{\"style\": \"markdown\", \"draft\": {}}}",
                json(answer)
            ))
            .output(&json(&format!("**Answer.** {answer}")));

        let mut root = self
            .span(4, 0, "handle-request", root_window)
            .observation("span")
            .input(&format!(
                "{{\"question\": {}, \"channel\": \"web-chat\"}}",
                json(question)
            ))
            .output(&format!(
                "{{\"answer\": {}, \"sources\": [{}]}}",
                json(answer),
                documents
                    .map(|doc| format!("\"{}\"", document_id(doc)))
                    .join(", ")
            ))
            .attr(KeyValue {
                key: "langfuse.internal.is_app_root".to_owned(),
                value: Some(AnyValue {
                    value: Some(Value::BoolValue(true)),
                }),
                ..KeyValue::default()
            });
        root.0.parent_span_id.clear();
        vec![retriever.0, generation.0, tool.0, formatter.0, root.0]
    }

    /// Returns the three documents the retriever finds: the topic's own and two others.
    fn pick_documents(&self, rng: &mut Rng) -> [usize; 3] {
        let second = (self.topic + 1 + rng.below(4) as usize) % DOCUMENTS.len();
        let third = (second + 1) % DOCUMENTS.len();
        let third = if third == self.topic {
            (third + 1) % DOCUMENTS.len()
        } else {
            third
        };
        [self.topic, second, third]
    }

    /// Returns the chat messages sent to the model: system prompt, history, question + context.
    fn messages(&self, question: &str, documents: &[usize]) -> String {
        let (earlier_question, earlier_answer) = HISTORY[self.topic % HISTORY.len()];
        let context: Vec<String> = documents
            .iter()
            .map(|&doc| format!("[{}] {}", document_id(doc), DOCUMENTS[doc]))
            .collect();
        let user = format!("{question}\n\nContext:\n{}", context.join("\n"));
        format!(
            "[{{\"role\": \"system\", \"content\": {}}}, {{\"role\": \"user\", \"content\": {}}}, \
             {{\"role\": \"assistant\", \"content\": {}}}, {{\"role\": \"user\", \"content\": {}}}]",
            json(SYSTEM_PROMPT),
            json(earlier_question),
            json(earlier_answer),
            json(&user),
        )
    }

    /// Starts a span `offset` positions into this trace, child of span `parent` (0 = root).
    fn span(&self, offset: u64, parent: u64, name: &str, (start, end): (u64, u64)) -> SpanBuilder {
        SpanBuilder(Span {
            trace_id: self.trace_id.clone(),
            span_id: placeholder_span_id(self.first_span + offset),
            parent_span_id: placeholder_span_id(parent),
            name: name.to_owned(),
            kind: SpanKind::Internal as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            flags: 256,
            status: Some(Status::default()),
            attributes: self.propagated.clone(),
            ..Span::default()
        })
    }
}

/// Adds attributes to a span under construction.
struct SpanBuilder(Span);

impl SpanBuilder {
    fn input(self, value: &str) -> Self {
        self.attr(string("langfuse.observation.input", value))
    }

    fn output(self, value: &str) -> Self {
        self.attr(string("langfuse.observation.output", value))
    }

    /// Adds usage and cost details priced like gpt-4o-mini ($0.15 / $0.60 per 1M tokens).
    fn usage(self, input: u64, output: u64) -> Self {
        let (input_cost, output_cost) = (input as f64 * 0.15e-6, output as f64 * 0.6e-6);
        let total = input + output;
        self.attr(string(
            "langfuse.observation.usage_details",
            &format!("{{\"input\": {input}, \"output\": {output}, \"total\": {total}}}"),
        ))
        .attr(string(
            "langfuse.observation.cost_details",
            &format!(
                "{{\"input\": {input_cost:.7}, \"output\": {output_cost:.7}, \"total\": {:.7}}}",
                input_cost + output_cost
            ),
        ))
    }

    fn observation(self, kind: &str) -> Self {
        self.attr(string("langfuse.observation.type", kind))
    }

    fn attr(mut self, attribute: KeyValue) -> Self {
        self.0.attributes.push(attribute);
        self
    }
}

/// Returns the retriever's output: the documents with ids and scores.
fn retrieved(documents: &[usize], rng: &mut Rng) -> String {
    let items: Vec<String> = documents
        .iter()
        .map(|&doc| {
            let score = 60 + rng.below(39);
            let (id, text) = (document_id(doc), json(DOCUMENTS[doc]));
            format!("{{\"id\": \"{id}\", \"score\": 0.{score}, \"text\": {text}}}")
        })
        .collect();
    format!("[{}]", items.join(", "))
}

fn document_id(doc: usize) -> String {
    format!("doc-{:03}", doc * 37 + 11)
}

fn json(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

fn str_value(text: &str) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(text.to_owned())),
    }
}

fn string(key: &str, text: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(str_value(text)),
        ..KeyValue::default()
    }
}

fn int(key: &str, number: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(Value::IntValue(number)),
        }),
        ..KeyValue::default()
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;

    #[test]
    fn trace_shape_cuts_the_last_trace_short() {
        assert_eq!(trace_shape(10), vec![5, 5]);
        assert_eq!(trace_shape(7), vec![5, 2]);
        assert_eq!(trace_shape(3), vec![3]);
    }

    #[test]
    fn spans_average_about_1_8_kb_and_keep_their_parents() {
        let mut rng = Rng::new(7);
        let request = build_request(&mut rng, 100, "pk-lf-bench");
        let spans = &request.resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans.len(), 100);
        let per_span = request.encoded_len() / spans.len();
        assert!(
            (1500..=2200).contains(&per_span),
            "average span is {per_span} bytes"
        );
        // Root of the first trace is span 4 (placeholder id 5); its children point at it.
        assert!(spans[4].parent_span_id.is_empty());
        assert_eq!(spans[0].parent_span_id, placeholder_span_id(4));
        assert_eq!(spans[5].trace_id, placeholder_trace_id(1));
        assert!(
            spans
                .iter()
                .all(|span| span.end_time_unix_nano < 10_000_000_000)
        );
    }
}
