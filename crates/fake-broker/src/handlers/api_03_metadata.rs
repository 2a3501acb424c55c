//! Metadata (key 3).
//!
//! Brokers: every node, stopped or not, at 127.0.0.1. Controller: the lowest running node.
//! Topics: all visible topics when the request's list is null (or empty at v0); named topics
//! that are unknown or hidden answer UNKNOWN_TOPIC_OR_PARTITION; v10+ lookups by topic id that
//! miss answer UNKNOWN_TOPIC_ID. Partitions: replication factor 1 (replicas = ISR = [leader]),
//! leader and leader epoch as set by `create_topic`/`set_leader`.
//!
//! Deviations from Kafka 4: a leader on a stopped node stays the leader (a real controller would
//! fence the node and elect another replica or report LEADER_NOT_AVAILABLE; tests move leaders
//! with `set_leader`); stopped nodes stay in the broker list; auto topic creation is off unless
//! `FakeCluster::set_auto_create_topics(true)` (then the topic is created with one partition and
//! returned at once, where Kafka first answers LEADER_NOT_AVAILABLE).

use kafka_protocol::messages::metadata_request::MetadataRequest;
use kafka_protocol::messages::metadata_response::{
    MetadataResponse, MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::code;
use crate::cluster::{lock, Shared, Topic};

/// AclOperation bits a Kafka broker reports for a topic / cluster the principal may do anything
/// with (READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, DESCRIBE_CONFIGS 10,
/// ALTER_CONFIGS 11; cluster adds CLUSTER_ACTION 9, IDEMPOTENT_WRITE 12).
const TOPIC_OPS: i32 =
    (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);
const CLUSTER_OPS: i32 = (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

pub(crate) const CLUSTER_ID: &str = "kaflow-fake-cluster";

pub(crate) fn handle(shared: &Shared, version: i16, req: &MetadataRequest) -> MetadataResponse {
    let brokers = shared
        .nodes
        .iter()
        .map(|n| {
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(n.id))
                .with_host(StrBytes::from_string(n.addr.ip().to_string()))
                .with_port(i32::from(n.addr.port()))
        })
        .collect();
    let controller = shared.running_node_ids().first().copied().unwrap_or(-1);
    let node_ids = shared.node_ids();

    let mut state = lock(&shared.state);
    let all = match &req.topics {
        None => true,
        Some(t) => version == 0 && t.is_empty(),
    };
    let mut topics = Vec::new();
    if all {
        for (name, t) in state.topics.iter().filter(|(_, t)| !t.hidden) {
            topics.push(topic_response(version, req, name, t));
        }
    } else {
        for rt in req.topics.iter().flatten() {
            // v10+ may name a topic by id (name null; an empty name with an id is read the same).
            let by_name = rt
                .name
                .as_ref()
                .filter(|n| !n.0.is_empty() || rt.topic_id.is_nil());
            match by_name {
                Some(name) => {
                    let name = name.0.as_str();
                    let auto = state.auto_create_topics && (version < 4 || req.allow_auto_topic_creation);
                    if auto && !state.topics.contains_key(name) && valid_name(name) {
                        let leaders = state.round_robin(&node_ids, 1);
                        state.add_topic(name, leaders);
                    }
                    match state.topics.get(name) {
                        Some(t) if !t.hidden => topics.push(topic_response(version, req, name, t)),
                        _ => topics.push(
                            MetadataResponseTopic::default()
                                .with_error_code(code::UNKNOWN_TOPIC_OR_PARTITION)
                                .with_name(Some(TopicName(StrBytes::from_string(name.to_string())))),
                        ),
                    }
                }
                None => match state.topic_by_id(rt.topic_id) {
                    Some((name, t)) if !t.hidden => topics.push(topic_response(version, req, name, t)),
                    _ => topics.push(
                        MetadataResponseTopic::default()
                            .with_error_code(code::UNKNOWN_TOPIC_ID)
                            .with_topic_id(rt.topic_id),
                    ),
                },
            }
        }
    }
    drop(state);

    let mut resp = MetadataResponse::default()
        .with_brokers(brokers)
        .with_topics(topics);
    if version >= 1 {
        resp.controller_id = BrokerId(controller);
    }
    if version >= 2 {
        resp.cluster_id = Some(StrBytes::from_static_str(CLUSTER_ID));
    }
    if (8..=10).contains(&version) && req.include_cluster_authorized_operations {
        resp.cluster_authorized_operations = CLUSTER_OPS;
    }
    resp
}

fn topic_response(version: i16, req: &MetadataRequest, name: &str, t: &Topic) -> MetadataResponseTopic {
    let partitions = t
        .partitions
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut r = MetadataResponsePartition::default()
                .with_partition_index(i as i32)
                .with_leader_id(BrokerId(p.leader))
                .with_replica_nodes(vec![BrokerId(p.leader)])
                .with_isr_nodes(vec![BrokerId(p.leader)]);
            if version >= 7 {
                r.leader_epoch = p.leader_epoch;
            }
            r
        })
        .collect();
    let mut r = MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(name.to_string()))))
        .with_partitions(partitions);
    if version >= 10 {
        r.topic_id = t.id;
    }
    if version >= 8 && req.include_topic_authorized_operations {
        r.topic_authorized_operations = TOPIC_OPS;
    }
    r
}

/// Kafka's topic name rule: 1-249 of `[a-zA-Z0-9._-]`, not "." or "..".
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || c == b'-')
}
