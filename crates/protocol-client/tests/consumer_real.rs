//! The consumer against a real broker: exact reads of what was produced (keys, values,
//! headers, per-partition order), incremental fetch sessions, pause/resume, seek, and
//! `auto.offset.reset` on an out-of-range position.

use bytes::Bytes;
use kaflow_client::admin::{Admin, NewTopic, OffsetSpec};
use kaflow_client::consumer::{Consumer, ConsumerConfig, ConsumerError, TopicPartition};
use kaflow_client::producer::{Producer, ProducerConfig, ProducerRecord};
use kaflow_client::{ClientConfig, Error, Properties};
use kaflow_test_support::{require_kafka, unique_topic};
use std::collections::BTreeMap;
use std::time::Duration;

async fn topic_with(bootstrap: &str, prefix: &str, partitions: i32, records: u64) -> String {
    let topic = unique_topic(prefix);
    let admin = Admin::connect(ClientConfig::new(bootstrap).unwrap())
        .await
        .unwrap();
    admin
        .create_topic(NewTopic::new(&topic, partitions))
        .await
        .unwrap();
    admin.list_offsets(&topic, &[], OffsetSpec::Latest).await.unwrap();
    let producer = Producer::connect(ProducerConfig::new(bootstrap).unwrap())
        .await
        .unwrap();
    let mut acks = Vec::new();
    for i in 0..records {
        let r = ProducerRecord::new(topic.as_str(), Bytes::from(format!("v{i}")))
            .key(Bytes::from(format!("k{i}")))
            .partition((i % partitions as u64) as i32)
            .header("seq", Some(i.to_string()));
        acks.push(producer.send(r).await.unwrap());
    }
    for a in acks {
        a.wait().await.unwrap();
    }
    producer.close().await;
    topic
}

fn consumer_cfg(bootstrap: &str, extra: &[(&str, &str)]) -> ConsumerConfig {
    let mut p = Properties::new()
        .with("bootstrap.servers", bootstrap)
        .with("auto.offset.reset", "earliest");
    for (k, v) in extra {
        p.set(k, v);
    }
    ConsumerConfig::from_properties(&p).unwrap()
}

async fn read_until(c: &mut Consumer, n: usize) -> Vec<kaflow_client::consumer::ConsumerRecord> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while out.len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {n} records in 60 s",
            out.len()
        );
        out.extend(c.poll(Duration::from_millis(500)).await.unwrap());
    }
    out
}

#[tokio::test]
async fn reads_exactly_what_was_produced_in_order_with_incremental_fetch_sessions() {
    let kafka = require_kafka!();
    let n = 30_000u64;
    let topic = topic_with(&kafka.bootstrap, "consume-exact", 3, n).await;
    let mut c = Consumer::connect(consumer_cfg(
        &kafka.bootstrap,
        &[("max.partition.fetch.bytes", "16384")],
    ))
    .await
    .unwrap();
    c.assign((0..3).map(|p| TopicPartition::new(topic.as_str(), p)));
    let got = read_until(&mut c, n as usize).await;
    assert_eq!(got.len(), n as usize, "no record twice");
    let mut next: BTreeMap<i32, i64> = BTreeMap::new();
    for r in &got {
        let i: u64 = std::str::from_utf8(r.value.as_deref().unwrap()).unwrap()[1..]
            .parse()
            .unwrap();
        assert_eq!(r.partition as u64, i % 3);
        let expected = next.entry(r.partition).or_insert(0);
        assert_eq!(r.offset, *expected, "per-partition order, no gaps");
        *expected += 1;
        assert_eq!(r.offset as u64, i / 3);
        assert_eq!(r.key.as_deref(), Some(format!("k{i}").as_bytes()));
        assert_eq!(r.headers.len(), 1);
        assert_eq!(r.headers[0].value.as_deref(), Some(i.to_string().as_bytes()));
    }
    for p in 0..3 {
        assert_eq!(c.position(&TopicPartition::new(topic.as_str(), p)), Some(10_000));
    }
    let (requests, incremental) = c.fetch_stats();
    assert!(
        incremental > 0 && incremental < requests,
        "KIP-227 sessions used: {incremental} of {requests}"
    );
}

#[tokio::test]
async fn a_paused_partition_returns_nothing_while_others_flow_then_resumes() {
    let kafka = require_kafka!();
    let topic = topic_with(&kafka.bootstrap, "consume-pause", 2, 200).await;
    let (p0, p1) = (
        TopicPartition::new(topic.as_str(), 0),
        TopicPartition::new(topic.as_str(), 1),
    );
    let mut c = Consumer::connect(consumer_cfg(&kafka.bootstrap, &[]))
        .await
        .unwrap();
    c.assign([p0.clone(), p1.clone()]);
    c.pause(std::slice::from_ref(&p1)).unwrap();
    let got = read_until(&mut c, 100).await;
    assert!(
        got.iter().all(|r| r.partition == 0),
        "paused partition 1 must not be returned"
    );
    assert!(c.poll(Duration::from_millis(300)).await.unwrap().is_empty());
    c.resume(std::slice::from_ref(&p1)).unwrap();
    let got = read_until(&mut c, 100).await;
    assert!(got.iter().all(|r| r.partition == 1));
    assert_eq!(c.position(&p1), Some(100));
}

#[tokio::test]
async fn seek_and_out_of_range_positions_follow_auto_offset_reset() {
    let kafka = require_kafka!();
    let topic = topic_with(&kafka.bootstrap, "consume-reset", 1, 50).await;
    let tp = TopicPartition::new(topic.as_str(), 0);

    let mut c = Consumer::connect(consumer_cfg(&kafka.bootstrap, &[]))
        .await
        .unwrap();
    c.assign([tp.clone()]);
    c.seek(&tp, 40).unwrap();
    let got = read_until(&mut c, 10).await;
    assert_eq!(got.first().map(|r| r.offset), Some(40));

    // Out of range with earliest: back to the log start.
    c.seek(&tp, 1_000).unwrap();
    let got = read_until(&mut c, 50).await;
    assert_eq!(
        got.first().map(|r| r.offset),
        Some(0),
        "reset to earliest after out of range"
    );

    // latest: starts at the end.
    let mut latest = Consumer::connect(consumer_cfg(&kafka.bootstrap, &[("auto.offset.reset", "latest")]))
        .await
        .unwrap();
    latest.assign([tp.clone()]);
    assert!(latest.poll(Duration::from_millis(300)).await.unwrap().is_empty());
    assert_eq!(latest.position(&tp), Some(50));

    // none: an error naming the partition.
    let mut none = Consumer::connect(consumer_cfg(&kafka.bootstrap, &[("auto.offset.reset", "none")]))
        .await
        .unwrap();
    none.assign([tp.clone()]);
    none.seek(&tp, 1_000).unwrap();
    let err = loop {
        match none.poll(Duration::from_millis(500)).await {
            Err(e) => break e,
            Ok(r) => assert!(r.is_empty()),
        }
    };
    assert!(
        matches!(err, Error::Consumer(ConsumerError::NoOffsetForPartition { .. })),
        "{err}"
    );
    assert!(
        err.to_string().contains(&format!("{topic}-0")) && err.to_string().contains("1000"),
        "{err}"
    );
}

/// Pipelined fetch: a Fetch still on its way when the caller seeks asked for the old position.
/// Its answer is dropped as stale, and the next poll starts exactly at the sought offset.
#[tokio::test]
async fn a_seek_while_a_prefetch_is_out_drops_its_answer() {
    let kafka = require_kafka!();
    let topic = unique_topic("consumer-stale-prefetch");
    let admin = Admin::connect(ClientConfig::new(&kafka.bootstrap).unwrap())
        .await
        .unwrap();
    admin.create_topic(NewTopic::new(&topic, 1)).await.unwrap();
    admin.list_offsets(&topic, &[], OffsetSpec::Latest).await.unwrap();
    let producer = Producer::connect(ProducerConfig::new(&kafka.bootstrap).unwrap())
        .await
        .unwrap();
    // One record per batch: with max.partition.fetch.bytes=1 every Fetch brings one batch.
    for i in 0..10 {
        let r = ProducerRecord::new(topic.as_str(), Bytes::from(format!("v{i}"))).partition(0);
        producer.send(r).await.unwrap().wait().await.unwrap();
    }
    producer.close().await;

    let mut c = Consumer::connect(consumer_cfg(
        &kafka.bootstrap,
        &[("max.partition.fetch.bytes", "1")],
    ))
    .await
    .unwrap();
    let tp = TopicPartition::new(&topic, 0);
    c.assign([tp.clone()]);
    let first = c.poll(Duration::from_secs(30)).await.unwrap();
    assert_eq!(first.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![0]);
    // The buffer ran dry, so a Fetch from offset 1 went out with that poll. Rewind under it.
    c.seek(&tp, 0).unwrap();
    let rest = read_until(&mut c, 10).await;
    let offsets: Vec<i64> = rest.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, (0..10).collect::<Vec<i64>>());
    assert_eq!(c.position(&tp), Some(10));
}
