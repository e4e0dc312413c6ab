//! OTLP/gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export`.
//!
//! This service is written by hand instead of using the generated server so that tonic hands
//! over the request message as raw bytes (already inflated if it was gzip-compressed). The
//! bytes are then decoded exactly once, on the blocking pool when large, by the same code as
//! OTLP/HTTP; tonic's generated server would decode them on the async task.

use std::convert::Infallible;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use periscope_proto::otlp_collector::ExportTraceServiceResponse;
use periscope_proto::pv1;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder};
use tonic::codegen::{BoxFuture, StdError};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic_prost::ProstEncoder;

use super::{ExportOutcome, OtlpBody, OtlpFormat, ingest_export};
use crate::body::ContentEncoding;
use crate::error::Result;
use crate::state::IngestState;

/// The fully qualified name of the OTLP trace service.
const SERVICE_NAME: &str = "opentelemetry.proto.collector.trace.v1.TraceService";
/// The path of its only method.
const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// The OTLP/gRPC trace service; add it to a tonic server or [`tonic::service::Routes`].
#[derive(Debug, Clone)]
pub struct OtlpTraceServer {
    state: IngestState,
}

impl OtlpTraceServer {
    /// Returns the service, appending through `state`.
    pub fn new(state: IngestState) -> Self {
        Self { state }
    }
}

impl NamedService for OtlpTraceServer {
    const NAME: &'static str = SERVICE_NAME;
}

impl<B> tower::Service<http::Request<B>> for OtlpTraceServer
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let state = self.state.clone();
        Box::pin(async move {
            if request.uri().path() != EXPORT_PATH {
                let status = tonic::Status::unimplemented(format!(
                    "{} is not a method of {SERVICE_NAME}",
                    request.uri().path()
                ));
                return Ok(status.into_http());
            }
            // tonic enforces the limit on the inflated size, so a gzip bomb stops at the limit.
            let mut grpc = Grpc::new(RawRequestCodec)
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(state.limits().max_body_bytes);
            Ok(grpc.unary(ExportMethod { state }, request).await)
        })
    }
}

/// The unary `Export` method over raw request bytes.
struct ExportMethod {
    state: IngestState,
}

impl UnaryService<Bytes> for ExportMethod {
    type Response = ExportTraceServiceResponse;
    type Future = BoxFuture<tonic::Response<Self::Response>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let state = self.state.clone();
        Box::pin(async move {
            let authorization = request
                .metadata()
                .get("authorization")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            let bytes = request.into_inner();
            let outcome = state
                .with_timeout(export(&state, authorization.as_deref(), bytes))
                .await?;
            Ok(tonic::Response::new(outcome.to_response()))
        })
    }
}

async fn export(
    state: &IngestState,
    authorization: Option<&str>,
    bytes: Bytes,
) -> Result<ExportOutcome> {
    let auth = state.authenticate_full(authorization).await?;
    let permit = state.try_reserve(bytes.len())?;
    let body = OtlpBody {
        bytes,
        format: OtlpFormat::Protobuf,
        encoding: ContentEncoding::Identity,
        source: pv1::Source::OtlpGrpc,
    };
    ingest_export(state, &auth, body, permit).await
}

/// Decodes a request message as its raw bytes and encodes responses with prost.
#[derive(Debug, Clone, Copy, Default)]
struct RawRequestCodec;

impl Codec for RawRequestCodec {
    type Encode = ExportTraceServiceResponse;
    type Decode = Bytes;
    type Encoder = ProstEncoder<ExportTraceServiceResponse>;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawDecoder
    }
}

/// Takes the message bytes without copying them.
#[derive(Debug, Clone, Copy, Default)]
struct RawDecoder;

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = tonic::Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        let length = buf.remaining();
        Ok(Some(buf.copy_to_bytes(length)))
    }
}
