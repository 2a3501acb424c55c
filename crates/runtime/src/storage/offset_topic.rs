//! Source offsets in a Kafka topic (`offset.storage.topic`): distributed mode's offset store,
//! Connect's `KafkaOffsetBackingStore`.
//!
//! ```text
//!  open ──▶ KafkaLog::read_to_end ──▶ index: canonical key ─▶ value (a tombstone removes)
//!  source task flush ── put_all ──▶ KafkaLog::send_all (acks=all) ──acked──▶ index updated
//!  a task about to start elsewhere ── refresh ──▶ read_to_end (other workers' writes)
//! ```
//!
//! Records are the bytes Connect writes: key `["<connector>",{<partition>}]`, value
//! `{<offset>}` (see [`super::offset_codec`]), so a topic written by Kafka Connect is read as
//! is, and the reverse. The index is keyed by the *parsed* key re-serialised canonically (JSON
//! object members sorted, no whitespace): a Java worker may order a partition map's fields
//! differently from kaflow, and both must find the same offset. Two spellings of one key hash
//! to different partitions, so their order in the topic is lost; between them the record with
//! the later timestamp wins (within one spelling, the log's order decides, as in Connect).

use super::kafka_log::{KafkaLog, KafkaLogError};
use std::collections::HashMap;
use std::sync::Mutex;

/// The canonical form of an offsets key: its JSON parsed and written back compactly with
/// object members sorted; bytes that aren't JSON are kept as they are.
pub fn canonical_key(key: &[u8]) -> Vec<u8> {
    // serde_json's Map (no `preserve_order` feature here) is a BTreeMap: sorted members.
    match serde_json::from_slice::<serde_json::Value>(key) {
        Ok(v) => serde_json::to_vec(&v).unwrap_or_else(|_| key.to_vec()),
        Err(_) => key.to_vec(),
    }
}

/// The latest record for one canonical key.
#[derive(Debug, Clone)]
struct Entry {
    /// The key as written (its spelling decides its partition).
    key: Vec<u8>,
    /// The offset; `None` after a tombstone (kept so an older spelling can't resurrect it).
    value: Option<Vec<u8>>,
    /// The record's timestamp (ms).
    timestamp: i64,
}

/// An update read from the topic or just written: key, value (`None`: tombstone), timestamp.
type Update = (Vec<u8>, Option<Vec<u8>>, i64);

/// The offsets topic and what has been read from it.
#[derive(Debug)]
pub struct OffsetTopic {
    log: KafkaLog,
    /// Canonical key ─▶ the latest entry read or written for it.
    index: Mutex<HashMap<Vec<u8>, Entry>>,
}

impl OffsetTopic {
    /// Wraps `log` and reads it to the end.
    pub async fn open(log: KafkaLog) -> Result<Self, KafkaLogError> {
        let store = Self {
            log,
            index: Mutex::default(),
        };
        store.refresh().await?;
        Ok(store)
    }

    /// Reads what other workers wrote since the last read (before a source task starts here).
    pub async fn refresh(&self) -> Result<usize, KafkaLogError> {
        let mut updates = Vec::new();
        let n = self
            .log
            .read_to_end(|r| {
                if let Some(k) = &r.key {
                    updates.push((k.to_vec(), r.value.as_ref().map(|v| v.to_vec()), r.timestamp));
                }
            })
            .await?;
        self.apply(updates);
        Ok(n)
    }

    fn apply(&self, updates: Vec<Update>) {
        let mut index = self.index.lock().unwrap_or_else(|e| e.into_inner());
        for (key, value, timestamp) in updates {
            let canonical = canonical_key(&key);
            let newer = match index.get(&canonical) {
                Some(e) => e.key == key || timestamp >= e.timestamp,
                None => true,
            };
            if newer {
                index.insert(
                    canonical,
                    Entry {
                        key,
                        value,
                        timestamp,
                    },
                );
            }
        }
    }

    /// Every stored (key as written, value), in no particular order.
    pub fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let index = self.index.lock().unwrap_or_else(|e| e.into_inner());
        index
            .values()
            .filter_map(|e| Some((e.key.clone(), e.value.clone()?)))
            .collect()
    }

    /// Closes the topic's clients.
    pub async fn close(&self) {
        self.log.close().await;
    }
}

#[async_trait::async_trait]
impl crate::worker::OffsetStore for OffsetTopic {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let index = self.index.lock().unwrap_or_else(|e| e.into_inner());
        index.get(&canonical_key(key)).and_then(|e| e.value.clone())
    }

    async fn put_all(&self, batch: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), String> {
        let records = batch
            .iter()
            .map(|(k, v)| {
                (
                    Some(bytes::Bytes::copy_from_slice(k)),
                    v.as_ref().map(|v| bytes::Bytes::copy_from_slice(v)),
                )
            })
            .collect();
        // Only acknowledged writes reach the index: a failed flush leaves the old offsets,
        // so a restarted task resumes from what is durably in the topic.
        self.log.send_all(records).await.map_err(|e| e.to_string())?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        self.apply(batch.into_iter().map(|(k, v)| (k, v, now)).collect());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::canonical_key;

    #[test]
    fn keys_written_with_other_member_order_or_spacing_are_one_key() {
        let ours = br#"["src",{"filename":"/in.txt","line":3}]"#;
        let javas = br#"[ "src", {"line": 3, "filename": "/in.txt"} ]"#;
        assert_eq!(canonical_key(ours), canonical_key(javas));
        assert_eq!(canonical_key(ours), ours.to_vec());
        assert_ne!(
            canonical_key(ours),
            canonical_key(br#"["src",{"filename":"/in.txt","line":4}]"#)
        );
        assert_eq!(canonical_key(b"\xffnot json"), b"\xffnot json".to_vec());
    }
}
