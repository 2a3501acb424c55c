//! Arbitrary bytes as a broker's response frame for each API kaflow speaks, at every version
//! (chosen by the first two bytes): decoding must end in a value or an error, never a panic.
#![no_main]

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;
use kaflow_client::net::connection::decode_response_frame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [api, version, rest @ ..] = data else { return };
    // Every API kaflow speaks, plus Fetch (the consumer's, next).
    let apis = kaflow_client::versions::CLIENT_APIS;
    let i = *api as usize % (apis.len() + 1);
    let key = apis.get(i).copied().unwrap_or(ApiKey::Fetch);
    let range = key.valid_versions();
    let span = (range.max - range.min + 1) as u8;
    let version = range.min + i16::from(*version % span);
    let _ = decode_response_frame(key, version, Bytes::copy_from_slice(rest));
});
