//! Generates Rust code for the OTLP trace protos (vendored from upstream) and Periscope's own
//! event envelope and native ingest service into `OUT_DIR`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/opentelemetry/proto/collector/trace/v1/trace_service.proto",
        "proto/periscope/v1/event.proto",
        "proto/periscope/v1/ingest.proto",
    ];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_protos(&protos, &["proto"])?;
    Ok(())
}
