//! The three-node KRaft cluster of the harness: every broker is in metadata, `kill 2` takes one
//! out (the controller fences it), `restart 2` brings it back.

use kafka_protocol::messages::MetadataRequest;
use kaflow_test_support::{wire::RawConnection, Cluster};
use std::time::{Duration, Instant};

/// Broker node ids in a Metadata answer from `addr`.
async fn brokers_seen_by(addr: &str) -> Vec<i32> {
    let mut conn = RawConnection::connect(addr).await.expect("connect");
    let resp = conn
        .send(MetadataRequest::default().with_topics(Some(vec![])))
        .await
        .expect("Metadata");
    let mut ids: Vec<i32> = resp.brokers.iter().map(|b| b.node_id.0).collect();
    ids.sort_unstable();
    ids
}

/// Polls metadata through `addr` until `want` holds, or fails after `limit`.
async fn await_brokers(addr: &str, want: &[i32], limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let seen = brokers_seen_by(addr).await;
        if seen == want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "metadata from {addr} still shows brokers {seen:?} after {limit:?}; wanted {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn kill_and_restart_a_node_shows_in_metadata() {
    let Some(cluster) = Cluster::require_three() else {
        return;
    };
    let node1 = cluster.node_addr(1);
    assert_eq!(
        cluster.bootstrap.split(',').count(),
        3,
        "bootstrap {}",
        cluster.bootstrap
    );

    await_brokers(&node1, &[1, 2, 3], Duration::from_secs(30)).await;

    cluster.kill(2).expect("kill node 2");
    // The killed node must really be gone: a connection to it is refused.
    assert!(
        tokio::net::TcpStream::connect(cluster.node_addr(2))
            .await
            .is_err(),
        "node 2 still accepts connections after kill -9"
    );
    // broker.session.timeout.ms is 4 s in the harness: the controller fences node 2 and
    // metadata stops listing it.
    let fenced_after = await_brokers(&node1, &[1, 3], Duration::from_secs(30)).await;
    eprintln!("node 2 left metadata {fenced_after:?} after kill -9");

    cluster.restart(2).expect("restart node 2");
    await_brokers(&node1, &[1, 2, 3], Duration::from_secs(30)).await;
    // And node 2 itself serves metadata again.
    await_brokers(&cluster.node_addr(2), &[1, 2, 3], Duration::from_secs(30)).await;
}
