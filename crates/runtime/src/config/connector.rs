//! Connector configuration: the keys every connector takes (`ConnectorConfig`), plus the sink
//! (`SinkConnectorConfig`) and source (`SourceConnectorConfig`) ones. A connector's own keys
//! are merged on top by the connector's definition.

use super::{
    ConfigDef, ConfigError, ConfigErrors, ConfigKey, ConfigType, Importance, KeyReport, Parsed, Validator,
    Width,
};
use std::collections::BTreeMap;

/// Keys of every connector, in Connect's order and with its UI groups, orders, widths and
/// display names (`ConnectorConfig.configDef()`): `GET /connector-plugins/{p}/config` and
/// `.../config/validate` list them as Connect does.
pub fn common_def() -> ConfigDef {
    use ConfigType as T;
    use Importance::{High, Low, Medium};
    use Width::{Long as L, Medium as M, Short as S};
    const COMMON: &str = "Common";
    const ERRORS: &str = "Error Handling";
    ConfigDef::new()
        .define(
            ConfigKey::required("name", T::String, High, "Globally unique name of the connector.")
                .validate(Validator::NonEmptyString)
                .group(COMMON, 1, M, "Connector name"),
        )
        .define(
            ConfigKey::required(
                "connector.class",
                T::String,
                High,
                "The connector's class: a Kafka class name, its simple name, or the simple name without 'Connector'.",
            )
            .group(COMMON, 2, L, "Connector class"),
        )
        .define(
            ConfigKey::new(
                "connector.plugin.version",
                T::String,
                None,
                Medium,
                "Version of the connector (kaflow has one version of each: its own).",
            )
            .group(COMMON, 3, M, "Connector version"),
        )
        .define(
            ConfigKey::new("tasks.max", T::Int, Some("1"), High, "Maximum number of tasks for this connector.")
                .validate(Validator::at_least(1))
                .group(COMMON, 4, S, "Tasks max"),
        )
        .define(
            ConfigKey::new(
                "tasks.max.enforce",
                T::Boolean,
                Some("true"),
                Low,
                "(Deprecated in Connect) Whether tasks.max is enforced; kaflow always enforces it.",
            )
            .group(COMMON, 5, S, "Enforce tasks max"),
        )
        .define(
            ConfigKey::new("key.converter", T::Class, None, Low, "Overrides the worker's key.converter.")
                .group(COMMON, 6, S, "Key converter class"),
        )
        .define(
            ConfigKey::new("key.converter.plugin.version", T::String, None, Low, "Version of the key converter.")
                .group(COMMON, 7, S, "Key converter version"),
        )
        .define(
            ConfigKey::new("value.converter", T::Class, None, Low, "Overrides the worker's value.converter.")
                .group(COMMON, 8, S, "Value converter class"),
        )
        .define(
            ConfigKey::new(
                "value.converter.plugin.version",
                T::String,
                None,
                Low,
                "Version of the value converter.",
            )
            .group(COMMON, 9, S, "Value converter version"),
        )
        .define(
            ConfigKey::new(
                "header.converter",
                T::Class,
                None,
                Low,
                "Overrides the worker's header.converter.",
            )
            .group(COMMON, 10, S, "Header converter class"),
        )
        .define(
            ConfigKey::new(
                "header.converter.plugin.version",
                T::String,
                None,
                Low,
                "Version of the header converter.",
            )
            .group(COMMON, 11, S, "Header converter version"),
        )
        .define(
            ConfigKey::new(
                "transforms",
                T::List,
                Some(""),
                Low,
                "Aliases of the transformations to apply, in order.",
            )
            .group("Transforms", 12, L, "Transforms"),
        )
        .define(
            ConfigKey::new(
                "predicates",
                T::List,
                Some(""),
                Low,
                "Aliases of the predicates transformations may use.",
            )
            .group("Predicates", 13, L, "Predicates"),
        )
        .define(
            ConfigKey::new(
                "config.action.reload",
                T::String,
                Some("restart"),
                Low,
                "What to do when a config provider's value changes: none or restart.",
            )
            .validate(Validator::OneOfIgnoreCase(&["none", "restart"]))
            .group(COMMON, 14, M, "Reload Action"),
        )
        .define(
            ConfigKey::new(
                "errors.retry.timeout",
                T::Long,
                Some("0"),
                Medium,
                "How long to retry a failed operation, in ms; -1 retries forever, 0 never.",
            )
            .validate(Validator::at_least(-1))
            .group(ERRORS, 1, M, "Retry Timeout for Errors"),
        )
        .define(
            ConfigKey::new(
                "errors.retry.delay.max.ms",
                T::Long,
                Some("60000"),
                Medium,
                "Maximum delay between consecutive retries, in ms.",
            )
            .validate(Validator::at_least(1))
            .group(ERRORS, 2, M, "Maximum Delay Between Retries for Errors"),
        )
        .define(
            ConfigKey::new(
                "errors.tolerance",
                T::String,
                Some("none"),
                Medium,
                "none: any error fails the task; all: problematic records are skipped.",
            )
            .validate(Validator::OneOfIgnoreCase(&["none", "all"]))
            .group(ERRORS, 3, S, "Error Tolerance"),
        )
        .define(
            ConfigKey::new(
                "errors.log.enable",
                T::Boolean,
                Some("false"),
                Medium,
                "Log each error and the failed operation.",
            )
            .group(ERRORS, 4, S, "Log Errors"),
        )
        .define(
            ConfigKey::new(
                "errors.log.include.messages",
                T::Boolean,
                Some("false"),
                Medium,
                "Include the failed record in the error log (never its password fields).",
            )
            .group(ERRORS, 5, S, "Log Error Details"),
        )
}

/// Keys of sink connectors (`SinkConnectorConfig`), after the common ones. A sink's consumer
/// group override (`consumer.override.group.id`) is a client override, read from the raw
/// config as Connect does, not a key of this definition.
pub fn sink_def() -> ConfigDef {
    use ConfigType as T;
    use Importance::{High, Medium};
    use Width::{Long as L, Medium as M};
    const COMMON: &str = "Common";
    const ERRORS: &str = "Error Handling";
    common_def()
        .define(
            ConfigKey::new(
                "topics",
                T::List,
                Some(""),
                High,
                "Topics to consume. Set this or topics.regex.",
            )
            .group(COMMON, 4, L, "Topics"),
        )
        .define(
            ConfigKey::new(
                "topics.regex",
                T::String,
                Some(""),
                High,
                "Regular expression of topics to consume. Set this or topics.",
            )
            .group(COMMON, 4, L, "Topics regex"),
        )
        .define(
            ConfigKey::new(
                "errors.deadletterqueue.topic.name",
                T::String,
                Some(""),
                Medium,
                "Topic for records that failed (empty = no dead letter queue).",
            )
            .group(ERRORS, 6, M, "Dead Letter Queue Topic Name"),
        )
        .define(
            ConfigKey::new(
                "errors.deadletterqueue.topic.replication.factor",
                T::Short,
                Some("3"),
                Medium,
                "Replication factor of the dead letter queue topic when kaflow creates it.",
            )
            .validate(Validator::at_least(-1))
            .group(ERRORS, 7, M, "Dead Letter Queue Topic Replication Factor"),
        )
        .define(
            ConfigKey::new(
                "errors.deadletterqueue.context.headers.enable",
                T::Boolean,
                Some("false"),
                Medium,
                "Add __connect.errors.* headers describing the failure to dead-lettered records.",
            )
            .group(ERRORS, 8, M, "Enable Error Context Headers"),
        )
}

/// Keys of source connectors.
pub fn source_def() -> ConfigDef {
    use ConfigType as T;
    use Importance::{Low, Medium};
    common_def()
        .define(
            ConfigKey::new(
                "exactly.once.support",
                T::String,
                Some("requested"),
                Medium,
                "Whether exactly-once support is required (distributed mode, KIP-618).",
            )
            .validate(Validator::OneOfIgnoreCase(&["requested", "required"])),
        )
        .define(
            ConfigKey::new(
                "transaction.boundary",
                T::String,
                Some("poll"),
                Medium,
                "Transaction boundaries for exactly-once sources: poll, interval or connector.",
            )
            .validate(Validator::OneOfIgnoreCase(&["poll", "interval", "connector"])),
        )
        .define(ConfigKey::new(
            "topic.creation.groups",
            T::List,
            Some(""),
            Low,
            "Groups of topic creation settings (KIP-158).",
        ))
        .define(ConfigKey::new(
            "offsets.storage.topic",
            T::String,
            None,
            Low,
            "A per-connector offsets topic (distributed mode, KIP-618).",
        ))
}

/// What Connect's `SinkConnectorConfig.validate` adds to a validation's reports: the same
/// message on both `topics` and `topics.regex` when both are set or neither is.
pub fn add_sink_report_errors(config: &BTreeMap<String, String>, reports: &mut [KeyReport]) {
    let set = |k: &str| config.get(k).is_some_and(|v| !v.trim().is_empty());
    let message = match (set("topics"), set("topics.regex")) {
        (true, true) => "topics and topics.regex are mutually exclusive options, but both are set.",
        (false, false) => "Must configure one of topics or topics.regex",
        _ => return,
    };
    for r in reports
        .iter_mut()
        .filter(|r| r.name == "topics" || r.name == "topics.regex")
    {
        r.errors.push(message.to_string());
    }
}

/// Sink rule across keys: exactly one of `topics` and `topics.regex` (as Connect's
/// `SinkConnectorConfig.validate`), and the DLQ topic isn't one of the consumed topics.
pub fn check_sink(p: &Parsed) -> Result<(), ConfigError> {
    let topics = p.list("topics");
    let regex = p.string("topics.regex").unwrap_or("");
    let invalid = |name: &str, value: String, reason: &str| ConfigError::Invalid {
        name: name.into(),
        value,
        reason: reason.into(),
    };
    match (topics.is_empty(), regex.is_empty()) {
        (false, false) => Err(invalid(
            "topics",
            topics.join(","),
            "topics and topics.regex are mutually exclusive options, but both are set.",
        )),
        (true, true) => Err(invalid(
            "topics",
            String::new(),
            "Must configure one of topics or topics.regex",
        )),
        _ => {
            let dlq = p.string("errors.deadletterqueue.topic.name").unwrap_or("");
            if !dlq.is_empty() && topics.iter().any(|t| t == dlq) {
                return Err(invalid(
                    "errors.deadletterqueue.topic.name",
                    dlq.to_string(),
                    "The DLQ topic cannot be the same as a topic the connector consumes.",
                ));
            }
            if !regex.is_empty() {
                regex::Regex::new(regex).map_err(|e| {
                    invalid(
                        "topics.regex",
                        regex.to_string(),
                        &format!("not a valid regex: {e}"),
                    )
                })?;
            }
            Ok(())
        }
    }
}

/// The client override prefixes a connector may use (`ConnectorConfig.*_OVERRIDE_PREFIX`).
pub const OVERRIDE_PREFIXES: [&str; 3] = ["producer.override.", "consumer.override.", "admin.override."];

/// Checks a connector's `producer.override.*`, `consumer.override.*` and `admin.override.*`
/// keys against the worker's `connector.client.config.override.policy` (KIP-458): `All` allows
/// any, `None` none, `Principal` only `security.protocol`, `sasl.jaas.config` and
/// `sasl.mechanism`. The message is Connect's.
pub fn check_client_overrides(policy: &str, config: &BTreeMap<String, String>) -> Result<(), ConfigErrors> {
    const PRINCIPAL: [&str; 3] = ["sasl.jaas.config", "sasl.mechanism", "security.protocol"];
    let errors: Vec<ConfigError> = config
        .iter()
        .filter_map(|(k, v)| {
            let sub = OVERRIDE_PREFIXES.iter().find_map(|p| k.strip_prefix(p))?;
            let allowed = match policy {
                "All" => true,
                "Principal" => PRINCIPAL.contains(&sub),
                _ => false,
            };
            (!allowed).then(|| ConfigError::Invalid {
                name: k.clone(),
                value: if sub.contains("password") || sub == "sasl.jaas.config" {
                    "[hidden]".into()
                } else {
                    v.clone()
                },
                reason: format!(
                    "The '{policy}' policy does not allow '{sub}' to be overridden in the connector configuration."
                ),
            })
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ConfigErrors(errors))
    }
}

/// Kafka client settings of type PASSWORD (`CommonClientConfigs`, `SslConfigs`, `SaslConfigs`).
/// Connect passes them through `producer.override.` / `consumer.override.` / `admin.override.`
/// (and a worker's `producer.` / `consumer.` prefixes); REST shows them as `[hidden]`.
pub const CLIENT_PASSWORD_KEYS: &[&str] = &[
    "ssl.key.password",
    "ssl.keystore.password",
    "ssl.keystore.key",
    "ssl.keystore.certificate.chain",
    "ssl.truststore.password",
    "ssl.truststore.certificates",
    "sasl.jaas.config",
    "sasl.oauthbearer.client.credentials.client.secret",
    "sasl.oauthbearer.assertion.private.key.passphrase",
];

/// Whether connector key `key` carries a client secret (a [`CLIENT_PASSWORD_KEYS`] key, bare or
/// behind a client override prefix).
pub fn is_client_secret(key: &str) -> bool {
    let bare = ["producer.override.", "consumer.override.", "admin.override."]
        .iter()
        .find_map(|p| key.strip_prefix(p))
        .unwrap_or(key);
    CLIENT_PASSWORD_KEYS.contains(&bare)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn kafka_file_sink_example_parses() {
        // Kafka's config/connect-file-sink.properties.
        let p = sink_def()
            .parse(&props(&[
                ("name", "local-file-sink"),
                ("connector.class", "FileStreamSink"),
                ("tasks.max", "1"),
                ("file", "test.sink.txt"),
                ("topics", "connect-test"),
            ]))
            .unwrap();
        check_sink(&p).unwrap();
        assert_eq!(p.list("topics"), ["connect-test"]);
        assert_eq!(p.string("errors.tolerance"), Some("none"));
        assert_eq!(p.originals()["file"], "test.sink.txt");
    }

    #[test]
    fn sink_topic_rules() {
        let base = [("name", "s"), ("connector.class", "X")];
        let check = |extra: &[(&str, &str)]| {
            let mut kv = base.to_vec();
            kv.extend_from_slice(extra);
            check_sink(&sink_def().parse(&props(&kv)).unwrap()).map_err(|e| e.to_string())
        };
        assert!(check(&[])
            .unwrap_err()
            .contains("Must configure one of topics or topics.regex"));
        assert!(check(&[("topics", "a"), ("topics.regex", "a.*")])
            .unwrap_err()
            .contains("mutually exclusive"));
        assert!(
            check(&[("topics", "a"), ("errors.deadletterqueue.topic.name", "a")])
                .unwrap_err()
                .contains("DLQ")
        );
        assert!(check(&[("topics.regex", "(")])
            .unwrap_err()
            .contains("topics.regex"));
        check(&[("topics.regex", "a.*")]).unwrap();
    }

    #[test]
    fn client_override_policies() {
        let c = props(&[
            ("consumer.override.max.poll.records", "10"),
            ("producer.override.security.protocol", "SSL"),
            ("topics", "t"),
        ]);
        check_client_overrides("All", &c).unwrap();
        let none = check_client_overrides("None", &c).unwrap_err();
        assert_eq!(none.0.len(), 2);
        assert!(none.to_string().contains(
            "The 'None' policy does not allow 'max.poll.records' to be overridden in the connector configuration."
        ));
        let principal = check_client_overrides("Principal", &c).unwrap_err();
        assert_eq!(principal.0.len(), 1);
        assert_eq!(principal.0[0].key(), "consumer.override.max.poll.records");
    }

    #[test]
    fn bad_common_values_are_named() {
        let e = source_def()
            .parse(&props(&[
                ("name", "s"),
                ("connector.class", "X"),
                ("tasks.max", "0"),
                ("errors.tolerance", "most"),
            ]))
            .unwrap_err();
        let keys: Vec<&str> = e.0.iter().map(|e| e.key()).collect();
        assert_eq!(keys, ["tasks.max", "errors.tolerance"]);
    }

    #[test]
    fn client_secrets_are_recognised_bare_and_behind_override_prefixes() {
        assert!(is_client_secret("producer.override.ssl.truststore.password"));
        assert!(is_client_secret("consumer.override.sasl.jaas.config"));
        assert!(is_client_secret("ssl.key.password"));
        assert!(!is_client_secret("producer.override.acks"));
        assert!(!is_client_secret("topic"));
    }
}
