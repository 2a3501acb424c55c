//! Admin operations against the real broker.

use kaflow_client::admin::{Admin, NewTopic, OffsetSpec};
use kaflow_client::producer::{Producer, ProducerConfig, ProducerRecord};
use kaflow_client::ClientConfig;
use kaflow_test_support::{require_kafka, unique_topic};
use std::time::Duration;

#[tokio::test]
async fn topics_configs_offsets_and_cluster() {
    let kafka = require_kafka!();
    let admin = Admin::connect(ClientConfig::new(&kafka.bootstrap).unwrap())
        .await
        .expect("admin");

    let cluster = admin.describe_cluster().await.expect("describe cluster");
    assert!(
        cluster.cluster_id.as_deref().is_some_and(|id| id.len() == 22),
        "{cluster:?}"
    );
    assert!(!cluster.brokers.is_empty());
    assert!(cluster
        .brokers
        .iter()
        .any(|(_, addr, _)| kafka.bootstrap.contains(addr.as_str())));

    let topic = unique_topic("admin");
    admin
        .create_topic(
            NewTopic::new(&topic, 3)
                .replication_factor(1)
                .config("retention.ms", "3600000"),
        )
        .await
        .expect("create");
    // Creating it again is refused with TOPIC_ALREADY_EXISTS (36), per topic.
    let again = admin
        .create_topics(&[NewTopic::new(&topic, 3)])
        .await
        .expect("answered");
    assert_eq!(again[0].1.as_ref().unwrap_err().code(), Some(36));

    let configs = admin
        .describe_topic_configs(&topic)
        .await
        .expect("describe configs");
    assert_eq!(configs.get("retention.ms"), Some(&Some("3600000".to_string())));
    admin
        .alter_topic_configs(
            &topic,
            &[("retention.ms", Some("7200000")), ("segment.ms", Some("3600000"))],
        )
        .await
        .expect("alter");
    // Config changes travel through the KRaft metadata log: a broker shows them shortly after.
    await_config(&admin, &topic, "retention.ms", "7200000").await;
    await_config(&admin, &topic, "segment.ms", "3600000").await;
    admin
        .alter_topic_configs(&topic, &[("retention.ms", None)])
        .await
        .expect("delete config");
    await_config(&admin, &topic, "retention.ms", "604800000").await;

    // Offsets: empty, then three records with timestamps 1000, 2000, 3000 on partition 1.
    let empty = admin
        .list_offsets(&topic, &[], OffsetSpec::Latest)
        .await
        .expect("latest");
    assert_eq!(empty.len(), 3);
    assert!(empty.values().all(|o| o.offset == 0));
    let producer = Producer::connect(ProducerConfig::new(&kafka.bootstrap).unwrap())
        .await
        .expect("producer");
    for ts in [1000, 2000, 3000] {
        let f = producer
            .send(
                ProducerRecord::new(topic.as_str(), format!("at {ts}"))
                    .partition(1)
                    .timestamp(ts),
            )
            .await
            .expect("queued");
        f.wait().await.expect("delivered");
    }
    producer.close().await;
    let latest = admin
        .list_offsets(&topic, &[1], OffsetSpec::Latest)
        .await
        .expect("latest");
    assert_eq!(latest[&1].offset, 3);
    let earliest = admin
        .list_offsets(&topic, &[1], OffsetSpec::Earliest)
        .await
        .expect("earliest");
    assert_eq!(earliest[&1].offset, 0);
    let at = admin
        .list_offsets(&topic, &[1], OffsetSpec::Timestamp(1500))
        .await
        .expect("by time");
    assert_eq!((at[&1].offset, at[&1].timestamp), (1, 2000));
    let none = admin
        .list_offsets(&topic, &[1], OffsetSpec::Timestamp(9000))
        .await
        .expect("by time");
    assert_eq!(none[&1].offset, -1, "no record at or after 9000");

    let deleted = admin.delete_topics(&[topic.as_str()]).await.expect("delete");
    assert!(deleted.iter().all(|(_, r)| r.is_ok()), "{deleted:?}");
    // The topic disappears from metadata.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let errors = admin
            .cluster()
            .refresh(&[topic.as_str()])
            .await
            .expect("metadata");
        if errors.get(&topic) == Some(&3) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "topic still in metadata 30s after delete"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn await_config(admin: &Admin, topic: &str, key: &str, want: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let configs = admin
            .describe_topic_configs(topic)
            .await
            .expect("describe configs");
        let got = configs.get(key).cloned().flatten();
        if got.as_deref() == Some(want) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{key} is {got:?} 30s after setting {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
