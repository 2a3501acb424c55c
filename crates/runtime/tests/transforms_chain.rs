//! A connector's transformation chain configured with Kafka Connect's exact property syntax
//! (the Kafka documentation's `MakeMap,InsertSource` example plus a `Filter` gated by a negated
//! `TopicNameMatches` predicate), applied to a batch of source and sink records.

use std::collections::BTreeMap;

use kaflow_runtime::config::properties_file;
use kaflow_runtime::data::{ConnectRecord, Schema, SinkRecord, SourceRecord, Struct, Value};
use kaflow_runtime::transforms::{TransformChain, TransformRegistry};

/// The connector file, as an operator writes it for connect-standalone.
const CONNECTOR: &str = r#"
name=local-file-source
connector.class=FileStreamSource
tasks.max=1
file=test.txt
topic=connect-test

transforms=MakeMap, InsertSource, KeepFoo
transforms.MakeMap.type=org.apache.kafka.connect.transforms.HoistField$Value
transforms.MakeMap.field=line
transforms.InsertSource.type=org.apache.kafka.connect.transforms.InsertField$Value
transforms.InsertSource.static.field=data_source
transforms.InsertSource.static.value=test-file-source
transforms.KeepFoo.type=org.apache.kafka.connect.transforms.Filter
transforms.KeepFoo.predicate=IsFoo
transforms.KeepFoo.negate=true

predicates=IsFoo
predicates.IsFoo.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches
predicates.IsFoo.pattern=foo
"#;

fn config() -> BTreeMap<String, String> {
    properties_file::parse(CONNECTOR).into_iter().collect()
}

fn line(topic: &str, text: &str) -> SourceRecord {
    SourceRecord::new(
        BTreeMap::new(),
        BTreeMap::new(),
        topic,
        Some(Schema::STRING()),
        Value::from(text),
    )
}

fn expected_schema() -> Schema {
    kaflow_runtime::data::SchemaBuilder::struct_()
        .field("line", Schema::STRING())
        .unwrap()
        .field("data_source", Schema::OPTIONAL_STRING())
        .unwrap()
        .build()
}

/// The documentation's before/after: a STRING line becomes
/// `{"line": "...", "data_source": "test-file-source"}` with a two-field struct schema;
/// records on topics other than `foo` are dropped by the negated-predicate Filter.
#[test]
fn documented_chain_transforms_and_filters_a_batch() {
    let mut chain = TransformChain::from_config(&config(), &TransformRegistry::builtin()).unwrap();
    assert_eq!(chain.aliases(), ["MakeMap", "InsertSource", "KeepFoo"]);

    let batch = vec![
        line("foo", "foo"),
        line("bar", "bar"),
        line("foo", "hello world"),
        line("foo-bar", "prefix only"),
        line("foo", ""),
    ];
    let out = chain.apply_all(batch).unwrap();

    let schema = expected_schema();
    let expected: Vec<SourceRecord> = ["foo", "hello world", ""]
        .iter()
        .map(|text| {
            let value = Struct::new(schema.clone())
                .unwrap()
                .with("line", *text)
                .unwrap()
                .with("data_source", "test-file-source")
                .unwrap();
            SourceRecord::new(
                BTreeMap::new(),
                BTreeMap::new(),
                "foo",
                Some(schema.clone()),
                Value::Struct(value),
            )
        })
        .collect();
    assert_eq!(out, expected);
    chain.close();
}

/// The same config drives sink records (the chain is generic over the record type): here
/// schemaless lines become maps, and the SinkRecord's offset survives untouched.
#[test]
fn same_chain_on_schemaless_sink_records() {
    let mut chain =
        TransformChain::<SinkRecord>::from_config(&config(), &TransformRegistry::builtin()).unwrap();
    let rec = |topic: &str, offset: i64, text: &str| SinkRecord {
        record: ConnectRecord {
            topic: topic.into(),
            kafka_partition: Some(0),
            value: Value::from(text),
            ..ConnectRecord::default()
        },
        kafka_offset: offset,
        ..SinkRecord::default()
    };
    let out = chain
        .apply_all(vec![rec("foo", 0, "a"), rec("baz", 1, "b"), rec("foo", 2, "c")])
        .unwrap();
    let values: Vec<(i64, Value)> = out
        .iter()
        .map(|r| (r.kafka_offset, r.record.value.clone()))
        .collect();
    let map = |text: &str| {
        Value::Map(vec![
            (Value::from("line"), Value::from(text)),
            (Value::from("data_source"), Value::from("test-file-source")),
        ])
    };
    assert_eq!(values, [(0, map("a")), (2, map("c"))]);
    assert!(out.iter().all(|r| r.record.value_schema.is_none()));
}

/// Short names and a second predicate: tombstones are dropped before any other stage sees
/// them, and the RegexRouter renames only what survives.
#[test]
fn short_names_tombstone_filter_and_router() {
    let props: BTreeMap<String, String> = properties_file::parse(
        r#"
transforms=dropTombstones,route
transforms.dropTombstones.type=Filter
transforms.dropTombstones.predicate=isTombstone
transforms.route.type=RegexRouter
transforms.route.regex=(.*)-raw
transforms.route.replacement=$1-clean
predicates=isTombstone
predicates.isTombstone.type=RecordIsTombstone
"#,
    )
    .into_iter()
    .collect();
    let mut chain =
        TransformChain::<SourceRecord>::from_config(&props, &TransformRegistry::builtin()).unwrap();
    let mut tomb = line("orders-raw", "x");
    tomb.record.value = Value::Null;
    let out = chain
        .apply_all(vec![line("orders-raw", "1"), tomb, line("other", "2")])
        .unwrap();
    let topics: Vec<&str> = out.iter().map(|r| r.record.topic.as_str()).collect();
    assert_eq!(topics, ["orders-clean", "other"]);
}
