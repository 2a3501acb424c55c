//! The cluster metadata cache: brokers, topics, partition leaders and leader epochs.
//!
//! A refresh merges into the cache instead of replacing it:
//! - a topic the answer calls unknown keeps its last known entry (marked `missing_since`): a
//!   topic briefly absent from one broker's metadata (it is being created, or that broker lags)
//!   must not drop producers' per-partition state (librdkafka v1.9.0 lost sequence state this way);
//! - a partition whose new leader epoch is older than the cached one keeps the cached leader: the
//!   answer came from a broker that hasn't caught up (KIP-320).

use kafka_protocol::messages::MetadataResponse;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// A broker's advertised address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAddr {
    /// Node id.
    pub id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
    /// `broker.rack`, if set.
    pub rack: Option<String>,
}

impl BrokerAddr {
    /// `host:port`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// One partition's placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// Partition index.
    pub partition: i32,
    /// Leader node id (-1: no leader right now).
    pub leader: i32,
    /// The leader's epoch (-1 when unknown).
    pub leader_epoch: i32,
    /// Replica node ids.
    pub replicas: Vec<i32>,
    /// In-sync replica node ids.
    pub isr: Vec<i32>,
    /// Partition-level error code from the last answer (0: none).
    pub error: i16,
}

/// One topic.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicInfo {
    /// Topic name.
    pub name: String,
    /// Topic id (KIP-516), all zeros if the broker didn't send one.
    pub id: uuid::Uuid,
    /// Partitions by index.
    pub partitions: Vec<PartitionInfo>,
    /// Internal topic (`__consumer_offsets`, ...).
    pub internal: bool,
    /// Set while the latest answers call the topic unknown; the entry is the last one known.
    pub missing_since: Option<Instant>,
}

/// A snapshot of cluster metadata.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    /// The cluster id.
    pub cluster_id: Option<String>,
    /// The controller's node id (-1 unknown). In KRaft clusters this is a random broker.
    pub controller_id: i32,
    /// Live brokers by id.
    pub brokers: BTreeMap<i32, BrokerAddr>,
    /// Topics by name.
    pub topics: HashMap<String, TopicInfo>,
}

impl Metadata {
    /// Partition `p` of `topic`, if known.
    pub fn partition(&self, topic: &str, p: i32) -> Option<&PartitionInfo> {
        self.topics.get(topic)?.partitions.get(usize::try_from(p).ok()?)
    }

    /// Number of partitions of `topic`, if known.
    pub fn partition_count(&self, topic: &str) -> Option<i32> {
        self.topics.get(topic).map(|t| t.partitions.len() as i32)
    }

    /// Merges a Metadata answer into a new snapshot (rules in the module docs). Returns the
    /// snapshot and, per requested topic, its error code when the answer had one.
    pub fn merged(&self, resp: &MetadataResponse) -> (Metadata, HashMap<String, i16>) {
        let mut next = self.clone();
        let mut errors = HashMap::new();
        if let Some(id) = &resp.cluster_id {
            next.cluster_id = Some(id.to_string());
        }
        next.controller_id = resp.controller_id.0;
        if !resp.brokers.is_empty() {
            next.brokers = resp
                .brokers
                .iter()
                .map(|b| {
                    (
                        b.node_id.0,
                        BrokerAddr {
                            id: b.node_id.0,
                            host: b.host.to_string(),
                            port: b.port,
                            rack: b.rack.as_ref().map(|r| r.to_string()),
                        },
                    )
                })
                .collect();
        }
        for t in &resp.topics {
            let Some(name) = t.name.as_ref().map(|n| n.0.to_string()) else {
                continue;
            };
            if t.error_code != 0 {
                errors.insert(name.clone(), t.error_code);
                if let Some(old) = next.topics.get_mut(&name) {
                    old.missing_since.get_or_insert_with(Instant::now);
                }
                continue;
            }
            let mut partitions: Vec<PartitionInfo> = t
                .partitions
                .iter()
                .map(|p| PartitionInfo {
                    partition: p.partition_index,
                    leader: p.leader_id.0,
                    leader_epoch: p.leader_epoch,
                    replicas: p.replica_nodes.iter().map(|r| r.0).collect(),
                    isr: p.isr_nodes.iter().map(|r| r.0).collect(),
                    error: p.error_code,
                })
                .collect();
            partitions.sort_by_key(|p| p.partition);
            if let Some(old) = self.topics.get(&name) {
                for p in partitions.iter_mut() {
                    if let Some(o) = old.partitions.get(p.partition as usize) {
                        if p.leader_epoch >= 0 && o.leader_epoch > p.leader_epoch {
                            *p = o.clone();
                        }
                    }
                }
            }
            next.topics.insert(
                name.clone(),
                TopicInfo {
                    name,
                    id: t.topic_id,
                    partitions,
                    internal: t.is_internal,
                    missing_since: None,
                },
            );
        }
        (next, errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::metadata_response::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };
    use kafka_protocol::messages::{BrokerId, TopicName};
    use kafka_protocol::protocol::StrBytes;

    fn answer(topic: &str, error: i16, leader: i32, epoch: i32) -> MetadataResponse {
        let part = MetadataResponsePartition::default()
            .with_partition_index(0)
            .with_leader_id(BrokerId(leader))
            .with_leader_epoch(epoch);
        MetadataResponse::default()
            .with_brokers(vec![MetadataResponseBroker::default()
                .with_node_id(BrokerId(1))
                .with_host(StrBytes::from_static_str("127.0.0.1"))
                .with_port(9092)])
            .with_topics(vec![MetadataResponseTopic::default()
                .with_name(Some(TopicName(StrBytes::from_string(topic.to_string()))))
                .with_error_code(error)
                .with_partitions(if error == 0 { vec![part] } else { vec![] })])
    }

    #[test]
    fn topic_briefly_missing_keeps_its_entry() {
        let (m, _) = Metadata::default().merged(&answer("t", 0, 1, 3));
        let (m, errs) = m.merged(&answer("t", 3, 0, 0));
        assert_eq!(errs.get("t"), Some(&3));
        let t = m.topics.get("t").expect("kept");
        assert!(t.missing_since.is_some());
        assert_eq!(t.partitions[0].leader, 1);
        let (m, _) = m.merged(&answer("t", 0, 1, 4));
        assert!(m.topics["t"].missing_since.is_none());
    }

    #[test]
    fn older_leader_epoch_does_not_win() {
        let (m, _) = Metadata::default().merged(&answer("t", 0, 2, 7));
        let (m, _) = m.merged(&answer("t", 0, 1, 5));
        assert_eq!(m.partition("t", 0).unwrap().leader, 2);
        let (m, _) = m.merged(&answer("t", 0, 3, 8));
        assert_eq!(m.partition("t", 0).unwrap().leader, 3);
    }
}
