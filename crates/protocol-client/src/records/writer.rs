//! The batch writer: records are appended as varints straight into one growing buffer
//! (Java's `MemoryRecordsBuilder`), then frozen once into the bytes a Produce request sends.

use bytes::Bytes;

use super::varint::{put_varint, put_varlong, varint_len, varlong_len};
use super::{
    increment_sequence, Header, ProducerState, RecordsError, ATTR_TRANSACTIONAL, BATCH_HEADER_SIZE,
    LOG_OVERHEAD, MAGIC_V2, NO_PARTITION_LEADER_EPOCH, NO_SEQUENCE,
};
use crate::compression::{compress, Compression, CompressionLevel};

// Header field offsets (see the layout in mod.rs).
pub(crate) const BASE_OFFSET_OFFSET: usize = 0;
pub(crate) const LENGTH_OFFSET: usize = 8;
pub(crate) const PARTITION_LEADER_EPOCH_OFFSET: usize = 12;
pub(crate) const MAGIC_OFFSET: usize = 16;
pub(crate) const CRC_OFFSET: usize = 17;
pub(crate) const ATTRIBUTES_OFFSET: usize = 21;
pub(crate) const LAST_OFFSET_DELTA_OFFSET: usize = 23;
pub(crate) const BASE_TIMESTAMP_OFFSET: usize = 27;
pub(crate) const MAX_TIMESTAMP_OFFSET: usize = 35;
pub(crate) const PRODUCER_ID_OFFSET: usize = 43;
pub(crate) const PRODUCER_EPOCH_OFFSET: usize = 51;
pub(crate) const BASE_SEQUENCE_OFFSET: usize = 53;
pub(crate) const RECORD_COUNT_OFFSET: usize = 57;

/// The encoded size of one record, including its own length prefix — what appending it adds
/// to a batch's uncompressed size (Java `DefaultRecord.sizeInBytes`). Usable for memory
/// accounting before the record is appended. `None` lengths are nulls.
pub fn encoded_record_size(
    timestamp_delta: i64,
    offset_delta: i32,
    key_len: Option<usize>,
    value_len: Option<usize>,
    headers: &[Header],
) -> usize {
    let body = record_body_size(timestamp_delta, offset_delta, key_len, value_len, headers);
    varint_len(len_i32(body)) + body
}

fn record_body_size(
    timestamp_delta: i64,
    offset_delta: i32,
    key_len: Option<usize>,
    value_len: Option<usize>,
    headers: &[Header],
) -> usize {
    let mut size = 1 // attributes
        + varlong_len(timestamp_delta)
        + varint_len(offset_delta)
        + nullable_size(key_len)
        + nullable_size(value_len)
        + varint_len(len_i32(headers.len()));
    for h in headers {
        size += varint_len(len_i32(h.key.len())) + h.key.len();
        size += nullable_size(h.value.as_ref().map(|v| v.len()));
    }
    size
}

fn nullable_size(len: Option<usize>) -> usize {
    match len {
        None => 1, // varint -1
        Some(n) => varint_len(len_i32(n)) + n,
    }
}

/// Lengths past i32::MAX cannot be encoded; saturate for size estimates (try_append refuses
/// such records before writing).
fn len_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// An open record batch being filled for one partition.
///
/// The first [`BATCH_HEADER_SIZE`] bytes of the buffer are a hole for the header, so an
/// uncompressed batch is frozen in place without copying its records.
#[derive(Debug)]
pub struct BatchBuilder {
    buf: Vec<u8>,
    compression: Compression,
    level: CompressionLevel,
    limit: usize,
    record_count: i32,
    base_timestamp: i64,
    max_timestamp: i64,
}

impl BatchBuilder {
    /// A new empty batch. `batch_size_limit` bounds the *uncompressed* batch size (header
    /// included), like `batch.size`; a first record larger than it is still accepted.
    ///
    /// Java sizes compressed batches by an estimated compression ratio, so at the same
    /// `batch.size` it packs more records into a compressed batch; a caller that wants the
    /// same may pass a larger limit for compressed codecs.
    pub fn new(compression: Compression, level: CompressionLevel, batch_size_limit: usize) -> Self {
        let capacity = batch_size_limit.clamp(BATCH_HEADER_SIZE, 1 << 20);
        Self::with_buffer(Vec::with_capacity(capacity), compression, level, batch_size_limit)
    }

    /// Like [`BatchBuilder::new`] but reusing `buf`'s allocation (it is cleared), so a
    /// caller can pool batch buffers.
    pub fn with_buffer(
        mut buf: Vec<u8>,
        compression: Compression,
        level: CompressionLevel,
        batch_size_limit: usize,
    ) -> Self {
        buf.clear();
        buf.resize(BATCH_HEADER_SIZE, 0);
        BatchBuilder {
            buf,
            compression,
            level,
            limit: batch_size_limit,
            record_count: 0,
            base_timestamp: 0,
            max_timestamp: i64::MIN,
        }
    }

    /// Appends one record unless it would take the batch past its size limit while the batch
    /// already holds a record; returns whether it was appended. A record whose key, value or
    /// headers exceed i32::MAX bytes cannot be encoded and is never appended (the caller's
    /// `max.request.size` check refuses such records long before).
    pub fn try_append(
        &mut self,
        timestamp_ms: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> bool {
        if self.record_count == i32::MAX || !encodable(key, value, headers) {
            return false;
        }
        let first = self.record_count == 0;
        // Deltas relative to the first record's timestamp; Java's long arithmetic wraps, and
        // so does ours, so any i64 pair round-trips.
        let timestamp_delta = if first {
            0
        } else {
            timestamp_ms.wrapping_sub(self.base_timestamp)
        };
        let offset_delta = self.record_count;
        let body = record_body_size(
            timestamp_delta,
            offset_delta,
            key.map(<[u8]>::len),
            value.map(<[u8]>::len),
            headers,
        );
        let size = varint_len(len_i32(body)) + body;
        if !first && self.buf.len().saturating_add(size) > self.limit {
            return false;
        }
        if first {
            self.base_timestamp = timestamp_ms;
        }
        self.max_timestamp = self.max_timestamp.max(timestamp_ms);

        let buf = &mut self.buf;
        buf.reserve(size);
        put_varint(buf, len_i32(body));
        buf.push(0); // record attributes: unused
        put_varlong(buf, timestamp_delta);
        put_varint(buf, offset_delta);
        put_nullable(buf, key);
        put_nullable(buf, value);
        put_varint(buf, len_i32(headers.len()));
        for h in headers {
            put_varint(buf, len_i32(h.key.len()));
            buf.extend_from_slice(&h.key);
            put_nullable(buf, h.value.as_deref());
        }
        self.record_count += 1;
        true
    }

    /// Records appended so far.
    pub fn record_count(&self) -> i32 {
        self.record_count
    }

    /// Bytes the batch takes uncompressed, header included.
    pub fn uncompressed_size(&self) -> usize {
        self.buf.len()
    }

    /// Whether no record has been appended.
    pub fn is_empty(&self) -> bool {
        self.record_count == 0
    }

    /// The batch's codec.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Closes the batch: compresses the records section once, writes the v2 header for
    /// `producer` and computes the CRC once. The result is what goes on the wire, unchanged
    /// on every retry.
    pub fn freeze(self, producer: ProducerState) -> Result<FrozenBatch, RecordsError> {
        if self.record_count == 0 {
            return Err(RecordsError::EmptyBatch);
        }
        let uncompressed_size = self.buf.len();
        let mut out = match self.compression {
            Compression::None => self.buf,
            codec => {
                let records = self.buf.get(BATCH_HEADER_SIZE..).unwrap_or_default();
                let mut out = Vec::with_capacity(BATCH_HEADER_SIZE + records.len() / 2 + 64);
                out.resize(BATCH_HEADER_SIZE, 0);
                compress(codec, self.level, records, &mut out)?;
                out
            }
        };
        let batch_length =
            i32::try_from(out.len() - LOG_OVERHEAD).map_err(|_| RecordsError::BatchTooLarge(out.len()))?;
        let attributes = self.compression.attribute_bits();
        let header = &mut out[..BATCH_HEADER_SIZE];
        put_i64(header, BASE_OFFSET_OFFSET, 0);
        put_i32(header, LENGTH_OFFSET, batch_length);
        put_i32(header, PARTITION_LEADER_EPOCH_OFFSET, NO_PARTITION_LEADER_EPOCH);
        header[MAGIC_OFFSET] = MAGIC_V2 as u8;
        put_i16(header, ATTRIBUTES_OFFSET, attributes);
        put_i32(header, LAST_OFFSET_DELTA_OFFSET, self.record_count - 1);
        put_i64(header, BASE_TIMESTAMP_OFFSET, self.base_timestamp);
        put_i64(header, MAX_TIMESTAMP_OFFSET, self.max_timestamp);
        put_i32(header, RECORD_COUNT_OFFSET, self.record_count);
        stamp_producer(&mut out, producer);
        Ok(FrozenBatch {
            bytes: Bytes::from(out),
            record_count: self.record_count,
            producer,
            compression: self.compression,
            base_timestamp: self.base_timestamp,
            max_timestamp: self.max_timestamp,
            uncompressed_size,
        })
    }
}

fn encodable(key: Option<&[u8]>, value: Option<&[u8]>, headers: &[Header]) -> bool {
    let fits = |n: usize| i32::try_from(n).is_ok();
    key.is_none_or(|k| fits(k.len()))
        && value.is_none_or(|v| fits(v.len()))
        && fits(headers.len())
        && headers
            .iter()
            .all(|h| fits(h.key.len()) && h.value.as_ref().is_none_or(|v| fits(v.len())))
}

fn put_nullable(buf: &mut Vec<u8>, data: Option<&[u8]>) {
    match data {
        None => put_varint(buf, -1),
        Some(d) => {
            put_varint(buf, len_i32(d.len()));
            buf.extend_from_slice(d);
        }
    }
}

fn put_i16(buf: &mut [u8], at: usize, v: i16) {
    buf[at..at + 2].copy_from_slice(&v.to_be_bytes());
}
fn put_i32(buf: &mut [u8], at: usize, v: i32) {
    buf[at..at + 4].copy_from_slice(&v.to_be_bytes());
}
fn put_i64(buf: &mut [u8], at: usize, v: i64) {
    buf[at..at + 8].copy_from_slice(&v.to_be_bytes());
}

/// Writes producer id/epoch/base sequence and the transactional bit into a complete batch
/// (≥ 61 bytes, built by us) and recomputes its CRC32C over attributes..end.
fn stamp_producer(batch: &mut [u8], p: ProducerState) {
    put_i64(batch, PRODUCER_ID_OFFSET, p.producer_id);
    put_i16(batch, PRODUCER_EPOCH_OFFSET, p.producer_epoch);
    put_i32(batch, BASE_SEQUENCE_OFFSET, p.base_sequence);
    let attrs = i16::from_be_bytes([batch[ATTRIBUTES_OFFSET], batch[ATTRIBUTES_OFFSET + 1]]);
    let attrs = if p.transactional {
        attrs | ATTR_TRANSACTIONAL
    } else {
        attrs & !ATTR_TRANSACTIONAL
    };
    put_i16(batch, ATTRIBUTES_OFFSET, attrs);
    let crc = crc32c::crc32c(&batch[ATTRIBUTES_OFFSET..]);
    batch[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
}

/// A closed batch: the exact bytes of a v2 record batch (base offset 0; the broker assigns
/// offsets). Cloning is cheap (`Bytes`), so a retry resends the identical bytes.
#[derive(Debug, Clone)]
pub struct FrozenBatch {
    bytes: Bytes,
    record_count: i32,
    producer: ProducerState,
    compression: Compression,
    base_timestamp: i64,
    max_timestamp: i64,
    uncompressed_size: usize,
}

impl FrozenBatch {
    /// The batch bytes, for a Produce request's `records` field.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The batch bytes, by value.
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// Size on the wire.
    pub fn size_in_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Size before compression (header included).
    pub fn uncompressed_size(&self) -> usize {
        self.uncompressed_size
    }

    /// Records in the batch.
    pub fn record_count(&self) -> i32 {
        self.record_count
    }

    /// The producer identity stamped in the header.
    pub fn producer_state(&self) -> ProducerState {
        self.producer
    }

    /// The sequence of the first record (-1 for a non-idempotent batch).
    pub fn base_sequence(&self) -> i32 {
        self.producer.base_sequence
    }

    /// The sequence of the last record (`DefaultRecordBatch.lastSequence`): wraps past
    /// i32::MAX to 0; -1 for a non-idempotent batch.
    pub fn last_sequence(&self) -> i32 {
        if self.producer.base_sequence == NO_SEQUENCE {
            return NO_SEQUENCE;
        }
        increment_sequence(self.producer.base_sequence, self.record_count - 1)
    }

    /// The batch's codec.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The first record's timestamp.
    pub fn base_timestamp(&self) -> i64 {
        self.base_timestamp
    }

    /// The largest record timestamp.
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }

    /// The same records under a new producer id / epoch / base sequence (KIP-360 epoch bump,
    /// sequence reset after an unknown-producer error; Java's
    /// `ProducerBatch.resetProducerState`). The header is rewritten in a copy and the CRC
    /// recomputed; the records section is copied byte for byte, never recompressed.
    pub fn with_producer_state(&self, producer: ProducerState) -> FrozenBatch {
        let mut bytes = self.bytes.to_vec();
        stamp_producer(&mut bytes, producer);
        FrozenBatch {
            bytes: Bytes::from(bytes),
            producer,
            ..self.clone()
        }
    }
}
