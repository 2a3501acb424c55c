//! Config types, parsed values and errors.

use std::collections::BTreeMap;
use std::fmt;

/// A key's type, with Kafka's names (`ConfigDef.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    /// `true` or `false`, case-insensitive.
    Boolean,
    /// Any string.
    String,
    /// A 32-bit integer.
    Int,
    /// A 16-bit integer.
    Short,
    /// A 64-bit integer.
    Long,
    /// A double.
    Double,
    /// A comma-separated list (items trimmed; the empty string is the empty list).
    List,
    /// A class name (kaflow resolves it in its plugin registry).
    Class,
    /// A secret: shown as `[hidden]` everywhere (REST, logs).
    Password,
}

impl ConfigType {
    /// Kafka's upper-case name, as REST responses spell it.
    pub fn name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::String => "STRING",
            ConfigType::Int => "INT",
            ConfigType::Short => "SHORT",
            ConfigType::Long => "LONG",
            ConfigType::Double => "DOUBLE",
            ConfigType::List => "LIST",
            ConfigType::Class => "CLASS",
            ConfigType::Password => "PASSWORD",
        }
    }

    /// Parses `raw` as this type; the error is Kafka's reason text.
    pub fn parse(self, raw: &str) -> Result<ConfigValue, String> {
        let t = raw.trim();
        match self {
            ConfigType::Boolean => match t.to_ascii_lowercase().as_str() {
                "true" => Ok(ConfigValue::Boolean(true)),
                "false" => Ok(ConfigValue::Boolean(false)),
                _ => Err("Expected value to be either true or false".into()),
            },
            ConfigType::String => Ok(ConfigValue::String(t.to_string())),
            ConfigType::Class => Ok(ConfigValue::Class(t.to_string())),
            ConfigType::Password => Ok(ConfigValue::Password(raw.to_string())),
            ConfigType::Int => t
                .parse()
                .map(ConfigValue::Int)
                .map_err(|_| "Not a number of type INT".into()),
            ConfigType::Short => t
                .parse()
                .map(ConfigValue::Short)
                .map_err(|_| "Not a number of type SHORT".into()),
            ConfigType::Long => t
                .parse()
                .map(ConfigValue::Long)
                .map_err(|_| "Not a number of type LONG".into()),
            ConfigType::Double => t
                .parse()
                .map(ConfigValue::Double)
                .map_err(|_| "Not a number of type DOUBLE".into()),
            ConfigType::List => Ok(ConfigValue::List(if t.is_empty() {
                Vec::new()
            } else {
                t.split(',').map(|s| s.trim().to_string()).collect()
            })),
        }
    }
}

/// A parsed value.
#[derive(Clone, PartialEq)]
pub enum ConfigValue {
    /// BOOLEAN.
    Boolean(bool),
    /// STRING.
    String(String),
    /// INT.
    Int(i32),
    /// SHORT.
    Short(i16),
    /// LONG.
    Long(i64),
    /// DOUBLE.
    Double(f64),
    /// LIST.
    List(Vec<String>),
    /// CLASS.
    Class(String),
    /// PASSWORD: `Debug` and `Display` print `[hidden]`.
    Password(String),
    /// A key whose default is null and that wasn't set.
    Null,
}

impl ConfigValue {
    /// As an i64, for the integer types.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            ConfigValue::Int(v) => Some(i64::from(v)),
            ConfigValue::Short(v) => Some(i64::from(v)),
            ConfigValue::Long(v) => Some(v),
            _ => None,
        }
    }

    /// As a string, for STRING, CLASS and PASSWORD (the secret itself: don't log it).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ConfigValue::String(s) | ConfigValue::Class(s) | ConfigValue::Password(s) => Some(s),
            _ => None,
        }
    }

    /// The value as Kafka Connect shows it in REST responses; passwords are `[hidden]`.
    pub fn display(&self) -> Option<String> {
        match self {
            ConfigValue::Null => None,
            other => Some(other.to_string()),
        }
    }
}

impl fmt::Display for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigValue::Boolean(v) => write!(f, "{v}"),
            ConfigValue::String(s) | ConfigValue::Class(s) => f.write_str(s),
            ConfigValue::Int(v) => write!(f, "{v}"),
            ConfigValue::Short(v) => write!(f, "{v}"),
            ConfigValue::Long(v) => write!(f, "{v}"),
            ConfigValue::Double(v) => write!(f, "{v}"),
            ConfigValue::List(v) => f.write_str(&v.join(",")),
            ConfigValue::Password(_) => f.write_str("[hidden]"),
            ConfigValue::Null => f.write_str("null"),
        }
    }
}

impl fmt::Debug for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigValue::Password(_) => f.write_str("Password([hidden])"),
            ConfigValue::String(s) => write!(f, "String({s:?})"),
            other => write!(f, "{other}"),
        }
    }
}

/// One bad key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required key (no default) is missing.
    #[error("Missing required configuration \"{0}\" which has no default value.")]
    Missing(String),
    /// A value doesn't parse or fails its validator. `value` is `[hidden]` for passwords.
    #[error("Invalid value {value} for configuration {name}: {reason}")]
    Invalid {
        /// The key.
        name: String,
        /// The offending value as given (or `[hidden]`).
        value: String,
        /// Why.
        reason: String,
    },
}

impl ConfigError {
    /// The key the error is about.
    pub fn key(&self) -> &str {
        match self {
            ConfigError::Missing(k) => k,
            ConfigError::Invalid { name, .. } => name,
        }
    }
}

/// Every bad key of one parse, in definition order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
pub struct ConfigErrors(pub Vec<ConfigError>);

/// What validation says about one key (REST `/config/validate` reports these).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyReport {
    /// The key.
    pub name: String,
    /// The value as shown (passwords hidden), `None` for unset-with-null-default.
    pub value: Option<String>,
    /// Error messages; empty when the value is fine.
    pub errors: Vec<String>,
}

/// Parsed configuration: the defined keys with typed values, plus the original strings of
/// every key (defined or not: converters, transforms and clients read prefixed sub-keys).
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub(crate) values: BTreeMap<String, ConfigValue>,
    pub(crate) originals: BTreeMap<String, String>,
}

impl Parsed {
    /// A defined key's value. Panics if the key isn't defined: that is a programming error,
    /// not bad input.
    pub fn get(&self, name: &str) -> &ConfigValue {
        self.values
            .get(name)
            .unwrap_or_else(|| panic!("config key {name} is not defined"))
    }

    /// A STRING/CLASS/PASSWORD key, `None` when null.
    pub fn string(&self, name: &str) -> Option<&str> {
        self.get(name).as_str()
    }

    /// An INT/SHORT/LONG key.
    pub fn long(&self, name: &str) -> Option<i64> {
        self.get(name).as_i64()
    }

    /// A BOOLEAN key.
    pub fn boolean(&self, name: &str) -> bool {
        matches!(self.get(name), ConfigValue::Boolean(true))
    }

    /// A LIST key (empty when null).
    pub fn list(&self, name: &str) -> &[String] {
        match self.get(name) {
            ConfigValue::List(v) => v,
            _ => &[],
        }
    }

    /// Every original key and value as given.
    pub fn originals(&self) -> &BTreeMap<String, String> {
        &self.originals
    }

    /// The original keys under `prefix`, with the prefix removed (`value.converter.` →
    /// `schemas.enable`), as Kafka's `originalsWithPrefix(prefix, true)`.
    pub fn with_prefix(&self, prefix: &str) -> BTreeMap<String, String> {
        self.originals
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|rest| (rest.to_string(), v.clone())))
            .filter(|(k, _)| !k.is_empty())
            .collect()
    }
}
