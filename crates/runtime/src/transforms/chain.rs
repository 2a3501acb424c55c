//! The transformation chain of one connector, configured exactly as Connect reads it
//! (`ConnectorConfig.transformationStages`, KIP-66 and KIP-585):
//!
//! ```text
//!  transforms=MakeMap,InsertSource                 predicates=IsFoo
//!  transforms.MakeMap.type=...HoistField$Value     predicates.IsFoo.type=...TopicNameMatches
//!  transforms.MakeMap.field=line                   predicates.IsFoo.pattern=foo
//!  transforms.InsertSource.predicate=IsFoo
//!  transforms.InsertSource.negate=true
//!          │
//!          ▼
//!  TransformChain [ Stage{MakeMap}, Stage{InsertSource, predicate IsFoo, negate} ]
//!  apply(record): for each stage in order: run it when predicate.test(record) xor negate
//!                 (always when it has no predicate); a None ends the chain: record dropped
//! ```
//!
//! `type` accepts Kafka's class name (`org.apache.kafka.connect.transforms.InsertField$Value`)
//! or the name without its package (`InsertField$Value`, `TopicNameMatches`). Each stage gets
//! its own predicate instance, configured from `predicates.<alias>.*`, as Connect does.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::data::Record;

use super::predicates::{HasHeaderKey, RecordIsTombstone, TopicNameMatches};
use super::util::Side;
use super::{
    cast::Cast, drop_headers::DropHeaders, extract_field::ExtractField, filter::Filter, flatten::Flatten,
    header_from::HeaderFrom, hoist_field::HoistField, insert_field::InsertField, insert_header::InsertHeader,
    mask_field::MaskField, regex_router::RegexRouter, replace_field::ReplaceField,
    set_schema_metadata::SetSchemaMetadata, timestamp_converter::TimestampConverter,
    timestamp_router::TimestampRouter, value_to_key::ValueToKey,
};
use super::{Predicate, TransformError, Transformation};

/// Makes a configured-later transform.
pub type TransformFactory<R> = Arc<dyn Fn() -> Box<dyn Transformation<R>> + Send + Sync>;
/// Makes a configured-later predicate.
pub type PredicateFactory<R> = Arc<dyn Fn() -> Box<dyn Predicate<R>> + Send + Sync>;

/// The transforms and predicates a worker knows, by class name.
pub struct TransformRegistry<R: Record> {
    transforms: Vec<(String, TransformFactory<R>)>,
    predicates: Vec<(String, PredicateFactory<R>)>,
}

impl<R: Record> Clone for TransformRegistry<R> {
    fn clone(&self) -> Self {
        TransformRegistry {
            transforms: self.transforms.clone(),
            predicates: self.predicates.clone(),
        }
    }
}

impl<R: Record> std::fmt::Debug for TransformRegistry<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransformRegistry")
            .field("transforms", &self.transform_classes())
            .field("predicates", &self.predicate_classes())
            .finish()
    }
}

/// Whether `name` names `class`: the class itself or the class without its package.
fn names(class: &str, name: &str) -> bool {
    name == class || class.rsplit('.').next() == Some(name)
}

impl<R: Record> Default for TransformRegistry<R> {
    fn default() -> Self {
        Self::builtin()
    }
}

impl<R: Record> TransformRegistry<R> {
    /// A registry with nothing in it.
    pub fn empty() -> Self {
        TransformRegistry {
            transforms: Vec::new(),
            predicates: Vec::new(),
        }
    }

    /// Every SMT and predicate that ships with Apache Kafka.
    pub fn builtin() -> Self {
        let mut r = Self::empty();
        macro_rules! sided {
            ($t:ident) => {
                r.register_transform(&format!("{}$Key", $t::CLASS), || {
                    Box::new($t::new(Side::Key))
                });
                r.register_transform(&format!("{}$Value", $t::CLASS), || {
                    Box::new($t::new(Side::Value))
                });
            };
        }
        sided!(Cast);
        r.register_transform(DropHeaders::CLASS, || Box::new(DropHeaders::default()));
        sided!(ExtractField);
        r.register_transform(Filter::CLASS, || Box::new(Filter));
        sided!(Flatten);
        sided!(HeaderFrom);
        sided!(HoistField);
        sided!(InsertField);
        r.register_transform(InsertHeader::CLASS, || Box::new(InsertHeader::default()));
        sided!(MaskField);
        r.register_transform(RegexRouter::CLASS, || Box::new(RegexRouter::default()));
        sided!(ReplaceField);
        sided!(SetSchemaMetadata);
        sided!(TimestampConverter);
        r.register_transform(TimestampRouter::CLASS, || Box::new(TimestampRouter::default()));
        r.register_transform(ValueToKey::CLASS, || Box::new(ValueToKey::default()));
        r.register_predicate(HasHeaderKey::CLASS, || Box::new(HasHeaderKey::default()));
        r.register_predicate(RecordIsTombstone::CLASS, || Box::new(RecordIsTombstone));
        r.register_predicate(TopicNameMatches::CLASS, || Box::new(TopicNameMatches::default()));
        r
    }

    /// Adds (or replaces) a transform under its fully qualified class name.
    pub fn register_transform(
        &mut self,
        class: &str,
        factory: impl Fn() -> Box<dyn Transformation<R>> + Send + Sync + 'static,
    ) {
        self.transforms.retain(|(c, _)| c != class);
        self.transforms.push((class.to_owned(), Arc::new(factory)));
    }

    /// Adds (or replaces) a predicate under its fully qualified class name.
    pub fn register_predicate(
        &mut self,
        class: &str,
        factory: impl Fn() -> Box<dyn Predicate<R>> + Send + Sync + 'static,
    ) {
        self.predicates.retain(|(c, _)| c != class);
        self.predicates.push((class.to_owned(), Arc::new(factory)));
    }

    /// A new transform by class name or short name, with its canonical class name.
    pub fn transform(&self, name: &str) -> Option<(String, Box<dyn Transformation<R>>)> {
        let name = name.trim();
        self.transforms
            .iter()
            .find(|(c, _)| names(c, name))
            .map(|(c, f)| (c.clone(), f()))
    }

    /// A new predicate by class name or short name, with its canonical class name.
    pub fn predicate(&self, name: &str) -> Option<(String, Box<dyn Predicate<R>>)> {
        let name = name.trim();
        self.predicates
            .iter()
            .find(|(c, _)| names(c, name))
            .map(|(c, f)| (c.clone(), f()))
    }

    /// The transform class names, sorted (what `GET /connector-plugins` lists).
    pub fn transform_classes(&self) -> Vec<String> {
        let mut v: Vec<String> = self.transforms.iter().map(|(c, _)| c.clone()).collect();
        v.sort();
        v
    }

    /// The predicate class names, sorted.
    pub fn predicate_classes(&self) -> Vec<String> {
        let mut v: Vec<String> = self.predicates.iter().map(|(c, _)| c.clone()).collect();
        v.sort();
        v
    }
}

/// Why a chain could not be built, or a record could not pass it. Each message names the
/// config key (`transforms.<alias>...`, `predicates.<alias>...`) in Kafka's wording.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The same alias twice in `transforms` or `predicates`.
    #[error("Invalid value {value} for configuration {key}: Duplicate alias provided.")]
    DuplicateAlias {
        /// `transforms` or `predicates`.
        key: &'static str,
        /// The list as given.
        value: String,
    },
    /// `transforms.<alias>.type` / `predicates.<alias>.type` is not set.
    #[error("Missing required configuration \"{0}\" which has no default value.")]
    MissingType(String),
    /// A `type` no registered transform has.
    #[error("Invalid value {class} for configuration {key}: Class {class} could not be found. Known transformations: {}", known.join(", "))]
    UnknownTransform {
        /// `transforms.<alias>.type`.
        key: String,
        /// What was asked for.
        class: String,
        /// The class names this worker has.
        known: Vec<String>,
    },
    /// A `type` no registered predicate has.
    #[error("Invalid value {class} for configuration {key}: Class {class} could not be found. Known predicates: {}", known.join(", "))]
    UnknownPredicate {
        /// `predicates.<alias>.type`.
        key: String,
        /// What was asked for.
        class: String,
        /// The class names this worker has.
        known: Vec<String>,
    },
    /// `transforms.<alias>.predicate` names an alias missing from `predicates`.
    #[error("Invalid value {predicate} for configuration transforms.{alias}.predicate: predicate alias {predicate} is not defined in predicates ({})", if defined.is_empty() { "empty".to_owned() } else { defined.join(",") })]
    UndefinedPredicate {
        /// The transform alias.
        alias: String,
        /// The predicate alias it refers to.
        predicate: String,
        /// The aliases `predicates` lists.
        defined: Vec<String>,
    },
    /// `transforms.<alias>.negate` is not a boolean.
    #[error("Invalid value {value} for configuration transforms.{alias}.negate: Expected value to be either true or false")]
    InvalidNegate {
        /// The transform alias.
        alias: String,
        /// The value as given.
        value: String,
    },
    /// A transform or predicate rejected its own keys.
    #[error("Invalid configuration for {prefix} ({class}): {source}")]
    Configure {
        /// `transforms.<alias>` or `predicates.<alias>`.
        prefix: String,
        /// Its class.
        class: String,
        /// What it said.
        source: TransformError,
    },
    /// A transform failed on a record.
    #[error("Error in transformation {alias} ({class}): {source}")]
    Apply {
        /// The transform alias.
        alias: String,
        /// Its class.
        class: String,
        /// What it said.
        source: TransformError,
    },
}

/// One transform with its optional predicate (`TransformationStage`).
struct Stage<R: Record> {
    alias: String,
    class: String,
    transform: Box<dyn Transformation<R>>,
    predicate: Option<Box<dyn Predicate<R>>>,
    negate: bool,
}

/// A connector's transforms, in `transforms` order.
pub struct TransformChain<R: Record> {
    stages: Vec<Stage<R>>,
}

impl<R: Record> std::fmt::Debug for TransformChain<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.stages.iter().map(|s| (&s.alias, &s.class, s.negate)))
            .finish()
    }
}

fn aliases(props: &BTreeMap<String, String>, key: &'static str) -> Result<Vec<String>, ChainError> {
    let raw = props.get(key).map(|s| s.trim()).unwrap_or("");
    let list: Vec<String> = if raw.is_empty() {
        Vec::new()
    } else {
        raw.split(',').map(|s| s.trim().to_owned()).collect()
    };
    for (i, a) in list.iter().enumerate() {
        if list[..i].contains(a) {
            return Err(ChainError::DuplicateAlias {
                key,
                value: raw.to_owned(),
            });
        }
    }
    Ok(list)
}

fn with_prefix(props: &BTreeMap<String, String>, prefix: &str) -> BTreeMap<String, String> {
    props
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|rest| (rest.to_owned(), v.clone())))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

impl<R: Record> TransformChain<R> {
    /// A chain that passes records through unchanged.
    pub fn empty() -> Self {
        TransformChain { stages: Vec::new() }
    }

    /// Builds and configures the chain from a connector's config (`transforms`, `predicates`
    /// and their prefixed keys; other keys are ignored).
    pub fn from_config(
        props: &BTreeMap<String, String>,
        registry: &TransformRegistry<R>,
    ) -> Result<Self, ChainError> {
        let transform_aliases = aliases(props, "transforms")?;
        let predicate_aliases = aliases(props, "predicates")?;
        let mut stages = Vec::with_capacity(transform_aliases.len());
        for alias in transform_aliases {
            let prefix = format!("transforms.{alias}.");
            let type_key = format!("{prefix}type");
            let ty = props
                .get(&type_key)
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| ChainError::MissingType(type_key.clone()))?;
            let (class, mut transform) =
                registry
                    .transform(ty)
                    .ok_or_else(|| ChainError::UnknownTransform {
                        key: type_key.clone(),
                        class: ty.to_owned(),
                        known: registry.transform_classes(),
                    })?;
            transform
                .configure(&with_prefix(props, &prefix))
                .map_err(|source| ChainError::Configure {
                    prefix: format!("transforms.{alias}"),
                    class: class.clone(),
                    source,
                })?;

            let negate = match props.get(&format!("{prefix}negate")).map(|s| s.trim()) {
                None => false,
                Some(v) if v.eq_ignore_ascii_case("true") => true,
                Some(v) if v.eq_ignore_ascii_case("false") => false,
                Some(v) => {
                    return Err(ChainError::InvalidNegate {
                        alias,
                        value: v.to_owned(),
                    })
                }
            };
            let predicate = match props
                .get(&format!("{prefix}predicate"))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
            {
                None => None,
                Some(p) => {
                    if !predicate_aliases.iter().any(|a| a == p) {
                        return Err(ChainError::UndefinedPredicate {
                            alias,
                            predicate: p.to_owned(),
                            defined: predicate_aliases,
                        });
                    }
                    let pprefix = format!("predicates.{p}.");
                    let ptype_key = format!("{pprefix}type");
                    let pty = props
                        .get(&ptype_key)
                        .map(|s| s.trim())
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| ChainError::MissingType(ptype_key.clone()))?;
                    let (pclass, mut pred) =
                        registry
                            .predicate(pty)
                            .ok_or_else(|| ChainError::UnknownPredicate {
                                key: ptype_key.clone(),
                                class: pty.to_owned(),
                                known: registry.predicate_classes(),
                            })?;
                    pred.configure(&with_prefix(props, &pprefix)).map_err(|source| {
                        ChainError::Configure {
                            prefix: format!("predicates.{p}"),
                            class: pclass,
                            source,
                        }
                    })?;
                    Some(pred)
                }
            };
            stages.push(Stage {
                alias,
                class,
                transform,
                predicate,
                negate,
            });
        }
        Ok(TransformChain { stages })
    }

    /// The stages' aliases, in order.
    pub fn aliases(&self) -> Vec<&str> {
        self.stages.iter().map(|s| s.alias.as_str()).collect()
    }

    /// True when there are no stages.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Runs one record through every stage (`TransformationChain.apply`); `Ok(None)` when a
    /// stage dropped it.
    pub fn apply(&mut self, record: R) -> Result<Option<R>, ChainError> {
        let mut current = record;
        for stage in &mut self.stages {
            // TransformationStage.apply: skip unless predicate.test(record) xor negate.
            if let Some(p) = &stage.predicate {
                if p.test(&current) == stage.negate {
                    continue;
                }
            }
            match stage.transform.apply(current) {
                Ok(Some(next)) => current = next,
                Ok(None) => return Ok(None),
                Err(source) => {
                    return Err(ChainError::Apply {
                        alias: stage.alias.clone(),
                        class: stage.class.clone(),
                        source,
                    })
                }
            }
        }
        Ok(Some(current))
    }

    /// Runs a batch, keeping the survivors in order.
    pub fn apply_all(&mut self, records: impl IntoIterator<Item = R>) -> Result<Vec<R>, ChainError> {
        let mut out = Vec::new();
        for r in records {
            if let Some(r) = self.apply(r)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Closes every transform and predicate.
    pub fn close(&mut self) {
        for s in &mut self.stages {
            s.transform.close();
            if let Some(p) = &mut s.predicate {
                p.close();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{SourceRecord, Value};
    use crate::transforms::test_support::{props, record};

    fn chain(kv: &[(&str, &str)]) -> Result<TransformChain<SourceRecord>, ChainError> {
        TransformChain::from_config(&props(kv), &TransformRegistry::builtin())
    }

    #[test]
    fn class_names_and_short_names() {
        let reg = TransformRegistry::<SourceRecord>::builtin();
        for n in [
            "org.apache.kafka.connect.transforms.InsertField$Value",
            "InsertField$Value",
            " Filter ",
        ] {
            assert!(reg.transform(n).is_some(), "{n}");
        }
        assert_eq!(
            reg.predicate("TopicNameMatches").unwrap().0,
            "org.apache.kafka.connect.transforms.predicates.TopicNameMatches"
        );
        assert!(reg.transform("InsertField").is_none());
        assert!(reg.transform("insertfield$value").is_none());
        assert_eq!(reg.transform_classes().len(), 26);
        assert_eq!(reg.predicate_classes().len(), 3);
    }

    #[test]
    fn config_errors_name_the_key() {
        let e = chain(&[("transforms", "a,b,a")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value a,b,a for configuration transforms: Duplicate alias provided."
        );
        let e = chain(&[("transforms", "a")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Missing required configuration \"transforms.a.type\" which has no default value."
        );
        let e = chain(&[("transforms", "a"), ("transforms.a.type", "com.example.Nope")]).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with(
                "Invalid value com.example.Nope for configuration transforms.a.type: Class com.example.Nope could not be found. Known transformations: org.apache.kafka.connect.transforms.Cast$Key, "
            ),
            "{msg}"
        );
        assert!(
            msg.contains("org.apache.kafka.connect.transforms.ValueToKey"),
            "{msg}"
        );
        let e = chain(&[
            ("transforms", "a"),
            ("transforms.a.type", "Filter"),
            ("transforms.a.predicate", "p"),
        ])
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value p for configuration transforms.a.predicate: predicate alias p is not defined in predicates (empty)"
        );
        let e = chain(&[
            ("transforms", "a"),
            ("transforms.a.type", "Filter"),
            ("transforms.a.predicate", "p"),
            ("predicates", "p"),
            ("predicates.p.type", "Nope"),
        ])
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("Known predicates: org.apache.kafka.connect.transforms.predicates.HasHeaderKey"),
            "{e}"
        );
        let e = chain(&[("transforms", "a"), ("transforms.a.type", "HoistField$Value")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid configuration for transforms.a (org.apache.kafka.connect.transforms.HoistField$Value): \
             Missing required configuration \"field\" which has no default value."
        );
        let e = chain(&[
            ("transforms", "a"),
            ("transforms.a.type", "Filter"),
            ("transforms.a.predicate", "p"),
            ("transforms.a.negate", "yes"),
            ("predicates", "p"),
            ("predicates.p.type", "RecordIsTombstone"),
        ])
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value yes for configuration transforms.a.negate: Expected value to be either true or false"
        );
    }

    #[test]
    fn predicates_and_negation_gate_stages() {
        let mut c = chain(&[
            ("transforms", "dropTombstones,route"),
            ("transforms.dropTombstones.type", "Filter"),
            ("transforms.dropTombstones.predicate", "isTombstone"),
            ("transforms.route.type", "RegexRouter"),
            ("transforms.route.regex", ".*"),
            ("transforms.route.replacement", "other"),
            ("transforms.route.predicate", "isFoo"),
            ("transforms.route.negate", "true"),
            ("predicates", "isTombstone,isFoo"),
            ("predicates.isTombstone.type", "RecordIsTombstone"),
            ("predicates.isFoo.type", "TopicNameMatches"),
            ("predicates.isFoo.pattern", "foo"),
        ])
        .unwrap();
        assert_eq!(c.aliases(), ["dropTombstones", "route"]);
        assert!(c.apply(record("foo", Value::Null)).unwrap().is_none());
        assert_eq!(
            c.apply(record("foo", Value::Int32(1)))
                .unwrap()
                .unwrap()
                .record
                .topic,
            "foo"
        );
        assert_eq!(
            c.apply(record("bar", Value::Int32(1)))
                .unwrap()
                .unwrap()
                .record
                .topic,
            "other"
        );
        let empty = chain(&[]).unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn apply_errors_name_the_stage() {
        let mut c = chain(&[
            ("transforms", "extract"),
            ("transforms.extract.type", "ExtractField$Value"),
            ("transforms.extract.field", "f"),
        ])
        .unwrap();
        let e = c.apply(record("t", Value::Int32(1))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Error in transformation extract (org.apache.kafka.connect.transforms.ExtractField$Value): Only Map \
             objects supported in absence of schema for [field extraction], found: java.lang.Integer"
        );
    }
}
