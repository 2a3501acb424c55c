//! The response shapes (protocol::bounds, generated from Kafka's specs) agree with
//! kafka-protocol's codecs byte for byte, for every response and version kaflow can negotiate —
//! so the bounds check walks exactly the positions kafka-protocol will read (invariant I11).
//!
//! Two directions:
//! - kafka-protocol encodes a default response; the walk accepts it and uses every byte;
//! - random bytes generated *from the shape* (arrays of 0–3 elements, strings, nulls, known and
//!   unknown tagged fields) decode with kafka-protocol and use every byte.
//!
//! Plus the hostile direction: a count that claims more elements than bytes is refused with an
//! error that names the field.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable};
use kaflow_client::protocol::bounds::{self, Field, Shape, Ty};
use kaflow_client::protocol::response_shape;
use kaflow_client::versions::codec_versions;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Runs `$body` with `$resp` bound to the response type of each API kaflow decodes.
macro_rules! for_each_response {
    ($f:ident) => {
        $f::<ProduceResponse>(ApiKey::Produce);
        $f::<FetchResponse>(ApiKey::Fetch);
        $f::<ListOffsetsResponse>(ApiKey::ListOffsets);
        $f::<MetadataResponse>(ApiKey::Metadata);
        $f::<OffsetCommitResponse>(ApiKey::OffsetCommit);
        $f::<OffsetFetchResponse>(ApiKey::OffsetFetch);
        $f::<FindCoordinatorResponse>(ApiKey::FindCoordinator);
        $f::<JoinGroupResponse>(ApiKey::JoinGroup);
        $f::<HeartbeatResponse>(ApiKey::Heartbeat);
        $f::<LeaveGroupResponse>(ApiKey::LeaveGroup);
        $f::<SyncGroupResponse>(ApiKey::SyncGroup);
        $f::<DescribeGroupsResponse>(ApiKey::DescribeGroups);
        $f::<ApiVersionsResponse>(ApiKey::ApiVersions);
        $f::<CreateTopicsResponse>(ApiKey::CreateTopics);
        $f::<DeleteTopicsResponse>(ApiKey::DeleteTopics);
        $f::<InitProducerIdResponse>(ApiKey::InitProducerId);
        $f::<AddPartitionsToTxnResponse>(ApiKey::AddPartitionsToTxn);
        $f::<AddOffsetsToTxnResponse>(ApiKey::AddOffsetsToTxn);
        $f::<EndTxnResponse>(ApiKey::EndTxn);
        $f::<TxnOffsetCommitResponse>(ApiKey::TxnOffsetCommit);
        $f::<DescribeConfigsResponse>(ApiKey::DescribeConfigs);
        $f::<IncrementalAlterConfigsResponse>(ApiKey::IncrementalAlterConfigs);
        $f::<DescribeClusterResponse>(ApiKey::DescribeCluster);
        $f::<CreatePartitionsResponse>(ApiKey::CreatePartitions);
        $f::<DeleteRecordsResponse>(ApiKey::DeleteRecords);
    };
}

fn shape(key: ApiKey) -> &'static Shape {
    response_shape(key).unwrap_or_else(|| panic!("no shape for {key:?}"))
}

fn versions(key: ApiKey) -> std::ops::RangeInclusive<i16> {
    let r = codec_versions(key);
    r.min..=r.max
}

#[test]
fn default_responses_encoded_by_kafka_protocol_walk_exactly() {
    fn one<R: Encodable + Default>(key: ApiKey) {
        for v in versions(key) {
            let mut buf = BytesMut::new();
            R::default()
                .encode(&mut buf, v)
                .unwrap_or_else(|e| panic!("{key:?} v{v} encode: {e}"));
            let used = bounds::consumed(shape(key), v, &buf).unwrap_or_else(|e| panic!("{key:?} v{v}: {e}"));
            assert_eq!(
                used,
                buf.len(),
                "{key:?} v{v}: the walk used {used} of {} bytes",
                buf.len()
            );
        }
    }
    for_each_response!(one);
}

#[test]
fn random_bytes_generated_from_shapes_decode_exactly_with_kafka_protocol() {
    fn one<R: Decodable>(key: ApiKey) {
        let mut rng = StdRng::seed_from_u64(0x5eed ^ key as u64);
        for v in versions(key) {
            for round in 0..40 {
                let s = shape(key);
                let mut out = BytesMut::new();
                gen_fields(&mut rng, &mut out, s.fields, v, s.flexible.has(v), 0);
                let body = out.freeze();
                let used =
                    bounds::consumed(s, v, &body).unwrap_or_else(|e| panic!("{key:?} v{v} #{round}: {e}"));
                assert_eq!(used, body.len(), "{key:?} v{v} #{round}: walk");
                let mut b = body.clone();
                R::decode(&mut b, v).unwrap_or_else(|e| panic!("{key:?} v{v} #{round}: kafka-protocol: {e}"));
                assert!(
                    b.is_empty(),
                    "{key:?} v{v} #{round}: kafka-protocol left {} of {} bytes",
                    b.len(),
                    body.len()
                );
            }
        }
    }
    for_each_response!(one);
}

fn uvarint(out: &mut BytesMut, mut n: u32) {
    while n >= 0x80 {
        out.put_u8((n as u8) | 0x80);
        n >>= 7;
    }
    out.put_u8(n as u8);
}

fn gen_fields(
    rng: &mut StdRng,
    out: &mut BytesMut,
    fields: &'static [Field],
    v: i16,
    flexible: bool,
    depth: u32,
) {
    for f in fields {
        if f.versions.has(v) && !f.tagged.has(v) {
            gen_value(rng, out, f, &f.ty, v, depth);
        }
    }
    if flexible {
        // Known tagged fields (each with probability 1/2) and sometimes an unknown one, in tag order.
        let mut tagged: Vec<(u32, Bytes)> = Vec::new();
        for f in fields.iter().filter(|f| f.versions.has(v) && f.tagged.has(v)) {
            if rng.random_bool(0.5) {
                let mut content = BytesMut::new();
                gen_value(rng, &mut content, f, &f.ty, v, depth);
                tagged.push((f.tag, content.freeze()));
            }
        }
        if rng.random_bool(0.3) {
            tagged.push((
                1000 + rng.random_range(0..5),
                Bytes::from(vec![7u8; rng.random_range(0..6)]),
            ));
        }
        tagged.sort_by_key(|t| t.0);
        uvarint(out, tagged.len() as u32);
        for (tag, content) in tagged {
            uvarint(out, tag);
            uvarint(out, content.len() as u32);
            out.put_slice(&content);
        }
    }
}

fn gen_len(
    rng: &mut StdRng,
    out: &mut BytesMut,
    compact: bool,
    nullable: bool,
    width: usize,
    max: usize,
) -> Option<usize> {
    if nullable && rng.random_bool(0.2) {
        if compact {
            uvarint(out, 0);
        } else if width == 2 {
            out.put_i16(-1);
        } else {
            out.put_i32(-1);
        }
        return None;
    }
    let n = rng.random_range(0..=max);
    if compact {
        uvarint(out, n as u32 + 1);
    } else if width == 2 {
        out.put_i16(n as i16);
    } else {
        out.put_i32(n as i32);
    }
    Some(n)
}

fn gen_value(rng: &mut StdRng, out: &mut BytesMut, f: &'static Field, ty: &'static Ty, v: i16, depth: u32) {
    let compact = f.flexible.has(v);
    let nullable = f.nullable.has(v);
    match ty {
        Ty::Bool => out.put_u8(rng.random_range(0..2)),
        Ty::Int8 => out.put_i8(rng.random()),
        Ty::Int16 | Ty::Uint16 => out.put_i16(rng.random()),
        Ty::Int32 | Ty::Uint32 => out.put_i32(rng.random()),
        Ty::Int64 => out.put_i64(rng.random()),
        Ty::Float64 => out.put_f64(rng.random()),
        Ty::Uuid => out.put_u128(rng.random()),
        Ty::String => {
            if let Some(n) = gen_len(rng, out, compact, nullable, 2, 6) {
                (0..n).for_each(|_| out.put_u8(rng.random_range(b'a'..=b'z')));
            }
        }
        Ty::Bytes | Ty::Records => {
            if let Some(n) = gen_len(rng, out, compact, nullable, 4, 6) {
                (0..n).for_each(|_| out.put_u8(rng.random()));
            }
        }
        Ty::Struct(fields) => gen_fields(rng, out, fields, v, compact, depth + 1),
        Ty::Array(elem) => {
            let max = if depth > 3 { 0 } else { 3 };
            if let Some(n) = gen_len(rng, out, compact, nullable, 4, max) {
                (0..n).for_each(|_| gen_value(rng, out, f, elem, v, depth + 1));
            }
        }
    }
}

#[test]
fn i11_array_count_beyond_the_bytes_is_refused_naming_the_field() {
    // ProduceResponse v13: responses = compact array claiming 2^31 elements, then nothing.
    let mut body = BytesMut::new();
    uvarint(&mut body, 1 << 31);
    let err = bounds::check(shape(ApiKey::Produce), 13, &body).unwrap_err();
    assert_eq!(err.path, "Responses");
    assert!(
        err.detail.contains("claims 2147483647 elements, 0 bytes left"),
        "{err}"
    );

    // A nested count: one topic, then a partition array claiming 1000 elements in 3 bytes.
    let mut body = BytesMut::new();
    uvarint(&mut body, 2); // one topic
    body.put_u128(7); // topic id (v13)
    uvarint(&mut body, 1001);
    body.put_slice(&[0, 0, 0]);
    let err = bounds::check(shape(ApiKey::Produce), 13, &body).unwrap_err();
    assert_eq!(err.path, "Responses[0].PartitionResponses", "{err}");
}

#[test]
fn i11_a_tagged_field_whose_size_lies_is_refused() {
    // ApiVersionsResponse v3: error 0, no api keys, throttle 0, then one tagged field:
    // FinalizedFeatures (tag 2) declaring 0 bytes but followed by an array claiming 2^20 entries.
    // kafka-protocol reads known tagged fields from the stream whatever size they declare.
    let mut body = BytesMut::new();
    body.put_i16(0);
    uvarint(&mut body, 1);
    body.put_i32(0);
    uvarint(&mut body, 1);
    uvarint(&mut body, 2);
    uvarint(&mut body, 0);
    uvarint(&mut body, 1 << 20);
    let err = bounds::check(shape(ApiKey::ApiVersions), 3, &body).unwrap_err();
    assert!(
        err.detail.contains("needs") || err.detail.contains("claims"),
        "{err}"
    );
    // And a known tagged field with bytes to spare is refused too (the decoder would go out of
    // step): ZkMigrationReady (tag 3, a bool) declared as 2 bytes.
    let mut body = BytesMut::new();
    body.put_i16(0);
    uvarint(&mut body, 1);
    body.put_i32(0);
    uvarint(&mut body, 1);
    uvarint(&mut body, 3);
    uvarint(&mut body, 2);
    body.put_slice(&[1, 0]);
    let err = bounds::check(shape(ApiKey::ApiVersions), 3, &body).unwrap_err();
    assert!(err.detail.contains("declares 2 bytes, 1 unused"), "{err}");
}

#[test]
fn i11_the_recorded_oom_frames_are_errors_not_aborts() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/regressions/response_frame"
    );
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("regressions dir") {
        let data = std::fs::read(entry.expect("entry").path()).expect("regression input");
        // Selected exactly as fuzz/fuzz_targets/response_frame.rs selects.
        let [api, version, rest @ ..] = data.as_slice() else {
            panic!("short input")
        };
        let apis = kaflow_client::net::connection::DECODED_APIS;
        let key = apis[*api as usize % apis.len()];
        let range = codec_versions(key);
        let version = range.min + i16::from(*version % (range.max - range.min + 1) as u8);
        let frame = Bytes::copy_from_slice(rest);
        let r = kaflow_client::net::connection::decode_response_frame(key, version, frame);
        assert!(r.is_err(), "{key:?} v{version}: a hostile frame must be refused");
        seen += 1;
    }
    assert!(seen >= 2, "the regression inputs are missing");
}

#[test]
fn shapes_are_what_the_kafka_specs_give() {
    // tools/wire-shapes/gen.py --check regenerates shapes.rs from the kafka-clients jar the
    // harness fetched; a hand edit or a Kafka upgrade without regenerating fails here.
    let root = kaflow_test_support::repo_root();
    let has_jar = std::fs::read_dir(root.join("target/kafka/libs"))
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("kafka-clients-"))
        })
        .unwrap_or(false);
    if !has_jar {
        assert!(
            !kaflow_test_support::in_ci(),
            "CI must have fetched the Kafka jars (scripts/kafka.sh fetch)"
        );
        eprintln!("skipped: no kafka-clients jar in target/kafka/libs (run scripts/kafka.sh fetch)");
        return;
    }
    let out = std::process::Command::new("python3")
        .arg(root.join("tools/wire-shapes/gen.py"))
        .arg("--check")
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
