//! Round trips, the kafka-protocol oracle, producer-state rewrites and hostile input.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::writer::{ATTRIBUTES_OFFSET, CRC_OFFSET, LENGTH_OFFSET, RECORD_COUNT_OFFSET};
use super::*;
use crate::compression::{Compression, CompressionError, CompressionLevel};

#[derive(Debug, Clone, PartialEq)]
struct Input {
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<Header>,
}

fn build(codec: Compression, records: &[Input], producer: ProducerState) -> FrozenBatch {
    let mut b = BatchBuilder::new(codec, CompressionLevel::DEFAULT, usize::MAX);
    for r in records {
        assert!(b.try_append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &r.headers));
    }
    b.freeze(producer).unwrap()
}

fn read_one(bytes: Bytes) -> (RecordBatch, Vec<Record>) {
    let mut it = read_batches(bytes, ReadLimits::default());
    let batch = it.next().expect("one batch").expect("valid batch");
    assert!(it.next().is_none(), "exactly one batch");
    assert_eq!(it.truncated_tail_bytes(), 0);
    let records = batch.records().collect::<Result<Vec<_>, _>>().unwrap();
    (batch, records)
}

fn recompute_crc(batch: &mut [u8]) {
    let crc = crc32c::crc32c(&batch[ATTRIBUTES_OFFSET..]);
    batch[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
}

fn sample_records(n: usize) -> Vec<Input> {
    (0..n)
        .map(|i| Input {
            timestamp: 1_700_000_000_000 + i as i64 * 3 - (i as i64 % 5) * 7,
            key: (i % 4 != 0).then(|| format!("key-{i}").into_bytes()),
            value: (i % 9 != 3)
                .then(|| format!("{{\"n\":{i},\"payload\":\"{}\"}}", "x".repeat(i % 50)).into_bytes()),
            headers: match i % 3 {
                0 => vec![],
                1 => vec![Header::new("h", Some("v"))],
                _ => vec![
                    Header::new("dup", Some("1")),
                    Header::new("dup", None::<&[u8]>),
                    Header::new("", Some("")),
                ],
            },
        })
        .collect()
}

fn arb_bytes() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop::option::of(prop::collection::vec(any::<u8>(), 0..64))
}

fn arb_header() -> impl Strategy<Value = Header> {
    // A small key alphabet so duplicate keys are common.
    (prop::sample::select(vec!["a", "b", "trace-id", ""]), arb_bytes()).prop_map(|(k, v)| Header {
        key: Bytes::from_static(k.as_bytes()),
        value: v.map(Bytes::from),
    })
}

fn arb_input() -> impl Strategy<Value = Input> {
    arb_input_in(prop_oneof![any::<i64>(), 1_600_000_000_000i64..1_800_000_000_000].boxed())
}

/// kafka-protocol's codec overflows (debug panic) on timestamps far apart; for the oracle
/// tests keep them realistic.
fn arb_realistic_input() -> impl Strategy<Value = Input> {
    arb_input_in((1_600_000_000_000i64..1_800_000_000_000).boxed())
}

fn arb_input_in(timestamps: BoxedStrategy<i64>) -> impl Strategy<Value = Input> {
    (
        timestamps,
        arb_bytes(),
        arb_bytes(),
        prop::collection::vec(arb_header(), 0..=4),
    )
        .prop_map(|(timestamp, key, value, headers)| Input {
            timestamp,
            key,
            value,
            headers,
        })
}

fn arb_producer() -> impl Strategy<Value = ProducerState> {
    prop_oneof![
        Just(ProducerState::NONE),
        (0i64..i64::MAX, 0i16..i16::MAX, 0i32..i32::MAX, any::<bool>()).prop_map(|(id, epoch, seq, txn)| {
            ProducerState {
                producer_id: id,
                producer_epoch: epoch,
                base_sequence: seq,
                transactional: txn,
            }
        })
    ]
}

fn assert_same(inputs: &[Input], records: &[Record]) {
    assert_eq!(inputs.len(), records.len());
    for (i, (input, rec)) in inputs.iter().zip(records).enumerate() {
        assert_eq!(rec.offset, i as i64);
        assert_eq!(rec.timestamp, input.timestamp);
        assert_eq!(rec.key.as_deref(), input.key.as_deref());
        assert_eq!(rec.value.as_deref(), input.value.as_deref());
        assert_eq!(rec.headers, input.headers);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_every_codec(
        inputs in prop::collection::vec(arb_input(), 1..40),
        producer in arb_producer(),
    ) {
        for codec in Compression::ALL {
            let frozen = build(codec, &inputs, producer);
            prop_assert_eq!(frozen.record_count(), inputs.len() as i32);
            let (batch, records) = read_one(frozen.bytes().clone());
            assert_same(&inputs, &records);
            prop_assert_eq!(batch.compression(), codec);
            prop_assert_eq!(batch.crc(), crc32c::crc32c(&frozen.bytes()[ATTRIBUTES_OFFSET..]));
            prop_assert_eq!(batch.producer_state(), producer);
            prop_assert_eq!(batch.record_count(), inputs.len() as i32);
            prop_assert_eq!(batch.last_offset_delta(), inputs.len() as i32 - 1);
            prop_assert_eq!(batch.base_timestamp(), inputs[0].timestamp);
            prop_assert_eq!(batch.max_timestamp(), inputs.iter().map(|i| i.timestamp).max().unwrap());
            prop_assert_eq!(batch.partition_leader_epoch(), -1);
            prop_assert_eq!(batch.base_offset(), 0);
            prop_assert_eq!(batch.last_sequence(), frozen.last_sequence());
            prop_assert!(!batch.is_control());
            prop_assert_eq!(batch.timestamp_type(), TimestampType::CreateTime);
        }
    }

    #[test]
    fn size_accounting_is_exact(inputs in prop::collection::vec(arb_input(), 1..20)) {
        let mut b = BatchBuilder::new(Compression::None, CompressionLevel::DEFAULT, usize::MAX);
        let base = inputs[0].timestamp;
        for (i, r) in inputs.iter().enumerate() {
            let before = b.uncompressed_size();
            let predicted = encoded_record_size(
                r.timestamp.wrapping_sub(base),
                i as i32,
                r.key.as_ref().map(Vec::len),
                r.value.as_ref().map(Vec::len),
                &r.headers,
            );
            prop_assert!(b.try_append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &r.headers));
            prop_assert_eq!(b.uncompressed_size() - before, predicted);
        }
        let frozen = b.freeze(ProducerState::NONE).unwrap();
        prop_assert_eq!(frozen.size_in_bytes(), frozen.uncompressed_size());
    }

    #[test]
    fn oracle_kafka_protocol_decodes_ours(
        inputs in prop::collection::vec(arb_realistic_input(), 1..30),
        producer in arb_producer(),
    ) {
        let frozen = build(Compression::None, &inputs, producer);
        let mut buf = frozen.bytes().clone();
        let set = kafka_protocol::records::RecordBatchDecoder::decode(&mut buf).unwrap();
        prop_assert_eq!(set.records.len(), inputs.len());
        for (i, (input, rec)) in inputs.iter().zip(&set.records).enumerate() {
            prop_assert_eq!(rec.offset, i as i64);
            prop_assert_eq!(rec.timestamp, input.timestamp);
            prop_assert_eq!(rec.key.as_deref(), input.key.as_deref());
            prop_assert_eq!(rec.value.as_deref(), input.value.as_deref());
            prop_assert_eq!(rec.producer_id, producer.producer_id);
            prop_assert_eq!(rec.producer_epoch, producer.producer_epoch);
            prop_assert_eq!(rec.transactional, producer.transactional);
            // (It derives later records' sequences with plain wrapping_add, not Kafka's
            // wrap-to-0, and without the -1 special case; compare the first only.)
            if i == 0 {
                prop_assert_eq!(rec.sequence, producer.base_sequence);
            }
            // Its IndexMap keeps one value per key (the last); ours keeps every header.
            for (k, v) in &rec.headers {
                let last = input.headers.iter().rev().find(|h| h.key[..] == k.as_bytes()[..]).unwrap();
                prop_assert_eq!(v.as_deref(), last.value.as_deref());
            }
        }
    }

    #[test]
    fn oracle_we_decode_kafka_protocols(inputs in prop::collection::vec(arb_realistic_input(), 1..30)) {
        use kafka_protocol::indexmap::IndexMap;
        use kafka_protocol::protocol::StrBytes;
        use kafka_protocol::records as kp;
        // Unique header keys (IndexMap), UTF-8 keys; offsets from 100.
        let theirs: Vec<kp::Record> = inputs.iter().enumerate().map(|(i, r)| {
            let mut headers = IndexMap::new();
            for h in &r.headers {
                let key = StrBytes::from_string(String::from_utf8(h.key.to_vec()).unwrap());
                headers.insert(key, h.value.clone());
            }
            kp::Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 7,
                producer_id: 42,
                producer_epoch: 3,
                timestamp_type: kp::TimestampType::Creation,
                offset: 100 + i as i64,
                sequence: 10 + i as i32,
                timestamp: r.timestamp,
                key: r.key.clone().map(Bytes::from),
                value: r.value.clone().map(Bytes::from),
                headers,
            }
        }).collect();
        let mut buf = BytesMut::new();
        let opts = kp::RecordEncodeOptions { version: 2, compression: kp::Compression::None };
        kp::RecordBatchEncoder::encode(&mut buf, &theirs, &opts).unwrap();
        let (batch, ours) = read_one(buf.freeze());
        prop_assert_eq!(batch.base_offset(), 100);
        prop_assert_eq!(batch.producer_id(), 42);
        prop_assert_eq!(batch.producer_epoch(), 3);
        prop_assert_eq!(batch.base_sequence(), 10);
        prop_assert_eq!(ours.len(), theirs.len());
        for (o, t) in ours.iter().zip(&theirs) {
            prop_assert_eq!(o.offset, t.offset);
            prop_assert_eq!(o.timestamp, t.timestamp);
            prop_assert_eq!(&o.key, &t.key);
            prop_assert_eq!(&o.value, &t.value);
            let theirs_headers: Vec<Header> = t.headers.iter()
                .map(|(k, v)| Header { key: Bytes::copy_from_slice(k.as_bytes()), value: v.clone() })
                .collect();
            prop_assert_eq!(&o.headers, &theirs_headers);
        }
    }
}

#[test]
fn uncompressed_records_are_slices_of_the_input() {
    let frozen = build(Compression::None, &sample_records(5), ProducerState::NONE);
    let input = frozen.bytes().clone();
    let range = input.as_ptr() as usize..input.as_ptr() as usize + input.len();
    let (_, records) = read_one(input.clone());
    for r in &records {
        for b in r
            .key
            .iter()
            .chain(r.value.iter())
            .chain(r.headers.iter().flat_map(|h| h.value.iter()))
        {
            if !b.is_empty() {
                assert!(range.contains(&(b.as_ptr() as usize)), "zero copy");
            }
        }
    }
}

#[test]
fn batch_size_limit() {
    let mut b = BatchBuilder::new(Compression::None, CompressionLevel::DEFAULT, 200);
    let big = vec![7u8; 500];
    // An oversized record always fits an empty batch ...
    assert!(b.try_append(1, None, Some(&big), &[]));
    // ... but nothing joins a batch at or over its limit.
    assert!(!b.try_append(2, None, Some(b"x"), &[]));
    assert_eq!(b.record_count(), 1);

    let mut b = BatchBuilder::new(Compression::Lz4, CompressionLevel::DEFAULT, 100);
    assert!(b.is_empty());
    let mut n = 0;
    while b.try_append(n, Some(b"k"), Some(b"0123456789"), &[]) {
        n += 1;
    }
    assert!(b.uncompressed_size() <= 100);
    assert!(b.uncompressed_size() + encoded_record_size(n, n as i32, Some(1), Some(10), &[]) > 100);
    assert_eq!(b.record_count() as i64, n);
    assert!(matches!(
        BatchBuilder::new(Compression::None, CompressionLevel::DEFAULT, 10).freeze(ProducerState::NONE),
        Err(RecordsError::EmptyBatch)
    ));
}

#[test]
fn buffer_reuse() {
    let frozen = build(Compression::None, &sample_records(3), ProducerState::NONE);
    let mut b = BatchBuilder::with_buffer(
        vec![1, 2, 3, 4],
        Compression::None,
        CompressionLevel::DEFAULT,
        usize::MAX,
    );
    for r in &sample_records(3) {
        assert!(b.try_append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &r.headers));
    }
    assert_eq!(b.freeze(ProducerState::NONE).unwrap().bytes(), frozen.bytes());
}

#[test]
fn with_producer_state_rewrites_header_only() {
    for codec in Compression::ALL {
        let frozen = build(
            codec,
            &sample_records(20),
            ProducerState {
                producer_id: 5,
                producer_epoch: 1,
                base_sequence: 100,
                transactional: false,
            },
        );
        let next = ProducerState {
            producer_id: 9,
            producer_epoch: 2,
            base_sequence: 0,
            transactional: true,
        };
        let bumped = frozen.with_producer_state(next);
        let (old, new) = (frozen.bytes(), bumped.bytes());
        assert_eq!(old.len(), new.len());
        // Records section byte for byte (no recompression); header fields changed.
        assert_eq!(old[BATCH_HEADER_SIZE..], new[BATCH_HEADER_SIZE..]);
        assert_ne!(old[..BATCH_HEADER_SIZE], new[..BATCH_HEADER_SIZE]);
        assert_eq!(bumped.producer_state(), next);
        assert_eq!(bumped.base_sequence(), 0);
        assert_eq!(bumped.last_sequence(), 19);
        assert_eq!(frozen.last_sequence(), 119);
        let (batch, records) = read_one(new.clone());
        assert_eq!(batch.producer_state(), next);
        assert!(batch.is_transactional());
        assert_eq!(batch.compression(), codec);
        assert_same(&sample_records(20), &records);
        // The original is untouched and still valid (a retry before the bump resends it).
        assert_eq!(read_one(old.clone()).0.producer_id(), 5);
    }
}

#[test]
fn sequence_wraps_to_zero() {
    assert_eq!(increment_sequence(0, 1), 1);
    assert_eq!(increment_sequence(i32::MAX - 1, 1), i32::MAX);
    assert_eq!(increment_sequence(i32::MAX, 1), 0);
    assert_eq!(increment_sequence(i32::MAX, 5), 4);
    assert_eq!(increment_sequence(i32::MAX - 2, 5), 2);
    assert_eq!(increment_sequence(5, 0), 5);
    // Java int arithmetic for odd inputs, and no panic.
    let _ = increment_sequence(i32::MIN, -1);
    let _ = increment_sequence(i32::MAX, i32::MAX);

    let p = ProducerState {
        producer_id: 1,
        producer_epoch: 0,
        base_sequence: i32::MAX - 1,
        transactional: false,
    };
    let frozen = build(Compression::None, &sample_records(4), p);
    assert_eq!(frozen.last_sequence(), 1);
    assert_eq!(read_one(frozen.bytes().clone()).0.last_sequence(), 1);
    assert_eq!(
        build(Compression::None, &sample_records(4), ProducerState::NONE).last_sequence(),
        -1
    );
}

#[test]
fn several_batches_and_a_truncated_tail() {
    let a = build(Compression::None, &sample_records(3), ProducerState::NONE);
    let b = build(Compression::Zstd, &sample_records(7), ProducerState::NONE);
    let mut all = Vec::new();
    all.extend_from_slice(a.bytes());
    all.extend_from_slice(b.bytes());
    all.extend_from_slice(&a.bytes()[..a.bytes().len() - 10]); // cut by max bytes
    let mut it = read_batches(Bytes::from(all), ReadLimits::default());
    assert_eq!(it.next().unwrap().unwrap().record_count(), 3);
    assert_eq!(it.next().unwrap().unwrap().records().count(), 7);
    assert!(it.next().is_none());
    assert_eq!(it.truncated_tail_bytes(), a.bytes().len() - 10);
    assert!(it.next().is_none());
    assert!(read_batches(Bytes::new(), ReadLimits::default()).next().is_none());
}

#[test]
fn log_append_time_uses_max_timestamp() {
    let mut bytes = build(Compression::None, &sample_records(4), ProducerState::NONE)
        .bytes()
        .to_vec();
    bytes[ATTRIBUTES_OFFSET + 1] |= ATTR_TIMESTAMP_TYPE as u8;
    bytes[35..43].copy_from_slice(&42i64.to_be_bytes());
    recompute_crc(&mut bytes);
    let (batch, records) = read_one(Bytes::from(bytes));
    assert_eq!(batch.timestamp_type(), TimestampType::LogAppendTime);
    assert!(records.iter().all(|r| r.timestamp == 42));
}

#[test]
fn truncated_at_every_offset_never_panics() {
    for codec in Compression::ALL {
        let frozen = build(codec, &sample_records(10), ProducerState::NONE);
        let full = frozen.bytes().clone();
        for cut in 0..full.len() {
            let mut it = read_batches(full.slice(..cut), ReadLimits::default());
            // A cut batch is an incomplete tail: clean end, nothing yielded.
            assert!(it.next().is_none(), "{codec} cut {cut}");
            assert_eq!(it.truncated_tail_bytes(), cut);
        }
        // Same bytes but with batchLength shrunk to the cut: the batch now "fits" and must be
        // rejected (CRC) or, without CRC checks, fail while decoding records — never panic.
        for cut in LOG_OVERHEAD + 49..full.len() {
            let mut bytes = full[..cut].to_vec();
            bytes[LENGTH_OFFSET..LENGTH_OFFSET + 4]
                .copy_from_slice(&((cut - LOG_OVERHEAD) as i32).to_be_bytes());
            let checked: Vec<_> = read_batches(Bytes::from(bytes.clone()), ReadLimits::default()).collect();
            assert!(
                matches!(checked[..], [Err(RecordsError::CrcMismatch { .. })]),
                "{codec} {cut}"
            );
            recompute_crc(&mut bytes);
            let batch = read_batches(Bytes::from(bytes), ReadLimits::default())
                .next()
                .unwrap()
                .unwrap();
            let results: Vec<_> = batch.records().collect();
            assert!(
                results.iter().any(Result::is_err),
                "{codec} cut {cut}: lost records went unnoticed"
            );
        }
    }
}

#[test]
fn flipped_crc_byte_is_a_crc_error() {
    let frozen = build(Compression::Gzip, &sample_records(5), ProducerState::NONE);
    for at in [CRC_OFFSET, ATTRIBUTES_OFFSET + 3, frozen.bytes().len() - 1] {
        let mut bytes = frozen.bytes().to_vec();
        bytes[at] ^= 0x01;
        let err = read_batches(Bytes::from(bytes.clone()), ReadLimits::default())
            .next()
            .unwrap()
            .unwrap_err();
        assert!(matches!(err, RecordsError::CrcMismatch { .. }), "{err}");
        assert!(err.to_string().contains("CRC32C"));
        // check_crcs=false skips the check (the corruption may then surface elsewhere).
        assert!(
            read_batches(Bytes::from(bytes), ReadLimits::default().check_crcs(false))
                .next()
                .unwrap()
                .is_ok()
        );
    }
}

#[test]
fn bad_lengths_and_magic() {
    let frozen = build(Compression::None, &sample_records(2), ProducerState::NONE);
    for length in [-1i32, i32::MIN, 0, 48] {
        let mut bytes = frozen.bytes().to_vec();
        bytes[LENGTH_OFFSET..LENGTH_OFFSET + 4].copy_from_slice(&length.to_be_bytes());
        let mut it = read_batches(Bytes::from(bytes), ReadLimits::default());
        assert!(
            matches!(it.next(), Some(Err(RecordsError::InvalidBatchLength { .. }))),
            "{length}"
        );
        assert!(it.next().is_none(), "fused after an error");
    }
    // An absurd positive length is a batch the broker cut short: a clean end.
    let mut bytes = frozen.bytes().to_vec();
    bytes[LENGTH_OFFSET..LENGTH_OFFSET + 4].copy_from_slice(&i32::MAX.to_be_bytes());
    assert!(read_batches(Bytes::from(bytes), ReadLimits::default())
        .next()
        .is_none());
    for magic in [0u8, 1, 3, 0xff] {
        let mut bytes = frozen.bytes().to_vec();
        bytes[16] = magic;
        let err = read_batches(Bytes::from(bytes), ReadLimits::default())
            .next()
            .unwrap()
            .unwrap_err();
        assert!(matches!(err, RecordsError::UnsupportedMagic(m) if m == magic as i8));
        assert!(err.to_string().contains("not supported"));
    }
    // Unknown codec bits and a negative record count.
    let mut bytes = frozen.bytes().to_vec();
    bytes[ATTRIBUTES_OFFSET + 1] |= 0x07;
    recompute_crc(&mut bytes);
    let err = read_batches(Bytes::from(bytes), ReadLimits::default())
        .next()
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(err, RecordsError::Compression(CompressionError::UnknownCodec(7))),
        "{err}"
    );
    let mut bytes = frozen.bytes().to_vec();
    bytes[RECORD_COUNT_OFFSET..RECORD_COUNT_OFFSET + 4].copy_from_slice(&(-5i32).to_be_bytes());
    recompute_crc(&mut bytes);
    let err = read_batches(Bytes::from(bytes), ReadLimits::default())
        .next()
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, RecordsError::InvalidRecordCount(-5)));
}

#[test]
fn lying_record_counts() {
    for codec in Compression::ALL {
        let frozen = build(codec, &sample_records(5), ProducerState::NONE);
        for (count, more) in [(6, true), (i32::MAX, true), (4, false), (0, false)] {
            let mut bytes = frozen.bytes().to_vec();
            bytes[RECORD_COUNT_OFFSET..RECORD_COUNT_OFFSET + 4].copy_from_slice(&count.to_be_bytes());
            recompute_crc(&mut bytes);
            let (batch, _) = {
                let mut it = read_batches(Bytes::from(bytes), ReadLimits::default());
                (it.next().unwrap().unwrap(), ())
            };
            let results: Vec<_> = batch.records().collect();
            let last = results.last().unwrap();
            if more {
                assert_eq!(results.len(), 6);
                assert!(
                    matches!(last, Err(RecordsError::MissingRecords { found: 5, .. })),
                    "{codec} {last:?}"
                );
            } else {
                assert_eq!(results.len(), count as usize + 1);
                assert!(
                    matches!(last, Err(RecordsError::TrailingBytes { .. })),
                    "{codec} {last:?}"
                );
            }
        }
    }
}

#[test]
fn decompression_bomb_in_a_batch() {
    let zeros = vec![0u8; 1 << 20];
    for codec in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let mut b = BatchBuilder::new(codec, CompressionLevel::DEFAULT, usize::MAX);
        for _ in 0..8 {
            assert!(b.try_append(0, None, Some(&zeros), &[]));
        }
        let frozen = b.freeze(ProducerState::NONE).unwrap();
        assert!(frozen.size_in_bytes() < 1 << 20, "{codec} compresses zeros");
        let limits = ReadLimits::default().max_decompressed_batch_bytes(1 << 20);
        let batch = read_batches(frozen.bytes().clone(), limits)
            .next()
            .unwrap()
            .unwrap();
        let results: Vec<_> = batch.records().collect();
        assert_eq!(results.len(), 1);
        assert!(
            matches!(
                &results[0],
                Err(RecordsError::Compression(CompressionError::OutputTooLarge { .. }))
            ),
            "{codec}: {:?}",
            results[0]
        );
        // With the default limit it reads fine.
        assert_eq!(read_one(frozen.bytes().clone()).1.len(), 8);
    }
}

/// An uncompressed batch around hand-made record bytes (count and CRC fixed up).
fn batch_with_records_section(count: i32, section: &[u8]) -> Bytes {
    let frozen = build(Compression::None, &sample_records(1), ProducerState::NONE);
    let mut bytes = frozen.bytes()[..BATCH_HEADER_SIZE].to_vec();
    bytes.extend_from_slice(section);
    let len = (bytes.len() - LOG_OVERHEAD) as i32;
    bytes[LENGTH_OFFSET..LENGTH_OFFSET + 4].copy_from_slice(&len.to_be_bytes());
    bytes[RECORD_COUNT_OFFSET..RECORD_COUNT_OFFSET + 4].copy_from_slice(&count.to_be_bytes());
    recompute_crc(&mut bytes);
    Bytes::from(bytes)
}

fn first_record_error(section: &[u8]) -> RecordsError {
    let batch = read_batches(batch_with_records_section(1, section), ReadLimits::default())
        .next()
        .unwrap()
        .unwrap();
    batch.records().next().unwrap().unwrap_err()
}

#[test]
fn hostile_record_bodies() {
    // Record length varint with 6 continuation bytes.
    assert!(matches!(
        first_record_error(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
        RecordsError::BadVarint { .. }
    ));
    // Negative record length (-1 zig-zag = 0x01).
    assert!(matches!(
        first_record_error(&[0x01]),
        RecordsError::InvalidLength { field: "record", .. }
    ));
    // Length 100 but 3 bytes follow.
    assert!(matches!(
        first_record_error(&[200, 1, 0, 0, 0]),
        RecordsError::InvalidLength { .. }
    ));
    // len=6: attrs, ts=0, off=0, key=-1, value=-1, headers = huge (i32::MAX) with no bytes.
    let err = first_record_error(&[12, 0, 0, 0, 1, 1, 0xfe, 0xff, 0xff, 0xff, 0x0f]);
    assert!(
        matches!(
            err,
            RecordsError::Truncated { .. } | RecordsError::BadVarint { .. }
        ),
        "{err}"
    );
    let err = first_record_error(&[10, 0, 0, 0, 1, 1]);
    assert!(matches!(err, RecordsError::Truncated { .. }), "{err}");
    // Header count 1_000_000 inside a 12-byte record: no big allocation, just an error.
    let mut rec = vec![0u8, 0, 0, 1, 1];
    super::varint::put_varint(&mut rec, 1_000_000);
    let mut section = Vec::new();
    super::varint::put_varint(&mut section, rec.len() as i32);
    section.extend_from_slice(&rec);
    assert!(matches!(
        first_record_error(&section),
        RecordsError::Truncated { .. }
    ));
    // Negative header count.
    let err = first_record_error(&[12, 0, 0, 0, 1, 1, 3]);
    assert!(
        matches!(
            err,
            RecordsError::InvalidLength {
                field: "header count",
                ..
            }
        ),
        "{err}"
    );
    // Negative header key length.
    let err = first_record_error(&[14, 0, 0, 0, 1, 1, 2, 3, 1]);
    assert!(
        matches!(
            err,
            RecordsError::InvalidLength {
                field: "header key",
                ..
            }
        ),
        "{err}"
    );
    // Key length past the record end.
    let err = first_record_error(&[10, 0, 0, 0, 40, 1, 0]);
    assert!(
        matches!(err, RecordsError::InvalidLength { field: "key", .. }),
        "{err}"
    );
    // Record longer than its fields (a spare byte inside the record).
    let err = first_record_error(&[14, 0, 0, 0, 1, 1, 0, 9]);
    assert!(
        matches!(
            err,
            RecordsError::RecordLengthMismatch {
                declared: 7,
                actual: 6
            }
        ),
        "{err}"
    );
}

#[test]
fn random_garbage_never_panics() {
    let mut rng = 0x9e37_79b9_u32;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        rng
    };
    let valid = build(Compression::None, &sample_records(6), ProducerState::NONE)
        .bytes()
        .to_vec();
    for _ in 0..3000 {
        let mut bytes = valid.clone();
        for _ in 0..(next() % 4 + 1) {
            let at = next() as usize % bytes.len();
            bytes[at] = next() as u8;
        }
        let limits = ReadLimits::default().check_crcs(false);
        for batch in read_batches(Bytes::from(bytes), limits).flatten() {
            for _ in batch.records() {}
        }
    }
}
