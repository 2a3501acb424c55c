//! Worker configuration: connect-standalone's and connect-distributed's keys
//! (`WorkerConfig`, `StandaloneConfig`, `RestServerConfig` in Kafka Connect).

use super::{ConfigDef, ConfigKey, ConfigType, Importance, Validator};

const COMMON: &str = "Common";

/// Keys every worker reads, standalone or distributed.
pub fn common_def() -> ConfigDef {
    use ConfigType as T;
    use Importance::{High, Low, Medium};
    ConfigDef::new()
        .define(ConfigKey::new(
            "bootstrap.servers",
            T::List,
            Some("localhost:9092"),
            High,
            "A list of host/port pairs used to establish the initial connection to the Kafka cluster.",
        ))
        .define(ConfigKey::required(
            "key.converter",
            T::Class,
            High,
            "Converter class for the keys of records (Kafka class names or kaflow aliases).",
        ))
        .define(ConfigKey::required(
            "value.converter",
            T::Class,
            High,
            "Converter class for the values of records.",
        ))
        .define(ConfigKey::new(
            "header.converter",
            T::Class,
            Some("org.apache.kafka.connect.storage.SimpleHeaderConverter"),
            Low,
            "HeaderConverter class for record headers.",
        ))
        .define(
            ConfigKey::new(
                "offset.flush.interval.ms",
                T::Long,
                Some("60000"),
                Low,
                "Interval at which to try committing offsets for tasks.",
            )
            .validate(Validator::at_least(0)),
        )
        .define(
            ConfigKey::new(
                "offset.flush.timeout.ms",
                T::Long,
                Some("5000"),
                Low,
                "Maximum time to wait for records to flush and offsets to commit before cancelling.",
            )
            .validate(Validator::at_least(0)),
        )
        .define(
            ConfigKey::new(
                "task.shutdown.graceful.timeout.ms",
                T::Long,
                Some("5000"),
                Low,
                "Time to wait for tasks to stop gracefully (total, not per task).",
            )
            .validate(Validator::at_least(0)),
        )
        .define(ConfigKey::new(
            "listeners",
            T::List,
            Some("http://:8083"),
            Low,
            "Where the REST API listens: comma-separated URIs such as http://:8083.",
        ))
        .define(ConfigKey::new(
            "rest.basic.auth.credentials.file",
            T::String,
            None,
            Low,
            "kaflow: a properties file of user=password lines (the file Connect's \
             BasicAuthSecurityRestExtension reads through its JAAS PropertyFileLoginModule). \
             When set, every REST request needs HTTP Basic credentials from it; others get 401.",
        ))
        .define(ConfigKey::new(
            "rest.advertised.host.name",
            T::String,
            None,
            Low,
            "The host name given to other workers to reach this one.",
        ))
        .define(ConfigKey::new(
            "rest.advertised.port",
            T::Int,
            None,
            Low,
            "The port given to other workers to reach this one.",
        ))
        .define(ConfigKey::new(
            "rest.advertised.listener",
            T::String,
            None,
            Low,
            "The listener given to other workers (http or https).",
        ))
        .define(ConfigKey::new(
            "plugin.path",
            T::List,
            None,
            Low,
            "Accepted for compatibility and ignored: kaflow's connectors are built in.",
        ))
        .define(ConfigKey::new(
            "config.providers",
            T::List,
            Some(""),
            Low,
            "Names of config providers (file, env) that resolve ${provider:path:key} references.",
        ))
        .define(
            ConfigKey::new(
                "connector.client.config.override.policy",
                T::String,
                Some("All"),
                Medium,
                "Which producer.override.* / consumer.override.* / admin.override.* keys connectors may set.",
            )
            .validate(Validator::OneOf(&["All", "None", "Principal"])),
        )
        .define(ConfigKey::new(
            "topic.creation.enable",
            T::Boolean,
            Some("true"),
            Low,
            "Whether source connectors may create topics (KIP-158).",
        ))
        .define(ConfigKey::new(
            "client.id",
            T::String,
            Some(""),
            Low,
            "Client id for the worker's Kafka clients.",
        ))
        .define(ConfigKey::new(
            "admin.listeners",
            T::List,
            None,
            Low,
            "Where the admin REST endpoints (loggers) listen; unset = the main listeners.",
        ))
        .define(ConfigKey::new(
            "group.id",
            T::String,
            None,
            High,
            "Distributed mode: the Connect cluster id.",
        ))
}

/// connect-standalone's keys: the common ones plus the offsets file.
pub fn standalone_def() -> ConfigDef {
    common_def().define(
        ConfigKey::required(
            "offset.storage.file.filename",
            ConfigType::String,
            Importance::High,
            "File to store source connector offsets in (kaflow's own crash-safe format).",
        )
        .validate(Validator::NonEmptyString)
        .group(COMMON, 1, super::Width::Long, "Offsets file"),
    )
}

/// connect-distributed's keys (`DistributedConfig`): the common ones plus the worker group and
/// its three internal topics. Defaults are Connect's; `connect-distributed.properties` as Kafka
/// ships it sets the replication factors to 1.
pub fn distributed_def() -> ConfigDef {
    use ConfigType as T;
    use Importance::{High, Low, Medium};
    let topic = |name: &'static str, doc: &'static str| {
        ConfigKey::required(name, T::String, High, doc).validate(Validator::NonEmptyString)
    };
    let replication = |name: &'static str, doc: &'static str| {
        ConfigKey::new(name, T::Short, Some("3"), Low, doc)
            .validate(Validator::Custom(std::sync::Arc::new(positive_or_default)))
    };
    let millis = |name: &'static str, default: &'static str, importance, doc: &'static str| {
        ConfigKey::new(name, T::Int, Some(default), importance, doc).validate(Validator::at_least(1))
    };
    common_def()
        .define(
            ConfigKey::required(
                "group.id",
                T::String,
                High,
                "A unique string that identifies the Connect cluster group this worker belongs to.",
            )
            .validate(Validator::NonEmptyString),
        )
        .define(topic(
            "config.storage.topic",
            "The name of the Kafka topic where connector configurations are stored (one partition, compacted).",
        ))
        .define(replication(
            "config.storage.replication.factor",
            "Replication factor used when creating the configuration storage topic.",
        ))
        .define(topic(
            "offset.storage.topic",
            "The name of the Kafka topic where source connector offsets are stored (compacted).",
        ))
        .define(
            ConfigKey::new(
                "offset.storage.partitions",
                T::Int,
                Some("25"),
                Low,
                "The number of partitions used when creating the offset storage topic.",
            )
            .validate(Validator::Custom(std::sync::Arc::new(positive_or_default))),
        )
        .define(replication(
            "offset.storage.replication.factor",
            "Replication factor used when creating the offset storage topic.",
        ))
        .define(topic(
            "status.storage.topic",
            "The name of the Kafka topic where connector and task status are stored (compacted).",
        ))
        .define(
            ConfigKey::new(
                "status.storage.partitions",
                T::Int,
                Some("5"),
                Low,
                "The number of partitions used when creating the status storage topic.",
            )
            .validate(Validator::Custom(std::sync::Arc::new(positive_or_default))),
        )
        .define(replication(
            "status.storage.replication.factor",
            "Replication factor used when creating the status storage topic.",
        ))
        .define(millis(
            "session.timeout.ms",
            "10000",
            High,
            "The timeout used to detect worker failures: no heartbeat within it and the worker leaves the group.",
        ))
        .define(millis(
            "heartbeat.interval.ms",
            "3000",
            High,
            "The expected time between heartbeats to the group coordinator.",
        ))
        .define(millis(
            "rebalance.timeout.ms",
            "60000",
            High,
            "The maximum time each worker may take to join the group once a rebalance has begun.",
        ))
        .define(
            ConfigKey::new(
                "scheduled.rebalance.max.delay.ms",
                T::Int,
                Some("300000"),
                Low,
                "How long the work of a departed worker is held for it to come back before it is reassigned (KIP-415).",
            )
            .validate(Validator::at_least(0)),
        )
        .define(
            ConfigKey::new(
                "connect.protocol",
                T::String,
                Some("sessioned"),
                Low,
                "Compatibility mode for the worker group protocol: eager, compatible or sessioned.",
            )
            .validate(Validator::OneOfIgnoreCase(&["eager", "compatible", "sessioned"])),
        )
        .define(millis(
            "worker.sync.timeout.ms",
            "3000",
            Medium,
            "How long a worker waits to catch up with the config topic before it leaves the group.",
        ))
        .define(millis(
            "worker.unsync.backoff.ms",
            "300000",
            Medium,
            "How long a worker that could not catch up waits before it rejoins.",
        ))
        .define(ConfigKey::new(
            "inter.worker.key.generation.algorithm",
            T::String,
            Some("HmacSHA256"),
            Low,
            "The algorithm of the session key that signs internal REST requests.",
        ))
        .define(ConfigKey::new(
            "inter.worker.signature.algorithm",
            T::String,
            Some("HmacSHA256"),
            Low,
            "The algorithm used to sign internal REST requests.",
        ))
        .define(millis(
            "inter.worker.key.ttl.ms",
            "3600000",
            Low,
            "How long a session key lives before the leader rotates it.",
        ))
}

/// -1 (the broker's `num.partitions`) or a positive partition count.
fn positive_or_default(v: &super::ConfigValue) -> Result<(), String> {
    match v.as_i64() {
        Some(n) if n == -1 || n >= 1 => Ok(()),
        _ => Err("must be -1 (the broker's default) or at least 1".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn connect_standalone_properties_parse() {
        // Kafka's config/connect-standalone.properties.
        let text = "bootstrap.servers=localhost:9092\n\
                    key.converter=org.apache.kafka.connect.json.JsonConverter\n\
                    value.converter=org.apache.kafka.connect.json.JsonConverter\n\
                    key.converter.schemas.enable=true\n\
                    value.converter.schemas.enable=true\n\
                    offset.storage.file.filename=/tmp/connect.offsets\n\
                    offset.flush.interval.ms=10000\n\
                    plugin.path=libs/connect-file-4.3.1.jar\n";
        let props: BTreeMap<String, String> =
            super::super::properties_file::parse(text).into_iter().collect();
        let p = standalone_def().parse(&props).unwrap();
        assert_eq!(p.list("bootstrap.servers"), ["localhost:9092"]);
        assert_eq!(p.long("offset.flush.interval.ms"), Some(10000));
        assert_eq!(
            p.string("offset.storage.file.filename"),
            Some("/tmp/connect.offsets")
        );
        assert_eq!(p.with_prefix("value.converter.")["schemas.enable"], "true");
        assert_eq!(p.list("listeners"), ["http://:8083"]);
    }

    #[test]
    fn missing_converters_and_offsets_file_are_named() {
        let e = standalone_def().parse(&BTreeMap::new()).unwrap_err();
        let keys: Vec<&str> = e.0.iter().map(|e| e.key()).collect();
        assert_eq!(
            keys,
            ["key.converter", "value.converter", "offset.storage.file.filename"]
        );
    }

    #[test]
    fn connect_distributed_properties_parse_with_connects_defaults() {
        // Kafka's config/connect-distributed.properties (comments dropped).
        let text = "bootstrap.servers=localhost:9092\n\
                    group.id=connect-cluster\n\
                    key.converter=org.apache.kafka.connect.json.JsonConverter\n\
                    value.converter=org.apache.kafka.connect.json.JsonConverter\n\
                    offset.storage.topic=connect-offsets\n\
                    offset.storage.replication.factor=1\n\
                    config.storage.topic=connect-configs\n\
                    config.storage.replication.factor=1\n\
                    status.storage.topic=connect-status\n\
                    status.storage.replication.factor=1\n\
                    offset.flush.interval.ms=10000\n";
        let props: BTreeMap<String, String> =
            super::super::properties_file::parse(text).into_iter().collect();
        let p = distributed_def().parse(&props).unwrap();
        assert_eq!(p.string("group.id"), Some("connect-cluster"));
        assert_eq!(p.long("offset.storage.partitions"), Some(25));
        assert_eq!(p.long("status.storage.partitions"), Some(5));
        assert_eq!(p.long("config.storage.replication.factor"), Some(1));
        assert_eq!(p.long("scheduled.rebalance.max.delay.ms"), Some(300000));
        assert_eq!(p.string("connect.protocol"), Some("sessioned"));
        assert_eq!(p.long("session.timeout.ms"), Some(10000));
    }

    #[test]
    fn distributed_needs_a_group_and_three_topics_and_sane_counts() {
        let e = distributed_def().parse(&BTreeMap::new()).unwrap_err();
        let keys: Vec<&str> = e.0.iter().map(|e| e.key()).collect();
        for k in [
            "group.id",
            "config.storage.topic",
            "offset.storage.topic",
            "status.storage.topic",
        ] {
            assert!(keys.contains(&k), "{k} missing from {keys:?}");
        }
        let mut props: BTreeMap<String, String> = [
            ("group.id", "g"),
            (
                "key.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            (
                "value.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            ("config.storage.topic", "c"),
            ("offset.storage.topic", "o"),
            ("status.storage.topic", "s"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert!(distributed_def().parse(&props).is_ok());
        for (k, bad) in [
            ("offset.storage.partitions", "0"),
            ("config.storage.replication.factor", "-2"),
            ("connect.protocol", "paxos"),
            ("session.timeout.ms", "0"),
        ] {
            props.insert(k.to_string(), bad.to_string());
            let e = distributed_def().parse(&props).unwrap_err();
            assert_eq!(e.0[0].key(), k, "{bad} for {k}");
            props.remove(k);
        }
    }
}
