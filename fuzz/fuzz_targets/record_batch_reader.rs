//! Arbitrary bytes as a Fetch response's `records` field: the reader must never panic,
//! whatever it is fed, and must stay within its decompression limit. CRC checking is off
//! for half the inputs (chosen by the first byte) so the fuzzer gets past the CRC into the
//! record decoder without having to forge checksums.
#![no_main]

use bytes::Bytes;
use kaflow_client::records::{read_batches, ReadLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let limits = ReadLimits::default()
        .check_crcs(mode & 1 == 0)
        .max_decompressed_batch_bytes(1 << 20);
    let mut iter = read_batches(Bytes::copy_from_slice(rest), limits);
    for batch in iter.by_ref() {
        let Ok(batch) = batch else { break };
        // Header accessors must not panic either.
        let _ = (
            batch.last_offset(),
            batch.next_offset(),
            batch.last_sequence(),
            batch.producer_state(),
        );
        for record in batch.records() {
            match record {
                Ok(r) => {
                    let _ = (r.offset, r.timestamp, r.key, r.value, r.headers.len());
                }
                Err(_) => break,
            }
        }
    }
    assert!(iter.truncated_tail_bytes() <= rest.len());
});
