//! Clients of the server under test: the OTLP export over gRPC or HTTP, and the trace read API.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use bytes::{Buf as _, BufMut as _, Bytes};
use flate2::Compression;
use flate2::write::GzEncoder;
use http::{HeaderValue, Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::transport::{Channel, Endpoint};

/// The OTLP/HTTP path Langfuse SDKs export to.
const OTLP_HTTP_PATH: &str = "/api/public/otel/v1/traces";

/// The gRPC method of `opentelemetry.proto.collector.trace.v1.TraceService`.
const OTLP_GRPC_METHOD: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// How the load is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Protocol {
    /// OTLP/gRPC `TraceService/Export`.
    Grpc,
    /// OTLP/HTTP protobuf to `/api/public/otel/v1/traces`.
    Http,
}

/// How one export ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExportOutcome {
    /// 2xx / gRPC OK: the server acknowledged the spans.
    Accepted,
    /// 429 / `RESOURCE_EXHAUSTED`: the server pushed back.
    Backpressure,
    /// Any other answer or a transport error, labelled for the report.
    Failed(String),
}

/// The pooled HTTP/1.1 client every reader and sender uses.
pub(crate) type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Sends pre-encoded `ExportTraceServiceRequest`s; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) enum ExportClient {
    /// gRPC over one or more HTTP/2 connections.
    Grpc {
        /// One channel per connection; sends rotate over them.
        channels: Arc<Vec<Channel>>,
        /// The rotation counter.
        next: Arc<AtomicUsize>,
        /// `Basic …` metadata value.
        authorization: AsciiMetadataValue,
        /// Whether messages are gzip-compressed.
        gzip: bool,
    },
    /// HTTP/1.1 with a connection pool.
    Http {
        /// The pooled client (boxed: it is much larger than the gRPC variant).
        client: Box<HttpClient>,
        /// The export URL.
        uri: Uri,
        /// `Basic …` header value.
        authorization: HeaderValue,
        /// Whether bodies are gzip-compressed.
        gzip: bool,
    },
}

/// Returns `Basic base64(public:secret)`.
pub(crate) fn basic_auth(public_key: &str, secret_key: &str) -> String {
    let token =
        base64::engine::general_purpose::STANDARD.encode(format!("{public_key}:{secret_key}"));
    format!("Basic {token}")
}

/// Returns a pooled HTTP/1.1 client.
pub(crate) fn http_client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector)
}

impl ExportClient {
    /// Connects to the server with `protocol`; gRPC opens `grpc_connections` connections.
    pub(crate) async fn connect(
        protocol: Protocol,
        http_base: &str,
        grpc_url: &str,
        grpc_connections: usize,
        authorization: &str,
        gzip: bool,
    ) -> anyhow::Result<Self> {
        match protocol {
            Protocol::Grpc => {
                let mut channels = Vec::with_capacity(grpc_connections.max(1));
                for _ in 0..grpc_connections.max(1) {
                    let endpoint = Endpoint::from_shared(grpc_url.to_owned())
                        .with_context(|| format!("--grpc {grpc_url} is not a URL"))?
                        .tcp_nodelay(true)
                        .connect_timeout(Duration::from_secs(5));
                    let channel = endpoint
                        .connect()
                        .await
                        .with_context(|| format!("failed to connect to --grpc {grpc_url}"))?;
                    channels.push(channel);
                }
                Ok(Self::Grpc {
                    channels: Arc::new(channels),
                    next: Arc::new(AtomicUsize::new(0)),
                    authorization: MetadataValue::try_from(authorization)
                        .context("the keys make an invalid authorization value")?,
                    gzip,
                })
            }
            Protocol::Http => Ok(Self::Http {
                client: Box::new(http_client()),
                uri: format!("{}{OTLP_HTTP_PATH}", http_base.trim_end_matches('/'))
                    .parse()
                    .with_context(|| format!("--http {http_base} is not a URL"))?,
                authorization: HeaderValue::from_str(authorization)
                    .context("the keys make an invalid authorization value")?,
                gzip,
            }),
        }
    }

    /// Returns the body to send for an encoded request: gzipped for HTTP with `--gzip` (kept
    /// out of `export` so that request latency does not include the client's compression).
    /// gRPC compresses inside tonic's encoder instead.
    pub(crate) fn prepare(&self, body: Bytes) -> Bytes {
        match self {
            // Compressing a Vec cannot fail; fall back to the identity body all the same.
            Self::Http { gzip: true, .. } => gzip_bytes(&body).unwrap_or(body),
            _ => body,
        }
    }

    /// Sends one prepared request body and waits for the server's answer.
    pub(crate) async fn export(&self, body: Bytes) -> ExportOutcome {
        match self {
            Self::Grpc {
                channels,
                next,
                authorization,
                gzip,
            } => {
                let index = next.fetch_add(1, Ordering::Relaxed) % channels.len();
                let mut grpc = tonic::client::Grpc::new(channels[index].clone());
                if *gzip {
                    grpc = grpc.send_compressed(CompressionEncoding::Gzip);
                }
                if let Err(error) = grpc.ready().await {
                    return ExportOutcome::Failed(format!("grpc transport: {error}"));
                }
                let mut request = tonic::Request::new(body);
                request
                    .metadata_mut()
                    .insert("authorization", authorization.clone());
                let path = http::uri::PathAndQuery::from_static(OTLP_GRPC_METHOD);
                match grpc.unary(request, path, RawCodec).await {
                    Ok(_) => ExportOutcome::Accepted,
                    Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                        ExportOutcome::Backpressure
                    }
                    Err(status) => ExportOutcome::Failed(format!("grpc {:?}", status.code())),
                }
            }
            Self::Http {
                client,
                uri,
                authorization,
                gzip,
            } => {
                let mut builder = Request::builder()
                    .method(Method::POST)
                    .uri(uri.clone())
                    .header(header::AUTHORIZATION, authorization.clone())
                    .header(header::CONTENT_TYPE, "application/x-protobuf");
                if *gzip {
                    builder = builder.header(header::CONTENT_ENCODING, "gzip");
                }
                let request = match builder.body(Full::new(body)) {
                    Ok(request) => request,
                    Err(error) => return ExportOutcome::Failed(format!("request: {error}")),
                };
                match client.request(request).await {
                    Ok(response) => {
                        let status = response.status();
                        // Read the body to the end so that the connection goes back to the pool.
                        let drained = response.into_body().collect().await;
                        match (status, drained) {
                            (status, Ok(_)) if status.is_success() => ExportOutcome::Accepted,
                            (StatusCode::TOO_MANY_REQUESTS, _) => ExportOutcome::Backpressure,
                            (status, Ok(_)) => {
                                ExportOutcome::Failed(format!("http {}", status.as_u16()))
                            }
                            (_, Err(error)) => ExportOutcome::Failed(format!("http body: {error}")),
                        }
                    }
                    Err(error) => {
                        ExportOutcome::Failed(format!("http transport: {}", error_kind(&error)))
                    }
                }
            }
        }
    }
}

/// Gzips `body` at the fastest level, as an SDK exporter would on every flush.
pub(crate) fn gzip_bytes(body: &[u8]) -> std::io::Result<Bytes> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::fast());
    encoder.write_all(body)?;
    Ok(Bytes::from(encoder.finish()?))
}

fn error_kind(error: &hyper_util::client::legacy::Error) -> &'static str {
    if error.is_connect() {
        "connect"
    } else {
        "request"
    }
}

/// Reads traces through `GET /api/public/traces/{id}`.
#[derive(Debug, Clone)]
pub(crate) struct TraceReader {
    client: HttpClient,
    base: String,
    authorization: HeaderValue,
}

impl TraceReader {
    /// Returns a reader of the server at `http_base`.
    pub(crate) fn new(http_base: &str, authorization: &str) -> anyhow::Result<Self> {
        Ok(Self {
            client: http_client(),
            base: http_base.trim_end_matches('/').to_owned(),
            authorization: HeaderValue::from_str(authorization)
                .context("the keys make an invalid authorization value")?,
        })
    }

    /// Fetches trace `trace_id` (hex); returns the status and the body.
    pub(crate) async fn get_trace(&self, trace_id: &str) -> anyhow::Result<(StatusCode, Bytes)> {
        let uri: Uri = format!("{}/api/public/traces/{trace_id}", self.base).parse()?;
        let request = Request::builder()
            .method(Method::GET)
            .uri(uri)
            .header(header::AUTHORIZATION, self.authorization.clone())
            .body(Full::new(Bytes::new()))?;
        let response = self.client.request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// Sends pre-encoded request bytes as they are and ignores the (empty) response message.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ();
    type Encoder = RawEncoder;
    type Decoder = DiscardDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        RawEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        DiscardDecoder
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct RawEncoder;

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, buffer: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        buffer.put_slice(&item);
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct DiscardDecoder;

impl Decoder for DiscardDecoder {
    type Item = ();
    type Error = tonic::Status;

    fn decode(&mut self, buffer: &mut DecodeBuf<'_>) -> Result<Option<()>, tonic::Status> {
        let length = buffer.remaining();
        buffer.advance(length);
        Ok(Some(()))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use flate2::read::GzDecoder;

    use super::*;

    #[test]
    fn basic_auth_encodes_the_key_pair() {
        // WIRE-PROTOCOL.md §1's example pair.
        assert_eq!(
            basic_auth("pk-lf-example", "sk-lf-example"),
            "Basic cGstbGYtZXhhbXBsZTpzay1sZi1leGFtcGxl"
        );
    }

    #[test]
    fn gzip_round_trips() {
        let body = b"periscope ".repeat(1000);
        let compressed = gzip_bytes(&body).unwrap();
        assert!(compressed.len() < body.len() / 10);
        let mut inflated = Vec::new();
        GzDecoder::new(&compressed[..])
            .read_to_end(&mut inflated)
            .unwrap();
        assert_eq!(inflated, body);
    }
}
