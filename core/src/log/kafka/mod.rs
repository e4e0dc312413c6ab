//! The Kafka event log: the scale-out counterpart of the embedded segment-file log, for any
//! broker that speaks the Kafka protocol (Apache Kafka, Redpanda, Tansu).
//!
//! Delivery guarantee: at-least-once. `append` returns only after the broker acknowledged every
//! record with `acks=all` (the idempotent producer keeps retries from duplicating or reordering
//! them), so ingest acknowledges a client only once Kafka holds its events. Consumers never
//! commit on their own: the pipeline runner commits a batch's offsets after it was handled, and
//! a restarted member resumes right after the last commit. Records are keyed by
//! `project_id/trace_id`, so one trace stays ordered within one partition.
//!
//! Offsets follow the embedded log: `commit(partition, offset)` takes the last *processed*
//! offset and stores `offset + 1` (the next one to read), as Kafka itself does.

mod client_config;
mod consumer;
mod errors;
mod lag;
mod producer;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::BaseConsumer;
use rdkafka::producer::{FutureProducer, Producer as _};
use rdkafka::types::RDKafkaErrorCode;

pub use consumer::KafkaConsumer;
pub use lag::PartitionLag;

use crate::config::KafkaConfig;
use crate::error::{BackendError, BackendResult};
use crate::log::{EventLog, LogConsumer, LogRecord};
use client_config::ClientRole;
use errors::{BACKEND, kafka_error, run_blocking};
use producer::AppendedEnds;

/// Largest record (key plus value) Periscope writes; larger event bodies belong in the blob
/// store. Topics are created with a matching `max.message.bytes`, because a real Kafka broker
/// rejects records above about 1 MiB by default.
pub const MAX_RECORD_BYTES: usize = 4 * 1024 * 1024;

/// Deadline of the metadata, admin and offset requests this log makes.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Deadline of the reachability check in `connect`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The event log on a Kafka-protocol cluster.
pub struct KafkaEventLog {
    config: KafkaConfig,
    producer: FutureProducer,
    admin: AdminClient<DefaultClientContext>,
    /// One offset reader per consumer group whose lag was asked for (a handful: one per
    /// pipeline), so `/metrics` scrapes do not reconnect every time.
    lag_readers: Mutex<HashMap<String, Arc<BaseConsumer>>>,
    /// Highest end offset this process's appends reached, per topic and partition. Some
    /// brokers (Tansu) report the end of a partition as the last batch's first offset + 1;
    /// lag takes the larger of the two so it never misses records this process appended.
    appended_ends: Mutex<HashMap<String, AppendedEnds>>,
}

impl std::fmt::Debug for KafkaEventLog {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("KafkaEventLog")
            .field("brokers", &self.config.brokers)
            .field("partitions", &self.config.partitions)
            .field("replication", &self.config.replication)
            .finish_non_exhaustive()
    }
}

impl KafkaEventLog {
    /// Connects to the brokers of `config` and checks that they answer, so a wrong address
    /// fails at startup instead of at the first request.
    pub async fn connect(config: &KafkaConfig) -> BackendResult<Self> {
        if config.brokers.trim().is_empty() {
            return Err(BackendError::Invalid {
                backend: BACKEND,
                message: "kafka.brokers is empty".to_owned(),
            });
        }
        let producer: FutureProducer = client_config::build(config, ClientRole::Producer)
            .create()
            .map_err(kafka_error("failed to create the kafka producer"))?;
        let admin: AdminClient<DefaultClientContext> =
            client_config::build(config, ClientRole::Admin)
                .create()
                .map_err(kafka_error("failed to create the kafka admin client"))?;
        let probe = producer.clone();
        let brokers = config.brokers.clone();
        run_blocking(move || {
            probe
                .client()
                .fetch_metadata(None, CONNECT_TIMEOUT)
                .map(|_| ())
                .map_err(|error| BackendError::Unavailable {
                    backend: BACKEND,
                    message: format!("cannot reach the kafka brokers {brokers}: {error}"),
                })
        })
        .await?;
        tracing::info!(brokers = %config.brokers, "connected to kafka");
        Ok(Self {
            config: config.clone(),
            producer,
            admin,
            lag_readers: Mutex::new(HashMap::new()),
            appended_ends: Mutex::new(HashMap::new()),
        })
    }

    /// The name of `topic` or group `name` in this deployment's namespace.
    fn namespaced(&self, name: &str) -> String {
        format!("{}{name}", self.config.namespace)
    }

    /// Returns the lag of `group` on every partition of `topic`, for per-partition metrics.
    pub async fn partition_lag(
        &self,
        topic: &str,
        group: &str,
    ) -> BackendResult<Vec<PartitionLag>> {
        let (topic, group) = (&self.namespaced(topic), &self.namespaced(group));
        let reader = self.lag_reader(group)?;
        let known_ends = lock(&self.appended_ends)?
            .get(topic)
            .cloned()
            .unwrap_or_default();
        let topic = topic.to_owned();
        run_blocking(move || lag::read_partition_lag(&reader, &topic, &known_ends, REQUEST_TIMEOUT))
            .await
    }

    fn remember_appended_ends(&self, topic: &str, ends: AppendedEnds) -> BackendResult<()> {
        let mut appended = lock(&self.appended_ends)?;
        let known = appended.entry(topic.to_owned()).or_default();
        for (partition, end) in ends {
            let known_end = known.entry(partition).or_insert(end);
            *known_end = (*known_end).max(end);
        }
        Ok(())
    }

    fn lag_reader(&self, group: &str) -> BackendResult<Arc<BaseConsumer>> {
        let mut readers = lock(&self.lag_readers)?;
        if let Some(reader) = readers.get(group) {
            return Ok(reader.clone());
        }
        let reader: BaseConsumer =
            client_config::build(&self.config, ClientRole::Consumer { group })
                .create()
                .map_err(kafka_error("failed to create a kafka offset reader"))?;
        let reader = Arc::new(reader);
        readers.insert(group.to_owned(), reader.clone());
        Ok(reader)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> BackendResult<std::sync::MutexGuard<'_, T>> {
    mutex.lock().map_err(|_| BackendError::Unavailable {
        backend: BACKEND,
        message: "a kafka log lock is poisoned".to_owned(),
    })
}

#[async_trait]
impl EventLog for KafkaEventLog {
    async fn ensure_topic(&self, topic: &str) -> BackendResult<()> {
        let topic = &self.namespaced(topic);
        let max_message_bytes = MAX_RECORD_BYTES.to_string();
        let new_topic = NewTopic::new(
            topic,
            self.config.partitions,
            TopicReplication::Fixed(self.config.replication),
        )
        .set("max.message.bytes", &max_message_bytes);
        let options = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT));
        let results = self
            .admin
            .create_topics([&new_topic], &options)
            .await
            .map_err(kafka_error(format!("failed to create topic {topic}")))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    return Err(BackendError::Other {
                        backend: BACKEND,
                        context: format!("failed to create topic {name}"),
                        source: Box::new(rdkafka::error::KafkaError::AdminOp(code)),
                    });
                }
            }
        }
        Ok(())
    }

    async fn append(&self, topic: &str, records: Vec<LogRecord>) -> BackendResult<()> {
        let topic = &self.namespaced(topic);
        let ends = producer::append(&self.producer, topic, records).await?;
        self.remember_appended_ends(topic, ends)
    }

    async fn subscribe(&self, topic: &str, group: &str) -> BackendResult<Box<dyn LogConsumer>> {
        Ok(Box::new(KafkaConsumer::subscribe(
            &self.config,
            &self.namespaced(topic),
            &self.namespaced(group),
        )?))
    }

    async fn lag(&self, topic: &str, group: &str) -> BackendResult<u64> {
        let partitions = self.partition_lag(topic, group).await?;
        Ok(partitions.iter().map(|partition| partition.lag).sum())
    }
}

#[cfg(test)]
mod tests;
