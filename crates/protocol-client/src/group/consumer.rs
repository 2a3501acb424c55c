//! Consumer group membership: the `consumer` protocol type on the generic engine.
//!
//! ```text
//!  ConsumerGroup::join(cluster, cfg, topics, listener)
//!        │
//!  Membership<ConsumerMember>
//!        ├─ join_protocols: one Subscription per configured assignor (owned partitions,
//!        │                  generation, rack; cooperative-sticky adds its user data)
//!        ├─ assign (leader): decode subscriptions, partition counts from fresh metadata,
//!        │                  run the chosen assignor, encode each member's Assignment
//!        ├─ eager:       on_join_prepare → listener.revoked(all) → JoinGroup ...
//!        │               on_join_complete → listener.assigned(all)
//!        ├─ cooperative: on_join_complete → listener.revoked(owned − new) → assigned(new − owned)
//!        │               → rejoin at once if anything was revoked (KIP-429)
//!        ├─ lost (member removed / fenced): listener.lost(owned)
//!        └─ every change published on a watch: GroupAssignment { generation, partitions }
//! ```
//! The listener is awaited: a caller that must commit what it has flushed before losing
//! partitions does so inside `on_partitions_revoked`, and the engine rejoins only after.
//! The rebalance protocol is the one every configured assignor supports, as Java's
//! `ConsumerCoordinator` picks it: `range,cooperative-sticky` (the default) is eager until
//! `range` is removed.

use super::assignor::{self, Assignor, MemberSubscription, RebalanceProtocol};
use super::consumer_protocol::{Assignment, Subscription, PROTOCOL_TYPE};
use super::membership::{
    Generation, GroupProtocol, JoinGroupMember, JoinedMember, MemberHandle, MemberState, Membership,
};
use super::offsets::{self, CommitAs, OffsetAndMetadata};
use super::{GroupConfig, GroupError, TopicPartition};
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};

/// Called at each step of a rebalance; every method is awaited before the group moves on.
/// The defaults do nothing.
pub trait RebalanceListener: Send + 'static {
    /// `partitions` are about to be given up while this member still owns them: commit what
    /// has been processed for them now (the commit still carries a valid generation).
    fn on_partitions_revoked(
        &mut self,
        committer: &Committer,
        partitions: &BTreeSet<TopicPartition>,
    ) -> impl Future<Output = ()> + Send {
        let _ = (committer, partitions);
        async {}
    }

    /// `partitions` are newly this member's (eager: the whole assignment).
    fn on_partitions_assigned(
        &mut self,
        committer: &Committer,
        partitions: &BTreeSet<TopicPartition>,
    ) -> impl Future<Output = ()> + Send {
        let _ = (committer, partitions);
        async {}
    }

    /// `partitions` were lost: the member was removed from the group or fenced, and another
    /// member may already own them. Committing for them would fail; drop their state.
    fn on_partitions_lost(
        &mut self,
        committer: &Committer,
        partitions: &BTreeSet<TopicPartition>,
    ) -> impl Future<Output = ()> + Send {
        let _ = (committer, partitions);
        async {}
    }
}

/// No callbacks.
impl RebalanceListener for () {}

/// A rebalance step, for [`RebalanceListener`] on a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebalanceEvent {
    /// See [`RebalanceListener::on_partitions_revoked`].
    Revoked(BTreeSet<TopicPartition>),
    /// See [`RebalanceListener::on_partitions_assigned`].
    Assigned(BTreeSet<TopicPartition>),
    /// See [`RebalanceListener::on_partitions_lost`].
    Lost(BTreeSet<TopicPartition>),
}

/// Sends every step down a channel (it doesn't wait for the receiver to act).
impl RebalanceListener for mpsc::UnboundedSender<RebalanceEvent> {
    fn on_partitions_revoked(
        &mut self,
        _: &Committer,
        p: &BTreeSet<TopicPartition>,
    ) -> impl Future<Output = ()> + Send {
        let _ = self.send(RebalanceEvent::Revoked(p.clone()));
        async {}
    }
    fn on_partitions_assigned(
        &mut self,
        _: &Committer,
        p: &BTreeSet<TopicPartition>,
    ) -> impl Future<Output = ()> + Send {
        let _ = self.send(RebalanceEvent::Assigned(p.clone()));
        async {}
    }
    fn on_partitions_lost(
        &mut self,
        _: &Committer,
        p: &BTreeSet<TopicPartition>,
    ) -> impl Future<Output = ()> + Send {
        let _ = self.send(RebalanceEvent::Lost(p.clone()));
        async {}
    }
}

/// Commits offsets as this member, under its current generation. Rebalance callbacks get
/// one; [`ConsumerGroup::committer`] hands out more.
#[derive(Debug, Clone)]
pub struct Committer {
    member: MemberHandle,
}

impl Committer {
    /// The current generation while stable (including inside revoke callbacks).
    pub fn generation(&self) -> Option<Generation> {
        self.member.generation()
    }

    /// Commits `offsets` under the current generation. While the group rebalances, or if the
    /// generation is stale, this fails with [`GroupError::CommitFailed`] and the member
    /// rejoins; FENCED_INSTANCE_ID fails with [`GroupError::Fenced`].
    pub async fn commit(&self, offsets: &BTreeMap<TopicPartition, OffsetAndMetadata>) -> Result<()> {
        let Some(g) = self.member.generation() else {
            return Err(GroupError::CommitFailed {
                group: self.member.group_id().to_string(),
                generation: -1,
                error: super::response_error(super::codes::REBALANCE_IN_PROGRESS),
            }
            .into());
        };
        let who = CommitAs::member(&g, self.member.config().group_instance_id.clone());
        self.commit_as(&who, offsets).await
    }

    /// Commits `offsets` as `who` (a generation captured earlier; a stale one is refused).
    pub async fn commit_as(
        &self,
        who: &CommitAs,
        offsets: &BTreeMap<TopicPartition, OffsetAndMetadata>,
    ) -> Result<()> {
        let timeout = self.member.config().api_timeout;
        let r = offsets::commit(self.member.coordinator(), who, offsets, timeout).await;
        if let Err(Error::Group(GroupError::CommitFailed { error, .. })) = &r {
            self.member
                .commit_failed(who.generation_id, &who.member_id, error.code());
        }
        r
    }

    /// The committed offsets of `partitions` in this group.
    pub async fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, Option<OffsetAndMetadata>>> {
        let timeout = self.member.config().api_timeout;
        offsets::fetch_committed_with(self.member.coordinator(), partitions, timeout).await
    }
}

/// What this member owns now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupAssignment {
    /// The generation this view is from (-1: never joined, or the generation was lost).
    pub generation_id: i32,
    /// This member's id in that generation.
    pub member_id: String,
    /// The owned partitions.
    pub partitions: BTreeSet<TopicPartition>,
}

struct ConsumerMember<L> {
    group: String,
    cluster: Arc<Cluster>,
    topics: Vec<String>,
    assignors: Vec<Arc<dyn Assignor>>,
    protocol: RebalanceProtocol,
    rack: Option<String>,
    owned: BTreeSet<TopicPartition>,
    listener: L,
    committer: Committer,
    publish: watch::Sender<GroupAssignment>,
    /// Leader only: the partition counts its last assignment was computed from.
    assigned_counts: Arc<Mutex<Option<BTreeMap<String, i32>>>>,
}

impl<L> ConsumerMember<L> {
    fn publish(&self, generation: &Generation) {
        let a = GroupAssignment {
            generation_id: generation.generation_id,
            member_id: generation.member_id.clone(),
            partitions: self.owned.clone(),
        };
        self.publish.send_replace(a);
    }

    fn protocol_error(&self, what: String, detail: String) -> Error {
        GroupError::Protocol {
            group: self.group.clone(),
            what,
            detail,
        }
        .into()
    }
}

impl<L: RebalanceListener> GroupProtocol for ConsumerMember<L> {
    fn protocol_type(&self) -> &str {
        PROTOCOL_TYPE
    }

    fn join_protocols(&mut self, generation: &Generation) -> Vec<(String, Bytes)> {
        let owned: Vec<TopicPartition> = self.owned.iter().cloned().collect();
        self.assignors
            .iter()
            .map(|a| {
                let s = Subscription {
                    topics: self.topics.clone(),
                    user_data: a.user_data(&owned, generation.generation_id),
                    owned_partitions: owned.clone(),
                    generation_id: generation.generation_id,
                    rack_id: self.rack.clone(),
                };
                (a.name().to_string(), s.encode())
            })
            .collect()
    }

    async fn assign(
        &mut self,
        protocol: &str,
        members: &[JoinGroupMember],
    ) -> Result<HashMap<String, Bytes>> {
        let assignor = self
            .assignors
            .iter()
            .find(|a| a.name() == protocol)
            .cloned()
            .ok_or_else(|| {
                Error::from(GroupError::Assignment {
                    group: self.group.clone(),
                    detail: format!("the coordinator chose {protocol:?}, which this member did not offer"),
                })
            })?;
        let mut subs = Vec::with_capacity(members.len());
        for m in members {
            let subscription = Subscription::decode(&m.metadata).map_err(|e| {
                self.protocol_error(format!("subscription of member {}", m.member_id), e.to_string())
            })?;
            subs.push(MemberSubscription {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                subscription,
            });
        }
        // Partition counts of every topic any member subscribes to, from fresh metadata.
        let topics: BTreeSet<String> = subs
            .iter()
            .flat_map(|m| m.subscription.topics.iter().cloned())
            .collect();
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        self.cluster.refresh(&names).await?;
        let md = self.cluster.metadata();
        let counts: BTreeMap<String, i32> = topics
            .iter()
            .filter_map(|t| {
                md.topics
                    .get(t)
                    .filter(|i| i.missing_since.is_none() && !i.partitions.is_empty())
                    .map(|i| (t.clone(), i.partitions.len() as i32))
            })
            .collect();
        let result = assignor.assign(&counts, &subs);
        // Every subscribed topic, 0 for one that doesn't exist (yet), for the count watcher.
        let snapshot = topics
            .iter()
            .map(|t| (t.clone(), counts.get(t).copied().unwrap_or(0)))
            .collect();
        *self.assigned_counts.lock().unwrap_or_else(|e| e.into_inner()) = Some(snapshot);
        tracing::info!(group = %self.group, assignor = protocol, members = subs.len(),
            partitions = counts.values().sum::<i32>(), "leader computed assignment");
        Ok(result
            .into_iter()
            .map(|(member, partitions)| {
                (
                    member,
                    Assignment {
                        partitions,
                        user_data: None,
                    }
                    .encode(),
                )
            })
            .collect())
    }

    async fn on_join_prepare(&mut self, generation: &Generation) {
        // Eager (KIP-429's "eager" baseline): give everything up before rejoining, so no two
        // members ever own a partition at once. Cooperative members keep theirs.
        if self.protocol == RebalanceProtocol::Eager && !self.owned.is_empty() {
            let all = std::mem::take(&mut self.owned);
            self.listener.on_partitions_revoked(&self.committer, &all).await;
            self.publish(generation);
        }
    }

    async fn on_lost(&mut self, generation: &Generation) {
        if !self.owned.is_empty() {
            let all = std::mem::take(&mut self.owned);
            self.listener.on_partitions_lost(&self.committer, &all).await;
            self.publish(generation);
        }
    }

    async fn on_join_complete(&mut self, joined: &JoinedMember) -> Result<bool> {
        let a = Assignment::decode(&joined.assignment)
            .map_err(|e| self.protocol_error("assignment".into(), e.to_string()))?;
        let assigned: BTreeSet<TopicPartition> = a.partitions.into_iter().collect();
        let revoked: BTreeSet<TopicPartition> = self.owned.difference(&assigned).cloned().collect();
        let added: BTreeSet<TopicPartition> = assigned.difference(&self.owned).cloned().collect();
        if !revoked.is_empty() {
            // Only cooperative members own anything here; they give up the moved subset.
            self.owned.retain(|tp| !revoked.contains(tp));
            self.listener
                .on_partitions_revoked(&self.committer, &revoked)
                .await;
        }
        self.owned.extend(added.iter().cloned());
        self.publish(&joined.generation);
        self.listener
            .on_partitions_assigned(&self.committer, &added)
            .await;
        Ok(self.protocol == RebalanceProtocol::Cooperative && !revoked.is_empty())
    }

    async fn on_close(&mut self, generation: &Generation) {
        if !self.owned.is_empty() {
            let all = std::mem::take(&mut self.owned);
            self.listener.on_partitions_revoked(&self.committer, &all).await;
            self.publish(generation);
        }
    }
}

/// A consumer group member subscribed to a fixed list of topics.
#[derive(Debug)]
pub struct ConsumerGroup {
    membership: Membership,
    committer: Committer,
    assignment: watch::Receiver<GroupAssignment>,
    _watcher: AbortOnDrop,
}

/// A background task that ends with its owner.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The leader's side of Java's `ConsumerCoordinator.rejoinNeededOrPending`: every
/// `metadata.max.age.ms` it compares the partition counts of the topics it assigned with fresh
/// metadata, and asks for a rebalance when they differ (partitions added to a subscribed topic,
/// or a topic created or deleted), so new partitions get a consumer.
async fn watch_partition_counts(
    cluster: Arc<Cluster>,
    member: MemberHandle,
    assigned: Arc<Mutex<Option<BTreeMap<String, i32>>>>,
) {
    let every = cluster
        .config()
        .metadata_max_age
        .max(std::time::Duration::from_millis(100));
    loop {
        tokio::time::sleep(every).await;
        let Some(before) = assigned.lock().unwrap_or_else(|e| e.into_inner()).clone() else {
            continue;
        };
        let names: Vec<&str> = before.keys().map(String::as_str).collect();
        if let Err(e) = cluster.refresh(&names).await {
            tracing::debug!(error = %e, "partition count check: metadata refresh failed");
            continue;
        }
        let md = cluster.metadata();
        let now: BTreeMap<String, i32> = before
            .keys()
            .map(|t| {
                let n = md
                    .topics
                    .get(t)
                    .filter(|i| i.missing_since.is_none())
                    .map_or(0, |i| i.partitions.len() as i32);
                (t.clone(), n)
            })
            .collect();
        if now != before {
            tracing::info!(group = %member.group_id(), ?before, ?now, "subscribed partitions changed; rebalancing");
            *assigned.lock().unwrap_or_else(|e| e.into_inner()) = None;
            member.request_rejoin("the partition counts of subscribed topics changed");
        }
    }
}

impl ConsumerGroup {
    /// Joins `cfg.group_id` subscribed to `topics`, with `listener` called at each rebalance
    /// step. Returns at once; the join happens in the background (watch [`Self::assignment`]).
    pub fn join<L: RebalanceListener>(
        cluster: Arc<Cluster>,
        cfg: GroupConfig,
        topics: &[&str],
        listener: L,
    ) -> Result<Self> {
        let assignors: Vec<Arc<dyn Assignor>> = cfg
            .assignors
            .iter()
            .map(|n| {
                assignor::by_name(n).ok_or_else(|| {
                    Error::from(crate::config::ConfigError::new(
                        "partition.assignment.strategy",
                        n.as_str(),
                        "unknown assignor",
                    ))
                })
            })
            .collect::<Result<_>>()?;
        // Java's ConsumerCoordinator: the protocol all configured assignors support.
        let protocol = assignors
            .iter()
            .map(|a| a.rebalance_protocol())
            .min()
            .unwrap_or(RebalanceProtocol::Eager);
        let (publish, assignment) = watch::channel(GroupAssignment {
            generation_id: -1,
            ..Default::default()
        });
        let group = cfg.group_id.clone();
        let rack = cfg.rack.clone();
        let topics: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
        let c2 = Arc::clone(&cluster);
        let assigned_counts = Arc::new(Mutex::new(None));
        let counts2 = Arc::clone(&assigned_counts);
        let membership = Membership::start_with(Arc::clone(&cluster), cfg, move |member| ConsumerMember {
            group,
            cluster: c2,
            topics,
            assignors,
            protocol,
            rack,
            owned: BTreeSet::new(),
            listener,
            committer: Committer { member },
            publish,
            assigned_counts: counts2,
        });
        let committer = Committer {
            member: membership.handle().clone(),
        };
        let watcher = tokio::spawn(watch_partition_counts(
            cluster,
            membership.handle().clone(),
            assigned_counts,
        ));
        Ok(Self {
            membership,
            committer,
            assignment,
            _watcher: AbortOnDrop(watcher),
        })
    }

    /// The partitions this member owns, updated at every rebalance step.
    pub fn assignment(&self) -> watch::Receiver<GroupAssignment> {
        self.assignment.clone()
    }

    /// The membership engine's state (stable generation, completed joins, failure).
    pub fn state(&self) -> watch::Receiver<MemberState> {
        self.membership.state()
    }

    /// The current generation while stable.
    pub fn generation(&self) -> Option<Generation> {
        self.membership.generation()
    }

    /// A handle that commits as this member.
    pub fn committer(&self) -> Committer {
        self.committer.clone()
    }

    /// Commits `offsets` under the current generation (see [`Committer::commit`]).
    pub async fn commit(&self, offsets: &BTreeMap<TopicPartition, OffsetAndMetadata>) -> Result<()> {
        self.committer.commit(offsets).await
    }

    /// Commits `offsets` as `who` (see [`Committer::commit_as`]).
    pub async fn commit_as(
        &self,
        who: &CommitAs,
        offsets: &BTreeMap<TopicPartition, OffsetAndMetadata>,
    ) -> Result<()> {
        self.committer.commit_as(who, offsets).await
    }

    /// The committed offsets of `partitions` in this group.
    pub async fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, Option<OffsetAndMetadata>>> {
        self.committer.committed(partitions).await
    }

    /// Asks for a rebalance.
    pub fn request_rejoin(&self, reason: &str) {
        self.membership.request_rejoin(reason);
    }

    /// Revokes everything (listener called), leaves the group (unless static) and stops.
    pub async fn close(self) -> Result<()> {
        let Self {
            membership, _watcher, ..
        } = self;
        drop(_watcher);
        membership.close().await
    }
}
