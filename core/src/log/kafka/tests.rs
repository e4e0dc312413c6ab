use std::collections::BTreeMap;
use std::time::Duration;

use super::*;

#[tokio::test]
async fn an_empty_broker_list_is_rejected_before_connecting() {
    let config = KafkaConfig {
        brokers: " ".to_owned(),
        partitions: 1,
        replication: 1,
        session_timeout: Duration::from_secs(6),
        namespace: String::new(),
        properties: BTreeMap::new(),
    };
    let error = KafkaEventLog::connect(&config).await.unwrap_err();
    assert!(!error.is_transient());
    assert!(error.to_string().contains("kafka.brokers"), "{error}");
}
