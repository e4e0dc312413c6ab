//! Layered configuration: built-in defaults < `--config` TOML file < `PERISCOPE__SECTION__KEY`
//! environment variables, validated once at startup (fail fast, never fall back silently).

mod backends;
mod duration;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

pub use backends::{
    ArchiveConfig, ClickHouseConfig, KafkaConfig, PostgresConfig, RedisConfig, S3Config,
};
pub use duration::parse_duration;

/// The built-in defaults; `deploy/config.example.toml` documents the same keys.
pub const DEFAULT_TOML: &str = include_str!("config/default.toml");

/// The whole process configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub log: LogConfig,
    pub pipeline: PipelineConfig,
    pub auth: AuthConfig,
    #[serde(default)]
    pub masking: MaskingConfig,
    pub kafka: KafkaConfig,
    pub clickhouse: ClickHouseConfig,
    pub postgres: PostgresConfig,
    pub s3: S3Config,
    pub redis: RedisConfig,
    pub archive: ArchiveConfig,
    pub prompts: PromptsConfig,
}

/// Prompt management.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptsConfig {
    /// Labels (e.g. `production`) that only requests carrying the admin token
    /// (`X-Periscope-Admin-Token: <PERISCOPE_ADMIN_TOKEN>`) may move or delete.
    pub protected_labels: Vec<String>,
}

/// Listeners and request limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    /// Largest accepted request body (after decompression), in bytes.
    pub max_body_bytes: usize,
    /// Request bytes being processed at once; beyond this requests get 429/RESOURCE_EXHAUSTED.
    pub max_inflight_bytes: usize,
    /// Deadline for one request.
    #[serde(with = "duration::serde_humantime")]
    pub request_timeout: Duration,
    /// Ingest requests one project may send per second (across every ingest process when the
    /// cache is Redis); beyond it 429 / `RESOURCE_EXHAUSTED`. 0 = no limit.
    pub project_requests_per_second: u64,
}

/// Where the embedded backends keep their files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    pub data_dir: PathBuf,
}

/// When the embedded log fsyncs an append before acknowledging it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FsyncPolicy {
    /// fsync every group-committed batch before acknowledging (no acknowledged loss on power
    /// failure).
    Always,
    /// Write to the OS before acknowledging, fsync in the background (survives a process crash,
    /// not a power failure).
    Never,
}

/// The embedded segment-file event log.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub fsync: FsyncPolicy,
    /// A segment file is closed and a new one started past this size.
    pub segment_bytes: u64,
    /// Oldest segments are deleted once a topic is larger than this.
    pub retention_bytes: u64,
    /// Segments whose newest record is older than this are deleted.
    #[serde(with = "duration::serde_humantime")]
    pub retention_age: Duration,
}

/// The processor and sink runners.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Most records handled per batch.
    pub batch_max_records: usize,
    /// How long a runner waits to fill a batch.
    #[serde(with = "duration::serde_humantime")]
    pub batch_max_wait: Duration,
    /// Attempts on a transient error before the runner gives up on the batch and backs off.
    pub max_retry_backoff_ms: u64,
    /// Events the pipelines may lag behind the ingest edge before it answers 429 /
    /// `RESOURCE_EXHAUSTED`: bounds the ingest-to-queryable delay and the disk backlog.
    pub max_backlog_events: u64,
}

/// Authentication.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// How long a verified key stays cached.
    #[serde(with = "duration::serde_humantime")]
    pub cache_ttl: Duration,
}

/// Server-side masking rules applied to input, output and metadata on every ingest path.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskingConfig {
    #[serde(default)]
    pub rules: Vec<MaskingRule>,
}

/// One masking rule: every match of `pattern` in a string value is replaced.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskingRule {
    /// A regular expression.
    pub pattern: String,
    /// What replaces each match.
    #[serde(default = "default_mask")]
    pub replacement: String,
}

fn default_mask() -> String {
    "[REDACTED]".to_owned()
}

/// A configuration that cannot be loaded or is invalid.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("failed to load configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("invalid configuration value for {key}: {message}")]
    Invalid { key: &'static str, message: String },
}

impl Config {
    /// Loads defaults, then `file` if given, then `PERISCOPE__SECTION__KEY` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(Env::prefixed("PERISCOPE__").split("__").lowercase(true));
        let config: Config = figment.extract().map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("server.max_body_bytes", self.server.max_body_bytes as u64),
            (
                "server.max_inflight_bytes",
                self.server.max_inflight_bytes as u64,
            ),
            ("log.segment_bytes", self.log.segment_bytes),
            ("log.retention_bytes", self.log.retention_bytes),
            (
                "pipeline.batch_max_records",
                self.pipeline.batch_max_records as u64,
            ),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    key,
                    message: "must be greater than 0".into(),
                });
            }
        }
        // A gzip request holds its wire bytes and its inflated bytes at once.
        if self.server.max_inflight_bytes < 2 * self.server.max_body_bytes {
            return Err(ConfigError::Invalid {
                key: "server.max_inflight_bytes",
                message: "must be at least twice server.max_body_bytes".into(),
            });
        }
        for rule in &self.masking.rules {
            if let Err(error) = regex::Regex::new(&rule.pattern) {
                return Err(ConfigError::Invalid {
                    key: "masking.rules.pattern",
                    message: format!(
                        "{:?} is not a valid regular expression: {error}",
                        rule.pattern
                    ),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
