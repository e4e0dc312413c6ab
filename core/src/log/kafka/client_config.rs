//! librdkafka properties of the producer, the consumers and the admin client.

use std::time::Duration;

use rdkafka::ClientConfig;

use super::MAX_RECORD_BYTES;
use crate::config::KafkaConfig;

/// Room for the record batch framing around the largest record.
const BATCH_OVERHEAD_BYTES: usize = 64 * 1024;

/// Which client the properties are for.
#[derive(Debug, Clone, Copy)]
pub(super) enum ClientRole<'a> {
    Producer,
    Consumer { group: &'a str },
    Admin,
}

/// Returns the properties of a `role` client: Periscope's delivery settings first, then
/// `config.properties`, which win (security settings, tuning).
pub(super) fn build(config: &KafkaConfig, role: ClientRole<'_>) -> ClientConfig {
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", &config.brokers);
    match role {
        ClientRole::Producer => {
            client
                // Every in-sync replica has the record before `append` returns.
                .set("acks", "all")
                // Retries neither duplicate nor reorder records within a partition.
                .set("enable.idempotence", "true")
                // lz4 is built into librdkafka: no extra native dependency.
                .set("compression.type", "lz4")
                // Concurrent appends share broker requests.
                .set("linger.ms", "5")
                .set(
                    "message.max.bytes",
                    (MAX_RECORD_BYTES + BATCH_OVERHEAD_BYTES).to_string(),
                )
                // Ingest answers its clients within this bound even when the brokers are down.
                .set("message.timeout.ms", "30000");
        }
        ClientRole::Consumer { group } => {
            let session = config.session_timeout;
            client
                .set("group.id", group)
                // The runner commits after a batch was handled; nothing commits on its own.
                .set("enable.auto.commit", "false")
                .set("enable.auto.offset.store", "false")
                .set("auto.offset.reset", "earliest")
                // A rebalance moves only the partitions that change owner.
                .set("partition.assignment.strategy", "cooperative-sticky")
                .set("session.timeout.ms", millis(session))
                .set("heartbeat.interval.ms", millis(heartbeat_interval(session)));
        }
        ClientRole::Admin => {}
    }
    for (key, value) in &config.properties {
        client.set(key, value);
    }
    client
}

/// Returns a heartbeat interval well below the session timeout (Kafka recommends a third or
/// less), so one lost heartbeat does not evict a member.
fn heartbeat_interval(session_timeout: Duration) -> Duration {
    (session_timeout / 6).max(Duration::from_millis(100))
}

fn millis(duration: Duration) -> String {
    duration.as_millis().to_string()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn config() -> KafkaConfig {
        KafkaConfig {
            brokers: "127.0.0.1:9092".to_owned(),
            partitions: 4,
            replication: 1,
            session_timeout: Duration::from_secs(6),
            namespace: String::new(),
            properties: BTreeMap::from([("linger.ms".to_owned(), "20".to_owned())]),
        }
    }

    #[test]
    fn consumers_never_commit_on_their_own() {
        let client = build(&config(), ClientRole::Consumer { group: "sink" });
        assert_eq!(client.get("group.id"), Some("sink"));
        assert_eq!(client.get("enable.auto.commit"), Some("false"));
        assert_eq!(client.get("enable.auto.offset.store"), Some("false"));
        assert_eq!(client.get("auto.offset.reset"), Some("earliest"));
        assert_eq!(client.get("session.timeout.ms"), Some("6000"));
        assert_eq!(client.get("heartbeat.interval.ms"), Some("1000"));
    }

    #[test]
    fn producers_wait_for_all_replicas_and_extra_properties_win() {
        let client = build(&config(), ClientRole::Producer);
        assert_eq!(client.get("acks"), Some("all"));
        assert_eq!(client.get("enable.idempotence"), Some("true"));
        assert_eq!(client.get("linger.ms"), Some("20"));
        assert_eq!(client.get("group.id"), None);
    }
}
