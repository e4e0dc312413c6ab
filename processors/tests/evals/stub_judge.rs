//! A small OpenAI-compatible judge on 127.0.0.1:0 (the only stand-in these tests use: an LLM).
//!
//! It answers `POST /v1/chat/completions`. By default it judges faithfulness the way the seed
//! experiment needs: an answer whose every content word appears in the context scores 1, any
//! other answer 0. A marker in the prompt selects a misbehaviour instead:
//! `[slow]` never answers in time, `[garbage]` answers prose without a score, `[429-twice]`
//! answers 429 twice then judges, `[429-always]` always answers 429.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The key the stub expects as `Authorization: Bearer ...`.
pub(crate) const STUB_API_KEY: &str = "sk-stub-judge-key-0123456789";

#[derive(Debug, Default)]
pub(crate) struct StubState {
    /// Requests seen per marker (`""` for plain judgements).
    pub(crate) requests: Mutex<HashMap<String, u32>>,
    /// The bodies of every request.
    pub(crate) bodies: Mutex<Vec<Value>>,
}

impl StubState {
    pub(crate) fn count(&self, marker: &str) -> u32 {
        self.requests
            .lock()
            .unwrap()
            .get(marker)
            .copied()
            .unwrap_or(0)
    }
}

/// Starts the stub; returns its base URL (`http://127.0.0.1:PORT/v1`) and its state.
pub(crate) async fn start(
    tasks: &mut JoinSet<()>,
    cancel: CancellationToken,
) -> (String, Arc<StubState>) {
    let state = Arc::new(StubState::default());
    let app = axum::Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tasks.spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(cancel.cancelled_owned())
            .await
            .unwrap();
    });
    (format!("http://{address}/v1"), state)
}

const MARKERS: [&str; 4] = ["[slow]", "[garbage]", "[429-twice]", "[429-always]"];

async fn completions(
    State(state): State<Arc<StubState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let expected = format!("Bearer {STUB_API_KEY}");
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (StatusCode::UNAUTHORIZED, "bad key").into_response();
    }
    let prompt = body["messages"][1]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    state.bodies.lock().unwrap().push(body);
    let marker = MARKERS
        .iter()
        .find(|m| prompt.contains(**m))
        .copied()
        .unwrap_or("");
    let seen = {
        let mut requests = state.requests.lock().unwrap();
        let count = requests.entry(marker.to_owned()).or_default();
        *count += 1;
        *count
    };
    match marker {
        "[slow]" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            completion("{\"score\": 1}")
        }
        "[garbage]" => completion("Honestly, I would rather not grade this one."),
        "[429-twice]" if seen <= 2 => rate_limited(),
        "[429-always]" => rate_limited(),
        _ => {
            let score = faithfulness(&prompt);
            completion(&format!(
                "Here is my verdict:\n```json\n{{\"reasoning\": \"compared the answer with the \
                 context\", \"score\": {score}}}\n```"
            ))
        }
    }
}

fn rate_limited() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [("retry-after", "0")],
        Json(json!({"error": {"message": "slow down", "type": "rate_limit"}})),
    )
        .into_response()
}

fn completion(content: &str) -> Response {
    Json(json!({
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "model": "stub-judge",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49},
    }))
    .into_response()
}

/// Returns the text after the line `heading` up to the next blank line.
fn section(prompt: &str, heading: &str) -> String {
    let Some(start) = prompt.find(heading) else {
        return String::new();
    };
    let rest = &prompt[start + heading.len()..];
    rest.split("\n\n")
        .next()
        .unwrap_or_default()
        .trim()
        .to_lowercase()
}

/// 1 when every word of four letters or more of the answer appears in the context.
fn faithfulness(prompt: &str) -> u8 {
    let context = section(prompt, "Context:");
    let answer = section(prompt, "Answer:");
    let words: Vec<String> = answer
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| word.len() >= 4)
        .map(str::to_owned)
        .collect();
    u8::from(!words.is_empty() && words.iter().all(|word| context.contains(word.as_str())))
}
