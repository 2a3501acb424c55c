//! Which source offsets are safe to commit (invariant I12): per source partition, only the
//! offset of the last record of the *acknowledged prefix* of what was submitted, as Kafka
//! Connect's `SubmittedRecords`.
//!
//! ```text
//!  partition {"filename":"a"}:  r1 ✓  r2 ✓  r3 …  r4 ✓      committable: r2's offset
//!  partition {"filename":"b"}:  r5 ✓                       committable: r5's offset
//! ```
//!
//! r4 was acknowledged before r3: committing r4's offset would skip r3 if the worker died
//! now and r3 never landed. A record dropped by a transform, or skipped under
//! `errors.tolerance=all`, counts as acknowledged (it is done, it will never be sent).

use crate::data::SourceMap;
use std::collections::{BTreeMap, VecDeque};

/// A handle to one submitted record, to acknowledge it later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    partition: usize,
    seq: u64,
}

#[derive(Debug)]
struct Pending {
    seq: u64,
    offset: SourceMap,
    acked: bool,
}

#[derive(Debug)]
struct PartitionQueue {
    partition: SourceMap,
    next_seq: u64,
    /// Submitted records, oldest first; the acknowledged head is removed eagerly.
    queue: VecDeque<Pending>,
    /// The offset of the last record removed from the acknowledged head, not yet taken.
    committable: Option<SourceMap>,
}

/// Tracks submitted records of one source task.
#[derive(Debug, Default)]
pub struct SubmittedRecords {
    partitions: Vec<PartitionQueue>,
    /// Partition lookup by its `Debug` text: `Value` has floats, so no `Ord`/`Hash`, and a
    /// source partition's text is a faithful, deterministic key.
    index: BTreeMap<String, usize>,
    in_flight: usize,
}

impl SubmittedRecords {
    /// A new, empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one submitted record of `partition` whose offset, once it and every earlier
    /// record of the partition are acknowledged, may be committed.
    pub fn submit(&mut self, partition: &SourceMap, offset: SourceMap) -> Ticket {
        let key = format!("{partition:?}");
        let i = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                self.partitions.push(PartitionQueue {
                    partition: partition.clone(),
                    next_seq: 0,
                    queue: VecDeque::new(),
                    committable: None,
                });
                self.index.insert(key, self.partitions.len() - 1);
                self.partitions.len() - 1
            }
        };
        let q = &mut self.partitions[i];
        let seq = q.next_seq;
        q.next_seq += 1;
        q.queue.push_back(Pending {
            seq,
            offset,
            acked: false,
        });
        self.in_flight += 1;
        Ticket { partition: i, seq }
    }

    /// Marks a record acknowledged (written, dropped by a transform, or tolerated).
    /// Acknowledging twice is harmless.
    pub fn ack(&mut self, ticket: Ticket) {
        let q = &mut self.partitions[ticket.partition];
        let Some(front) = q.queue.front().map(|p| p.seq) else {
            return;
        };
        let Some(pos) = ticket.seq.checked_sub(front).map(|d| d as usize) else {
            return;
        };
        match q.queue.get_mut(pos) {
            Some(p) if !p.acked => {
                p.acked = true;
                self.in_flight -= 1;
            }
            _ => return,
        }
        while q.queue.front().is_some_and(|p| p.acked) {
            let done = q.queue.pop_front().expect("front exists");
            q.committable = Some(done.offset);
        }
    }

    /// Records submitted and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Takes the offsets that became committable since the last call: one per source
    /// partition, the offset of the last record of its acknowledged prefix.
    pub fn take_committable(&mut self) -> Vec<(SourceMap, SourceMap)> {
        self.partitions
            .iter_mut()
            .filter_map(|q| q.committable.take().map(|o| (q.partition.clone(), o)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Value;

    fn map(k: &str, v: i64) -> SourceMap {
        let mut m = SourceMap::new();
        m.insert(k.to_string(), Value::Int64(v));
        m
    }

    #[test]
    fn i12_only_the_acknowledged_prefix_is_committable() {
        let mut s = SubmittedRecords::new();
        let (a, b) = (map("file", 1), map("file", 2));
        let t1 = s.submit(&a, map("pos", 10));
        let t2 = s.submit(&a, map("pos", 20));
        let t3 = s.submit(&a, map("pos", 30));
        let t5 = s.submit(&b, map("pos", 5));
        assert_eq!(s.in_flight(), 4);
        s.ack(t3);
        assert!(
            s.take_committable().is_empty(),
            "r3 acked before r1, r2: nothing safe yet"
        );
        s.ack(t1);
        s.ack(t5);
        assert_eq!(
            s.take_committable(),
            vec![(a.clone(), map("pos", 10)), (b.clone(), map("pos", 5))]
        );
        assert!(s.take_committable().is_empty(), "taken once");
        s.ack(t2);
        assert_eq!(
            s.take_committable(),
            vec![(a, map("pos", 30))],
            "r2 closes the gap up to r3"
        );
        s.ack(t2);
        assert_eq!(s.in_flight(), 0);
    }
}
