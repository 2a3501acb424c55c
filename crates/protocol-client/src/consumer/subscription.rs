//! Subscribe mode: a [`Consumer`] whose partitions come from a consumer group, with Java's
//! at-least-once contract.
//!
//! ```text
//!  GroupConsumer::subscribe(topics)
//!     ├─ ConsumerGroup (group/): join, sync, heartbeats, rebalance callbacks (background)
//!     │     revoke(ps): stop handing out ps ─▶ wait until the caller polls again (its last
//!     │                 batch is then processed) ─▶ commit processed positions of ps
//!     └─ poll(): confirm the last batch as processed ─▶ apply the group's assignment
//!                (new partitions start at their committed offset) ─▶ Consumer::poll
//!                ─▶ drop records of partitions revoked meanwhile ─▶ auto-commit if due
//! ```
//!
//! Records returned by `poll` count as processed when `poll` is called again (as the Java
//! consumer). A partition leaving this member is committed up to exactly what was processed
//! before anyone else reads it, so no record is consumed twice unless a member crashes (then the
//! next owner resumes from the last commit).

use super::{Consumer, ConsumerConfig, ConsumerRecord};
use crate::cluster::Cluster;
use crate::config::{ConfigError, Properties};
use crate::error::Result;
use crate::group::{
    Committer, ConsumerGroup, GroupConfig, OffsetAndMetadata, RebalanceListener, TopicPartition,
};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::time::Instant;

#[derive(Debug, Default)]
struct Shared {
    /// What the group says this member owns (revocations take effect here first).
    owned: BTreeSet<TopicPartition>,
    /// Positions of records the caller has processed.
    processed: BTreeMap<TopicPartition, i64>,
    /// Positions of the records the last `poll` returned (processed at the next `poll`).
    delivered: BTreeMap<TopicPartition, i64>,
    /// The caller holds a batch it may still be processing.
    in_hands: bool,
    /// Manual commits: where revocations are announced (see [`GroupConsumer::revocations`]).
    revocations: Option<mpsc::UnboundedSender<Revocation>>,
}

/// Partitions about to leave a member that commits by hand, handed to the caller so it can say
/// what to commit for them while this member still owns them. Connect's sink tasks need it:
/// `WorkerSinkTask` flushes and commits a partition's offsets in `onPartitionsRevoked`, so the
/// next owner starts after what was written instead of at the last periodic commit.
#[derive(Debug)]
pub struct Revocation {
    /// The partitions leaving this member.
    pub partitions: BTreeSet<TopicPartition>,
    reply: oneshot::Sender<BTreeMap<TopicPartition, OffsetAndMetadata>>,
}

impl Revocation {
    /// Answers with the offsets to commit for the revoked partitions (empty: commit nothing).
    /// The member commits them under its current generation before the rebalance goes on.
    pub fn commit(self, offsets: BTreeMap<TopicPartition, OffsetAndMetadata>) {
        let _ = self.reply.send(offsets);
    }
}

#[derive(Debug)]
struct Listener {
    shared: Arc<Mutex<Shared>>,
    polled: Arc<Notify>,
    /// Signalled when partitions are assigned, so a `poll` without any wakes up at once.
    assigned: Arc<Notify>,
    auto_commit: bool,
    /// How long a revocation waits for the caller's next poll (the rebalance timeout).
    wait_limit: Duration,
}

impl Listener {
    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Manual commits: announces the revocation to a caller listening on
    /// [`GroupConsumer::revocations`] and waits, at most the rebalance timeout, for the offsets
    /// it wants committed. Nothing when nobody listens or no answer comes.
    async fn ask_caller(
        &self,
        partitions: &BTreeSet<TopicPartition>,
    ) -> BTreeMap<TopicPartition, OffsetAndMetadata> {
        let Some(tx) = self.lock().revocations.clone() else {
            return BTreeMap::new();
        };
        let (reply, answer) = oneshot::channel();
        let revocation = Revocation {
            partitions: partitions.clone(),
            reply,
        };
        if tx.send(revocation).is_err() {
            return BTreeMap::new();
        }
        match tokio::time::timeout(self.wait_limit, answer).await {
            Ok(answer) => answer.unwrap_or_default(),
            Err(_) => {
                tracing::warn!(
                    "the caller did not answer a revocation within the rebalance timeout; nothing committed"
                );
                BTreeMap::new()
            }
        }
    }
}

impl RebalanceListener for Listener {
    async fn on_partitions_revoked(&mut self, committer: &Committer, partitions: &BTreeSet<TopicPartition>) {
        {
            // Registered before looking, so a poll between the look and the wait still wakes us.
            let polled = Arc::clone(&self.polled);
            let notified = polled.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let busy = {
                let mut s = self.lock();
                s.owned.retain(|tp| !partitions.contains(tp));
                s.in_hands && s.delivered.keys().any(|tp| partitions.contains(tp))
            };
            if busy {
                // The caller may still be processing records of these partitions: their
                // commit waits for its next poll (Java runs this callback inside poll).
                let _ = tokio::time::timeout(self.wait_limit, notified).await;
            }
            let offsets: BTreeMap<TopicPartition, OffsetAndMetadata> = {
                let mut s = self.lock();
                let done = std::mem::take(&mut s.delivered);
                if !s.in_hands {
                    s.processed.extend(done);
                } else {
                    // Still unconfirmed after the wait: keep them for the partitions we keep.
                    s.delivered = done;
                }
                partitions
                    .iter()
                    .filter_map(|tp| {
                        s.processed
                            .remove(tp)
                            .map(|o| (tp.clone(), OffsetAndMetadata::new(o)))
                    })
                    .collect()
            };
            // Auto commit: what the caller has polled; manual: what the caller answers.
            let offsets = if self.auto_commit {
                offsets
            } else {
                self.ask_caller(partitions).await
            };
            if !offsets.is_empty() {
                if let Err(e) = committer.commit(&offsets).await {
                    tracing::warn!(error = %e, "commit on revocation failed; the next owner may re-read");
                }
            }
        }
    }

    fn on_partitions_assigned(
        &mut self,
        _committer: &Committer,
        partitions: &BTreeSet<TopicPartition>,
    ) -> impl Future<Output = ()> + Send {
        self.lock().owned.extend(partitions.iter().cloned());
        self.assigned.notify_one();
        async {}
    }

    fn on_partitions_lost(
        &mut self,
        _committer: &Committer,
        partitions: &BTreeSet<TopicPartition>,
    ) -> impl Future<Output = ()> + Send {
        let mut s = self.lock();
        s.owned.retain(|tp| !partitions.contains(tp));
        s.processed.retain(|tp, _| !partitions.contains(tp));
        s.delivered.retain(|tp, _| !partitions.contains(tp));
        async {}
    }
}

#[derive(Debug)]
struct PatternState {
    re: regex::Regex,
    gcfg: GroupConfig,
    topics: Vec<String>,
    checked: Instant,
}

async fn matching(cluster: &Arc<Cluster>, re: &regex::Regex) -> Result<Vec<String>> {
    let all = crate::admin::Admin::new(Arc::clone(cluster))
        .list_topics()
        .await?;
    // Internal topics are never matched, as Java's default (`exclude.internal.topics`).
    Ok(all
        .into_iter()
        .filter(|t| !t.starts_with("__") && re.is_match(t))
        .collect())
}

/// A consumer group member that fetches its assigned partitions (see the module docs).
#[derive(Debug)]
pub struct GroupConsumer {
    consumer: Consumer,
    group: ConsumerGroup,
    /// `subscribe_pattern`: the pattern, the group config to rejoin with, the topics matched
    /// so far and when they were last listed.
    pattern: Option<PatternState>,
    shared: Arc<Mutex<Shared>>,
    polled: Arc<Notify>,
    assigned: Arc<Notify>,
    auto_commit: Option<Duration>,
    last_commit: Instant,
}

impl GroupConsumer {
    /// Joins `group.id` subscribed to `topics`, with the consumer and group settings read from
    /// the same properties (`enable.auto.commit`, default true; `auto.commit.interval.ms`,
    /// default 5000).
    pub async fn subscribe(props: &Properties, topics: &[&str]) -> Result<Self> {
        let ccfg = ConsumerConfig::from_properties(props)?;
        let gcfg = GroupConfig::from_properties(props)?;
        let auto_commit = props
            .boolean("enable.auto.commit", true)?
            .then(|| props.millis("auto.commit.interval.ms", 5000, 0))
            .transpose()?;
        let cluster = Cluster::connect(ccfg.client.clone()).await?;
        Self::with_cluster(cluster, ccfg, gcfg, auto_commit, topics)
    }

    /// On an existing cluster core; `auto_commit` is the interval, `None` for manual commits
    /// (revoked partitions are then not committed for the caller either).
    pub fn with_cluster(
        cluster: Arc<Cluster>,
        ccfg: ConsumerConfig,
        gcfg: GroupConfig,
        auto_commit: Option<Duration>,
        topics: &[&str],
    ) -> Result<Self> {
        if topics.is_empty() {
            return Err(ConfigError::new("topics", "", "subscribe needs at least one topic").into());
        }
        let shared = Arc::new(Mutex::new(Shared::default()));
        let polled = Arc::new(Notify::new());
        let assigned = Arc::new(Notify::new());
        let listener = Listener {
            shared: Arc::clone(&shared),
            polled: Arc::clone(&polled),
            assigned: Arc::clone(&assigned),
            auto_commit: auto_commit.is_some(),
            wait_limit: gcfg.rebalance_timeout,
        };
        let group = ConsumerGroup::join(Arc::clone(&cluster), gcfg, topics, listener)?;
        Ok(Self {
            consumer: Consumer::with_cluster(cluster, ccfg),
            group,
            pattern: None,
            shared,
            polled,
            assigned,
            auto_commit,
            last_commit: Instant::now(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Joins `group.id` subscribed to every topic whose whole name matches `pattern` (Java's
    /// `subscribe(Pattern)`). The topic list is checked again every `metadata.max.age.ms`; when
    /// the matching set changes, this member commits what it processed, leaves and rejoins with
    /// the new set (a rebalance, as Java's subscription change causes one).
    pub async fn subscribe_pattern(props: &Properties, pattern: &str) -> Result<Self> {
        let ccfg = ConsumerConfig::from_properties(props)?;
        let gcfg = GroupConfig::from_properties(props)?;
        let auto_commit = props
            .boolean("enable.auto.commit", true)?
            .then(|| props.millis("auto.commit.interval.ms", 5000, 0))
            .transpose()?;
        let cluster = Cluster::connect(ccfg.client.clone()).await?;
        Self::with_cluster_pattern(cluster, ccfg, gcfg, auto_commit, pattern).await
    }

    /// [`GroupConsumer::subscribe_pattern`] on an existing cluster core; `auto_commit` as in
    /// [`GroupConsumer::with_cluster`].
    pub async fn with_cluster_pattern(
        cluster: Arc<Cluster>,
        ccfg: ConsumerConfig,
        gcfg: GroupConfig,
        auto_commit: Option<Duration>,
        pattern: &str,
    ) -> Result<Self> {
        let re = regex::Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| ConfigError::new("pattern", pattern, format!("not a valid regex: {e}")))?;
        let topics = matching(&cluster, &re).await?;
        if topics.is_empty() {
            return Err(ConfigError::new("pattern", pattern, "no topic matches it yet").into());
        }
        let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        let mut me = Self::with_cluster(Arc::clone(&cluster), ccfg, gcfg.clone(), auto_commit, &refs)?;
        me.pattern = Some(PatternState {
            re,
            gcfg,
            topics,
            checked: Instant::now(),
        });
        Ok(me)
    }

    /// Pattern subscriptions: rejoin when the matching topics changed.
    async fn refresh_pattern(&mut self) -> Result<()> {
        let Some(p) = self.pattern.as_mut() else {
            return Ok(());
        };
        if p.checked.elapsed() < self.consumer.cluster().config().metadata_max_age {
            return Ok(());
        }
        p.checked = Instant::now();
        let now = matching(self.consumer.cluster(), &p.re).await?;
        if now == p.topics || now.is_empty() {
            return Ok(());
        }
        tracing::info!(before = ?p.topics, after = ?now, "the topics matching the subscription pattern changed; rejoining");
        p.topics = now.clone();
        let gcfg = p.gcfg.clone();
        // Leave with everything processed committed, then join again with the new topics.
        {
            let mut s = self.lock();
            let done = std::mem::take(&mut s.delivered);
            s.processed.extend(done);
            s.in_hands = false;
        }
        if self.auto_commit.is_some() {
            self.commit_processed().await?;
        }
        let refs: Vec<&str> = now.iter().map(String::as_str).collect();
        let fresh = Self::with_cluster(
            Arc::clone(self.consumer.cluster()),
            self.consumer.config().clone(),
            gcfg,
            self.auto_commit,
            &refs,
        )?;
        // The old membership's revocations are not the caller's business any more (it is
        // inside poll, not listening): only the new membership announces.
        let announce = self.lock().revocations.take();
        fresh.shared.lock().unwrap_or_else(|e| e.into_inner()).revocations = announce;
        let old = std::mem::replace(&mut self.group, fresh.group);
        self.shared = fresh.shared;
        self.polled = fresh.polled;
        self.assigned = fresh.assigned;
        self.consumer.assign(std::iter::empty());
        old.close().await
    }

    /// With manual commits (`auto_commit` `None`): from now on, every revocation is announced
    /// on the returned channel and waits (at most the rebalance timeout) for the caller's
    /// [`Revocation::commit`]. The caller must keep receiving while it polls.
    pub fn revocations(&mut self) -> mpsc::UnboundedReceiver<Revocation> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().revocations = Some(tx);
        rx
    }

    /// The partitions this member owns right now.
    pub fn assignment(&self) -> BTreeSet<TopicPartition> {
        self.lock().owned.clone()
    }

    /// The group handle (generation, state, manual commits).
    pub fn group(&self) -> &ConsumerGroup {
        &self.group
    }

    /// Fetch requests sent, and how many of them were incremental (KIP-227).
    pub fn fetch_stats(&self) -> (u64, u64) {
        self.consumer.fetch_stats()
    }

    /// Lag per owned partition (the member's consumer keeps it across rejoins).
    pub fn metrics(&self) -> &Arc<crate::metrics::ConsumerMetrics> {
        self.consumer.metrics()
    }

    /// Positions processed so far (what a commit would write).
    pub fn processed(&self) -> BTreeMap<TopicPartition, i64> {
        self.lock().processed.clone()
    }

    /// Records of the owned partitions; see [`Consumer::poll`]. Calling it confirms the
    /// previous batch as processed.
    pub async fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        let owned = {
            let mut s = self.lock();
            let done = std::mem::take(&mut s.delivered);
            s.processed.extend(done);
            s.in_hands = false;
            s.owned.clone()
        };
        self.polled.notify_waiters();
        self.refresh_pattern().await?;
        // A pattern rejoin may have replaced the membership: read the assignment again.
        let owned = if self.pattern.is_some() {
            self.lock().owned.clone()
        } else {
            owned
        };
        self.apply_assignment(&owned).await?;
        self.maybe_auto_commit().await;
        let records = if owned.is_empty() {
            // Nothing owned yet (joining) or any more: wait for an assignment, not a fixed nap,
            // so the first records are fetched as soon as the group has answered.
            let _ =
                tokio::time::timeout(timeout.min(Duration::from_millis(100)), self.assigned.notified()).await;
            Vec::new()
        } else {
            self.consumer.poll(timeout).await?
        };
        let mut records = records;
        let mut s = self.lock();
        // `Consumer::poll` hands records out partition by partition, in offset order: decide
        // ownership and note the delivered position once per run of one partition, not per
        // record (a per-record lookup and key allocation cost more than the rest of the poll).
        let mut run: Option<(Arc<str>, i32, bool)> = None;
        records.retain(|r| match &run {
            Some((topic, partition, owned)) if *partition == r.partition && Arc::ptr_eq(topic, &r.topic) => {
                *owned
            }
            _ => {
                let owned = s
                    .owned
                    .iter()
                    .any(|tp| tp.partition == r.partition && *tp.topic == *r.topic);
                run = Some((Arc::clone(&r.topic), r.partition, owned));
                owned
            }
        });
        for same in records.chunk_by(|a, b| a.partition == b.partition && Arc::ptr_eq(&a.topic, &b.topic)) {
            if let Some(last) = same.last() {
                s.delivered
                    .insert(TopicPartition::new(&*last.topic, last.partition), last.offset + 1);
            }
        }
        s.in_hands = !records.is_empty();
        Ok(records)
    }

    async fn apply_assignment(&mut self, owned: &BTreeSet<TopicPartition>) -> Result<()> {
        let current = self.consumer.assignment();
        if &current == owned {
            return Ok(());
        }
        let added: Vec<TopicPartition> = owned.difference(&current).cloned().collect();
        self.consumer.assign(owned.iter().cloned());
        if !added.is_empty() {
            // New partitions start at the group's committed offset; without one,
            // auto.offset.reset decides.
            for (tp, committed) in self.group.committed(&added).await? {
                if let Some(c) = committed {
                    self.consumer.seek(&tp, c.offset)?;
                }
            }
        }
        Ok(())
    }

    async fn maybe_auto_commit(&mut self) {
        let Some(interval) = self.auto_commit else { return };
        if self.last_commit.elapsed() < interval {
            return;
        }
        self.last_commit = Instant::now();
        if let Err(e) = self.commit_processed().await {
            tracing::debug!(error = %e, "auto-commit failed");
        }
    }

    /// Commits the processed positions of the owned partitions.
    pub async fn commit_processed(&self) -> Result<()> {
        let offsets: BTreeMap<TopicPartition, OffsetAndMetadata> = {
            let s = self.lock();
            s.processed
                .iter()
                .filter(|(tp, _)| s.owned.contains(*tp))
                .map(|(tp, o)| (tp.clone(), OffsetAndMetadata::new(*o)))
                .collect()
        };
        if offsets.is_empty() {
            return Ok(());
        }
        self.group.commit(&offsets).await
    }

    /// Commits what was returned (as Java's close with auto-commit), then leaves the group.
    pub async fn close(self) -> Result<()> {
        {
            let mut s = self.lock();
            // The caller is waiting for close, not listening for revocations.
            s.revocations = None;
            let done = std::mem::take(&mut s.delivered);
            s.processed.extend(done);
            s.in_hands = false;
        }
        if self.auto_commit.is_some() {
            self.commit_processed().await?;
        }
        self.group.close().await
    }
}
