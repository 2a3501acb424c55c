//! Consumer groups (classic protocol) against a real broker, with Kafka's own Java consumer and
//! tools as the other side: a mixed kaflow + Java group, cooperative rebalancing (KIP-429),
//! static membership (KIP-345), and committed offsets.

use kaflow_client::admin::{Admin, NewTopic};
use kaflow_client::cluster::Cluster;
use kaflow_client::group::consumer_protocol::Subscription;
use kaflow_client::group::offsets::CommitAs;
use kaflow_client::group::{
    fetch_committed, ConsumerGroup, GroupAssignment, GroupConfig, GroupError, OffsetAndMetadata,
    RebalanceEvent, TopicPartition,
};
use kaflow_client::producer::{Producer, ProducerConfig, ProducerRecord};
use kaflow_client::{ClientConfig, Error, Properties};
use kaflow_test_support::{kafka_tool, repo_root, require_kafka, unique_topic};
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// The broker's `group.min.session.timeout.ms` default is 6000: the shortest session allowed.
const SESSION_MS: &str = "6000";

async fn cluster(bootstrap: &str) -> Arc<Cluster> {
    Cluster::connect(ClientConfig::new(bootstrap).expect("config"))
        .await
        .expect("cluster")
}

fn group_cfg(bootstrap: &str, group: &str, extra: &[(&str, &str)]) -> GroupConfig {
    let mut p = Properties::new()
        .with("bootstrap.servers", bootstrap)
        .with("group.id", group)
        .with("session.timeout.ms", SESSION_MS)
        .with("heartbeat.interval.ms", "500");
    for (k, v) in extra {
        p.set(k, v);
    }
    GroupConfig::from_properties(&p).expect("group config")
}

async fn create_topic(bootstrap: &str, topic: &str, partitions: i32) {
    let admin = Admin::connect(ClientConfig::new(bootstrap).expect("config"))
        .await
        .expect("admin");
    admin
        .create_topic(NewTopic::new(topic, partitions).replication_factor(1))
        .await
        .expect("create topic");
}

fn all(topic: &str, n: i32) -> BTreeSet<TopicPartition> {
    (0..n).map(|p| TopicPartition::new(topic, p)).collect()
}

/// Waits (at most `limit`) until `cond` holds for the assignment watch.
async fn await_assignment(
    rx: &mut watch::Receiver<GroupAssignment>,
    limit: Duration,
    what: &str,
    cond: impl FnMut(&GroupAssignment) -> bool,
) -> GroupAssignment {
    let r = tokio::time::timeout(limit, rx.wait_for(cond))
        .await
        .map(|r| r.map(|a| a.clone()));
    match r {
        Ok(Ok(a)) => a,
        Ok(Err(_)) => panic!("{what}: the member stopped"),
        Err(_) => panic!("{what}: not within {limit:?}; last assignment {:?}", *rx.borrow()),
    }
}

/// One member of a `--describe --members --verbose` table: member id → partitions of `topic`.
fn describe_members(bootstrap: &str, group: &str, topic: &str) -> BTreeMap<String, BTreeSet<i32>> {
    let out = kafka_tool(
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        &[
            "--bootstrap-server",
            bootstrap,
            "--describe",
            "--group",
            group,
            "--members",
            "--verbose",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut members = BTreeMap::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 3 || cols[0] != group {
            continue;
        }
        let prefix = format!("{topic}:");
        let parts: BTreeSet<i32> = cols
            .iter()
            .find_map(|c| c.strip_prefix(prefix.as_str()))
            .map(|list| list.split(',').filter_map(|p| p.parse().ok()).collect())
            .unwrap_or_default();
        members.insert(cols[1].to_string(), parts);
    }
    members
}

/// Polls ConsumerGroupCommand until `cond` holds for the group's members (each poll runs a
/// JVM, ~2 s, on a blocking thread so the members' tasks keep running), at most `limit`.
async fn await_describe(
    bootstrap: &str,
    group: &str,
    topic: &str,
    limit: Duration,
    mut cond: impl FnMut(&BTreeMap<String, BTreeSet<i32>>) -> bool,
) -> BTreeMap<String, BTreeSet<i32>> {
    let start = Instant::now();
    loop {
        let (b, g, t) = (bootstrap.to_string(), group.to_string(), topic.to_string());
        let m = tokio::task::spawn_blocking(move || describe_members(&b, &g, &t))
            .await
            .expect("describe");
        if cond(&m) {
            return m;
        }
        assert!(
            start.elapsed() < limit,
            "group {group} never matched; last describe: {m:?}"
        );
    }
}

fn start_console_consumer(bootstrap: &str, group: &str, topic: &str) -> Child {
    Command::new("bash")
        .arg(repo_root().join("scripts/kafka.sh"))
        .args(["tool", "org.apache.kafka.tools.consumer.ConsoleConsumer"])
        .args([
            "--bootstrap-server",
            bootstrap,
            "--topic",
            topic,
            "--group",
            group,
        ])
        .args(["--consumer-property", "group.protocol=classic"])
        .args(["--consumer-property", &format!("session.timeout.ms={SESSION_MS}")])
        .args(["--consumer-property", "heartbeat.interval.ms=500"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ConsoleConsumer")
}

/// Kills the Java consumer when the test ends, however it ends.
struct KillOnDrop(Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Two kaflow members (range) and Kafka's Java ConsoleConsumer (classic protocol, Java's
/// default assignors `range, cooperative-sticky`) in one group on six partitions: every
/// partition assigned once, and Kafka's own ConsumerGroupCommand sees the same split. A
/// kaflow member dropped without leaving, then the Java process killed: after the session
/// timeout their partitions move to the survivors.
#[tokio::test]
async fn mixed_kaflow_and_java_group_splits_partitions_and_moves_a_dead_members_share() {
    let kafka = require_kafka!();
    let bootstrap = kafka.bootstrap.as_str();
    let topic = unique_topic("group-mixed");
    let group = unique_topic("g-mixed");
    create_topic(bootstrap, &topic, 6).await;
    let cfg = || group_cfg(bootstrap, &group, &[("partition.assignment.strategy", "range")]);

    let a = ConsumerGroup::join(cluster(bootstrap).await, cfg(), &[&topic], ()).expect("a");
    let b = ConsumerGroup::join(cluster(bootstrap).await, cfg(), &[&topic], ()).expect("b");
    let java = KillOnDrop(start_console_consumer(bootstrap, &group, &topic));

    // Three members, each with two partitions, all six covered: Kafka's tool says so, and it
    // agrees with what each kaflow member was told.
    let limit = Duration::from_secs(90);
    let members = await_describe(bootstrap, &group, &topic, limit, |m| {
        for (name, member) in [("a", &a), ("b", &b)] {
            if let Some(e) = &member.state().borrow().failed {
                panic!("kaflow member {name} stopped: {e}");
            }
        }
        m.len() == 3 && m.values().all(|p| p.len() == 2) && {
            let union: BTreeSet<i32> = m.values().flatten().copied().collect();
            union.len() == 6
        }
    })
    .await;
    let (mut ra, mut rb) = (a.assignment(), b.assignment());
    let ga = await_assignment(&mut ra, limit, "a assigned", |x| x.partitions.len() == 2).await;
    let gb = await_assignment(&mut rb, limit, "b assigned", |x| x.partitions.len() == 2).await;
    let as_ints = |a: &GroupAssignment| {
        a.partitions
            .iter()
            .map(|tp| tp.partition)
            .collect::<BTreeSet<i32>>()
    };
    assert_eq!(
        members.get(&ga.member_id),
        Some(&as_ints(&ga)),
        "{members:?} vs a {ga:?}"
    );
    assert_eq!(
        members.get(&gb.member_id),
        Some(&as_ints(&gb)),
        "{members:?} vs b {gb:?}"
    );
    let java_id = members
        .keys()
        .find(|id| id.starts_with("console-consumer"))
        .expect("the Java member is in the group")
        .clone();
    let java_share = members[&java_id].clone();
    assert_eq!(java_share.len(), 2);
    assert!(java_share.is_disjoint(&as_ints(&ga)) && java_share.is_disjoint(&as_ints(&gb)));
    assert_eq!(ga.generation_id, gb.generation_id);

    // Kill b: dropped without LeaveGroup, as a crash. Its two partitions move after the
    // session timeout; a and the Java member split the six.
    let b_share = as_ints(&gb);
    let b_id = gb.member_id.clone();
    let killed_at = Instant::now();
    drop(b);
    let moved = await_assignment(&mut ra, limit, "a after b died", |x| {
        x.partitions.len() == 3 && x.generation_id > ga.generation_id
    })
    .await;
    assert!(
        killed_at.elapsed() >= Duration::from_millis(5_000),
        "b's partitions moved before its session could expire: the fault didn't happen as intended"
    );
    let members = await_describe(bootstrap, &group, &topic, limit, |m| {
        m.len() == 2 && m.values().all(|p| p.len() == 3)
    })
    .await;
    assert!(!members.contains_key(&b_id), "{members:?}");
    let union: BTreeSet<i32> = members.values().flatten().copied().collect();
    assert_eq!(union, (0..6).collect(), "{members:?}");
    assert!(
        b_share.iter().all(|p| union.contains(p)),
        "b's partitions {b_share:?} are owned again: {members:?}"
    );
    assert_eq!(members.get(&moved.member_id), Some(&as_ints(&moved)));

    // Kill the Java process (no LeaveGroup): a ends up with all six.
    drop(java);
    let last = await_assignment(&mut ra, limit, "a alone", |x| x.partitions.len() == 6).await;
    assert_eq!(last.partitions, all(&topic, 6));
    a.close().await.expect("close a");
}

fn events_until(rx: &mut mpsc::UnboundedReceiver<RebalanceEvent>, seen: &mut Vec<RebalanceEvent>) {
    while let Ok(e) = rx.try_recv() {
        seen.push(e);
    }
}

/// KIP-429 with two kaflow members: when the second joins, the first revokes only the
/// partitions that move (a strict subset of what it owned), keeps the rest throughout, and
/// the newcomer gets the moved ones only in the follow-up rebalance.
#[tokio::test]
async fn cooperative_sticky_second_member_revokes_only_the_moving_partitions() {
    let kafka = require_kafka!();
    let bootstrap = kafka.bootstrap.as_str();
    let topic = unique_topic("group-coop");
    let group = unique_topic("g-coop");
    create_topic(bootstrap, &topic, 6).await;
    let cfg = || {
        group_cfg(
            bootstrap,
            &group,
            &[("partition.assignment.strategy", "cooperative-sticky")],
        )
    };
    let limit = Duration::from_secs(60);

    let (tx_a, mut ev_a) = mpsc::unbounded_channel();
    let a = ConsumerGroup::join(cluster(bootstrap).await, cfg(), &[&topic], tx_a).expect("a");
    let mut ra = a.assignment();
    let first = await_assignment(&mut ra, limit, "a alone", |x| x.partitions.len() == 6).await;
    let mut a_events = Vec::new();
    events_until(&mut ev_a, &mut a_events);
    assert_eq!(a_events, vec![RebalanceEvent::Assigned(all(&topic, 6))]);

    // Watch a's ownership from now on: the partitions it keeps must never leave it.
    let mut a_watch = a.assignment();
    let history = Arc::new(std::sync::Mutex::new(vec![a_watch.borrow().partitions.clone()]));
    let recorder = {
        let history = Arc::clone(&history);
        tokio::spawn(async move {
            while a_watch.changed().await.is_ok() {
                let now = a_watch.borrow().partitions.clone();
                history.lock().unwrap().push(now);
            }
        })
    };

    let (tx_b, mut ev_b) = mpsc::unbounded_channel();
    let b = ConsumerGroup::join(cluster(bootstrap).await, cfg(), &[&topic], tx_b).expect("b");
    let mut rb = b.assignment();
    let b_final = await_assignment(&mut rb, limit, "b assigned", |x| x.partitions.len() == 3).await;
    let a_final = await_assignment(&mut ra, limit, "a settled", |x| {
        x.partitions.len() == 3 && x.generation_id == b_final.generation_id
    })
    .await;
    assert!(a_final.partitions.is_disjoint(&b_final.partitions));

    events_until(&mut ev_a, &mut a_events);
    let revoked: Vec<&BTreeSet<TopicPartition>> = a_events
        .iter()
        .filter_map(|e| match e {
            RebalanceEvent::Revoked(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(revoked.len(), 1, "a revoked once: {a_events:?}");
    assert!(
        revoked[0].is_subset(&first.partitions) && revoked[0].len() == 3,
        "a revoked a strict subset of what it owned: {a_events:?}"
    );
    assert_eq!(revoked[0], &b_final.partitions, "what a revoked is what b got");
    assert!(
        !a_events.iter().any(|e| matches!(e, RebalanceEvent::Lost(_))),
        "{a_events:?}"
    );
    // a's later assignments added nothing (it only gave up partitions).
    assert!(a_events[1..]
        .iter()
        .all(|e| !matches!(e, RebalanceEvent::Assigned(p) if !p.is_empty())));

    // b: nothing in the first round (the moving partitions were withheld), then the three.
    let mut b_events = Vec::new();
    events_until(&mut ev_b, &mut b_events);
    let b_assigned: Vec<&BTreeSet<TopicPartition>> = b_events
        .iter()
        .filter_map(|e| match e {
            RebalanceEvent::Assigned(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(b_assigned.first().map(|p| p.len()), Some(0), "{b_events:?}");
    assert_eq!(b_assigned.last(), Some(&&b_final.partitions), "{b_events:?}");
    assert!(
        a_final.generation_id >= first.generation_id + 2,
        "two rebalances: {first:?} -> {a_final:?}"
    );
    // Every state a went through held the share it ended with: it never gave those up.
    recorder.abort();
    let seen = history.lock().unwrap().clone();
    assert!(seen.len() >= 2, "{seen:?}");
    assert!(
        seen.iter().all(|owned| owned.is_superset(&a_final.partitions)),
        "a kept its share throughout: {seen:?}"
    );

    b.close().await.expect("close b");
    // b left (LeaveGroup): a takes its three back without waiting for a session timeout.
    let back = await_assignment(&mut ra, Duration::from_secs(5), "a after b left", |x| {
        x.partitions.len() == 6
    })
    .await;
    assert_eq!(back.partitions, all(&topic, 6));
    a.close().await.expect("close a");
}

/// KIP-345: a static member closed (no LeaveGroup) and restarted with the same
/// `group.instance.id` within the session timeout gets the same partitions in the same
/// generation; the other member sees no rebalance.
#[tokio::test]
async fn static_member_restarted_within_the_session_keeps_its_partitions_without_a_rebalance() {
    let kafka = require_kafka!();
    let bootstrap = kafka.bootstrap.as_str();
    let topic = unique_topic("group-static");
    let group = unique_topic("g-static");
    create_topic(bootstrap, &topic, 6).await;
    let limit = Duration::from_secs(60);
    let dyn_cfg = group_cfg(bootstrap, &group, &[("partition.assignment.strategy", "range")]);
    let static_cfg = || {
        group_cfg(
            bootstrap,
            &group,
            &[
                ("partition.assignment.strategy", "range"),
                ("group.instance.id", "static-1"),
                ("session.timeout.ms", "20000"),
            ],
        )
    };

    let (tx_a, mut ev_a) = mpsc::unbounded_channel();
    let a = ConsumerGroup::join(cluster(bootstrap).await, dyn_cfg, &[&topic], tx_a).expect("a");
    let mut ra = a.assignment();
    await_assignment(&mut ra, limit, "a alone", |x| x.partitions.len() == 6).await;

    let s = ConsumerGroup::join(cluster(bootstrap).await, static_cfg(), &[&topic], ()).expect("s");
    let mut rs = s.assignment();
    let s_first = await_assignment(&mut rs, limit, "s assigned", |x| x.partitions.len() == 3).await;
    let a_before = await_assignment(&mut ra, limit, "a settled", |x| {
        x.partitions.len() == 3 && x.generation_id == s_first.generation_id
    })
    .await;
    let a_state = a.state();
    let a_joins = a_state.borrow().joins;
    // What a saw up to here (its own join and the rebalance s caused) is not under test.
    events_until(&mut ev_a, &mut Vec::new());
    let mut a_events = Vec::new();

    // Close the static member: revoke callbacks, no LeaveGroup. Restart it at once.
    s.close().await.expect("close s");
    let s2 = ConsumerGroup::join(cluster(bootstrap).await, static_cfg(), &[&topic], ()).expect("s again");
    let mut rs2 = s2.assignment();
    let s_again = await_assignment(&mut rs2, limit, "s restarted", |x| !x.partitions.is_empty()).await;
    assert_eq!(
        s_again.partitions, s_first.partitions,
        "same partitions after the restart"
    );
    assert_eq!(
        s_again.generation_id, s_first.generation_id,
        "no new generation: the coordinator replaced the static member in place"
    );
    assert_ne!(
        s_again.member_id, s_first.member_id,
        "a new member id for the new process"
    );

    // The other member never rebalanced. Nothing can be awaited for an absence: give a few
    // heartbeats (500 ms each) the chance to report one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(a_state.borrow().joins, a_joins, "a rejoined");
    assert_eq!(a.assignment().borrow().clone(), a_before);
    events_until(&mut ev_a, &mut a_events);
    assert!(
        !a_events
            .iter()
            .any(|e| matches!(e, RebalanceEvent::Revoked(_) | RebalanceEvent::Lost(_))),
        "{a_events:?}"
    );
    assert_eq!(
        a.generation().map(|g| g.generation_id),
        Some(a_before.generation_id)
    );

    s2.close().await.expect("close s2");
    a.close().await.expect("close a");
}

/// Commit and read back (leader epoch and metadata included); a commit from a stale
/// generation fails with the typed error; Kafka's ConsumerGroupCommand shows the offsets.
#[tokio::test]
async fn offsets_commit_fetch_stale_generation_and_visible_to_kafka_tools() {
    let kafka = require_kafka!();
    let bootstrap = kafka.bootstrap.as_str();
    let topic = unique_topic("group-offsets");
    let group = unique_topic("g-offsets");
    create_topic(bootstrap, &topic, 3).await;
    let producer = Producer::connect(ProducerConfig::new(bootstrap).expect("config"))
        .await
        .expect("producer");
    let mut acks = Vec::new();
    for i in 0..30 {
        let rec = ProducerRecord::new(topic.as_str(), format!("v{i}")).partition(i % 3);
        acks.push(producer.send(rec).await.expect("queued"));
    }
    for a in acks {
        a.wait().await.expect("delivered");
    }

    let cfg = group_cfg(
        bootstrap,
        &group,
        &[("partition.assignment.strategy", "roundrobin")],
    );
    let m = ConsumerGroup::join(cluster(bootstrap).await, cfg, &[&topic], ()).expect("join");
    let mut rx = m.assignment();
    let joined = await_assignment(&mut rx, Duration::from_secs(60), "assigned", |x| {
        x.partitions.len() == 3
    })
    .await;
    let gen = m.generation().expect("stable");

    let tp = |p| TopicPartition::new(topic.as_str(), p);
    let mut offsets = BTreeMap::new();
    offsets.insert(
        tp(0),
        OffsetAndMetadata {
            offset: 7,
            leader_epoch: Some(0),
            metadata: "flushed through 6".into(),
        },
    );
    offsets.insert(tp(1), OffsetAndMetadata::new(10));
    m.commit(&offsets).await.expect("commit");

    let want = [tp(0), tp(1), tp(2)];
    let got = m.committed(&want).await.expect("committed");
    assert_eq!(got[&tp(0)], Some(offsets[&tp(0)].clone()));
    assert_eq!(got[&tp(1)], Some(offsets[&tp(1)].clone()));
    assert_eq!(got[&tp(2)], None, "nothing committed for partition 2");
    // The same without membership, as Connect's REST offsets would read it.
    let standalone = fetch_committed(&cluster(bootstrap).await, &group, &want, Duration::from_secs(30))
        .await
        .expect("fetch without membership");
    assert_eq!(standalone, got);

    // A commit carrying an old generation is refused with the typed error; nothing changes.
    let stale = CommitAs {
        generation_id: gen.generation_id - 1,
        member_id: gen.member_id.clone(),
        group_instance_id: None,
    };
    let mut later = BTreeMap::new();
    later.insert(tp(0), OffsetAndMetadata::new(20));
    let err = m.commit_as(&stale, &later).await.expect_err("stale generation");
    match &err {
        Error::Group(GroupError::CommitFailed {
            generation, error, ..
        }) => {
            assert_eq!(*generation, gen.generation_id - 1);
            assert_eq!(error.code(), 22, "ILLEGAL_GENERATION: {err}");
        }
        other => panic!("expected CommitFailed, got {other}"),
    }
    // So is one from an unknown member.
    let stranger = CommitAs {
        generation_id: gen.generation_id,
        member_id: "not-a-member".into(),
        group_instance_id: None,
    };
    let err = m.commit_as(&stranger, &later).await.expect_err("unknown member");
    assert!(
        matches!(&err, Error::Group(GroupError::CommitFailed { error, .. }) if error.code() == 25),
        "{err}"
    );
    assert_eq!(
        m.committed(&[tp(0)]).await.expect("read")[&tp(0)]
            .as_ref()
            .map(|o| o.offset),
        Some(7)
    );
    // The member itself is unaffected by someone else's stale commits.
    assert_eq!(
        m.generation().map(|g| g.generation_id),
        Some(joined.generation_id)
    );

    // Kafka's ConsumerGroupCommand shows the committed offsets and the lag against 10 records
    // per partition.
    let (b, g) = (bootstrap.to_string(), group.clone());
    let out = tokio::task::spawn_blocking(move || {
        kafka_tool(
            "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
            &["--bootstrap-server", &b, "--describe", "--group", &g],
        )
    })
    .await
    .expect("describe");
    let text = String::from_utf8_lossy(&out.stdout);
    let row = |p: i32| -> Vec<String> {
        text.lines()
            .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
            .find(|c| c.len() > 5 && c[1] == topic && c[2] == p.to_string())
            .unwrap_or_else(|| panic!("no row for partition {p} in:\n{text}"))
    };
    assert_eq!(row(0)[3..6], ["7", "10", "3"], "{text}");
    assert_eq!(row(1)[3..6], ["10", "10", "0"], "{text}");
    assert_eq!(row(2)[3], "-", "{text}");

    m.close().await.expect("close");
}

/// A member's JoinGroup metadata is Kafka's ConsumerProtocolSubscription: the bytes our
/// engine sends decode with the same layout Java reads (checked by Java members accepting
/// our assignments above); here, the decoder refuses what a hostile member could send.
#[test]
fn hostile_member_metadata_is_an_error() {
    for raw in [&[0u8, 1, 0x7f, 0xff, 0xff, 0xff][..], &[0, 3], &[0x80, 0]] {
        assert!(Subscription::decode(&bytes::Bytes::copy_from_slice(raw)).is_err());
    }
}

/// Java's leader rejoins when a subscribed topic's partition count changes; so does ours: two
/// partitions added with Kafka's TopicCommand reach the member without anyone rejoining.
#[tokio::test]
async fn partitions_added_to_a_subscribed_topic_are_assigned_after_a_rebalance() {
    let kafka = require_kafka!();
    let bootstrap = kafka.bootstrap.as_str();
    let topic = unique_topic("group-grow");
    let group = unique_topic("g-grow");
    create_topic(bootstrap, &topic, 2).await;
    let props = Properties::new()
        .with("bootstrap.servers", bootstrap)
        .with("metadata.max.age.ms", "500");
    let c = Cluster::connect(ClientConfig::from_properties(&props).expect("config"))
        .await
        .expect("cluster");
    let cfg = group_cfg(bootstrap, &group, &[("partition.assignment.strategy", "range")]);
    let m = ConsumerGroup::join(c, cfg, &[&topic], ()).expect("join");
    let mut rx = m.assignment();
    let before = await_assignment(&mut rx, Duration::from_secs(60), "two", |x| {
        x.partitions.len() == 2
    })
    .await;

    let (b, t) = (bootstrap.to_string(), topic.clone());
    let out = tokio::task::spawn_blocking(move || {
        kafka_tool(
            "org.apache.kafka.tools.TopicCommand",
            &[
                "--bootstrap-server",
                &b,
                "--alter",
                "--topic",
                &t,
                "--partitions",
                "4",
            ],
        )
    })
    .await
    .expect("alter");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after = await_assignment(&mut rx, Duration::from_secs(60), "four", |x| {
        x.partitions.len() == 4
    })
    .await;
    assert_eq!(after.partitions, all(&topic, 4));
    assert!(
        after.generation_id > before.generation_id,
        "{before:?} -> {after:?}"
    );
    m.close().await.expect("close");
}
