//! OTLP/HTTP: `POST /api/public/otel/v1/traces` and `POST /v1/traces`, protobuf or JSON, each
//! with or without gzip (WIRE-PROTOCOL.md §2).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use periscope_proto::pv1;
use prost::Message;

use super::{ExportOutcome, OtlpBody, OtlpFormat, ingest_export};
use crate::body::{authorization, content_encoding, media_type, read_body};
use crate::error::{IngestError, Result};
use crate::state::IngestState;

const PROTOBUF_CONTENT_TYPE: &str = "application/x-protobuf";

/// Handles one OTLP/HTTP trace export.
pub(crate) async fn export_traces(
    State(state): State<IngestState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let format = match otlp_format(&headers) {
        Ok(format) => format,
        Err(error) => return error.into_response(),
    };
    match state
        .with_timeout(export(&state, &headers, body, format))
        .await
    {
        Ok(outcome) => success_response(format, &outcome),
        Err(error) => error.into_response(),
    }
}

async fn export(
    state: &IngestState,
    headers: &HeaderMap,
    body: Body,
    format: OtlpFormat,
) -> Result<ExportOutcome> {
    let encoding = content_encoding(headers)?;
    // Authenticate before reading the body, so an unauthenticated client costs no buffering.
    let auth = state.authenticate_full(authorization(headers)).await?;
    let (bytes, permit) = read_body(state, headers, body).await?;
    let body = OtlpBody {
        bytes,
        format,
        encoding,
        source: pv1::Source::OtlpHttp,
    };
    ingest_export(state, &auth, body, permit).await
}

/// Returns the body format from `Content-Type`; a missing type is read as protobuf, the
/// OTLP/HTTP default.
fn otlp_format(headers: &HeaderMap) -> Result<OtlpFormat> {
    let media_type = media_type(headers);
    match media_type.as_str() {
        "" | "application/x-protobuf" | "application/protobuf" => Ok(OtlpFormat::Protobuf),
        "application/json" => Ok(OtlpFormat::Json),
        _ => Err(IngestError::UnsupportedContentType {
            content_type: media_type,
            expected: "application/x-protobuf or application/json",
        }),
    }
}

/// Returns 200 with an `ExportTraceServiceResponse` in the request's format.
fn success_response(format: OtlpFormat, outcome: &ExportOutcome) -> Response {
    let response = outcome.to_response();
    match format {
        OtlpFormat::Protobuf => {
            let mut http = (StatusCode::OK, response.encode_to_vec()).into_response();
            http.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(PROTOBUF_CONTENT_TYPE),
            );
            http
        }
        OtlpFormat::Json => {
            // OTLP/JSON follows the proto3 JSON mapping: camelCase names, int64 as a string.
            let body = match response.partial_success {
                None => serde_json::json!({}),
                Some(partial) => serde_json::json!({
                    "partialSuccess": {
                        "rejectedSpans": partial.rejected_spans.to_string(),
                        "errorMessage": partial.error_message,
                    }
                }),
            };
            (StatusCode::OK, axum::Json(body)).into_response()
        }
    }
}
