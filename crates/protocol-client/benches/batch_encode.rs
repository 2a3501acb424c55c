//! Record batch encode and decode throughput per codec, in records per second.
//!
//! Encode: 100-byte records appended to a `BatchBuilder` until a 16 KiB batch (the Java
//! producer's default `batch.size`) is full, then frozen (compress once + CRC once).
//! Decode: `read_batches` + iterate every record of such a batch (decompress once, CRC).
//!
//! Payloads are JSON-ish (realistic compression ratios) with a random suffix, so the codecs
//! neither see pure noise nor pure repetition. Run: `cargo bench -p kaflow-client --bench batch_encode`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kaflow_client::compression::{Compression, CompressionLevel};
use kaflow_client::records::{read_batches, BatchBuilder, ProducerState, ReadLimits};

const BATCH_SIZE: usize = 16 * 1024;
const RECORD_SIZE: usize = 100;

/// 1000 distinct 100-byte values: a JSON object with a few varying fields and 16 random hex
/// characters (an id), plus 10-byte keys.
fn payloads() -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    (0..1000)
        .map(|i| {
            let id = next();
            let mut v = format!(
                "{{\"id\":\"{id:016x}\",\"user\":\"user-{}\",\"amount\":{}.{:02},\"ok\":{}}}",
                next() % 5000,
                next() % 1000,
                next() % 100,
                i % 3 == 0
            )
            .into_bytes();
            v.resize(RECORD_SIZE, b' ');
            (format!("key-{:06}", next() % 1_000_000).into_bytes(), v)
        })
        .collect()
}

const PRODUCER: ProducerState = ProducerState {
    producer_id: 4711,
    producer_epoch: 0,
    base_sequence: 0,
    transactional: false,
};

fn encode_one(codec: Compression, data: &[(Vec<u8>, Vec<u8>)], start: usize) -> (Bytes, usize) {
    let mut b = BatchBuilder::new(codec, CompressionLevel::DEFAULT, BATCH_SIZE);
    let mut i = start;
    loop {
        let (k, v) = &data[i % data.len()];
        if !b.try_append(1_700_000_000_000 + i as i64, Some(k), Some(v), &[]) {
            break;
        }
        i += 1;
    }
    let n = b.record_count() as usize;
    (b.freeze(PRODUCER).expect("freeze").into_bytes(), n)
}

fn bench(c: &mut Criterion) {
    let data = payloads();
    let mut enc = c.benchmark_group("batch_encode_16k");
    for codec in Compression::ALL {
        let (_, per_batch) = encode_one(codec, &data, 0);
        enc.throughput(Throughput::Elements(per_batch as u64));
        enc.bench_with_input(BenchmarkId::from_parameter(codec), &codec, |bench, &codec| {
            let mut start = 0;
            bench.iter(|| {
                start = (start + 37) % data.len();
                black_box(encode_one(codec, &data, start))
            });
        });
    }
    enc.finish();

    let mut dec = c.benchmark_group("batch_decode_16k");
    for codec in Compression::ALL {
        let (batch, per_batch) = encode_one(codec, &data, 0);
        dec.throughput(Throughput::Elements(per_batch as u64));
        dec.bench_with_input(BenchmarkId::from_parameter(codec), &batch, |bench, batch| {
            bench.iter(|| {
                let mut n = 0usize;
                for b in read_batches(batch.clone(), ReadLimits::default()) {
                    for r in b.expect("batch").records() {
                        n += r.expect("record").value.map_or(0, |v| v.len());
                    }
                }
                black_box(n)
            });
        });
    }
    dec.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
