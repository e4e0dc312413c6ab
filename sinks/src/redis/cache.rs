//! [`RedisCache`]: the `Cache` trait over one multiplexed Redis connection.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use fred::clients::Client;
use fred::error::{Error as FredError, ErrorKind};
use fred::interfaces::{ClientLike, KeysInterface};
use fred::types::config::{Config, ReconnectPolicy};
use fred::types::{Expiration, ExpireOptions, SetOptions};
use periscope_core::cache::Cache;
use periscope_core::config::RedisConfig;
use periscope_core::error::{BackendError, BackendResult};

const BACKEND: &str = "redis cache";

/// Deadline of one command, including the time spent waiting for a reconnect: a cache that is
/// down must not stall the request path for long.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// Deadline of one TCP connect attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Reconnect backoff: 100 ms doubling up to 5 s, retried forever.
const RECONNECT_MIN_DELAY_MS: u32 = 100;
const RECONNECT_MAX_DELAY_MS: u32 = 5_000;

/// A `Cache` on Redis/Valkey. Cheap to clone: clones share one connection.
#[derive(Clone)]
pub struct RedisCache {
    client: Client,
    key_prefix: String,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RedisCache")
            .field("key_prefix", &self.key_prefix)
            .finish_non_exhaustive()
    }
}

impl RedisCache {
    /// Connects to `config.url` and waits for the first connection. Later disconnects are
    /// retried in the background forever.
    pub async fn connect(config: &RedisConfig) -> BackendResult<Self> {
        let fred_config = Config::from_url(&config.url).map_err(|error| BackendError::Invalid {
            backend: BACKEND,
            message: format!("redis.url {:?} is not a Redis URL: {error}", config.url),
        })?;
        let client = fred::types::Builder::from_config(fred_config)
            .with_connection_config(|connection| {
                connection.connection_timeout = CONNECT_TIMEOUT;
                connection.internal_command_timeout = CONNECT_TIMEOUT;
            })
            .with_performance_config(|performance| {
                performance.default_command_timeout = COMMAND_TIMEOUT;
            })
            .set_policy(ReconnectPolicy::new_exponential(
                0,
                RECONNECT_MIN_DELAY_MS,
                RECONNECT_MAX_DELAY_MS,
                2,
            ))
            .build()
            .map_err(backend_error("failed to build the Redis client"))?;
        // The returned handle drives the connection and its reconnects; dropping it detaches
        // the task, which ends when the client quits.
        let _connection_task = client
            .init()
            .await
            .map_err(backend_error("failed to connect"))?;
        Ok(Self {
            client,
            key_prefix: config.key_prefix.clone(),
        })
    }

    /// Checks the server answers (startup and `/readyz`).
    pub async fn healthcheck(&self) -> BackendResult<()> {
        self.client
            .ping::<()>(None)
            .await
            .map_err(backend_error("PING failed"))
    }

    /// Closes the connection and stops reconnecting (shutdown). Commands after this fail.
    pub async fn close(&self) {
        if let Err(error) = self.client.quit().await {
            tracing::debug!(%error, "closing the Redis connection failed");
        }
    }

    fn full_key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.key_prefix.len() + key.len());
        full.push_str(&self.key_prefix);
        full.push_str(key);
        full
    }
}

/// Redis rejects a zero expiry, while a zero TTL in the trait means "expires at once":
/// one millisecond is the closest Redis can express.
fn ttl_millis(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1)
}

fn backend_error(context: &'static str) -> impl Fn(FredError) -> BackendError {
    move |error| match error.kind() {
        ErrorKind::Config | ErrorKind::Url | ErrorKind::InvalidArgument | ErrorKind::Auth => {
            BackendError::Invalid {
                backend: BACKEND,
                message: format!("{context}: {error}"),
            }
        }
        _ => BackendError::Unavailable {
            backend: BACKEND,
            message: format!("{context}: {error}"),
        },
    }
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> BackendResult<Option<Bytes>> {
        self.client
            .get(self.full_key(key))
            .await
            .map_err(backend_error("GET failed"))
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> BackendResult<()> {
        let expiry = Some(Expiration::PX(ttl_millis(ttl)));
        self.client
            .set::<(), _, _>(self.full_key(key), value, expiry, None, false)
            .await
            .map_err(backend_error("SET failed"))
    }

    async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Duration) -> BackendResult<bool> {
        self.set_conditionally(key, value, ttl, SetOptions::NX, "SET NX failed")
            .await
    }

    async fn set_if_present(&self, key: &str, value: Bytes, ttl: Duration) -> BackendResult<bool> {
        self.set_conditionally(key, value, ttl, SetOptions::XX, "SET XX failed")
            .await
    }

    async fn delete(&self, key: &str) -> BackendResult<()> {
        self.client
            .del::<(), _>(self.full_key(key))
            .await
            .map_err(backend_error("DEL failed"))
    }

    async fn increment(&self, key: &str, ttl: Duration) -> BackendResult<u64> {
        let full_key = self.full_key(key);
        // One round trip: INCR, then PEXPIRE NX, which sets the TTL only on a counter that has
        // none (the one INCR just created), so later increments never extend the window.
        let pipeline = self.client.pipeline();
        let queued: Result<(), FredError> = pipeline.incr(full_key.as_str()).await;
        queued.map_err(backend_error("INCR failed"))?;
        let queued: Result<(), FredError> = pipeline
            .pexpire(full_key.as_str(), ttl_millis(ttl), Some(ExpireOptions::NX))
            .await;
        queued.map_err(backend_error("PEXPIRE failed"))?;
        let (count, _expiry_set): (i64, i64) = pipeline
            .all()
            .await
            .map_err(backend_error("INCR pipeline failed"))?;
        u64::try_from(count).map_err(|_| BackendError::Invalid {
            backend: BACKEND,
            message: format!("counter {full_key} is negative ({count})"),
        })
    }
}

impl RedisCache {
    /// `SET` with `NX` (only when absent) or `XX` (only when present): Redis answers OK when it
    /// stored the value and nil when the condition failed.
    async fn set_conditionally(
        &self,
        key: &str,
        value: Bytes,
        ttl: Duration,
        condition: SetOptions,
        failure: &'static str,
    ) -> BackendResult<bool> {
        let expiry = Some(Expiration::PX(ttl_millis(ttl)));
        let reply: Option<String> = self
            .client
            .set(self.full_key(key), value, expiry, Some(condition), false)
            .await
            .map_err(backend_error(failure))?;
        Ok(reply.is_some())
    }
}
