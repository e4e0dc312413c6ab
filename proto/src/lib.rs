//! Generated protobuf and gRPC code: the vendored OpenTelemetry trace protocol and Periscope's own
//! event envelope and native ingest service. No hand-written logic lives here.
#![allow(
    missing_debug_implementations,
    unreachable_pub,
    clippy::allow_attributes,
    clippy::doc_lazy_continuation,
    clippy::large_enum_variant,
    reason = "generated code"
)]

/// Periscope's own messages (`periscope.v1`).
pub mod periscope {
    /// Version 1 of the envelope and services.
    pub mod v1 {
        tonic::include_proto!("periscope.v1");
    }
}

/// The OpenTelemetry protocol (vendored upstream `.proto` files, Apache-2.0).
pub mod opentelemetry {
    /// `opentelemetry.proto.*`
    pub mod proto {
        /// Common types: attributes and instrumentation scope.
        pub mod common {
            /// Version 1.
            pub mod v1 {
                tonic::include_proto!("opentelemetry.proto.common.v1");
            }
        }
        /// Resource description.
        pub mod resource {
            /// Version 1.
            pub mod v1 {
                tonic::include_proto!("opentelemetry.proto.resource.v1");
            }
        }
        /// Spans.
        pub mod trace {
            /// Version 1.
            pub mod v1 {
                tonic::include_proto!("opentelemetry.proto.trace.v1");
            }
        }
        /// Collector services.
        pub mod collector {
            /// Trace export service.
            pub mod trace {
                /// Version 1.
                pub mod v1 {
                    tonic::include_proto!("opentelemetry.proto.collector.trace.v1");
                }
            }
        }
    }
}

pub use opentelemetry::proto::collector::trace::v1 as otlp_collector;
pub use opentelemetry::proto::common::v1 as otlp_common;
pub use opentelemetry::proto::resource::v1 as otlp_resource;
pub use opentelemetry::proto::trace::v1 as otlp_trace;
pub use periscope::v1 as pv1;
