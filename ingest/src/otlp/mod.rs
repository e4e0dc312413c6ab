//! OTLP trace ingestion, shared by OTLP/HTTP and OTLP/gRPC: inflate, decode once, validate,
//! regroup by trace, append in one log call, then acknowledge.

pub(crate) mod grpc;
pub(crate) mod http;
mod split;

use bytes::Bytes;
use periscope_core::auth::AuthContext;
use periscope_proto::otlp_collector::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use periscope_proto::pv1;
use prost::Message;

use crate::body::{ContentEncoding, decode_wire};
use crate::error::{IngestError, Result};
use crate::state::{InflightPermit, IngestState};
use split::{EventContext, SplitExport, split_export};

/// How an OTLP body is serialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OtlpFormat {
    Protobuf,
    Json,
}

/// One OTLP export as received: the body bytes still encoded as sent.
#[derive(Debug)]
pub(crate) struct OtlpBody {
    pub(crate) bytes: Bytes,
    pub(crate) format: OtlpFormat,
    pub(crate) encoding: ContentEncoding,
    pub(crate) source: pv1::Source,
}

/// What an accepted export tells the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExportOutcome {
    pub(crate) accepted_spans: usize,
    pub(crate) rejected_spans: usize,
    pub(crate) error_message: String,
}

impl ExportOutcome {
    /// Returns the OTLP response: empty, or with `partial_success` when spans were rejected.
    pub(crate) fn to_response(&self) -> ExportTraceServiceResponse {
        if self.rejected_spans == 0 {
            return ExportTraceServiceResponse::default();
        }
        ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: i64::try_from(self.rejected_spans).unwrap_or(i64::MAX),
                error_message: self.error_message.clone(),
            }),
        }
    }
}

/// Ingests one export for the authenticated project: decodes and splits it (on the blocking
/// pool unless it is small and uncompressed), appends every valid trace group in one log call,
/// and returns only after the log accepted them.
#[tracing::instrument(
    skip_all,
    fields(project_id = %auth.project_id, accepted_spans = tracing::field::Empty, rejected_spans = tracing::field::Empty)
)]
pub(crate) async fn ingest_export(
    state: &IngestState,
    auth: &AuthContext,
    body: OtlpBody,
    permit: InflightPermit,
) -> Result<ExportOutcome> {
    let OtlpBody {
        bytes,
        format,
        encoding,
        source,
    } = body;
    let project_id = auth.project_id.clone();
    let (split, permit) = decode_wire(state, bytes, encoding, permit, move |bytes| {
        let request = decode(bytes, format)?;
        let context = EventContext {
            project_id: &project_id,
            source,
            received_at_unix_nano: unix_nanos_now(),
        };
        Ok(split_export(request, context))
    })
    .await?;
    let SplitExport {
        records,
        accepted_spans,
        rejected_spans,
        error_message,
    } = split;
    let span = tracing::Span::current();
    span.record("accepted_spans", accepted_spans);
    span.record("rejected_spans", rejected_spans);
    if rejected_spans > 0 {
        tracing::debug!(error_message, "rejected invalid otlp spans");
    }
    state.append(records).await?;
    // The in-flight bytes stay reserved until the log holds the events.
    drop(permit);
    Ok(ExportOutcome {
        accepted_spans,
        rejected_spans,
        error_message,
    })
}

/// Decodes an export request in either OTLP encoding.
fn decode(bytes: &[u8], format: OtlpFormat) -> Result<ExportTraceServiceRequest> {
    match format {
        OtlpFormat::Protobuf => {
            ExportTraceServiceRequest::decode(bytes).map_err(IngestError::OtlpProtobuf)
        }
        OtlpFormat::Json => {
            periscope_core::otlp_json::decode_export_request(bytes).map_err(IngestError::OtlpJson)
        }
    }
}

/// Returns the current Unix time in nanoseconds (0 before 1970, which no real clock reports).
pub(crate) fn unix_nanos_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}
