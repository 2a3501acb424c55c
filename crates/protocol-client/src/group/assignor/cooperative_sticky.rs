//! `cooperative-sticky` (Java's `CooperativeStickyAssignor`, KIP-429 over KIP-54's sticky
//! algorithm): as balanced as possible, moving as few partitions as possible, and never
//! handing a partition straight from one member to another.
//!
//! ```text
//!  owned partitions (validated: highest generation wins a doubly claimed partition; two
//!  claims in the same generation void both)
//!        │
//!  all members subscribe to the same topics? ─yes─▶ constrained: keep owned up to the quota
//!        │ no                                      (min = P / N, max = ceil; only P % N
//!        ▼                                          members may hold max), deal the rest
//!  general: keep owned, give each free partition      round-robin to members under quota
//!  to its least-loaded subscriber, then move
//!  partitions from the fullest to the emptiest eligible member until no move helps
//!        │
//!  cooperative adjustment: a partition now assigned to a member other than its current owner
//!  is withheld this round; the owner revokes it, rejoins, and it is assigned next round
//! ```
//! The constrained path follows Java's `ConstrainedAssignmentBuilder` step for step (members
//! taken in member order where Java iterates a hash map), so a group of kaflow and Java
//! members converges on the same assignment whoever leads. The general path is our own
//! balancing search, not Java's `GeneralAssignmentBuilder`: same guarantees (valid, balanced
//! as subscriptions allow, owned partitions kept where balance permits), possibly different
//! choices.

use super::{sorted_members, AssignmentMap, Assignor, MemberSubscription, RebalanceProtocol};
use crate::group::TopicPartition;
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

/// Kafka's `cooperative-sticky` assignor.
#[derive(Debug, Clone, Copy, Default)]
pub struct CooperativeStickyAssignor;

/// Java's `AbstractStickyAssignor.DEFAULT_GENERATION`.
const DEFAULT_GENERATION: i32 = -1;

/// The generation a member's owned partitions are from: the subscription's (v2+), else the
/// four bytes the cooperative-sticky assignor puts in its user data for older readers.
fn member_generation(m: &MemberSubscription) -> i32 {
    let s = &m.subscription;
    if s.generation_id >= 0 {
        return s.generation_id;
    }
    match &s.user_data {
        Some(b) if b.len() >= 4 => i32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        _ => DEFAULT_GENERATION,
    }
}

impl Assignor for CooperativeStickyAssignor {
    fn name(&self) -> &'static str {
        "cooperative-sticky"
    }

    fn rebalance_protocol(&self) -> RebalanceProtocol {
        RebalanceProtocol::Cooperative
    }

    /// The generation as four big-endian bytes, as Java's `CooperativeStickyAssignor` writes it
    /// for members that read subscriptions older than v2.
    fn user_data(&self, _owned: &[TopicPartition], generation: i32) -> Option<Bytes> {
        Some(Bytes::copy_from_slice(&generation.to_be_bytes()))
    }

    fn assign(
        &self,
        partitions_per_topic: &BTreeMap<String, i32>,
        members: &[MemberSubscription],
    ) -> AssignmentMap {
        if members.is_empty() {
            return AssignmentMap::new();
        }
        let ordered = sorted_members(members);
        let (owned, doubly_claimed) = validated_owned(partitions_per_topic, &ordered);
        let first: BTreeSet<&String> = ordered[0].subscription.topics.iter().collect();
        let all_equal = ordered
            .iter()
            .all(|m| m.subscription.topics.iter().collect::<BTreeSet<_>>() == first);
        let mut assignment = if all_equal {
            constrained(partitions_per_topic, &ordered, &owned, &doubly_claimed)
        } else {
            general(partitions_per_topic, &ordered, &owned)
        };
        // KIP-429: withhold every partition that changes hands; its owner gives it up first.
        let transferring = transferring_ownership(members, &assignment, &doubly_claimed);
        for (tp, to) in &transferring {
            if let Some(list) = assignment.get_mut(to) {
                list.retain(|p| p != tp);
            }
        }
        assignment
    }
}

/// Each member's owned partitions that still count: of existing topics, with generation
/// conflicts resolved as Java's `allSubscriptionsEqual` does. Also returns the partitions two
/// members claimed in the same generation (voided for both).
fn validated_owned(
    counts: &BTreeMap<String, i32>,
    ordered: &[&MemberSubscription],
) -> (HashMap<String, Vec<TopicPartition>>, HashSet<TopicPartition>) {
    let mut owned: HashMap<String, Vec<TopicPartition>> = HashMap::new();
    let mut owner_of: HashMap<TopicPartition, (String, i32)> = HashMap::new();
    let mut doubly = HashSet::new();
    for m in ordered {
        let gen = member_generation(m);
        owned.entry(m.member_id.clone()).or_default();
        for tp in &m.subscription.owned_partitions {
            let exists = counts
                .get(&tp.topic)
                .is_some_and(|&n| tp.partition >= 0 && tp.partition < n);
            if !exists || !m.subscription.topics.contains(&tp.topic) {
                continue;
            }
            match owner_of.get(tp).cloned() {
                None => {
                    owned.get_mut(&m.member_id).expect("entry").push(tp.clone());
                    owner_of.insert(tp.clone(), (m.member_id.clone(), gen));
                }
                Some((other, other_gen)) => {
                    if gen == other_gen {
                        tracing::error!(partition = %tp, a = %m.member_id, b = %other, generation = gen,
                            "two members claim the same partition in the same generation; voiding both claims");
                        doubly.insert(tp.clone());
                        if let Some(v) = owned.get_mut(&other) {
                            v.retain(|p| p != tp);
                        }
                        owner_of.insert(tp.clone(), (m.member_id.clone(), gen));
                    } else if gen > other_gen {
                        if let Some(v) = owned.get_mut(&other) {
                            v.retain(|p| p != tp);
                        }
                        owned.get_mut(&m.member_id).expect("entry").push(tp.clone());
                        owner_of.insert(tp.clone(), (m.member_id.clone(), gen));
                    }
                }
            }
        }
    }
    for tp in &doubly {
        for v in owned.values_mut() {
            v.retain(|p| p != tp);
        }
    }
    (owned, doubly)
}

/// Java's `ConstrainedAssignmentBuilder` (no racks).
fn constrained(
    counts: &BTreeMap<String, i32>,
    ordered: &[&MemberSubscription],
    owned: &HashMap<String, Vec<TopicPartition>>,
    _doubly: &HashSet<TopicPartition>,
) -> AssignmentMap {
    let members: Vec<&MemberSubscription> = ordered.to_vec();
    let subscribed: BTreeSet<&String> = members[0].subscription.topics.iter().collect();
    let all: Vec<TopicPartition> = counts
        .iter()
        .filter(|(t, _)| subscribed.contains(t))
        .flat_map(|(t, &n)| (0..n.max(0)).map(move |p| TopicPartition::new(t.clone(), p)))
        .collect();
    let n = members.len();
    let total = all.len();
    let min_quota = total / n;
    let max_quota = total.div_ceil(n);
    let expected_over = total % n;
    let mut current_over = 0usize;
    let mut assignment: AssignmentMap = members
        .iter()
        .map(|m| (m.member_id.clone(), Vec::new()))
        .collect();
    let mut assigned: HashSet<TopicPartition> = HashSet::new();
    let mut under: Vec<String> = Vec::new();
    let mut exact_min: Vec<String> = Vec::new();

    for m in &members {
        let mut mine = owned.get(&m.member_id).cloned().unwrap_or_default();
        // Java sorts owned partitions by partition, then topic, before keeping a prefix.
        mine.sort_by(|a, b| a.partition.cmp(&b.partition).then_with(|| a.topic.cmp(&b.topic)));
        let keep = if mine.len() < min_quota {
            under.push(m.member_id.clone());
            mine.len()
        } else if mine.len() >= max_quota && current_over < expected_over {
            current_over += 1;
            if current_over == expected_over {
                exact_min.clear();
            }
            max_quota
        } else {
            if current_over < expected_over {
                exact_min.push(m.member_id.clone());
            }
            min_quota
        };
        let list = assignment.get_mut(&m.member_id).expect("entry");
        for tp in mine.into_iter().take(keep) {
            assigned.insert(tp.clone());
            list.push(tp);
        }
    }
    under.sort();
    exact_min.sort();
    let mut exact_min: VecDeque<String> = exact_min.into();
    let unassigned: Vec<TopicPartition> = all.into_iter().filter(|tp| !assigned.contains(tp)).collect();

    let mut i = 0usize;
    for tp in unassigned {
        let consumer = if i < under.len() {
            under[i].clone()
        } else if under.is_empty() {
            match exact_min.pop_front() {
                Some(c) => c,
                None => {
                    // Java throws here; it cannot happen with the quotas above. Give the
                    // partition to the least-loaded member rather than drop it.
                    tracing::error!(partition = %tp, "constrained assignment ran out of members; balancing instead");
                    let c = assignment
                        .iter()
                        .min_by_key(|(_, v)| v.len())
                        .map(|(k, _)| k.clone())
                        .expect("members");
                    assignment.get_mut(&c).expect("entry").push(tp);
                    continue;
                }
            }
        } else {
            i = 0;
            under[0].clone()
        };
        let list = assignment.get_mut(&consumer).expect("entry");
        list.push(tp);
        let count = list.len();
        let from_under = i < under.len() && under[i] == consumer;
        if count == min_quota && from_under {
            under.remove(i);
            exact_min.push_back(consumer);
        } else if from_under {
            i += 1;
        }
    }
    assignment
}

/// Different subscriptions: keep owned partitions, place free partitions on their least
/// loaded subscriber, then move partitions from fuller to emptier eligible members while a
/// move narrows the gap by at least two.
fn general(
    counts: &BTreeMap<String, i32>,
    ordered: &[&MemberSubscription],
    owned: &HashMap<String, Vec<TopicPartition>>,
) -> AssignmentMap {
    let rank: HashMap<&str, usize> = ordered
        .iter()
        .enumerate()
        .map(|(i, m)| (m.member_id.as_str(), i))
        .collect();
    let subscribers = |topic: &str| -> Vec<&str> {
        ordered
            .iter()
            .filter(|m| m.subscription.topics.iter().any(|t| t == topic))
            .map(|m| m.member_id.as_str())
            .collect()
    };
    let mut assignment: AssignmentMap = ordered
        .iter()
        .map(|m| {
            (
                m.member_id.clone(),
                owned.get(&m.member_id).cloned().unwrap_or_default(),
            )
        })
        .collect();
    let taken: HashSet<TopicPartition> = assignment.values().flatten().cloned().collect();
    let mut free: Vec<(usize, TopicPartition)> = counts
        .iter()
        .flat_map(|(t, &n)| (0..n.max(0)).map(move |p| TopicPartition::new(t.clone(), p)))
        .filter(|tp| !taken.contains(tp))
        .map(|tp| (subscribers(&tp.topic).len(), tp))
        .filter(|(k, _)| *k > 0)
        .collect();
    // Partitions with the fewest candidates first, as Java sorts them.
    free.sort();
    for (_, tp) in free {
        let best = subscribers(&tp.topic)
            .into_iter()
            .min_by_key(|m| (assignment[*m].len(), rank[m]))
            .expect("filtered to topics with subscribers")
            .to_string();
        assignment.get_mut(&best).expect("entry").push(tp);
    }
    // Balance: each move lowers the sum of squared loads, so this ends.
    loop {
        let mut best: Option<(usize, String, String, TopicPartition)> = None;
        for (from, parts) in &assignment {
            for tp in parts {
                for to in subscribers(&tp.topic) {
                    let gap = parts.len() as i64 - assignment[to].len() as i64;
                    if to != from && gap >= 2 && best.as_ref().is_none_or(|b| gap as usize > b.0) {
                        best = Some((gap as usize, from.clone(), to.to_string(), tp.clone()));
                    }
                }
            }
        }
        let Some((_, from, to, tp)) = best else { break };
        assignment.get_mut(&from).expect("entry").retain(|p| p != &tp);
        assignment.get_mut(&to).expect("entry").push(tp);
    }
    for v in assignment.values_mut() {
        v.sort();
    }
    assignment
}

/// Partitions assigned to a member that doesn't own them while another member does
/// (Java's `computePartitionsTransferringOwnership`), plus partitions whose ownership was
/// voided by a double claim: partition → its new member.
fn transferring_ownership(
    members: &[MemberSubscription],
    assignment: &AssignmentMap,
    doubly: &HashSet<TopicPartition>,
) -> BTreeMap<TopicPartition, String> {
    let mut added: BTreeMap<TopicPartition, String> = BTreeMap::new();
    let mut revoked: HashSet<TopicPartition> = doubly.clone();
    let empty = Vec::new();
    for m in members {
        let owned: HashSet<&TopicPartition> = m.subscription.owned_partitions.iter().collect();
        let got = assignment.get(&m.member_id).unwrap_or(&empty);
        let got_set: HashSet<&TopicPartition> = got.iter().collect();
        for tp in got {
            // A doubly claimed partition is moving whoever gets it: both claimants may still
            // be processing it, so neither gets it until both revoked.
            if !owned.contains(tp) || doubly.contains(tp) {
                added.insert(tp.clone(), m.member_id.clone());
            }
        }
        for tp in owned {
            if !got_set.contains(tp) {
                revoked.insert(tp.clone());
            }
        }
    }
    added.retain(|tp, _| revoked.contains(tp));
    added
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    fn assign(c: &BTreeMap<String, i32>, m: &[MemberSubscription]) -> AssignmentMap {
        let out = CooperativeStickyAssignor.assign(c, m);
        check_valid(c, m, &out);
        out
    }

    /// A fresh group of two on six partitions: Java's sticky assignors deal round-robin.
    #[test]
    fn fresh_assignment_matches_java() {
        let c = counts(&[("t", 6)]);
        let m = [member("a", &["t"], &[], -1), member("b", &["t"], &[], -1)];
        let out = assign(&c, &m);
        assert_eq!(out["a"], tps(&[("t", 0), ("t", 2), ("t", 4)]));
        assert_eq!(out["b"], tps(&[("t", 1), ("t", 3), ("t", 5)]));
    }

    /// KIP-429: a second member joins a member owning everything. Round one withholds the
    /// moving partitions (the owner keeps the rest and revokes these); round two assigns them.
    #[test]
    fn a_joining_member_gets_partitions_only_after_the_owner_revoked_them() {
        let c = counts(&[("t", 6)]);
        let all: Vec<(&str, i32)> = (0..6).map(|p| ("t", p)).collect();
        let m = [member("a", &["t"], &all, 3), member("b", &["t"], &[], -1)];
        let round1 = assign(&c, &m);
        assert_eq!(round1["a"], tps(&[("t", 0), ("t", 1), ("t", 2)]));
        assert!(
            round1["b"].is_empty(),
            "moving partitions are withheld: {round1:?}"
        );

        let m = [
            member("a", &["t"], &[("t", 0), ("t", 1), ("t", 2)], 4),
            member("b", &["t"], &[], -1),
        ];
        let round2 = assign(&c, &m);
        assert_eq!(round2["a"], tps(&[("t", 0), ("t", 1), ("t", 2)]));
        assert_eq!(round2["b"], tps(&[("t", 3), ("t", 4), ("t", 5)]));
    }

    /// A member leaves: the survivors keep theirs and take its partitions at once (nobody
    /// owns them, so nothing is withheld).
    #[test]
    fn a_leaving_members_partitions_go_straight_to_the_others() {
        let c = counts(&[("t", 6)]);
        let m = [
            member("a", &["t"], &[("t", 0), ("t", 3)], 5),
            member("b", &["t"], &[("t", 1), ("t", 4)], 5),
        ];
        let out = assign(&c, &m);
        assert_eq!(out["a"], tps(&[("t", 0), ("t", 3), ("t", 2)]));
        assert_eq!(out["b"], tps(&[("t", 1), ("t", 4), ("t", 5)]));
    }

    #[test]
    fn the_higher_generation_wins_a_doubly_claimed_partition_and_equal_claims_void() {
        let c = counts(&[("t", 2)]);
        let m = [
            member("a", &["t"], &[("t", 0), ("t", 1)], 2),
            member("b", &["t"], &[("t", 0)], 3),
        ];
        let out = assign(&c, &m);
        assert_eq!(out["b"], tps(&[("t", 0)]));
        assert_eq!(out["a"], tps(&[("t", 1)]));

        let m = [
            member("a", &["t"], &[("t", 0)], 3),
            member("b", &["t"], &[("t", 0)], 3),
        ];
        let out = assign(&c, &m);
        // Voided for both, so it is "transferring" and withheld this round.
        assert!(
            out.values().all(|v| !v.contains(&TopicPartition::new("t", 0))),
            "{out:?}"
        );
    }

    #[test]
    fn generation_from_user_data_for_v1_subscriptions() {
        let mut a = member("a", &["t"], &[("t", 0)], -1);
        a.subscription.user_data = CooperativeStickyAssignor.user_data(&[], 9);
        assert_eq!(member_generation(&a), 9);
    }

    /// Balance and stability over many random groups: no partition twice, every partition
    /// assigned after the follow-up round, loads within one, and a member that keeps its
    /// quota keeps its partitions.
    #[test]
    fn random_groups_are_valid_balanced_and_sticky() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..300 {
            let topics = rng.random_range(1..4);
            let c: BTreeMap<String, i32> = (0..topics)
                .map(|t| (format!("t{t}"), rng.random_range(1..9)))
                .collect();
            let names: Vec<&str> = c.keys().map(String::as_str).collect();
            let n = rng.random_range(1..6);
            let mut members: Vec<MemberSubscription> = (0..n)
                .map(|i| member(&format!("m{i}"), &names, &[], -1))
                .collect();
            // Round 1 from scratch, then record ownership and churn one member.
            let out = assign(&c, &members);
            for m in &mut members {
                m.subscription.owned_partitions = out[&m.member_id].clone();
                m.subscription.generation_id = 1;
            }
            if rng.random_bool(0.5) && members.len() > 1 {
                members.pop();
            } else {
                members.push(member("new", &names, &[], -1));
            }
            let r1 = assign(&c, &members);
            // Cooperative: a member never gets a partition another member still owns.
            for m in &members {
                for tp in &r1[&m.member_id] {
                    let other_owner = members
                        .iter()
                        .any(|o| o.member_id != m.member_id && o.subscription.owned_partitions.contains(tp));
                    assert!(!other_owner, "{tp} handed straight to {}: {r1:?}", m.member_id);
                }
            }
            // Follow-up round with what each now owns.
            for m in &mut members {
                m.subscription.owned_partitions = r1[&m.member_id].clone();
                m.subscription.generation_id = 2;
            }
            let r2 = assign(&c, &members);
            let got = check_valid(&c, &members, &r2);
            assert_eq!(
                got,
                all_partitions(&c, &members),
                "all assigned after the follow-up: {r2:?}"
            );
            let loads: Vec<usize> = r2.values().map(Vec::len).collect();
            assert!(
                loads.iter().max().unwrap() - loads.iter().min().unwrap() <= 1,
                "{r2:?}"
            );
            // Stickiness: nothing a member kept in round one moves in round two.
            for m in &members {
                for tp in &r1[&m.member_id] {
                    assert!(
                        r2[&m.member_id].contains(tp),
                        "{tp} moved off {} needlessly: {r1:?} -> {r2:?}",
                        m.member_id
                    );
                }
            }
        }
    }

    #[test]
    fn different_subscriptions_balance_within_eligibility() {
        let c = counts(&[("a", 4), ("b", 4)]);
        let m = [
            member("x", &["a"], &[], -1),
            member("y", &["a", "b"], &[], -1),
            member("z", &["b"], &[], -1),
        ];
        let out = assign(&c, &m);
        assert_eq!(check_valid(&c, &m, &out), all_partitions(&c, &m));
        let loads: Vec<usize> = out.values().map(Vec::len).collect();
        assert!(
            loads.iter().max().unwrap() - loads.iter().min().unwrap() <= 1,
            "{out:?}"
        );
    }
}
