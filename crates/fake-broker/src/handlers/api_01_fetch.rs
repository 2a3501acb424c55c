//! Fetch (key 1): returns stored batches from an offset, with long polling.
//!
//! Per partition: unknown or hidden topic → UNKNOWN_TOPIC_OR_PARTITION (UNKNOWN_TOPIC_ID for a
//! v13+ topic id); not the leader → NOT_LEADER_OR_FOLLOWER with the current leader (v12+) and
//! its endpoint (v16+); `current_leader_epoch` (v9+) older / newer than ours →
//! FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH; offset outside [log start, log end] →
//! OFFSET_OUT_OF_RANGE. Otherwise whole stored batches starting with the one that holds the
//! fetch offset (as Kafka does: the client skips records below its offset), within
//! `partition_max_bytes` and `max_bytes` except that the first batch of the response always goes
//! out whole. High watermark = last stable offset = log end offset (RF=1, no transactions).
//! When fewer than `min_bytes` are ready, waits up to `max_wait_ms` for an append.
//!
//! Deviations: no fetch sessions (session id 0 is always answered, so clients keep sending full
//! requests; a non-zero session id gets FETCH_SESSION_ID_NOT_FOUND); no follower fetching, no
//! `last_fetched_epoch` divergence check, no aborted transactions (empty list for
//! read_committed).

use std::time::{Duration, Instant};

use kafka_protocol::messages::fetch_request::FetchRequest;
use kafka_protocol::messages::fetch_response::{
    FetchResponse, FetchableTopicResponse, LeaderIdAndEpoch, NodeEndpoint, PartitionData,
};
use kafka_protocol::messages::BrokerId;

use super::{check_leader_epoch, code, endpoint, leader_partition};
use crate::cluster::{lock, Shared};

pub(crate) async fn handle(shared: &Shared, node: i32, version: i16, req: &FetchRequest) -> FetchResponse {
    if version >= 7 && req.session_id != 0 {
        return FetchResponse::default().with_error_code(code::FETCH_SESSION_ID_NOT_FOUND);
    }
    let wait = Duration::from_millis(u64::try_from(req.max_wait_ms).unwrap_or(0));
    let deadline = Instant::now() + wait;
    loop {
        // Register for the append notification before reading the logs, so an append between
        // the read and the wait is not missed.
        let notified = shared.appended.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let (resp, bytes, errors) = build(shared, node, version, req);
        let now = Instant::now();
        if bytes >= i64::from(req.min_bytes) || errors || now >= deadline {
            return resp;
        }
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep(deadline - now) => {}
        }
    }
}

/// One pass over the request: the response, the record bytes in it, whether any partition erred.
fn build(shared: &Shared, node: i32, version: i16, req: &FetchRequest) -> (FetchResponse, i64, bool) {
    let mut total: i64 = 0;
    let mut errors = false;
    let mut leader_hints = Vec::new();
    let response_limit = if req.max_bytes > 0 {
        i64::from(req.max_bytes)
    } else {
        i64::MAX
    };
    let mut state = lock(&shared.state);
    let mut topics = Vec::with_capacity(req.topics.len());
    for t in &req.topics {
        let (name, unknown_code) = if version >= 13 {
            match state.topic_by_id(t.topic_id) {
                Some((n, topic)) if !topic.hidden => (Some(n.clone()), code::UNKNOWN_TOPIC_OR_PARTITION),
                _ => (None, code::UNKNOWN_TOPIC_ID),
            }
        } else {
            (Some(t.topic.0.to_string()), code::UNKNOWN_TOPIC_OR_PARTITION)
        };
        let mut partitions = Vec::with_capacity(t.partitions.len());
        for fp in &t.partitions {
            let mut pd = PartitionData::default().with_partition_index(fp.partition);
            pd.aborted_transactions = (req.isolation_level == 1).then(Vec::new);
            let Some(name) = &name else {
                pd.error_code = unknown_code;
                errors = true;
                partitions.push(pd);
                continue;
            };
            let p = match leader_partition(&mut state, node, name, fp.partition) {
                Ok(p) => p,
                Err(e) => {
                    pd.error_code = e;
                    errors = true;
                    if e == code::NOT_LEADER_OR_FOLLOWER && version >= 12 {
                        if let Some(p) = state
                            .topics
                            .get(name)
                            .and_then(|t| t.partitions.get(fp.partition as usize))
                        {
                            pd.current_leader = LeaderIdAndEpoch::default()
                                .with_leader_id(BrokerId(p.leader))
                                .with_leader_epoch(p.leader_epoch);
                            leader_hints.push(p.leader);
                        }
                    }
                    partitions.push(pd);
                    continue;
                }
            };
            pd.high_watermark = p.log_end_offset;
            pd.last_stable_offset = p.log_end_offset;
            if version >= 5 {
                pd.log_start_offset = p.log_start_offset;
            }
            if let Err(e) = check_leader_epoch(p, if version >= 9 { fp.current_leader_epoch } else { -1 }) {
                pd.error_code = e;
                errors = true;
                partitions.push(pd);
                continue;
            }
            if fp.fetch_offset < p.log_start_offset || fp.fetch_offset > p.log_end_offset {
                pd.error_code = code::OFFSET_OUT_OF_RANGE;
                errors = true;
                partitions.push(pd);
                continue;
            }
            let partition_limit = i64::from(fp.partition_max_bytes.max(0));
            let mut out = bytes::BytesMut::new();
            for b in p.batches.iter().filter(|b| b.last_offset >= fp.fetch_offset) {
                let len = b.bytes.len() as i64;
                let first_of_response = total == 0 && out.is_empty();
                if !first_of_response
                    && (out.len() as i64 + len > partition_limit
                        || total + out.len() as i64 + len > response_limit)
                {
                    break;
                }
                out.extend_from_slice(&b.bytes);
            }
            total += out.len() as i64;
            pd.records = Some(out.freeze());
            partitions.push(pd);
        }
        let mut tr = FetchableTopicResponse::default().with_partitions(partitions);
        if version >= 13 {
            tr.topic_id = t.topic_id;
        } else {
            tr.topic = t.topic.clone();
        }
        topics.push(tr);
    }
    drop(state);
    let mut resp = FetchResponse::default().with_responses(topics);
    if version >= 16 {
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
    (resp, total, errors)
}
