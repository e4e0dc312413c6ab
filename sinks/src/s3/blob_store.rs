//! [`S3BlobStore`]: objects in one bucket; keys are used as given.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use bytes::Bytes;
use periscope_core::blob::BlobStore;
use periscope_core::config::S3Config;
use periscope_core::error::{BackendError, BackendResult};

use super::errors::{BACKEND, status_of, to_backend_error};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Deadline of one attempt; archive objects are tens of MiB, so this is generous.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(120);
/// Attempts per operation, including the first (the SDK backs off between them).
const MAX_ATTEMPTS: u32 = 3;
/// The region where S3 rejects an explicit location constraint.
const DEFAULT_REGION: &str = "us-east-1";

/// A `BlobStore` on one S3 bucket. Cheap to clone: clones share the connection pool.
#[derive(Debug, Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
}

impl S3BlobStore {
    /// Builds a client for `config` and creates the bucket if it is missing.
    pub async fn connect(config: &S3Config) -> BackendResult<Self> {
        let store = Self {
            client: Client::from_conf(client_config(config)?),
            bucket: config.bucket.clone(),
        };
        store.ensure_bucket(&config.region).await?;
        Ok(store)
    }

    /// Checks the bucket is reachable (startup and `/readyz`).
    pub async fn healthcheck(&self) -> BackendResult<()> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| {
                to_backend_error(format!("bucket {} is not reachable", self.bucket), error)
            })
    }

    async fn ensure_bucket(&self, region: &str) -> BackendResult<()> {
        let head = self.client.head_bucket().bucket(&self.bucket).send().await;
        match head {
            Ok(_) => return Ok(()),
            Err(error) if status_of(&error) == Some(404) => {}
            Err(error) => {
                return Err(to_backend_error(
                    format!("failed to check bucket {}", self.bucket),
                    error,
                ));
            }
        }
        let mut create = self.client.create_bucket().bucket(&self.bucket);
        if region != DEFAULT_REGION {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        match create.send().await {
            Ok(_) => {
                tracing::info!(bucket = %self.bucket, "created the S3 bucket");
                Ok(())
            }
            // Another process created it between our HEAD and CREATE.
            Err(error) if status_of(&error) == Some(409) => Ok(()),
            Err(error) => Err(to_backend_error(
                format!("failed to create bucket {}", self.bucket),
                error,
            )),
        }
    }
}

fn client_config(config: &S3Config) -> BackendResult<aws_sdk_s3::Config> {
    if config.access_key_id.is_empty() || config.secret_access_key.is_empty() {
        return Err(BackendError::Invalid {
            backend: BACKEND,
            message: "set both s3.access_key_id and s3.secret_access_key \
                      (PERISCOPE__S3__ACCESS_KEY_ID / PERISCOPE__S3__SECRET_ACCESS_KEY)"
                .to_owned(),
        });
    }
    if config.bucket.is_empty() {
        return Err(BackendError::Invalid {
            backend: BACKEND,
            message: "s3.bucket must not be empty".to_owned(),
        });
    }
    let credentials = Credentials::new(
        &config.access_key_id,
        &config.secret_access_key,
        None,
        None,
        "periscope-config",
    );
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .build();
    Ok(aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&config.endpoint)
        .region(Region::new(config.region.clone()))
        .force_path_style(config.path_style)
        .credentials_provider(credentials)
        .http_client(http_client)
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        // S3-compatible servers differ in their support of the newer flexible checksums; send
        // them only where an operation requires one.
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .build())
}

fn check_key(key: &str) -> BackendResult<()> {
    if key.is_empty() {
        return Err(BackendError::Invalid {
            backend: BACKEND,
            message: "object key must not be empty".to_owned(),
        });
    }
    Ok(())
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put_if_absent(&self, key: &str, body: Bytes) -> BackendResult<bool> {
        check_key(key)?;
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .if_none_match("*")
            .body(ByteStream::from(body))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            // 412: the key exists. This is also what a retried PUT whose first attempt landed
            // sees, and the object is then ours, so "already there" is the right answer.
            Err(error) if status_of(&error) == Some(412) => Ok(false),
            // 409: a concurrent conditional write of the same key is in flight; retry later.
            Err(error) if status_of(&error) == Some(409) => Err(BackendError::Unavailable {
                backend: BACKEND,
                message: format!("concurrent write of object {key}; retry"),
            }),
            Err(error) => Err(to_backend_error(
                format!("failed to put object {key}"),
                error,
            )),
        }
    }

    async fn get(&self, key: &str) -> BackendResult<Option<Bytes>> {
        check_key(key)?;
        let response = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        let output = match response {
            Ok(output) => output,
            Err(error) if status_of(&error) == Some(404) => return Ok(None),
            Err(error) => {
                return Err(to_backend_error(
                    format!("failed to get object {key}"),
                    error,
                ));
            }
        };
        let body = output
            .body
            .collect()
            .await
            .map_err(|error| BackendError::Unavailable {
                backend: BACKEND,
                message: format!("failed to read the body of object {key}: {error}"),
            })?;
        Ok(Some(body.into_bytes()))
    }

    async fn list(&self, prefix: &str) -> BackendResult<Vec<String>> {
        let mut keys = Vec::new();
        let mut continuation: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(continuation.take())
                .send()
                .await
                .map_err(|error| {
                    to_backend_error(format!("failed to list prefix {prefix}"), error)
                })?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|object| object.key().map(str::to_owned)),
            );
            match page.next_continuation_token() {
                Some(token) if page.is_truncated() == Some(true) => {
                    continuation = Some(token.to_owned());
                }
                _ => break,
            }
        }
        // S3 lists in UTF-8 byte order already; sorting keeps the contract for other servers.
        keys.sort();
        Ok(keys)
    }

    async fn delete(&self, key: &str) -> BackendResult<()> {
        check_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| to_backend_error(format!("failed to delete object {key}"), error))
    }
}
