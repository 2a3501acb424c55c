//! Smoke test of the client stack against the real broker: admin + idempotent producer.

use kaflow_client::admin::{Admin, NewTopic, OffsetSpec};
use kaflow_client::producer::{Producer, ProducerConfig, ProducerRecord};
use kaflow_client::ClientConfig;
use kaflow_test_support::{require_kafka, unique_topic};
use std::collections::HashMap;

#[tokio::test]
async fn produce_keyed_records_and_count_them() {
    let kafka = require_kafka!();
    let topic = unique_topic("smoke");
    let admin = Admin::connect(ClientConfig::new(&kafka.bootstrap).unwrap())
        .await
        .expect("admin");
    admin
        .create_topic(NewTopic::new(&topic, 6))
        .await
        .expect("create topic");

    let producer = Producer::connect(ProducerConfig::new(&kafka.bootstrap).unwrap())
        .await
        .expect("producer");
    let (pid, epoch) = producer.producer_id();
    assert!(pid >= 0 && epoch >= 0, "idempotent producer id {pid}/{epoch}");
    let n = 20_000;
    let topic_arc: std::sync::Arc<str> = topic.as_str().into();
    let mut futures = Vec::with_capacity(n);
    for i in 0..n {
        let rec = ProducerRecord::new(std::sync::Arc::clone(&topic_arc), format!("value-{i}"))
            .key(format!("key-{}", i % 100))
            .header("h", Some(format!("{i}")));
        futures.push(producer.send(rec).await.expect("queued"));
    }
    let mut per_partition: HashMap<i32, Vec<i64>> = HashMap::new();
    for f in futures {
        let md = f.wait().await.expect("delivered");
        per_partition.entry(md.partition).or_default().push(md.offset);
    }
    producer.close().await;
    let latest = admin
        .list_offsets(&topic, &[], OffsetSpec::Latest)
        .await
        .expect("list offsets");
    let mut total = 0;
    for (p, offsets) in &per_partition {
        // Offsets of one partition, in send order, are exactly 0..n-1.
        let expected: Vec<i64> = (0..offsets.len() as i64).collect();
        assert_eq!(offsets, &expected, "partition {p} offsets out of order");
        assert_eq!(latest[p].offset, offsets.len() as i64, "partition {p} log end");
        total += offsets.len();
    }
    assert_eq!(total, n);
    eprintln!(
        "requests: {}",
        producer
            .stats()
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    );
}
