//! Source offsets as Connect writes them to its offsets topic / file: JSON via the schemaless
//! JsonConverter, key `["<connector>",{<partition>}]`, value `{<offset>}`
//! (`OffsetStorageWriter` / `OffsetUtils`).

use crate::convert::{Converter, JsonConverter};
use crate::data::{SourceMap, Value};
use bytes::Bytes;
use std::collections::BTreeMap;

fn converter() -> JsonConverter {
    let mut c = JsonConverter::default();
    let props = BTreeMap::from([("schemas.enable".to_string(), "false".to_string())]);
    c.configure(&props, true)
        .expect("schemaless JsonConverter config is valid");
    c
}

fn to_value(map: &SourceMap) -> Value {
    Value::Map(
        map.iter()
            .map(|(k, v)| (Value::String(k.clone()), v.clone()))
            .collect(),
    )
}

fn to_json(v: &Value) -> Bytes {
    converter()
        .from_connect("", &mut Vec::new(), None, v)
        .expect("source partitions and offsets are JSON-able")
        .unwrap_or_default()
}

/// The offsets-store key for `connector`'s source `partition`.
pub fn key(connector: &str, partition: &SourceMap) -> Bytes {
    to_json(&Value::Array(vec![
        Value::String(connector.to_string()),
        to_value(partition),
    ]))
}

/// The offsets-store value for a source `offset`.
pub fn value(offset: &SourceMap) -> Bytes {
    to_json(&to_value(offset))
}

/// Why an offsets-store key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not JSON.
    #[error("offset key is not JSON: {0}")]
    Json(String),
    /// JSON, but not Connect's `["<connector>",{<partition>}]` (`OffsetUtils.processPartitionKey`).
    #[error("offset key is not a [\"<connector>\", {{<partition>}}] array: {0}")]
    Shape(&'static str),
}

/// Parses an offsets-store key back into its connector and source partition.
pub fn parse_key(bytes: &[u8]) -> Result<(String, SourceMap), KeyError> {
    let sv = converter()
        .to_connect("", &[], Some(&Bytes::copy_from_slice(bytes)))
        .map_err(|e| KeyError::Json(e.to_string()))?;
    let Value::Array(items) = sv.value else {
        return Err(KeyError::Shape("not an array"));
    };
    let [Value::String(connector), partition] =
        <[Value; 2]>::try_from(items).map_err(|_| KeyError::Shape("not two elements"))?
    else {
        return Err(KeyError::Shape("the first element is not a connector name"));
    };
    let Value::Map(entries) = partition else {
        return Err(KeyError::Shape("the second element is not a map"));
    };
    let mut partition = SourceMap::new();
    for (k, v) in entries {
        let Value::String(k) = k else {
            return Err(KeyError::Shape("a partition key is not a string"));
        };
        partition.insert(k, v);
    }
    Ok((connector, partition))
}

/// Parses a stored offset back into a map; `None` if it isn't a JSON object.
pub fn parse_value(bytes: &[u8]) -> Option<SourceMap> {
    let sv = converter()
        .to_connect("", &[], Some(&Bytes::copy_from_slice(bytes)))
        .ok()?;
    match sv.value {
        Value::Map(entries) => Some(
            entries
                .into_iter()
                .filter_map(|(k, v)| match k {
                    Value::String(k) => Some((k, v)),
                    _ => None,
                })
                .collect(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connects_key_and_value_format() {
        let p = SourceMap::from([("filename".to_string(), Value::String("/tmp/in.txt".into()))]);
        let o = SourceMap::from([("position".to_string(), Value::Int64(42))]);
        assert_eq!(
            &key("local-file-source", &p)[..],
            br#"["local-file-source",{"filename":"/tmp/in.txt"}]"#
        );
        assert_eq!(&value(&o)[..], br#"{"position":42}"#);
        assert_eq!(parse_value(br#"{"position":42}"#), Some(o));
        assert_eq!(
            parse_key(br#"["local-file-source",{"filename":"/tmp/in.txt"}]"#),
            Ok(("local-file-source".to_string(), p))
        );
        assert!(matches!(parse_key(b"{}"), Err(KeyError::Shape(_))));
        assert!(matches!(parse_key(br#"["c",null]"#), Err(KeyError::Shape(_))));
        assert!(matches!(parse_key(b"[oops"), Err(KeyError::Json(_))));
    }
}
