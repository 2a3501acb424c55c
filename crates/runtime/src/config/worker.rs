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
}
