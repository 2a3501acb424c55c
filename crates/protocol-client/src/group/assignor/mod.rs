//! Partition assignors of the `consumer` protocol, under Kafka's names and with its algorithms.
//! Pure functions of the members' subscriptions and the topics' partition counts: the group
//! leader runs one, the coordinator hands each member its share.
//!
//! ```text
//!  members' Subscription (topics, owned partitions, generation) ─┐
//!  partitions per subscribed topic (leader's metadata) ──────────┴─▶ assign ─▶ member → partitions
//! ```
//!
//! | name                 | Java class                  | protocol     |
//! |----------------------|-----------------------------|--------------|
//! | `range`              | `RangeAssignor`             | eager        |
//! | `roundrobin`         | `RoundRobinAssignor`        | eager        |
//! | `cooperative-sticky` | `CooperativeStickyAssignor` | cooperative (KIP-429) |
//!
//! Members are ordered as Java's `AbstractPartitionAssignor.MemberInfo` orders them: static
//! members (by `group.instance.id`) before dynamic ones (by member id), so a static member
//! restarted under a new member id gets the same partitions (KIP-345). Rack-aware assignment
//! (KIP-881) is not implemented: `client.rack` is sent but not used for placement.

mod cooperative_sticky;
mod range;
mod roundrobin;

pub use cooperative_sticky::CooperativeStickyAssignor;
pub use range::RangeAssignor;
pub use roundrobin::RoundRobinAssignor;

use super::consumer_protocol::Subscription;
use super::TopicPartition;
use bytes::Bytes;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How a rebalance hands partitions over (KIP-429).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RebalanceProtocol {
    /// Every member revokes everything before rejoining; the new assignment is complete.
    Eager,
    /// Members keep their partitions through the rebalance; a partition moving between members
    /// is first revoked by its owner and assigned in a follow-up rebalance.
    Cooperative,
}

/// One member as the leader sees it in JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSubscription {
    /// The member id the coordinator gave it.
    pub member_id: String,
    /// Its `group.instance.id`, if static.
    pub group_instance_id: Option<String>,
    /// What it sent.
    pub subscription: Subscription,
}

impl MemberSubscription {
    /// Java's `MemberInfo` order: static members by instance id first, then dynamic members
    /// by member id.
    pub fn java_order(&self, other: &Self) -> Ordering {
        match (&self.group_instance_id, &other.group_instance_id) {
            (Some(a), Some(b)) => a.cmp(b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => self.member_id.cmp(&other.member_id),
        }
    }
}

/// A member → partitions assignment (every member present, possibly with nothing).
pub type AssignmentMap = BTreeMap<String, Vec<TopicPartition>>;

/// A partition assignor.
pub trait Assignor: Send + Sync + std::fmt::Debug {
    /// The protocol name members advertise in JoinGroup (`range`, ...).
    fn name(&self) -> &'static str;

    /// The rebalance protocol this assignor supports.
    fn rebalance_protocol(&self) -> RebalanceProtocol {
        RebalanceProtocol::Eager
    }

    /// Assignor bytes for this member's subscription.
    fn user_data(&self, _owned: &[TopicPartition], _generation: i32) -> Option<Bytes> {
        None
    }

    /// Assigns the partitions of the subscribed topics (`partitions_per_topic`: topic →
    /// partition count; a subscribed topic missing from it gets nothing) to `members`.
    fn assign(
        &self,
        partitions_per_topic: &BTreeMap<String, i32>,
        members: &[MemberSubscription],
    ) -> AssignmentMap;
}

/// The assignor called `name`.
pub fn by_name(name: &str) -> Option<Arc<dyn Assignor>> {
    match name {
        "range" => Some(Arc::new(RangeAssignor)),
        "roundrobin" => Some(Arc::new(RoundRobinAssignor)),
        "cooperative-sticky" => Some(Arc::new(CooperativeStickyAssignor)),
        _ => None,
    }
}

/// `members` in Java's `MemberInfo` order.
fn sorted_members(members: &[MemberSubscription]) -> Vec<&MemberSubscription> {
    let mut v: Vec<&MemberSubscription> = members.iter().collect();
    v.sort_by(|a, b| a.java_order(b));
    v
}

/// An empty assignment for every member.
fn empty_assignment(members: &[MemberSubscription]) -> AssignmentMap {
    members
        .iter()
        .map(|m| (m.member_id.clone(), Vec::new()))
        .collect()
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use std::collections::BTreeSet;

    /// A dynamic member subscribed to `topics`, owning `owned` at `generation`.
    pub fn member(id: &str, topics: &[&str], owned: &[(&str, i32)], generation: i32) -> MemberSubscription {
        MemberSubscription {
            member_id: id.to_string(),
            group_instance_id: None,
            subscription: Subscription {
                topics: topics.iter().map(|t| t.to_string()).collect(),
                owned_partitions: owned.iter().map(|(t, p)| TopicPartition::new(*t, *p)).collect(),
                generation_id: generation,
                ..Default::default()
            },
        }
    }

    pub fn tps(list: &[(&str, i32)]) -> Vec<TopicPartition> {
        list.iter().map(|(t, p)| TopicPartition::new(*t, *p)).collect()
    }

    /// No partition twice; only subscribed topics; every member present.
    pub fn check_valid(
        counts: &BTreeMap<String, i32>,
        members: &[MemberSubscription],
        out: &AssignmentMap,
    ) -> BTreeSet<TopicPartition> {
        assert_eq!(
            out.len(),
            members.len(),
            "every member is in the assignment: {out:?}"
        );
        let mut seen = BTreeSet::new();
        for m in members {
            for tp in &out[&m.member_id] {
                assert!(seen.insert(tp.clone()), "{tp} assigned twice: {out:?}");
                assert!(
                    m.subscription.topics.contains(&tp.topic),
                    "{tp} to a non-subscriber"
                );
                assert!(
                    tp.partition >= 0 && tp.partition < counts[&tp.topic],
                    "{tp} out of range"
                );
            }
        }
        seen
    }

    /// Every partition of the topics somebody subscribes to, assigned.
    pub fn all_partitions(
        counts: &BTreeMap<String, i32>,
        members: &[MemberSubscription],
    ) -> BTreeSet<TopicPartition> {
        let subscribed: BTreeSet<&String> = members.iter().flat_map(|m| &m.subscription.topics).collect();
        counts
            .iter()
            .filter(|(t, _)| subscribed.contains(t))
            .flat_map(|(t, &n)| (0..n).map(move |p| TopicPartition::new(t.clone(), p)))
            .collect()
    }

    pub fn counts(list: &[(&str, i32)]) -> BTreeMap<String, i32> {
        list.iter().map(|(t, n)| (t.to_string(), *n)).collect()
    }
}
