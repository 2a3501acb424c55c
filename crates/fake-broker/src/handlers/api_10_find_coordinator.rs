//! FindCoordinator (key 10).
//!
//! Key types 0 (group) and 1 (transaction); others get INVALID_REQUEST. The coordinator is a
//! running node picked by a stable hash of the key (like Kafka's hash of the key onto
//! `__consumer_offsets` / `__transaction_state` partitions, so it moves when its node stops);
//! with no node running, COORDINATOR_NOT_AVAILABLE. v0-3 answer one key, v4+ a list.
//!
//! Deviation: the fake implements no group or transaction APIs behind the coordinator; this only
//! tells clients where one would be.

use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::find_coordinator_response::{Coordinator, FindCoordinatorResponse};
use kafka_protocol::messages::BrokerId;
use kafka_protocol::protocol::StrBytes;

use super::{code, endpoint};
use crate::cluster::Shared;

pub(crate) fn handle(shared: &Shared, version: i16, req: &FindCoordinatorRequest) -> FindCoordinatorResponse {
    let running = shared.running_node_ids();
    let pick = |key: &str| -> Result<(i32, StrBytes, i32), i16> {
        if !(0..=1).contains(&req.key_type) {
            return Err(code::INVALID_REQUEST);
        }
        if running.is_empty() {
            return Err(code::COORDINATOR_NOT_AVAILABLE);
        }
        let node = running[(fnv1a(key) % running.len() as u64) as usize];
        let (host, port) = endpoint(shared, node);
        Ok((node, host, port))
    };
    if version < 4 {
        let mut resp = FindCoordinatorResponse::default();
        match pick(req.key.as_str()) {
            Ok((node, host, port)) => {
                resp.node_id = BrokerId(node);
                resp.host = host;
                resp.port = port;
                if version >= 1 {
                    resp.error_message = None;
                }
            }
            Err(e) => {
                resp.error_code = e;
                resp.node_id = BrokerId(-1);
                resp.port = -1;
                if version >= 1 {
                    resp.error_message = None;
                }
            }
        }
        if version == 0 {
            resp.error_message = Some(StrBytes::default());
        }
        resp
    } else {
        let coordinators = req
            .coordinator_keys
            .iter()
            .map(|k| {
                let c = Coordinator::default().with_key(k.clone());
                match pick(k.as_str()) {
                    Ok((node, host, port)) => c.with_node_id(BrokerId(node)).with_host(host).with_port(port),
                    Err(e) => c.with_error_code(e).with_node_id(BrokerId(-1)).with_port(-1),
                }
            })
            .collect();
        FindCoordinatorResponse::default().with_coordinators(coordinators)
    }
}

/// 64-bit FNV-1a: stable across runs (unlike std's RandomState).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
