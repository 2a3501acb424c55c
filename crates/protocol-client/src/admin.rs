//! Admin operations: topics, offsets, cluster description, topic configs.
//!
//! ```text
//!  create/delete topics, describe/alter configs ──▶ any broker (KRaft brokers forward to the controller)
//!  list offsets ──▶ each partition's leader (grouped per leader, one request each)
//!  describe cluster ──▶ fresh Metadata
//! ```
//! Retriable broker errors (a leader moving, a controller not yet elected) are retried with
//! backoff until `request.timeout.ms`-bounded attempts run out; every other error is returned.

use crate::broker::Traffic;
use crate::cluster::Cluster;
use crate::config::backoff;
use crate::error::{BrokerError, Error, Outcome, Result};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A topic to create.
#[derive(Debug, Clone)]
pub struct NewTopic {
    /// Name.
    pub name: String,
    /// Partitions (-1: the broker's `num.partitions`).
    pub partitions: i32,
    /// Replication factor (-1: the broker's `default.replication.factor`).
    pub replication_factor: i16,
    /// Topic configs (`cleanup.policy`, `min.insync.replicas`, ...).
    pub configs: BTreeMap<String, String>,
}

impl NewTopic {
    /// A topic with `partitions` partitions and the broker's default replication factor.
    pub fn new(name: &str, partitions: i32) -> Self {
        Self {
            name: name.to_string(),
            partitions,
            replication_factor: -1,
            configs: BTreeMap::new(),
        }
    }

    /// Sets the replication factor.
    pub fn replication_factor(mut self, rf: i16) -> Self {
        self.replication_factor = rf;
        self
    }

    /// Adds a topic config.
    pub fn config(mut self, key: &str, value: &str) -> Self {
        self.configs.insert(key.to_string(), value.to_string());
        self
    }
}

/// Which offset ListOffsets looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The log end offset (high watermark for read_uncommitted).
    Latest,
    /// The first offset whose timestamp is at or after this (ms since the epoch).
    Timestamp(i64),
}

impl OffsetSpec {
    fn wire(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::Timestamp(t) => t,
        }
    }
}

/// A partition's offset answer: `offset` -1 when no record matches a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedOffset {
    /// The offset.
    pub offset: i64,
    /// The matched record's timestamp (-1 for earliest/latest).
    pub timestamp: i64,
    /// The leader epoch of that offset (-1 unknown).
    pub leader_epoch: i32,
}

/// The cluster as Metadata describes it.
#[derive(Debug, Clone)]
pub struct ClusterDescription {
    /// The cluster id.
    pub cluster_id: Option<String>,
    /// The controller id the brokers report.
    pub controller_id: i32,
    /// Live brokers: (id, host:port, rack).
    pub brokers: Vec<(i32, String, Option<String>)>,
}

/// Admin client.
#[derive(Debug, Clone)]
pub struct Admin {
    cluster: Arc<Cluster>,
}

fn broker_error(api: &'static str, broker: i32, code: i16, message: Option<&StrBytes>) -> Error {
    BrokerError {
        error: ResponseError::try_from_code(code).unwrap_or(ResponseError::Unknown(code)),
        api,
        broker,
        message: message.map(|m| m.to_string()),
    }
    .into()
}

impl Admin {
    /// An admin client on an existing cluster core.
    pub fn new(cluster: Arc<Cluster>) -> Self {
        Self { cluster }
    }

    /// Connects with `config`.
    pub async fn connect(config: crate::ClientConfig) -> Result<Self> {
        Ok(Self::new(Cluster::connect(config).await?))
    }

    /// The cluster core.
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    /// Retries `op` on retriable errors with backoff, a bounded number of times.
    async fn retrying<T, F, Fut>(&self, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let cfg = self.cluster.config();
        let mut attempt = 0;
        loop {
            match op().await {
                Err(e) if e.outcome() == Outcome::Retriable && attempt < 10 => {
                    attempt += 1;
                    tracing::debug!(error = %e, attempt, "admin request failed; retrying");
                    tokio::time::sleep(backoff(cfg.retry_backoff, cfg.retry_backoff_max, attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// Creates topics. Each topic's result is returned separately (`TOPIC_ALREADY_EXISTS` is
    /// error code 36); the call itself fails only if no broker answered.
    pub async fn create_topics(&self, topics: &[NewTopic]) -> Result<Vec<(String, Result<()>)>> {
        let timeout_ms = self.cluster.config().request_timeout.as_millis() as i32;
        let req = CreateTopicsRequest::default()
            .with_timeout_ms(timeout_ms)
            .with_topics(
                topics
                    .iter()
                    .map(|t| {
                        CreatableTopic::default()
                            .with_name(TopicName(StrBytes::from_string(t.name.clone())))
                            .with_num_partitions(t.partitions)
                            .with_replication_factor(t.replication_factor)
                            .with_configs(
                                t.configs
                                    .iter()
                                    .map(|(k, v)| {
                                        CreatableTopicConfig::default()
                                            .with_name(StrBytes::from_string(k.clone()))
                                            .with_value(Some(StrBytes::from_string(v.clone())))
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            );
        let (broker, resp) = self
            .retrying(|| async {
                let (broker, conn) = self.cluster.any_connection(Traffic::Admin).await?;
                Ok((broker, conn.send(&req).await?))
            })
            .await?;
        Ok(resp
            .topics
            .iter()
            .map(|t| {
                let r = if t.error_code == 0 {
                    Ok(())
                } else {
                    Err(broker_error(
                        "CreateTopics",
                        broker,
                        t.error_code,
                        t.error_message.as_ref(),
                    ))
                };
                (t.name.0.to_string(), r)
            })
            .collect())
    }

    /// Creates one topic and waits until every partition has a leader in metadata.
    pub async fn create_topic(&self, topic: NewTopic) -> Result<()> {
        let name = topic.name.clone();
        for (_, r) in self.create_topics(&[topic]).await? {
            r?;
        }
        self.cluster
            .await_topic(&name, self.cluster.config().request_timeout)
            .await?;
        Ok(())
    }

    /// Deletes topics by name; per-topic results.
    pub async fn delete_topics(&self, names: &[&str]) -> Result<Vec<(String, Result<()>)>> {
        let timeout_ms = self.cluster.config().request_timeout.as_millis() as i32;
        let (broker, conn) = self.cluster.any_connection(Traffic::Admin).await?;
        let version = conn.version::<DeleteTopicsRequest>()?;
        let mut req = DeleteTopicsRequest::default().with_timeout_ms(timeout_ms);
        // v6 names topics in `topics` (KIP-516), older versions in `topic_names`.
        if version >= 6 {
            req.topics = names
                .iter()
                .map(|n| {
                    DeleteTopicState::default()
                        .with_name(Some(TopicName(StrBytes::from_string(n.to_string()))))
                })
                .collect();
        } else {
            req.topic_names = names
                .iter()
                .map(|n| TopicName(StrBytes::from_string(n.to_string())))
                .collect();
        }
        let resp = conn.send_at(&req, version).await?;
        Ok(resp
            .responses
            .iter()
            .map(|t| {
                let name = t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default();
                let r = if t.error_code == 0 {
                    Ok(())
                } else {
                    Err(broker_error(
                        "DeleteTopics",
                        broker,
                        t.error_code,
                        t.error_message.as_ref(),
                    ))
                };
                (name, r)
            })
            .collect())
    }

    /// Offsets of `partitions` of `topic` (all partitions when empty), asked of each leader.
    pub async fn list_offsets(
        &self,
        topic: &str,
        partitions: &[i32],
        spec: OffsetSpec,
    ) -> Result<HashMap<i32, ListedOffset>> {
        self.list_offsets_isolated(topic, partitions, spec, 0).await
    }

    /// [`Self::list_offsets`] with an isolation level (0 read_uncommitted, 1 read_committed:
    /// `Latest` is then the last stable offset, as a read_committed consumer needs).
    pub async fn list_offsets_isolated(
        &self,
        topic: &str,
        partitions: &[i32],
        spec: OffsetSpec,
        isolation_level: i8,
    ) -> Result<HashMap<i32, ListedOffset>> {
        self.retrying(|| self.list_offsets_once(topic, partitions, spec, isolation_level))
            .await
    }

    async fn list_offsets_once(
        &self,
        topic: &str,
        partitions: &[i32],
        spec: OffsetSpec,
        isolation_level: i8,
    ) -> Result<HashMap<i32, ListedOffset>> {
        let md = self
            .cluster
            .await_topic(topic, self.cluster.config().request_timeout)
            .await?;
        let info = md
            .topics
            .get(topic)
            .ok_or_else(|| Error::UnknownTopicOrPartition(topic.to_string()))?;
        let wanted: Vec<i32> = if partitions.is_empty() {
            info.partitions.iter().map(|p| p.partition).collect()
        } else {
            partitions.to_vec()
        };
        let mut by_leader: BTreeMap<i32, Vec<(i32, i32)>> = BTreeMap::new();
        for p in wanted {
            let pi = md
                .partition(topic, p)
                .ok_or_else(|| Error::UnknownTopicOrPartition(format!("{topic}-{p}")))?;
            by_leader.entry(pi.leader).or_default().push((p, pi.leader_epoch));
        }
        let mut out = HashMap::new();
        for (leader, parts) in by_leader {
            let conn = self.cluster.broker(leader)?.connection(Traffic::Admin).await?;
            let req = ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_isolation_level(isolation_level)
                .with_topics(vec![ListOffsetsTopic::default()
                    .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                    .with_partitions(
                        parts
                            .iter()
                            .map(|&(p, epoch)| {
                                ListOffsetsPartition::default()
                                    .with_partition_index(p)
                                    .with_current_leader_epoch(epoch)
                                    .with_timestamp(spec.wire())
                            })
                            .collect(),
                    )]);
            let resp = conn.send(&req).await?;
            for t in &resp.topics {
                for p in &t.partitions {
                    if p.error_code != 0 {
                        // A stale leader: refresh so the retry asks the right broker.
                        let _ = self.cluster.refresh(&[topic]).await;
                        return Err(broker_error("ListOffsets", leader, p.error_code, None));
                    }
                    out.insert(
                        p.partition_index,
                        ListedOffset {
                            offset: p.offset,
                            timestamp: p.timestamp,
                            leader_epoch: p.leader_epoch,
                        },
                    );
                }
            }
        }
        Ok(out)
    }

    /// Every topic name in the cluster (internal topics included), from a Metadata request
    /// for all topics.
    pub async fn list_topics(&self) -> Result<Vec<String>> {
        self.retrying(|| async {
            let (_, conn) = self.cluster.any_connection(Traffic::Admin).await?;
            let req = kafka_protocol::messages::MetadataRequest::default()
                .with_topics(None)
                .with_allow_auto_topic_creation(false);
            let resp = conn.send(&req).await?;
            let mut names: Vec<String> = resp
                .topics
                .iter()
                .filter(|t| t.error_code == 0)
                .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
                .collect();
            names.sort();
            Ok(names)
        })
        .await
    }

    /// Each topic's partition count, `None` for a topic that doesn't exist. Asks Metadata
    /// with auto-creation off, so looking never creates a topic (the cluster metadata cache's
    /// refresh allows it, as producers do).
    pub async fn topic_partition_counts(&self, topics: &[&str]) -> Result<BTreeMap<String, Option<i32>>> {
        const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
        let req = kafka_protocol::messages::MetadataRequest::default()
            .with_topics(Some(
                topics
                    .iter()
                    .map(|t| {
                        kafka_protocol::messages::metadata_request::MetadataRequestTopic::default()
                            .with_name(Some(TopicName(StrBytes::from_string(t.to_string()))))
                    })
                    .collect(),
            ))
            .with_allow_auto_topic_creation(false);
        self.retrying(|| async {
            let (broker, conn) = self.cluster.any_connection(Traffic::Admin).await?;
            let resp = conn.send(&req).await?;
            let mut out = BTreeMap::new();
            for t in &resp.topics {
                let Some(name) = t.name.as_ref().map(|n| n.0.to_string()) else {
                    continue;
                };
                let count = match t.error_code {
                    0 => Some(t.partitions.len() as i32),
                    UNKNOWN_TOPIC_OR_PARTITION => None,
                    c => return Err(broker_error("Metadata", broker, c, None)),
                };
                out.insert(name, count);
            }
            Ok(out)
        })
        .await
    }

    /// The cluster's id, controller and live brokers, from fresh metadata.
    pub async fn describe_cluster(&self) -> Result<ClusterDescription> {
        self.cluster.refresh(&[]).await?;
        let md = self.cluster.metadata();
        Ok(ClusterDescription {
            cluster_id: md.cluster_id.clone(),
            controller_id: md.controller_id,
            brokers: md
                .brokers
                .values()
                .map(|b| (b.id, b.addr(), b.rack.clone()))
                .collect(),
        })
    }

    /// A topic's configs (every key the broker reports, with its effective value).
    pub async fn describe_topic_configs(&self, topic: &str) -> Result<BTreeMap<String, Option<String>>> {
        const TOPIC: i8 = 2;
        let req = DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(TOPIC)
            .with_resource_name(StrBytes::from_string(topic.to_string()))
            .with_configuration_keys(None)]);
        let (broker, resp) = self
            .retrying(|| async {
                let (broker, conn) = self.cluster.any_connection(Traffic::Admin).await?;
                Ok((broker, conn.send(&req).await?))
            })
            .await?;
        let mut out = BTreeMap::new();
        for r in &resp.results {
            if r.error_code != 0 {
                return Err(broker_error(
                    "DescribeConfigs",
                    broker,
                    r.error_code,
                    r.error_message.as_ref(),
                ));
            }
            for c in &r.configs {
                out.insert(c.name.to_string(), c.value.as_ref().map(|v| v.to_string()));
            }
        }
        Ok(out)
    }

    /// Sets (`Some`) or deletes (`None`, back to the default) topic configs
    /// (IncrementalAlterConfigs, KIP-339).
    pub async fn alter_topic_configs(&self, topic: &str, changes: &[(&str, Option<&str>)]) -> Result<()> {
        const TOPIC: i8 = 2;
        const SET: i8 = 0;
        const DELETE: i8 = 1;
        let req =
            IncrementalAlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default()
                .with_resource_type(TOPIC)
                .with_resource_name(StrBytes::from_string(topic.to_string()))
                .with_configs(
                    changes
                        .iter()
                        .map(|(k, v)| {
                            AlterableConfig::default()
                                .with_name(StrBytes::from_string(k.to_string()))
                                .with_config_operation(if v.is_some() { SET } else { DELETE })
                                .with_value(v.map(|v| StrBytes::from_string(v.to_string())))
                        })
                        .collect(),
                )]);
        let (broker, conn) = self.cluster.any_connection(Traffic::Admin).await?;
        let resp = conn.send(&req).await?;
        for r in &resp.responses {
            if r.error_code != 0 {
                return Err(broker_error(
                    "IncrementalAlterConfigs",
                    broker,
                    r.error_code,
                    r.error_message.as_ref(),
                ));
            }
        }
        Ok(())
    }
}
