//! The judge client: `POST {base_url}/chat/completions` (OpenAI protocol) with a timeout per
//! request, retries with capped exponential backoff on 429, 5xx, timeouts and connection
//! errors (honouring `Retry-After`), and a limit of concurrent requests per connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderName, HeaderValue, Request, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use periscope_core::evals::{LlmConnection, OutputSpec};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::answer::excerpt;

/// The largest judge response read.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Timeouts, retries and concurrency of judge calls.
#[derive(Debug, Clone)]
pub struct JudgeSettings {
    /// Deadline of one request, response body included.
    pub request_timeout: Duration,
    /// Requests per job, the first included.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Requests in flight per LLM connection.
    pub connection_concurrency: usize,
}

impl Default for JudgeSettings {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(60),
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            connection_concurrency: 4,
        }
    }
}

/// One judge request.
#[derive(Debug)]
pub(crate) struct JudgeCall<'a> {
    pub(crate) connection: &'a LlmConnection,
    pub(crate) api_key: Option<&'a str>,
    pub(crate) model: &'a str,
    pub(crate) prompt: &'a str,
    pub(crate) output: &'a OutputSpec,
}

/// The judge's message and what it cost.
#[derive(Debug, Clone)]
pub(crate) struct JudgeReply {
    pub(crate) content: String,
    pub(crate) prompt_tokens: Option<i64>,
    pub(crate) completion_tokens: Option<i64>,
    pub(crate) attempts: i64,
    pub(crate) latency: Duration,
}

/// Why no answer came.
#[derive(Debug, Clone)]
pub(crate) struct JudgeFailure {
    /// `timeout`, `rate_limited`, `server_error`, `connection_error`, `http_error`,
    /// `invalid_response`.
    pub(crate) reason: &'static str,
    pub(crate) message: String,
    pub(crate) attempts: i64,
    pub(crate) latency: Duration,
}

/// How one attempt ended.
enum Attempt {
    Answered(Value),
    Retry {
        reason: &'static str,
        message: String,
        retry_after: Option<Duration>,
    },
    Fatal {
        reason: &'static str,
        message: String,
    },
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Sends judge prompts to OpenAI-compatible endpoints.
#[derive(Debug)]
pub(crate) struct Judge {
    client: HttpsClient,
    settings: JudgeSettings,
    limits: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Judge {
    /// Returns a client for `http://` and `https://` endpoints (rustls on ring, webpki roots).
    pub(crate) fn new(settings: JudgeSettings) -> Result<Self, rustls::Error> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            settings,
            limits: Mutex::new(HashMap::new()),
        })
    }

    fn limit(&self, connection_id: &str) -> Arc<Semaphore> {
        let mut limits = self
            .limits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        limits
            .entry(connection_id.to_owned())
            .or_insert_with(|| {
                Arc::new(Semaphore::new(self.settings.connection_concurrency.max(1)))
            })
            .clone()
    }

    /// Asks the judge, retrying transient failures.
    pub(crate) async fn ask(&self, call: &JudgeCall<'_>) -> Result<JudgeReply, JudgeFailure> {
        let body = Bytes::from(request_body(call).to_string());
        let limit = self.limit(&call.connection.id);
        let started = Instant::now();
        let mut backoff = self.settings.initial_backoff;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let attempt = {
                let _permit = limit.acquire().await;
                self.attempt(call, body.clone()).await
            };
            let failure = |reason, message| JudgeFailure {
                reason,
                message,
                attempts,
                latency: started.elapsed(),
            };
            match attempt {
                Attempt::Answered(response) => {
                    return read_reply(&response, attempts, started.elapsed())
                        .map_err(|message| failure("invalid_response", message));
                }
                Attempt::Fatal { reason, message } => return Err(failure(reason, message)),
                Attempt::Retry {
                    reason,
                    message,
                    retry_after,
                } => {
                    if attempts >= i64::from(self.settings.max_attempts) {
                        return Err(failure(
                            reason,
                            format!("{message} (gave up after {attempts} attempts)"),
                        ));
                    }
                    let wait = retry_after
                        .unwrap_or(backoff)
                        .min(self.settings.max_backoff);
                    tracing::debug!(
                        reason,
                        attempts,
                        wait_ms = wait.as_millis() as u64,
                        "retrying the judge"
                    );
                    tokio::time::sleep(wait).await;
                    backoff = (backoff * 2).min(self.settings.max_backoff);
                }
            }
        }
    }

    async fn attempt(&self, call: &JudgeCall<'_>, body: Bytes) -> Attempt {
        let request = match build_request(call, body) {
            Ok(request) => request,
            Err(message) => {
                return Attempt::Fatal {
                    reason: "invalid_request",
                    message,
                };
            }
        };
        let exchange = async {
            let response = self.client.request(request).await?;
            let (parts, body) = response.into_parts();
            let bytes = Limited::new(body, MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|error| ExchangeError::Body(error.to_string()))?
                .to_bytes();
            Ok::<_, ExchangeError>((parts, bytes))
        };
        let (parts, bytes) =
            match tokio::time::timeout(self.settings.request_timeout, exchange).await {
                Err(_) => {
                    return Attempt::Retry {
                        reason: "timeout",
                        message: format!(
                            "the judge did not answer within {} ms",
                            self.settings.request_timeout.as_millis()
                        ),
                        retry_after: None,
                    };
                }
                Ok(Err(error)) => {
                    return Attempt::Retry {
                        reason: "connection_error",
                        message: error.to_string(),
                        retry_after: None,
                    };
                }
                Ok(Ok(answer)) => answer,
            };
        let text = String::from_utf8_lossy(&bytes);
        match parts.status {
            StatusCode::OK => match serde_json::from_slice(&bytes) {
                Ok(value) => Attempt::Answered(value),
                Err(error) => Attempt::Fatal {
                    reason: "invalid_response",
                    message: format!(
                        "the judge's response is not JSON ({error}): {}",
                        excerpt(&text)
                    ),
                },
            },
            StatusCode::TOO_MANY_REQUESTS => Attempt::Retry {
                reason: "rate_limited",
                message: format!("the judge answered 429: {}", excerpt(&text)),
                retry_after: retry_after(&parts.headers),
            },
            status if status.is_server_error() => Attempt::Retry {
                reason: "server_error",
                message: format!("the judge answered {status}: {}", excerpt(&text)),
                retry_after: retry_after(&parts.headers),
            },
            status => Attempt::Fatal {
                reason: "http_error",
                message: format!("the judge answered {status}: {}", excerpt(&text)),
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum ExchangeError {
    #[error("failed to reach the judge: {0}")]
    Connect(#[from] hyper_util::client::legacy::Error),
    #[error("failed to read the judge's response: {0}")]
    Body(String),
}

/// Returns the chat completion request: the prompt as the user message, an instruction to
/// answer JSON, and the same as a `json_schema` response format for servers that enforce it.
fn request_body(call: &JudgeCall<'_>) -> Value {
    let instruction = format!(
        "You are an evaluator. Answer only with a JSON object of the form \
         {{\"reasoning\": \"<one or two sentences>\", \"score\": <score>}}, where score is {}.",
        call.output.describe()
    );
    json!({
        "model": call.model,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": instruction},
            {"role": "user", "content": call.prompt},
        ],
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "judgement",
                "strict": true,
                "schema": {
                    "type": "object",
                    "properties": {
                        "reasoning": {"type": "string"},
                        "score": call.output.score_schema(),
                    },
                    "required": ["reasoning", "score"],
                    "additionalProperties": false,
                },
            },
        },
    })
}

fn build_request(call: &JudgeCall<'_>, body: Bytes) -> Result<Request<Full<Bytes>>, String> {
    let url = call.connection.chat_completions_url();
    let mut builder = Request::post(&url).header(CONTENT_TYPE, "application/json");
    if let Some(key) = call.api_key.filter(|key| !key.is_empty()) {
        let value = HeaderValue::from_str(&format!("Bearer {key}"))
            .map_err(|_| "the API key has characters a header cannot carry".to_owned())?;
        builder = builder.header(AUTHORIZATION, value);
    }
    for (name, value) in &call.connection.extra_headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("extra header {name:?} is not a valid header name"))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| format!("extra header {name} has an invalid value"))?;
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(body))
        .map_err(|error| format!("invalid judge request to {url}: {error}"))
}

/// Reads `Retry-After` given in seconds.
fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let seconds: f64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// Reads the message and usage of a chat completion.
fn read_reply(response: &Value, attempts: i64, latency: Duration) -> Result<JudgeReply, String> {
    let message = &response["choices"][0]["message"];
    let content = match &message["content"] {
        Value::String(text) => text.clone(),
        // Some servers put structured output in `parsed` or return content parts.
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| part["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ if message["parsed"].is_object() => message["parsed"].to_string(),
        _ => {
            return Err(format!(
                "the judge's response has no choices[0].message.content: {}",
                excerpt(&response.to_string())
            ));
        }
    };
    Ok(JudgeReply {
        content,
        prompt_tokens: response["usage"]["prompt_tokens"].as_i64(),
        completion_tokens: response["usage"]["completion_tokens"].as_i64(),
        attempts,
        latency,
    })
}
