//! Produce (key 0), with the broker's idempotence rules.
//!
//! Order of checks per partition, as in Kafka (KafkaApis.handleProduceRequest →
//! ProduceRequest.validateRecords → ReplicaManager.appendToLocalLog → UnifiedLog.append →
//! LogValidator.validateBatch → UnifiedLog.analyzeAndValidateProducerState →
//! ProducerAppendInfo.checkProducerEpoch / checkSequence):
//!
//! 1. topic known and visible (else UNKNOWN_TOPIC_OR_PARTITION, or UNKNOWN_TOPIC_ID for v13
//!    topic ids), this node leads the partition (else NOT_LEADER_OR_FOLLOWER, with the current
//!    leader and its endpoint for v10+, KIP-951);
//! 2. exactly one v2 batch (else INVALID_RECORD), zstd only from v7 (else
//!    UNSUPPORTED_COMPRESSION_TYPE), size ≤ 1048588 (MESSAGE_TOO_LARGE), CRC (CORRUPT_MESSAGE);
//! 3. header sanity: offset range vs record count, no control batch, sequence ≥ 0 when there is
//!    a producer id (INVALID_RECORD); a transactional batch must come in a request with a
//!    transactional id whose open transaction holds the partition (AddPartitionsToTxn, v1
//!    protocol: the fake doesn't enlist partitions from Produce v12+), else INVALID_TXN_STATE
//!    (Kafka: "Record was not part of an ongoing transaction"). No markers are written;
//! 4. idempotence, per (partition, producer id), against Kafka's ProducerStateEntry (epoch + the
//!    last 5 batches):
//!    - same epoch and the exact first/last sequence of one of the last 5 batches → duplicate:
//!      success with the ORIGINAL base offset (and, as Kafka does, the original batch's max
//!      timestamp as log_append_time); nothing appended. Modern brokers never answer
//!      DUPLICATE_SEQUENCE_NUMBER here;
//!    - epoch older than the stored one → INVALID_PRODUCER_EPOCH;
//!    - new epoch: sequence must be 0, unless the broker has no state for the producer;
//!    - same epoch: sequence must be last + 1 (wrapping `i32::MAX` → 0), else
//!      OUT_OF_ORDER_SEQUENCE_NUMBER;
//!    - no state for the producer id (never seen, or forgotten after retention): ANY sequence is
//!      accepted. Since KIP-360 (Kafka 2.5) the broker does not return UNKNOWN_PRODUCER_ID from
//!      produce at all: `ProducerAppendInfo.checkSequence` skips the check when the stored epoch
//!      is NO_PRODUCER_EPOCH (verified in apache/kafka 1eb7644, 4.0-dev, where no broker code
//!      path raises UnknownProducerIdException). Use a control
//!      (`Action::produce_error(59)`) to exercise the client's UNKNOWN_PRODUCER_ID handling.
//!
//! Errors from steps 1-2 answer log_start_offset -1, later ones the partition's log start offset
//! (ReplicaManager's `processFailedRecord` path). acks must be -1, 0 or 1
//! (else INVALID_REQUIRED_ACKS); acks=0 gets no response (conn.rs).

use kafka_protocol::messages::produce_request::ProduceRequest;
use kafka_protocol::messages::produce_response::{
    LeaderIdAndEpoch, NodeEndpoint, PartitionProduceResponse, ProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::BrokerId;

use super::{code, endpoint, leader_partition};
use crate::batch::{self, BatchHeader, MAX_MESSAGE_BYTES};
use crate::cluster::{
    lock, BatchMeta, Partition, ProducerEntry, Shared, StoredBatch, PRODUCER_BATCHES_TO_RETAIN,
};

pub(crate) fn handle(shared: &Shared, node: i32, version: i16, req: &ProduceRequest) -> ProduceResponse {
    let mut leader_hints: Vec<i32> = Vec::new();
    let mut appended = false;
    let mut responses = Vec::with_capacity(req.topic_data.len());
    {
        let mut state = lock(&shared.state);
        for t in &req.topic_data {
            // v13 names topics by id; resolve it to our name.
            let (name, id_known) = if version >= 13 {
                match state.topic_by_id(t.topic_id) {
                    Some((n, topic)) if !topic.hidden => (Some(n.clone()), true),
                    _ => (None, false),
                }
            } else {
                (Some(t.name.0.to_string()), true)
            };
            let mut partitions = Vec::with_capacity(t.partition_data.len());
            for pd in &t.partition_data {
                let mut r = PartitionProduceResponse::default()
                    .with_index(pd.index)
                    .with_base_offset(-1);
                let outcome = match &name {
                    None => Err((
                        if id_known {
                            code::UNKNOWN_TOPIC_OR_PARTITION
                        } else {
                            code::UNKNOWN_TOPIC_ID
                        },
                        -1,
                    )),
                    Some(_) if !matches!(req.acks, -1..=1) => Err((code::INVALID_REQUIRED_ACKS, -1)),
                    Some(name) => {
                        let txn_ok = req.transactional_id.as_ref().is_some_and(|id| {
                            state
                                .txns
                                .get(id.0.as_str())
                                .and_then(|t| t.ongoing.as_ref())
                                .is_some_and(|parts| parts.contains(&(name.clone(), pd.index)))
                        });
                        match leader_partition(&mut state, node, name, pd.index) {
                            Err(e) => {
                                if e == code::NOT_LEADER_OR_FOLLOWER {
                                    if let Some(p) = state
                                        .topics
                                        .get(name)
                                        .and_then(|t| t.partitions.get(pd.index as usize))
                                    {
                                        if version >= 10 {
                                            r.current_leader = LeaderIdAndEpoch::default()
                                                .with_leader_id(BrokerId(p.leader))
                                                .with_leader_epoch(p.leader_epoch);
                                            leader_hints.push(p.leader);
                                        }
                                    }
                                }
                                Err((e, -1))
                            }
                            Ok(p) => append(p, version, pd.records.as_ref(), txn_ok),
                        }
                    }
                };
                match outcome {
                    Ok(a) => {
                        appended |= a.appended;
                        r.base_offset = a.base_offset;
                        r.log_append_time_ms = a.log_append_time;
                        if version >= 5 {
                            r.log_start_offset = a.log_start_offset;
                        }
                    }
                    Err((e, log_start)) => {
                        r.error_code = e;
                        if version >= 5 {
                            r.log_start_offset = log_start;
                        }
                    }
                }
                partitions.push(r);
            }
            let mut tr = TopicProduceResponse::default().with_partition_responses(partitions);
            if version >= 13 {
                tr.topic_id = t.topic_id;
            } else {
                tr.name = t.name.clone();
            }
            responses.push(tr);
        }
    }
    if appended {
        shared.appended.notify_waiters();
    }
    let mut resp = ProduceResponse::default().with_responses(responses);
    if version >= 10 {
        leader_hints.sort_unstable();
        leader_hints.dedup();
        resp.node_endpoints = leader_hints
            .into_iter()
            .map(|id| {
                let (host, port) = endpoint(shared, id);
                NodeEndpoint::default()
                    .with_node_id(BrokerId(id))
                    .with_host(host)
                    .with_port(port)
            })
            .collect();
    }
    resp
}

struct Appended {
    base_offset: i64,
    log_append_time: i64,
    log_start_offset: i64,
    appended: bool,
}

/// Validates and appends one partition's records. `Err((code, log_start_offset))`.
fn append(
    p: &mut Partition,
    version: i16,
    records: Option<&bytes::Bytes>,
    txn_ok: bool,
) -> Result<Appended, (i16, i64)> {
    // ProduceRequest.validateRecords (KafkaApis): log start offset not reported.
    let records = records.ok_or((code::INVALID_RECORD, -1))?;
    let batches = batch::split_batches(records).map_err(|_| (code::CORRUPT_MESSAGE, -1))?;
    let [one] = batches.as_slice() else {
        return Err((code::INVALID_RECORD, -1));
    };
    let magic = one.get(16).map(|m| *m as i8).unwrap_or(-1);
    if magic != 2 {
        return Err((code::INVALID_RECORD, -1));
    }
    let header = BatchHeader::parse(one).ok_or((code::CORRUPT_MESSAGE, -1))?;
    if version < 7 && header.compression() == 4 {
        return Err((code::UNSUPPORTED_COMPRESSION_TYPE, -1));
    }
    // UnifiedLog.analyzeAndValidateRecords: size, then CRC (CorruptRecordException: -1).
    if one.len() > MAX_MESSAGE_BYTES {
        return Err((code::MESSAGE_TOO_LARGE, -1));
    }
    batch::validate(one).map_err(|_| (code::CORRUPT_MESSAGE, -1))?;

    // From here on Kafka reports the log start offset with the error.
    let lso = p.log_start_offset;
    // LogValidator.validateBatch.
    if header.last_offset_delta < 0
        || header.records_count <= 0
        || i64::from(header.last_offset_delta) + 1 != i64::from(header.records_count)
        || header.is_control()
        || (header.has_producer_id() && header.base_sequence < 0)
    {
        return Err((code::INVALID_RECORD, lso));
    }
    // Kafka: InvalidTxnStateException "Record was not part of an ongoing transaction".
    if header.is_transactional() != txn_ok {
        return Err((code::INVALID_TXN_STATE, lso));
    }

    if header.has_producer_id() {
        let entry = p.producers.get(&header.producer_id);
        let first_seq = header.base_sequence;
        let last_seq = header.last_sequence();
        if let Some(e) = entry {
            // findDuplicateBatch: same epoch, exact sequence range of one of the last 5 batches.
            if e.epoch == header.producer_epoch {
                if let Some(d) = e
                    .batches
                    .iter()
                    .find(|b| b.first_seq == first_seq && b.last_seq == last_seq)
                {
                    return Ok(Appended {
                        base_offset: d.first_offset,
                        log_append_time: d.max_timestamp,
                        log_start_offset: lso,
                        appended: false,
                    });
                }
            }
        }
        // checkProducerEpoch, then checkSequence. "No state" is NO_PRODUCER_EPOCH (-1).
        let stored_epoch = entry.map(|e| e.epoch).unwrap_or(-1);
        if entry.is_some() && header.producer_epoch < stored_epoch {
            return Err((code::INVALID_PRODUCER_EPOCH, lso));
        }
        if header.producer_epoch != stored_epoch {
            if first_seq != 0 && stored_epoch != -1 {
                return Err((code::OUT_OF_ORDER_SEQUENCE_NUMBER, lso));
            }
        } else {
            let last = entry
                .and_then(|e| e.batches.back())
                .map(|b| b.last_seq)
                .unwrap_or(-1);
            if !batch::in_sequence(last, first_seq) {
                return Err((code::OUT_OF_ORDER_SEQUENCE_NUMBER, lso));
            }
        }
    }

    // Assign offsets, stamp the leader epoch, append.
    let base_offset = p.log_end_offset;
    let last_offset = base_offset + i64::from(header.last_offset_delta);
    let bytes = batch::rewrite(one, base_offset, p.leader_epoch);
    p.batches.push(StoredBatch {
        base_offset,
        last_offset,
        bytes,
        producer_id: header.producer_id,
        producer_epoch: header.producer_epoch,
        base_sequence: header.base_sequence,
        record_count: header.records_count,
        partition_leader_epoch: p.leader_epoch,
        max_timestamp: header.max_timestamp,
    });
    p.log_end_offset = last_offset + 1;
    if header.has_producer_id() {
        let e = p
            .producers
            .entry(header.producer_id)
            .or_insert_with(|| ProducerEntry {
                epoch: header.producer_epoch,
                batches: Default::default(),
            });
        // ProducerStateEntry.maybeUpdateProducerEpoch: a new epoch forgets the old batches.
        if e.epoch != header.producer_epoch {
            e.epoch = header.producer_epoch;
            e.batches.clear();
        }
        if e.batches.len() == PRODUCER_BATCHES_TO_RETAIN {
            e.batches.pop_front();
        }
        e.batches.push_back(BatchMeta {
            first_seq: header.base_sequence,
            last_seq: header.last_sequence(),
            first_offset: base_offset,
            max_timestamp: header.max_timestamp,
        });
    }
    Ok(Appended {
        base_offset,
        log_append_time: -1,
        log_start_offset: lso,
        appended: true,
    })
}
