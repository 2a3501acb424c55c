//! Group member settings, under the Java consumer's key names and with its defaults (Kafka 4.x).

use crate::config::{ClientConfig, ConfigError, Properties};
use std::time::Duration;

/// Settings of one group member.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// Connection settings shared with every client.
    pub client: ClientConfig,
    /// `group.id` (required).
    pub group_id: String,
    /// `group.instance.id`: a static member (KIP-345). Its member id survives restarts within
    /// `session.timeout.ms` without a rebalance, and it sends no LeaveGroup on close.
    pub group_instance_id: Option<String>,
    /// `session.timeout.ms` (45000): the coordinator removes a member it hasn't heard from in
    /// this long. Must lie within the broker's `group.min/max.session.timeout.ms`.
    pub session_timeout: Duration,
    /// The rebalance timeout: how long the coordinator waits for every member to rejoin.
    /// `rebalance.timeout.ms` when set (Connect workers), else `max.poll.interval.ms` (300000)
    /// as the Java consumer sends.
    pub rebalance_timeout: Duration,
    /// `heartbeat.interval.ms` (3000); must be below `session.timeout.ms`.
    pub heartbeat_interval: Duration,
    /// `default.api.timeout.ms` (60000): bound on a commit or offset fetch, retries included.
    pub api_timeout: Duration,
    /// `partition.assignment.strategy` (Java's default: `range,cooperative-sticky`), names or
    /// Java class names. The first is preferred; the coordinator picks one every member offers.
    pub assignors: Vec<String>,
    /// `client.rack`, sent in the consumer subscription (v3) for rack-aware assignors.
    pub rack: Option<String>,
}

/// Java class names accepted for `partition.assignment.strategy`, and our names for them.
const ASSIGNOR_CLASSES: &[(&str, &str)] = &[
    ("org.apache.kafka.clients.consumer.RangeAssignor", "range"),
    (
        "org.apache.kafka.clients.consumer.RoundRobinAssignor",
        "roundrobin",
    ),
    (
        "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
        "cooperative-sticky",
    ),
];

impl GroupConfig {
    /// Reads a consumer group member's settings from Kafka-style properties.
    pub fn from_properties(p: &Properties) -> Result<Self, ConfigError> {
        let client = ClientConfig::from_properties(p)?;
        let group_id = match p.get("group.id") {
            Some(g) if !g.is_empty() => g.to_string(),
            other => {
                return Err(ConfigError::new(
                    "group.id",
                    other.unwrap_or_default(),
                    "a group id is required for group membership",
                ))
            }
        };
        // Only the classic protocol is implemented; KIP-848's `consumer` protocol is refused
        // rather than silently replaced.
        if let Some(v) = p.get("group.protocol") {
            if !v.eq_ignore_ascii_case("classic") {
                return Err(ConfigError::new(
                    "group.protocol",
                    v,
                    "only the classic group protocol is supported",
                ));
            }
        }
        let group_instance_id = match p.get("group.instance.id") {
            None => None,
            Some("") => {
                return Err(ConfigError::new(
                    "group.instance.id",
                    "",
                    "must be non-empty when set",
                ))
            }
            Some(v) => Some(v.to_string()),
        };
        let session_timeout = p.millis("session.timeout.ms", 45_000, 1)?;
        let heartbeat_interval = p.millis("heartbeat.interval.ms", 3_000, 1)?;
        if heartbeat_interval >= session_timeout {
            return Err(ConfigError::new(
                "heartbeat.interval.ms",
                heartbeat_interval.as_millis().to_string(),
                "must be lower than session.timeout.ms",
            ));
        }
        // Connect workers name it `rebalance.timeout.ms` (DistributedConfig); consumers send
        // `max.poll.interval.ms` as their rebalance timeout.
        let rebalance_timeout = match p.get("rebalance.timeout.ms") {
            Some(_) => p.millis("rebalance.timeout.ms", 60_000, 1)?,
            None => p.millis("max.poll.interval.ms", 300_000, 1)?,
        };
        let api_timeout = p.millis("default.api.timeout.ms", 60_000, 0)?;
        let strategies = p
            .get("partition.assignment.strategy")
            .unwrap_or("range,cooperative-sticky");
        let mut assignors = Vec::new();
        for s in strategies.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let name = ASSIGNOR_CLASSES
                .iter()
                .find(|(class, _)| *class == s)
                .map(|(_, n)| *n)
                .unwrap_or(s);
            if crate::group::assignor::by_name(name).is_none() {
                return Err(ConfigError::new(
                    "partition.assignment.strategy",
                    s,
                    "unknown assignor (known: range, roundrobin, cooperative-sticky)",
                ));
            }
            assignors.push(name.to_string());
        }
        if assignors.is_empty() {
            return Err(ConfigError::new(
                "partition.assignment.strategy",
                strategies,
                "at least one assignor is required",
            ));
        }
        let rack = p.get("client.rack").filter(|r| !r.is_empty()).map(String::from);
        Ok(Self {
            client,
            group_id,
            group_instance_id,
            session_timeout,
            rebalance_timeout,
            heartbeat_interval,
            api_timeout,
            assignors,
            rack,
        })
    }

    /// A config for `bootstrap` and `group`, every other key at its default.
    pub fn new(bootstrap: &str, group: &str) -> Result<Self, ConfigError> {
        Self::from_properties(
            &Properties::new()
                .with("bootstrap.servers", bootstrap)
                .with("group.id", group),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_java_consumer() {
        let c = GroupConfig::new("h:1", "g").unwrap();
        assert_eq!(c.session_timeout, Duration::from_millis(45_000));
        assert_eq!(c.rebalance_timeout, Duration::from_millis(300_000));
        assert_eq!(c.heartbeat_interval, Duration::from_millis(3_000));
        assert_eq!(c.assignors, vec!["range", "cooperative-sticky"]);
        assert_eq!(c.group_instance_id, None);
    }

    #[test]
    fn bad_values_name_their_key() {
        let base = || {
            Properties::new()
                .with("bootstrap.servers", "h:1")
                .with("group.id", "g")
        };
        let e =
            GroupConfig::from_properties(&Properties::new().with("bootstrap.servers", "h:1")).unwrap_err();
        assert_eq!(e.key, "group.id");
        let e = GroupConfig::from_properties(&base().with("heartbeat.interval.ms", "50000")).unwrap_err();
        assert_eq!(e.key, "heartbeat.interval.ms");
        let e = GroupConfig::from_properties(&base().with("partition.assignment.strategy", "sticky-ish"))
            .unwrap_err();
        assert_eq!(e.key, "partition.assignment.strategy");
        let e = GroupConfig::from_properties(&base().with("group.protocol", "consumer")).unwrap_err();
        assert_eq!(e.key, "group.protocol");
        let c = GroupConfig::from_properties(&base().with(
            "partition.assignment.strategy",
            "org.apache.kafka.clients.consumer.RoundRobinAssignor, range",
        ))
        .unwrap();
        assert_eq!(c.assignors, vec!["roundrobin", "range"]);
        let c = GroupConfig::from_properties(&base().with("rebalance.timeout.ms", "60000")).unwrap();
        assert_eq!(c.rebalance_timeout, Duration::from_secs(60));
        let c = GroupConfig::from_properties(&base().with("max.poll.interval.ms", "1000")).unwrap();
        assert_eq!(c.rebalance_timeout, Duration::from_secs(1));
    }
}
