//! `Filter`: drops every record it is applied to; meant to be used with a predicate
//! (`transforms.f.predicate=...`) so only matching records are dropped (KIP-585).
//!
//! ```text
//!  record ──Filter──▶ None (dropped)
//! ```

use std::collections::BTreeMap;

use crate::config::ConfigDef;
use crate::data::Record;

use super::{TransformError, Transformation};

/// `org.apache.kafka.connect.transforms.Filter`.
#[derive(Debug, Default, Clone)]
pub struct Filter;

impl Filter {
    /// Kafka's class name.
    pub const CLASS: &'static str = "org.apache.kafka.connect.transforms.Filter";
}

impl<R: Record> Transformation<R> for Filter {
    fn config(&self) -> ConfigDef {
        ConfigDef::new()
    }

    fn configure(&mut self, _props: &BTreeMap<String, String>) -> Result<(), TransformError> {
        Ok(())
    }

    fn apply(&mut self, _record: R) -> Result<Option<R>, TransformError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Value;
    use crate::transforms::test_support::record;

    #[test]
    fn drops_everything() {
        let mut f = Filter;
        assert!(f.apply(record("t", Value::Int32(1))).unwrap().is_none());
        assert!(f.apply(record("t", Value::Null)).unwrap().is_none());
    }
}
