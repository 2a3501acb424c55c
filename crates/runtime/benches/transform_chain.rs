//! A three-transform chain over schemaless JSON-like source records, in records per second per
//! core: InsertField$Value (a static field), ReplaceField$Value (a rename) and RegexRouter (a
//! topic rewrite), the shape of a typical connector's `transforms=` line.
//! Run: `cargo bench -p kaflow-runtime --bench transform_chain`.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kaflow_runtime::convert::JsonConverter;
use kaflow_runtime::data::{SourceMap, SourceRecord};
use kaflow_runtime::transforms::{TransformChain, TransformRegistry};

const VALUE: &str = r#"{"id":"9e3779b97f4a7c15","user":"user-4711","amount":123.45,"ok":true,"n":42}"#;

fn chain() -> TransformChain<SourceRecord> {
    let props: BTreeMap<String, String> = [
        ("transforms", "insert,rename,route"),
        (
            "transforms.insert.type",
            "org.apache.kafka.connect.transforms.InsertField$Value",
        ),
        ("transforms.insert.static.field", "source"),
        ("transforms.insert.static.value", "bench"),
        (
            "transforms.rename.type",
            "org.apache.kafka.connect.transforms.ReplaceField$Value",
        ),
        ("transforms.rename.renames", "user:username"),
        (
            "transforms.route.type",
            "org.apache.kafka.connect.transforms.RegexRouter",
        ),
        ("transforms.route.regex", "(.*)-in"),
        ("transforms.route.replacement", "$1-out"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    TransformChain::from_config(&props, &TransformRegistry::builtin()).expect("chain")
}

fn bench(c: &mut Criterion) {
    let mut conv = JsonConverter::new();
    let props = BTreeMap::from([
        ("converter.type".to_string(), "value".to_string()),
        ("schemas.enable".to_string(), "false".to_string()),
    ]);
    conv.configure_props(&props).expect("configure");
    let value = conv.deserialize(Some(VALUE.as_bytes())).expect("parse").value;
    let record = SourceRecord::new(SourceMap::new(), SourceMap::new(), "orders-in", None, value);
    let mut chain = chain();
    let out = chain.apply(record.clone()).expect("apply").expect("kept");
    assert_eq!(out.record.topic, "orders-out");

    let mut g = c.benchmark_group("transform_chain");
    g.throughput(Throughput::Elements(1));
    g.bench_function("insert_rename_route", |b| {
        b.iter(|| chain.apply(black_box(record.clone())).expect("apply"))
    });
    // What the clone of the input costs on its own, to subtract from the chain's time.
    g.bench_function("clone_only", |b| b.iter(|| black_box(record.clone())));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
