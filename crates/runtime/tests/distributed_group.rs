//! Worker group membership through a real broker's group coordinator (protocol type
//! `connect`): kaflow-client's membership engine driving [`WorkerGroupProtocol`], with a stand-in
//! herder that records what it is told to run. Three workers spread two connectors of three
//! tasks evenly; when one leaves, its work is held for `scheduled.rebalance.max.delay.ms` and
//! then given to the others; a worker offering only `default` makes the group eager.

use kaflow_client::cluster::Cluster;
use kaflow_client::group::{GroupConfig, MemberHandle, Membership};
use kaflow_client::{ClientConfig, Properties};
use kaflow_runtime::distributed::{
    Allocation, ConnectAssignment, ConnectProtocolMode, LeaderSnapshot, TaskId, WorkerGroupListener,
    WorkerGroupProtocol, WorkerGroupSettings,
};
use kaflow_test_support::{require_kafka, unique_topic};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What every worker runs, by url.
type Running = BTreeMap<String, Allocation>;

struct Herder {
    url: String,
    snapshot: LeaderSnapshot,
    handle: MemberHandle,
    running: watch::Sender<Running>,
    last_delay: Arc<std::sync::Mutex<(i32, String)>>,
}

impl WorkerGroupListener for Herder {
    fn url(&self) -> String {
        self.url.clone()
    }
    fn config_offset(&self) -> i64 {
        self.snapshot.offset
    }
    async fn leader_snapshot(&mut self) -> LeaderSnapshot {
        self.snapshot.clone()
    }
    async fn on_revoked(&mut self, _leader: &str, revoked: &Allocation) {
        self.running.send_modify(|r| {
            let mine = r.entry(self.url.clone()).or_default();
            mine.connectors.retain(|c| !revoked.connectors.contains(c));
            mine.tasks.retain(|t| !revoked.tasks.contains(t));
        });
    }
    async fn on_assigned(&mut self, a: &ConnectAssignment, _generation: i32) -> bool {
        let alloc = Allocation {
            connectors: a.connectors.iter().cloned().collect(),
            tasks: a.tasks.iter().cloned().collect(),
        };
        *self.last_delay.lock().unwrap() = (a.delay_ms, a.leader_url.clone());
        self.running.send_modify(|r| {
            r.insert(self.url.clone(), alloc);
        });
        // The herder's part of KIP-415: rejoin when the leader's delay is up.
        if a.delay_ms > 0 {
            let h = self.handle.clone();
            let d = Duration::from_millis(a.delay_ms as u64);
            tokio::spawn(async move {
                tokio::time::sleep(d).await;
                h.request_rejoin("the scheduled rebalance delay is up");
            });
        }
        a.failed()
    }
}

fn config() -> BTreeMap<String, u32> {
    [("a".to_string(), 3), ("b".to_string(), 3)].into()
}

fn everything() -> Allocation {
    let mut all = Allocation::default();
    for (c, n) in config() {
        all.connectors.insert(c.clone());
        for t in 0..n as i32 {
            all.tasks.insert(TaskId::new(c.clone(), t));
        }
    }
    all
}

struct Worker {
    membership: Membership,
    last_delay: Arc<std::sync::Mutex<(i32, String)>>,
}

async fn start_worker(
    bootstrap: &str,
    group: &str,
    url: &str,
    mode: ConnectProtocolMode,
    running: &watch::Sender<Running>,
) -> Worker {
    let props = Properties::new()
        .with("bootstrap.servers", bootstrap)
        .with("group.id", group)
        .with("session.timeout.ms", 6000)
        .with("heartbeat.interval.ms", 500)
        .with("rebalance.timeout.ms", 10000);
    let cfg = GroupConfig::from_properties(&props).unwrap();
    let cluster = Cluster::connect(ClientConfig::new(bootstrap).unwrap())
        .await
        .unwrap();
    let last_delay = Arc::new(std::sync::Mutex::new((0, String::new())));
    let (url, running, delay) = (url.to_string(), running.clone(), Arc::clone(&last_delay));
    let membership = Membership::start_with(cluster, cfg, move |handle| {
        WorkerGroupProtocol::new(
            WorkerGroupSettings {
                group_id: "test".into(),
                mode,
                max_delay_ms: 3000,
            },
            Herder {
                url,
                snapshot: LeaderSnapshot {
                    offset: 5,
                    connectors: config(),
                },
                handle,
                running,
                last_delay: delay,
            },
        )
    });
    Worker {
        membership,
        last_delay,
    }
}

/// Each item on exactly one worker, the union is `want`, and each worker's connectors and
/// tasks within one of the others'.
fn spread(r: &Running, workers: &[&str], want: &Allocation) -> bool {
    let mut union = Allocation::default();
    let mut count = 0;
    for w in workers {
        let Some(a) = r.get(*w) else { return false };
        count += a.len();
        union.connectors.extend(a.connectors.iter().cloned());
        union.tasks.extend(a.tasks.iter().cloned());
    }
    let loads: Vec<(usize, usize)> = workers
        .iter()
        .map(|w| (r[*w].connectors.len(), r[*w].tasks.len()))
        .collect();
    let within_one = |f: fn(&(usize, usize)) -> usize| {
        let v: Vec<usize> = loads.iter().map(f).collect();
        v.iter().max().unwrap() - v.iter().min().unwrap() <= 1
    };
    count == want.len() && &union == want && within_one(|l| l.0) && within_one(|l| l.1)
}

async fn wait_until(rx: &mut watch::Receiver<Running>, what: &str, pred: impl FnMut(&Running) -> bool) {
    let done = matches!(
        tokio::time::timeout(Duration::from_secs(60), rx.wait_for(pred)).await,
        Ok(Ok(_))
    );
    assert!(done, "timed out waiting until {what}: {:?}", *rx.borrow());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_spread_the_work_and_a_departed_workers_share_waits_for_the_delay() {
    let kafka = require_kafka!();
    let group = unique_topic("connect-group");
    let (running, mut rx) = watch::channel(Running::new());
    let urls = ["http://w1:8083/", "http://w2:8083/", "http://w3:8083/"];
    let mut workers = Vec::new();
    for u in urls {
        workers.push(
            start_worker(
                &kafka.bootstrap,
                &group,
                u,
                ConnectProtocolMode::Sessioned,
                &running,
            )
            .await,
        );
    }
    let all = everything();
    wait_until(&mut rx, "8 items spread over 3 workers", |r| {
        spread(r, &urls, &all)
    })
    .await;
    for w in &workers {
        let mut st = w.membership.state();
        let stable = tokio::time::timeout(Duration::from_secs(30), st.wait_for(|s| s.stable.is_some())).await;
        let protocol = stable
            .expect("the member settles")
            .expect("member running")
            .stable
            .clone()
            .and_then(|g| g.protocol);
        assert_eq!(protocol.as_deref(), Some("sessioned"));
    }
    let r = rx.borrow().clone();
    assert!(urls.iter().all(|u| r[*u].tasks.len() == 2), "2/2/2 tasks: {r:?}");

    // A follower leaves (a new leader has no memory of who had what, so it would give the
    // share away at once, as Connect's does): its share is held for the delay, then reassigned.
    let leader_url = workers[0].last_delay.lock().unwrap().1.clone();
    let gone = (0..3).rev().find(|i| urls[*i] != leader_url).unwrap();
    let leaving = workers.remove(gone);
    let held = r[urls[gone]].clone();
    let left = Instant::now();
    leaving.membership.close().await.unwrap();
    running.send_modify(|r| {
        r.remove(urls[gone]);
    });
    let mut rest = all.clone();
    rest.connectors.retain(|c| !held.connectors.contains(c));
    rest.tasks.retain(|t| !held.tasks.contains(t));
    let survivors: Vec<&str> = (0..3).filter(|i| *i != gone).map(|i| urls[i]).collect();
    let survivors = &survivors[..];
    // the two keep exactly what they had while the leader holds the departed share
    wait_until(&mut rx, "the survivors hear of the delay", |_| {
        workers.iter().all(|w| w.last_delay.lock().unwrap().0 > 0)
    })
    .await;
    {
        let r = rx.borrow();
        let kept: usize = survivors.iter().map(|u| r[*u].len()).sum();
        assert_eq!(
            kept,
            rest.len(),
            "nothing of the departed share given away yet: {r:?}"
        );
        assert!(survivors
            .iter()
            .all(|u| r[*u].tasks.iter().all(|t| rest.tasks.contains(t))));
    }
    wait_until(&mut rx, "the departed share is reassigned after the delay", |r| {
        spread(r, survivors, &all)
    })
    .await;
    let took = left.elapsed();
    eprintln!(
        "{}'s {} items reassigned {took:?} after it left (scheduled.rebalance.max.delay.ms=3000)",
        urls[gone],
        held.len()
    );
    assert!(
        took >= Duration::from_millis(2500),
        "held for the delay, not reassigned at once: {took:?}"
    );
    for w in workers {
        w.membership.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_offering_only_default_makes_the_group_eager() {
    let kafka = require_kafka!();
    let group = unique_topic("connect-group-eager");
    let (running, mut rx) = watch::channel(Running::new());
    let urls = ["http://e1:8083/", "http://e2:8083/"];
    let w1 = start_worker(
        &kafka.bootstrap,
        &group,
        urls[0],
        ConnectProtocolMode::Sessioned,
        &running,
    )
    .await;
    let w2 = start_worker(
        &kafka.bootstrap,
        &group,
        urls[1],
        ConnectProtocolMode::Eager,
        &running,
    )
    .await;
    let all = everything();
    wait_until(&mut rx, "both share the work under the eager protocol", |r| {
        spread(r, &urls, &all)
            && [&w1, &w2]
                .iter()
                .all(|w| w.membership.generation().and_then(|g| g.protocol).as_deref() == Some("default"))
    })
    .await;
    let ids: BTreeSet<_> = [&w1, &w2]
        .iter()
        .map(|w| w.membership.generation().unwrap().generation_id)
        .collect();
    assert_eq!(ids.len(), 1, "one generation");
    w1.membership.close().await.unwrap();
    w2.membership.close().await.unwrap();
}
