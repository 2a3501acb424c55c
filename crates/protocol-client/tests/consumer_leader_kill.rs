//! Invariant I21 (a consumer follows leadership: when a partition's leader dies, fetching moves
//! to the new leader and no record is skipped or read twice) on a real three-node KRaft cluster
//! (RF 3, min.insync.replicas 2).
//!
//! ```text
//!  produce 300k records (p = i % 3, value "p{p}-s{seq}"), acks=all
//!  Consumer::assign(p0, p1, p2) from the beginning
//!  3 × [ read ≥ 30k more ─▶ kill -9 the leader of partition k ─▶ read ≥ 15k more of partition k
//!         while that node is down (only the new leader can serve them) ─▶ restart it ─▶ full ISR ]
//!  read to the end ─▶ per partition: offsets 0..n and sequence numbers 0..n, each once, in order
//! ```

use kaflow_client::consumer::{Consumer, ConsumerConfig, ConsumerRecord, TopicPartition};
use kaflow_client::producer::{Producer, ProducerConfig, ProducerRecord};
use kaflow_client::Properties;
use kaflow_test_support::seq::check_consecutive;
use kaflow_test_support::Cluster;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

mod leaders;
use leaders::{kill, leader_of, parse_value, replicated_topic, restart, value, wait_full_isr};

const RECORDS: u64 = 300_000;
const PARTITIONS: u64 = 3;

/// What the test has read so far, per partition: (offset, seq) in delivery order.
#[derive(Default)]
struct Seen {
    by_partition: BTreeMap<i32, Vec<(i64, u64)>>,
    total: u64,
}

impl Seen {
    fn add(&mut self, recs: Vec<ConsumerRecord>) {
        for r in recs {
            let (p, seq) =
                parse_value(std::str::from_utf8(r.value.as_deref().expect("value")).expect("utf-8 value"));
            assert_eq!(
                p as i32, r.partition,
                "record {seq} of p{p} read from partition {}",
                r.partition
            );
            self.by_partition
                .entry(r.partition)
                .or_default()
                .push((r.offset, seq));
            self.total += 1;
        }
    }
    fn of(&self, p: i32) -> u64 {
        self.by_partition.get(&p).map_or(0, |v| v.len() as u64)
    }
}

/// Polls until `cond(seen)` holds; panics with `what` after `limit`.
async fn read_until(
    c: &mut Consumer,
    seen: &mut Seen,
    what: &str,
    limit: Duration,
    cond: impl Fn(&Seen) -> bool,
) {
    let deadline = Instant::now() + limit;
    while !cond(seen) {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what} ({} read)",
            seen.total
        );
        let recs = c
            .poll(Duration::from_millis(500))
            .await
            .unwrap_or_else(|e| panic!("poll: {e}"));
        seen.add(recs);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i21_consumer_follows_leader_kills_without_skipping_or_repeating() {
    let Some(cluster) = Cluster::require_three() else {
        return;
    };
    let started = Instant::now();
    let cluster = Arc::new(cluster);
    let bootstrap = cluster.bootstrap.clone();
    let (admin, topic) = replicated_topic(&bootstrap, "consumer-leader-kill", PARTITIONS as i32).await;

    let producer = Producer::connect(ProducerConfig::new(&bootstrap).expect("producer config"))
        .await
        .expect("producer");
    let mut acks = Vec::with_capacity(RECORDS as usize);
    for i in 0..RECORDS {
        let (p, seq) = (i % PARTITIONS, i / PARTITIONS);
        let rec = ProducerRecord::new(topic.as_str(), value(p, seq)).partition(p as i32);
        acks.push(producer.send(rec).await.expect("send"));
    }
    for a in acks {
        a.wait().await.expect("record acknowledged");
    }
    producer.close().await;
    let produced_at = started.elapsed();

    let props = Properties::new()
        .with("bootstrap.servers", &bootstrap)
        .with("auto.offset.reset", "earliest")
        .with("max.poll.records", 1000)
        // Small fetches, so that each kill lands with most of the partition still unread.
        .with("max.partition.fetch.bytes", 65_536)
        .with("request.timeout.ms", 10_000);
    let mut consumer = Consumer::connect(ConsumerConfig::from_properties(&props).expect("consumer config"))
        .await
        .expect("consumer");
    consumer.assign((0..PARTITIONS as i32).map(|p| TopicPartition::new(topic.as_str(), p)));

    let mut seen = Seen::default();
    let mut kills = Vec::new();
    for k in 0..PARTITIONS as i32 {
        let target = seen.total + 30_000;
        read_until(
            &mut consumer,
            &mut seen,
            "30k more records",
            Duration::from_secs(60),
            |s| s.total >= target,
        )
        .await;
        let node = leader_of(&admin, &cluster, &topic, k).await;
        let before = seen.of(k);
        let fetches_before = consumer.fetch_stats().0;
        // The other partitions wait meanwhile: the consumer doesn't stall them while k's old
        // leader times out, so they would be read to the end before the next kill.
        let others: Vec<TopicPartition> = (0..PARTITIONS as i32)
            .filter(|&p| p != k)
            .map(|p| TopicPartition::new(topic.as_str(), p))
            .collect();
        consumer.pause(&others).expect("pause");
        kill(&cluster, node).await;
        let killed_at = Instant::now();
        // Partition k's records can now come only from its new leader.
        read_until(
            &mut consumer,
            &mut seen,
            &format!("15k more records of partition {k} with node {node} dead"),
            Duration::from_secs(90),
            |s| s.of(k) >= before + 15_000,
        )
        .await;
        let resumed_after = killed_at.elapsed();
        consumer.resume(&others).expect("resume");
        let new_leader = leader_of(&admin, &cluster, &topic, k).await;
        assert_ne!(
            new_leader, node,
            "partition {k} still led by the killed node {node}"
        );
        restart(&cluster, node).await;
        wait_full_isr(&admin, &topic, PARTITIONS as i32, Duration::from_secs(120)).await;
        eprintln!(
            "kill {k}: node {node} led partition {k} (read {before} of it), new leader {new_leader}; \
             15k more of it read {:.1}s after the kill; {} fetches meanwhile",
            resumed_after.as_secs_f64(),
            consumer.fetch_stats().0 - fetches_before
        );
        kills.push((node, new_leader));
    }
    read_until(
        &mut consumer,
        &mut seen,
        "every record",
        Duration::from_secs(120),
        |s| s.total >= RECORDS,
    )
    .await;
    // Anything more would be a duplicate: one more short poll must find nothing.
    let extra = consumer.poll(Duration::from_millis(500)).await.expect("poll");
    assert!(extra.is_empty(), "{} records after the last one", extra.len());
    consumer.close().await;

    assert_eq!(kills.len() as u64, PARTITIONS, "one kill per partition");
    let expected: BTreeMap<i32, u64> = (0..PARTITIONS)
        .map(|p| (p as i32, (RECORDS - p).div_ceil(PARTITIONS)))
        .collect();
    // Delivery order must already be the log order: check it before any sorting.
    for (p, recs) in &seen.by_partition {
        let unordered = recs.windows(2).position(|w| w[1].0 != w[0].0 + 1);
        assert!(
            unordered.is_none(),
            "partition {p}: offsets not consecutive at {unordered:?}"
        );
    }
    let report = check_consecutive(&seen.by_partition, &expected);
    assert!(report.is_clean(), "read back: {report}");
    assert_eq!(report.records, RECORDS);
    eprintln!(
        "{RECORDS} records produced in {:.1}s, read across kills {kills:?} in {:.1}s",
        produced_at.as_secs_f64(),
        (started.elapsed() - produced_at).as_secs_f64()
    );
}
