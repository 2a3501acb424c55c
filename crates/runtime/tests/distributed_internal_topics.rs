//! The internal topics against a real broker: created compacted with Connect's partition
//! counts when missing, accepted as they are on the next start, and refused with a message that
//! names the property and the fix when an existing one has the wrong partition count (config
//! topic) or is not compacted.

use kaflow_client::admin::{Admin, NewTopic};
use kaflow_client::{ClientConfig, Properties};
use kaflow_runtime::distributed::internal_topics::{Ensured, InternalTopics, InternalTopicsError};
use kaflow_test_support::{require_kafka, unique_topic};

fn worker_props(config: &str, offsets: &str, status: &str) -> Properties {
    [
        ("config.storage.topic", config),
        ("offset.storage.topic", offsets),
        ("status.storage.topic", status),
        ("config.storage.replication.factor", "-1"),
        ("offset.storage.replication.factor", "-1"),
        ("status.storage.replication.factor", "-1"),
        ("offset.storage.partitions", "4"),
        ("status.storage.min.insync.replicas", "1"),
    ]
    .into_iter()
    .collect()
}

async fn admin(bootstrap: &str) -> Admin {
    Admin::connect(ClientConfig::new(bootstrap).expect("client config"))
        .await
        .expect("admin")
}

#[tokio::test]
async fn missing_topics_are_created_compacted_and_reused_on_the_next_start() {
    let kafka = require_kafka!();
    let admin = admin(&kafka.bootstrap).await;
    let (c, o, s) = (unique_topic("cfg"), unique_topic("off"), unique_topic("st"));
    let topics = InternalTopics::from_properties(&worker_props(&c, &o, &s)).unwrap();
    let first = topics.ensure(&admin).await.unwrap();
    assert_eq!(first, [Ensured::Created, Ensured::Created, Ensured::Created]);
    let counts = admin.topic_partition_counts(&[&c, &o, &s]).await.unwrap();
    assert_eq!(counts[&c], Some(1));
    assert_eq!(counts[&o], Some(4));
    assert_eq!(counts[&s], Some(5), "Connect's default for the status topic");
    for t in [&c, &o, &s] {
        let cfg = admin.describe_topic_configs(t).await.unwrap();
        assert_eq!(cfg["cleanup.policy"].as_deref(), Some("compact"), "{t}");
    }
    assert_eq!(
        admin.describe_topic_configs(&s).await.unwrap()["min.insync.replicas"].as_deref(),
        Some("1"),
        "status.storage.<config> is applied at creation"
    );
    // a second worker (or a restart) finds them and changes nothing
    let again = topics.ensure(&admin).await.unwrap();
    assert_eq!(again, [Ensured::Existed, Ensured::Existed, Ensured::Existed]);
    // looking never auto-creates
    let ghost = unique_topic("ghost");
    assert_eq!(
        admin.topic_partition_counts(&[&ghost]).await.unwrap().get(&ghost),
        Some(&None)
    );
    assert!(!admin.list_topics().await.unwrap().contains(&ghost));
}

#[tokio::test]
async fn a_config_topic_with_several_partitions_is_refused() {
    let kafka = require_kafka!();
    let admin = admin(&kafka.bootstrap).await;
    let (c, o, s) = (unique_topic("cfg3"), unique_topic("off"), unique_topic("st"));
    admin
        .create_topic(NewTopic::new(&c, 3).config("cleanup.policy", "compact"))
        .await
        .unwrap();
    let topics = InternalTopics::from_properties(&worker_props(&c, &o, &s)).unwrap();
    let e = topics.ensure(&admin).await.unwrap_err();
    assert!(
        matches!(
            &e,
            InternalTopicsError::ConfigTopicPartitions { partitions: 3, .. }
        ),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains(&format!(
            "Topic '{c}' supplied via the 'config.storage.topic' property"
        )),
        "{msg}"
    );
    assert!(
        msg.contains("single partition") && msg.contains("found 3 partitions"),
        "{msg}"
    );
}

#[tokio::test]
async fn internal_topics_that_are_not_compacted_are_refused() {
    let kafka = require_kafka!();
    let admin = admin(&kafka.bootstrap).await;
    for policy in ["delete", "compact,delete"] {
        let (c, o, s) = (unique_topic("cfg"), unique_topic("off"), unique_topic("st-del"));
        admin
            .create_topic(NewTopic::new(&s, 5).config("cleanup.policy", policy))
            .await
            .unwrap();
        let topics = InternalTopics::from_properties(&worker_props(&c, &o, &s)).unwrap();
        let e = topics.ensure(&admin).await.unwrap_err();
        let InternalTopicsError::NotCompacted {
            topic, policy: found, ..
        } = &e
        else {
            panic!("{policy}: {e:?}");
        };
        assert_eq!(topic, &s);
        assert_eq!(found, policy);
        let msg = e.to_string();
        assert!(msg.contains("'status.storage.topic' property"), "{msg}");
        assert!(msg.contains("'cleanup.policy=compact'"), "{msg}");
        assert!(msg.contains("connector and task statuses"), "{msg}");
    }
}
