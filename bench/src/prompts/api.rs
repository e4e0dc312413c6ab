//! The prompt endpoints of the server under test: create a version, fetch one.

use anyhow::Context as _;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt as _, Full};
use serde_json::Value;

use crate::client::{HttpClient, http_client};
use crate::phase::Target;
use crate::prompts::corpus::FetchKey;

/// Calls `/api/public/v2/prompts` with Basic auth; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct PromptApi {
    client: HttpClient,
    base: String,
    authorization: HeaderValue,
}

/// How a fetch went wrong, as a report label (`http 404`, `wrong version`, `transport`).
pub(crate) type FetchError = String;

impl PromptApi {
    /// Returns a client of the server at `http_base`.
    pub(crate) fn new(http_base: &str, authorization: &str) -> anyhow::Result<Self> {
        Ok(Self {
            client: http_client(),
            base: http_base.trim_end_matches('/').to_owned(),
            authorization: HeaderValue::from_str(authorization)
                .context("the keys make an invalid authorization value")?,
        })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header(header::AUTHORIZATION, self.authorization.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))?;
        let response = self.client.request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// Creates a version from a `CreatePromptRequest` body; fails unless the server says 201.
    pub(crate) async fn create(&self, body: &Value) -> anyhow::Result<()> {
        let bytes = Bytes::from(serde_json::to_vec(body)?);
        let (status, answer) = self
            .call(Method::POST, "/api/public/v2/prompts", bytes)
            .await
            .context("POST /api/public/v2/prompts failed")?;
        if status != StatusCode::CREATED {
            anyhow::bail!(
                "POST /api/public/v2/prompts answered {status}: {}",
                String::from_utf8_lossy(&answer)
            );
        }
        Ok(())
    }

    /// Fetches `key` and checks that the answer is the version it names.
    pub(crate) async fn fetch_prompt(&self, key: &FetchKey) -> Result<(), FetchError> {
        let (status, body) = self
            .call(Method::GET, &key.path, Bytes::new())
            .await
            .map_err(|_| "transport".to_owned())?;
        if status != StatusCode::OK {
            return Err(format!("http {}", status.as_u16()));
        }
        check_answer(&body, key)
    }
}

impl Target for PromptApi {
    type Key = FetchKey;

    fn fetch(&self, key: &FetchKey) -> impl Future<Output = Result<(), FetchError>> + Send {
        self.fetch_prompt(key)
    }
}

/// Checks that a fetched prompt is the name and version asked for, with its content.
fn check_answer(body: &[u8], key: &FetchKey) -> Result<(), FetchError> {
    let prompt: Value = serde_json::from_slice(body).map_err(|_| "malformed json".to_owned())?;
    let right_version = prompt["version"].as_u64() == Some(u64::from(key.version));
    let right_name = prompt["name"].as_str() == Some(key.name.as_str());
    let has_content = match &prompt["prompt"] {
        Value::String(text) => !text.is_empty(),
        Value::Array(messages) => !messages.is_empty(),
        _ => false,
    };
    if !right_name {
        return Err("wrong name".to_owned());
    }
    if !right_version {
        return Err("wrong version".to_owned());
    }
    if !has_content {
        return Err("no content".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn answers_must_name_the_version_asked_for() {
        let key = FetchKey {
            path: "/api/public/v2/prompts/a%2Fb?version=2".to_owned(),
            name: "a/b".to_owned(),
            version: 2,
        };
        let answer = |value: Value| serde_json::to_vec(&value).unwrap();
        let good = answer(json!({"name": "a/b", "version": 2, "prompt": "hi"}));
        assert_eq!(check_answer(&good, &key), Ok(()));
        let stale = answer(json!({"name": "a/b", "version": 1, "prompt": "hi"}));
        assert_eq!(check_answer(&stale, &key), Err("wrong version".to_owned()));
        let other = answer(json!({"name": "a/c", "version": 2, "prompt": "hi"}));
        assert_eq!(check_answer(&other, &key), Err("wrong name".to_owned()));
        let chat = answer(json!({"name": "a/b", "version": 2, "prompt": [{"role": "user"}]}));
        assert_eq!(check_answer(&chat, &key), Ok(()));
        assert!(check_answer(b"nope", &key).is_err());
    }
}
