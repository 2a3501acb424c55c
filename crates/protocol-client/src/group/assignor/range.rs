//! `range` (Java's `RangeAssignor`): per topic, partitions in order are cut into contiguous
//! ranges over the topic's subscribers in member order; the first `partitions % members` get
//! one extra. Two subscribers of t0 and t1 (3 partitions each): C0 [t0-0, t0-1, t1-0, t1-1],
//! C1 [t0-2, t1-2] — co-partitioned topics land together.

use super::{empty_assignment, sorted_members, AssignmentMap, Assignor, MemberSubscription};
use crate::group::TopicPartition;
use std::collections::BTreeMap;

/// Kafka's `range` assignor.
#[derive(Debug, Clone, Copy, Default)]
pub struct RangeAssignor;

impl Assignor for RangeAssignor {
    fn name(&self) -> &'static str {
        "range"
    }

    fn assign(
        &self,
        partitions_per_topic: &BTreeMap<String, i32>,
        members: &[MemberSubscription],
    ) -> AssignmentMap {
        let mut out = empty_assignment(members);
        let ordered = sorted_members(members);
        for (topic, &count) in partitions_per_topic {
            let subscribers: Vec<&MemberSubscription> = ordered
                .iter()
                .copied()
                .filter(|m| m.subscription.topics.iter().any(|t| t == topic))
                .collect();
            if subscribers.is_empty() || count <= 0 {
                continue;
            }
            let n = subscribers.len() as i32;
            let per = count / n;
            let extra = count % n;
            for (i, m) in subscribers.iter().enumerate() {
                let i = i as i32;
                let start = per * i + i.min(extra);
                let len = per + i32::from(i < extra);
                let mine = out.get_mut(&m.member_id).expect("every member has an entry");
                mine.extend((start..start + len).map(|p| TopicPartition::new(topic.clone(), p)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    /// The example of Java's RangeAssignor javadoc.
    #[test]
    fn java_javadoc_example() {
        let c = counts(&[("t0", 3), ("t1", 3)]);
        let m = [
            member("C0", &["t0", "t1"], &[], -1),
            member("C1", &["t0", "t1"], &[], -1),
        ];
        let out = RangeAssignor.assign(&c, &m);
        assert_eq!(out["C0"], tps(&[("t0", 0), ("t0", 1), ("t1", 0), ("t1", 1)]));
        assert_eq!(out["C1"], tps(&[("t0", 2), ("t1", 2)]));
    }

    #[test]
    fn six_partitions_three_members_and_uneven_subscriptions() {
        let c = counts(&[("a", 6), ("b", 2)]);
        let m = [
            member("m3", &["a"], &[], -1),
            member("m1", &["a", "b"], &[], -1),
            member("m2", &["a"], &[], -1),
        ];
        let out = RangeAssignor.assign(&c, &m);
        assert_eq!(out["m1"], tps(&[("a", 0), ("a", 1), ("b", 0), ("b", 1)]));
        assert_eq!(out["m2"], tps(&[("a", 2), ("a", 3)]));
        assert_eq!(out["m3"], tps(&[("a", 4), ("a", 5)]));
        assert_eq!(check_valid(&c, &m, &out), all_partitions(&c, &m));
    }

    /// KIP-345: static members sort by instance id, ahead of dynamic members.
    #[test]
    fn static_members_sort_by_instance_id_first() {
        let c = counts(&[("t", 3)]);
        let mut a = member("zzz", &["t"], &[], -1);
        a.group_instance_id = Some("i-1".into());
        let b = member("aaa", &["t"], &[], -1);
        let out = RangeAssignor.assign(&c, &[b, a]);
        assert_eq!(out["zzz"], tps(&[("t", 0), ("t", 1)]));
        assert_eq!(out["aaa"], tps(&[("t", 2)]));
    }

    #[test]
    fn more_members_than_partitions() {
        let c = counts(&[("t", 2)]);
        let m = [
            member("a", &["t"], &[], -1),
            member("b", &["t"], &[], -1),
            member("c", &["t"], &[], -1),
        ];
        let out = RangeAssignor.assign(&c, &m);
        assert_eq!(out["a"], tps(&[("t", 0)]));
        assert_eq!(out["b"], tps(&[("t", 1)]));
        assert!(out["c"].is_empty());
    }
}
