//! `RecordIsTombstone`: true when the record's value is null (a tombstone).
//!
//! ```text
//!  value = null ──▶ true        value = anything else ──▶ false
//! ```

use std::collections::BTreeMap;

use crate::config::ConfigDef;
use crate::data::Record;
use crate::transforms::{Predicate, TransformError};

/// `org.apache.kafka.connect.transforms.predicates.RecordIsTombstone`.
#[derive(Debug, Default, Clone)]
pub struct RecordIsTombstone;

impl RecordIsTombstone {
    /// Kafka's class name.
    pub const CLASS: &'static str = "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone";
}

impl<R: Record> Predicate<R> for RecordIsTombstone {
    fn config(&self) -> ConfigDef {
        ConfigDef::new()
    }

    fn configure(&mut self, _props: &BTreeMap<String, String>) -> Result<(), TransformError> {
        Ok(())
    }

    fn test(&self, record: &R) -> bool {
        record.record().value.is_null()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Value;
    use crate::transforms::predicates::test_support::record;

    #[test]
    fn null_value_is_a_tombstone() {
        let p = RecordIsTombstone;
        assert!(p.test(&record("t", Value::Null)));
        assert!(!p.test(&record("t", Value::Int32(0))));
        assert!(!p.test(&record("t", Value::Map(vec![]))));
    }
}
