//! The plugin registry: which connectors this worker can run, found by Kafka's class names or
//! Connect's aliases.
//!
//! ```text
//!  kaflow binary ──kaflow_connectors::register(&mut plugins)──▶ Plugins
//!  "org.apache.kafka.connect.file.FileStreamSourceConnector" ┐
//!  "FileStreamSourceConnector"                               ├─▶ the same factory
//!  "FileStreamSource"                                        ┘
//! ```
//!
//! Connect's alias rules (`PluginUtils.simpleName` / `prunedName`): the fully qualified class
//! name, the simple class name, or the simple name without its `Connector` suffix.
//! kaflow's connectors are built in; `plugin.path` is accepted and ignored.

use crate::connector::{SinkConnector, SourceConnector};

/// A source or sink connector factory.
#[derive(Clone, Copy)]
pub enum ConnectorFactory {
    /// Makes a source connector.
    Source(fn() -> Box<dyn SourceConnector>),
    /// Makes a sink connector.
    Sink(fn() -> Box<dyn SinkConnector>),
}

impl std::fmt::Debug for ConnectorFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConnectorFactory::Source(_) => "Source",
            ConnectorFactory::Sink(_) => "Sink",
        })
    }
}

/// A plugin's type, as `GET /connector-plugins` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PluginType {
    /// `source`.
    Source,
    /// `sink`.
    Sink,
    /// `converter`.
    Converter,
    /// `header_converter`.
    HeaderConverter,
    /// `transformation`.
    Transformation,
    /// `predicate`.
    Predicate,
}

impl PluginType {
    /// Connect's lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            PluginType::Source => "source",
            PluginType::Sink => "sink",
            PluginType::Converter => "converter",
            PluginType::HeaderConverter => "header_converter",
            PluginType::Transformation => "transformation",
            PluginType::Predicate => "predicate",
        }
    }
}

/// One entry of `GET /connector-plugins`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PluginInfo {
    /// The fully qualified class name.
    pub class: String,
    /// The type.
    pub plugin_type: PluginType,
    /// The version.
    pub version: String,
}

/// The task class Connect names in every task config (`task.class`) for `connector_class`:
/// kaflow's connectors follow Kafka's naming, `…XConnector`'s tasks are `…XTask`.
pub fn task_class(connector_class: &str) -> String {
    let base = connector_class
        .strip_suffix("Connector")
        .unwrap_or(connector_class);
    format!("{base}Task")
}

/// An unknown connector class.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Failed to find any class that implements Connector and which name matches {name}, available connectors are: {}", known.join(", "))]
pub struct UnknownConnector {
    /// What was asked for.
    pub name: String,
    /// The fully qualified names of the connectors this worker has.
    pub known: Vec<String>,
}

/// The connectors (and, for listing, the other plugins) this worker has.
#[derive(Debug, Default, Clone)]
pub struct Plugins {
    connectors: Vec<(PluginInfo, ConnectorFactory)>,
    others: Vec<PluginInfo>,
}

impl Plugins {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a connector under its fully qualified class name.
    pub fn register_connector(&mut self, class: &str, version: &str, factory: ConnectorFactory) {
        let plugin_type = match factory {
            ConnectorFactory::Source(_) => PluginType::Source,
            ConnectorFactory::Sink(_) => PluginType::Sink,
        };
        let info = PluginInfo {
            class: class.to_string(),
            plugin_type,
            version: version.to_string(),
        };
        self.connectors.retain(|(i, _)| i.class != class);
        self.connectors.push((info, factory));
    }

    /// Registers a non-connector plugin for listing (converters, transforms, predicates).
    pub fn register_other(&mut self, class: &str, plugin_type: PluginType, version: &str) {
        self.others
            .retain(|i| !(i.class == class && i.plugin_type == plugin_type));
        self.others.push(PluginInfo {
            class: class.to_string(),
            plugin_type,
            version: version.to_string(),
        });
    }

    /// Registers, for listing (`GET /connector-plugins?connectorsOnly=false`), every converter,
    /// header converter, transformation and predicate built into the runtime, at `version`.
    pub fn register_builtin_others(&mut self, version: &str) {
        use crate::convert::{KNOWN_CONVERTERS, KNOWN_HEADER_CONVERTERS};
        let smts = crate::transforms::TransformRegistry::<crate::data::SourceRecord>::builtin();
        for c in KNOWN_CONVERTERS {
            self.register_other(c, PluginType::Converter, version);
        }
        for c in KNOWN_HEADER_CONVERTERS {
            self.register_other(c, PluginType::HeaderConverter, version);
        }
        for c in smts.transform_classes() {
            self.register_other(&c, PluginType::Transformation, version);
        }
        for c in smts.predicate_classes() {
            self.register_other(&c, PluginType::Predicate, version);
        }
    }

    /// Finds a connector by class name or alias.
    pub fn connector(&self, name: &str) -> Result<(&PluginInfo, ConnectorFactory), UnknownConnector> {
        let name = name.trim();
        self.connectors
            .iter()
            .find(|(info, _)| matches_alias(&info.class, name))
            .map(|(info, f)| (info, *f))
            .ok_or_else(|| UnknownConnector {
                name: name.to_string(),
                known: self.connectors.iter().map(|(i, _)| i.class.clone()).collect(),
            })
    }

    /// Every plugin, sorted as Connect lists them; `connectors_only` keeps sources and sinks.
    pub fn list(&self, connectors_only: bool) -> Vec<PluginInfo> {
        let mut out: Vec<PluginInfo> = self.connectors.iter().map(|(i, _)| i.clone()).collect();
        if !connectors_only {
            out.extend(self.others.iter().cloned());
        }
        out.sort_by(|a, b| {
            a.plugin_type
                .cmp(&b.plugin_type)
                .then_with(|| a.class.cmp(&b.class))
        });
        out
    }
}

/// Whether `name` names `class`: the class itself, its simple name, or the simple name
/// without a `Connector` suffix (case-sensitive, as Connect).
pub fn matches_alias(class: &str, name: &str) -> bool {
    let simple = class.rsplit(['.', '$']).next().unwrap_or(class);
    name == class
        || name == simple
        || simple
            .strip_suffix("Connector")
            .is_some_and(|pruned| pruned == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_alias_rules() {
        let c = "org.apache.kafka.connect.file.FileStreamSourceConnector";
        assert!(matches_alias(c, c));
        assert!(matches_alias(c, "FileStreamSourceConnector"));
        assert!(matches_alias(c, "FileStreamSource"));
        assert!(!matches_alias(c, "filestreamsource"));
        assert!(!matches_alias(c, "FileStream"));
    }

    #[test]
    fn unknown_connector_lists_the_known_ones() {
        let plugins = Plugins::new();
        let e = plugins.connector("com.example.Nope").unwrap_err();
        assert!(e.to_string().contains("matches com.example.Nope"), "{e}");
    }
}
