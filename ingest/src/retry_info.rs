//! The `google.rpc.RetryInfo` detail of a gRPC status.
//!
//! OpenTelemetry exporters (Go, Java, the collector) retry `RESOURCE_EXHAUSTED` only when the
//! status carries a `RetryInfo`, and then wait the delay it names. The four messages involved
//! are tiny, so they are declared here rather than pulling in `tonic-types` and its protos.

use prost::Message;

/// `google.rpc.Status`, the payload of the `grpc-status-details-bin` trailer.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<Any>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, Message)]
struct Any {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

/// `google.rpc.RetryInfo`.
#[derive(Clone, PartialEq, Message)]
struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    retry_delay: Option<ProtoDuration>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, Message)]
struct ProtoDuration {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

const RETRY_INFO_TYPE_URL: &str = "type.googleapis.com/google.rpc.RetryInfo";

/// Returns the encoded `google.rpc.Status` for `code` and `message` with a `RetryInfo` detail
/// asking the client to wait `delay_ms`.
pub(crate) fn encode_status_with_retry_info(
    code: tonic::Code,
    message: &str,
    delay_ms: u64,
) -> bytes::Bytes {
    let retry_delay = ProtoDuration {
        seconds: i64::try_from(delay_ms / 1000).unwrap_or(i64::MAX),
        // Below 1e9, so it always fits.
        nanos: i32::try_from((delay_ms % 1000) * 1_000_000).unwrap_or_default(),
    };
    let retry_info = RetryInfo {
        retry_delay: Some(retry_delay),
    };
    let status = RpcStatus {
        code: code as i32,
        message: message.to_owned(),
        details: vec![Any {
            type_url: RETRY_INFO_TYPE_URL.to_owned(),
            value: retry_info.encode_to_vec(),
        }],
    };
    bytes::Bytes::from(status.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_info_round_trips_with_its_delay() {
        let encoded = encode_status_with_retry_info(tonic::Code::ResourceExhausted, "busy", 1500);
        let status = RpcStatus::decode(encoded).unwrap();
        assert_eq!(status.code, tonic::Code::ResourceExhausted as i32);
        assert_eq!(status.message, "busy");
        assert_eq!(status.details.len(), 1);
        assert_eq!(status.details[0].type_url, RETRY_INFO_TYPE_URL);
        let info = RetryInfo::decode(status.details[0].value.as_slice()).unwrap();
        assert_eq!(
            info.retry_delay,
            Some(ProtoDuration {
                seconds: 1,
                nanos: 500_000_000
            })
        );
    }
}
