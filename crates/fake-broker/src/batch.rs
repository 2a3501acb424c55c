//! The v2 record batch header: parsing, CRC check, and the two fields a leader rewrites on append.
//!
//! Layout (all big endian), as in Kafka's `DefaultRecordBatch`:
//!
//! ```text
//! offset  size  field
//!      0     8  baseOffset            rewritten by the leader (offset assignment)
//!      8     4  batchLength           bytes after this field
//!     12     4  partitionLeaderEpoch  rewritten by the leader
//!     16     1  magic                 must be 2
//!     17     4  crc                   CRC-32C of bytes 21..end (so the two rewrites above keep it valid)
//!     21     2  attributes            bits 0-2 compression, 3 timestamp type, 4 transactional, 5 control
//!     23     4  lastOffsetDelta
//!     27     8  baseTimestamp
//!     35     8  maxTimestamp
//!     43     8  producerId            -1 when not idempotent
//!     51     2  producerEpoch
//!     53     4  baseSequence
//!     57     4  recordsCount
//!     61        records...
//! ```
//!
//! We parse the header ourselves (never the records): the fake broker must accept whatever the
//! client's own batch writer produces, including compressed batches, and judge only what the real
//! broker judges before touching the records.

use bytes::{Buf, Bytes, BytesMut};

/// Size of the v2 batch header, records excluded.
pub const HEADER_LEN: usize = 61;
/// Bytes before `batchLength` counts: baseOffset + batchLength (Kafka's `LOG_OVERHEAD`).
pub const LOG_OVERHEAD: usize = 12;
/// Kafka's default `max.message.bytes` (a whole batch, log overhead included).
pub const MAX_MESSAGE_BYTES: usize = 1_048_588;

const CRC_OFFSET: usize = 17;
const ATTRIBUTES_OFFSET: usize = 21;
const LEADER_EPOCH_OFFSET: usize = 12;

/// Why a produce partition's bytes are not one acceptable v2 batch.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// A batch declares a length shorter than a v2 header (Kafka: CorruptRecordException).
    #[error("batch length {0} is shorter than a v2 batch header")]
    TooShort(i32),
    /// The magic byte is not 2 (Kafka: InvalidRecordException for produce v3+).
    #[error("magic {0} is not 2")]
    Magic(i8),
    /// The stored CRC does not match (Kafka: CorruptRecordException).
    #[error("crc mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Crc {
        /// The CRC in the header.
        stored: u32,
        /// The CRC-32C of bytes 21..end.
        computed: u32,
    },
}

/// The parsed fixed-size header of one v2 record batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Base offset (as sent by the client, or as assigned once stored).
    pub base_offset: i64,
    /// Bytes after the length field.
    pub batch_length: i32,
    /// Partition leader epoch.
    pub partition_leader_epoch: i32,
    /// Magic byte (2).
    pub magic: i8,
    /// Stored CRC-32C.
    pub crc: u32,
    /// Attributes bit field.
    pub attributes: i16,
    /// Offset of the last record relative to the base offset.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest record timestamp.
    pub max_timestamp: i64,
    /// Producer id, -1 when not idempotent.
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// Sequence of the first record.
    pub base_sequence: i32,
    /// Number of records the header claims.
    pub records_count: i32,
}

impl BatchHeader {
    /// Parses the header at the start of `buf`; `None` if fewer than [`HEADER_LEN`] bytes.
    pub fn parse(buf: &[u8]) -> Option<Self> {
        if buf.len() < HEADER_LEN {
            return None;
        }
        let mut b = &buf[..HEADER_LEN];
        Some(Self {
            base_offset: b.get_i64(),
            batch_length: b.get_i32(),
            partition_leader_epoch: b.get_i32(),
            magic: b.get_i8(),
            crc: b.get_u32(),
            attributes: b.get_i16(),
            last_offset_delta: b.get_i32(),
            base_timestamp: b.get_i64(),
            max_timestamp: b.get_i64(),
            producer_id: b.get_i64(),
            producer_epoch: b.get_i16(),
            base_sequence: b.get_i32(),
            records_count: b.get_i32(),
        })
    }

    /// Compression codec id: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    pub fn compression(&self) -> i16 {
        self.attributes & 0x07
    }

    /// Whether the batch belongs to a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes & 0x10 != 0
    }

    /// Whether the batch holds control records (transaction markers).
    pub fn is_control(&self) -> bool {
        self.attributes & 0x20 != 0
    }

    /// Whether the batch carries a producer id (idempotent or transactional).
    pub fn has_producer_id(&self) -> bool {
        self.producer_id >= 0
    }

    /// Sequence of the last record, with Kafka's wrap to 0 after `i32::MAX`.
    pub fn last_sequence(&self) -> i32 {
        increment_sequence(self.base_sequence, self.last_offset_delta)
    }

    /// Offset of the last record.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }

    /// Whole batch size in bytes, log overhead included.
    pub fn size_in_bytes(&self) -> usize {
        LOG_OVERHEAD + usize::try_from(self.batch_length).unwrap_or(0)
    }
}

/// Kafka's `DefaultRecordBatch.incrementSequence`: sequences wrap from `i32::MAX` to 0, not to
/// `i32::MIN`.
pub fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

/// Kafka's `ProducerAppendInfo.inSequence`.
pub fn in_sequence(last_seq: i32, next_seq: i32) -> bool {
    i64::from(next_seq) == i64::from(last_seq) + 1 || (next_seq == 0 && last_seq == i32::MAX)
}

/// Splits a partition's `records` bytes into whole batches the way Kafka's
/// `ByteBufferLogInputStream` does: a trailing partial batch is ignored, a declared length
/// shorter than a v2 header is corruption.
pub fn split_batches(records: &Bytes) -> Result<Vec<Bytes>, BatchError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while records.len() - pos >= LOG_OVERHEAD {
        let len = (&records[pos + 8..pos + 12]).get_i32();
        if len < (HEADER_LEN - LOG_OVERHEAD) as i32 {
            return Err(BatchError::TooShort(len));
        }
        let total = LOG_OVERHEAD + len as usize;
        if records.len() - pos < total {
            break;
        }
        out.push(records.slice(pos..pos + total));
        pos += total;
    }
    Ok(out)
}

/// Checks the magic byte and the CRC of one whole batch (as returned by [`split_batches`]).
pub fn validate(batch: &[u8]) -> Result<BatchHeader, BatchError> {
    let header = BatchHeader::parse(batch).ok_or(BatchError::TooShort(batch.len() as i32))?;
    if header.magic != 2 {
        return Err(BatchError::Magic(header.magic));
    }
    let computed = crc32c::crc32c(&batch[ATTRIBUTES_OFFSET..]);
    if computed != header.crc {
        return Err(BatchError::Crc {
            stored: header.crc,
            computed,
        });
    }
    Ok(header)
}

/// Copies a batch, writing the assigned base offset and the leader epoch into it, as the leader
/// does on append. Neither field is covered by the CRC.
pub fn rewrite(batch: &[u8], base_offset: i64, leader_epoch: i32) -> Bytes {
    let mut out = BytesMut::from(batch);
    out[..8].copy_from_slice(&base_offset.to_be_bytes());
    out[LEADER_EPOCH_OFFSET..LEADER_EPOCH_OFFSET + 4].copy_from_slice(&leader_epoch.to_be_bytes());
    debug_assert_eq!(out[CRC_OFFSET..CRC_OFFSET + 4], batch[CRC_OFFSET..CRC_OFFSET + 4]);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_wraps_to_zero() {
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 2, 4), 1);
        assert_eq!(increment_sequence(5, 4), 9);
        assert!(in_sequence(i32::MAX, 0));
        assert!(in_sequence(-1, 0));
        assert!(!in_sequence(3, 5));
        assert!(!in_sequence(i32::MAX, i32::MIN));
    }

    #[test]
    fn split_rejects_short_length_and_ignores_partial_tail() {
        let mut b = vec![0u8; 12];
        b[8..12].copy_from_slice(&10i32.to_be_bytes());
        assert_eq!(split_batches(&Bytes::from(b)), Err(BatchError::TooShort(10)));
        let mut b = vec![0u8; 30];
        b[8..12].copy_from_slice(&49i32.to_be_bytes());
        assert_eq!(split_batches(&Bytes::from(b)).map(|v| v.len()), Ok(0));
        let mut b = vec![0u8; 12];
        b[8..12].copy_from_slice(&(-5i32).to_be_bytes());
        assert!(split_batches(&Bytes::from(b)).is_err());
    }
}
