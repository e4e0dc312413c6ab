//! Mapping of librdkafka errors onto `BackendError`, and the blocking-call helper.

use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

use crate::error::{BackendError, BackendResult};

/// Backend name in errors and logs.
pub(super) const BACKEND: &str = "kafka";

/// Returns a mapper that wraps a librdkafka error with `context`: errors that a retry cannot fix
/// (bad configuration, oversized or rejected records, missing rights) become `Invalid`, the rest
/// stay transient.
pub(super) fn kafka_error(context: impl Into<String>) -> impl FnOnce(KafkaError) -> BackendError {
    let context = context.into();
    move |error| {
        if is_permanent(&error) {
            BackendError::Invalid {
                backend: BACKEND,
                message: format!("{context}: {error}"),
            }
        } else {
            BackendError::Other {
                backend: BACKEND,
                context,
                source: Box::new(error),
            }
        }
    }
}

fn is_permanent(error: &KafkaError) -> bool {
    match error {
        KafkaError::ClientConfig(..) | KafkaError::ClientCreation(_) => true,
        _ => matches!(
            error.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::MessageSizeTooLarge
                    | RDKafkaErrorCode::InvalidMessageSize
                    | RDKafkaErrorCode::InvalidMessage
                    | RDKafkaErrorCode::InvalidTopic
                    | RDKafkaErrorCode::TopicAuthorizationFailed
                    | RDKafkaErrorCode::GroupAuthorizationFailed
                    | RDKafkaErrorCode::ClusterAuthorizationFailed
                    | RDKafkaErrorCode::InvalidConfig
                    | RDKafkaErrorCode::InvalidArgument
                    | RDKafkaErrorCode::UnsupportedFeature
            )
        ),
    }
}

/// Runs a blocking librdkafka call (metadata, offsets, synchronous commit) on the blocking
/// pool, so it never stalls the async workers.
pub(super) async fn run_blocking<T, F>(call: F) -> BackendResult<T>
where
    F: FnOnce() -> BackendResult<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|error| BackendError::Other {
            backend: BACKEND,
            context: "blocking kafka task failed".to_owned(),
            source: Box::new(error),
        })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_records_are_permanent_and_broker_outages_transient() {
        let too_large = KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge);
        assert!(!kafka_error("append")(too_large).is_transient());
        let down = KafkaError::MessageProduction(RDKafkaErrorCode::BrokerTransportFailure);
        assert!(kafka_error("append")(down).is_transient());
    }
}
