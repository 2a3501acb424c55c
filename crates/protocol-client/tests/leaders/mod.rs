//! Leadership helpers shared by the three-node leader-kill tests: wait for a full ISR, find the
//! node leading a partition, poll a condition with a deadline.

// Each test binary that includes this module uses a subset of it.
#![allow(dead_code)]

use kaflow_client::admin::Admin;
use kaflow_test_support::Cluster;
use std::time::Duration;
use tokio::time::Instant;

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
