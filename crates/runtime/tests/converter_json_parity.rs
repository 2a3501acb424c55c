//! JsonConverter parity with Apache Kafka's own (`connect-json` 4.3.1 from `target/kafka/libs`,
//! fetched by `scripts/kafka.sh fetch`).
//!
//! ```text
//!  tests/java/JsonParity.java write ──▶ Kafka's JSON for every (case, config) ──┐
//!  kaflow JsonConverter, same cases ──▶ kaflow's JSON ───────────────────────────┤ compare: equal JSON,
//!                                                                                │ and identical bytes
//!  kaflow's JSON ──▶ JsonParity read (Kafka reads it back, checks the value) ◀───┘
//!  Kafka's JSON  ──▶ kaflow reads it back, checks the value
//! ```
//!
//! The cases are built by name on both sides: every Connect type, nested struct/array/map,
//! Decimal/Date/Time/Timestamp, nulls and defaults, schemaless values; configs
//! `schemas.enable` true/false, `decimal.format=NUMERIC`, `replace.null.with.default=false`.
//! Without java/javac or the jars the test skips loudly, except under `CI=true`, where it fails.

use std::collections::BTreeMap;
use std::path::Path;

use bytes::Bytes;
use kaflow_runtime::convert::json::node::{base64_decode, base64_encode, Node};
use kaflow_runtime::convert::JsonConverter;
use kaflow_runtime::data::logical::{
    date_schema, decimal_builder, decimal_schema, time_schema, timestamp_schema,
};
use kaflow_runtime::data::{BigDecimal, Schema, SchemaBuilder, Struct, Value};
use kaflow_test_support::java::{self, JavaProgram};

const CONFIGS: [&str; 4] = ["schemas", "noschemas", "numeric", "nodefault"];

fn converter(config: &str) -> JsonConverter {
    let mut p = BTreeMap::new();
    p.insert("converter.type".to_owned(), "value".to_owned());
    p.insert(
        "schemas.enable".to_owned(),
        if config == "noschemas" { "false" } else { "true" }.to_owned(),
    );
    if config == "numeric" {
        p.insert("decimal.format".to_owned(), "NUMERIC".to_owned());
    }
    if config == "nodefault" {
        p.insert("replace.null.with.default".to_owned(), "false".to_owned());
    }
    let mut c = JsonConverter::new();
    c.configure_props(&p).expect("valid config");
    c
}

fn dec(s: &str) -> Value {
    Value::Decimal(BigDecimal::parse(s).unwrap())
}

fn inner() -> Schema {
    SchemaBuilder::struct_()
        .name("com.example.Inner")
        .version(2)
        .doc("inner doc")
        .field("id", Schema::INT64())
        .unwrap()
        .field(
            "label",
            SchemaBuilder::string()
                .optional()
                .default_value("none".into())
                .unwrap()
                .build(),
        )
        .unwrap()
        .build()
}

fn everything() -> Schema {
    let fields: Vec<(&str, Schema)> = vec![
        ("i8", Schema::INT8()),
        ("i16", Schema::INT16()),
        ("i32", Schema::INT32()),
        ("i64", Schema::INT64()),
        ("f32", Schema::FLOAT32()),
        ("f64", Schema::FLOAT64()),
        ("bool", Schema::BOOLEAN()),
        ("str", Schema::STRING()),
        ("bytes", Schema::BYTES()),
        ("opt_str", Schema::OPTIONAL_STRING()),
        (
            "def_i32",
            SchemaBuilder::int32()
                .optional()
                .default_value(Value::Int32(7))
                .unwrap()
                .build(),
        ),
        ("arr", SchemaBuilder::array(Schema::INT32()).build()),
        (
            "map",
            SchemaBuilder::map(Schema::STRING(), Schema::FLOAT64()).build(),
        ),
        (
            "imap",
            SchemaBuilder::map(Schema::INT32(), Schema::STRING())
                .optional()
                .build(),
        ),
        ("dec", decimal_schema(3)),
        ("date", date_schema()),
        ("time", time_schema()),
        ("ts", timestamp_schema()),
        ("inner", inner()),
        ("inners", SchemaBuilder::array(inner()).optional().build()),
    ];
    let mut b = SchemaBuilder::struct_()
        .name("com.example.Everything")
        .version(3)
        .doc("all the types")
        .parameter("p1", "v1")
        .parameter("a0", "v0");
    for (n, s) in fields {
        b = b.field(n, s).unwrap();
    }
    b.build()
}

fn inner_value(id: i64, label: Option<&str>) -> Value {
    let mut s = Struct::new(inner()).unwrap();
    s.put("id", id).unwrap();
    if let Some(l) = label {
        s.put("label", l).unwrap();
    }
    Value::Struct(s)
}

fn strukt(schema: Schema, kv: Vec<(&str, Value)>) -> Value {
    let mut s = Struct::new(schema).unwrap();
    for (k, v) in kv {
        s.put(k, v).unwrap();
    }
    Value::Struct(s)
}

fn arr(v: Vec<Value>) -> Value {
    Value::Array(v)
}

/// The same cases as `JsonParity.cases()`, in the same order.
fn cases() -> Vec<(&'static str, Option<Schema>, Value)> {
    let f64s = [
        0.1,
        1.0e-5,
        123456789.0,
        1.0e7,
        9999999.0,
        0.001,
        -0.0,
        4.9e-324,
        1.7976931348623157e308,
        100.0,
        0.30000000000000004,
    ];
    let f32s = [
        0.1f32,
        1.0e-5,
        1.234_567_9e8,
        1.0e7,
        3.4028235e38,
        1.4e-45,
        16777216.0,
    ];
    let everything_value = strukt(
        everything(),
        vec![
            ("i8", Value::Int8(1)),
            ("i16", Value::Int16(2)),
            ("i32", Value::Int32(3)),
            ("i64", Value::Int64(4)),
            ("f32", Value::Float32(5.5)),
            ("f64", Value::Float64(6.25)),
            ("bool", Value::Boolean(false)),
            ("str", "seven".into()),
            ("bytes", Value::Bytes(Bytes::from_static(&[8, 9]))),
            ("arr", arr(vec![Value::Int32(10), Value::Int32(11)])),
            ("map", Value::Map(vec![("twelve".into(), Value::Float64(12.0))])),
            ("dec", dec("13.140")),
            ("date", Value::Date(0)),
            ("time", Value::Time(86_400_000)),
            ("ts", Value::Timestamp(-1)),
            ("inner", inner_value(15, None)),
            (
                "inners",
                arr(vec![inner_value(16, Some("x")), inner_value(17, None)]),
            ),
        ],
    );
    let edges_value = strukt(
        everything(),
        vec![
            ("i8", Value::Int8(i8::MIN)),
            ("i16", Value::Int16(i16::MAX)),
            ("i32", Value::Int32(i32::MIN)),
            ("i64", Value::Int64(i64::MAX)),
            ("f32", Value::Float32(-0.0)),
            ("f64", Value::Float64(1e-300)),
            ("bool", Value::Boolean(true)),
            ("str", "".into()),
            ("bytes", Value::Bytes(Bytes::new())),
            ("opt_str", "present".into()),
            ("def_i32", Value::Int32(-7)),
            ("arr", arr(vec![])),
            ("map", Value::Map(vec![])),
            ("imap", Value::Map(vec![(Value::Int32(-1), "minus one".into())])),
            ("dec", dec("-0.001")),
            ("date", Value::Date(-1)),
            ("time", Value::Time(0)),
            ("ts", Value::Timestamp(253_402_300_799_999)),
            ("inner", inner_value(0, Some("l"))),
        ],
    );
    let schemaless_map = Value::Map(vec![
        ("long".into(), Value::Int64(1)),
        ("double".into(), Value::Float64(2.5)),
        ("str".into(), "s".into()),
        ("bool".into(), Value::Boolean(true)),
        ("null".into(), Value::Null),
        (
            "list".into(),
            arr(vec![
                Value::Int64(1),
                "x".into(),
                Value::Boolean(false),
                Value::Null,
            ]),
        ),
        (
            "nested".into(),
            Value::Map(vec![(
                "deep".into(),
                arr(vec![
                    arr(vec![Value::Int64(1), Value::Int64(2)]),
                    Value::Map(vec![]),
                ]),
            )]),
        ),
    ]);
    vec![
        ("int8", Some(Schema::INT8()), Value::Int8(-42)),
        ("int16", Some(Schema::INT16()), Value::Int16(-1234)),
        ("int32", Some(Schema::INT32()), Value::Int32(123456789)),
        ("int64", Some(Schema::INT64()), Value::Int64(i64::MIN)),
        ("float32", Some(Schema::FLOAT32()), Value::Float32(0.3)),
        ("float64", Some(Schema::FLOAT64()), Value::Float64(1.0e20)),
        (
            "float64s",
            Some(SchemaBuilder::array(Schema::FLOAT64()).build()),
            arr(f64s.iter().map(|v| Value::Float64(*v)).collect()),
        ),
        (
            "float32s",
            Some(SchemaBuilder::array(Schema::FLOAT32()).build()),
            arr(f32s.iter().map(|v| Value::Float32(*v)).collect()),
        ),
        ("boolean", Some(Schema::BOOLEAN()), Value::Boolean(true)),
        (
            "string",
            Some(Schema::STRING()),
            "h\u{e9}llo \"quoted\" \\ / \n\t\r\u{8}\u{c} \u{1}\u{1f} \u{2603} \u{1F600}".into(),
        ),
        (
            "bytes",
            Some(Schema::BYTES()),
            Value::Bytes(Bytes::from_static(&[0, 1, 2, 255, 254, 127])),
        ),
        (
            "empty_bytes",
            Some(Schema::OPTIONAL_BYTES()),
            Value::Bytes(Bytes::new()),
        ),
        (
            "array_int32",
            Some(SchemaBuilder::array(Schema::INT32()).build()),
            arr(vec![Value::Int32(1), Value::Int32(2), Value::Int32(3)]),
        ),
        (
            "array_opt_string",
            Some(SchemaBuilder::array(Schema::OPTIONAL_STRING()).optional().build()),
            arr(vec!["a".into(), Value::Null, "c".into()]),
        ),
        (
            "map_string_int",
            Some(SchemaBuilder::map(Schema::STRING(), Schema::INT32()).build()),
            Value::Map(vec![("a".into(), Value::Int32(1)), ("b".into(), Value::Int32(2))]),
        ),
        (
            "map_int_string",
            Some(SchemaBuilder::map(Schema::INT32(), Schema::STRING()).build()),
            Value::Map(vec![
                (Value::Int32(1), "one".into()),
                (Value::Int32(2), "two".into()),
            ]),
        ),
        ("decimal", Some(decimal_schema(2)), dec("12345.67")),
        ("decimal_negative", Some(decimal_schema(5)), dec("-0.00001")),
        (
            "decimal_big",
            Some(decimal_builder(4).optional().build()),
            dec("-123456789012345678901234567890.1234"),
        ),
        ("date", Some(date_schema()), Value::Date(19753)),
        ("time", Some(time_schema()), Value::Time(45_000_123)),
        (
            "timestamp",
            Some(timestamp_schema()),
            Value::Timestamp(1_700_000_000_123),
        ),
        ("optional_null", Some(Schema::OPTIONAL_STRING()), Value::Null),
        (
            "default_used",
            Some(
                SchemaBuilder::int32()
                    .optional()
                    .default_value(Value::Int32(7))
                    .unwrap()
                    .build(),
            ),
            Value::Null,
        ),
        (
            "decimal_default",
            Some(decimal_builder(2).default_value(dec("1.50")).unwrap().build()),
            dec("-2.25"),
        ),
        ("struct_everything", Some(everything()), everything_value),
        ("struct_edges", Some(everything()), edges_value),
        ("schemaless_map", None, schemaless_map),
        (
            "schemaless_mixed_keys",
            None,
            Value::Map(vec![(Value::Int64(1), "a".into()), ("b".into(), Value::Int64(2))]),
        ),
        ("schemaless_string", None, "just a string".into()),
        ("schemaless_long", None, Value::Int64(42)),
        ("tombstone", None, Value::Null),
    ]
}

/// Compiles the checker once per test binary (both tests share it); `None` after saying why.
fn java() -> Option<&'static JavaProgram> {
    static JAVA: std::sync::OnceLock<Option<JavaProgram>> = std::sync::OnceLock::new();
    JAVA.get_or_init(|| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java/JsonParity.java");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("json-parity-java");
        // Date/Time/Timestamp logical values must not depend on the machine's time zone.
        java::compile(&source, &out).map(|j| j.jvm_arg("-Duser.timezone=UTC"))
    })
    .as_ref()
}

fn run_java(java: &JavaProgram, args: &[&str]) -> String {
    String::from_utf8(java.run(args).stdout).unwrap()
}

/// What one side produced for a (case, config).
#[derive(Debug, Clone, PartialEq)]
enum Out {
    Json(Vec<u8>),
    Null,
    Error(String),
}

/// JSON equality with object members compared as sets (Jackson's `ObjectNode.equals`) and
/// numbers compared by their text.
fn json_eq(a: &Node, b: &Node) -> bool {
    match (a, b) {
        (Node::Object(x), Node::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.iter().any(|(k2, v2)| k == k2 && json_eq(v, v2)))
        }
        (Node::Array(x), Node::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q)),
        // Java 17's Double/Float.toString sometimes prints more digits than the shortest
        // round-trip form (JDK-4511638, fixed in JDK 19): equal values, different text.
        // Compared as f64 and as f32, as the texts may be either type's digits.
        (Node::Number(x), Node::Number(y)) => {
            x == y
                || x.parse::<f64>().ok() == y.parse::<f64>().ok()
                || x.parse::<f32>().ok() == y.parse::<f32>().ok()
        }
        _ => a == b,
    }
}

#[test]
fn json_converter_output_matches_kafka_and_each_side_reads_the_other() {
    let Some(java) = java() else { return };
    let kafka_lines = run_java(java, &["write"]);
    let mut kafka: BTreeMap<(String, String), Out> = BTreeMap::new();
    for line in kafka_lines.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let out = match f[2] {
            "OK" => Out::Json(base64_decode(f[3]).expect("base64 from Java")),
            "NULL" => Out::Null,
            _ => Out::Error(f.get(3).unwrap_or(&"").to_string()),
        };
        kafka.insert((f[0].to_owned(), f[1].to_owned()), out);
    }

    let mut compared = 0;
    let mut identical = 0;
    let mut failures: Vec<String> = Vec::new();
    let mut different_text: Vec<String> = Vec::new();
    let mut for_java = String::new();
    for (name, schema, value) in cases() {
        for config in CONFIGS {
            let conv = converter(config);
            let ours = match conv.serialize(schema.as_ref(), &value) {
                Ok(Some(b)) => Out::Json(b.to_vec()),
                Ok(None) => Out::Null,
                Err(e) => Out::Error(e.to_string()),
            };
            let theirs = kafka
                .get(&(name.to_owned(), config.to_owned()))
                .unwrap_or_else(|| panic!("Java produced no line for {name}/{config}"));
            compared += 1;
            match (&ours, theirs) {
                (Out::Json(a), Out::Json(b)) => {
                    let (na, nb) = (Node::parse(a).unwrap(), Node::parse(b).unwrap());
                    if a == b {
                        identical += 1;
                    } else if json_eq(&na, &nb) {
                        different_text.push(format!(
                            "{name}/{config}: equal JSON, different bytes\n  kaflow: {}\n  kafka:  {}",
                            String::from_utf8_lossy(a),
                            String::from_utf8_lossy(b)
                        ));
                    } else {
                        failures.push(format!(
                            "{name}/{config}: JSON differs\n  kaflow: {}\n  kafka:  {}",
                            String::from_utf8_lossy(a),
                            String::from_utf8_lossy(b)
                        ));
                    }
                    // kaflow reads Kafka's bytes to what it reads from its own bytes, and (with
                    // schemas) to the value it started from, defaults filled in.
                    let from_kafka = conv.deserialize(Some(b));
                    let from_self = conv.deserialize(Some(a));
                    match (from_kafka, from_self) {
                        (Ok(k), Ok(own)) => {
                            // Schemaless reading gives doubles from the text, so where the JVM
                            // printed a float with extra digits the doubles differ too.
                            let float_text = a != b && json_eq(&na, &nb);
                            if k != own && !(float_text && config == "noschemas") {
                                failures.push(format!(
                                    "{name}/{config}: kaflow reads Kafka's JSON as {k:?}, its own as {own:?}"
                                ));
                            }
                            let expected = expected_after_read(schema.as_ref(), &value, config);
                            if config != "noschemas"
                                && schema.is_some()
                                && (k.schema != schema || k.value != expected)
                            {
                                failures.push(format!(
                                    "{name}/{config}: kaflow read Kafka's JSON as {:?} / {:?}",
                                    k.schema, k.value
                                ));
                            }
                        }
                        (k, own) => {
                            failures.push(format!("{name}/{config}: reading failed: {k:?} / {own:?}"))
                        }
                    }
                    for_java.push_str(&format!("{name}\t{config}\t{}\n", base64_encode(a)));
                }
                (Out::Null, Out::Null) => {
                    identical += 1;
                    for_java.push_str(&format!("{name}\t{config}\tNULL\n"));
                }
                (Out::Error(_), Out::Error(_)) => identical += 1,
                (a, b) => failures.push(format!("{name}/{config}: kaflow {a:?}, kafka {b:?}")),
            }
        }
    }

    // Kafka reads kaflow's bytes back.
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("json-parity-kaflow.tsv");
    std::fs::write(&file, &for_java).unwrap();
    let verdicts = run_java(java, &["read", file.to_str().unwrap()]);
    let mut read_back = 0;
    for line in verdicts.lines() {
        read_back += 1;
        let f: Vec<&str> = line.split('\t').collect();
        // Same exception as above: schemaless floats whose text differs read as other doubles.
        let float_text = different_text
            .iter()
            .any(|d| d.starts_with(&format!("{}/{}:", f[0], f[1])));
        if f.get(2) != Some(&"OK") && !(float_text && f[1] == "noschemas") {
            failures.push(format!("Kafka reading kaflow's JSON: {line}"));
        }
    }
    assert_eq!(read_back, for_java.lines().count(), "Java answered every line");
    eprintln!(
        "converter_json_parity: {compared} (case, config) pairs, {identical} byte-identical, {read_back} read back by Kafka"
    );
    for d in &different_text {
        eprintln!("{d}");
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Byte identity: everything except float text where the JVM prints non-shortest digits.
    for d in &different_text {
        assert!(
            d.starts_with("float64s/") || d.starts_with("float32s/"),
            "only the float cases may differ in text: {d}"
        );
    }
    assert!(
        identical >= compared - 8,
        "{identical} of {compared} byte-identical"
    );
}

/// Texts for SimpleHeaderConverter's rules (`Values.parseString` / `convertToString`).
const HEADER_TEXTS: &[&str] = &[
    "42",
    "1000",
    "-100000",
    "10000000000",
    "1.5",
    "0.1",
    "1e39",
    "1.5e39",
    "123456789012345678901234567890",
    "true",
    "false",
    "null",
    "true}",
    "hello world",
    "",
    " ",
    "[1, 1000]",
    "[1,2,3]",
    "[\"a\",\"b\"]",
    "[1, null]",
    "[]",
    "{}",
    "{\"a\":1,\"b\":2.5}",
    "{\"a\":null}",
    "{1:\"x\"}",
    "[1,",
    "{\"a\":",
    "2024-01-31",
    "12:30:00.000Z",
    "2024-01-31T12:30:00.001Z",
    "\"quoted\"",
    "a,b",
    "[true, false]",
    "[[1],[2,3]]",
    "{\"k\":[1,2]}",
    "-",
    "+5",
    "1.0",
    "[1.5, 2]",
    "x:y",
    "[\"2024-01-31\"]",
    "[a b]",
    "{\"a\":\"x, y\"}",
    "caf\u{e9} \u{2603}",
];

fn describe(s: Option<&Schema>) -> String {
    let Some(s) = s else { return "null".to_owned() };
    let mut d = s.type_().to_string();
    if let Some(n) = s.name() {
        d.push(':');
        d.push_str(n);
    }
    if s.is_optional() {
        d.push('?');
    }
    match s.type_() {
        kaflow_runtime::data::Type::Array => d.push_str(&format!("<{}>", describe(s.value_schema()))),
        kaflow_runtime::data::Type::Map => d.push_str(&format!(
            "<{},{}>",
            describe(s.key_schema()),
            describe(s.value_schema())
        )),
        _ => {}
    }
    d
}

#[test]
fn simple_header_converter_text_rules_match_kafka_values() {
    use kaflow_runtime::data::values::{convert_to_string, parse_string};
    let Some(java) = java() else { return };
    let input: String = HEADER_TEXTS
        .iter()
        .map(|t| format!("{}\n", base64_encode(t.as_bytes())))
        .collect();
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("json-parity-values.txt");
    std::fs::write(&file, input).unwrap();
    let lines = run_java(java, &["values", file.to_str().unwrap()]);
    let mut failures = Vec::new();
    let mut checked = 0;
    for (line, text) in lines.lines().zip(HEADER_TEXTS) {
        let f: Vec<&str> = line.split('\t').collect();
        let ours = parse_string(text);
        if f[1] == "ERROR" {
            if ours.is_ok() {
                failures.push(format!(
                    "{text:?}: Kafka fails ({}), kaflow parses {ours:?}",
                    f[2]
                ));
            }
            continue;
        }
        let want_schema = String::from_utf8(base64_decode(f[1]).unwrap()).unwrap();
        let want_text = String::from_utf8(base64_decode(f[2]).unwrap()).unwrap();
        let ours = ours.unwrap_or_else(|e| panic!("{text:?}: kaflow fails: {e}"));
        let got_schema = describe(ours.schema.as_ref());
        let got_text = if ours.value.is_null() {
            "NULL".to_owned()
        } else {
            convert_to_string(ours.schema.as_ref(), &ours.value)
        };
        checked += 1;
        if got_schema != want_schema || got_text != want_text {
            failures.push(format!(
                "{text:?}: kafka {want_schema} {want_text:?}, kaflow {got_schema} {got_text:?}"
            ));
        }
    }
    assert_eq!(
        lines.lines().count(),
        HEADER_TEXTS.len(),
        "Java answered every text"
    );
    assert!(checked > 30, "most texts parse");
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The value reading gives back: a null with a default reads as the default unless
/// `replace.null.with.default=false`; nested struct defaults likewise.
fn expected_after_read(schema: Option<&Schema>, value: &Value, config: &str) -> Value {
    let replace = config != "nodefault";
    fn fill(schema: Option<&Schema>, v: &Value, replace: bool) -> Value {
        match (schema, v) {
            (Some(s), Value::Null) if replace => s.default_value().cloned().unwrap_or(Value::Null),
            // Kafka reads floats through BigDecimal, which has no negative zero.
            (_, Value::Float32(f)) if *f == 0.0 => Value::Float32(0.0),
            (_, Value::Float64(f)) if *f == 0.0 => Value::Float64(0.0),
            (Some(s), Value::Struct(st)) => {
                let mut out = Struct::new(s.clone()).unwrap();
                for f in s.fields() {
                    let fv = fill(
                        Some(f.schema()),
                        st.get_without_default(f.name()).unwrap(),
                        replace,
                    );
                    out.put(f.name(), fv).unwrap();
                }
                Value::Struct(out)
            }
            (Some(s), Value::Array(items)) => {
                Value::Array(items.iter().map(|i| fill(s.value_schema(), i, replace)).collect())
            }
            _ => v.clone(),
        }
    }
    fill(schema, value, replace)
}
