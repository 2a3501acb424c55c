//! Consumer settings, under the Java consumer's key names and with its defaults (Kafka 4.x).

use crate::config::{ClientConfig, ConfigError, Properties};
use std::time::Duration;

/// `isolation.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolationLevel {
    /// `read_uncommitted` (default): everything, aborted transactions included.
    ReadUncommitted,
    /// `read_committed`: only committed transactional data, up to the last stable offset.
    ReadCommitted,
}

impl IsolationLevel {
    /// The wire value (Fetch/ListOffsets `IsolationLevel`).
    pub fn wire(self) -> i8 {
        match self {
            IsolationLevel::ReadUncommitted => 0,
            IsolationLevel::ReadCommitted => 1,
        }
    }
}

/// `auto.offset.reset`: where to start when there is no valid position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    /// `latest` (default): the end of the partition.
    Latest,
    /// `earliest`: the log start.
    Earliest,
    /// `none`: an error for the partition, surfaced by `poll`.
    None,
}

/// Consumer configuration.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Connection and metadata settings shared with every client.
    pub client: ClientConfig,
    /// `fetch.min.bytes` (default 1): the broker waits for this much data (up to the wait).
    pub fetch_min_bytes: i32,
    /// `fetch.max.bytes` (default 52428800): the most data one Fetch response returns.
    pub fetch_max_bytes: i32,
    /// `max.partition.fetch.bytes` (default 1048576): the most data per partition per Fetch
    /// (the first batch is returned whole even if larger, KIP-74).
    pub max_partition_fetch_bytes: i32,
    /// `fetch.max.wait.ms` (default 500): how long the broker may hold a Fetch for
    /// `fetch.min.bytes`.
    pub fetch_max_wait: Duration,
    /// `isolation.level` (default read_uncommitted).
    pub isolation: IsolationLevel,
    /// `auto.offset.reset` (default latest).
    pub auto_offset_reset: OffsetReset,
    /// `max.poll.records` (default 500): the most records one `poll` returns.
    pub max_poll_records: usize,
    /// `check.crcs` (default true): verify each batch's CRC32C.
    pub check_crcs: bool,
    /// `client.rack` (default empty): sent in Fetch for follower fetching (KIP-392).
    pub client_rack: String,
}

impl ConsumerConfig {
    /// Reads a consumer's settings from Kafka-style properties.
    pub fn from_properties(p: &Properties) -> Result<Self, ConfigError> {
        let client = ClientConfig::from_properties(p)?;
        let isolation = match p.get("isolation.level").unwrap_or("read_uncommitted") {
            v if v.eq_ignore_ascii_case("read_uncommitted") => IsolationLevel::ReadUncommitted,
            v if v.eq_ignore_ascii_case("read_committed") => IsolationLevel::ReadCommitted,
            v => {
                return Err(ConfigError::new(
                    "isolation.level",
                    v,
                    "must be read_uncommitted or read_committed",
                ))
            }
        };
        let auto_offset_reset = match p.get("auto.offset.reset").unwrap_or("latest") {
            v if v.eq_ignore_ascii_case("latest") => OffsetReset::Latest,
            v if v.eq_ignore_ascii_case("earliest") => OffsetReset::Earliest,
            v if v.eq_ignore_ascii_case("none") => OffsetReset::None,
            v => {
                return Err(ConfigError::new(
                    "auto.offset.reset",
                    v,
                    "must be latest, earliest or none",
                ))
            }
        };
        Ok(Self {
            client,
            fetch_min_bytes: p.int_in("fetch.min.bytes", 1, 0..=i32::MAX)?,
            fetch_max_bytes: p.int_in("fetch.max.bytes", 52_428_800, 0..=i32::MAX)?,
            max_partition_fetch_bytes: p.int_in("max.partition.fetch.bytes", 1_048_576, 0..=i32::MAX)?,
            fetch_max_wait: p.millis("fetch.max.wait.ms", 500, 0)?,
            isolation,
            auto_offset_reset,
            max_poll_records: p.int_in("max.poll.records", 500, 1..=i32::MAX as usize)?,
            check_crcs: p.boolean("check.crcs", true)?,
            client_rack: p.get("client.rack").unwrap_or("").to_string(),
        })
    }

    /// Defaults with `bootstrap.servers` set.
    pub fn new(bootstrap: &str) -> Result<Self, ConfigError> {
        Self::from_properties(&Properties::new().with("bootstrap.servers", bootstrap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_defaults_and_bad_values_name_the_key() {
        let c = ConsumerConfig::new("127.0.0.1:9092").unwrap();
        assert_eq!(
            (c.fetch_min_bytes, c.fetch_max_bytes, c.max_partition_fetch_bytes),
            (1, 52_428_800, 1_048_576)
        );
        assert_eq!(c.fetch_max_wait, Duration::from_millis(500));
        assert_eq!(
            (c.isolation, c.auto_offset_reset, c.max_poll_records),
            (IsolationLevel::ReadUncommitted, OffsetReset::Latest, 500)
        );
        let p = Properties::new()
            .with("bootstrap.servers", "x:1")
            .with("isolation.level", "serializable");
        assert!(ConsumerConfig::from_properties(&p)
            .unwrap_err()
            .to_string()
            .contains("isolation.level"));
        let p = Properties::new()
            .with("bootstrap.servers", "x:1")
            .with("max.poll.records", "0");
        assert!(ConsumerConfig::from_properties(&p)
            .unwrap_err()
            .to_string()
            .contains("max.poll.records"));
    }
}
