//! Arbitrary bytes as a broker's response frame for each API kaflow speaks, at every version
//! (chosen by the first two bytes): decoding must end in a value or an error, never a panic.
#![no_main]

use bytes::Bytes;
use kaflow_client::net::connection::decode_response_frame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [api, version, rest @ ..] = data else { return };
    // Every response kaflow decodes, at every version it can negotiate.
    let apis = kaflow_client::net::connection::DECODED_APIS;
    let key = apis[*api as usize % apis.len()];
    let range = kaflow_client::versions::codec_versions(key);
    let span = (range.max - range.min + 1) as u8;
    let version = range.min + i16::from(*version % span);
    let _ = decode_response_frame(key, version, Bytes::copy_from_slice(rest));
});
