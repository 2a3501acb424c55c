//! The leader's incremental cooperative assignment (KIP-415), as Kafka Connect's
//! `IncrementalCooperativeAssignor` decides it: pure logic, every input explicit, so each
//! decision can be tested without a group.
//!
//! ```text
//!  members' current allocations ─┐
//!  config snapshot (connector → task count)
//!  previous round's state (what the leader handed out, work held for departed workers)
//!  now                           ─┴─▶ assign() ─▶ per member: newly assigned + revoked
//!                                                  delay until the held work is given away
//!                                                  the state for the next round
//! ```
//!
//! One round, connectors and tasks balanced separately:
//! 1. Every member keeps what it reports running, except what no longer exists in the config
//!    (revoked) and what another member also reports (a duplicate stays with the first member
//!    by id, and is revoked from the others).
//! 2. Work the previous round gave to a member that is gone, and that nobody runs now, is
//!    *lost*. It is held for `scheduled.rebalance.max.delay.ms` (the departed worker may come
//!    back within it), and the returned delay tells every worker when the leader wants the next
//!    rebalance; once the delay has passed, it is assigned like new work.
//! 3. Work nobody runs and that is not held (new connectors and tasks, revoked work that was
//!    stopped, lost work whose delay expired) goes to the least-loaded member, one at a time.
//! 4. If loads still differ by more than one, the most loaded members revoke their excess:
//!    `total % members` members may hold one more than the others. The revoking members stop
//!    that work and rejoin; the next round places it on the members that are short, so only
//!    what moves is revoked. No balancing revocations while lost work is held: the departed
//!    worker's return would otherwise cause churn.
//!
//! Nothing is ever assigned to two members: what is placed is exactly what no member keeps.

use super::protocol::TaskId;
use std::collections::{BTreeMap, BTreeSet};

/// The connectors and tasks one member runs (or is given, or gives up).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allocation {
    /// Connector instances.
    pub connectors: BTreeSet<String>,
    /// Tasks.
    pub tasks: BTreeSet<TaskId>,
}

impl Allocation {
    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.connectors.is_empty() && self.tasks.is_empty()
    }

    /// How many connectors and tasks.
    pub fn len(&self) -> usize {
        self.connectors.len() + self.tasks.len()
    }

    fn extend(&mut self, other: &Allocation) {
        self.connectors.extend(other.connectors.iter().cloned());
        self.tasks.extend(other.tasks.iter().cloned());
    }

    fn remove_all(&mut self, other: &Allocation) {
        self.connectors.retain(|c| !other.connectors.contains(c));
        self.tasks.retain(|t| !other.tasks.contains(t));
    }
}

/// The leader's memory between rounds. A new leader starts from [`AssignorState::default`]
/// (it learns the current allocations from the members, as Java's assignor does when the
/// generation it remembers is not the last completed one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssignorState {
    /// The generation this state was computed for (`None`: no memory).
    pub generation: Option<i32>,
    /// What each member holds after the last round (kept, plus newly assigned, minus revoked).
    pub assigned: BTreeMap<String, Allocation>,
    /// Lost work being held for a departed worker.
    pub held: Allocation,
    /// When the held work is given away (ms since the epoch of `now_ms`).
    pub deadline_ms: Option<u64>,
}

/// Everything one round decides from.
#[derive(Debug, Clone)]
pub struct AssignInput<'a> {
    /// Each member's current allocation, as its metadata reports it.
    pub members: &'a BTreeMap<String, Allocation>,
    /// The config snapshot: each connector and its committed task count.
    pub connectors: &'a BTreeMap<String, u32>,
    /// The generation the group last completed (the one `state` should be about).
    pub last_completed_generation: i32,
    /// `scheduled.rebalance.max.delay.ms`.
    pub max_delay_ms: u64,
    /// The time now, in ms (any fixed epoch; only differences matter).
    pub now_ms: u64,
}

/// What one member is told.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberAssignment {
    /// Newly assigned this round (the member keeps what it had minus `revoked`).
    pub assigned: Allocation,
    /// To stop now.
    pub revoked: Allocation,
}

/// The result of one round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentPlan {
    /// Per member (every member of the input has an entry).
    pub members: BTreeMap<String, MemberAssignment>,
    /// The delay to tell every member (ms; 0: none).
    pub delay_ms: u64,
    /// The state to pass to the next round.
    pub next: AssignorState,
}

/// One round of incremental cooperative assignment; see the module doc for the rules.
pub fn assign(input: &AssignInput<'_>, state: &AssignorState) -> AssignmentPlan {
    let members = input.members;
    let configured = configured(input.connectors);
    // A leader whose memory is not about the last completed generation (it just became leader,
    // or a round failed) starts from what the members report.
    let remembered = state.generation == Some(input.last_completed_generation);
    let previous: BTreeMap<String, Allocation> = if remembered {
        state.assigned.clone()
    } else {
        members.clone()
    };
    let mut held = if remembered {
        state.held.clone()
    } else {
        Allocation::default()
    };
    let mut deadline = if remembered { state.deadline_ms } else { None };

    let mut out: BTreeMap<String, MemberAssignment> = members
        .keys()
        .map(|m| (m.clone(), MemberAssignment::default()))
        .collect();

    // 1. What each member keeps.
    let mut keep: BTreeMap<String, Allocation> = BTreeMap::new();
    let mut running = Allocation::default();
    for (m, alloc) in members {
        let k = keep.entry(m.clone()).or_default();
        let revoked = &mut out.get_mut(m).expect("every member has an entry").revoked;
        for c in &alloc.connectors {
            if !configured.connectors.contains(c) || !running.connectors.insert(c.clone()) {
                revoked.connectors.insert(c.clone());
            } else {
                k.connectors.insert(c.clone());
            }
        }
        for t in &alloc.tasks {
            if !configured.tasks.contains(t) || !running.tasks.insert(t.clone()) {
                revoked.tasks.insert(t.clone());
            } else {
                k.tasks.insert(t.clone());
            }
        }
    }

    // 2. Lost work: given to a member that is gone, run by nobody, still configured.
    let mut lost = Allocation::default();
    for (m, alloc) in &previous {
        if !members.contains_key(m) {
            lost.extend(alloc);
        }
    }
    lost.extend(&held);
    lost.connectors
        .retain(|c| configured.connectors.contains(c) && !running.connectors.contains(c));
    lost.tasks
        .retain(|t| configured.tasks.contains(t) && !running.tasks.contains(t));

    let mut delay_ms = 0;
    if lost.is_empty() {
        held = Allocation::default();
        deadline = None;
    } else {
        let due = match deadline {
            Some(d) => input.now_ms >= d,
            None if input.max_delay_ms == 0 => true,
            None => {
                deadline = Some(input.now_ms + input.max_delay_ms);
                false
            }
        };
        if due {
            held = Allocation::default();
            deadline = None;
        } else {
            held = lost;
            delay_ms = deadline.map_or(0, |d| d.saturating_sub(input.now_ms));
        }
    }

    // 3. Place what nobody runs and nobody waits for.
    let mut unplaced = configured;
    unplaced.remove_all(&running);
    unplaced.remove_all(&held);
    let mut loads = keep;
    if !members.is_empty() {
        place(&unplaced, &mut loads, &mut out, &CONNECTORS);
        place(&unplaced, &mut loads, &mut out, &TASKS);
        // 4. Balance by revoking the excess of the most loaded members.
        if held.is_empty() {
            revoke_excess(&mut loads, &mut out, &CONNECTORS);
            revoke_excess(&mut loads, &mut out, &TASKS);
        }
    }

    AssignmentPlan {
        members: out,
        delay_ms,
        next: AssignorState {
            generation: None,
            assigned: loads,
            held,
            deadline_ms: deadline,
        },
    }
}

/// Every connector and task of the snapshot.
fn configured(connectors: &BTreeMap<String, u32>) -> Allocation {
    let mut all = Allocation::default();
    for (c, &n) in connectors {
        all.connectors.insert(c.clone());
        for t in 0..n.min(i32::MAX as u32) {
            all.tasks.insert(TaskId::new(c.clone(), t as i32));
        }
    }
    all
}

/// The connectors or the tasks of an allocation: the assignor balances each on its own, alike.
struct Part<T> {
    get: fn(&Allocation) -> &BTreeSet<T>,
    get_mut: fn(&mut Allocation) -> &mut BTreeSet<T>,
}

const CONNECTORS: Part<String> = Part {
    get: |a| &a.connectors,
    get_mut: |a| &mut a.connectors,
};
const TASKS: Part<TaskId> = Part {
    get: |a| &a.tasks,
    get_mut: |a| &mut a.tasks,
};

fn member<'a, V>(map: &'a mut BTreeMap<String, V>, m: &str) -> &'a mut V {
    map.get_mut(m).expect("every member has an entry")
}

/// Gives each of `part` of `unplaced`, in order, to the member with the fewest (ties: the
/// smallest id).
fn place<T: Ord + Clone>(
    unplaced: &Allocation,
    loads: &mut BTreeMap<String, Allocation>,
    out: &mut BTreeMap<String, MemberAssignment>,
    part: &Part<T>,
) {
    for x in (part.get)(unplaced) {
        let Some(m) = loads
            .iter()
            .min_by_key(|(m, a)| ((part.get)(a).len(), *m))
            .map(|(m, _)| m.clone())
        else {
            return;
        };
        (part.get_mut)(member(loads, &m)).insert(x.clone());
        (part.get_mut)(&mut member(out, &m).assigned).insert(x.clone());
    }
}

/// Revokes what makes `part` of the loads differ by more than one: `total % n` members (the
/// most loaded, ties by id) may keep `floor + 1`, the rest `floor`. A member gives up kept work
/// before what this round just gave it (that hasn't started), from the end (the highest task
/// numbers), so a connector's low tasks stay where they are.
fn revoke_excess<T: Ord + Clone>(
    loads: &mut BTreeMap<String, Allocation>,
    out: &mut BTreeMap<String, MemberAssignment>,
    part: &Part<T>,
) {
    let n = loads.len();
    if n == 0 {
        return;
    }
    let total: usize = loads.values().map(|a| (part.get)(a).len()).sum();
    let (floor, extra) = (total / n, total % n);
    let mut by_load: Vec<(String, usize)> = loads
        .iter()
        .map(|(m, a)| (m.clone(), (part.get)(a).len()))
        .collect();
    by_load.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (i, (m, load)) in by_load.into_iter().enumerate() {
        let cap = if i < extra { floor + 1 } else { floor };
        if load <= cap {
            continue;
        }
        let have = (part.get)(&loads[&m]);
        let placed = (part.get)(&out[&m].assigned);
        let kept = have.iter().rev().filter(|x| !placed.contains(*x));
        let fresh = have.iter().rev().filter(|x| placed.contains(*x));
        let pick: Vec<T> = kept.chain(fresh).take(load - cap).cloned().collect();
        for x in pick {
            (part.get_mut)(member(loads, &m)).remove(&x);
            (part.get_mut)(&mut member(out, &m).revoked).insert(x);
        }
    }
}

/// Eager (`default` protocol) assignment: every member has stopped everything, so the whole
/// config is placed from scratch, balanced, connectors and tasks round-robin over the members
/// in id order.
pub fn assign_eager(
    members: &BTreeSet<String>,
    connectors: &BTreeMap<String, u32>,
) -> BTreeMap<String, Allocation> {
    let mut out: BTreeMap<String, Allocation> = members
        .iter()
        .map(|m| (m.clone(), Allocation::default()))
        .collect();
    if members.is_empty() {
        return out;
    }
    let all = configured(connectors);
    let ids: Vec<&String> = members.iter().collect();
    for (i, c) in all.connectors.into_iter().enumerate() {
        out.get_mut(ids[i % ids.len()])
            .expect("a member")
            .connectors
            .insert(c);
    }
    for (i, t) in all.tasks.into_iter().enumerate() {
        out.get_mut(ids[i % ids.len()]).expect("a member").tasks.insert(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DELAY: u64 = 300_000;

    fn conns(spec: &[(&str, u32)]) -> BTreeMap<String, u32> {
        spec.iter().map(|(c, n)| (c.to_string(), *n)).collect()
    }

    /// A simulated cluster: members apply the leader's answers as workers do.
    #[derive(Debug, Clone, Default)]
    struct Sim {
        members: BTreeMap<String, Allocation>,
        state: AssignorState,
        generation: i32,
        now: u64,
    }

    impl Sim {
        fn with(ids: &[&str]) -> Self {
            Self {
                members: ids
                    .iter()
                    .map(|m| (m.to_string(), Allocation::default()))
                    .collect(),
                ..Self::default()
            }
        }

        /// One rebalance round; returns the plan after members applied it.
        fn round(&mut self, config: &BTreeMap<String, u32>) -> AssignmentPlan {
            let plan = assign(
                &AssignInput {
                    members: &self.members,
                    connectors: config,
                    last_completed_generation: self.generation,
                    max_delay_ms: DELAY,
                    now_ms: self.now,
                },
                &self.state,
            );
            self.generation += 1;
            self.state = AssignorState {
                generation: Some(self.generation),
                ..plan.next.clone()
            };
            for (m, a) in &plan.members {
                let cur = self.members.get_mut(m).unwrap();
                cur.remove_all(&a.revoked);
                cur.extend(&a.assigned);
            }
            plan
        }

        /// Rounds until nobody revokes anything (members rejoin after revoking).
        fn settle(&mut self, config: &BTreeMap<String, u32>) -> AssignmentPlan {
            for _ in 0..10 {
                let plan = self.round(config);
                if plan.members.values().all(|a| a.revoked.is_empty()) {
                    return plan;
                }
            }
            panic!("no stable assignment after 10 rounds: {self:?}");
        }

        fn loads(&self) -> Vec<(usize, usize)> {
            self.members
                .values()
                .map(|a| (a.connectors.len(), a.tasks.len()))
                .collect()
        }
    }

    #[test]
    fn three_workers_two_connectors_of_six_tasks_spread_two_two_two_each() {
        let config = conns(&[("sink", 6), ("source", 6)]);
        let mut sim = Sim::with(&["w1", "w2", "w3"]);
        let plan = sim.round(&config);
        assert_eq!(plan.delay_ms, 0);
        assert!(plan.members.values().all(|a| a.revoked.is_empty()));
        for a in sim.members.values() {
            assert_eq!(a.tasks.len(), 4);
        }
        assert_eq!(sim.loads().iter().map(|l| l.0).sum::<usize>(), 2);
    }

    #[test]
    fn a_joining_worker_takes_only_what_moves() {
        let config = conns(&[("c", 6)]);
        let mut sim = Sim::with(&["w1", "w2", "w3"]);
        sim.settle(&config);
        let before = sim.members.clone();
        sim.members.insert("w4".into(), Allocation::default());
        let plan = sim.round(&config);
        // 7 items over 4 workers: 3 of them keep 2 items, one gets 1; w4 starts empty, so
        // exactly the excess is revoked, nothing that stays.
        let revoked: usize = plan.members.values().map(|a| a.revoked.len()).sum();
        assert_eq!(revoked, 1, "{plan:?}");
        let plan = sim.settle(&config);
        assert!(plan.members["w4"].revoked.is_empty());
        assert_eq!(sim.members["w4"].len(), 1);
        // everything else stayed where it was
        for (m, a) in &before {
            let now = &sim.members[m];
            assert!(now.tasks.iter().all(|t| a.tasks.contains(t)));
        }
    }

    #[test]
    fn a_departed_workers_work_is_held_for_the_delay_then_reassigned() {
        let config = conns(&[("c", 6)]);
        let mut sim = Sim::with(&["w1", "w2", "w3"]);
        sim.settle(&config);
        let gone = sim.members.remove("w3").unwrap();
        sim.now = 1_000;
        let plan = sim.round(&config);
        assert_eq!(plan.delay_ms, DELAY);
        assert!(plan
            .members
            .values()
            .all(|a| a.assigned.is_empty() && a.revoked.is_empty()));
        assert_eq!(sim.state.held, gone);
        // a rebalance in between (someone rejoins) keeps waiting, with the remaining delay
        sim.now = 101_000;
        let plan = sim.round(&config);
        assert_eq!(plan.delay_ms, DELAY - 100_000);
        assert!(plan.members.values().all(|a| a.assigned.is_empty()));
        // after the delay, the held work is assigned and the delay cleared
        sim.now = 1_000 + DELAY;
        let plan = sim.round(&config);
        assert_eq!(plan.delay_ms, 0);
        let given: usize = plan.members.values().map(|a| a.assigned.len()).sum();
        assert_eq!(given, gone.len());
        assert!(sim.state.held.is_empty() && sim.state.deadline_ms.is_none());
    }

    #[test]
    fn a_worker_back_within_the_delay_keeps_its_work() {
        let config = conns(&[("c", 6)]);
        let mut sim = Sim::with(&["w1", "w2", "w3"]);
        sim.settle(&config);
        let w3 = sim.members.remove("w3").unwrap();
        sim.round(&config);
        // it comes back (a restart with the same member id and allocation reported)
        sim.now = 5_000;
        sim.members.insert("w3".into(), w3.clone());
        let plan = sim.round(&config);
        assert_eq!(plan.delay_ms, 0);
        assert!(plan.members.values().all(|a| a.is_empty_change()));
        assert_eq!(sim.members["w3"], w3);
    }

    #[test]
    fn deleted_connectors_and_duplicates_are_revoked() {
        let mut members = BTreeMap::new();
        let a = Allocation {
            connectors: ["gone".to_string(), "c".to_string()].into(),
            tasks: [TaskId::new("c", 0), TaskId::new("gone", 0)].into(),
        };
        let b = Allocation {
            connectors: BTreeSet::new(),
            tasks: [TaskId::new("c", 0)].into(),
        };
        members.insert("a".to_string(), a);
        members.insert("b".to_string(), b);
        let plan = assign(
            &AssignInput {
                members: &members,
                connectors: &conns(&[("c", 1)]),
                last_completed_generation: 3,
                max_delay_ms: DELAY,
                now_ms: 0,
            },
            &AssignorState::default(),
        );
        assert_eq!(plan.members["a"].revoked.connectors, ["gone".to_string()].into());
        assert_eq!(plan.members["a"].revoked.tasks, [TaskId::new("gone", 0)].into());
        assert_eq!(plan.members["b"].revoked.tasks, [TaskId::new("c", 0)].into());
    }

    #[test]
    fn eager_places_everything_round_robin() {
        let members: BTreeSet<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        let out = assign_eager(&members, &conns(&[("x", 3), ("y", 0)]));
        assert_eq!(out["a"].len() + out["b"].len(), 5);
        assert!(out["a"].len().abs_diff(out["b"].len()) <= 1);
    }

    impl MemberAssignment {
        fn is_empty_change(&self) -> bool {
            self.assigned.is_empty() && self.revoked.is_empty()
        }
    }

    /// A random cluster history: the config, then steps that add or remove members or move
    /// the clock.
    #[derive(Debug, Clone)]
    enum Step {
        Join(u8),
        Leave(u8),
        Tick(u64),
        Rebalance,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0..6u8).prop_map(Step::Join),
            (0..6u8).prop_map(Step::Leave),
            (0..DELAY * 2).prop_map(Step::Tick),
            Just(Step::Rebalance),
        ]
    }

    fn config() -> impl Strategy<Value = BTreeMap<String, u32>> {
        proptest::collection::btree_map("[a-e]", 0..8u32, 0..5)
    }

    /// No item in two members' allocations, nor assigned to a member that already runs it.
    fn check_no_duplicates(sim: &Sim, plan: &AssignmentPlan) -> Result<(), TestCaseError> {
        let mut seen = Allocation::default();
        for a in sim.members.values() {
            for c in &a.connectors {
                prop_assert!(
                    seen.connectors.insert(c.clone()),
                    "connector {c} twice: {:?}",
                    sim.members
                );
            }
            for t in &a.tasks {
                prop_assert!(seen.tasks.insert(t.clone()), "task {t} twice: {:?}", sim.members);
            }
        }
        let mut given = Allocation::default();
        for a in plan.members.values() {
            for c in &a.assigned.connectors {
                prop_assert!(given.connectors.insert(c.clone()), "connector {c} assigned twice");
            }
            for t in &a.assigned.tasks {
                prop_assert!(given.tasks.insert(t.clone()), "task {t} assigned twice");
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn histories_keep_the_invariants(config in config(), steps in proptest::collection::vec(step(), 0..25)) {
            let mut sim = Sim::with(&["m0", "m1"]);
            let r = sim.round(&config);
            check_no_duplicates(&sim, &r)?;
            for s in steps {
                match s {
                    Step::Join(i) => { sim.members.entry(format!("m{i}")).or_default(); }
                    Step::Leave(i) => { sim.members.remove(&format!("m{i}")); }
                    Step::Tick(ms) => { sim.now += ms; continue; }
                    Step::Rebalance => {}
                }
                // Revoking members rejoin at once, as workers do.
                let before = sim.members.clone();
                let plan = sim.round(&config);
                check_no_duplicates(&sim, &plan)?;
                // Revoked only what a member ran.
                for (m, a) in &plan.members {
                    prop_assert!(a.revoked.connectors.iter().all(|c| before[m].connectors.contains(c)));
                    prop_assert!(a.revoked.tasks.iter().all(|t| before[m].tasks.contains(t)));
                }
                // Revocations that aren't of deleted work move: the follow-up round places
                // each on another member.
                let revoked: BTreeMap<String, MemberAssignment> = plan.members.clone();
                if revoked.values().any(|a| !a.revoked.is_empty()) {
                    let next = sim.round(&config);
                    check_no_duplicates(&sim, &next)?;
                    for (m, a) in &revoked {
                        for t in &a.revoked.tasks {
                            prop_assert!(!next.members[m].assigned.tasks.contains(t),
                                "task {t} revoked from {m} and given back: {revoked:?} then {next:?}");
                        }
                        for c in &a.revoked.connectors {
                            prop_assert!(!next.members[m].assigned.connectors.contains(c),
                                "connector {c} revoked from {m} and given back");
                        }
                    }
                }
            }
            if sim.members.is_empty() {
                return Ok(());
            }
            // After the delay (and the follow-up rounds), everything runs, balanced within one.
            sim.now += DELAY;
            let plan = sim.settle(&config);
            check_no_duplicates(&sim, &plan)?;
            prop_assert_eq!(plan.delay_ms, 0);
            let mut running = Allocation::default();
            for a in sim.members.values() {
                running.extend(a);
            }
            prop_assert_eq!(running, configured(&config));
            let loads = sim.loads();
            let (cmin, cmax) = (loads.iter().map(|l| l.0).min().unwrap(), loads.iter().map(|l| l.0).max().unwrap());
            let (tmin, tmax) = (loads.iter().map(|l| l.1).min().unwrap(), loads.iter().map(|l| l.1).max().unwrap());
            prop_assert!(cmax - cmin <= 1, "connectors unbalanced: {loads:?}");
            prop_assert!(tmax - tmin <= 1, "tasks unbalanced: {loads:?}");
        }
    }
}
