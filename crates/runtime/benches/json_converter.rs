//! JsonConverter throughput in records per second per core: bytes → Connect data
//! (`toConnectData`) and back (`fromConnectData`), for a ~100-byte schemaless JSON object and the
//! same object in the `{"schema":…,"payload":…}` envelope (`schemas.enable=true`).
//! Run: `cargo bench -p kaflow-runtime --bench json_converter`.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kaflow_runtime::convert::JsonConverter;

const PLAIN: &str = r#"{"id":"9e3779b97f4a7c15","user":"user-4711","amount":123.45,"ok":true,"n":42}"#;
const ENVELOPE: &str = r#"{"schema":{"type":"struct","optional":false,"fields":[{"field":"id","type":"string","optional":false},{"field":"user","type":"string","optional":false},{"field":"amount","type":"double","optional":false},{"field":"ok","type":"boolean","optional":false},{"field":"n","type":"int32","optional":false}]},"payload":{"id":"9e3779b97f4a7c15","user":"user-4711","amount":123.45,"ok":true,"n":42}}"#;

fn converter(schemas: bool) -> JsonConverter {
    let mut c = JsonConverter::new();
    let props = BTreeMap::from([
        ("converter.type".to_string(), "value".to_string()),
        ("schemas.enable".to_string(), schemas.to_string()),
    ]);
    c.configure_props(&props).expect("configure");
    c
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("json_converter");
    g.throughput(Throughput::Elements(1));
    for (name, schemas, input) in [("schemaless", false, PLAIN), ("envelope", true, ENVELOPE)] {
        let conv = converter(schemas);
        let parsed = conv.deserialize(Some(input.as_bytes())).expect("parse");
        g.bench_with_input(BenchmarkId::new("to_connect", name), input, |b, input| {
            b.iter(|| {
                conv.deserialize(black_box(Some(input.as_bytes())))
                    .expect("parse")
            })
        });
        g.bench_with_input(BenchmarkId::new("from_connect", name), &parsed, |b, sv| {
            b.iter(|| {
                conv.serialize(black_box(sv.schema.as_ref()), black_box(&sv.value))
                    .expect("serialize")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
