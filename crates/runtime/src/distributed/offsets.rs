//! The offsets topic, read into an index by *parsed* key.
//!
//! Records are the offsets store's format ([`crate::storage::offset_codec`]): key
//! `["<connector>",{<source partition>}]`, value `{<source offset>}`, a tombstone resets the
//! partition. Java's JsonConverter writes a partition map in its `Map`'s iteration order, so
//! the same partition may arrive under differently ordered key bytes from different workers;
//! indexing by the raw bytes (as Connect's `OffsetStorageReaderImpl` does) would keep both and
//! let compaction keep a stale one. The index is keyed by the parsed key, re-encoded
//! canonically (partition keys sorted), and remembers the last record for each.

use crate::data::SourceMap;
use crate::storage::offset_codec::{self, KeyError};
use bytes::Bytes;
use std::collections::HashMap;

/// An offsets-topic record that can't be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OffsetRecordError {
    /// No key at all.
    #[error("offsets topic: record without a key")]
    NoKey,
    /// The key is not `["<connector>",{<partition>}]`.
    #[error("offsets topic: {0}")]
    Key(#[from] KeyError),
    /// The value is not a JSON object.
    #[error("offsets topic: the offset for {key} is not a JSON object")]
    Value {
        /// The key, as text.
        key: String,
    },
}

/// One connector's source partition.
#[derive(Debug, Clone, PartialEq)]
pub struct OffsetKey {
    /// The connector.
    pub connector: String,
    /// The source partition.
    pub partition: SourceMap,
}

impl OffsetKey {
    /// The canonical key bytes (what kaflow writes).
    pub fn encode(&self) -> Bytes {
        offset_codec::key(&self.connector, &self.partition)
    }
}

/// Every partition's latest offset, as read from the offsets topic.
#[derive(Debug, Default)]
pub struct OffsetIndex {
    by_key: HashMap<Bytes, (OffsetKey, SourceMap)>,
}

impl OffsetIndex {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads one record (`value` `None`: the partition's offset was reset). A record that
    /// can't be read changes nothing and returns why, for the log.
    pub fn apply(&mut self, key: Option<&[u8]>, value: Option<&[u8]>) -> Result<(), OffsetRecordError> {
        let key = key.ok_or(OffsetRecordError::NoKey)?;
        let (connector, partition) = offset_codec::parse_key(key)?;
        let k = OffsetKey { connector, partition };
        let canonical = k.encode();
        match value {
            None => {
                self.by_key.remove(&canonical);
            }
            Some(v) => {
                let offset = offset_codec::parse_value(v).ok_or_else(|| OffsetRecordError::Value {
                    key: String::from_utf8_lossy(key).into_owned(),
                })?;
                self.by_key.insert(canonical, (k, offset));
            }
        }
        Ok(())
    }

    /// `connector`'s offset for `partition`.
    pub fn get(&self, connector: &str, partition: &SourceMap) -> Option<&SourceMap> {
        self.by_key
            .get(&offset_codec::key(connector, partition))
            .map(|(_, o)| o)
    }

    /// Every partition of `connector` with its offset.
    pub fn connector_offsets<'a>(
        &'a self,
        connector: &'a str,
    ) -> impl Iterator<Item = (&'a SourceMap, &'a SourceMap)> + 'a {
        self.by_key
            .values()
            .filter(move |(k, _)| k.connector == connector)
            .map(|(k, o)| (&k.partition, o))
    }

    /// How many partitions have an offset.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether none has.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Value;

    #[test]
    fn keys_differing_only_in_order_are_one_partition() {
        let mut idx = OffsetIndex::new();
        idx.apply(Some(br#"["c",{"db":"x","table":"users"}]"#), Some(br#"{"id":7}"#))
            .unwrap();
        idx.apply(Some(br#"["c",{"table":"users","db":"x"}]"#), Some(br#"{"id":9}"#))
            .unwrap();
        assert_eq!(idx.len(), 1);
        let p = SourceMap::from([
            ("table".to_string(), Value::String("users".into())),
            ("db".to_string(), Value::String("x".into())),
        ]);
        assert_eq!(idx.get("c", &p).unwrap()["id"], Value::Int64(9));
        assert_eq!(idx.connector_offsets("c").count(), 1);
        // a tombstone resets it
        idx.apply(Some(br#"["c",{"db":"x","table":"users"}]"#), None)
            .unwrap();
        assert!(idx.is_empty());
    }

    #[test]
    fn garbage_records_are_typed_errors() {
        let mut idx = OffsetIndex::new();
        assert_eq!(idx.apply(None, Some(b"{}")), Err(OffsetRecordError::NoKey));
        assert!(matches!(
            idx.apply(Some(b"\"c\""), Some(b"{}")),
            Err(OffsetRecordError::Key(_))
        ));
        assert!(matches!(
            idx.apply(Some(br#"["c",{"p":1}]"#), Some(b"[1]")),
            Err(OffsetRecordError::Value { .. })
        ));
        assert!(idx.is_empty());
    }
}
