//! A mixed consumer group on a real broker: Kafka's Java `ConsoleConsumer` and two kaflow
//! `GroupConsumer`s share one group (classic protocol, `range`).
//!
//! ```text
//!  phase 1: 60,000 records, 6 partitions ─▶ Java + kaflow A + kaflow B: every record once,
//!           partitions split with none read by two members
//!  phase 2: kill -9 the Java member ─▶ after its session timeout A and B own everything;
//!           30,000 new records: each read exactly once (its earlier records were committed)
//!  phase 3: A closes cleanly ─▶ B owns everything; 6,000 new records: each read once by B
//! ```

use bytes::Bytes;
use kaflow_client::admin::{Admin, NewTopic, OffsetSpec};
use kaflow_client::consumer::{GroupConsumer, TopicPartition};
use kaflow_client::producer::{Producer, ProducerConfig, ProducerRecord};
use kaflow_client::{ClientConfig, Properties};
use kaflow_test_support::{repo_root, require_kafka, unique_topic};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

type Seen = Arc<Mutex<Vec<(String, i32, i64)>>>;

async fn produce(bootstrap: &str, topic: &str, from: u64, to: u64) {
    let p = Producer::connect(ProducerConfig::new(bootstrap).unwrap())
        .await
        .unwrap();
    let mut acks = Vec::new();
    for i in from..to {
        let r = ProducerRecord::new(topic, Bytes::from(i.to_string())).partition((i % 6) as i32);
        acks.push(p.send(r).await.unwrap());
    }
    for a in acks {
        a.wait().await.unwrap();
    }
    p.close().await;
}

fn props(bootstrap: &str, group: &str) -> Properties {
    Properties::new()
        .with("bootstrap.servers", bootstrap)
        .with("group.id", group)
        .with("auto.offset.reset", "earliest")
        .with("partition.assignment.strategy", "range")
        .with("session.timeout.ms", "6000")
        .with("heartbeat.interval.ms", "500")
        .with("auto.commit.interval.ms", "500")
}

/// Runs a kaflow member until `stop` says so; `crash` drops it without leaving the group.
fn spawn_member(
    name: &'static str,
    bootstrap: String,
    group: String,
    topic: String,
    seen: Seen,
    mut stop: watch::Receiver<&'static str>,
) -> tokio::task::JoinHandle<BTreeSet<TopicPartition>> {
    tokio::spawn(async move {
        let mut c = GroupConsumer::subscribe(&props(&bootstrap, &group), &[&topic])
            .await
            .unwrap();
        loop {
            if *stop.borrow() != "run" {
                break;
            }
            let records = tokio::select! {
                r = c.poll(Duration::from_millis(200)) => r.unwrap(),
                _ = stop.changed() => Vec::new(),
            };
            let mut s = seen.lock().unwrap();
            for r in records {
                s.push((name.to_string(), r.partition, r.offset));
            }
        }
        let owned = c.assignment();
        if *stop.borrow() == "close" {
            c.close().await.unwrap();
        }
        owned
    })
}

async fn wait_for(seen: &Seen, count: usize, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let n = seen.lock().unwrap().len();
        if n >= count {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: {n} of {count} records after 90 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn no_record_twice(seen: &[(String, i32, i64)], what: &str) -> BTreeMap<String, BTreeSet<i32>> {
    let mut by_record: BTreeMap<(i32, i64), Vec<&str>> = BTreeMap::new();
    let mut by_member: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    for (m, p, o) in seen {
        by_record.entry((*p, *o)).or_default().push(m);
        by_member.entry(m.clone()).or_default().insert(*p);
    }
    let twice: Vec<_> = by_record.iter().filter(|(_, ms)| ms.len() > 1).take(5).collect();
    assert!(twice.is_empty(), "{what}: records consumed twice: {twice:?}");
    by_member
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_and_kaflow_members_share_a_group_and_partitions_move_without_double_reads() {
    let kafka = require_kafka!();
    let bootstrap = kafka.bootstrap.clone();
    let topic = unique_topic("group-mixed");
    let group = unique_topic("group-mixed-g");
    let admin = Admin::connect(ClientConfig::new(&bootstrap).unwrap())
        .await
        .unwrap();
    admin.create_topic(NewTopic::new(&topic, 6)).await.unwrap();
    admin.list_offsets(&topic, &[], OffsetSpec::Latest).await.unwrap();

    let seen: Seen = Arc::default();
    // The Java member: ConsoleConsumer in the group, printing partition and offset.
    let mut java = Command::new("bash")
        .arg(repo_root().join("scripts/kafka.sh"))
        .args([
            "tool",
            "org.apache.kafka.tools.consumer.ConsoleConsumer",
            "--bootstrap-server",
            &bootstrap,
        ])
        .args(["--topic", &topic, "--group", &group])
        .args(["--consumer-property", "group.protocol=classic"])
        .args(["--consumer-property", "auto.offset.reset=earliest"])
        .args(["--consumer-property", "session.timeout.ms=6000"])
        .args(["--consumer-property", "auto.commit.interval.ms=500"])
        .args([
            "--formatter-property",
            "print.partition=true",
            "--formatter-property",
            "print.offset=true",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run ConsoleConsumer");
    let java_out = java.stdout.take().unwrap();
    let java_seen = Arc::clone(&seen);
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(java_out).lines().map_while(Result::ok) {
            let mut f = line.split('\t');
            let p = f
                .next()
                .and_then(|s| s.strip_prefix("Partition:"))
                .and_then(|s| s.parse().ok());
            let o = f
                .next()
                .and_then(|s| s.strip_prefix("Offset:"))
                .and_then(|s| s.parse().ok());
            if let (Some(p), Some(o)) = (p, o) {
                java_seen.lock().unwrap().push(("java".into(), p, o));
            }
        }
    });

    let (stop_a, rx_a) = watch::channel("run");
    let (stop_b, rx_b) = watch::channel("run");
    let a = spawn_member(
        "a",
        bootstrap.clone(),
        group.clone(),
        topic.clone(),
        Arc::clone(&seen),
        rx_a,
    );
    let b = spawn_member(
        "b",
        bootstrap.clone(),
        group.clone(),
        topic.clone(),
        Arc::clone(&seen),
        rx_b,
    );

    // Phase 1: once all three members hold partitions (the JVM takes a few seconds to join).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let out = kaflow_test_support::kafka_tool(
            "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
            &[
                "--bootstrap-server",
                &bootstrap,
                "--describe",
                "--group",
                &group,
                "--members",
            ],
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let holding = text
            .lines()
            .filter(|l| l.starts_with(group.as_str()))
            .filter(|l| {
                l.split_whitespace()
                    .last()
                    .and_then(|n| n.parse::<u32>().ok())
                    .is_some_and(|n| n > 0)
            })
            .count();
        if holding == 3 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "three members never shared the group:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    produce(&bootstrap, &topic, 0, 60_000).await;
    wait_for(&seen, 60_000, "phase 1").await;
    tokio::time::sleep(Duration::from_secs(2)).await; // any late duplicate would show up now
    let phase1 = seen.lock().unwrap().clone();
    assert_eq!(phase1.len(), 60_000, "phase 1: every record exactly once");
    let owners = no_record_twice(&phase1, "phase 1");
    let mut all = BTreeSet::new();
    for (m, ps) in &owners {
        for p in ps {
            assert!(all.insert(*p), "partition {p} read by two members ({owners:?})");
        }
        assert!(!ps.is_empty(), "{m} got no partition");
    }
    assert_eq!(all.len(), 6);
    assert!(
        owners.contains_key("java") && owners.len() == 3,
        "three members shared the work: {owners:?}"
    );

    // Wait until the group's committed offsets reach the end of every partition (the Java
    // member commits every 500 ms, kaflow members at each poll past the interval).
    let committed = |admin: &Admin| {
        let _ = admin;
        let out = kaflow_test_support::kafka_tool(
            "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
            &["--bootstrap-server", &bootstrap, "--describe", "--group", &group],
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let text = committed(&admin);
        let lags: Vec<i64> = text
            .lines()
            .filter(|l| l.contains(&topic))
            .filter_map(|l| l.split_whitespace().nth(5).and_then(|s| s.parse().ok()))
            .collect();
        if lags.len() == 6 && lags.iter().all(|&lag| lag == 0) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "offsets not all committed:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Phase 2: crash the Java member; A and B take over its partitions.
    java.kill().unwrap();
    let _ = java.wait();
    let _ = reader.join();
    seen.lock().unwrap().clear();
    produce(&bootstrap, &topic, 60_000, 90_000).await;
    wait_for(&seen, 30_000, "phase 2").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let phase2 = seen.lock().unwrap().clone();
    assert_eq!(phase2.len(), 30_000, "phase 2: the new records exactly once");
    let owners = no_record_twice(&phase2, "phase 2");
    assert!(!owners.contains_key("java"));
    assert_eq!(
        owners.values().flatten().collect::<BTreeSet<_>>().len(),
        6,
        "A and B own all 6 partitions"
    );
    assert!(
        phase2.iter().all(|(_, _, o)| *o >= 10_000),
        "nothing from before the kill re-read"
    );

    // Phase 3: A leaves cleanly; B owns everything.
    seen.lock().unwrap().clear();
    stop_a.send("close").unwrap();
    a.await.unwrap();
    produce(&bootstrap, &topic, 90_000, 96_000).await;
    wait_for(&seen, 6_000, "phase 3").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let phase3 = seen.lock().unwrap().clone();
    assert_eq!(phase3.len(), 6_000, "phase 3: exactly once");
    let owners = no_record_twice(&phase3, "phase 3");
    assert_eq!(owners.keys().collect::<Vec<_>>(), ["b"]);
    stop_b.send("close").unwrap();
    let b_owned = b.await.unwrap();
    assert_eq!(b_owned.len(), 6);
}

#[tokio::test]
async fn a_pattern_subscription_follows_topics_created_later_and_ignores_others() {
    let kafka = require_kafka!();
    let bootstrap = kafka.bootstrap.clone();
    let base = unique_topic("pattern");
    let (a, b, other) = (format!("{base}-a"), format!("{base}-b"), format!("{base}x-c"));
    let admin = Admin::connect(ClientConfig::new(&bootstrap).unwrap())
        .await
        .unwrap();
    for t in [&a, &other] {
        admin.create_topic(NewTopic::new(t, 6)).await.unwrap();
        admin.list_offsets(t, &[], OffsetSpec::Latest).await.unwrap();
    }
    produce(&bootstrap, &a, 0, 600).await;
    produce(&bootstrap, &other, 0, 60).await;
    let props = props(&bootstrap, &unique_topic("pattern-g")).with("metadata.max.age.ms", "500");
    let pattern = format!("{}-.*", regex::escape(&base));
    let mut c = GroupConsumer::subscribe_pattern(&props, &pattern).await.unwrap();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut created_b = false;
    while seen.values().sum::<usize>() < 900 {
        assert!(tokio::time::Instant::now() < deadline, "records seen: {seen:?}");
        for r in c.poll(Duration::from_millis(200)).await.unwrap() {
            *seen.entry(r.topic.to_string()).or_default() += 1;
        }
        if !created_b && seen.get(&a) == Some(&600) {
            admin.create_topic(NewTopic::new(&b, 6)).await.unwrap();
            admin.list_offsets(&b, &[], OffsetSpec::Latest).await.unwrap();
            produce(&bootstrap, &b, 0, 300).await;
            created_b = true;
        }
    }
    c.poll(Duration::from_millis(1000))
        .await
        .unwrap()
        .iter()
        .for_each(|r| *seen.entry(r.topic.to_string()).or_default() += 1);
    assert_eq!(seen.get(&a), Some(&600), "{seen:?}");
    assert_eq!(
        seen.get(&b),
        Some(&300),
        "the topic created later is consumed, once: {seen:?}"
    );
    assert!(!seen.contains_key(&other), "a non-matching topic is never read");
    c.close().await.unwrap();
}
