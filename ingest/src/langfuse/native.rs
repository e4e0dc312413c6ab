//! The native gRPC `periscope.v1.IngestService/Ingest`: Langfuse-shaped events in, one result
//! per event out, with the same validation and scope rules as `POST /api/public/ingestion`.

use periscope_core::langfuse::{ParsedEvent, event_from_parts};
use periscope_proto::pv1;
use periscope_proto::pv1::ingest_service_server::{IngestService, IngestServiceServer};
use prost::Message;
use tonic::codec::CompressionEncoding;

use super::configs::ConfigChecker;
use super::{Caller, EventOutcome, LegacyBatch, build_batch};
use crate::error::Result;
use crate::state::IngestState;

/// The native ingest service; wrap it with [`NativeIngestService::into_server`].
#[derive(Debug, Clone)]
pub struct NativeIngestService {
    state: IngestState,
}

impl NativeIngestService {
    /// Returns the service, appending through `state`.
    pub fn new(state: IngestState) -> Self {
        Self { state }
    }

    /// Returns the tonic server: gzip requests accepted, messages limited to the body limit.
    pub fn into_server(self) -> IngestServiceServer<Self> {
        let limit = self.state.limits().max_body_bytes;
        IngestServiceServer::new(self)
            .accept_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(limit)
    }

    async fn ingest_events(
        &self,
        authorization: Option<&str>,
        request: pv1::IngestRequest,
    ) -> Result<pv1::IngestResponse> {
        let state = &self.state;
        let auth = state.authenticate(authorization).await?;
        let size = request.encoded_len();
        let permit = state.try_reserve(size)?;
        let caller = Caller {
            project_id: auth.project_id,
            scope: auth.scope,
        };
        let mut events = state
            .run_decode(size, true, move || Ok(parse_events(request.events)))
            .await?;
        if let Some(store) = state.score_configs() {
            ConfigChecker::new(store.clone(), &caller.project_id)
                .check_events(&mut events)
                .await?;
        }
        let project_id = caller.project_id.clone();
        let LegacyBatch {
            records,
            envelope_ids,
            outcomes,
        } = state
            .run_decode(size, true, move || Ok(build_batch(events, &caller)))
            .await?;
        state
            .append_once(&project_id, records, &envelope_ids)
            .await?;
        drop(permit);
        let results = outcomes
            .into_iter()
            .map(|(id, outcome)| result_of(id, outcome))
            .collect();
        Ok(pv1::IngestResponse { results })
    }
}

#[tonic::async_trait]
impl IngestService for NativeIngestService {
    async fn ingest(
        &self,
        request: tonic::Request<pv1::IngestRequest>,
    ) -> Result<tonic::Response<pv1::IngestResponse>, tonic::Status> {
        let authorization = request
            .metadata()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let request = request.into_inner();
        let response = self
            .state
            .with_timeout(self.ingest_events(authorization.as_deref(), request))
            .await?;
        Ok(tonic::Response::new(response))
    }
}

/// Validates each event exactly as the REST batch endpoint does.
fn parse_events(events: Vec<pv1::IngestEvent>) -> Vec<ParsedEvent> {
    events
        .into_iter()
        .map(|event| {
            let result =
                event_from_parts(&event.id, &event.r#type, &event.timestamp, &event.body_json);
            ParsedEvent {
                id: Some(event.id),
                result,
            }
        })
        .collect()
}

fn result_of(id: Option<String>, outcome: EventOutcome) -> pv1::IngestResult {
    let id = id.unwrap_or_default();
    match outcome {
        EventOutcome::Accepted => pv1::IngestResult {
            id,
            status: 201,
            message: "accepted".to_owned(),
        },
        EventOutcome::NotStored => pv1::IngestResult {
            id,
            status: 200,
            message: "sdk-log events are logged, not stored".to_owned(),
        },
        EventOutcome::Rejected {
            status,
            message,
            error,
        } => pv1::IngestResult {
            id,
            status: u32::from(status),
            message: format!("{message}: {error}"),
        },
    }
}
