//! CreateTopics (key 19). Any node accepts it (Kafka 4 brokers forward it to the controller).
//!
//! Per topic, in Kafka's order: a name given twice in one request → INVALID_REQUEST for each;
//! invalid name → INVALID_TOPIC_EXCEPTION; existing (hidden included) → TOPIC_ALREADY_EXISTS;
//! manual assignments together with partitions/replication factor → INVALID_REQUEST;
//! partitions 0 or < -1 → INVALID_PARTITIONS; replication factor 0, < -1 or above the node count
//! → INVALID_REPLICATION_FACTOR; an assignment naming an unknown node →
//! INVALID_REPLICA_ASSIGNMENT. -1 means the broker default (1 partition, replication 1).
//! Leaders round-robin over the nodes, or the first broker of each manual assignment.
//! `validate_only` checks without creating.
//!
//! Deviations: topic configs are accepted and ignored (v5+ answers an empty config list), and
//! every partition has one replica whatever the replication factor.

use std::collections::HashMap;

use kafka_protocol::messages::create_topics_request::CreateTopicsRequest;
use kafka_protocol::messages::create_topics_response::{CreatableTopicResult, CreateTopicsResponse};
use kafka_protocol::protocol::StrBytes;

use super::api_03_metadata::valid_name;
use super::code;
use crate::cluster::{lock, Shared};

pub(crate) fn handle(shared: &Shared, version: i16, req: &CreateTopicsRequest) -> CreateTopicsResponse {
    let node_ids = shared.node_ids();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for t in &req.topics {
        *seen.entry(t.name.0.as_str()).or_default() += 1;
    }
    let mut state = lock(&shared.state);
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let name = t.name.0.as_str();
            let mut r = CreatableTopicResult::default().with_name(t.name.clone());
            let fail = |mut r: CreatableTopicResult, code: i16, msg: String| {
                r.error_code = code;
                r.error_message = Some(StrBytes::from_string(msg));
                if version >= 5 {
                    r.num_partitions = -1;
                    r.replication_factor = -1;
                }
                r
            };
            if seen.get(name).copied().unwrap_or(0) > 1 {
                return fail(r, code::INVALID_REQUEST, format!("Create topics request from client contains duplicate topic '{name}'."));
            }
            if !valid_name(name) {
                return fail(r, code::INVALID_TOPIC_EXCEPTION, format!("Topic name '{name}' is illegal."));
            }
            if state.topics.contains_key(name) {
                return fail(r, code::TOPIC_ALREADY_EXISTS, format!("Topic '{name}' already exists."));
            }
            let leaders: Vec<i32> = if !t.assignments.is_empty() {
                if t.num_partitions != -1 || t.replication_factor != -1 {
                    return fail(
                        r,
                        code::INVALID_REQUEST,
                        "Both numPartitions or replicationFactor and replicasAssignments were set.".into(),
                    );
                }
                let mut a: Vec<_> = t.assignments.iter().collect();
                a.sort_by_key(|a| a.partition_index);
                let contiguous = a.iter().enumerate().all(|(i, a)| a.partition_index == i as i32);
                let leaders: Option<Vec<i32>> = a
                    .iter()
                    .map(|a| a.broker_ids.first().map(|b| b.0).filter(|b| node_ids.contains(b)))
                    .collect();
                match leaders {
                    Some(l) if contiguous && a.iter().all(|a| a.broker_ids.iter().all(|b| node_ids.contains(&b.0))) => l,
                    _ => return fail(r, code::INVALID_REPLICA_ASSIGNMENT, "Invalid replica assignment.".into()),
                }
            } else {
                let partitions = if t.num_partitions == -1 { 1 } else { t.num_partitions };
                if partitions <= 0 {
                    return fail(r, code::INVALID_PARTITIONS, "Number of partitions must be larger than 0.".into());
                }
                let rf = if t.replication_factor == -1 { 1 } else { i32::from(t.replication_factor) };
                if rf <= 0 || rf as usize > node_ids.len() {
                    return fail(
                        r,
                        code::INVALID_REPLICATION_FACTOR,
                        format!(
                            "Unable to replicate the partition {rf} time(s): The target replication factor of {rf} cannot be reached because only {} broker(s) are registered.",
                            node_ids.len()
                        ),
                    );
                }
                if req.validate_only {
                    vec![node_ids[0]; partitions as usize]
                } else {
                    state.round_robin(&node_ids, partitions)
                }
            };
            let partitions = leaders.len() as i32;
            if !req.validate_only {
                let id = state.add_topic(name, leaders);
                if version >= 7 {
                    r.topic_id = id;
                }
            }
            if version >= 5 {
                r.num_partitions = partitions;
                r.replication_factor = if t.replication_factor == -1 { 1 } else { t.replication_factor };
                r.configs = Some(Vec::new());
            }
            r.error_message = None;
            r
        })
        .collect();
    CreateTopicsResponse::default().with_topics(topics)
}
