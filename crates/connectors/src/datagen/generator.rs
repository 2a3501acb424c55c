//! Record contents as a pure function of (task, sequence number): a restarted or re-sending
//! task produces byte-identical records, so a reader can check any record it sees.
//!
//! ```text
//!  (task, seq) ─splitmix64─▶ a stream of u64 words ─▶ payload bytes
//!      json   : Struct{task, seq, payload: <record.size printable chars>}
//!      string : <record.size printable chars>
//!      bytes  : <record.size arbitrary bytes>
//! ```

use super::config::{DatagenConfig, KeyShape, RecordShape};
use kaflow_runtime::data::{Schema, SchemaBuilder, Struct, Value};

/// The schema name of the json shape's struct.
pub const VALUE_SCHEMA_NAME: &str = "io.kaflow.connect.datagen.Record";

/// 64 characters that need no escaping in JSON, properties or shells.
const PRINTABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// One generated record's key and value with their schemas.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// Key schema (`None` with a null key).
    pub key_schema: Option<Schema>,
    /// Key.
    pub key: Value,
    /// Value schema.
    pub value_schema: Schema,
    /// Value.
    pub value: Value,
}

/// Builds records for one task.
#[derive(Debug, Clone)]
pub struct Generator {
    task: u32,
    shape: RecordShape,
    size: usize,
    key: KeyShape,
    value_schema: Schema,
}

/// SplitMix64's step: a fast, well-mixed sequence from any seed (not for cryptography).
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The state a record's payload starts from: distinct for every (task, seq).
fn seed(task: u32, seq: u64) -> u64 {
    let mut s = u64::from(task);
    splitmix64(&mut s) ^ seq.wrapping_mul(0xD1B5_4A32_D192_ED03)
}

/// `size` printable ASCII characters for (task, seq).
pub fn printable_payload(task: u32, seq: u64, size: usize) -> String {
    let mut state = seed(task, seq);
    let mut out = String::with_capacity(size);
    while out.len() < size {
        let mut word = splitmix64(&mut state);
        // Ten six-bit characters per word.
        for _ in 0..10 {
            if out.len() == size {
                break;
            }
            out.push(char::from(PRINTABLE[(word & 63) as usize]));
            word >>= 6;
        }
    }
    out
}

/// `size` arbitrary bytes for (task, seq).
pub fn bytes_payload(task: u32, seq: u64, size: usize) -> Vec<u8> {
    let mut state = seed(task, seq);
    let mut out = Vec::with_capacity(size);
    while out.len() < size {
        let word = splitmix64(&mut state).to_le_bytes();
        let take = (size - out.len()).min(word.len());
        out.extend_from_slice(&word[..take]);
    }
    out
}

/// The json shape's struct schema.
pub fn json_schema() -> Schema {
    let built = SchemaBuilder::struct_()
        .name(VALUE_SCHEMA_NAME)
        .field("task", Schema::INT32())
        .and_then(|b| b.field("seq", Schema::INT64()))
        .and_then(|b| b.field("payload", Schema::STRING()));
    match built {
        Ok(b) => b.build(),
        // The field names above are distinct constants; a clash would be a bug here.
        Err(e) => unreachable!("datagen's struct schema is fixed: {e}"),
    }
}

impl Generator {
    /// A generator for the task `cfg` describes.
    pub fn new(cfg: &DatagenConfig) -> Self {
        let value_schema = match cfg.record_shape {
            RecordShape::Json => json_schema(),
            RecordShape::Bytes => Schema::BYTES(),
            RecordShape::String => Schema::STRING(),
        };
        Generator {
            task: cfg.task,
            shape: cfg.record_shape,
            size: cfg.record_size,
            key: cfg.key_shape,
            value_schema,
        }
    }

    /// The record with sequence number `seq`.
    pub fn record(&self, seq: u64) -> Generated {
        let value = match self.shape {
            RecordShape::Json => {
                let mut s = Struct::new(self.value_schema.clone())
                    .unwrap_or_else(|e| unreachable!("a struct schema makes a struct: {e}"));
                let fields = [
                    ("task", Value::Int32(self.task as i32)),
                    ("seq", Value::Int64(seq as i64)),
                    (
                        "payload",
                        Value::String(printable_payload(self.task, seq, self.size)),
                    ),
                ];
                for (name, v) in fields {
                    if let Err(e) = s.put(name, v) {
                        unreachable!("fields match json_schema(): {e}");
                    }
                }
                Value::Struct(s)
            }
            RecordShape::Bytes => Value::bytes(bytes_payload(self.task, seq, self.size)),
            RecordShape::String => Value::String(printable_payload(self.task, seq, self.size)),
        };
        let (key_schema, key) = match self.key {
            KeyShape::None => (None, Value::Null),
            KeyShape::Seq => (Some(Schema::INT64()), Value::Int64(seq as i64)),
        };
        Generated {
            key_schema,
            key,
            value_schema: self.value_schema.clone(),
            value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kaflow_runtime::connector::Props;

    fn cfg(kv: &[(&str, &str)]) -> DatagenConfig {
        let mut p: Props = kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        p.insert("topic".into(), "t".into());
        DatagenConfig::parse(&p).unwrap()
    }

    #[test]
    fn payloads_are_deterministic_sized_and_distinct() {
        for size in [0, 1, 9, 10, 11, 100, 4097] {
            let a = printable_payload(1, 42, size);
            assert_eq!(a.len(), size);
            assert_eq!(a, printable_payload(1, 42, size));
            assert!(a.bytes().all(|b| PRINTABLE.contains(&b)));
            let b = bytes_payload(1, 42, size);
            assert_eq!(b.len(), size);
            assert_eq!(b, bytes_payload(1, 42, size));
        }
        // Neighbouring sequence numbers and tasks differ.
        let p = |t, s| printable_payload(t, s, 32);
        assert_ne!(p(0, 0), p(0, 1));
        assert_ne!(p(0, 0), p(1, 0));
        assert_ne!(p(1, 0), p(0, 1));
        let distinct: std::collections::BTreeSet<_> = (0..10_000).map(|s| p(0, s)).collect();
        assert_eq!(distinct.len(), 10_000);
        // A shorter payload is a prefix of a longer one: size changes nothing else.
        assert!(printable_payload(2, 7, 100).starts_with(&printable_payload(2, 7, 33)));
    }

    #[test]
    fn json_shape_is_a_struct_of_task_seq_and_payload() {
        let g = Generator::new(&cfg(&[("record.size", "16"), ("task.id", "2")]));
        let r = g.record(5);
        assert_eq!(r.key, Value::Null);
        assert_eq!(r.key_schema, None);
        assert_eq!(r.value_schema.name(), Some(VALUE_SCHEMA_NAME));
        let Value::Struct(s) = &r.value else {
            panic!("{:?}", r.value)
        };
        assert_eq!(s.get("task").unwrap(), &Value::Int32(2));
        assert_eq!(s.get("seq").unwrap(), &Value::Int64(5));
        assert_eq!(
            s.get("payload").unwrap(),
            &Value::String(printable_payload(2, 5, 16))
        );
        assert_eq!(g.record(5), r, "the same seq gives the same record");
    }

    #[test]
    fn bytes_and_string_shapes_with_seq_keys() {
        let g = Generator::new(&cfg(&[
            ("record.shape", "bytes"),
            ("record.size", "64"),
            ("key.shape", "seq"),
        ]));
        let r = g.record(9);
        assert_eq!(r.key, Value::Int64(9));
        assert_eq!(r.key_schema, Some(Schema::INT64()));
        assert_eq!(r.value_schema, Schema::BYTES());
        assert_eq!(r.value, Value::bytes(bytes_payload(0, 9, 64)));

        let g = Generator::new(&cfg(&[("record.shape", "string"), ("record.size", "3")]));
        assert_eq!(g.record(1).value, Value::String(printable_payload(0, 1, 3)));
        assert_eq!(g.record(1).value_schema, Schema::STRING());
    }
}
