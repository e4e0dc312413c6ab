//! The read endpoints the `query` command measures, as a phase target.

use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt as _, Full};
use serde_json::Value;

use crate::client::{HttpClient, http_client};
use crate::phase::Target;

/// Longest wait for one answer; slower reads count as failed (`timeout`), so that one
/// pathological filter cannot hold a phase for minutes.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// One read: a path and query, and what its answer must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Read {
    /// Path and query, e.g. `/api/public/traces/abc`.
    pub(crate) path: String,
    /// What a correct answer looks like.
    pub(crate) expect: Expect,
}

/// What a correct answer looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// A trace with at least one observation.
    TraceWithObservations,
    /// A page (`data` array, `meta.totalItems`) with at least one item.
    NonEmptyPage,
}

/// Calls the read API with Basic auth; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct ReadApi {
    client: HttpClient,
    base: String,
    authorization: HeaderValue,
}

impl ReadApi {
    /// Returns a client of the server at `http_base`.
    pub(crate) fn new(http_base: &str, authorization: &str) -> anyhow::Result<Self> {
        Ok(Self {
            client: http_client(),
            base: http_base.trim_end_matches('/').to_owned(),
            authorization: HeaderValue::from_str(authorization)
                .context("the keys make an invalid authorization value")?,
        })
    }

    /// GETs `path` and returns the status and the parsed JSON body (`Null` if not JSON).
    pub(crate) async fn get_json(&self, path: &str) -> anyhow::Result<(StatusCode, Value)> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(format!("{}{path}", self.base))
            .header(header::AUTHORIZATION, self.authorization.clone())
            .body(Full::new(Bytes::new()))?;
        let response = self.client.request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
    }

    async fn read(&self, read: &Read) -> Result<(), String> {
        let (status, body) = tokio::time::timeout(READ_TIMEOUT, self.get_json(&read.path))
            .await
            .map_err(|_| "timeout".to_owned())?
            .map_err(|_| "transport".to_owned())?;
        if status != StatusCode::OK {
            return Err(format!("http {}", status.as_u16()));
        }
        check(&body, read.expect)
    }
}

impl Target for ReadApi {
    type Key = Read;

    fn fetch(&self, key: &Read) -> impl Future<Output = Result<(), String>> + Send {
        self.read(key)
    }
}

/// Checks an answer against what it must hold.
fn check(body: &Value, expect: Expect) -> Result<(), String> {
    let holds = match expect {
        Expect::TraceWithObservations => body["observations"]
            .as_array()
            .is_some_and(|observations| !observations.is_empty()),
        Expect::NonEmptyPage => body["data"].as_array().is_some_and(|data| !data.is_empty()),
    };
    if holds {
        Ok(())
    } else {
        Err(format!("unexpected answer ({expect:?})"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn answers_must_hold_data() {
        let trace = json!({"id": "t", "observations": [{"id": "o"}]});
        assert_eq!(check(&trace, Expect::TraceWithObservations), Ok(()));
        assert!(
            check(
                &json!({"id": "t", "observations": []}),
                Expect::TraceWithObservations
            )
            .is_err()
        );
        assert_eq!(
            check(&json!({"data": [1], "meta": {}}), Expect::NonEmptyPage),
            Ok(())
        );
        assert!(check(&json!({"data": []}), Expect::NonEmptyPage).is_err());
        assert!(check(&Value::Null, Expect::NonEmptyPage).is_err());
    }
}
