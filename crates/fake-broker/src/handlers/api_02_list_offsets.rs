//! ListOffsets (key 2).
//!
//! Leader and `current_leader_epoch` (v4+) checks as in Fetch. Timestamps:
//! -1 LATEST → log end offset (= high watermark = last stable offset here);
//! -2 EARLIEST and -4 EARLIEST_LOCAL → log start offset;
//! -3 MAX_TIMESTAMP → see deviations; -5 EARLIEST_PENDING_UPLOAD → offset -1 (nothing is tiered);
//! t ≥ 0 → the first batch whose max timestamp ≥ t, or offset -1 / timestamp -1 when none.
//! The answer's leader epoch (v4+) is the epoch stamped on the batch holding the offset, or the
//! current leader epoch at the log end.
//!
//! Deviations: the fake never reads records, so a timestamp lookup answers the matching batch's
//! base offset and max timestamp (Kafka answers the exact record), and MAX_TIMESTAMP answers the
//! last offset of the batch with the largest max timestamp.

use kafka_protocol::messages::list_offsets_request::ListOffsetsRequest;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsResponse, ListOffsetsTopicResponse,
};

use super::{check_leader_epoch, leader_partition};
use crate::cluster::{lock, Partition, Shared};

pub(crate) fn handle(
    shared: &Shared,
    node: i32,
    version: i16,
    req: &ListOffsetsRequest,
) -> ListOffsetsResponse {
    let mut state = lock(&shared.state);
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|lp| {
                    let mut r =
                        ListOffsetsPartitionResponse::default().with_partition_index(lp.partition_index);
                    let epoch = if version >= 4 { lp.current_leader_epoch } else { -1 };
                    match leader_partition(&mut state, node, t.name.0.as_str(), lp.partition_index)
                        .and_then(|p| check_leader_epoch(p, epoch).map(|()| p))
                    {
                        Err(e) => r.error_code = e,
                        Ok(p) => {
                            let (offset, timestamp) = lookup(p, lp.timestamp);
                            r.offset = offset;
                            r.timestamp = timestamp;
                            if version >= 4 && offset >= 0 {
                                r.leader_epoch = epoch_at(p, offset);
                            }
                        }
                    }
                    r
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}

/// (offset, timestamp) for a ListOffsets timestamp query.
fn lookup(p: &Partition, ts: i64) -> (i64, i64) {
    match ts {
        -1 => (p.log_end_offset, -1),
        -2 | -4 => (p.log_start_offset, -1),
        -3 => p
            .batches
            .iter()
            .filter(|b| b.last_offset >= p.log_start_offset)
            .max_by_key(|b| b.max_timestamp)
            .map(|b| (b.last_offset, b.max_timestamp))
            .unwrap_or((-1, -1)),
        t if t >= 0 => p
            .batches
            .iter()
            .filter(|b| b.last_offset >= p.log_start_offset)
            .find(|b| b.max_timestamp >= t)
            .map(|b| (b.base_offset.max(p.log_start_offset), b.max_timestamp))
            .unwrap_or((-1, -1)),
        _ => (-1, -1),
    }
}

fn epoch_at(p: &Partition, offset: i64) -> i32 {
    p.batches
        .iter()
        .find(|b| b.base_offset <= offset && offset <= b.last_offset)
        .map(|b| b.partition_leader_epoch)
        .unwrap_or(p.leader_epoch)
}
