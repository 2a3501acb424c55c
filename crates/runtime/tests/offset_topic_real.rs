//! Distributed mode's offset store on a real broker: offsets written by one worker are read by
//! another (read to the end), a key written by a Java worker with its members in another order
//! is the same key, tombstones remove, and only acknowledged writes are visible.

use bytes::Bytes;
use kaflow_client::admin::{Admin, NewTopic};
use kaflow_client::cluster::Cluster;
use kaflow_client::consumer::ConsumerConfig;
use kaflow_client::producer::ProducerConfig;
use kaflow_client::ClientConfig;
use kaflow_runtime::storage::kafka_log::KafkaLog;
use kaflow_runtime::storage::offset_topic::OffsetTopic;
use kaflow_runtime::worker::OffsetStore;
use kaflow_test_support::{require_kafka, unique_topic};
use std::sync::Arc;
use std::time::Duration;

async fn open(bootstrap: &str, topic: &str) -> OffsetTopic {
    let cluster = Cluster::connect(ClientConfig::new(bootstrap).unwrap())
        .await
        .unwrap();
    let log = KafkaLog::open(
        cluster,
        topic,
        ConsumerConfig::new(bootstrap).unwrap(),
        ProducerConfig::new(bootstrap).unwrap(),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    OffsetTopic::open(log).await.unwrap()
}

#[tokio::test]
async fn offsets_written_by_one_worker_are_read_by_another() {
    let kafka = require_kafka!();
    let topic = unique_topic("connect-offsets");
    let cluster = Cluster::connect(ClientConfig::new(&kafka.bootstrap).unwrap())
        .await
        .unwrap();
    Admin::new(Arc::clone(&cluster))
        .create_topic(NewTopic::new(&topic, 25).config("cleanup.policy", "compact"))
        .await
        .unwrap();

    let a = open(&kafka.bootstrap, &topic).await;
    assert!(a.entries().is_empty(), "a new topic has no offsets");
    let key = |n: u32| format!(r#"["src",{{"filename":"/in-{n}.txt","kind":"file"}}]"#).into_bytes();
    let batch: Vec<_> = (0..100)
        .map(|n| (key(n), Some(format!(r#"{{"position":{n}}}"#).into_bytes())))
        .collect();
    a.put_all(batch).await.unwrap();
    a.put_all(vec![(key(7), Some(br#"{"position":700}"#.to_vec()))])
        .await
        .unwrap();
    assert_eq!(a.get(&key(7)).as_deref(), Some(&br#"{"position":700}"#[..]));

    // Another worker, and a Java one writing the same partition with its members reordered.
    let java_key = br#"["src", {"kind": "file", "filename": "/in-8.txt"}]"#;
    let cluster_b = Cluster::connect(ClientConfig::new(&kafka.bootstrap).unwrap())
        .await
        .unwrap();
    let raw = KafkaLog::open(
        cluster_b,
        &topic,
        ConsumerConfig::new(&kafka.bootstrap).unwrap(),
        ProducerConfig::new(&kafka.bootstrap).unwrap(),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    raw.send_all(vec![
        (
            Some(Bytes::from_static(java_key)),
            Some(Bytes::from_static(br#"{"position":800}"#)),
        ),
        (Some(Bytes::from(key(9))), None),
    ])
    .await
    .unwrap();

    let b = open(&kafka.bootstrap, &topic).await;
    assert_eq!(b.entries().len(), 99, "100 partitions, one tombstoned");
    assert_eq!(
        b.get(&key(7)).as_deref(),
        Some(&br#"{"position":700}"#[..]),
        "the later write wins"
    );
    assert_eq!(
        b.get(&key(8)).as_deref(),
        Some(&br#"{"position":800}"#[..]),
        "same key, other order"
    );
    assert_eq!(b.get(&key(9)), None, "a tombstone removes");
    assert_eq!(b.get(&key(3)).as_deref(), Some(&br#"{"position":3}"#[..]));

    // The first worker sees the others' writes only once it reads to the end again.
    assert_eq!(a.get(&key(8)).as_deref(), Some(&br#"{"position":8}"#[..]));
    assert!(a.refresh().await.unwrap() >= 2);
    assert_eq!(a.get(&key(8)).as_deref(), Some(&br#"{"position":800}"#[..]));
    assert_eq!(a.get(&key(9)), None);
    raw.close().await;
    a.close().await;
    b.close().await;
}
