//! Record batches (magic v2): our own writer and reader.
//!
//! kafka-protocol encodes the Produce and Fetch *messages*; their `records` fields are raw
//! `Bytes` that kaflow fills and walks itself (DESIGN.md "Record batches are ours"):
//!
//! ```text
//!  produce path                                      fetch path
//!  ────────────                                      ──────────
//!  key/value/headers (&[u8])                         Fetch response `records: Bytes`
//!        │ BatchBuilder::try_append                        │ read_batches(bytes, limits)
//!        ▼  varints straight into ONE Vec                  ▼  (header parsed, CRC32C checked,
//!  [61-byte hole | record | record | ...]            RecordBatch  no copy: Bytes::slice)
//!        │ BatchBuilder::freeze(ProducerState)             │ RecordBatch::records()
//!        ▼  compress records once, header, CRC once        ▼  decompress ONCE if compressed
//!  FrozenBatch (Bytes) ──► ProduceRequest          Record { key, value, headers }
//!        │ retry: clone (same bytes)                       = slices of the fetched buffer
//!        │ epoch bump: with_producer_state                   or of the one decompressed buffer
//!        ▼  (header rewrite + CRC, no recompress)
//! ```
//!
//! Wire layout of a v2 batch (Java `DefaultRecordBatch`, KIP-98):
//!
//! ```text
//!  0 baseOffset i64 | 8 batchLength i32 | 12 partitionLeaderEpoch i32 | 16 magic i8 (=2)
//! 17 crc u32 (CRC32C of bytes 21..end) | 21 attributes i16 | 23 lastOffsetDelta i32
//! 27 baseTimestamp i64 | 35 maxTimestamp i64 | 43 producerId i64 | 51 producerEpoch i16
//! 53 baseSequence i32 | 57 recordCount i32 | 61 records (compressed as a unit if attrs&7 != 0)
//! ```
//!
//! and of each record (Java `DefaultRecord`): `length varint | attributes i8 | timestampDelta
//! varlong | offsetDelta varint | keyLength varint (-1 = null) | key | valueLength varint |
//! value | headerCount varint | (headerKeyLength varint | key | headerValueLength varint | value)*`.

mod reader;
mod varint;
mod writer;

pub use reader::{read_batches, BatchIter, ReadLimits, Record, RecordBatch, RecordIter, TimestampType};
pub use writer::{encoded_record_size, BatchBuilder, FrozenBatch};

use crate::compression::CompressionError;

/// The only record format kaflow speaks (Kafka ≥ 0.11; Kafka 4 dropped v0/v1, KIP-724).
pub const MAGIC_V2: i8 = 2;
/// Size of the v2 batch header (`DefaultRecordBatch.RECORD_BATCH_OVERHEAD`).
pub const BATCH_HEADER_SIZE: usize = 61;
/// baseOffset + batchLength (`Records.LOG_OVERHEAD`): the part not counted by batchLength.
pub const LOG_OVERHEAD: usize = 12;
/// "No sequence / producer id / epoch" sentinels (`RecordBatch.NO_SEQUENCE` etc).
pub const NO_SEQUENCE: i32 = -1;
/// See [`NO_SEQUENCE`].
pub const NO_PRODUCER_ID: i64 = -1;
/// See [`NO_SEQUENCE`].
pub const NO_PRODUCER_EPOCH: i16 = -1;
/// The partition leader epoch a client writes; the broker stamps the real one.
pub const NO_PARTITION_LEADER_EPOCH: i32 = -1;

/// Attribute bit: timestamps are LogAppendTime (set by the broker, never by a producer).
pub const ATTR_TIMESTAMP_TYPE: i16 = 0x08;
/// Attribute bit: the batch belongs to a transaction (KIP-98).
pub const ATTR_TRANSACTIONAL: i16 = 0x10;
/// Attribute bit: the batch holds control records (transaction markers).
pub const ATTR_CONTROL: i16 = 0x20;
/// Attribute bit: baseTimestamp is the delete horizon (KIP-534, set by log compaction).
pub const ATTR_DELETE_HORIZON: i16 = 0x40;

/// One record header. Kafka allows duplicate keys and null values, so headers are a list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// The header key: UTF-8 by Kafka's contract (not validated on read, as Java decodes
    /// leniently; use `std::str::from_utf8` where text is needed).
    pub key: bytes::Bytes,
    /// The header value; `None` is a null value (length -1 on the wire).
    pub value: Option<bytes::Bytes>,
}

impl Header {
    /// A header from borrowed parts (copies them).
    pub fn new(key: impl AsRef<[u8]>, value: Option<impl AsRef<[u8]>>) -> Self {
        Header {
            key: bytes::Bytes::copy_from_slice(key.as_ref()),
            value: value.map(|v| bytes::Bytes::copy_from_slice(v.as_ref())),
        }
    }
}

/// The idempotence / transaction identity stamped into a batch header (KIP-98).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProducerState {
    /// Producer id from InitProducerId, or -1.
    pub producer_id: i64,
    /// Producer epoch, or -1.
    pub producer_epoch: i16,
    /// Sequence number of the batch's first record, or -1.
    pub base_sequence: i32,
    /// Whether the batch is part of a transaction (attribute bit 4).
    pub transactional: bool,
}

impl ProducerState {
    /// A non-idempotent producer: -1 / -1 / -1, not transactional.
    pub const NONE: ProducerState = ProducerState {
        producer_id: NO_PRODUCER_ID,
        producer_epoch: NO_PRODUCER_EPOCH,
        base_sequence: NO_SEQUENCE,
        transactional: false,
    };
}

impl Default for ProducerState {
    fn default() -> Self {
        ProducerState::NONE
    }
}

/// `DefaultRecordBatch.incrementSequence`: sequences wrap from `i32::MAX` to 0, never to a
/// negative number (the broker does the same, so a long-lived producer keeps in step).
pub fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    // Java's int arithmetic wraps; wrapping ops keep odd inputs (negative increments) from
    // panicking and give Java's answers for them too.
    if sequence > i32::MAX.wrapping_sub(increment) {
        increment
            .wrapping_sub(i32::MAX.wrapping_sub(sequence))
            .wrapping_sub(1)
    } else {
        sequence.wrapping_add(increment)
    }
}

/// Errors reading (or, for a few, writing) record batches. Reading hostile bytes yields
/// one of these, never a panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordsError {
    /// The input ended inside a field that must be complete (inside a batch whose length
    /// said it was all there).
    #[error("record batch truncated: input ends inside {what}")]
    Truncated {
        /// The field being read.
        what: &'static str,
    },
    /// A batch with magic other than 2.
    #[error("record batch magic v{0} is not supported: kaflow reads only magic v2 (Kafka ≥ 0.11); v0/v1 message sets are not supported")]
    UnsupportedMagic(i8),
    /// batchLength negative, below the v2 minimum, or past what the field can describe.
    #[error("invalid record batch length {length}: must be at least {min} (v2 header) for a v2 batch")]
    InvalidBatchLength {
        /// The declared batchLength.
        length: i32,
        /// The smallest valid value.
        min: i32,
    },
    /// The batch's stored CRC32C does not match its contents.
    #[error("record batch CRC32C mismatch: header says {expected:#010x}, contents hash to {actual:#010x} (corrupt batch)")]
    CrcMismatch {
        /// CRC stored in the header.
        expected: u32,
        /// CRC computed over attributes..end.
        actual: u32,
    },
    /// recordCount in the header is negative.
    #[error("invalid record count {0} in record batch header")]
    InvalidRecordCount(i32),
    /// Fewer records than recordCount claims.
    #[error("record batch declares {declared} records but its data ends after {found}")]
    MissingRecords {
        /// recordCount from the header.
        declared: i32,
        /// Records actually present.
        found: i32,
    },
    /// Bytes left over after recordCount records.
    #[error("record batch declares {declared} records but {extra} bytes remain after them")]
    TrailingBytes {
        /// recordCount from the header.
        declared: i32,
        /// Unread bytes.
        extra: usize,
    },
    /// A varint longer than 5 (varint) or 10 (varlong) bytes.
    #[error("malformed varint in record field {field}: too many continuation bytes")]
    BadVarint {
        /// The field being read.
        field: &'static str,
    },
    /// A length field that is negative where not allowed, or longer than the data left.
    #[error("invalid {field} length {length} ({available} bytes available)")]
    InvalidLength {
        /// The field whose length is wrong.
        field: &'static str,
        /// The declared length.
        length: i64,
        /// Bytes left where it was read.
        available: usize,
    },
    /// A record's body was not exactly its declared length.
    #[error("record length {declared} does not match its contents ({actual} bytes read)")]
    RecordLengthMismatch {
        /// The record's length prefix.
        declared: i32,
        /// The bytes its fields took.
        actual: usize,
    },
    /// freeze() of a batch with no records: Kafka has no empty v2 batches from producers.
    #[error("cannot freeze an empty record batch")]
    EmptyBatch,
    /// A compressed batch would exceed what batchLength (an i32) can describe.
    #[error("record batch of {0} bytes is too large for the v2 format (max {max})", max = i32::MAX)]
    BatchTooLarge(usize),
    /// Compressing or decompressing the records failed.
    #[error("record batch compression: {0}")]
    Compression(#[from] CompressionError),
}

#[cfg(test)]
mod tests;
