//! The three internal topics: created if missing, compacted, with Connect's defaults; an
//! existing one that would lose data is refused with a message that says what to fix.
//!
//! ```text
//!  worker properties ─▶ InternalTopics::from_properties
//!     config.storage.topic  (1 partition, always)      *.replication.factor (3; -1 = broker default)
//!     offset.storage.topic  (offset.storage.partitions, 25; -1 = broker default)
//!     status.storage.topic  (status.storage.partitions, 5;  -1 = broker default)
//!     <prefix>.<topic config>: extra settings for creation; cleanup.policy is forced to compact
//!  ensure(admin) ── Metadata (no auto-creation) ── missing? CreateTopics (another worker may
//!                   win the race: TOPIC_ALREADY_EXISTS is fine) ── DescribeConfigs
//!                   └─ config topic with ≠ 1 partition, or any with cleanup.policy ≠ compact: refuse
//! ```
//! Why refuse: a config topic with several partitions loses the order between a connector's
//! task configs and their commit; a topic that deletes instead of compacting eventually loses
//! connector configs, offsets or statuses (Connect's `KafkaConfigBackingStore` and
//! `TopicAdmin.verifyTopicCleanupPolicyOnlyCompact` refuse the same, with the same words).

use kaflow_client::admin::{Admin, NewTopic};
use kaflow_client::{ConfigError, Properties};
use std::collections::BTreeMap;

/// `TOPIC_ALREADY_EXISTS`.
const TOPIC_ALREADY_EXISTS: i16 = 36;

/// Which internal topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InternalTopic {
    /// `config.storage.topic`.
    Config,
    /// `offset.storage.topic`.
    Offsets,
    /// `status.storage.topic`.
    Status,
}

impl InternalTopic {
    /// The worker property prefix (`config.storage`, `offset.storage`, `status.storage`).
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Config => "config.storage",
            Self::Offsets => "offset.storage",
            Self::Status => "status.storage",
        }
    }

    /// The property naming the topic.
    pub fn topic_key(self) -> String {
        format!("{}.topic", self.prefix())
    }

    /// What the topic keeps (Connect's wording).
    fn holds(self) -> &'static str {
        match self {
            Self::Config => "connector configurations",
            Self::Offsets => "source connector offsets",
            Self::Status => "connector and task statuses",
        }
    }
}

/// One internal topic's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSettings {
    /// Which.
    pub which: InternalTopic,
    /// The topic name.
    pub name: String,
    /// Partitions when creating (-1: the broker's `num.partitions`).
    pub partitions: i32,
    /// Replication factor when creating (-1: the broker's `default.replication.factor`).
    pub replication_factor: i16,
    /// Topic configs when creating (`cleanup.policy=compact` always among them).
    pub configs: BTreeMap<String, String>,
}

/// The three internal topics' settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalTopics {
    /// `config.storage.*`.
    pub config: TopicSettings,
    /// `offset.storage.*`.
    pub offsets: TopicSettings,
    /// `status.storage.*`.
    pub status: TopicSettings,
}

/// Why the internal topics can't be used.
#[derive(Debug, thiserror::Error)]
pub enum InternalTopicsError {
    /// A worker property is missing or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The config topic exists with more than one partition.
    #[error("Topic '{topic}' supplied via the '{key}' property is required to have a single partition in order to guarantee consistency of connector configurations, but found {partitions} partitions. Delete it (if it holds nothing to keep) or set '{key}' to a topic with one partition.")]
    ConfigTopicPartitions {
        /// The topic.
        topic: String,
        /// `config.storage.topic`.
        key: String,
        /// Its partition count.
        partitions: i32,
    },
    /// An internal topic exists without `cleanup.policy=compact`.
    #[error("Topic '{topic}' supplied via the '{key}' property is required to have 'cleanup.policy=compact' to guarantee consistency and durability of {holds}, but found the topic currently has 'cleanup.policy={policy}'. Continuing would likely result in eventually losing {holds} and problems restarting this Connect cluster in the future. Change the '{key}' property in the Connect worker configurations to use a topic with 'cleanup.policy=compact' (or alter the topic: kafka-configs.sh --alter --entity-type topics --entity-name {topic} --add-config cleanup.policy=compact).")]
    NotCompacted {
        /// The topic.
        topic: String,
        /// The property naming it.
        key: String,
        /// What it keeps.
        holds: &'static str,
        /// Its cleanup.policy.
        policy: String,
    },
    /// The topic could not be created.
    #[error("could not create internal topic '{topic}' ('{key}'): {source}")]
    Create {
        /// The topic.
        topic: String,
        /// The property naming it.
        key: String,
        /// Why.
        #[source]
        source: kaflow_client::Error,
    },
    /// The brokers could not be asked.
    #[error("checking internal topic '{topic}' ('{key}'): {source}")]
    Admin {
        /// The topic.
        topic: String,
        /// The property naming it.
        key: String,
        /// Why.
        #[source]
        source: kaflow_client::Error,
    },
}

/// What [`InternalTopics::ensure`] did with one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ensured {
    /// It was there and fit.
    Existed,
    /// This worker created it.
    Created,
}

/// Keys under a storage prefix that are worker settings, not topic configs.
const NOT_TOPIC_CONFIGS: &[&str] = &["topic", "partitions", "replication.factor"];

fn settings(
    p: &Properties,
    which: InternalTopic,
    default_partitions: Option<i32>,
) -> Result<TopicSettings, ConfigError> {
    let prefix = which.prefix();
    let topic_key = which.topic_key();
    let name = match p.get(&topic_key) {
        Some(t) if !t.is_empty() => t.to_string(),
        other => {
            return Err(ConfigError::new(
                &topic_key,
                other.unwrap_or_default(),
                "distributed mode needs the name of this internal topic",
            ))
        }
    };
    let rf_key = format!("{prefix}.replication.factor");
    let replication_factor: i16 = p.parse_or(&rf_key, 3)?;
    if replication_factor < 1 && replication_factor != -1 {
        return Err(ConfigError::new(
            &rf_key,
            replication_factor.to_string(),
            "must be -1 (the broker's default) or at least 1",
        ));
    }
    let partitions = match default_partitions {
        None => 1,
        Some(d) => {
            let key = format!("{prefix}.partitions");
            let n: i32 = p.parse_or(&key, d)?;
            if n < 1 && n != -1 {
                return Err(ConfigError::new(
                    &key,
                    n.to_string(),
                    "must be -1 (the broker's default) or at least 1",
                ));
            }
            n
        }
    };
    let mut configs = BTreeMap::new();
    let dotted = format!("{prefix}.");
    for (k, v) in p.iter() {
        if let Some(c) = k.strip_prefix(&dotted) {
            if !NOT_TOPIC_CONFIGS.contains(&c) {
                configs.insert(c.to_string(), v.trim().to_string());
            }
        }
    }
    if configs.get("cleanup.policy").is_some_and(|v| v != "compact") {
        tracing::warn!(key = %format!("{prefix}.cleanup.policy"), "ignored: internal topics are always compacted");
    }
    configs.insert("cleanup.policy".into(), "compact".into());
    Ok(TopicSettings {
        which,
        name,
        partitions,
        replication_factor,
        configs,
    })
}

/// The set of `cleanup.policy` values, as the broker reports them (`compact,delete`).
fn only_compact(policy: &str) -> bool {
    let mut parts = policy.split(',').map(str::trim).filter(|s| !s.is_empty());
    parts.next() == Some("compact") && parts.all(|p| p == "compact")
}

impl InternalTopics {
    /// Reads the `{config,offset,status}.storage.*` worker properties, with Connect's defaults.
    pub fn from_properties(p: &Properties) -> Result<Self, ConfigError> {
        Ok(Self {
            config: settings(p, InternalTopic::Config, None)?,
            offsets: settings(p, InternalTopic::Offsets, Some(25))?,
            status: settings(p, InternalTopic::Status, Some(5))?,
        })
    }

    /// The three, config first.
    pub fn all(&self) -> [&TopicSettings; 3] {
        [&self.config, &self.offsets, &self.status]
    }

    /// Creates each topic that is missing, then checks all three; the first that can't be
    /// used stops the worker with a message that says what to fix.
    pub async fn ensure(&self, admin: &Admin) -> Result<[Ensured; 3], InternalTopicsError> {
        let mut out = [Ensured::Existed, Ensured::Existed, Ensured::Existed];
        for (i, t) in self.all().into_iter().enumerate() {
            out[i] = ensure_one(admin, t).await?;
        }
        Ok(out)
    }
}

async fn ensure_one(admin: &Admin, t: &TopicSettings) -> Result<Ensured, InternalTopicsError> {
    let key = t.which.topic_key();
    let admin_err = |source| InternalTopicsError::Admin {
        topic: t.name.clone(),
        key: key.clone(),
        source,
    };
    let counts = admin
        .topic_partition_counts(&[&t.name])
        .await
        .map_err(admin_err)?;
    let mut ensured = Ensured::Existed;
    if counts.get(&t.name).copied().flatten().is_none() {
        let mut new = NewTopic::new(&t.name, t.partitions).replication_factor(t.replication_factor);
        for (k, v) in &t.configs {
            new = new.config(k, v);
        }
        match admin.create_topic(new).await {
            Ok(()) => {
                tracing::info!(topic = %t.name, partitions = t.partitions, replication_factor = t.replication_factor,
                    "created internal topic");
                ensured = Ensured::Created;
            }
            Err(kaflow_client::Error::Broker(b)) if b.error.code() == TOPIC_ALREADY_EXISTS => {
                // Another worker created it first.
                admin
                    .cluster()
                    .await_topic(&t.name, admin.cluster().config().request_timeout)
                    .await
                    .map_err(admin_err)?;
            }
            Err(source) => {
                return Err(InternalTopicsError::Create {
                    topic: t.name.clone(),
                    key,
                    source,
                })
            }
        }
    }
    let partitions = admin
        .topic_partition_counts(&[&t.name])
        .await
        .map_err(admin_err)?
        .get(&t.name)
        .copied()
        .flatten()
        .unwrap_or(0);
    if t.which == InternalTopic::Config && partitions != 1 {
        return Err(InternalTopicsError::ConfigTopicPartitions {
            topic: t.name.clone(),
            key,
            partitions,
        });
    }
    let configs = admin.describe_topic_configs(&t.name).await.map_err(admin_err)?;
    let policy = configs
        .get("cleanup.policy")
        .cloned()
        .flatten()
        .unwrap_or_default();
    if !only_compact(&policy) {
        return Err(InternalTopicsError::NotCompacted {
            topic: t.name.clone(),
            key,
            holds: t.which.holds(),
            policy,
        });
    }
    Ok(ensured)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(kv: &[(&str, &str)]) -> Properties {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const NAMES: &[(&str, &str)] = &[
        ("config.storage.topic", "connect-configs"),
        ("offset.storage.topic", "connect-offsets"),
        ("status.storage.topic", "connect-status"),
    ];

    #[test]
    fn connects_defaults() {
        let t = InternalTopics::from_properties(&props(NAMES)).unwrap();
        assert_eq!(
            (t.config.partitions, t.offsets.partitions, t.status.partitions),
            (1, 25, 5)
        );
        assert!(t.all().iter().all(|s| s.replication_factor == 3));
        assert!(t.all().iter().all(|s| s.configs["cleanup.policy"] == "compact"));
    }

    #[test]
    fn overrides_and_extra_topic_configs() {
        let mut kv = NAMES.to_vec();
        kv.extend([
            ("offset.storage.partitions", "-1"),
            ("status.storage.replication.factor", "-1"),
            ("config.storage.min.insync.replicas", "2"),
            ("config.storage.cleanup.policy", "delete"),
            ("config.storage.partitions", "7"),
        ]);
        let t = InternalTopics::from_properties(&props(&kv)).unwrap();
        assert_eq!(t.offsets.partitions, -1);
        assert_eq!(t.status.replication_factor, -1);
        assert_eq!(
            t.config.partitions, 1,
            "the config topic always has one partition"
        );
        assert_eq!(t.config.configs["min.insync.replicas"], "2");
        assert_eq!(
            t.config.configs["cleanup.policy"], "compact",
            "compaction is forced"
        );
        assert!(!t.config.configs.contains_key("partitions"));
    }

    #[test]
    fn bad_settings_name_the_key() {
        let e = InternalTopics::from_properties(&props(&NAMES[1..])).unwrap_err();
        assert!(e.to_string().contains("config.storage.topic"), "{e}");
        let mut kv = NAMES.to_vec();
        kv.push(("status.storage.partitions", "0"));
        let e = InternalTopics::from_properties(&props(&kv)).unwrap_err();
        assert!(e.to_string().contains("status.storage.partitions"), "{e}");
    }

    #[test]
    fn only_compact_means_only_compact() {
        assert!(only_compact("compact"));
        assert!(only_compact(" compact "));
        assert!(!only_compact("compact,delete"));
        assert!(!only_compact("delete"));
        assert!(!only_compact(""));
    }
}
