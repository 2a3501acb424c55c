//! Arbitrary bytes through every codec's decompressor with a small output limit: no panic,
//! and never more than the limit returned.
#![no_main]

use kaflow_client::compression::{decompress, Compression};
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    for codec in Compression::ALL {
        if let Ok(out) = decompress(codec, data, LIMIT) {
            assert!(out.len() <= LIMIT);
        }
    }
});
