//! Leadership helpers shared by the three-node leader-kill tests: wait for a full ISR, find the
//! node leading a partition, poll a condition with a deadline.

// Each test binary that includes this module uses a subset of it.
#![allow(dead_code)]

use kaflow_client::admin::{Admin, NewTopic};
use kaflow_client::ClientConfig;
use kaflow_test_support::{unique_topic, Cluster};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The test value of record `seq` of partition `p`: `p{p}-s{seq}-` and padding.
pub fn value(p: u64, seq: u64) -> String {
    format!("p{p}-s{seq:07}-abcdefghijklmnopqrstuvwxyz0123456789")
}

/// (partition, seq) from a [`value`].
pub fn parse_value(v: &str) -> (u64, u64) {
    let parsed = v.strip_prefix('p').and_then(|r| {
        let (p, r) = r.split_once("-s")?;
        let (s, _) = r.split_once('-')?;
        Some((p.parse().ok()?, s.parse().ok()?))
    });
    parsed.unwrap_or_else(|| panic!("unexpected value {v:?}"))
}

/// Polls `cond` every 20 ms until it holds; panics with `what` after `limit`.
pub async fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until each of `partitions` partitions of `topic` has a leader and all three replicas
/// in sync.
pub async fn wait_full_isr(admin: &Admin, topic: &str, partitions: i32, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        if admin.cluster().refresh(&[topic]).await.is_ok() {
            let md = admin.cluster().metadata();
            let full = (0..partitions).all(|p| {
                md.partition(topic, p)
                    .is_some_and(|pi| pi.leader >= 0 && pi.isr.len() == 3)
            });
            if full {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "ISR of {topic} not full after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The harness node (1..=3; node.id = n) leading `topic`-`partition`, from fresh metadata.
pub async fn leader_of(admin: &Admin, cluster: &Cluster, topic: &str, partition: i32) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if admin.cluster().refresh(&[topic]).await.is_ok() {
            let md = admin.cluster().metadata();
            if let Some(leader) = md
                .partition(topic, partition)
                .map(|p| p.leader)
                .filter(|&l| l >= 0)
            {
                let addr = md.brokers.get(&leader).map(|b| b.addr());
                let n = addr.as_deref().and_then(|a| cluster.node_of_addr(a));
                assert_eq!(n, u16::try_from(leader).ok(), "node.id {leader} at {addr:?}");
                return n.expect("leader is one of our nodes");
            }
        }
        assert!(Instant::now() < deadline, "no leader for {topic}-{partition}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A fresh topic of `partitions` partitions with replication factor 3, once every replica is
/// in sync; and the admin client that made it.
pub async fn replicated_topic(bootstrap: &str, prefix: &str, partitions: i32) -> (Admin, String) {
    let topic = unique_topic(prefix);
    let admin = Admin::connect(ClientConfig::new(bootstrap).expect("client config"))
        .await
        .expect("admin");
    admin
        .create_topic(NewTopic::new(&topic, partitions).replication_factor(3))
        .await
        .expect("create topic");
    wait_full_isr(&admin, &topic, partitions, Duration::from_secs(60)).await;
    (admin, topic)
}

/// `kill -9` node `node` (off the async runtime: the harness script blocks).
pub async fn kill(cluster: &Arc<Cluster>, node: u16) {
    let c = Arc::clone(cluster);
    tokio::task::spawn_blocking(move || c.kill(node))
        .await
        .expect("kill task")
        .unwrap_or_else(|e| panic!("kill node {node}: {e}"));
}

/// Restarts node `node` on its storage; returns once it serves clients.
pub async fn restart(cluster: &Arc<Cluster>, node: u16) {
    let c = Arc::clone(cluster);
    tokio::task::spawn_blocking(move || c.restart(node))
        .await
        .expect("restart task")
        .unwrap_or_else(|e| panic!("restart node {node}: {e}"));
}
