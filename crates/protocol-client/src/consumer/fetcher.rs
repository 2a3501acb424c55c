//! Turning one partition of a Fetch answer into records (zero-copy) and the next fetch offset.
//!
//! ```text
//!  records bytes ──read_batches──▶ batch ─┬─ ends before the position ─────▶ skip
//!                                         ├─ control batch (txn marker) ──▶ skip, position past it
//!                                         ├─ read_committed + aborted ────▶ skip, position past it
//!                                         └─ records ≥ position ──────────▶ ConsumerRecord
//! ```
//!
//! read_committed (KIP-98): the answer lists the aborted transactions overlapping the fetched
//! range as (producer id, first offset). Walking batches in order, a producer becomes "aborted"
//! once a batch reaches its first offset, its transactional batches are dropped until its ABORT
//! marker, which ends that aborted transaction (Java's `Fetcher.CompletedFetch` does the same).

use super::ConsumerRecord;
use crate::records::{read_batches, ReadLimits, RecordsError};
use bytes::Bytes;
use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

/// One aborted transaction from a Fetch answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Aborted {
    pub producer_id: i64,
    pub first_offset: i64,
}

/// What a partition's data gave.
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    pub records: Vec<ConsumerRecord>,
    /// The offset to fetch next: past every batch seen (returned or skipped).
    pub next_offset: i64,
    /// The first problem, if the data was malformed (records before it are kept).
    pub error: Option<RecordsError>,
}

/// Decodes `data` for `topic`-`partition` from `position`.
pub(crate) fn decode(
    topic: &Arc<str>,
    partition: i32,
    data: Bytes,
    position: i64,
    read_committed: bool,
    mut aborted: Vec<Aborted>,
    limits: ReadLimits,
) -> Decoded {
    aborted.sort_by_key(|a| a.first_offset);
    let mut aborted: VecDeque<Aborted> = aborted.into();
    let mut aborted_producers = BTreeSet::new();
    let mut out = Decoded {
        next_offset: position,
        ..Decoded::default()
    };
    for batch in read_batches(data, limits) {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                out.error = Some(e);
                break;
            }
        };
        if batch.next_offset() <= position {
            continue;
        }
        if read_committed {
            while aborted
                .front()
                .is_some_and(|a| a.first_offset <= batch.last_offset())
            {
                let a = aborted.pop_front().expect("front exists");
                aborted_producers.insert(a.producer_id);
            }
        }
        if batch.is_control() {
            if read_committed && is_abort_marker(&batch) {
                aborted_producers.remove(&batch.producer_id());
            }
            out.next_offset = batch.next_offset();
            continue;
        }
        if read_committed && batch.is_transactional() && aborted_producers.contains(&batch.producer_id()) {
            out.next_offset = batch.next_offset();
            continue;
        }
        // A batch is returned whole or not at all: a decode error halfway keeps none of its
        // records, so the position (still at this batch) and the records agree.
        let batch_start = out.records.len();
        let timestamp_type = batch.timestamp_type();
        let leader_epoch = batch.partition_leader_epoch();
        for r in batch.records() {
            match r {
                Ok(r) if r.offset < position => {}
                Ok(r) => out.records.push(ConsumerRecord {
                    topic: Arc::clone(topic),
                    partition,
                    offset: r.offset,
                    timestamp: r.timestamp,
                    timestamp_type,
                    key: r.key,
                    value: r.value,
                    headers: r.headers,
                    leader_epoch: (leader_epoch >= 0).then_some(leader_epoch),
                }),
                Err(e) => {
                    out.records.truncate(batch_start);
                    out.error = Some(e);
                    return out;
                }
            }
        }
        out.next_offset = batch.next_offset();
    }
    out
}

/// A control batch's record key is (version: int16, type: int16); type 0 is ABORT, 1 COMMIT.
fn is_abort_marker(batch: &crate::records::RecordBatch) -> bool {
    batch
        .records()
        .next()
        .and_then(|r| r.ok())
        .and_then(|r| r.key)
        .is_some_and(|k| k.len() >= 4 && i16::from_be_bytes([k[2], k[3]]) == 0)
}
