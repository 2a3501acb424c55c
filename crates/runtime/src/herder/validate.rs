//! Checking a connector config before it is accepted or run, as Connect's
//! `AbstractHerder.validateConnectorConfig` does: the same for every herder.

use super::spawn::Instance;
use super::standalone::StandaloneError;
use super::view::ConnectorType;
use crate::config::{connector, ConfigErrors, ConfigType, Parsed};
use crate::plugins::{ConnectorFactory, Plugins};
use std::collections::BTreeMap;

/// A config validated against its connector's ConfigDef, with a fresh connector instance.
pub(crate) struct Validated {
    pub(crate) kind: ConnectorType,
    pub(crate) instance: Instance,
    pub(crate) password_keys: Vec<String>,
    pub(crate) parsed: Parsed,
}

fn config_error(name: &str, errors: ConfigErrors) -> StandaloneError {
    StandaloneError::Config {
        what: format!("connector {name}"),
        errors,
    }
}

/// Checks `config` as Connect does before accepting it: a known connector class, every key
/// valid for its ConfigDef, a sink's topics, the client override policy.
pub(crate) fn validate(
    plugins: &Plugins,
    worker: &Parsed,
    name: &str,
    config: &BTreeMap<String, String>,
) -> Result<Validated, StandaloneError> {
    if name.is_empty() {
        return Err(StandaloneError::Invalid(
            "connector name is missing or empty".into(),
        ));
    }
    let class = config.get("connector.class").cloned().unwrap_or_default();
    let (_, factory) = plugins
        .connector(&class)
        .map_err(|e| StandaloneError::Invalid(e.to_string()))?;
    let (kind, def, instance) = match factory {
        ConnectorFactory::Source(make) => (
            ConnectorType::Source,
            connector::source_def(),
            Instance::Source(make()),
        ),
        ConnectorFactory::Sink(make) => (ConnectorType::Sink, connector::sink_def(), Instance::Sink(make())),
    };
    let own = match &instance {
        Instance::Source(c) => c.config(),
        Instance::Sink(c) => c.config(),
    };
    let def = def.merge(&own);
    let parsed = def.parse(config).map_err(|e| config_error(name, e))?;
    if kind == ConnectorType::Sink {
        connector::check_sink(&parsed).map_err(|e| config_error(name, ConfigErrors(vec![e])))?;
    }
    let policy = worker
        .string("connector.client.config.override.policy")
        .unwrap_or("All");
    connector::check_client_overrides(policy, config).map_err(|e| config_error(name, e))?;
    let password_keys = def
        .keys()
        .iter()
        .filter(|k| k.ty == ConfigType::Password)
        .map(|k| k.name.clone())
        .collect();
    Ok(Validated {
        kind,
        instance,
        password_keys,
        parsed,
    })
}
