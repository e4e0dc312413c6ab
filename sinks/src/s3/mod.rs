//! The `BlobStore` on S3 or any S3-compatible server (SeaweedFS, MinIO, R2), through
//! `aws-sdk-s3` (scale-out mode).
//!
//! `put_if_absent` is a conditional PUT (`If-None-Match: *`): the server decides atomically,
//! so two writers of the same deterministic key never both succeed and a retried batch writes
//! nothing twice. The client is built without `aws-config` and without aws-lc: static
//! credentials from the config, the hyper 1 client with rustls on ring (see ADR 0012).

mod blob_store;
mod errors;

pub use blob_store::S3BlobStore;
