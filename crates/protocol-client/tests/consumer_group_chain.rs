//! Group chain: 1,000,000 records through three chained consumer groups (stage i reads topic i
//! in group gi and writes each record to the same partition of topic i+1), while members join
//! and leave cleanly during the run.
//!
//! ```text
//!  t0 ─g1 (a, b; c joins then leaves)─▶ t1 ─g2 (a, b; c joins then leaves)─▶ t2 ─g3 (…)─▶ t3
//! ```
//!
//! Checked on t3: every record exactly once, in order per partition (no double consumption
//! across the clean rebalances), and every group's committed offsets never moved backwards.

use bytes::Bytes;
use kaflow_client::admin::{Admin, NewTopic, OffsetSpec};
use kaflow_client::consumer::{Consumer, ConsumerConfig, GroupConsumer, TopicPartition};
use kaflow_client::group::fetch_committed;
use kaflow_client::producer::{Producer, ProducerConfig, ProducerRecord};
use kaflow_client::{ClientConfig, Properties};
use kaflow_test_support::{require_kafka, unique_topic};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::watch;

const RECORDS: u64 = 1_000_000;
const PARTITIONS: i32 = 4;

fn props(bootstrap: &str, group: &str) -> Properties {
    Properties::new()
        .with("bootstrap.servers", bootstrap)
        .with("group.id", group)
        .with("auto.offset.reset", "earliest")
        .with("session.timeout.ms", "10000")
        .with("heartbeat.interval.ms", "500")
        .with("auto.commit.interval.ms", "200")
        .with("max.poll.records", "2000")
}

/// One stage member: forwards every record of its partitions to the next topic (same
/// partition), awaiting the writes before it polls again (so a commit never covers an unwritten
/// record), until `stop`.
fn member(
    bootstrap: String,
    group: String,
    from: String,
    to: String,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let producer = Producer::connect(ProducerConfig::new(&bootstrap).unwrap())
            .await
            .unwrap();
        let mut c = GroupConsumer::subscribe(&props(&bootstrap, &group), &[&from])
            .await
            .unwrap();
        let mut forwarded = 0;
        while !*stop.borrow() {
            let records = tokio::select! {
                r = c.poll(Duration::from_millis(200)) => r.unwrap(),
                _ = stop.changed() => break,
            };
            let mut acks = Vec::with_capacity(records.len());
            for r in records {
                let pr = ProducerRecord::new(to.as_str(), r.value.unwrap()).partition(r.partition);
                acks.push(producer.send(pr).await.unwrap());
            }
            for a in acks {
                a.wait().await.unwrap();
                forwarded += 1;
            }
        }
        c.close().await.unwrap();
        producer.close().await;
        forwarded
    })
}

async fn committed(bootstrap: &str, group: &str, topic: &str) -> BTreeMap<i32, i64> {
    let cluster = kaflow_client::cluster::Cluster::connect(ClientConfig::new(bootstrap).unwrap())
        .await
        .unwrap();
    let tps: Vec<TopicPartition> = (0..PARTITIONS).map(|p| TopicPartition::new(topic, p)).collect();
    fetch_committed(&cluster, group, &tps, Duration::from_secs(10))
        .await
        .unwrap()
        .into_iter()
        .filter_map(|(tp, o)| o.map(|o| (tp.partition, o.offset)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_records_through_three_chained_groups_with_members_joining_and_leaving() {
    let kafka = require_kafka!();
    let bootstrap = kafka.bootstrap.clone();
    let admin = Admin::connect(ClientConfig::new(&bootstrap).unwrap())
        .await
        .unwrap();
    let topics: Vec<String> = (0..4).map(|i| unique_topic(&format!("chain-t{i}"))).collect();
    for t in &topics {
        admin.create_topic(NewTopic::new(t, PARTITIONS)).await.unwrap();
        admin.list_offsets(t, &[], OffsetSpec::Latest).await.unwrap();
    }
    let groups: Vec<String> = (1..4).map(|i| unique_topic(&format!("chain-g{i}"))).collect();

    // The input: value = 8-byte sequence number, partition = seq % PARTITIONS.
    let producer = Producer::connect(ProducerConfig::new(&bootstrap).unwrap())
        .await
        .unwrap();
    let mut acks = Vec::new();
    for i in 0..RECORDS {
        let r = ProducerRecord::new(topics[0].as_str(), Bytes::copy_from_slice(&i.to_be_bytes()))
            .partition((i % PARTITIONS as u64) as i32);
        acks.push(producer.send(r).await.unwrap());
    }

    let (stop, stop_rx) = watch::channel(false);
    let mut members = Vec::new();
    for s in 0..3 {
        for _ in 0..2 {
            members.push(member(
                bootstrap.clone(),
                groups[s].clone(),
                topics[s].clone(),
                topics[s + 1].clone(),
                stop_rx.clone(),
            ));
        }
    }
    for a in acks {
        a.wait().await.unwrap();
    }
    producer.close().await;

    // Membership churn while records flow: a third member joins each group, then leaves.
    let mut last_commits: Vec<BTreeMap<i32, i64>> = vec![BTreeMap::new(); 3];
    let sample_commits = |last: &mut Vec<BTreeMap<i32, i64>>, now: Vec<BTreeMap<i32, i64>>| {
        for (s, (before, after)) in last.iter().zip(&now).enumerate() {
            for (p, o) in before {
                let n = after.get(p).copied().unwrap_or(-1);
                assert!(
                    n >= *o,
                    "group {} partition {p}: committed offset moved back {o} -> {n}",
                    s + 1
                );
            }
        }
        *last = now;
    };
    for round in 0..2 {
        let (leave, leave_rx) = watch::channel(false);
        let extra: Vec<_> = (0..3)
            .map(|s| {
                member(
                    bootstrap.clone(),
                    groups[s].clone(),
                    topics[s].clone(),
                    topics[s + 1].clone(),
                    leave_rx.clone(),
                )
            })
            .collect();
        tokio::time::sleep(Duration::from_secs(4)).await;
        let mut now = Vec::new();
        for s in 0..3 {
            now.push(committed(&bootstrap, &groups[s], &topics[s]).await);
        }
        sample_commits(&mut last_commits, now);
        leave.send(true).unwrap();
        for e in extra {
            let n = e.await.unwrap();
            eprintln!("round {round}: an extra member forwarded {n} records");
        }
    }

    // Read the last topic until every record arrived (and a little longer, for duplicates).
    let mut c = Consumer::connect(
        ConsumerConfig::from_properties(
            &Properties::new()
                .with("bootstrap.servers", &bootstrap)
                .with("auto.offset.reset", "earliest"),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    c.assign((0..PARTITIONS).map(|p| TopicPartition::new(topics[3].as_str(), p)));
    let mut next_seq: BTreeMap<i32, u64> = (0..PARTITIONS).map(|p| (p, p as u64)).collect();
    let mut total = 0u64;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    while total < RECORDS {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {total} of {RECORDS} records reached the end"
        );
        for r in c.poll(Duration::from_millis(500)).await.unwrap() {
            let v = r.value.as_deref().unwrap();
            let seq = u64::from_be_bytes(v.try_into().unwrap());
            let want = next_seq.get_mut(&r.partition).unwrap();
            assert_eq!(
                seq, *want,
                "partition {}: in order, nothing twice, nothing missing",
                r.partition
            );
            *want += PARTITIONS as u64;
            total += 1;
        }
    }
    let extra = c.poll(Duration::from_secs(2)).await.unwrap();
    assert!(
        extra.is_empty(),
        "{} records beyond the million: double consumption",
        extra.len()
    );
    stop.send(true).unwrap();
    for m in members {
        m.await.unwrap();
    }
    let mut now = Vec::new();
    for s in 0..3 {
        now.push(committed(&bootstrap, &groups[s], &topics[s]).await);
    }
    sample_commits(&mut last_commits, now);
    for (s, c) in last_commits.iter().enumerate() {
        let total: i64 = c.values().sum();
        assert_eq!(
            total as u64,
            RECORDS,
            "group {} committed everything it forwarded",
            s + 1
        );
    }
}
