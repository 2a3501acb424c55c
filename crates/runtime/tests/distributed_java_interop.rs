//! kaflow's worker group protocol in one group with a real Apache Kafka Connect worker
//! (`ConnectDistributed` 4.3.1 from the harness jars), both ways round:
//! 1. the Java worker leads: it decodes kaflow's `sessioned` metadata and hands kaflow half of
//!    the work (after revoking it from itself), which kaflow decodes;
//! 2. kaflow leads, assigning from the config topic *Java* wrote (read with [`ConfigState`]):
//!    the Java worker decodes kaflow's assignment and runs what it was given, as its REST API
//!    shows.

use kaflow_client::admin::{Admin, OffsetSpec};
use kaflow_client::cluster::Cluster;
use kaflow_client::consumer::{Consumer, ConsumerConfig, TopicPartition};
use kaflow_client::group::{GroupConfig, MemberHandle, Membership};
use kaflow_client::{ClientConfig, Properties};
use kaflow_runtime::distributed::config_topic::ConfigState;
use kaflow_runtime::distributed::{
    Allocation, ConnectAssignment, ConnectProtocolMode, LeaderSnapshot, WorkerGroupListener,
    WorkerGroupProtocol, WorkerGroupSettings,
};
use kaflow_test_support::http::{free_port, json, request};
use kaflow_test_support::process::{fresh_dir, signal, KillOnDrop};
use kaflow_test_support::{kafka_tool_command, require_kafka, unique_topic};
use serde_json::json as j;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What the kaflow worker was told to run, and by which leader url.
type Seen = (Allocation, String);

struct Herder {
    bootstrap: String,
    config_topic: String,
    offset: i64,
    seen: watch::Sender<Seen>,
    handle: MemberHandle,
}

/// The config topic read to its end.
async fn read_config_topic(bootstrap: &str, topic: &str) -> (ConfigState, usize) {
    let cfg = ClientConfig::new(bootstrap).unwrap();
    let admin = Admin::new(Cluster::connect(cfg).await.unwrap());
    let end = admin.list_offsets(topic, &[0], OffsetSpec::Latest).await.unwrap()[&0].offset;
    let ccfg =
        ConsumerConfig::from_properties(&Properties::new().with("bootstrap.servers", bootstrap)).unwrap();
    let mut c = Consumer::connect(ccfg).await.unwrap();
    let tp = TopicPartition::new(topic, 0);
    c.assign([tp.clone()]);
    c.seek(&tp, 0).unwrap();
    let mut state = ConfigState::new();
    let mut errors = 0;
    while state.offset() < end {
        for r in c.poll(Duration::from_secs(1)).await.unwrap() {
            if let Err(e) = state.apply(r.offset, r.key.as_deref(), r.value.as_deref()) {
                eprintln!("config record {} skipped: {e}", r.offset);
                errors += 1;
            }
        }
    }
    (state, errors)
}

impl WorkerGroupListener for Herder {
    fn url(&self) -> String {
        "http://kaflow-worker:8083/".into()
    }
    fn config_offset(&self) -> i64 {
        self.offset
    }
    async fn leader_snapshot(&mut self) -> LeaderSnapshot {
        let (state, errors) = read_config_topic(&self.bootstrap, &self.config_topic).await;
        assert_eq!(errors, 0, "every record Java wrote to the config topic reads");
        self.offset = state.offset();
        state.assignment_snapshot()
    }
    async fn on_revoked(&mut self, _leader: &str, revoked: &Allocation) {
        self.seen.send_modify(|(a, _)| {
            a.connectors.retain(|c| !revoked.connectors.contains(c));
            a.tasks.retain(|t| !revoked.tasks.contains(t));
        });
    }
    async fn on_assigned(&mut self, a: &ConnectAssignment, _generation: i32) -> bool {
        if a.failed() {
            // CONFIG_MISMATCH: catch up, then rejoin
            let (state, _) = read_config_topic(&self.bootstrap, &self.config_topic).await;
            self.offset = state.offset();
            return true;
        }
        let alloc = Allocation {
            connectors: a.connectors.iter().cloned().collect(),
            tasks: a.tasks.iter().cloned().collect(),
        };
        self.seen.send_replace((alloc, a.leader_url.clone()));
        if a.delay_ms > 0 {
            let h = self.handle.clone();
            let d = Duration::from_millis(a.delay_ms as u64);
            tokio::spawn(async move {
                tokio::time::sleep(d).await;
                h.request_rejoin("scheduled rebalance");
            });
        }
        false
    }
}

async fn start_kaflow(
    bootstrap: &str,
    group: &str,
    config_topic: &str,
) -> (Membership, watch::Receiver<Seen>) {
    let props = Properties::new()
        .with("bootstrap.servers", bootstrap)
        .with("group.id", group)
        .with("session.timeout.ms", 10000)
        .with("heartbeat.interval.ms", 1000)
        .with("rebalance.timeout.ms", 30000);
    let cfg = GroupConfig::from_properties(&props).unwrap();
    let cluster = Cluster::connect(ClientConfig::new(bootstrap).unwrap())
        .await
        .unwrap();
    let (tx, rx) = watch::channel((Allocation::default(), String::new()));
    let (b, t) = (bootstrap.to_string(), config_topic.to_string());
    let m = Membership::start_with(cluster, cfg, move |handle| {
        WorkerGroupProtocol::new(
            WorkerGroupSettings {
                group_id: "interop".into(),
                mode: ConnectProtocolMode::Sessioned,
                max_delay_ms: 3000,
            },
            Herder {
                bootstrap: b,
                config_topic: t,
                offset: -1,
                seen: tx,
                handle,
            },
        )
    });
    (m, rx)
}

struct Java {
    child: KillOnDrop,
    addr: String,
}

fn start_java(dir: &Path, props: &str, port: u16) -> Java {
    let file = dir.join(format!("worker-{port}.properties"));
    std::fs::write(&file, props).unwrap();
    let log = std::fs::File::create(dir.join(format!("connect-{port}.log"))).unwrap();
    let mut cmd = kafka_tool_command(
        "org.apache.kafka.connect.cli.ConnectDistributed",
        &[file.to_str().unwrap()],
    );
    let child = cmd
        .env("KAFKA_TOOL_HEAP", "-Xmx512m")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start ConnectDistributed");
    let java = Java {
        child: KillOnDrop(child),
        addr: format!("127.0.0.1:{port}"),
    };
    wait(Duration::from_secs(120), "the Java worker's REST API", || {
        request(&java.addr, "GET", b"/connectors", None, b"").is_ok_and(|r| r.status == 200)
    });
    java
}

fn stop_java(java: Java) {
    let mut k = java.child;
    signal(&k.0, "TERM");
    let _ = k.0.wait();
}

/// Polls `cond` (a REST answer or a file) until it holds.
fn wait(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

async fn wait_seen(rx: &mut watch::Receiver<Seen>, what: &str, pred: impl FnMut(&Seen) -> bool) -> Seen {
    let ok = matches!(
        tokio::time::timeout(Duration::from_secs(90), rx.wait_for(pred)).await,
        Ok(Ok(_))
    );
    assert!(ok, "timed out waiting until {what}: {:?}", *rx.borrow());
    rx.borrow().clone()
}

/// (connectors + tasks RUNNING on `worker_id`) from the Java worker's REST API.
fn running_on(addr: &str, worker_id: &str) -> usize {
    let r = json(addr, "GET", "/connectors?expand=status", None);
    if r.status != 200 {
        return 0;
    }
    let body = r.json();
    let Some(all) = body.as_object() else { return 0 };
    all.values()
        .map(|c| {
            let s = &c["status"];
            let conn =
                usize::from(s["connector"]["state"] == "RUNNING" && s["connector"]["worker_id"] == worker_id);
            let tasks = s["tasks"]
                .as_array()
                .map(|ts| {
                    ts.iter()
                        .filter(|t| t["state"] == "RUNNING" && t["worker_id"] == worker_id)
                        .count()
                })
                .unwrap_or(0);
            conn + tasks
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kaflow_worker_and_a_connect_worker_share_one_group_either_leading() {
    let kafka = require_kafka!();
    let bootstrap = kafka.bootstrap.clone();
    let dir = fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "connect-interop");
    std::fs::write(dir.join("in.txt"), "one\ntwo\n").unwrap();
    let group = unique_topic("connect-interop");
    let (cfg_t, off_t, st_t, data_t) = (
        unique_topic("cfg"),
        unique_topic("off"),
        unique_topic("st"),
        unique_topic("data"),
    );
    let port = free_port();
    let props = format!(
        "bootstrap.servers={bootstrap}\ngroup.id={group}\n\
         key.converter=org.apache.kafka.connect.json.JsonConverter\n\
         value.converter=org.apache.kafka.connect.json.JsonConverter\n\
         config.storage.topic={cfg_t}\noffset.storage.topic={off_t}\nstatus.storage.topic={st_t}\n\
         config.storage.replication.factor=1\noffset.storage.replication.factor=1\nstatus.storage.replication.factor=1\n\
         offset.storage.partitions=2\nstatus.storage.partitions=2\n\
         listeners=http://127.0.0.1:{port}\nrest.advertised.host.name=127.0.0.1\nrest.advertised.port={port}\n\
         scheduled.rebalance.max.delay.ms=3000\nsession.timeout.ms=10000\nheartbeat.interval.ms=1000\n\
         offset.flush.interval.ms=1000\nplugin.discovery=hybrid_warn\n"
    );
    let java_url = format!("http://127.0.0.1:{port}/");
    let java_id = format!("127.0.0.1:{port}");

    // 1. Java leads: three FileStream sources (a connector and one task each: 6 items)
    let java = start_java(&dir, &props, port);
    for name in ["a", "b", "c"] {
        let body = j!({"name": name, "config": {
            "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
            "tasks.max": "1", "file": dir.join("in.txt").to_str().unwrap(), "topic": data_t}});
        wait(Duration::from_secs(60), "the connector to be created", || {
            json(&java.addr, "POST", "/connectors", Some(&body)).status == 201
        });
    }
    wait(Duration::from_secs(60), "the Java worker to run all 6", || {
        running_on(&java.addr, &java_id) == 6
    });
    let (member, mut rx) = start_kaflow(&bootstrap, &group, &cfg_t).await;
    // 3 connectors and 3 tasks over two workers: 1 or 2 of each, balanced separately
    let balanced = |a: &Allocation| (1..=2).contains(&a.connectors.len()) && (1..=2).contains(&a.tasks.len());
    let (mine, leader_url) = wait_seen(&mut rx, "the Java leader gives kaflow its share", |(a, _)| {
        balanced(a)
    })
    .await;
    assert_eq!(leader_url, java_url, "the Java worker led");
    eprintln!("Java leader assigned kaflow {mine:?}");
    wait(
        Duration::from_secs(60),
        "the Java worker to keep the rest",
        || running_on(&java.addr, &java_id) == 6 - mine.len(),
    );
    member.close().await.unwrap();
    stop_java(java);

    // 2. kaflow leads, from the config topic Java wrote; a new Java worker joins
    let (member, mut rx) = start_kaflow(&bootstrap, &group, &cfg_t).await;
    wait_seen(&mut rx, "kaflow alone holds all 6", |(a, _)| a.len() == 6).await;
    let java = start_java(&dir, &props, port);
    // kaflow, the more loaded, keeps 2 connectors and 2 tasks; the Java worker gets 1 + 1
    let (mine, leader_url) = wait_seen(&mut rx, "kaflow gives the Java worker its share", |(a, _)| {
        a.connectors.len() == 2 && a.tasks.len() == 2
    })
    .await;
    assert_eq!(leader_url, "http://kaflow-worker:8083/");
    wait(
        Duration::from_secs(90),
        "the Java worker to run what kaflow assigned it",
        || running_on(&java.addr, &java_id) == 2,
    );
    eprintln!("kaflow kept {mine:?}; the Java worker runs the other 2 on kaflow's assignment");
    member.close().await.unwrap();
    stop_java(java);
    let _ = std::fs::remove_dir_all(&dir);
}
