//! Typed configuration definitions, after Kafka's `ConfigDef`.
//!
//! ```text
//!  ConfigDef (keys: name, type, default, importance, doc, validator, group, ...)
//!        │
//!  properties ──parse──▶ Parsed (typed values; unknown keys kept as strings)
//!        │                 or ConfigErrors (every bad key, each message naming it)
//!        └──validate──▶ per-key reports (value, errors) — what REST /config/validate returns
//! ```
//!
//! One definition drives parsing, validation, the REST validate endpoint and the docs, so a
//! key's type, default and rule are written once. Messages follow Kafka's wording
//! (`Invalid value X for configuration Y: ...`, `Missing required configuration "Y" which has
//! no default value.`) so operators recognise them.

pub mod connector;
mod def;
pub mod files;
pub mod properties_file;
pub mod providers;
mod value;
pub mod worker;

pub use def::{CheckFn, ConfigDef, ConfigKey, Importance, Validator, Width};
pub use value::{ConfigError, ConfigErrors, ConfigType, ConfigValue, KeyReport, Parsed};
