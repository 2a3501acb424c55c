//! The membership engine of the classic group protocol, generic over the protocol type.
//!
//! ```text
//!            ┌──────────────────────────── member task ─────────────────────────────┐
//!  start ──▶ │ prepare: P::on_join_prepare (or P::on_lost after a reset)            │
//!            │ JoinGroup ── MEMBER_ID_REQUIRED ──▶ again with the given id (KIP-394)│
//!            │    │ leader: P::assign(protocol, members' metadata)                  │
//!            │ SyncGroup ──▶ P::on_join_complete(assignment) ── wants rejoin? ─┐    │
//!            │    │ stable: heartbeat task every heartbeat.interval.ms         │    │
//!            │    ▼                                                            │    │
//!            │ wait: heartbeat says rejoin/reset/fenced │ request_rejoin │ close │    │
//!            └───────────┬─────────────────────────────────────────────────────┴────┘
//!                        └─ close: P::on_close, LeaveGroup (dynamic members only, KIP-345)
//! ```
//! Errors are handled as the Java client's `AbstractCoordinator` handles them:
//! - NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE (and a dead connection): forget the
//!   coordinator, find it again, retry; COORDINATOR_LOAD_IN_PROGRESS: back off and retry.
//! - REBALANCE_IN_PROGRESS: rejoin, keeping member id and generation (the protocol revokes as
//!   it must before the JoinGroup goes out).
//! - UNKNOWN_MEMBER_ID: the coordinator removed us (session timeout): what we held is lost,
//!   rejoin with no member id. ILLEGAL_GENERATION: same, keeping the member id.
//! - FENCED_INSTANCE_ID: another process runs with our `group.instance.id`: fatal (KIP-345).
//!
//! Heartbeats run on their own task so that a slow rebalance callback (a caller committing
//! what it flushed before giving partitions up) doesn't cost the membership: they continue
//! through `on_join_prepare`, as Java's heartbeat thread does, and stop when JoinGroup is sent.

use super::coordinator::Coordinator;
use super::{codes, response_error, GroupConfig, GroupError};
use crate::cluster::Cluster;
use crate::config::backoff;
use crate::error::{BrokerError, Error, Outcome, Result};
use bytes::Bytes;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    GroupId, HeartbeatRequest, JoinGroupRequest, LeaveGroupRequest, SyncGroupRequest,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// A member's place in one generation of the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    /// The generation id (-1: none).
    pub generation_id: i32,
    /// The member id the coordinator gave us ("" before the first JoinGroup).
    pub member_id: String,
    /// The protocol the coordinator chose (e.g. `range`), once joined.
    pub protocol: Option<String>,
}

impl Generation {
    /// No generation: not joined (Java's `Generation.NO_GENERATION`).
    pub fn none() -> Self {
        Self {
            generation_id: -1,
            member_id: String::new(),
            protocol: None,
        }
    }

    fn is_none(&self) -> bool {
        self.generation_id < 0
    }
}

/// One member of the group, as the leader sees it in the JoinGroup answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupMember {
    /// Its member id.
    pub member_id: String,
    /// Its `group.instance.id`, if static.
    pub group_instance_id: Option<String>,
    /// The metadata it sent for the chosen protocol.
    pub metadata: Bytes,
}

/// This member after a completed join: its generation and assignment bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinedMember {
    /// The generation joined.
    pub generation: Generation,
    /// The leader's member id.
    pub leader_id: String,
    /// Whether this member leads (it ran the assignor).
    pub is_leader: bool,
    /// This member's assignment bytes, in the protocol's format.
    pub assignment: Bytes,
}

/// A protocol type's side of membership: its metadata and assignment bytes, and what it does
/// at each step of a rebalance. Consumer groups implement it in [`super::ConsumerGroup`];
/// Connect's distributed herder implements it with protocol type `connect`.
pub trait GroupProtocol: Send + 'static {
    /// The protocol type (`consumer`, `connect`); every member of a group must send the same.
    fn protocol_type(&self) -> &str;

    /// The protocols this member supports, most preferred first: (name, metadata bytes).
    /// Called before every JoinGroup with the generation about to be left.
    fn join_protocols(&mut self, generation: &Generation) -> Vec<(String, Bytes)>;

    /// Leader only: each member's assignment bytes under `protocol`, from every member's
    /// metadata. Members missing from the answer get empty bytes.
    fn assign(
        &mut self,
        protocol: &str,
        members: &[JoinGroupMember],
    ) -> impl Future<Output = Result<HashMap<String, Bytes>>> + Send;

    /// Before rejoining while `generation` is still valid (eager: revoke everything here).
    fn on_join_prepare(&mut self, generation: &Generation) -> impl Future<Output = ()> + Send;

    /// `generation` is gone (removed by the coordinator or fenced): what it held is lost,
    /// possibly already owned by another member.
    fn on_lost(&mut self, generation: &Generation) -> impl Future<Output = ()> + Send;

    /// After SyncGroup, with this member's assignment. `Ok(true)` asks for another rebalance
    /// at once (a cooperative member that revoked partitions, KIP-429).
    fn on_join_complete(&mut self, joined: &JoinedMember) -> impl Future<Output = Result<bool>> + Send;

    /// Closing: give up what `generation` holds, before LeaveGroup.
    fn on_close(&mut self, generation: &Generation) -> impl Future<Output = ()> + Send;
}

/// What other tasks can see of a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberState {
    /// The current generation while stable (joined and synced); `None` while (re)joining.
    pub stable: Option<Generation>,
    /// Rebalances completed so far.
    pub joins: u64,
    /// Why the member stopped, if it did.
    pub failed: Option<String>,
}

#[derive(Debug)]
enum Command {
    /// Rejoin (the protocol's metadata changed, or a commit learned of a rebalance).
    Rejoin(String),
    /// A commit was answered UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION for this generation.
    Reset {
        generation_id: i32,
        member_id: String,
        reset_member_id: bool,
    },
    /// Leave and stop.
    Close,
}

#[derive(Debug)]
struct Shared {
    cfg: GroupConfig,
    coordinator: Coordinator,
    state: watch::Sender<MemberState>,
}

/// A cheap, cloneable handle on a running member: its generation, and the way to tell the
/// engine that a commit found the generation stale. Protocols get one at start.
#[derive(Debug, Clone)]
pub struct MemberHandle {
    shared: Arc<Shared>,
    cmds: mpsc::UnboundedSender<Command>,
}

impl MemberHandle {
    /// The group id.
    pub fn group_id(&self) -> &str {
        &self.shared.cfg.group_id
    }

    /// The member's configuration.
    pub fn config(&self) -> &GroupConfig {
        &self.shared.cfg
    }

    /// The current generation while stable (also during revoke callbacks, which run before
    /// the next JoinGroup goes out).
    pub fn generation(&self) -> Option<Generation> {
        self.shared.state.borrow().stable.clone()
    }

    /// The group's coordinator.
    pub fn coordinator(&self) -> &Coordinator {
        &self.shared.coordinator
    }

    /// Asks for a rebalance.
    pub fn request_rejoin(&self, reason: &str) {
        let _ = self.cmds.send(Command::Rejoin(reason.to_string()));
    }

    /// Tells the engine a commit as (`generation_id`, `member_id`) was refused with `code`
    /// (REBALANCE_IN_PROGRESS: rejoin; UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION: reset and
    /// rejoin, only if that is still this member's generation, as Java checks).
    pub fn commit_failed(&self, generation_id: i32, member_id: &str, code: i16) {
        let cmd = match code {
            codes::REBALANCE_IN_PROGRESS => Command::Rejoin("a commit found the group rebalancing".into()),
            _ => Command::Reset {
                generation_id,
                member_id: member_id.to_string(),
                reset_member_id: code == codes::UNKNOWN_MEMBER_ID,
            },
        };
        let _ = self.cmds.send(cmd);
    }
}

/// A group member: a task running the engine for protocol `P`, and this handle to it.
///
/// Dropping the handle without [`Membership::close`] stops the task without leaving the group,
/// like a crashed process: the coordinator removes the member after `session.timeout.ms`.
#[derive(Debug)]
pub struct Membership {
    handle: MemberHandle,
    task: Option<JoinHandle<Result<()>>>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// The JoinGroup/SyncGroup wait: the coordinator holds JoinGroup up to the rebalance timeout,
/// so the request may take that long; Java adds 5 s (`JOIN_GROUP_TIMEOUT_LAPSE`).
fn join_timeout(cfg: &GroupConfig) -> Duration {
    (cfg.rebalance_timeout + Duration::from_secs(5)).max(cfg.client.request_timeout)
}

fn ms(d: Duration) -> i32 {
    d.as_millis().min(i32::MAX as u128) as i32
}

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

impl Membership {
    /// Starts a member of `cfg.group_id` speaking `protocol`; it joins in the background.
    pub fn start<P: GroupProtocol>(cluster: Arc<Cluster>, cfg: GroupConfig, protocol: P) -> Self {
        Self::start_with(cluster, cfg, |_| protocol)
    }

    /// Like [`Membership::start`], building the protocol with the member's handle (so its
    /// callbacks can commit under the current generation).
    pub fn start_with<P: GroupProtocol>(
        cluster: Arc<Cluster>,
        cfg: GroupConfig,
        make: impl FnOnce(MemberHandle) -> P,
    ) -> Self {
        let coordinator = Coordinator::new(cluster, &cfg.group_id);
        let (state, _) = watch::channel(MemberState {
            stable: None,
            joins: 0,
            failed: None,
        });
        let shared = Arc::new(Shared {
            cfg,
            coordinator,
            state,
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let handle = MemberHandle {
            shared: Arc::clone(&shared),
            cmds: tx,
        };
        let engine = Engine {
            shared,
            proto: make(handle.clone()),
            cmds: rx,
            generation: Generation::none(),
            lost: false,
            heartbeat: None,
        };
        let task = tokio::spawn(engine.run());
        Self {
            handle,
            task: Some(task),
        }
    }

    /// The member's handle.
    pub fn handle(&self) -> &MemberHandle {
        &self.handle
    }

    /// The group id.
    pub fn group_id(&self) -> &str {
        self.handle.group_id()
    }

    /// The current generation while stable.
    pub fn generation(&self) -> Option<Generation> {
        self.handle.generation()
    }

    /// Watches the member's state (stable generation, joins, failure).
    pub fn state(&self) -> watch::Receiver<MemberState> {
        self.handle.shared.state.subscribe()
    }

    /// Asks for a rebalance (e.g. the subscription changed).
    pub fn request_rejoin(&self, reason: &str) {
        self.handle.request_rejoin(reason);
    }

    /// Leaves the group (LeaveGroup unless static, after the protocol's `on_close`) and stops.
    /// Returns the error that stopped the member earlier, if one did.
    pub async fn close(mut self) -> Result<()> {
        let _ = self.handle.cmds.send(Command::Close);
        match self.task.take() {
            Some(t) => t.await.unwrap_or_else(|e| {
                Err(GroupError::Closed {
                    group: format!("{} (task ended: {e})", self.handle.group_id()),
                }
                .into())
            }),
            None => Ok(()),
        }
    }
}

/// Why a join attempt ended without a generation.
enum JoinFailure {
    /// Try again (after the backoff when `backoff` is set).
    Retry { reason: String, backoff: bool },
    /// Close was requested while joining.
    Closed,
    /// Stop the member.
    Fatal(Error),
}

enum HeartbeatEvent {
    Rejoin(String),
    Reset { reset_member_id: bool, reason: String },
    Fenced(String),
    Fatal(Error),
}

struct Engine<P> {
    shared: Arc<Shared>,
    proto: P,
    cmds: mpsc::UnboundedReceiver<Command>,
    generation: Generation,
    /// The current generation was lost (reset by an error): report it lost, not revoked.
    lost: bool,
    heartbeat: Option<(JoinHandle<()>, mpsc::UnboundedReceiver<HeartbeatEvent>)>,
}

/// The heartbeat task must not outlive the engine: a member dropped without `close` has to
/// stop heartbeating so the coordinator expires it (a detached task would keep it alive).
impl<P> Drop for Engine<P> {
    fn drop(&mut self) {
        if let Some((h, _)) = self.heartbeat.take() {
            h.abort();
        }
    }
}

impl<P: GroupProtocol> Engine<P> {
    fn group(&self) -> &str {
        &self.shared.cfg.group_id
    }

    fn set_stable(&self, stable: Option<Generation>) {
        self.shared.state.send_modify(|s| {
            if stable.is_some() {
                s.joins += 1;
            }
            s.stable = stable;
        });
    }

    fn stop_heartbeat(&mut self) {
        if let Some((h, _)) = self.heartbeat.take() {
            h.abort();
        }
    }

    /// Forgets the generation after UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION (Java's
    /// `resetStateAndGeneration`): what it held is lost.
    fn reset(&mut self, reset_member_id: bool, why: &str) {
        tracing::info!(group = %self.group(), generation = self.generation.generation_id,
            member = %self.generation.member_id, why, "resetting generation");
        if !self.generation.is_none() {
            self.lost = true;
        }
        self.generation.generation_id = -1;
        self.generation.protocol = None;
        if reset_member_id {
            self.generation.member_id.clear();
        }
        self.set_stable(None);
    }

    async fn run(mut self) -> Result<()> {
        let result = self.run_inner().await;
        self.stop_heartbeat();
        if let Err(e) = &result {
            tracing::warn!(group = %self.group(), error = %e, "group member stopped");
            self.set_stable(None);
            self.shared.state.send_modify(|s| s.failed = Some(e.to_string()));
        }
        result
    }

    async fn run_inner(&mut self) -> Result<()> {
        let mut reason = String::from("joining the group");
        let mut attempt = 0u32;
        loop {
            // Prepare while the heartbeat task (if any) keeps the old generation alive.
            if self.lost {
                let g = self.generation.clone();
                self.proto.on_lost(&g).await;
                self.lost = false;
            } else if !self.generation.is_none() {
                let g = self.generation.clone();
                self.proto.on_join_prepare(&g).await;
            }
            self.stop_heartbeat();
            self.set_stable(None);
            match self.join_and_sync(&reason).await {
                Ok(joined) => {
                    attempt = 0;
                    self.generation = joined.generation.clone();
                    self.set_stable(Some(joined.generation.clone()));
                    tracing::info!(group = %self.group(), generation = joined.generation.generation_id,
                        member = %joined.generation.member_id, leader = joined.is_leader,
                        protocol = ?joined.generation.protocol, "joined group");
                    let again = self.proto.on_join_complete(&joined).await?;
                    self.start_heartbeat();
                    if again {
                        reason = "a cooperative member revoked partitions".into();
                        continue;
                    }
                }
                Err(JoinFailure::Closed) => return self.leave().await,
                Err(JoinFailure::Fatal(e)) => {
                    let g = self.generation.clone();
                    self.proto.on_lost(&g).await;
                    return Err(e);
                }
                Err(JoinFailure::Retry {
                    reason: r,
                    backoff: b,
                }) => {
                    reason = r;
                    if b {
                        attempt += 1;
                        let c = &self.shared.cfg.client;
                        let wait = backoff(c.retry_backoff, c.retry_backoff_max, attempt);
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            Some(Command::Close) = self.cmds.recv() => return self.leave().await,
                        }
                    }
                    continue;
                }
            }
            // Stable: wait for a reason to rebalance or to stop.
            reason = loop {
                let hb = async {
                    match &mut self.heartbeat {
                        Some((_, rx)) => rx.recv().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    ev = hb => match ev {
                        Some(HeartbeatEvent::Rejoin(r)) => break r,
                        Some(HeartbeatEvent::Reset { reset_member_id, reason }) => {
                            self.stop_heartbeat();
                            self.reset(reset_member_id, &reason);
                            break reason;
                        }
                        Some(HeartbeatEvent::Fenced(detail)) => {
                            self.stop_heartbeat();
                            let g = self.generation.clone();
                            self.reset(false, &detail);
                            self.proto.on_lost(&g).await;
                            self.lost = false;
                            return Err(GroupError::Fenced { group: self.group().to_string(), detail }.into());
                        }
                        Some(HeartbeatEvent::Fatal(e)) => {
                            self.stop_heartbeat();
                            let g = self.generation.clone();
                            self.reset(false, &e.to_string());
                            self.proto.on_lost(&g).await;
                            self.lost = false;
                            return Err(e);
                        }
                        None => {
                            // The heartbeat task ended without an event: it shouldn't; rejoin.
                            self.heartbeat = None;
                            break "heartbeat task ended".into();
                        }
                    },
                    cmd = self.cmds.recv() => match cmd {
                        Some(Command::Rejoin(r)) => break r,
                        Some(Command::Reset { generation_id, member_id, reset_member_id }) => {
                            if generation_id == self.generation.generation_id
                                && member_id == self.generation.member_id
                            {
                                self.reset(reset_member_id, "an offset commit was refused for this generation");
                                break "offset commit found the generation stale".into();
                            }
                        }
                        Some(Command::Close) | None => return self.leave().await,
                    },
                }
            };
        }
    }

    /// The protocol gives up what it holds; a dynamic member then sends LeaveGroup so the
    /// group rebalances at once. A static member doesn't (KIP-345: a restart within the
    /// session timeout keeps its partitions without a rebalance), as Java's `close()`.
    async fn leave(&mut self) -> Result<()> {
        let g = self.generation.clone();
        if self.lost {
            self.proto.on_lost(&g).await;
        } else {
            self.proto.on_close(&g).await;
        }
        self.stop_heartbeat();
        self.set_stable(None);
        let cfg = &self.shared.cfg;
        if cfg.group_instance_id.is_some() || g.member_id.is_empty() {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + cfg.client.request_timeout;
        let Ok((node, conn)) = self.shared.coordinator.connection(Some(deadline)).await else {
            return Ok(());
        };
        let version = conn.version::<LeaveGroupRequest>()?;
        let mut req = LeaveGroupRequest::default().with_group_id(GroupId(sb(&cfg.group_id)));
        // v3+ leaves a batch of members (KIP-345); older versions one `member_id`.
        if version >= 3 {
            req.members = vec![MemberIdentity::default()
                .with_member_id(sb(&g.member_id))
                .with_reason(Some(sb("the member is being closed")))];
        } else {
            req.member_id = sb(&g.member_id);
        }
        match conn.send_at(&req, version).await {
            Ok(r) => {
                let code = if r.error_code != 0 {
                    r.error_code
                } else {
                    r.members
                        .iter()
                        .map(|m| m.error_code)
                        .find(|&c| c != 0)
                        .unwrap_or(0)
                };
                if code != 0 {
                    tracing::info!(group = %cfg.group_id, node, error = ?response_error(code), "LeaveGroup refused");
                }
            }
            Err(e) => tracing::info!(group = %cfg.group_id, node, error = %e, "LeaveGroup failed"),
        }
        Ok(())
    }

    fn broker_error(api: &'static str, node: i32, code: i16) -> Error {
        BrokerError {
            error: response_error(code),
            api,
            broker: node,
            message: None,
        }
        .into()
    }

    /// One JoinGroup + SyncGroup round, with the error handling of Java's JoinGroup and
    /// SyncGroup response handlers.
    async fn join_and_sync(&mut self, reason: &str) -> Result<JoinedMember, JoinFailure> {
        let shared = Arc::clone(&self.shared);
        let cfg = &shared.cfg;
        let timeout = join_timeout(cfg);
        let instance = cfg.group_instance_id.as_deref().map(sb);
        loop {
            // The lookup retries until the coordinator answers; a close must not wait for it.
            let found = tokio::select! {
                r = shared.coordinator.connection(None) => r,
                cmd = self.cmds.recv() => match cmd {
                    Some(Command::Close) | None => return Err(JoinFailure::Closed),
                    Some(_) => continue,
                },
            };
            let (node, conn) = found.map_err(JoinFailure::Fatal)?;
            let protocols = self.proto.join_protocols(&self.generation);
            let req = JoinGroupRequest::default()
                .with_group_id(GroupId(sb(&cfg.group_id)))
                .with_session_timeout_ms(ms(cfg.session_timeout))
                .with_rebalance_timeout_ms(ms(cfg.rebalance_timeout))
                .with_member_id(sb(&self.generation.member_id))
                .with_group_instance_id(instance.clone())
                .with_protocol_type(sb(self.proto.protocol_type()))
                .with_protocols(
                    protocols
                        .into_iter()
                        .map(|(name, metadata)| {
                            JoinGroupRequestProtocol::default()
                                .with_name(StrBytes::from_string(name))
                                .with_metadata(metadata)
                        })
                        .collect(),
                )
                .with_reason(Some(sb(reason)));
            let version = conn
                .version::<JoinGroupRequest>()
                .map_err(|e| JoinFailure::Fatal(e.into()))?;
            tracing::debug!(group = %cfg.group_id, node, member = %self.generation.member_id, reason, "JoinGroup");
            let sent = conn.send_at_with_timeout(&req, version, timeout);
            tokio::pin!(sent);
            let resp = loop {
                tokio::select! {
                    r = &mut sent => break r,
                    cmd = self.cmds.recv() => match cmd {
                        Some(Command::Close) | None => {
                            // The JoinGroup may be held for minutes; LeaveGroup must not queue
                            // behind it on the same connection.
                            shared.coordinator.mark_unknown().await;
                            return Err(JoinFailure::Closed);
                        }
                        // Already joining: this join answers a rejoin or reset request.
                        Some(_) => {}
                    },
                }
            };
            let resp = match resp {
                Ok(r) => r,
                Err(e) => {
                    shared.coordinator.mark_unknown().await;
                    return Err(JoinFailure::Retry {
                        reason: format!("JoinGroup failed: {e}"),
                        backoff: true,
                    });
                }
            };
            match resp.error_code {
                codes::NONE => {}
                codes::MEMBER_ID_REQUIRED => {
                    // KIP-394: the coordinator assigned us a member id; join again with it.
                    self.generation.member_id = resp.member_id.to_string();
                    continue;
                }
                codes::UNKNOWN_MEMBER_ID => {
                    self.reset(true, "JoinGroup: unknown member id");
                    return Err(JoinFailure::Retry {
                        reason: "rejoining without a member id".into(),
                        backoff: false,
                    });
                }
                codes::ILLEGAL_GENERATION => {
                    self.reset(false, "JoinGroup: illegal generation");
                    return Err(JoinFailure::Retry {
                        reason: "rejoining after an illegal generation".into(),
                        backoff: false,
                    });
                }
                codes::FENCED_INSTANCE_ID => {
                    return Err(JoinFailure::Fatal(
                        GroupError::Fenced {
                            group: cfg.group_id.clone(),
                            detail: format!(
                                "JoinGroup: another member uses group.instance.id {:?}",
                                cfg.group_instance_id
                            ),
                        }
                        .into(),
                    ))
                }
                codes::REBALANCE_IN_PROGRESS | codes::COORDINATOR_LOAD_IN_PROGRESS => {
                    return Err(JoinFailure::Retry {
                        reason: format!("JoinGroup: {:?}", response_error(resp.error_code)),
                        backoff: true,
                    })
                }
                c if codes::coordinator_moved(c) => {
                    shared.coordinator.mark_unknown().await;
                    return Err(JoinFailure::Retry {
                        reason: format!("JoinGroup: {:?}", response_error(c)),
                        backoff: true,
                    });
                }
                c => {
                    let e = Self::broker_error("JoinGroup", node, c);
                    return Err(if e.outcome() == Outcome::Retriable {
                        JoinFailure::Retry {
                            reason: e.to_string(),
                            backoff: true,
                        }
                    } else {
                        JoinFailure::Fatal(e)
                    });
                }
            }
            let protocol = resp.protocol_name.as_ref().map(|p| p.to_string());
            let generation = Generation {
                generation_id: resp.generation_id,
                member_id: resp.member_id.to_string(),
                protocol: protocol.clone(),
            };
            // Our member id is now this generation's, even if the sync below fails.
            self.generation.member_id = generation.member_id.clone();
            let is_leader = resp.leader == resp.member_id;
            let leader_id = resp.leader.to_string();
            let mut assignments = Vec::new();
            if is_leader && !resp.skip_assignment {
                let members: Vec<JoinGroupMember> = resp
                    .members
                    .iter()
                    .map(|m| JoinGroupMember {
                        member_id: m.member_id.to_string(),
                        group_instance_id: m.group_instance_id.as_ref().map(|i| i.to_string()),
                        metadata: m.metadata.clone(),
                    })
                    .collect();
                let name = protocol.clone().unwrap_or_default();
                let mut by_member = self
                    .proto
                    .assign(&name, &members)
                    .await
                    .map_err(JoinFailure::Fatal)?;
                for m in &members {
                    let bytes = by_member.remove(&m.member_id).unwrap_or_default();
                    assignments.push(
                        SyncGroupRequestAssignment::default()
                            .with_member_id(sb(&m.member_id))
                            .with_assignment(bytes),
                    );
                }
            }
            // KIP-814: a static leader rejoining a stable group skips the assignment and
            // syncs with nothing; the coordinator keeps the current assignment.
            let sync = SyncGroupRequest::default()
                .with_group_id(GroupId(sb(&cfg.group_id)))
                .with_generation_id(generation.generation_id)
                .with_member_id(sb(&generation.member_id))
                .with_group_instance_id(instance.clone())
                .with_protocol_type(Some(sb(self.proto.protocol_type())))
                .with_protocol_name(protocol.as_deref().map(sb))
                .with_assignments(assignments);
            let sync_version = conn
                .version::<SyncGroupRequest>()
                .map_err(|e| JoinFailure::Fatal(e.into()))?;
            // Commands wait until the sync is answered: it decides this round either way.
            let resp = conn.send_at_with_timeout(&sync, sync_version, timeout).await;
            let resp = match resp {
                Ok(r) => r,
                Err(e) => {
                    shared.coordinator.mark_unknown().await;
                    return Err(JoinFailure::Retry {
                        reason: format!("SyncGroup failed: {e}"),
                        backoff: true,
                    });
                }
            };
            match resp.error_code {
                codes::NONE => {}
                codes::REBALANCE_IN_PROGRESS => {
                    return Err(JoinFailure::Retry {
                        reason: "SyncGroup: the group started another rebalance".into(),
                        backoff: false,
                    })
                }
                codes::UNKNOWN_MEMBER_ID | codes::ILLEGAL_GENERATION => {
                    self.reset(
                        resp.error_code == codes::UNKNOWN_MEMBER_ID,
                        &format!("SyncGroup: {:?}", response_error(resp.error_code)),
                    );
                    return Err(JoinFailure::Retry {
                        reason: "rejoining after SyncGroup refused our generation".into(),
                        backoff: false,
                    });
                }
                codes::FENCED_INSTANCE_ID => {
                    return Err(JoinFailure::Fatal(
                        GroupError::Fenced {
                            group: cfg.group_id.clone(),
                            detail: "SyncGroup: another member uses our group.instance.id".into(),
                        }
                        .into(),
                    ))
                }
                c if codes::coordinator_moved(c) => {
                    shared.coordinator.mark_unknown().await;
                    return Err(JoinFailure::Retry {
                        reason: format!("SyncGroup: {:?}", response_error(c)),
                        backoff: true,
                    });
                }
                c => {
                    let e = Self::broker_error("SyncGroup", node, c);
                    return Err(if e.outcome() == Outcome::Retriable {
                        JoinFailure::Retry {
                            reason: e.to_string(),
                            backoff: true,
                        }
                    } else {
                        JoinFailure::Fatal(e)
                    });
                }
            }
            // v5+ echoes the protocol; a mismatch means the coordinator and we disagree on
            // what the assignment bytes are (Java: INCONSISTENT_GROUP_PROTOCOL).
            let type_ok = resp
                .protocol_type
                .as_ref()
                .is_none_or(|t| t.as_str() == self.proto.protocol_type());
            let name_ok = resp
                .protocol_name
                .as_ref()
                .is_none_or(|n| Some(n.as_str()) == protocol.as_deref());
            if !type_ok || !name_ok {
                return Err(JoinFailure::Fatal(
                    GroupError::Protocol {
                        group: cfg.group_id.clone(),
                        what: "SyncGroup answer".into(),
                        detail: format!(
                            "protocol {:?}/{:?}, joined with {}/{:?}",
                            resp.protocol_type,
                            resp.protocol_name,
                            self.proto.protocol_type(),
                            protocol
                        ),
                    }
                    .into(),
                ));
            }
            return Ok(JoinedMember {
                generation,
                leader_id,
                is_leader,
                assignment: resp.assignment,
            });
        }
    }

    fn start_heartbeat(&mut self) {
        self.stop_heartbeat();
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::clone(&self.shared);
        let generation = self.generation.clone();
        let task = tokio::spawn(heartbeat_loop(shared, generation, tx));
        self.heartbeat = Some((task, rx));
    }
}

/// Heartbeats for `generation` until it ends. Java's `HeartbeatResponseHandler` decides:
/// REBALANCE_IN_PROGRESS → rejoin (keep heartbeating: the revoke callback may take a while);
/// UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION → reset; FENCED_INSTANCE_ID → fatal; coordinator
/// errors → find it again. No answer for a whole session timeout also forgets the
/// coordinator (Java's `sessionTimeoutExpired`).
async fn heartbeat_loop(
    shared: Arc<Shared>,
    generation: Generation,
    events: mpsc::UnboundedSender<HeartbeatEvent>,
) {
    let cfg = &shared.cfg;
    let req = HeartbeatRequest::default()
        .with_group_id(GroupId(sb(&cfg.group_id)))
        .with_generation_id(generation.generation_id)
        .with_member_id(sb(&generation.member_id))
        .with_group_instance_id(cfg.group_instance_id.as_deref().map(sb));
    let mut last_ok = tokio::time::Instant::now();
    let mut asked_rejoin = false;
    let mut next = tokio::time::Instant::now() + cfg.heartbeat_interval;
    loop {
        tokio::time::sleep_until(next).await;
        next = tokio::time::Instant::now() + cfg.heartbeat_interval;
        if last_ok.elapsed() > cfg.session_timeout {
            shared.coordinator.mark_unknown().await;
        }
        let deadline = tokio::time::Instant::now() + cfg.session_timeout;
        let conn = match shared.coordinator.connection(Some(deadline)).await {
            Ok((_, c)) => c,
            Err(e) => {
                tracing::debug!(group = %cfg.group_id, error = %e, "heartbeat: no coordinator");
                continue;
            }
        };
        // A heartbeat outliving the interval would hold the connection; bound it by the
        // session timeout, after which the coordinator has given up on us anyway.
        let version = match conn.version::<HeartbeatRequest>() {
            Ok(v) => v,
            Err(e) => {
                let _ = events.send(HeartbeatEvent::Fatal(e.into()));
                return;
            }
        };
        let wait = cfg.client.request_timeout.min(cfg.session_timeout);
        let code = match conn.send_at_with_timeout(&req, version, wait).await {
            Ok(r) => r.error_code,
            Err(e) => {
                tracing::debug!(group = %cfg.group_id, error = %e, "heartbeat failed");
                shared.coordinator.mark_unknown().await;
                next = tokio::time::Instant::now() + cfg.client.retry_backoff;
                continue;
            }
        };
        match code {
            codes::NONE => last_ok = tokio::time::Instant::now(),
            codes::REBALANCE_IN_PROGRESS => {
                last_ok = tokio::time::Instant::now();
                if !asked_rejoin {
                    asked_rejoin = true;
                    let _ = events.send(HeartbeatEvent::Rejoin("the group is rebalancing".into()));
                }
            }
            codes::UNKNOWN_MEMBER_ID | codes::ILLEGAL_GENERATION => {
                let _ = events.send(HeartbeatEvent::Reset {
                    reset_member_id: code == codes::UNKNOWN_MEMBER_ID,
                    reason: format!("heartbeat: {:?}", response_error(code)),
                });
                return;
            }
            codes::FENCED_INSTANCE_ID => {
                let _ = events.send(HeartbeatEvent::Fenced(format!(
                    "heartbeat: another member uses group.instance.id {:?}",
                    cfg.group_instance_id
                )));
                return;
            }
            c if codes::coordinator_moved(c) => {
                shared.coordinator.mark_unknown().await;
                next = tokio::time::Instant::now() + cfg.client.retry_backoff;
            }
            c => {
                tracing::warn!(group = %cfg.group_id, error = ?response_error(c), "heartbeat refused");
                if crate::error::outcome_of_code(c) != Outcome::Retriable {
                    let e = BrokerError {
                        error: response_error(c),
                        api: "Heartbeat",
                        broker: -1,
                        message: None,
                    };
                    let _ = events.send(HeartbeatEvent::Fatal(e.into()));
                    return;
                }
            }
        }
    }
}
