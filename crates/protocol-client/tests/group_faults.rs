//! The membership engine against a scripted coordinator: each test answers JoinGroup,
//! SyncGroup, Heartbeat and LeaveGroup itself, so the error a real coordinator gives only by
//! chance (REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID
//! on a heartbeat; NOT_COORDINATOR mid-join) arrives exactly when wanted, and the test checks
//! the member handles it as Java's `AbstractCoordinator` does.
//!
//! ```text
//!  ConsumerGroup ──TCP──▶ mini broker (this file): ApiVersions, Metadata, FindCoordinator
//!                                   answered here; group APIs ──▶ the test's script closure
//! ```
//! (The fake-broker crate implements no group APIs, and a real broker can't be told to answer
//! one heartbeat with FENCED_INSTANCE_ID.)

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, Message, StrBytes};
use kaflow_client::cluster::Cluster;
use kaflow_client::group::consumer_protocol::Assignment;
use kaflow_client::group::{ConsumerGroup, GroupConfig, GroupError, RebalanceEvent, TopicPartition};
use kaflow_client::{ClientConfig, Error, Properties};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const TOPIC: &str = "t";

/// A group request the script sees.
#[derive(Debug, Clone)]
enum Req {
    Join(JoinGroupRequest),
    Sync(SyncGroupRequest),
    Heartbeat(HeartbeatRequest),
    Leave(LeaveGroupRequest),
}

/// The script's answer.
enum Resp {
    Join(JoinGroupResponse),
    Sync(SyncGroupResponse),
    Heartbeat(HeartbeatResponse),
    Leave(LeaveGroupResponse),
}

type Script = Box<dyn FnMut(&Req) -> Resp + Send>;

struct Broker {
    addr: String,
    seen: Arc<Mutex<Vec<Req>>>,
    find_coordinator: Arc<Mutex<usize>>,
}

impl Broker {
    fn seen(&self) -> Vec<Req> {
        self.seen.lock().unwrap().clone()
    }
    fn joins(&self) -> Vec<JoinGroupRequest> {
        self.seen()
            .into_iter()
            .filter_map(|r| match r {
                Req::Join(j) => Some(j),
                _ => None,
            })
            .collect()
    }
}

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn versions<Q: Message, R: Message>(key: ApiKey) -> ApiVersion {
    ApiVersion::default()
        .with_api_key(key as i16)
        .with_min_version(Q::VERSIONS.min.max(R::VERSIONS.min))
        .with_max_version(Q::VERSIONS.max.min(R::VERSIONS.max))
}

async fn start(script: Script) -> Broker {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let finds = Arc::new(Mutex::new(0));
    let script = Arc::new(Mutex::new(script));
    let (s2, f2, a2) = (Arc::clone(&seen), Arc::clone(&finds), addr.clone());
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let (s, f, sc, a) = (Arc::clone(&s2), Arc::clone(&f2), Arc::clone(&script), a2.clone());
            tokio::spawn(async move {
                let _ = serve(sock, &a, s, f, sc).await;
            });
        }
    });
    Broker {
        addr,
        seen,
        find_coordinator: finds,
    }
}

fn encode<M: Encodable>(key: ApiKey, version: i16, correlation: i32, body: &M) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    ResponseHeader::default()
        .with_correlation_id(correlation)
        .encode(&mut buf, key.response_header_version(version))
        .unwrap();
    body.encode(&mut buf, version).unwrap();
    let len = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    buf.freeze()
}

async fn serve(
    mut sock: TcpStream,
    addr: &str,
    seen: Arc<Mutex<Vec<Req>>>,
    finds: Arc<Mutex<usize>>,
    script: Arc<Mutex<Script>>,
) -> std::io::Result<()> {
    let (host, port) = addr.rsplit_once(':').unwrap();
    let port: i32 = port.parse().unwrap();
    loop {
        let len = sock.read_i32().await?;
        let mut frame = vec![0u8; len as usize];
        sock.read_exact(&mut frame).await?;
        let mut b = Bytes::from(frame);
        let key = ApiKey::try_from((&b[0..2]).get_i16()).unwrap();
        let version = (&b[2..4]).get_i16();
        let header = RequestHeader::decode(&mut b, key.request_header_version(version)).unwrap();
        let id = header.correlation_id;
        let out = match key {
            ApiKey::ApiVersions => {
                let keys = vec![
                    versions::<ApiVersionsRequest, ApiVersionsResponse>(ApiKey::ApiVersions),
                    versions::<MetadataRequest, MetadataResponse>(ApiKey::Metadata),
                    versions::<FindCoordinatorRequest, FindCoordinatorResponse>(ApiKey::FindCoordinator),
                    versions::<JoinGroupRequest, JoinGroupResponse>(ApiKey::JoinGroup),
                    versions::<SyncGroupRequest, SyncGroupResponse>(ApiKey::SyncGroup),
                    versions::<HeartbeatRequest, HeartbeatResponse>(ApiKey::Heartbeat),
                    versions::<LeaveGroupRequest, LeaveGroupResponse>(ApiKey::LeaveGroup),
                ];
                // ApiVersions answers use response header v0 whatever the version (KIP-511).
                encode(
                    key,
                    version,
                    id,
                    &ApiVersionsResponse::default().with_api_keys(keys),
                )
            }
            ApiKey::Metadata => {
                let resp = MetadataResponse::default()
                    .with_brokers(vec![MetadataResponseBroker::default()
                        .with_node_id(BrokerId(1))
                        .with_host(sb(host))
                        .with_port(port)])
                    .with_controller_id(BrokerId(1))
                    .with_topics(vec![MetadataResponseTopic::default()
                        .with_name(Some(TopicName(sb(TOPIC))))
                        .with_partitions(
                            (0..4)
                                .map(|p| {
                                    MetadataResponsePartition::default()
                                        .with_partition_index(p)
                                        .with_leader_id(BrokerId(1))
                                        .with_replica_nodes(vec![BrokerId(1)])
                                        .with_isr_nodes(vec![BrokerId(1)])
                                })
                                .collect(),
                        )]);
                encode(key, version, id, &resp)
            }
            ApiKey::FindCoordinator => {
                *finds.lock().unwrap() += 1;
                let req = FindCoordinatorRequest::decode(&mut b, version).unwrap();
                let mut resp = FindCoordinatorResponse::default();
                if version >= 4 {
                    resp.coordinators = req
                        .coordinator_keys
                        .iter()
                        .map(|k| {
                            Coordinator::default()
                                .with_key(k.clone())
                                .with_node_id(BrokerId(1))
                                .with_host(sb(host))
                                .with_port(port)
                        })
                        .collect();
                } else {
                    resp.node_id = BrokerId(1);
                    resp.host = sb(host);
                    resp.port = port;
                }
                encode(key, version, id, &resp)
            }
            ApiKey::JoinGroup | ApiKey::SyncGroup | ApiKey::Heartbeat | ApiKey::LeaveGroup => {
                let req = match key {
                    ApiKey::JoinGroup => Req::Join(JoinGroupRequest::decode(&mut b, version).unwrap()),
                    ApiKey::SyncGroup => Req::Sync(SyncGroupRequest::decode(&mut b, version).unwrap()),
                    ApiKey::Heartbeat => Req::Heartbeat(HeartbeatRequest::decode(&mut b, version).unwrap()),
                    _ => Req::Leave(LeaveGroupRequest::decode(&mut b, version).unwrap()),
                };
                seen.lock().unwrap().push(req.clone());
                let resp = (script.lock().unwrap())(&req);
                match resp {
                    Resp::Join(r) => encode(key, version, id, &r),
                    Resp::Sync(r) => encode(key, version, id, &r),
                    Resp::Heartbeat(r) => encode(key, version, id, &r),
                    Resp::Leave(r) => encode(key, version, id, &r),
                }
            }
            other => panic!("the scripted broker doesn't speak {other:?}"),
        };
        sock.write_all(&out).await?;
    }
}

fn tps(ps: &[i32]) -> BTreeSet<TopicPartition> {
    ps.iter().map(|&p| TopicPartition::new(TOPIC, p)).collect()
}

fn assignment(ps: &[i32]) -> Bytes {
    Assignment {
        partitions: tps(ps).into_iter().collect(),
        user_data: None,
    }
    .encode()
}

/// A JoinGroup answer making `member` the only member and leader of `generation`.
fn joined(generation: i32, member: &str, metadata: &Bytes) -> Resp {
    Resp::Join(
        JoinGroupResponse::default()
            .with_generation_id(generation)
            .with_protocol_type(Some(sb("consumer")))
            .with_protocol_name(Some(sb("range")))
            .with_leader(sb(member))
            .with_member_id(sb(member))
            .with_members(vec![join_group_response::JoinGroupResponseMember::default()
                .with_member_id(sb(member))
                .with_metadata(metadata.clone())]),
    )
}

fn synced(ps: &[i32]) -> Resp {
    Resp::Sync(
        SyncGroupResponse::default()
            .with_protocol_type(Some(sb("consumer")))
            .with_protocol_name(Some(sb("range")))
            .with_assignment(assignment(ps)),
    )
}

fn heartbeat(code: i16) -> Resp {
    Resp::Heartbeat(HeartbeatResponse::default().with_error_code(code))
}

async fn member(
    broker: &Broker,
    extra: &[(&str, &str)],
) -> (ConsumerGroup, mpsc::UnboundedReceiver<RebalanceEvent>) {
    let mut p = Properties::new()
        .with("bootstrap.servers", &broker.addr)
        .with("group.id", "g")
        .with("session.timeout.ms", "6000")
        .with("heartbeat.interval.ms", "50")
        .with("retry.backoff.ms", "10")
        .with("partition.assignment.strategy", "range");
    for (k, v) in extra {
        p.set(k, v);
    }
    let cfg = GroupConfig::from_properties(&p).unwrap();
    let cluster = Cluster::connect(ClientConfig::from_properties(&p).unwrap())
        .await
        .unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    (ConsumerGroup::join(cluster, cfg, &[TOPIC], tx).unwrap(), rx)
}

async fn next_event(rx: &mut mpsc::UnboundedReceiver<RebalanceEvent>) -> RebalanceEvent {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a rebalance event within 10 s")
        .expect("member alive")
}

/// The standard opening: KIP-394's MEMBER_ID_REQUIRED, then generation 1 with `ps`.
/// `after` answers every later group request.
fn script(ps: &'static [i32], mut after: impl FnMut(&Req, usize) -> Resp + Send + 'static) -> Script {
    let mut n = 0usize;
    Box::new(move |req| {
        n += 1;
        match (n, req) {
            (1, Req::Join(_)) => Resp::Join(
                JoinGroupResponse::default()
                    .with_error_code(79)
                    .with_member_id(sb("m-1")),
            ),
            (2, Req::Join(j)) => joined(1, "m-1", &j.protocols[0].metadata),
            (3, Req::Sync(_)) => synced(ps),
            _ => after(req, n),
        }
    })
}

/// KIP-394: MEMBER_ID_REQUIRED is answered by joining again with the given id. Then a
/// heartbeat says REBALANCE_IN_PROGRESS: an eager member revokes everything first, then
/// rejoins keeping its member id, and gets the new generation's assignment.
#[tokio::test]
async fn heartbeat_rebalance_in_progress_revokes_then_rejoins_with_the_same_member_id() {
    let mut sent_rebalance = false;
    let broker = start(script(&[0, 1], move |req, _| match req {
        Req::Heartbeat(h) if h.generation_id == 1 && !sent_rebalance => {
            sent_rebalance = true;
            heartbeat(27)
        }
        Req::Heartbeat(_) => heartbeat(0),
        Req::Join(j) => joined(2, "m-1", &j.protocols[0].metadata),
        Req::Sync(_) => synced(&[2]),
        Req::Leave(_) => Resp::Leave(LeaveGroupResponse::default()),
    }))
    .await;
    let (m, mut ev) = member(&broker, &[]).await;
    assert_eq!(next_event(&mut ev).await, RebalanceEvent::Assigned(tps(&[0, 1])));
    assert_eq!(next_event(&mut ev).await, RebalanceEvent::Revoked(tps(&[0, 1])));
    assert_eq!(next_event(&mut ev).await, RebalanceEvent::Assigned(tps(&[2])));
    let joins = broker.joins();
    assert_eq!(joins[0].member_id.as_str(), "", "first join has no id");
    assert_eq!(
        joins[1].member_id.as_str(),
        "m-1",
        "KIP-394: rejoined with the given id"
    );
    assert_eq!(joins[2].member_id.as_str(), "m-1", "kept across the rebalance");
    assert_eq!(m.generation().map(|g| g.generation_id), Some(2));
    // As leader it ran `range` over the topic's four partitions and synced the result.
    let sync = broker
        .seen()
        .into_iter()
        .find_map(|r| match r {
            Req::Sync(s) => Some(s),
            _ => None,
        })
        .expect("a SyncGroup");
    assert_eq!(sync.assignments.len(), 1);
    assert_eq!(sync.assignments[0].member_id.as_str(), "m-1");
    let leader_view = Assignment::decode(&sync.assignments[0].assignment).expect("assignment bytes");
    assert_eq!(
        leader_view.partitions.into_iter().collect::<BTreeSet<_>>(),
        tps(&[0, 1, 2, 3])
    );
    m.close().await.expect("close");
    // A dynamic member leaves on close.
    assert!(broker.seen().iter().any(|r| matches!(r, Req::Leave(l) if
        l.members.first().map(|x| x.member_id.as_str()) == Some("m-1") || l.member_id.as_str() == "m-1")));
}

/// UNKNOWN_MEMBER_ID on a heartbeat: the coordinator removed us. The partitions are lost (not
/// revoked: another member may own them already) and the member rejoins with no member id.
#[tokio::test]
async fn heartbeat_unknown_member_id_loses_partitions_and_rejoins_without_an_id() {
    let mut fired = false;
    let broker = start(script(&[0, 1, 2], move |req, _| match req {
        Req::Heartbeat(_) if !fired => {
            fired = true;
            heartbeat(25)
        }
        Req::Heartbeat(_) => heartbeat(0),
        Req::Join(j) => joined(5, "m-2", &j.protocols[0].metadata),
        Req::Sync(_) => synced(&[3]),
        Req::Leave(_) => Resp::Leave(LeaveGroupResponse::default()),
    }))
    .await;
    let (m, mut ev) = member(&broker, &[]).await;
    assert_eq!(
        next_event(&mut ev).await,
        RebalanceEvent::Assigned(tps(&[0, 1, 2]))
    );
    assert_eq!(next_event(&mut ev).await, RebalanceEvent::Lost(tps(&[0, 1, 2])));
    assert_eq!(next_event(&mut ev).await, RebalanceEvent::Assigned(tps(&[3])));
    let joins = broker.joins();
    assert_eq!(
        joins.last().unwrap().member_id.as_str(),
        "",
        "rejoined without the old id"
    );
    assert_eq!(
        m.generation().map(|g| (g.generation_id, g.member_id)),
        Some((5, "m-2".into()))
    );
    m.close().await.expect("close");
}

/// ILLEGAL_GENERATION on a heartbeat: lost as well, but Java keeps the member id.
#[tokio::test]
async fn heartbeat_illegal_generation_loses_partitions_and_rejoins_with_the_member_id() {
    let mut fired = false;
    let broker = start(script(&[1], move |req, _| match req {
        Req::Heartbeat(_) if !fired => {
            fired = true;
            heartbeat(22)
        }
        Req::Heartbeat(_) => heartbeat(0),
        Req::Join(j) => joined(3, "m-1", &j.protocols[0].metadata),
        Req::Sync(_) => synced(&[1]),
        Req::Leave(_) => Resp::Leave(LeaveGroupResponse::default()),
    }))
    .await;
    let (m, mut ev) = member(&broker, &[]).await;
    assert_eq!(next_event(&mut ev).await, RebalanceEvent::Assigned(tps(&[1])));
    assert_eq!(next_event(&mut ev).await, RebalanceEvent::Lost(tps(&[1])));
    assert_eq!(next_event(&mut ev).await, RebalanceEvent::Assigned(tps(&[1])));
    assert_eq!(broker.joins().last().unwrap().member_id.as_str(), "m-1");
    m.close().await.expect("close");
}

/// FENCED_INSTANCE_ID on a heartbeat: another process runs with our group.instance.id. Fatal,
/// as in Java: partitions lost, no rejoin, close reports the fencing; a static member sends no
/// LeaveGroup.
#[tokio::test]
async fn heartbeat_fenced_instance_id_is_fatal_for_a_static_member() {
    let broker = start(script(&[0], move |req, _| match req {
        Req::Heartbeat(h) => {
            assert_eq!(h.group_instance_id.as_deref(), Some("i-1"));
            heartbeat(82)
        }
        Req::Join(j) => joined(9, "m-9", &j.protocols[0].metadata),
        Req::Sync(_) => synced(&[0]),
        Req::Leave(_) => Resp::Leave(LeaveGroupResponse::default()),
    }))
    .await;
    let (m, mut ev) = member(&broker, &[("group.instance.id", "i-1")]).await;
    assert_eq!(next_event(&mut ev).await, RebalanceEvent::Assigned(tps(&[0])));
    assert_eq!(next_event(&mut ev).await, RebalanceEvent::Lost(tps(&[0])));
    let mut state = m.state();
    tokio::time::timeout(Duration::from_secs(10), state.wait_for(|s| s.failed.is_some()))
        .await
        .expect("member stops")
        .expect("state");
    let joins_before = broker.joins().len();
    let err = m.close().await.expect_err("fenced");
    assert!(matches!(err, Error::Group(GroupError::Fenced { .. })), "{err}");
    assert_eq!(broker.joins().len(), joins_before, "no rejoin after fencing");
    assert!(
        !broker.seen().iter().any(|r| matches!(r, Req::Leave(_))),
        "static: no LeaveGroup"
    );
    // KIP-345: the static member's JoinGroup carried its instance id.
    assert_eq!(broker.joins()[0].group_instance_id.as_deref(), Some("i-1"));
}

/// The coordinator moves mid-join: JoinGroup answered NOT_COORDINATOR makes the member look
/// the coordinator up again (a second FindCoordinator) and join there.
#[tokio::test]
async fn not_coordinator_mid_join_finds_the_coordinator_again() {
    let mut n = 0;
    let broker = start(Box::new(move |req| {
        n += 1;
        match (n, req) {
            (1, Req::Join(_)) => Resp::Join(JoinGroupResponse::default().with_error_code(16)),
            (_, Req::Join(j)) => joined(1, "m-1", &j.protocols[0].metadata),
            (_, Req::Sync(_)) => synced(&[0, 3]),
            (_, Req::Heartbeat(_)) => heartbeat(0),
            (_, Req::Leave(_)) => Resp::Leave(LeaveGroupResponse::default()),
        }
    }))
    .await;
    let (m, mut ev) = member(&broker, &[]).await;
    assert_eq!(next_event(&mut ev).await, RebalanceEvent::Assigned(tps(&[0, 3])));
    assert!(
        *broker.find_coordinator.lock().unwrap() >= 2,
        "NOT_COORDINATOR led to a new FindCoordinator"
    );
    assert_eq!(broker.joins().len(), 2);
    m.close().await.expect("close");
}

/// (JoinGroups, heartbeats) seen when the callback started, and when it ended.
type Note = (usize, usize, usize, usize);

/// A listener whose revoke callback takes a while (a caller committing what it flushed),
/// noting how many JoinGroups and heartbeats the broker had seen before and after.
struct SlowRevoke {
    seen: Arc<Mutex<Vec<Req>>>,
    notes: Arc<Mutex<Vec<Note>>>,
}

fn count(seen: &Arc<Mutex<Vec<Req>>>) -> (usize, usize) {
    let s = seen.lock().unwrap();
    let joins = s.iter().filter(|r| matches!(r, Req::Join(_))).count();
    let beats = s.iter().filter(|r| matches!(r, Req::Heartbeat(_))).count();
    (joins, beats)
}

impl kaflow_client::group::RebalanceListener for SlowRevoke {
    async fn on_partitions_revoked(
        &mut self,
        committer: &kaflow_client::group::Committer,
        _partitions: &BTreeSet<TopicPartition>,
    ) {
        // The rebalance's revocation runs while generation 1 is still valid (a commit would
        // carry it); the one at close, in generation 2, is not under test.
        if committer.generation().map(|g| g.generation_id) != Some(1) {
            return;
        }
        let (j0, h0) = count(&self.seen);
        tokio::time::sleep(Duration::from_millis(400)).await;
        let (j1, h1) = count(&self.seen);
        self.notes.lock().unwrap().push((j0, h0, j1, h1));
    }
}

/// Eager rebalancing: the revoke callback runs to completion BEFORE the JoinGroup goes out,
/// and heartbeats continue meanwhile (Java's heartbeat thread does the same), so a slow
/// commit in the callback doesn't cost the membership.
#[tokio::test]
async fn eager_revoke_completes_before_the_rejoin_and_heartbeats_continue_during_it() {
    let mut sent_rebalance = false;
    let broker = start(script(&[0, 1], move |req, _| match req {
        Req::Heartbeat(h) if h.generation_id == 1 && !sent_rebalance => {
            sent_rebalance = true;
            heartbeat(27)
        }
        Req::Heartbeat(h) if h.generation_id == 1 => heartbeat(27),
        Req::Heartbeat(_) => heartbeat(0),
        Req::Join(j) => joined(2, "m-1", &j.protocols[0].metadata),
        Req::Sync(_) => synced(&[0, 1]),
        Req::Leave(_) => Resp::Leave(LeaveGroupResponse::default()),
    }))
    .await;
    let notes = Arc::new(Mutex::new(Vec::new()));
    let listener = SlowRevoke {
        seen: Arc::clone(&broker.seen),
        notes: Arc::clone(&notes),
    };
    let p = Properties::new()
        .with("bootstrap.servers", &broker.addr)
        .with("group.id", "g")
        .with("heartbeat.interval.ms", "50")
        .with("partition.assignment.strategy", "range");
    let cfg = GroupConfig::from_properties(&p).unwrap();
    let cluster = Cluster::connect(ClientConfig::from_properties(&p).unwrap())
        .await
        .unwrap();
    let m = ConsumerGroup::join(cluster, cfg, &[TOPIC], listener).unwrap();
    let mut state = m.state();
    tokio::time::timeout(
        Duration::from_secs(10),
        state.wait_for(|s| s.stable.as_ref().is_some_and(|g| g.generation_id == 2)),
    )
    .await
    .expect("generation 2")
    .expect("state");
    let notes = notes.lock().unwrap().clone();
    assert_eq!(notes.len(), 1, "one revocation: {notes:?}");
    let (j0, h0, j1, h1) = notes[0];
    assert_eq!((j0, j1), (2, 2), "no JoinGroup while the revoke callback ran");
    assert!(h1 > h0, "heartbeats continued during the callback: {notes:?}");
    assert_eq!(broker.joins().len(), 3, "rejoined after it");
    m.close().await.expect("close");
}
