//! Producer settings, under the Java producer's key names and with its defaults (Kafka 4.x).

use crate::compression::{Compression, CompressionLevel};
use crate::config::{ClientConfig, ConfigError, Properties};
use std::time::Duration;

/// `acks`: how many replicas must have a record before the leader answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// `acks=0`: no answer at all; no delivery information, no retries.
    None,
    /// `acks=1`: the leader has it.
    Leader,
    /// `acks=all` (-1): every in-sync replica has it. Required by idempotence.
    All,
}

impl Acks {
    /// The wire value.
    pub fn wire(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

/// Producer configuration.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// Connection and metadata settings shared with every client.
    pub client: ClientConfig,
    /// `acks` (default `all`).
    pub acks: Acks,
    /// `enable.idempotence` (default true): producer id, epoch and per-partition sequences so a
    /// retry is never written twice (KIP-98), and order is kept with up to 5 requests in flight.
    pub idempotence: bool,
    /// `linger.ms` (default 5, as Java since Kafka 4.0, KIP-1030): how long a non-full batch
    /// waits for more records.
    pub linger: Duration,
    /// `batch.size` (default 16384): the most uncompressed record bytes in one batch.
    pub batch_size: usize,
    /// `buffer.memory` (default 33554432): a hard bound on buffered record bytes; `send`
    /// waits for room (at most `max.block.ms`).
    pub buffer_memory: usize,
    /// `max.block.ms` (default 60000): how long `send` may wait for metadata or buffer room.
    pub max_block: Duration,
    /// `max.request.size` (default 1048576): the largest record (and request) accepted.
    pub max_request_size: usize,
    /// `compression.type` (default none).
    pub compression: Compression,
    /// The level of `compression.gzip.level` / `compression.lz4.level` /
    /// `compression.zstd.level` for the chosen codec (the codec's default when unset).
    pub compression_level: CompressionLevel,
    /// `max.in.flight.requests.per.connection` (default 5; at most 5 with idempotence).
    pub max_in_flight: usize,
    /// `retries` (default i32::MAX): attempts after the first, within the delivery timeout.
    pub retries: u32,
    /// `delivery.timeout.ms` (default 120000): an upper bound on the time from `send` to a
    /// delivery result, retries included.
    pub delivery_timeout: Duration,
    /// `request.timeout.ms` (default 30000), also sent as the Produce request's timeout.
    pub request_timeout: Duration,
    /// `partitioner.ignore.keys` (default false): sticky-partition keyed records too.
    pub ignore_keys: bool,
    /// `transactional.id` (default none): makes the producer transactional (KIP-98). Requires
    /// idempotence; the id fences older producers using it (see `init_transactions`).
    pub transactional_id: Option<String>,
    /// `transaction.timeout.ms` (default 60000): how long the transaction coordinator lets a
    /// transaction stay open before aborting it on its own.
    pub transaction_timeout: Duration,
    /// Test hook: speak transaction protocol v1 (AddPartitionsToTxn / AddOffsetsToTxn, Produce
    /// capped at v11, EndTxn at v4) even when the cluster finalizes `transaction.version` 2, as a
    /// pre-4.0 client would; lets the v1 path be tested against a Kafka 4 broker.
    #[doc(hidden)]
    pub force_transaction_v1: bool,
    /// Test hook: the first sequence number of each partition under the first epoch (0).
    /// Brokers accept any first sequence from a producer id they have no state for, which is
    /// what lets the wraparound test start next to `i32::MAX`.
    #[doc(hidden)]
    pub initial_sequence: i32,
}

impl ProducerConfig {
    /// Reads a producer's settings from Kafka-style properties.
    pub fn from_properties(p: &Properties) -> Result<Self, ConfigError> {
        let client = ClientConfig::from_properties(p)?;
        let acks = match p.get("acks").unwrap_or("all") {
            "all" | "-1" => Acks::All,
            "1" => Acks::Leader,
            "0" => Acks::None,
            other => return Err(ConfigError::new("acks", other, "must be all, -1, 0 or 1")),
        };
        // Java: idempotence is on by default, and silently off only when the user didn't set it
        // and chose an incompatible acks/in-flight; an explicit `true` with those is an error.
        let explicit_idem = p.get("enable.idempotence").is_some();
        let mut idempotence = p.boolean("enable.idempotence", true)?;
        let max_in_flight: usize = p.int_in("max.in.flight.requests.per.connection", 5, 1..=1_000_000)?;
        if idempotence && (acks != Acks::All || max_in_flight > 5) {
            if explicit_idem {
                let (key, value, reason) = if acks != Acks::All {
                    (
                        "acks",
                        format!("{acks:?}"),
                        "enable.idempotence=true requires acks=all",
                    )
                } else {
                    (
                        "max.in.flight.requests.per.connection",
                        max_in_flight.to_string(),
                        "enable.idempotence=true requires at most 5",
                    )
                };
                return Err(ConfigError::new(key, value, reason));
            }
            idempotence = false;
        }
        let compression: Compression = match p.get("compression.type") {
            None => Compression::None,
            Some(v) => v.parse().map_err(|_| {
                ConfigError::new("compression.type", v, "must be none, gzip, snappy, lz4 or zstd")
            })?,
        };
        let level_key = match compression {
            Compression::Gzip => Some("compression.gzip.level"),
            Compression::Lz4 => Some("compression.lz4.level"),
            Compression::Zstd => Some("compression.zstd.level"),
            _ => None,
        };
        let compression_level = match level_key.and_then(|k| p.get(k).map(|v| (k, v))) {
            None => CompressionLevel::DEFAULT,
            Some((k, v)) => {
                let n = v
                    .parse::<i32>()
                    .map_err(|e| ConfigError::new(k, v, e.to_string()))?;
                CompressionLevel::new(compression, n).map_err(|e| ConfigError::new(k, v, e.to_string()))?
            }
        };
        // Java (ProducerConfig.postProcessAndValidateIdempotenceConfigs): a transactional id
        // needs idempotence, whether it was switched off explicitly or by acks / in-flight.
        let transactional_id = p
            .get("transactional.id")
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if let Some(t) = &transactional_id {
            if !idempotence {
                return Err(ConfigError::new(
                    "enable.idempotence",
                    "false",
                    format!("transactional.id={t} requires enable.idempotence=true (and acks=all, at most 5 in flight)"),
                ));
            }
        }
        let transaction_timeout =
            Duration::from_millis(p.int_in("transaction.timeout.ms", 60_000u64, 1..=i32::MAX as u64)?);
        let request_timeout = p.millis("request.timeout.ms", 30_000, 1)?;
        let linger = p.millis("linger.ms", 5, 0)?;
        let delivery_timeout = p.millis("delivery.timeout.ms", 120_000, 1)?;
        if delivery_timeout < linger + request_timeout {
            return Err(ConfigError::new(
                "delivery.timeout.ms",
                delivery_timeout.as_millis().to_string(),
                "must be at least linger.ms + request.timeout.ms",
            ));
        }
        Ok(Self {
            client,
            acks,
            idempotence,
            linger,
            batch_size: p.int_in("batch.size", 16_384, 0..=i32::MAX as usize)?.max(1),
            buffer_memory: p.int_in("buffer.memory", 33_554_432, 1..=(usize::MAX >> 4))?,
            max_block: p.millis("max.block.ms", 60_000, 0)?,
            max_request_size: p.int_in("max.request.size", 1_048_576, 1..=i32::MAX as usize)?,
            compression,
            compression_level,
            max_in_flight,
            retries: p.int_in("retries", i32::MAX as u32, 0..=i32::MAX as u32)?,
            delivery_timeout,
            request_timeout,
            ignore_keys: p.boolean("partitioner.ignore.keys", false)?,
            transactional_id,
            transaction_timeout,
            force_transaction_v1: false,
            initial_sequence: 0,
        })
    }

    /// Defaults for `bootstrap` (idempotent, acks=all, linger 5 ms, no compression).
    pub fn new(bootstrap: &str) -> Result<Self, ConfigError> {
        Self::from_properties(&Properties::new().with("bootstrap.servers", bootstrap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(kv: &[(&str, &str)]) -> Properties {
        kv.iter()
            .fold(Properties::new().with("bootstrap.servers", "h:1"), |p, (k, v)| {
                p.with(k, v)
            })
    }

    #[test]
    fn defaults_match_the_java_producer() {
        let c = ProducerConfig::from_properties(&props(&[])).unwrap();
        assert_eq!(c.acks, Acks::All);
        assert!(c.idempotence);
        assert_eq!(c.linger, Duration::from_millis(5));
        assert_eq!(c.batch_size, 16_384);
        assert_eq!(c.buffer_memory, 32 << 20);
        assert_eq!(c.max_in_flight, 5);
        assert_eq!(c.delivery_timeout, Duration::from_secs(120));
    }

    #[test]
    fn implicit_idempotence_yields_to_acks_1() {
        let c = ProducerConfig::from_properties(&props(&[("acks", "1")])).unwrap();
        assert!(!c.idempotence);
        let e = ProducerConfig::from_properties(&props(&[("acks", "1"), ("enable.idempotence", "true")]))
            .unwrap_err();
        assert_eq!(e.key, "acks");
    }

    #[test]
    fn transactional_id_requires_idempotence() {
        let c = ProducerConfig::from_properties(&props(&[("transactional.id", "tx-1")])).unwrap();
        assert_eq!(c.transactional_id.as_deref(), Some("tx-1"));
        assert_eq!(c.transaction_timeout, Duration::from_secs(60));
        let e = ProducerConfig::from_properties(&props(&[
            ("transactional.id", "tx-1"),
            ("enable.idempotence", "false"),
        ]))
        .unwrap_err();
        assert_eq!(e.key, "enable.idempotence");
        // acks=1 switches implicit idempotence off, which a transactional id can't accept.
        let e = ProducerConfig::from_properties(&props(&[("transactional.id", "tx-1"), ("acks", "1")]))
            .unwrap_err();
        assert_eq!(e.key, "enable.idempotence");
        let e = ProducerConfig::from_properties(&props(&[("transaction.timeout.ms", "soon")])).unwrap_err();
        assert_eq!(e.key, "transaction.timeout.ms");
        let c = ProducerConfig::from_properties(&props(&[])).unwrap();
        assert_eq!(c.transactional_id, None);
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = ProducerConfig::from_properties(&props(&[("compression.type", "brotli")])).unwrap_err();
        assert_eq!(e.key, "compression.type");
        let e = ProducerConfig::from_properties(&props(&[("linger.ms", "-1")])).unwrap_err();
        assert_eq!(e.key, "linger.ms");
        let e = ProducerConfig::from_properties(&props(&[("delivery.timeout.ms", "1000")])).unwrap_err();
        assert_eq!(e.key, "delivery.timeout.ms");
    }
}
