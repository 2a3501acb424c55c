//! Worker group membership: kaflow-client's [`GroupProtocol`] for protocol type `connect`
//! (Java's `WorkerCoordinator`). It offers the sub-protocols of `connect.protocol`, runs the
//! leader's assignment, and turns each round's answer into callbacks for the herder.
//!
//! ```text
//!  join_protocols ── WorkerMetadata{url, config offset, current allocation} per sub-protocol
//!  assign (leader) ── WorkerGroupListener::leader_snapshot (read the config topic to its end)
//!                  ── behind a member's offset even then? CONFIG_MISMATCH to everyone
//!                  ── default: assign_eager │ compatible/sessioned: assignor::assign
//!  on_join_complete ── revoked? on_revoked, then rejoin at once (cooperative)
//!                   ── on_assigned(the whole current assignment)
//!  on_join_prepare (eager) / on_lost / on_close ── on_revoked(everything)
//! ```
//! The leader's assignor memory ([`AssignorState`]) is kept only for rounds that completed:
//! a round whose SyncGroup failed leaves the previous memory in place, which is what the
//! members still run.

use super::assignor::{self, Allocation, AssignInput, AssignorState};
use super::protocol::{
    ConnectAssignment, ConnectProtocolMode, WorkerMetadata, CONFIG_MISMATCH, NO_ERROR, PROTOCOL_TYPE,
};
use bytes::Bytes;
use kaflow_client::group::{Generation, GroupError, GroupProtocol, JoinGroupMember, JoinedMember};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;

/// The config topic as the leader read it, to assign from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaderSnapshot {
    /// The config-topic offset read up to.
    pub offset: i64,
    /// Each connector and its committed task count.
    pub connectors: BTreeMap<String, u32>,
}

/// The herder's side of group membership.
pub trait WorkerGroupListener: Send + 'static {
    /// This worker's advertised REST URL.
    fn url(&self) -> String;

    /// How far this worker has read the config topic (-1: not at all).
    fn config_offset(&self) -> i64;

    /// Leader only, before assigning: read the config topic to its end and return it.
    fn leader_snapshot(&mut self) -> impl Future<Output = LeaderSnapshot> + Send;

    /// Stop these connectors and tasks (a cooperative revocation, or everything before an
    /// eager rebalance, on loss of membership and on close). Return once they are stopped.
    fn on_revoked(&mut self, leader: &str, revoked: &Allocation) -> impl Future<Output = ()> + Send;

    /// A round completed: `assignment` is this worker's whole current assignment (under the
    /// cooperative protocols: what it had, minus what was revoked, plus what was added; the
    /// revoked lists say what was just taken away). `Ok(true)` asks for another rebalance at
    /// once (e.g. after CONFIG_MISMATCH, once the config topic is read to its end).
    fn on_assigned(
        &mut self,
        assignment: &ConnectAssignment,
        generation: i32,
    ) -> impl Future<Output = bool> + Send;
}

/// Settings of the worker group protocol.
#[derive(Debug, Clone)]
pub struct WorkerGroupSettings {
    /// `group.id` (for error messages).
    pub group_id: String,
    /// `connect.protocol`.
    pub mode: ConnectProtocolMode,
    /// `scheduled.rebalance.max.delay.ms`.
    pub max_delay_ms: u64,
}

/// The `connect` protocol type for [`kaflow_client::group::Membership`].
pub struct WorkerGroupProtocol<L> {
    settings: WorkerGroupSettings,
    listener: L,
    clock: Box<dyn Fn() -> u64 + Send>,
    /// The member id of the last JoinGroup sent (the leader finds itself by it).
    member_id: String,
    /// What this worker runs (the augmented assignment); `None`: nothing.
    current: Option<ConnectAssignment>,
    state: AssignorState,
    last_completed_generation: i32,
    /// The state the last assignment computed, kept once its round completes.
    pending: Option<AssignorState>,
}

impl<L> std::fmt::Debug for WorkerGroupProtocol<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerGroupProtocol")
            .field("settings", &self.settings)
            .field("member_id", &self.member_id)
            .field("current", &self.current)
            .field("last_completed_generation", &self.last_completed_generation)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn to_allocation(a: Option<&ConnectAssignment>) -> Allocation {
    a.map(|a| Allocation {
        connectors: a.connectors.iter().cloned().collect(),
        tasks: a.tasks.iter().cloned().collect(),
    })
    .unwrap_or_default()
}

impl<L: WorkerGroupListener> WorkerGroupProtocol<L> {
    /// A worker's protocol, with the wall clock for scheduled delays.
    pub fn new(settings: WorkerGroupSettings, listener: L) -> Self {
        Self::with_clock(settings, listener, Box::new(now_ms))
    }

    /// Same, with `clock` (ms) for scheduled delays (tests).
    pub fn with_clock(
        settings: WorkerGroupSettings,
        listener: L,
        clock: Box<dyn Fn() -> u64 + Send>,
    ) -> Self {
        Self {
            settings,
            listener,
            clock,
            member_id: String::new(),
            current: None,
            state: AssignorState::default(),
            last_completed_generation: -1,
            pending: None,
        }
    }

    /// The listener.
    pub fn listener(&self) -> &L {
        &self.listener
    }

    /// What this worker runs now.
    pub fn current(&self) -> Option<&ConnectAssignment> {
        self.current.as_ref()
    }

    async fn revoke_all(&mut self) {
        if let Some(cur) = self.current.take() {
            let all = to_allocation(Some(&cur));
            if !all.is_empty() {
                self.listener.on_revoked(&cur.leader, &all).await;
            }
        }
    }

    fn group_error(&self, what: String, detail: String) -> kaflow_client::Error {
        GroupError::Protocol {
            group: self.settings.group_id.clone(),
            what,
            detail,
        }
        .into()
    }

    /// The leader's assignment for `members` under `mode`: each member id's bytes.
    async fn leader_assign(
        &mut self,
        mode: ConnectProtocolMode,
        members: &[JoinGroupMember],
    ) -> kaflow_client::Result<HashMap<String, Bytes>> {
        let mut meta = BTreeMap::new();
        for m in members {
            let md = WorkerMetadata::decode(&m.metadata).map_err(|e| {
                self.group_error(format!("metadata of member {}", m.member_id), e.to_string())
            })?;
            meta.insert(m.member_id.clone(), md);
        }
        let leader = if meta.contains_key(&self.member_id) {
            self.member_id.clone()
        } else {
            // A JoinGroup without a member id (no KIP-394 round trip): find ourselves by url.
            let url = self.listener.url();
            meta.iter()
                .find(|(_, md)| md.url == url)
                .map(|(id, _)| id.clone())
                .unwrap_or_default()
        };
        let leader_url = meta.get(&leader).map(|m| m.url.clone()).unwrap_or_default();
        let max_offset = meta.values().map(|m| m.config_offset).max().unwrap_or(-1);
        let snapshot = self.listener.leader_snapshot().await;
        let base = ConnectAssignment {
            version: mode.version(),
            error: NO_ERROR,
            leader: leader.clone(),
            leader_url,
            config_offset: snapshot.offset,
            ..ConnectAssignment::default()
        };
        if snapshot.offset < max_offset {
            tracing::warn!(leader_offset = snapshot.offset, max_offset,
                "the leader is behind another worker on the config topic: assignment failed, everyone rejoins");
            let failed = ConnectAssignment {
                error: CONFIG_MISMATCH,
                config_offset: max_offset,
                ..base
            };
            let bytes = failed.encode();
            return Ok(meta.keys().map(|m| (m.clone(), bytes.clone())).collect());
        }
        let mut out = HashMap::new();
        if !mode.is_cooperative() {
            let ids: BTreeSet<String> = meta.keys().cloned().collect();
            for (m, a) in assignor::assign_eager(&ids, &snapshot.connectors) {
                let asg = ConnectAssignment {
                    connectors: a.connectors.into_iter().collect(),
                    tasks: a.tasks.into_iter().collect(),
                    ..base.clone()
                };
                out.insert(m, asg.encode());
            }
            self.pending = Some(AssignorState::default());
            return Ok(out);
        }
        let allocations: BTreeMap<String, Allocation> = meta
            .iter()
            .map(|(m, md)| (m.clone(), to_allocation(md.allocation.as_ref())))
            .collect();
        let plan = assignor::assign(
            &AssignInput {
                members: &allocations,
                connectors: &snapshot.connectors,
                last_completed_generation: self.last_completed_generation,
                max_delay_ms: self.settings.max_delay_ms,
                now_ms: (self.clock)(),
            },
            &self.state,
        );
        let delay_ms = plan.delay_ms.min(i32::MAX as u64) as i32;
        for (m, a) in plan.members {
            let asg = ConnectAssignment {
                connectors: a.assigned.connectors.into_iter().collect(),
                tasks: a.assigned.tasks.into_iter().collect(),
                revoked_connectors: a.revoked.connectors.into_iter().collect(),
                revoked_tasks: a.revoked.tasks.into_iter().collect(),
                delay_ms,
                ..base.clone()
            };
            out.insert(m, asg.encode());
        }
        self.pending = Some(plan.next);
        Ok(out)
    }
}

impl<L: WorkerGroupListener> GroupProtocol for WorkerGroupProtocol<L> {
    fn protocol_type(&self) -> &str {
        PROTOCOL_TYPE
    }

    fn join_protocols(&mut self, generation: &Generation) -> Vec<(String, Bytes)> {
        self.member_id = generation.member_id.clone();
        let url = self.listener.url();
        let offset = self.listener.config_offset();
        self.settings
            .mode
            .offered()
            .iter()
            .map(|&m| {
                let md = WorkerMetadata::new(m, &url, offset, self.current.as_ref());
                (m.protocol_name().to_string(), md.encode())
            })
            .collect()
    }

    async fn assign(
        &mut self,
        protocol: &str,
        members: &[JoinGroupMember],
    ) -> kaflow_client::Result<HashMap<String, Bytes>> {
        let Some(mode) = ConnectProtocolMode::from_protocol(protocol) else {
            return Err(GroupError::Assignment {
                group: self.settings.group_id.clone(),
                detail: format!(
                    "the coordinator chose sub-protocol {protocol:?}, which Connect doesn't have"
                ),
            }
            .into());
        };
        self.leader_assign(mode, members).await
    }

    async fn on_join_prepare(&mut self, generation: &Generation) {
        let eager = generation
            .protocol
            .as_deref()
            .and_then(ConnectProtocolMode::from_protocol)
            .is_none_or(|m| !m.is_cooperative());
        if eager {
            self.revoke_all().await;
        }
    }

    async fn on_lost(&mut self, _generation: &Generation) {
        self.revoke_all().await;
    }

    async fn on_join_complete(&mut self, joined: &JoinedMember) -> kaflow_client::Result<bool> {
        let asg = ConnectAssignment::decode(&joined.assignment)
            .map_err(|e| self.group_error("assignment".into(), e.to_string()))?;
        let generation = joined.generation.generation_id;
        let pending = self.pending.take();
        if joined.is_leader {
            if let Some(p) = pending {
                self.state = AssignorState {
                    generation: Some(generation),
                    ..p
                };
            }
        } else {
            self.state = AssignorState::default();
        }
        self.last_completed_generation = generation;
        let cooperative = joined
            .generation
            .protocol
            .as_deref()
            .and_then(ConnectProtocolMode::from_protocol)
            .is_some_and(|m| m.is_cooperative());
        let revoked = Allocation {
            connectors: asg.revoked_connectors.iter().cloned().collect(),
            tasks: asg.revoked_tasks.iter().cloned().collect(),
        };
        let full = if cooperative {
            if !revoked.is_empty() {
                self.listener.on_revoked(&asg.leader, &revoked).await;
            }
            let mut have = to_allocation(self.current.as_ref());
            have.connectors.retain(|c| !revoked.connectors.contains(c));
            have.tasks.retain(|t| !revoked.tasks.contains(t));
            have.connectors.extend(asg.connectors.iter().cloned());
            have.tasks.extend(asg.tasks.iter().cloned());
            ConnectAssignment {
                connectors: have.connectors.into_iter().collect(),
                tasks: have.tasks.into_iter().collect(),
                ..asg
            }
        } else {
            asg
        };
        self.current = Some(full.clone());
        let again = self.listener.on_assigned(&full, generation).await;
        Ok(again || !revoked.is_empty())
    }

    async fn on_close(&mut self, _generation: &Generation) {
        self.revoke_all().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributed::protocol::TaskId;
    use std::sync::{Arc, Mutex};

    #[derive(Debug, Default)]
    struct Log {
        revoked: Vec<Allocation>,
        assigned: Vec<ConnectAssignment>,
    }

    #[derive(Debug, Clone)]
    struct Fake {
        url: String,
        offset: i64,
        snapshot: LeaderSnapshot,
        log: Arc<Mutex<Log>>,
    }

    impl WorkerGroupListener for Fake {
        fn url(&self) -> String {
            self.url.clone()
        }
        fn config_offset(&self) -> i64 {
            self.offset
        }
        async fn leader_snapshot(&mut self) -> LeaderSnapshot {
            self.snapshot.clone()
        }
        async fn on_revoked(&mut self, _leader: &str, revoked: &Allocation) {
            self.log.lock().unwrap().revoked.push(revoked.clone());
        }
        async fn on_assigned(&mut self, a: &ConnectAssignment, _generation: i32) -> bool {
            self.log.lock().unwrap().assigned.push(a.clone());
            a.failed()
        }
    }

    fn worker(
        url: &str,
        offset: i64,
        mode: ConnectProtocolMode,
    ) -> (WorkerGroupProtocol<Fake>, Arc<Mutex<Log>>) {
        let log = Arc::new(Mutex::new(Log::default()));
        let fake = Fake {
            url: url.into(),
            offset,
            snapshot: LeaderSnapshot {
                offset: 10,
                connectors: [("c".to_string(), 3)].into(),
            },
            log: Arc::clone(&log),
        };
        let p = WorkerGroupProtocol::with_clock(
            WorkerGroupSettings {
                group_id: "g".into(),
                mode,
                max_delay_ms: 1000,
            },
            fake,
            Box::new(|| 0),
        );
        (p, log)
    }

    fn join_members(m: &[(&str, &Bytes)]) -> Vec<JoinGroupMember> {
        m.iter()
            .map(|(id, md)| JoinGroupMember {
                member_id: id.to_string(),
                group_instance_id: None,
                metadata: (*md).clone(),
            })
            .collect()
    }

    fn gen(id: i32, member: &str, protocol: &str) -> Generation {
        Generation {
            generation_id: id,
            member_id: member.into(),
            protocol: Some(protocol.into()),
        }
    }

    #[tokio::test]
    async fn a_sessioned_leader_assigns_and_members_apply_it() {
        let (mut a, alog) = worker("http://a/", 10, ConnectProtocolMode::Sessioned);
        let (mut b, blog) = worker("http://b/", 10, ConnectProtocolMode::Sessioned);
        let pa = a.join_protocols(&gen(-1, "ma", "sessioned"));
        let pb = b.join_protocols(&gen(-1, "mb", "sessioned"));
        let names: Vec<_> = pa.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(names, ["sessioned", "compatible", "default"]);
        let members = join_members(&[("ma", &pa[0].1), ("mb", &pb[0].1)]);
        let out = a.assign("sessioned", &members).await.unwrap();
        let for_a = ConnectAssignment::decode(&out["ma"]).unwrap();
        assert_eq!(for_a.version, 2);
        assert_eq!(for_a.leader, "ma");
        assert_eq!(for_a.leader_url, "http://a/");
        assert_eq!(for_a.config_offset, 10);
        for (p, id, leader) in [(&mut a, "ma", true), (&mut b, "mb", false)] {
            let again = p
                .on_join_complete(&JoinedMember {
                    generation: gen(1, id, "sessioned"),
                    leader_id: "ma".into(),
                    is_leader: leader,
                    assignment: out[id].clone(),
                })
                .await
                .unwrap();
            assert!(!again);
        }
        let got: usize = [&alog, &blog]
            .iter()
            .map(|l| {
                let l = l.lock().unwrap();
                l.assigned[0].connectors.len() + l.assigned[0].tasks.len()
            })
            .sum();
        assert_eq!(got, 4);
        // the next JoinGroup reports the current allocation
        let md = WorkerMetadata::decode(&b.join_protocols(&gen(1, "mb", "sessioned"))[0].1).unwrap();
        assert_eq!(
            md.allocation.unwrap().tasks.len(),
            blog.lock().unwrap().assigned[0].tasks.len()
        );
    }

    #[tokio::test]
    async fn a_leader_behind_a_member_answers_config_mismatch() {
        let (mut a, _) = worker("http://a/", 10, ConnectProtocolMode::Compatible);
        let (mut b, blog) = worker("http://b/", 99, ConnectProtocolMode::Compatible);
        let pa = a.join_protocols(&gen(-1, "ma", "compatible"));
        let pb = b.join_protocols(&gen(-1, "mb", "compatible"));
        let members = join_members(&[("ma", &pa[0].1), ("mb", &pb[0].1)]);
        let out = a.assign("compatible", &members).await.unwrap();
        let asg = ConnectAssignment::decode(&out["mb"]).unwrap();
        assert_eq!(asg.error, CONFIG_MISMATCH);
        assert_eq!(asg.config_offset, 99);
        let again = b
            .on_join_complete(&JoinedMember {
                generation: gen(1, "mb", "compatible"),
                leader_id: "ma".into(),
                is_leader: false,
                assignment: out["mb"].clone(),
            })
            .await
            .unwrap();
        assert!(again, "the listener asked to rejoin after a failed assignment");
        assert!(blog.lock().unwrap().assigned[0].failed());
    }

    #[tokio::test]
    async fn cooperative_revocation_stops_the_work_and_rejoins() {
        let (mut b, blog) = worker("http://b/", 10, ConnectProtocolMode::Compatible);
        let first = ConnectAssignment {
            version: 1,
            leader: "ma".into(),
            connectors: vec!["c".into()],
            tasks: vec![TaskId::new("c", 0), TaskId::new("c", 1)],
            ..ConnectAssignment::default()
        };
        let joined = |g: i32, a: &ConnectAssignment| JoinedMember {
            generation: gen(g, "mb", "compatible"),
            leader_id: "ma".into(),
            is_leader: false,
            assignment: a.encode(),
        };
        assert!(!b.on_join_complete(&joined(1, &first)).await.unwrap());
        let revoke = ConnectAssignment {
            version: 1,
            leader: "ma".into(),
            revoked_tasks: vec![TaskId::new("c", 1)],
            ..ConnectAssignment::default()
        };
        assert!(b.on_join_complete(&joined(2, &revoke)).await.unwrap());
        let log = blog.lock().unwrap();
        assert_eq!(log.revoked[0].tasks, [TaskId::new("c", 1)].into());
        assert_eq!(log.assigned[1].tasks, vec![TaskId::new("c", 0)]);
        assert_eq!(log.assigned[1].connectors, vec!["c".to_string()]);
    }

    #[tokio::test]
    async fn eager_revokes_everything_before_rejoining() {
        let (mut b, blog) = worker("http://b/", 10, ConnectProtocolMode::Eager);
        let asg = ConnectAssignment {
            version: 0,
            leader: "ma".into(),
            tasks: vec![TaskId::new("c", 0)],
            ..ConnectAssignment::default()
        };
        let g = gen(1, "mb", "default");
        b.on_join_complete(&JoinedMember {
            generation: g.clone(),
            leader_id: "ma".into(),
            is_leader: false,
            assignment: asg.encode(),
        })
        .await
        .unwrap();
        b.on_join_prepare(&g).await;
        assert_eq!(
            blog.lock().unwrap().revoked[0].tasks,
            [TaskId::new("c", 0)].into()
        );
        let protos = b.join_protocols(&g);
        assert_eq!(protos.len(), 1);
        assert_eq!(protos[0].0, "default");
    }
}
