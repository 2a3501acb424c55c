//! CRC32C (Castagnoli) throughput over the sizes a record batch has: one 100-byte record, a
//! 16 KiB batch (the Java producer's default `batch.size`) and a 1 MiB batch. Every produced
//! batch is checksummed once when frozen and every fetched batch once when read (unless
//! `check.crcs=false`), over the bytes after the CRC field. Compare with the machine's limits
//! in ../shared/reference/performance-anchors.md (SSE4.2: ~10 GB/s one stream, ~28 GB/s 3-way).
//! Run: `cargo bench -p kaflow-client --bench crc32c`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("crc32c");
    for size in [100usize, 16 * 1024, 1024 * 1024] {
        // Not all zeros, so no implementation can shortcut; the content doesn't change the cost.
        let data: Vec<u8> = (0..size).map(|i| (i * 131 + 7) as u8).collect();
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), &data, |b, data| {
            b.iter(|| crc32c::crc32c(black_box(data)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
