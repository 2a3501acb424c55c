//! JsonConverter unit tests: envelope rules, schemaless inference, round trips of every type,
//! null/default handling, logical types, configuration errors. Expected JSON texts are what
//! Kafka 4.3.1's JsonConverter writes (see tests/converter_json_parity.rs for the live check).

use std::collections::BTreeMap;

use bytes::Bytes;

use super::*;
use crate::data::logical::{date_schema, decimal_schema, time_schema, timestamp_schema};
use crate::data::BigDecimal;

fn conv(kv: &[(&str, &str)]) -> JsonConverter {
    let props: BTreeMap<String, String> = kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let mut c = JsonConverter::new();
    Converter::configure(&mut c, &props, false).unwrap();
    c
}

fn write(c: &JsonConverter, schema: Option<&Schema>, value: &Value) -> String {
    String::from_utf8(c.serialize(schema, value).unwrap().unwrap().to_vec()).unwrap()
}

fn read(c: &JsonConverter, json: &str) -> SchemaAndValue {
    c.deserialize(Some(json.as_bytes())).unwrap()
}

#[test]
fn envelope_is_required_with_exact_kafka_text() {
    let c = conv(&[]);
    for bad in [
        r#"{"payload":1}"#,
        r#"{"schema":null,"payload":1,"extra":true}"#,
        r#"[1,2]"#,
        r#"42"#,
        "",
    ] {
        let e = c.deserialize(Some(bad.as_bytes())).unwrap_err();
        assert_eq!(
            e.to_string(),
            "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain \
             additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in \
             your converter configuration.",
            "{bad}"
        );
    }
    let e = c.deserialize(Some(b"{not json")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Converting byte[] to Kafka Connect data failed due to serialization error: "),
        "{e}"
    );
    // A null schema in the envelope means schemaless payload.
    let r = read(&c, r#"{"schema":null,"payload":{"a":[1,2.5]}}"#);
    assert_eq!(r.schema, None);
    assert_eq!(
        r.value,
        Value::Map(vec![(
            "a".into(),
            Value::Array(vec![Value::Int64(1), Value::Float64(2.5)])
        )])
    );
    assert_eq!(c.deserialize(None).unwrap(), SchemaAndValue::default());
}

#[test]
fn schemaless_inference_on_read() {
    let c = conv(&[("schemas.enable", "false")]);
    let r = read(
        &c,
        r#"{"i":12,"f":1.25,"s":"x","b":true,"n":null,"a":[1,"two"],"o":{"k":{}}}"#,
    );
    assert_eq!(r.schema, None);
    assert_eq!(
        r.value,
        Value::Map(vec![
            ("i".into(), Value::Int64(12)),
            ("f".into(), Value::Float64(1.25)),
            ("s".into(), "x".into()),
            ("b".into(), Value::Boolean(true)),
            ("n".into(), Value::Null),
            ("a".into(), Value::Array(vec![Value::Int64(1), "two".into()])),
            ("o".into(), Value::Map(vec![("k".into(), Value::Map(vec![]))])),
        ])
    );
    assert_eq!(read(&c, "null").value, Value::Null);
    assert_eq!(
        read(&c, "").value,
        Value::Null,
        "empty input is Jackson's MissingNode"
    );
    // Without the envelope a schema'd value is written bare.
    assert_eq!(write(&c, Some(&Schema::INT32()), &Value::Int32(5)), "5");
    assert_eq!(
        c.serialize(None, &Value::Null).unwrap(),
        None,
        "tombstone stays null"
    );
}

fn all_types_schema() -> Schema {
    SchemaBuilder::struct_()
        .name("r")
        .field("i8", Schema::INT8())
        .unwrap()
        .field("i16", Schema::INT16())
        .unwrap()
        .field("i32", Schema::INT32())
        .unwrap()
        .field("i64", Schema::INT64())
        .unwrap()
        .field("f32", Schema::FLOAT32())
        .unwrap()
        .field("f64", Schema::FLOAT64())
        .unwrap()
        .field("b", Schema::BOOLEAN())
        .unwrap()
        .field("s", Schema::STRING())
        .unwrap()
        .field("y", Schema::BYTES())
        .unwrap()
        .field("a", SchemaBuilder::array(Schema::OPTIONAL_INT64()).build())
        .unwrap()
        .field(
            "m",
            SchemaBuilder::map(Schema::STRING(), Schema::BOOLEAN()).build(),
        )
        .unwrap()
        .field(
            "nm",
            SchemaBuilder::map(Schema::INT16(), Schema::STRING()).build(),
        )
        .unwrap()
        .field("d", decimal_schema(2))
        .unwrap()
        .field("date", date_schema())
        .unwrap()
        .field("time", time_schema())
        .unwrap()
        .field("ts", timestamp_schema())
        .unwrap()
        .field("o", Schema::OPTIONAL_STRING())
        .unwrap()
        .build()
}

fn all_types_value() -> Value {
    let mut s = Struct::new(all_types_schema()).unwrap();
    s.put("i8", -8i8).unwrap();
    s.put("i16", 16i16).unwrap();
    s.put("i32", -32i32).unwrap();
    s.put("i64", 64i64).unwrap();
    s.put("f32", 0.5f32).unwrap();
    s.put("f64", -1.25e-7).unwrap();
    s.put("b", true).unwrap();
    s.put("s", "str").unwrap();
    s.put("y", Value::Bytes(Bytes::from_static(b"\x00\x01"))).unwrap();
    s.put("a", Value::Array(vec![Value::Int64(1), Value::Null]))
        .unwrap();
    s.put("m", Value::Map(vec![("k".into(), Value::Boolean(false))]))
        .unwrap();
    s.put("nm", Value::Map(vec![(Value::Int16(3), "three".into())]))
        .unwrap();
    s.put("d", Value::Decimal(BigDecimal::parse("-1.05").unwrap()))
        .unwrap();
    s.put("date", Value::Date(19_000)).unwrap();
    s.put("time", Value::Time(1_000)).unwrap();
    s.put("ts", Value::Timestamp(-5)).unwrap();
    Value::Struct(s)
}

#[test]
fn every_type_round_trips_in_every_config() {
    let schema = all_types_schema();
    let value = all_types_value();
    for cfg in [
        vec![],
        vec![("decimal.format", "NUMERIC")],
        vec![
            ("decimal.format", "numeric"),
            ("replace.null.with.default", "false"),
        ],
    ] {
        let c = conv(&cfg);
        let bytes = c.serialize(Some(&schema), &value).unwrap().unwrap();
        let back = c.deserialize(Some(&bytes)).unwrap();
        assert_eq!(back.schema.as_ref(), Some(&schema), "{cfg:?}");
        assert_eq!(back.value, value, "{cfg:?}");
    }
    let json = write(&conv(&[("schemas.enable", "false")]), Some(&schema), &value);
    assert_eq!(
        json,
        r#"{"i8":-8,"i16":16,"i32":-32,"i64":64,"f32":0.5,"f64":-1.25E-7,"b":true,"s":"str","y":"AAE=","a":[1,null],"m":{"k":false},"nm":[[3,"three"]],"d":"lw==","date":19000,"time":1000,"ts":-5,"o":null}"#
    );
}

#[test]
fn schema_json_has_kafkas_field_order() {
    let schema = SchemaBuilder::struct_()
        .name("n")
        .version(4)
        .doc("d")
        .parameter("z", "1")
        .parameter("a", "2")
        .field(
            "f",
            SchemaBuilder::int64()
                .optional()
                .default_value(Value::Int64(9))
                .unwrap()
                .build(),
        )
        .unwrap()
        .optional()
        .build();
    let json = String::from_utf8(conv(&[]).as_json_schema(&schema).unwrap().to_json().into_bytes()).unwrap();
    assert_eq!(
        json,
        r#"{"type":"struct","fields":[{"type":"int64","optional":true,"default":9,"field":"f"}],"optional":true,"name":"n","version":4,"doc":"d","parameters":{"z":"1","a":"2"}}"#
    );
    let back = conv(&[])
        .as_connect_schema(&node::Node::parse(json.as_bytes()).unwrap())
        .unwrap();
    assert_eq!(back, Some(schema));
}

#[test]
fn nulls_and_defaults() {
    let with_default = SchemaBuilder::string()
        .optional()
        .default_value("dflt".into())
        .unwrap()
        .build();
    let c = conv(&[]);
    assert_eq!(
        write(&c, Some(&with_default), &Value::Null),
        r#"{"schema":{"type":"string","optional":true,"default":"dflt"},"payload":"dflt"}"#
    );
    assert_eq!(
        read(
            &c,
            r#"{"schema":{"type":"string","optional":true,"default":"dflt"},"payload":null}"#
        )
        .value,
        "dflt".into()
    );
    let nd = conv(&[("replace.null.with.default", "false")]);
    assert_eq!(
        write(&nd, Some(&with_default), &Value::Null),
        r#"{"schema":{"type":"string","optional":true,"default":"dflt"},"payload":null}"#
    );
    assert_eq!(
        read(
            &nd,
            r#"{"schema":{"type":"string","optional":true,"default":"dflt"},"payload":null}"#
        )
        .value,
        Value::Null
    );
    let e = c.serialize(Some(&Schema::STRING()), &Value::Null).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Conversion error: null value for field that is required and has no default value"
    );
    let e = c
        .deserialize(Some(
            br#"{"schema":{"type":"int32","optional":false},"payload":null}"#,
        ))
        .unwrap_err();
    assert_eq!(e.to_string(), "Invalid null value for required INT32 field");
    // A missing struct field is null: its default or an error naming the type.
    let r = read(
        &c,
        r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":true,"default":3,"field":"x"}],"optional":false},"payload":{}}"#,
    );
    assert_eq!(
        r.value.as_struct().unwrap().get_without_default("x").unwrap(),
        &Value::Int32(3)
    );
}

#[test]
fn logical_types_and_their_errors() {
    let c = conv(&[]);
    assert_eq!(
        write(
            &c,
            Some(&decimal_schema(2)),
            &Value::Decimal(BigDecimal::parse("1.50").unwrap())
        ),
        r#"{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":"AJY="}"#
    );
    let e = c
        .serialize(
            Some(&decimal_schema(2)),
            &Value::Decimal(BigDecimal::parse("1.5").unwrap()),
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("Schema has scale 2, value has scale 1"),
        "{e}"
    );
    let e = c
        .serialize(Some(&decimal_schema(2)), &Value::Bytes(Bytes::new()))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Invalid type for Decimal, expected BigDecimal but was Bytes"
    );
    let e = c.serialize(Some(&date_schema()), &Value::Int32(1)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Invalid type for Date, expected Date but was Int32"
    );
    // Reading: NUMERIC decimals keep their text's scale; base64 takes the schema's.
    let dschema = r#"{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}}"#;
    let r = read(&c, &format!(r#"{{"schema":{dschema},"payload":1.500}}"#));
    assert_eq!(r.value, Value::Decimal(BigDecimal::parse("1.500").unwrap()));
    let r = read(&c, &format!(r#"{{"schema":{dschema},"payload":"AJY="}}"#));
    assert_eq!(r.value, Value::Decimal(BigDecimal::parse("1.50").unwrap()));
    let e = c
        .deserialize(Some(
            format!(r#"{{"schema":{dschema},"payload":true}}"#).as_bytes(),
        ))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Invalid type for Decimal, underlying representation should be numeric or bytes but was BOOLEAN"
    );
    let tschema =
        r#"{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1}"#;
    let e = c
        .deserialize(Some(
            format!(r#"{{"schema":{tschema},"payload":86400001}}"#).as_bytes(),
        ))
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Time values must use number of milliseconds"),
        "{e}"
    );
    let e = c
        .deserialize(Some(
            format!(r#"{{"schema":{tschema},"payload":1.0}}"#).as_bytes(),
        ))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Invalid type for Time, underlying representation should be integer but was NUMBER"
    );
    // Logical values have no schemaless form, as in Kafka.
    let e = c.serialize(None, &Value::Date(1)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Java class Date does not have corresponding schema type."
    );
}

#[test]
fn mismatches_and_bad_schemas_name_the_problem() {
    let c = conv(&[]);
    let e = c
        .serialize(Some(&Schema::INT32()), &Value::String("x".into()))
        .unwrap_err();
    assert_eq!(e.to_string(), "Invalid type for INT32: String");
    let st = Struct::new(
        SchemaBuilder::struct_()
            .field("a", Schema::INT8())
            .unwrap()
            .build(),
    )
    .unwrap();
    let e = c.serialize(None, &Value::Struct(st)).unwrap_err();
    assert_eq!(e.to_string(), "Mismatching schema.");
    for (schema, msg) in [
        (r#"{"optional":false}"#, "Schema must contain 'type' field"),
        (r#"{"type":"decimal"}"#, "Unknown schema type: decimal"),
        (
            r#"{"type":"array"}"#,
            "Array schema did not specify the element type",
        ),
        (
            r#"{"type":"map","values":{"type":"int8"}}"#,
            "Map schema did not specify the key type",
        ),
        (
            r#"{"type":"struct","fields":{}}"#,
            "Struct schema's \"fields\" argument is not an array.",
        ),
        (
            r#"{"type":"struct","fields":[{"type":"int8"}]}"#,
            "Struct schema's field name not specified properly",
        ),
        (
            r#"{"type":"int8","parameters":{"a":1}}"#,
            "Schema parameters must have string values.",
        ),
    ] {
        let e = c
            .deserialize(Some(
                format!(r#"{{"schema":{schema},"payload":null}}"#).as_bytes(),
            ))
            .unwrap_err();
        assert_eq!(e.to_string(), msg, "{schema}");
    }
    let e = c
        .deserialize(Some(
            br#"{"schema":{"type":"struct","fields":[{"type":"int8","field":"a"}]},"payload":[1]}"#,
        ))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Structs should be encoded as JSON objects, but found ARRAY"
    );
    let e = c
        .deserialize(Some(
            br#"{"schema":{"type":"map","keys":{"type":"int8"},"values":{"type":"int8"}},"payload":[[1]]}"#,
        ))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Found invalid map entry, expected length 2 but found :1"
    );
}

#[test]
fn lenient_number_reading_matches_jackson() {
    let c = conv(&[]);
    let r = read(&c, r#"{"schema":{"type":"int8","optional":false},"payload":300}"#);
    assert_eq!(r.value, Value::Int8(44), "(byte) 300");
    let r = read(
        &c,
        r#"{"schema":{"type":"int32","optional":false},"payload":7.9}"#,
    );
    assert_eq!(r.value, Value::Int32(7));
    let r = read(
        &c,
        r#"{"schema":{"type":"float","optional":false},"payload":0.1}"#,
    );
    assert_eq!(r.value, Value::Float32(0.1));
}

#[test]
fn configuration_is_validated_with_kafkas_wording() {
    let mut c = JsonConverter::new();
    let props: BTreeMap<String, String> = [("decimal.format".to_owned(), "HEX".to_owned())].into();
    let e = Converter::configure(&mut c, &props, true).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Invalid value HEX for configuration decimal.format"),
        "{e}"
    );
    let props: BTreeMap<String, String> = [("schemas.enable".to_owned(), "maybe".to_owned())].into();
    let e = Converter::configure(&mut c, &props, true).unwrap_err();
    assert!(e.to_string().contains("schemas.enable"), "{e}");
    let keys: Vec<String> = Converter::config_def(&c)
        .keys()
        .iter()
        .map(|k| k.name.clone())
        .collect();
    for k in [
        "schemas.enable",
        "schemas.cache.size",
        "decimal.format",
        "replace.null.with.default",
    ] {
        assert!(keys.iter().any(|x| x == k), "{k}");
    }
}

#[test]
fn header_converter_uses_the_same_format() {
    let mut c = JsonConverter::new();
    c.configure_header(&[("schemas.enable".to_owned(), "false".to_owned())].into())
        .unwrap();
    let b = c
        .from_connect_header("t", "h", Some(&Schema::STRING()), &"v".into())
        .unwrap()
        .unwrap();
    assert_eq!(&b[..], b"\"v\"");
    assert_eq!(c.to_connect_header("t", "h", Some(&b)).unwrap().value, "v".into());
}

#[test]
fn schema_content_reads_bare_payloads_with_the_configured_schema() {
    let schema =
        r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false}"#;
    let c = conv(&[("schema.content", schema)]);
    let r = read(&c, r#"{"id":5}"#);
    let st = r.value.as_struct().expect("a struct");
    assert_eq!(st.get("id").unwrap(), &Value::Int32(5));
    assert_eq!(r.schema.unwrap().fields()[0].name(), "id");
    let mut bad = JsonConverter::new();
    let props: BTreeMap<String, String> = [("schema.content".to_owned(), "{oops".to_owned())].into();
    let e = Converter::configure(&mut bad, &props, false).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Failed to parse schema in converter config due to serialization error: "),
        "{e}"
    );
    // Ignored without schemas.enable, as in Kafka.
    let plain = conv(&[("schema.content", schema), ("schemas.enable", "false")]);
    assert_eq!(read(&plain, r#"{"id":5}"#).schema, None);
}
