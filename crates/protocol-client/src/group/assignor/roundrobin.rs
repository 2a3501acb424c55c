//! `roundrobin` (Java's `RoundRobinAssignor`): every partition of every subscribed topic, in
//! (topic, partition) order, dealt to members in a circle (member order), skipping members not
//! subscribed to the partition's topic.

use super::{empty_assignment, sorted_members, AssignmentMap, Assignor, MemberSubscription};
use crate::group::TopicPartition;
use std::collections::BTreeMap;

/// Kafka's `roundrobin` assignor.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoundRobinAssignor;

impl Assignor for RoundRobinAssignor {
    fn name(&self) -> &'static str {
        "roundrobin"
    }

    fn assign(
        &self,
        partitions_per_topic: &BTreeMap<String, i32>,
        members: &[MemberSubscription],
    ) -> AssignmentMap {
        let mut out = empty_assignment(members);
        let ordered = sorted_members(members);
        if ordered.is_empty() {
            return out;
        }
        let mut next = 0usize;
        // BTreeMap iteration is Java's sorted topic set.
        for (topic, &count) in partitions_per_topic {
            let subscribed = |m: &MemberSubscription| m.subscription.topics.iter().any(|t| t == topic);
            if !ordered.iter().any(|m| subscribed(m)) {
                continue;
            }
            for p in 0..count.max(0) {
                while !subscribed(ordered[next % ordered.len()]) {
                    next += 1;
                }
                let m = ordered[next % ordered.len()];
                next += 1;
                out.get_mut(&m.member_id)
                    .expect("every member has an entry")
                    .push(TopicPartition::new(topic.clone(), p));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    /// The example of Java's RoundRobinAssignor javadoc: C0 and C1 on t0, t1 (3 partitions).
    #[test]
    fn java_javadoc_examples() {
        let c = counts(&[("t0", 3), ("t1", 3)]);
        let m = [
            member("C0", &["t0", "t1"], &[], -1),
            member("C1", &["t0", "t1"], &[], -1),
        ];
        let out = RoundRobinAssignor.assign(&c, &m);
        assert_eq!(out["C0"], tps(&[("t0", 0), ("t0", 2), ("t1", 1)]));
        assert_eq!(out["C1"], tps(&[("t0", 1), ("t1", 0), ("t1", 2)]));

        // C0 on t0; C1 on t0, t1; C2 on t0, t1, t2 (1, 2, 3 partitions).
        let c = counts(&[("t0", 1), ("t1", 2), ("t2", 3)]);
        let m = [
            member("C0", &["t0"], &[], -1),
            member("C1", &["t0", "t1"], &[], -1),
            member("C2", &["t0", "t1", "t2"], &[], -1),
        ];
        let out = RoundRobinAssignor.assign(&c, &m);
        assert_eq!(out["C0"], tps(&[("t0", 0)]));
        assert_eq!(out["C1"], tps(&[("t1", 0)]));
        assert_eq!(out["C2"], tps(&[("t1", 1), ("t2", 0), ("t2", 1), ("t2", 2)]));
        assert_eq!(check_valid(&c, &m, &out), all_partitions(&c, &m));
    }
}
