//! `ConfigDef`: the definitions, parsing and validation.

use super::value::{ConfigError, ConfigErrors, ConfigType, ConfigValue, KeyReport, Parsed};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How much a key matters (Kafka's `ConfigDef.Importance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Importance {
    /// HIGH.
    High,
    /// MEDIUM.
    Medium,
    /// LOW.
    Low,
}

impl Importance {
    /// Kafka's name.
    pub fn name(self) -> &'static str {
        match self {
            Importance::High => "HIGH",
            Importance::Medium => "MEDIUM",
            Importance::Low => "LOW",
        }
    }
}

/// The width hint UIs use (Kafka's `ConfigDef.Width`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// NONE.
    None,
    /// SHORT.
    Short,
    /// MEDIUM.
    Medium,
    /// LONG.
    Long,
}

impl Width {
    /// Kafka's name.
    pub fn name(self) -> &'static str {
        match self {
            Width::None => "NONE",
            Width::Short => "SHORT",
            Width::Medium => "MEDIUM",
            Width::Long => "LONG",
        }
    }
}

/// A custom check: the error is the reason text.
pub type CheckFn = Arc<dyn Fn(&ConfigValue) -> Result<(), String> + Send + Sync>;

/// A check on a parsed value; the error is Kafka's reason text.
#[derive(Clone)]
pub enum Validator {
    /// A number in `[min, max]` (either bound optional).
    Range {
        /// Inclusive lower bound.
        min: Option<f64>,
        /// Inclusive upper bound.
        max: Option<f64>,
    },
    /// One of these strings (case-sensitive).
    OneOf(&'static [&'static str]),
    /// One of these strings, ignoring case.
    OneOfIgnoreCase(&'static [&'static str]),
    /// A non-empty string.
    NonEmptyString,
    /// Not null.
    NonNull,
    /// Every list item one of these.
    ListOf(&'static [&'static str]),
    /// Anything else.
    Custom(CheckFn),
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Validator::Range { min, max } => write!(f, "Range({min:?}, {max:?})"),
            Validator::OneOf(v) | Validator::OneOfIgnoreCase(v) | Validator::ListOf(v) => write!(f, "{v:?}"),
            Validator::NonEmptyString => f.write_str("NonEmptyString"),
            Validator::NonNull => f.write_str("NonNull"),
            Validator::Custom(_) => f.write_str("Custom"),
        }
    }
}

impl Validator {
    /// At least `min`.
    pub fn at_least(min: i64) -> Self {
        Validator::Range {
            min: Some(min as f64),
            max: None,
        }
    }

    /// Between `min` and `max` inclusive.
    pub fn between(min: i64, max: i64) -> Self {
        Validator::Range {
            min: Some(min as f64),
            max: Some(max as f64),
        }
    }

    fn check(&self, v: &ConfigValue) -> Result<(), String> {
        if matches!(v, ConfigValue::Null) {
            return match self {
                Validator::NonNull | Validator::NonEmptyString => Err("entry must be non null".into()),
                _ => Ok(()),
            };
        }
        match self {
            Validator::Range { min, max } => {
                let n = match v {
                    ConfigValue::Double(d) => *d,
                    other => other.as_i64().map(|n| n as f64).unwrap_or(f64::NAN),
                };
                let show = |b: f64| {
                    if b.fract() == 0.0 {
                        format!("{}", b as i64)
                    } else {
                        b.to_string()
                    }
                };
                if let Some(m) = min.filter(|m| n < *m) {
                    return Err(format!("Value must be at least {}", show(m)));
                }
                if let Some(m) = max.filter(|m| n > *m) {
                    return Err(format!("Value must be no more than {}", show(m)));
                }
                Ok(())
            }
            Validator::OneOf(allowed) => match v.as_str() {
                Some(s) if allowed.contains(&s) => Ok(()),
                _ => Err(format!("String must be one of: {}", allowed.join(", "))),
            },
            Validator::OneOfIgnoreCase(allowed) => match v.as_str() {
                Some(s) if allowed.iter().any(|a| a.eq_ignore_ascii_case(s)) => Ok(()),
                _ => Err(format!(
                    "String must be one of (case insensitive): {}",
                    allowed.join(", ")
                )),
            },
            Validator::NonEmptyString => match v.as_str() {
                Some("") => Err("String may not be empty".into()),
                _ => Ok(()),
            },
            Validator::NonNull => Ok(()),
            Validator::ListOf(allowed) => match v {
                ConfigValue::List(items) => match items.iter().find(|i| !allowed.contains(&i.as_str())) {
                    Some(bad) => Err(format!(
                        "Invalid value {bad}; must be one of: {}",
                        allowed.join(", ")
                    )),
                    None => Ok(()),
                },
                _ => Ok(()),
            },
            Validator::Custom(f) => f(v),
        }
    }
}

/// One key's definition.
#[derive(Debug, Clone)]
pub struct ConfigKey {
    /// The key.
    pub name: String,
    /// Its type.
    pub ty: ConfigType,
    /// The default, as a string to parse (`None` = required; `Some(None)` = null default).
    pub default: Option<Option<String>>,
    /// Its rule.
    pub validator: Option<Validator>,
    /// How much it matters.
    pub importance: Importance,
    /// What it does.
    pub documentation: String,
    /// The group it belongs to (UIs), if any.
    pub group: Option<String>,
    /// Its order within the group (-1 when none).
    pub order_in_group: i32,
    /// The UI width hint.
    pub width: Width,
    /// A human name.
    pub display_name: String,
    /// Keys whose validity depends on this one.
    pub dependents: Vec<String>,
}

impl ConfigKey {
    /// A key with a default value (parsed like a user value).
    pub fn new(name: &str, ty: ConfigType, default: Option<&str>, importance: Importance, doc: &str) -> Self {
        Self {
            name: name.to_string(),
            ty,
            default: Some(default.map(str::to_string)),
            validator: None,
            importance,
            documentation: doc.to_string(),
            group: None,
            order_in_group: -1,
            width: Width::None,
            display_name: name.to_string(),
            dependents: Vec::new(),
        }
    }

    /// A required key: no default.
    pub fn required(name: &str, ty: ConfigType, importance: Importance, doc: &str) -> Self {
        Self {
            default: None,
            ..Self::new(name, ty, None, importance, doc)
        }
    }

    /// With a validator.
    pub fn validate(mut self, v: Validator) -> Self {
        self.validator = Some(v);
        self
    }

    /// In a UI group, at a position.
    pub fn group(mut self, group: &str, order: i32, width: Width, display_name: &str) -> Self {
        self.group = Some(group.to_string());
        self.order_in_group = order;
        self.width = width;
        self.display_name = display_name.to_string();
        self
    }

    /// Whether the key must be set.
    pub fn is_required(&self) -> bool {
        self.default.is_none()
    }

    fn parse(&self, raw: Option<&str>) -> Result<ConfigValue, ConfigError> {
        let invalid = |value: &str, reason: String| ConfigError::Invalid {
            name: self.name.clone(),
            value: if self.ty == ConfigType::Password {
                "[hidden]".into()
            } else {
                value.to_string()
            },
            reason,
        };
        let value = match (raw, &self.default) {
            (Some(raw), _) => self.ty.parse(raw).map_err(|r| invalid(raw, r))?,
            (None, Some(Some(d))) => self.ty.parse(d).map_err(|r| invalid(d, r))?,
            (None, Some(None)) => ConfigValue::Null,
            (None, None) => return Err(ConfigError::Missing(self.name.clone())),
        };
        if let Some(v) = &self.validator {
            v.check(&value).map_err(|r| invalid(raw.unwrap_or("null"), r))?;
        }
        Ok(value)
    }
}

/// A set of key definitions.
#[derive(Debug, Clone, Default)]
pub struct ConfigDef {
    keys: Vec<ConfigKey>,
}

impl ConfigDef {
    /// An empty definition.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key (replacing one of the same name, as Kafka's `define` refuses duplicates but
    /// `ConfigDef(base)` extension overrides are common in Connect).
    pub fn define(mut self, key: ConfigKey) -> Self {
        self.keys.retain(|k| k.name != key.name);
        self.keys.push(key);
        self
    }

    /// All keys, in definition order.
    pub fn keys(&self) -> &[ConfigKey] {
        &self.keys
    }

    /// This definition with `name`'s default set to `default`, in place (its position, which
    /// Connect's listings keep, unchanged); no-op when there is no such key.
    pub fn with_default(mut self, name: &str, default: &str) -> Self {
        if let Some(k) = self.keys.iter_mut().find(|k| k.name == name) {
            k.default = Some(Some(default.to_string()));
        }
        self
    }

    /// One key's definition.
    pub fn key(&self, name: &str) -> Option<&ConfigKey> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// This definition plus `other`'s keys (other's win on a clash).
    pub fn merge(mut self, other: &ConfigDef) -> Self {
        for k in &other.keys {
            self = self.define(k.clone());
        }
        self
    }

    /// Parses `props`: every defined key typed and validated, every error collected.
    pub fn parse(&self, props: &BTreeMap<String, String>) -> Result<Parsed, ConfigErrors> {
        let mut values = BTreeMap::new();
        let mut errors = Vec::new();
        for k in &self.keys {
            match k.parse(props.get(&k.name).map(String::as_str)) {
                Ok(v) => {
                    values.insert(k.name.clone(), v);
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(Parsed {
                values,
                originals: props.clone(),
            })
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// Per-key reports for every defined key (what REST `/config/validate` shows).
    pub fn validate(&self, props: &BTreeMap<String, String>) -> Vec<KeyReport> {
        self.keys
            .iter()
            .map(|k| {
                let raw = props.get(&k.name).map(String::as_str);
                match k.parse(raw) {
                    Ok(v) => KeyReport {
                        name: k.name.clone(),
                        value: v.display(),
                        errors: Vec::new(),
                    },
                    // As Kafka's ConfigDef.validate: a value that didn't parse is shown as
                    // null, and a Range validator is then run again on that null.
                    Err(e) => {
                        let mut errors = vec![e.to_string()];
                        if matches!(k.validator, Some(Validator::Range { .. })) {
                            errors.push(format!(
                                "Invalid value null for configuration {}: Value must be non-null",
                                k.name
                            ));
                        }
                        KeyReport {
                            name: k.name.clone(),
                            value: None,
                            errors,
                        }
                    }
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConfigType::{Boolean, Int, List, Password};

    fn props(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn def() -> ConfigDef {
        ConfigDef::new()
            .define(
                ConfigKey::required("name", ConfigType::String, Importance::High, "name")
                    .validate(Validator::NonEmptyString),
            )
            .define(
                ConfigKey::new("tasks.max", Int, Some("1"), Importance::High, "tasks")
                    .validate(Validator::at_least(1)),
            )
            .define(
                ConfigKey::new(
                    "errors.tolerance",
                    ConfigType::String,
                    Some("none"),
                    Importance::Medium,
                    "tol",
                )
                .validate(Validator::OneOfIgnoreCase(&["none", "all"])),
            )
            .define(ConfigKey::new(
                "transforms",
                List,
                Some(""),
                Importance::Low,
                "smts",
            ))
            .define(ConfigKey::new("secret", Password, None, Importance::Low, "pw"))
            .define(ConfigKey::new(
                "flag",
                Boolean,
                Some("false"),
                Importance::Low,
                "flag",
            ))
    }

    #[test]
    fn parses_typed_values_and_defaults() {
        let p = def()
            .parse(&props(&[
                ("name", "c"),
                ("transforms", " a , b"),
                ("flag", "TRUE"),
                ("x.y", "1"),
            ]))
            .unwrap();
        assert_eq!(p.string("name"), Some("c"));
        assert_eq!(p.long("tasks.max"), Some(1));
        assert_eq!(p.list("transforms"), ["a", "b"]);
        assert!(p.boolean("flag"));
        assert_eq!(p.get("secret"), &ConfigValue::Null);
        assert_eq!(p.with_prefix("x."), props(&[("y", "1")]));
    }

    #[test]
    fn collects_every_error_with_kafkas_wording() {
        let e = def()
            .parse(&props(&[
                ("tasks.max", "0"),
                ("errors.tolerance", "some"),
                ("flag", "yes"),
            ]))
            .unwrap_err();
        let msgs: Vec<String> = e.0.iter().map(ToString::to_string).collect();
        assert_eq!(
            msgs,
            [
                "Missing required configuration \"name\" which has no default value.",
                "Invalid value 0 for configuration tasks.max: Value must be at least 1",
                "Invalid value some for configuration errors.tolerance: String must be one of (case insensitive): none, all",
                "Invalid value yes for configuration flag: Expected value to be either true or false",
            ]
        );
    }

    #[test]
    fn passwords_never_show() {
        let p = def()
            .parse(&props(&[("name", "c"), ("secret", "hunter2")]))
            .unwrap();
        assert_eq!(p.get("secret").to_string(), "[hidden]");
        assert!(!format!("{:?}", p.get("secret")).contains("hunter2"));
        let reports = def().validate(&props(&[("name", "c"), ("secret", "hunter2")]));
        let r = reports.iter().find(|r| r.name == "secret").unwrap();
        assert_eq!(r.value.as_deref(), Some("[hidden]"));
        assert!(!format!("{reports:?}").contains("hunter2"));
    }

    #[test]
    fn validate_reports_each_key() {
        let reports = def().validate(&props(&[("tasks.max", "abc")]));
        let by: BTreeMap<_, _> = reports.iter().map(|r| (r.name.as_str(), r)).collect();
        // As Kafka's ConfigDef.validate: the value that failed shows as null, and the Range
        // validator run on that null adds its own message.
        assert_eq!(
            by["tasks.max"].errors,
            [
                "Invalid value abc for configuration tasks.max: Not a number of type INT",
                "Invalid value null for configuration tasks.max: Value must be non-null"
            ]
        );
        assert_eq!(by["tasks.max"].value, None);
        assert_eq!(by["name"].errors.len(), 1);
        assert!(by["errors.tolerance"].errors.is_empty());
        assert_eq!(by["errors.tolerance"].value.as_deref(), Some("none"));
    }
}
