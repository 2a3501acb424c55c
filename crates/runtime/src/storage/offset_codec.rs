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
    }
}
