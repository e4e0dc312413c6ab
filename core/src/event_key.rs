//! The log key of an ingest event, derived from the event itself — the same key the ingest
//! edge gave it (`project_id/trace_id`, DESIGN.md §4) — so a replay of archived events lands
//! every trace on the partition its live events used.

use serde_json::Value;

use crate::topics;
use periscope_proto::pv1::{self, event::Body};

/// Returns the key of `event`: its trace where it has one (OTLP spans: the trace id; legacy
/// trace events: `body.id`; observations and scores: `body.traceId`), else a score's session or
/// dataset run, else the entity id, else the event id. An offloaded event (`BlobRef`) must be
/// resolved first; unresolved it is keyed by its event id.
pub fn event_key(event: &pv1::Event) -> Vec<u8> {
    let subject = match &event.body {
        Some(Body::OtlpSpans(spans)) => spans
            .scope_spans
            .iter()
            .flat_map(|scope| &scope.spans)
            .map(|span| hex::encode(&span.trace_id))
            .find(|trace_id| !trace_id.is_empty()),
        Some(Body::LangfuseEvent(legacy)) => legacy_subject(legacy),
        Some(Body::ScoreJson(json)) => serde_json::from_slice::<Value>(json)
            .ok()
            .and_then(|score| first_field(&score, &["traceId", "sessionId", "datasetRunId", "id"])),
        Some(Body::DatasetRunItemJson(json)) => serde_json::from_slice::<Value>(json)
            .ok()
            .and_then(|item| first_field(&item, &["traceId", "id"])),
        Some(Body::BlobRef(_)) | None => None,
    };
    topics::trace_key(
        &event.project_id,
        subject.as_deref().unwrap_or(&event.event_id),
    )
}

fn legacy_subject(legacy: &pv1::LangfuseEvent) -> Option<String> {
    let body: Value = serde_json::from_slice(&legacy.body_json).ok()?;
    let fields: &[&str] = match legacy.event_type.as_str() {
        "trace-create" => &["id"],
        "score-create" => &["traceId", "sessionId", "datasetRunId", "id"],
        _ => &["traceId", "id"],
    };
    first_field(&body, fields).or_else(|| Some(legacy.envelope_id.clone()))
}

fn first_field(body: &Value, names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|name| body.get(name).and_then(Value::as_str))
        .find(|id| !id.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use periscope_proto::otlp_trace::{ResourceSpans, ScopeSpans, Span};

    fn event(body: Body) -> pv1::Event {
        pv1::Event {
            event_id: "event-1".to_owned(),
            project_id: "p".to_owned(),
            body: Some(body),
            ..pv1::Event::default()
        }
    }

    fn legacy(event_type: &str, body: &str) -> Body {
        Body::LangfuseEvent(pv1::LangfuseEvent {
            envelope_id: "envelope-1".to_owned(),
            event_type: event_type.to_owned(),
            timestamp: String::new(),
            body_json: body.as_bytes().to_vec(),
        })
    }

    #[test]
    fn each_body_kind_is_keyed_by_its_trace_or_its_fallbacks() {
        let spans = Body::OtlpSpans(ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![0xab; 16],
                    ..Span::default()
                }],
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        });
        let cases = [
            (spans, format!("p/{}", "ab".repeat(16))),
            (legacy("trace-create", r#"{"id":"t1"}"#), "p/t1".to_owned()),
            (
                legacy("span-update", r#"{"id":"s1","traceId":"t2"}"#),
                "p/t2".to_owned(),
            ),
            (legacy("span-update", r#"{"id":"s1"}"#), "p/s1".to_owned()),
            (
                legacy("score-create", r#"{"id":"x","sessionId":"sess"}"#),
                "p/sess".to_owned(),
            ),
            (legacy("event-create", "{}"), "p/envelope-1".to_owned()),
            (
                Body::ScoreJson(br#"{"id":"sc","traceId":"t3"}"#.to_vec()),
                "p/t3".to_owned(),
            ),
            (
                Body::ScoreJson(b"not json".to_vec()),
                "p/event-1".to_owned(),
            ),
        ];
        for (body, expected) in cases {
            let key = event_key(&event(body.clone()));
            assert_eq!(String::from_utf8(key).unwrap(), expected, "{body:?}");
        }
    }
}
