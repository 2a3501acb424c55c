//! Unit tests of the fetch decoding: positions, control batches, read_committed filtering.

use super::fetcher::{decode, Aborted};
use crate::compression::{Compression, CompressionLevel};
use crate::records::{BatchBuilder, ProducerState, ReadLimits};
use bytes::{Bytes, BytesMut};
use std::sync::Arc;

/// A batch at `base` holding `values` (or, for a control batch, one marker record: ABORT when
/// `abort`, else COMMIT), from producer `pid`.
fn batch(base: i64, pid: i64, transactional: bool, control: Option<bool>, values: &[&str]) -> Bytes {
    let mut b = BatchBuilder::new(Compression::None, CompressionLevel::DEFAULT, 1 << 20);
    match control {
        Some(abort) => {
            let key = [0u8, 0, 0, if abort { 0 } else { 1 }];
            assert!(b.try_append(0, Some(&key), Some(&[0, 0, 0, 0, 0, 0]), &[]));
        }
        None => {
            for v in values {
                assert!(b.try_append(0, None, Some(v.as_bytes()), &[]));
            }
        }
    }
    let state = ProducerState {
        producer_id: pid,
        producer_epoch: 0,
        base_sequence: 0,
        transactional,
    };
    let mut bytes = BytesMut::from(b.freeze(state).unwrap().bytes().as_ref());
    bytes[0..8].copy_from_slice(&base.to_be_bytes());
    if control.is_some() {
        // Attribute bit 5 (control), then the CRC32C over attributes..end again.
        let attrs = i16::from_be_bytes([bytes[21], bytes[22]]) | 0x20;
        bytes[21..23].copy_from_slice(&attrs.to_be_bytes());
        let crc = crc32c::crc32c(&bytes[21..]);
        bytes[17..21].copy_from_slice(&crc.to_be_bytes());
    }
    bytes.freeze()
}

fn concat(parts: &[Bytes]) -> Bytes {
    let mut out = BytesMut::new();
    parts.iter().for_each(|p| out.extend_from_slice(p));
    out.freeze()
}

fn values(d: &super::fetcher::Decoded) -> Vec<(i64, String)> {
    d.records
        .iter()
        .map(|r| {
            (
                r.offset,
                String::from_utf8_lossy(r.value.as_deref().unwrap()).into_owned(),
            )
        })
        .collect()
}

fn topic() -> Arc<str> {
    Arc::from("t")
}

#[test]
fn records_before_the_position_are_skipped_and_the_next_offset_follows_the_last_batch() {
    let data = concat(&[
        batch(0, -1, false, None, &["a", "b", "c"]),
        batch(3, -1, false, None, &["d"]),
    ]);
    let d = decode(&topic(), 0, data, 1, false, vec![], ReadLimits::default());
    assert_eq!(values(&d), [(1, "b".into()), (2, "c".into()), (3, "d".into())]);
    assert_eq!(d.next_offset, 4);
    assert!(d.error.is_none());
}

#[test]
fn read_uncommitted_sees_aborted_data_but_never_markers() {
    let data = concat(&[
        batch(0, 7, true, None, &["x1", "x2"]),
        batch(2, 7, true, Some(true), &[]),
        batch(3, 8, false, None, &["plain"]),
    ]);
    let d = decode(
        &topic(),
        0,
        data,
        0,
        false,
        vec![Aborted {
            producer_id: 7,
            first_offset: 0,
        }],
        ReadLimits::default(),
    );
    assert_eq!(
        values(&d),
        [(0, "x1".into()), (1, "x2".into()), (3, "plain".into())]
    );
    assert_eq!(d.next_offset, 4);
}

#[test]
fn read_committed_drops_exactly_the_aborted_transactions() {
    let data = concat(&[
        batch(0, 5, true, None, &["c1", "c2"]), // committed below
        batch(2, 7, true, None, &["a1", "a2"]), // aborted
        batch(4, 5, true, Some(false), &[]),    // COMMIT for 5
        batch(5, 7, true, Some(true), &[]),     // ABORT for 7
        batch(6, 7, true, None, &["c3"]),       // a later, committed transaction of 7
        batch(7, 7, true, Some(false), &[]),    // COMMIT for 7
        batch(8, 9, false, None, &["plain"]),   // not transactional
    ]);
    let aborted = vec![Aborted {
        producer_id: 7,
        first_offset: 2,
    }];
    let d = decode(&topic(), 0, data, 0, true, aborted, ReadLimits::default());
    assert_eq!(
        values(&d),
        [
            (0, "c1".into()),
            (1, "c2".into()),
            (6, "c3".into()),
            (8, "plain".into())
        ]
    );
    assert_eq!(d.next_offset, 9);
}

#[test]
fn a_corrupt_batch_keeps_the_records_before_it_and_stops_there() {
    let good = batch(0, -1, false, None, &["ok"]);
    let mut bad = BytesMut::from(batch(1, -1, false, None, &["bad"]).as_ref());
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let d = decode(
        &topic(),
        0,
        concat(&[good, bad.freeze()]),
        0,
        false,
        vec![],
        ReadLimits::default(),
    );
    assert_eq!(values(&d), [(0, "ok".into())]);
    assert_eq!(d.next_offset, 1);
    assert!(d.error.is_some());
}

#[test]
fn i11_truncated_data_ends_cleanly_at_the_last_whole_batch() {
    let data = concat(&[
        batch(0, -1, false, None, &["a", "b"]),
        batch(2, -1, false, None, &["c"]),
    ]);
    for cut in 1..data.len() {
        let d = decode(
            &topic(),
            0,
            data.slice(..cut),
            0,
            false,
            vec![],
            ReadLimits::default(),
        );
        // A broker cuts the last batch at its max bytes: what is whole is returned, the rest
        // is fetched again from next_offset; never an error, never a panic.
        assert!(d.error.is_none(), "cut at {cut}: {:?}", d.error);
        assert_eq!(d.next_offset, d.records.last().map_or(0, |r| r.offset + 1));
    }
}

#[test]
fn i11_a_batch_whose_record_count_lies_is_an_error() {
    let mut b = BytesMut::from(batch(0, -1, false, None, &["a", "b"]).as_ref());
    // recordCount (the last 4 header bytes, offset 57) claims 3 records; fix the CRC so only the
    // count lies.
    b[57..61].copy_from_slice(&3i32.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    let d = decode(&topic(), 0, b.freeze(), 0, false, vec![], ReadLimits::default());
    assert!(d.error.is_some(), "a lying count is reported");
    assert!(
        d.records.is_empty(),
        "none of the bad batch's records is handed out"
    );
    assert_eq!(d.next_offset, 0, "no position moves past data that didn't decode");
}

#[test]
fn i11_aborted_transactions_of_unknown_producers_change_nothing() {
    let data = concat(&[
        batch(0, 5, true, None, &["c1"]),
        batch(1, 5, true, Some(false), &[]),
    ]);
    let aborted = vec![
        Aborted {
            producer_id: 999,
            first_offset: 0,
        },
        Aborted {
            producer_id: -7,
            first_offset: i64::MIN,
        },
        Aborted {
            producer_id: 1234,
            first_offset: i64::MAX,
        },
    ];
    let d = decode(&topic(), 0, data, 0, true, aborted, ReadLimits::default());
    assert_eq!(values(&d), [(0, "c1".into())]);
    assert_eq!(d.next_offset, 2);
}
