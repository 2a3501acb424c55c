//! Committed offsets: OffsetCommit, OffsetFetch, OffsetDelete and DeleteGroups against the
//! group coordinator.
//!
//! ```text
//!  commit(offsets, generation) ──▶ OffsetCommit(generation id, member id, group.instance.id)
//!      │  COORDINATOR_LOAD_IN_PROGRESS, UNKNOWN_TOPIC_OR_PARTITION, REQUEST_TIMED_OUT: retry
//!      │  NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE: find the coordinator again, retry
//!      │  REBALANCE_IN_PROGRESS / ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID ──▶ CommitFailed
//!      │  FENCED_INSTANCE_ID ──▶ Fenced;  anything else ──▶ the broker's error
//!      ▼                          (retries bounded by default.api.timeout.ms)
//!  fetch_committed(group, partitions) ──▶ OffsetFetch (batched groups form from v8, KIP-709),
//!                                         require_stable (KIP-447): pending transactional
//!                                         offsets are waited out (UNSTABLE_OFFSET_COMMIT)
//!  delete_offsets(group, partitions) ──▶ OffsetDelete (KIP-496): refused for topics live
//!                                         members subscribe to (GROUP_SUBSCRIBED_TO_TOPIC)
//!  delete_group(group) ──▶ DeleteGroups: the group and all its offsets; NON_EMPTY_GROUP while
//!                          members are live; GROUP_ID_NOT_FOUND is success (idempotent)
//! ```
//! Commits are only as good as the generation they carry: a member whose partitions moved
//! gets [`GroupError::CommitFailed`], never a silent success (invariant I12 depends on it).

use super::coordinator::Coordinator;
use super::membership::Generation;
use super::{codes, response_error, GroupError, TopicPartition};
use crate::cluster::Cluster;
use crate::config::backoff;
use crate::error::{BrokerError, Error, Outcome, Result};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::{GroupId, OffsetCommitRequest, OffsetFetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// An offset to commit, or one committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetAndMetadata {
    /// The next offset to consume.
    pub offset: i64,
    /// The leader epoch of the last consumed record (KIP-320), if known.
    pub leader_epoch: Option<i32>,
    /// Free-form metadata stored with the offset.
    pub metadata: String,
}

impl OffsetAndMetadata {
    /// `offset` with no epoch and empty metadata.
    pub fn new(offset: i64) -> Self {
        Self {
            offset,
            leader_epoch: None,
            metadata: String::new(),
        }
    }
}

/// The committed offset of a partition, as OffsetFetch reports it.
pub type CommittedOffset = OffsetAndMetadata;

/// The member a commit speaks for: generation, member id and `group.instance.id`. A commit
/// outside any membership (a standalone tool, Connect's REST offsets) uses [`CommitAs::none`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitAs {
    /// Generation id (-1: no generation).
    pub generation_id: i32,
    /// Member id ("" none).
    pub member_id: String,
    /// Static member id.
    pub group_instance_id: Option<String>,
}

impl CommitAs {
    /// No membership: the coordinator accepts it only while the group has no members.
    pub fn none() -> Self {
        Self {
            generation_id: -1,
            member_id: String::new(),
            group_instance_id: None,
        }
    }

    /// A member of `generation`.
    pub fn member(generation: &Generation, group_instance_id: Option<String>) -> Self {
        Self {
            generation_id: generation.generation_id,
            member_id: generation.member_id.clone(),
            group_instance_id,
        }
    }
}

fn broker_error(api: &'static str, broker: i32, code: i16, message: Option<String>) -> Error {
    BrokerError {
        error: response_error(code),
        api,
        broker,
        message,
    }
    .into()
}

fn by_topic<V>(items: impl IntoIterator<Item = (TopicPartition, V)>) -> BTreeMap<String, Vec<(i32, V)>> {
    let mut out: BTreeMap<String, Vec<(i32, V)>> = BTreeMap::new();
    for (tp, v) in items {
        out.entry(tp.topic).or_default().push((tp.partition, v));
    }
    out
}

/// Sends `req` to the coordinator over `conn`; a connection that fails makes the coordinator
/// unknown, so the next attempt looks it up again.
async fn send<R: crate::protocol::KafkaRequest>(
    coordinator: &Coordinator,
    conn: &crate::net::Connection,
    req: &R,
    version: i16,
) -> Result<R::Response> {
    match conn.send_at(req, version).await {
        Ok(r) => Ok(r),
        Err(e) => {
            coordinator.mark_unknown().await;
            Err(e.into())
        }
    }
}

/// Retries `op` while it fails retriably, until `timeout` passes.
async fn retrying<T, F, Fut>(coordinator: &Coordinator, timeout: Duration, what: &str, mut op: F) -> Result<T>
where
    F: FnMut(Instant) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let deadline = Instant::now() + timeout;
    let cfg = coordinator.cluster().config();
    let mut attempt = 0;
    loop {
        match op(deadline).await {
            Err(e) if e.outcome() != Outcome::Fatal => {
                attempt += 1;
                let wait = backoff(cfg.retry_backoff, cfg.retry_backoff_max, attempt);
                if Instant::now() + wait >= deadline {
                    return Err(Error::Timeout {
                        what: format!("{what} for group {} (last error: {e})", coordinator.group()),
                        millis: timeout.as_millis() as u64,
                    });
                }
                tracing::debug!(group = %coordinator.group(), error = %e, attempt, "{what} failed; retrying");
                tokio::time::sleep(wait).await;
            }
            other => return other,
        }
    }
}

/// Commits `offsets` for the group of `coordinator` as `who`, retrying retriable errors for at
/// most `timeout`. Generation errors become [`GroupError::CommitFailed`] (carrying the code, so
/// the membership engine can rejoin); FENCED_INSTANCE_ID becomes [`GroupError::Fenced`].
pub async fn commit(
    coordinator: &Coordinator,
    who: &CommitAs,
    offsets: &BTreeMap<TopicPartition, OffsetAndMetadata>,
    timeout: Duration,
) -> Result<()> {
    if offsets.is_empty() {
        return Ok(());
    }
    retrying(coordinator, timeout, "offset commit", |deadline| {
        commit_once(coordinator, who, offsets, deadline)
    })
    .await
}

async fn commit_once(
    coordinator: &Coordinator,
    who: &CommitAs,
    offsets: &BTreeMap<TopicPartition, OffsetAndMetadata>,
    deadline: Instant,
) -> Result<()> {
    let group = coordinator.group();
    let (node, conn) = coordinator.connection(Some(deadline)).await?;
    let topics = by_topic(offsets.iter().map(|(tp, o)| (tp.clone(), o)))
        .into_iter()
        .map(|(topic, parts)| {
            OffsetCommitRequestTopic::default()
                .with_name(TopicName(StrBytes::from_string(topic)))
                .with_partitions(
                    parts
                        .into_iter()
                        .map(|(p, o)| {
                            OffsetCommitRequestPartition::default()
                                .with_partition_index(p)
                                .with_committed_offset(o.offset)
                                .with_committed_leader_epoch(o.leader_epoch.unwrap_or(-1))
                                .with_committed_metadata(Some(StrBytes::from_string(o.metadata.clone())))
                        })
                        .collect(),
                )
        })
        .collect();
    let req = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
        .with_generation_id_or_member_epoch(who.generation_id)
        .with_member_id(StrBytes::from_string(who.member_id.clone()))
        .with_group_instance_id(who.group_instance_id.clone().map(StrBytes::from_string))
        // v2–v4: -1 keeps the broker's offsets.retention.minutes (removed in v5, KIP-211).
        .with_retention_time_ms(-1)
        .with_topics(topics);
    let version = conn.version::<OffsetCommitRequest>()?;
    let resp = send(coordinator, &conn, &req, version).await?;
    let mut answered = 0usize;
    let mut first_error: Option<(i16, String)> = None;
    for t in &resp.topics {
        for p in &t.partitions {
            answered += 1;
            if p.error_code != 0 && first_error.is_none() {
                first_error = Some((p.error_code, format!("{}-{}", t.name.0, p.partition_index)));
            }
        }
    }
    if let Some((code, partition)) = first_error {
        return Err(match code {
            codes::REBALANCE_IN_PROGRESS | codes::ILLEGAL_GENERATION | codes::UNKNOWN_MEMBER_ID => {
                GroupError::CommitFailed {
                    group: group.to_string(),
                    generation: who.generation_id,
                    error: response_error(code),
                }
                .into()
            }
            codes::FENCED_INSTANCE_ID => GroupError::Fenced {
                group: group.to_string(),
                detail: format!(
                    "OffsetCommit: another member uses group.instance.id {:?}",
                    who.group_instance_id
                ),
            }
            .into(),
            c if codes::coordinator_moved(c) || c == 7 => {
                // REQUEST_TIMED_OUT (7) too: Java forgets the coordinator on it.
                coordinator.mark_unknown().await;
                broker_error("OffsetCommit", node, c, Some(partition))
            }
            c => broker_error("OffsetCommit", node, c, Some(partition)),
        });
    }
    if answered < offsets.len() {
        return Err(Error::InvalidResponse {
            api: "OffsetCommit",
            broker: node,
            detail: format!("{answered} partitions answered of {} committed", offsets.len()),
        });
    }
    Ok(())
}

/// The committed offsets of `partitions` in `group` (`None`: nothing committed), with no
/// membership needed (Connect's REST offsets, tools). Retries for at most `timeout`.
pub async fn fetch_committed(
    cluster: &Arc<Cluster>,
    group: &str,
    partitions: &[TopicPartition],
    timeout: Duration,
) -> Result<BTreeMap<TopicPartition, Option<OffsetAndMetadata>>> {
    let coordinator = Coordinator::new(Arc::clone(cluster), group);
    fetch_committed_with(&coordinator, partitions, timeout).await
}

/// [`fetch_committed`] through an existing coordinator handle.
pub async fn fetch_committed_with(
    coordinator: &Coordinator,
    partitions: &[TopicPartition],
    timeout: Duration,
) -> Result<BTreeMap<TopicPartition, Option<OffsetAndMetadata>>> {
    if partitions.is_empty() {
        return Ok(BTreeMap::new());
    }
    retrying(coordinator, timeout, "offset fetch", |deadline| {
        fetch_once(coordinator, partitions, deadline)
    })
    .await
}

async fn fetch_once(
    coordinator: &Coordinator,
    partitions: &[TopicPartition],
    deadline: Instant,
) -> Result<BTreeMap<TopicPartition, Option<OffsetAndMetadata>>> {
    let group = coordinator.group();
    let (node, conn) = coordinator.connection(Some(deadline)).await?;
    let version = conn.version::<OffsetFetchRequest>()?;
    let wanted = by_topic(partitions.iter().map(|tp| (tp.clone(), ())));
    let gid = GroupId(StrBytes::from_string(group.to_string()));
    // require_stable (v7+, KIP-447): don't read offsets a transaction may still commit.
    let mut req = OffsetFetchRequest::default().with_require_stable(true);
    if version >= 8 {
        // v8+ asks for a batch of groups (KIP-709).
        req.groups = vec![OffsetFetchRequestGroup::default()
            .with_group_id(gid)
            .with_member_epoch(-1)
            .with_topics(Some(
                wanted
                    .iter()
                    .map(|(t, ps)| {
                        OffsetFetchRequestTopics::default()
                            .with_name(TopicName(StrBytes::from_string(t.clone())))
                            .with_partition_indexes(ps.iter().map(|(p, _)| *p).collect())
                    })
                    .collect(),
            ))];
    } else {
        req.group_id = gid;
        req.topics = Some(
            wanted
                .iter()
                .map(|(t, ps)| {
                    OffsetFetchRequestTopic::default()
                        .with_name(TopicName(StrBytes::from_string(t.clone())))
                        .with_partition_indexes(ps.iter().map(|(p, _)| *p).collect())
                })
                .collect(),
        );
    }
    let resp = send(coordinator, &conn, &req, version).await?;
    // (topic, partition, offset, epoch, metadata, error) from either form of the answer.
    let mut rows: Vec<(String, i32, i64, i32, Option<String>, i16)> = Vec::new();
    let top_error = if version >= 8 {
        let g = resp.groups.iter().find(|g| g.group_id.0.as_str() == group);
        match g {
            None => {
                return Err(Error::InvalidResponse {
                    api: "OffsetFetch",
                    broker: node,
                    detail: format!("no answer for group {group}"),
                })
            }
            Some(g) => {
                for t in &g.topics {
                    for p in &t.partitions {
                        rows.push((
                            t.name.0.to_string(),
                            p.partition_index,
                            p.committed_offset,
                            p.committed_leader_epoch,
                            p.metadata.as_ref().map(|m| m.to_string()),
                            p.error_code,
                        ));
                    }
                }
                g.error_code
            }
        }
    } else {
        for t in &resp.topics {
            for p in &t.partitions {
                rows.push((
                    t.name.0.to_string(),
                    p.partition_index,
                    p.committed_offset,
                    p.committed_leader_epoch,
                    p.metadata.as_ref().map(|m| m.to_string()),
                    p.error_code,
                ));
            }
        }
        resp.error_code
    };
    if top_error != 0 {
        if codes::coordinator_moved(top_error) {
            coordinator.mark_unknown().await;
        }
        return Err(broker_error(
            "OffsetFetch",
            node,
            top_error,
            Some(format!("group {group}")),
        ));
    }
    let mut out = BTreeMap::new();
    for (topic, partition, offset, epoch, metadata, error) in rows {
        if error != 0 {
            return Err(broker_error(
                "OffsetFetch",
                node,
                error,
                Some(format!("{topic}-{partition}")),
            ));
        }
        let committed = (offset >= 0).then(|| OffsetAndMetadata {
            offset,
            leader_epoch: (epoch >= 0).then_some(epoch),
            metadata: metadata.unwrap_or_default(),
        });
        out.insert(TopicPartition::new(topic, partition), committed);
    }
    for tp in partitions {
        if !out.contains_key(tp) {
            return Err(Error::InvalidResponse {
                api: "OffsetFetch",
                broker: node,
                detail: format!("no answer for {tp}"),
            });
        }
    }
    Ok(out)
}

/// GROUP_ID_NOT_FOUND: the group has no members and no committed offsets.
const GROUP_ID_NOT_FOUND: i16 = 69;

/// Deletes `group` and every offset it committed (DeleteGroups), retrying retriable errors for
/// at most `timeout`. `Ok(false)` when the group did not exist: deleting is idempotent, as
/// Connect's offsets reset treats it. A group with live members is refused by the coordinator
/// (NON_EMPTY_GROUP), returned as the broker's error.
pub async fn delete_group(cluster: &Arc<Cluster>, group: &str, timeout: Duration) -> Result<bool> {
    let coordinator = Coordinator::new(Arc::clone(cluster), group);
    retrying(&coordinator, timeout, "group delete", |deadline| {
        delete_group_once(&coordinator, deadline)
    })
    .await
}

async fn delete_group_once(coordinator: &Coordinator, deadline: Instant) -> Result<bool> {
    use kafka_protocol::messages::DeleteGroupsRequest;
    let group = coordinator.group();
    let (node, conn) = coordinator.connection(Some(deadline)).await?;
    let req = DeleteGroupsRequest::default()
        .with_groups_names(vec![GroupId(StrBytes::from_string(group.to_string()))]);
    let version = conn.version::<DeleteGroupsRequest>()?;
    let resp = send(coordinator, &conn, &req, version).await?;
    let Some(r) = resp.results.iter().find(|r| r.group_id.0.as_str() == group) else {
        return Err(Error::InvalidResponse {
            api: "DeleteGroups",
            broker: node,
            detail: format!("no answer for group {group}"),
        });
    };
    match r.error_code {
        codes::NONE => Ok(true),
        GROUP_ID_NOT_FOUND => Ok(false),
        c => {
            if codes::coordinator_moved(c) {
                coordinator.mark_unknown().await;
            }
            Err(broker_error(
                "DeleteGroups",
                node,
                c,
                Some(format!("group {group}")),
            ))
        }
    }
}

/// Deletes the committed offsets of `partitions` in `group` (OffsetDelete, KIP-496), retrying
/// retriable errors for at most `timeout`. The coordinator refuses partitions of topics the
/// group's live members subscribe to (GROUP_SUBSCRIBED_TO_TOPIC); a group that does not exist
/// has nothing to delete and succeeds.
pub async fn delete_offsets(
    cluster: &Arc<Cluster>,
    group: &str,
    partitions: &[TopicPartition],
    timeout: Duration,
) -> Result<()> {
    if partitions.is_empty() {
        return Ok(());
    }
    let coordinator = Coordinator::new(Arc::clone(cluster), group);
    retrying(&coordinator, timeout, "offset delete", |deadline| {
        delete_offsets_once(&coordinator, partitions, deadline)
    })
    .await
}

async fn delete_offsets_once(
    coordinator: &Coordinator,
    partitions: &[TopicPartition],
    deadline: Instant,
) -> Result<()> {
    use kafka_protocol::messages::offset_delete_request::{
        OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
    };
    use kafka_protocol::messages::OffsetDeleteRequest;
    let group = coordinator.group();
    let (node, conn) = coordinator.connection(Some(deadline)).await?;
    let topics = by_topic(partitions.iter().map(|tp| (tp.clone(), ())))
        .into_iter()
        .map(|(topic, parts)| {
            OffsetDeleteRequestTopic::default()
                .with_name(TopicName(StrBytes::from_string(topic)))
                .with_partitions(
                    parts
                        .into_iter()
                        .map(|(p, ())| OffsetDeleteRequestPartition::default().with_partition_index(p))
                        .collect(),
                )
        })
        .collect();
    let req = OffsetDeleteRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
        .with_topics(topics);
    let version = conn.version::<OffsetDeleteRequest>()?;
    let resp = send(coordinator, &conn, &req, version).await?;
    match resp.error_code {
        codes::NONE => {}
        GROUP_ID_NOT_FOUND => return Ok(()),
        c => {
            if codes::coordinator_moved(c) {
                coordinator.mark_unknown().await;
            }
            return Err(broker_error(
                "OffsetDelete",
                node,
                c,
                Some(format!("group {group}")),
            ));
        }
    }
    let mut answered = 0usize;
    for t in &resp.topics {
        for p in &t.partitions {
            answered += 1;
            if p.error_code != codes::NONE {
                return Err(broker_error(
                    "OffsetDelete",
                    node,
                    p.error_code,
                    Some(format!("{}-{}", t.name.0, p.partition_index)),
                ));
            }
        }
    }
    if answered < partitions.len() {
        return Err(Error::InvalidResponse {
            api: "OffsetDelete",
            broker: node,
            detail: format!("{answered} partitions answered of {} deleted", partitions.len()),
        });
    }
    Ok(())
}
