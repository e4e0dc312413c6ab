use periscope_proto::otlp_common::InstrumentationScope;
use periscope_proto::otlp_resource::Resource;

use super::*;

fn span(trace: u8, id: u8, name: &str) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        name: name.to_owned(),
        start_time_unix_nano: 10,
        end_time_unix_nano: 20,
        ..Span::default()
    }
}

fn scope(name: &str, spans: Vec<Span>) -> ScopeSpans {
    ScopeSpans {
        scope: Some(InstrumentationScope {
            name: name.to_owned(),
            ..Default::default()
        }),
        spans,
        schema_url: format!("scope-schema-{name}"),
    }
}

fn resource(service: &str, scope_spans: Vec<ScopeSpans>) -> ResourceSpans {
    ResourceSpans {
        resource: Some(Resource {
            dropped_attributes_count: service.len() as u32,
            ..Default::default()
        }),
        scope_spans,
        schema_url: format!("resource-schema-{service}"),
    }
}

const CONTEXT: EventContext<'static> = EventContext {
    project_id: "p",
    source: pv1::Source::OtlpHttp,
    received_at_unix_nano: 7,
};

fn decode(record: &LogRecord) -> (String, ResourceSpans) {
    let event = pv1::Event::decode(record.value.clone()).unwrap();
    assert_eq!(event.project_id, "p");
    assert_eq!(event.received_at_unix_nano, 7);
    assert_eq!(event.schema_version, SCHEMA_VERSION);
    let Some(pv1::event::Body::OtlpSpans(spans)) = event.body else {
        panic!("not otlp spans")
    };
    (String::from_utf8(record.key.to_vec()).unwrap(), spans)
}

fn names(spans: &ResourceSpans) -> Vec<Vec<&str>> {
    spans
        .scope_spans
        .iter()
        .map(|s| s.spans.iter().map(|x| x.name.as_str()).collect())
        .collect()
}

#[test]
fn spans_are_grouped_per_resource_and_trace_keeping_scopes_and_order() {
    let request = ExportTraceServiceRequest {
        resource_spans: vec![
            resource(
                "a",
                vec![
                    scope(
                        "s1",
                        vec![span(1, 1, "t1-a"), span(2, 2, "t2-a"), span(1, 3, "t1-b")],
                    ),
                    scope("s2", vec![span(1, 4, "t1-c")]),
                ],
            ),
            resource(
                "bb",
                vec![scope("s3", vec![span(1, 5, "t1-other-resource")])],
            ),
        ],
    };
    let split = split_export(request, CONTEXT);
    assert_eq!(split.accepted_spans, 5);
    assert_eq!(split.rejected_spans, 0);
    assert!(split.error_message.is_empty());
    let groups: Vec<_> = split.records.iter().map(decode).collect();
    assert_eq!(groups.len(), 3);
    let trace_1_key = format!("p/{}", "01".repeat(16));
    assert_eq!(groups[0].0, trace_1_key);
    assert_eq!(names(&groups[0].1), [vec!["t1-a", "t1-b"], vec!["t1-c"]]);
    assert_eq!(
        groups[0].1.scope_spans[1].scope.as_ref().unwrap().name,
        "s2"
    );
    assert_eq!(groups[0].1.scope_spans[1].schema_url, "scope-schema-s2");
    assert_eq!(groups[0].1.schema_url, "resource-schema-a");
    assert_eq!(groups[1].0, format!("p/{}", "02".repeat(16)));
    assert_eq!(names(&groups[1].1), [vec!["t2-a"]]);
    assert_eq!(groups[2].0, trace_1_key);
    assert_eq!(
        groups[2]
            .1
            .resource
            .as_ref()
            .unwrap()
            .dropped_attributes_count,
        2
    );
}

/// Breaks one invariant of a valid span.
type Mutation = fn(&mut Span);

#[test]
fn each_invariant_is_checked_and_named() {
    let cases: [(Mutation, SpanProblem); 6] = [
        (|s| s.trace_id = vec![1; 17], SpanProblem::TraceIdLength(17)),
        (|s| s.trace_id = vec![0; 16], SpanProblem::TraceIdZero),
        (|s| s.span_id = Vec::new(), SpanProblem::SpanIdLength(0)),
        (|s| s.span_id = vec![0; 8], SpanProblem::SpanIdZero),
        (
            |s| s.parent_span_id = vec![1; 16],
            SpanProblem::ParentSpanIdLength(16),
        ),
        (
            |s| s.end_time_unix_nano = 9,
            SpanProblem::EndBeforeStart { start: 10, end: 9 },
        ),
    ];
    for (mutate, expected) in cases {
        let mut invalid = span(1, 1, "x");
        mutate(&mut invalid);
        assert_eq!(validate_span(&invalid), Err(expected));
    }
    let mut open = span(1, 1, "");
    open.end_time_unix_nano = 0;
    open.parent_span_id = vec![3; 8];
    assert_eq!(
        validate_span(&open),
        Ok([1; 16]),
        "empty name, unset end and a parent are fine"
    );
}

#[test]
fn rejections_are_counted_and_the_message_is_capped() {
    let mut spans: Vec<Span> = (0..15)
        .map(|i| {
            let mut bad = span(1, 1, "bad");
            bad.span_id = vec![i; 3];
            bad
        })
        .collect();
    spans.push(span(9, 9, "good"));
    let request = ExportTraceServiceRequest {
        resource_spans: vec![resource("a", vec![scope("s", spans)])],
    };
    let split = split_export(request, CONTEXT);
    assert_eq!((split.accepted_spans, split.rejected_spans), (1, 15));
    assert_eq!(split.records.len(), 1);
    assert!(
        split.error_message.starts_with(
            "resource_spans[0].scope_spans[0].spans[0]: span_id must be 8 bytes, got 3"
        )
    );
    assert!(split.error_message.contains("spans[9]:"));
    assert!(!split.error_message.contains("spans[10]:"));
    assert!(
        split.error_message.ends_with("and 5 more rejected spans"),
        "{}",
        split.error_message
    );
}

#[test]
fn a_request_without_valid_spans_yields_no_records() {
    let request = ExportTraceServiceRequest {
        resource_spans: vec![
            resource("a", vec![scope("s", Vec::new())]),
            resource("b", Vec::new()),
        ],
    };
    let split = split_export(request, CONTEXT);
    assert!(split.records.is_empty());
    assert_eq!((split.accepted_spans, split.rejected_spans), (0, 0));
}
