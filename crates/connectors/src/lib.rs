//! kaflow-connectors: built-in source and sink connectors (file, datagen, verifiable, mirror,
//! PostgreSQL, HTTP), one directory per connector. They arrive with the runtime issue.

pub mod file;

/// Names of the built-in connectors available in this build.
pub const BUILT_IN: &[&str] = &[];
