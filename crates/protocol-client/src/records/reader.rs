//! The batch reader: walks the concatenated v2 batches of a Fetch response's `records`
//! field. Every length is checked before it is used; nothing is allocated by a count read
//! from the wire; a record's key, value and header values are slices of the input (or of
//! the batch's one decompressed buffer).

use bytes::Bytes;

use super::varint::{get_varint, get_varlong};
use super::writer::{
    ATTRIBUTES_OFFSET, BASE_OFFSET_OFFSET, BASE_SEQUENCE_OFFSET, BASE_TIMESTAMP_OFFSET, CRC_OFFSET,
    LAST_OFFSET_DELTA_OFFSET, LENGTH_OFFSET, MAGIC_OFFSET, MAX_TIMESTAMP_OFFSET,
    PARTITION_LEADER_EPOCH_OFFSET, PRODUCER_EPOCH_OFFSET, PRODUCER_ID_OFFSET, RECORD_COUNT_OFFSET,
};
use super::{
    increment_sequence, Header, ProducerState, RecordsError, ATTR_CONTROL, ATTR_DELETE_HORIZON,
    ATTR_TIMESTAMP_TYPE, ATTR_TRANSACTIONAL, BATCH_HEADER_SIZE, LOG_OVERHEAD, MAGIC_V2, NO_SEQUENCE,
};
use crate::compression::{decompress, Compression};

/// Limits applied while reading untrusted batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Verify each batch's CRC32C (the consumer's `check.crcs`, default true).
    pub check_crcs: bool,
    /// Largest records section a compressed batch may decompress to; a batch that would
    /// inflate past it is an error (decompression-bomb guard).
    pub max_decompressed_batch_bytes: usize,
}

impl ReadLimits {
    /// The default decompressed-size limit: 64 MiB, far above Kafka's default
    /// `message.max.bytes` (1 MiB) yet small enough that a hostile batch cannot exhaust memory.
    pub const DEFAULT_MAX_DECOMPRESSED_BATCH_BYTES: usize = 64 * 1024 * 1024;

    /// Sets `check_crcs`.
    pub fn check_crcs(mut self, check: bool) -> Self {
        self.check_crcs = check;
        self
    }

    /// Sets `max_decompressed_batch_bytes`.
    pub fn max_decompressed_batch_bytes(mut self, max: usize) -> Self {
        self.max_decompressed_batch_bytes = max;
        self
    }
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            check_crcs: true,
            max_decompressed_batch_bytes: Self::DEFAULT_MAX_DECOMPRESSED_BATCH_BYTES,
        }
    }
}

/// Iterates the batches in `data` (a Fetch response partition's `records`).
///
/// A broker cuts the last batch short when it hits the fetch's max bytes; such a truncated
/// tail ends iteration cleanly (see [`BatchIter::truncated_tail_bytes`]). A malformed batch
/// yields one error, after which the iterator ends: framing can no longer be trusted.
pub fn read_batches(data: Bytes, limits: ReadLimits) -> BatchIter {
    BatchIter {
        data,
        pos: 0,
        limits,
        done: false,
        truncated: 0,
    }
}

/// Iterator over the record batches of a fetched buffer. See [`read_batches`].
#[derive(Debug)]
pub struct BatchIter {
    data: Bytes,
    pos: usize,
    limits: ReadLimits,
    done: bool,
    truncated: usize,
}

impl BatchIter {
    /// Bytes of an incomplete trailing batch that iteration skipped (0 if none, or not
    /// reached yet). A consumer that gets no complete batch while this is non-zero must
    /// raise its fetch size (Java's `RecordTooLargeException` case).
    pub fn truncated_tail_bytes(&self) -> usize {
        self.truncated
    }

    /// Offset into the input of the next batch.
    pub fn position(&self) -> usize {
        self.pos
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>, RecordsError> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        if rest.is_empty() {
            return Ok(None);
        }
        if rest.len() <= MAGIC_OFFSET {
            self.truncated = rest.len();
            return Ok(None);
        }
        let magic = rest[MAGIC_OFFSET] as i8;
        if magic != MAGIC_V2 {
            return Err(RecordsError::UnsupportedMagic(magic));
        }
        let length = read_i32(rest, LENGTH_OFFSET);
        let min = (BATCH_HEADER_SIZE - LOG_OVERHEAD) as i32;
        if length < min {
            return Err(RecordsError::InvalidBatchLength { length, min });
        }
        // length ≥ 49 > 0, and usize holds any i32 on the platforms we build for.
        let total = LOG_OVERHEAD + usize::try_from(length).unwrap_or(usize::MAX - LOG_OVERHEAD);
        if rest.len() < total {
            self.truncated = rest.len();
            return Ok(None);
        }
        let batch = self.data.slice(self.pos..self.pos + total);
        self.pos += total;
        RecordBatch::parse(batch, self.limits).map(Some)
    }
}

impl Iterator for BatchIter {
    type Item = Result<RecordBatch, RecordsError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let step = self.next_batch();
        fuse(&mut self.done, step)
    }
}

impl std::iter::FusedIterator for BatchIter {}

/// One iterator step that ends the iteration at the end of input or at the first error (after
/// an error the position is no longer trustworthy).
fn fuse<T>(done: &mut bool, step: Result<Option<T>, RecordsError>) -> Option<Result<T, RecordsError>> {
    match step {
        Ok(Some(item)) => Some(Ok(item)),
        Ok(None) => {
            *done = true;
            None
        }
        Err(e) => {
            *done = true;
            Some(Err(e))
        }
    }
}

/// What a batch's timestamps mean (attribute bit 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampType {
    /// Set by the producer.
    CreateTime,
    /// Set by the broker on append (topic `message.timestamp.type=LogAppendTime`); every
    /// record's timestamp is the batch's max timestamp.
    LogAppendTime,
}

/// One v2 record batch, parsed and CRC-checked; its records are decoded lazily by
/// [`RecordBatch::records`].
#[derive(Debug, Clone)]
pub struct RecordBatch {
    bytes: Bytes,
    base_offset: i64,
    batch_length: i32,
    partition_leader_epoch: i32,
    crc: u32,
    attributes: i16,
    last_offset_delta: i32,
    base_timestamp: i64,
    max_timestamp: i64,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    record_count: i32,
    compression: Compression,
    max_decompressed: usize,
}

impl RecordBatch {
    /// `bytes` is exactly one batch whose length field matched and whose magic is 2.
    fn parse(bytes: Bytes, limits: ReadLimits) -> Result<Self, RecordsError> {
        let b = &bytes[..];
        if b.len() < BATCH_HEADER_SIZE {
            return Err(RecordsError::Truncated {
                what: "record batch header",
            });
        }
        let crc = u32::from_be_bytes([
            b[CRC_OFFSET],
            b[CRC_OFFSET + 1],
            b[CRC_OFFSET + 2],
            b[CRC_OFFSET + 3],
        ]);
        if limits.check_crcs {
            let actual = crc32c::crc32c(&b[ATTRIBUTES_OFFSET..]);
            if actual != crc {
                return Err(RecordsError::CrcMismatch {
                    expected: crc,
                    actual,
                });
            }
        }
        let attributes = i16::from_be_bytes([b[ATTRIBUTES_OFFSET], b[ATTRIBUTES_OFFSET + 1]]);
        let compression = Compression::from_attribute_bits(attributes)?;
        let record_count = read_i32(b, RECORD_COUNT_OFFSET);
        if record_count < 0 {
            return Err(RecordsError::InvalidRecordCount(record_count));
        }
        Ok(RecordBatch {
            base_offset: read_i64(b, BASE_OFFSET_OFFSET),
            batch_length: read_i32(b, LENGTH_OFFSET),
            partition_leader_epoch: read_i32(b, PARTITION_LEADER_EPOCH_OFFSET),
            crc,
            attributes,
            last_offset_delta: read_i32(b, LAST_OFFSET_DELTA_OFFSET),
            base_timestamp: read_i64(b, BASE_TIMESTAMP_OFFSET),
            max_timestamp: read_i64(b, MAX_TIMESTAMP_OFFSET),
            producer_id: read_i64(b, PRODUCER_ID_OFFSET),
            producer_epoch: i16::from_be_bytes([b[PRODUCER_EPOCH_OFFSET], b[PRODUCER_EPOCH_OFFSET + 1]]),
            base_sequence: read_i32(b, BASE_SEQUENCE_OFFSET),
            record_count,
            compression,
            max_decompressed: limits.max_decompressed_batch_bytes,
            bytes,
        })
    }

    /// Offset of the first record.
    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }
    /// The batchLength field (bytes after it).
    pub fn batch_length(&self) -> i32 {
        self.batch_length
    }
    /// Leader epoch stamped by the broker.
    pub fn partition_leader_epoch(&self) -> i32 {
        self.partition_leader_epoch
    }
    /// Always 2.
    pub fn magic(&self) -> i8 {
        MAGIC_V2
    }
    /// The stored CRC32C.
    pub fn crc(&self) -> u32 {
        self.crc
    }
    /// The raw attributes field.
    pub fn attributes(&self) -> i16 {
        self.attributes
    }
    /// lastOffsetDelta: offset of the last record minus base offset. Compaction may have
    /// removed records, so this can exceed `record_count - 1`.
    pub fn last_offset_delta(&self) -> i32 {
        self.last_offset_delta
    }
    /// Offset of the last record the batch *covered* (base + lastOffsetDelta).
    pub fn last_offset(&self) -> i64 {
        self.base_offset.wrapping_add(i64::from(self.last_offset_delta))
    }
    /// The offset to fetch from after this batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().wrapping_add(1)
    }
    /// First record's timestamp (or the delete horizon, see [`Self::has_delete_horizon`]).
    pub fn base_timestamp(&self) -> i64 {
        self.base_timestamp
    }
    /// Largest timestamp in the batch (the append time for LogAppendTime batches).
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }
    /// Producer id, or -1.
    pub fn producer_id(&self) -> i64 {
        self.producer_id
    }
    /// Producer epoch, or -1.
    pub fn producer_epoch(&self) -> i16 {
        self.producer_epoch
    }
    /// Sequence of the first record, or -1.
    pub fn base_sequence(&self) -> i32 {
        self.base_sequence
    }
    /// Sequence of the last record (wrapping at i32::MAX), or -1.
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence == NO_SEQUENCE {
            return NO_SEQUENCE;
        }
        increment_sequence(self.base_sequence, self.last_offset_delta)
    }
    /// The recordCount field.
    pub fn record_count(&self) -> i32 {
        self.record_count
    }
    /// Producer id/epoch/base sequence/transactional, as stamped.
    pub fn producer_state(&self) -> ProducerState {
        ProducerState {
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
            base_sequence: self.base_sequence,
            transactional: self.is_transactional(),
        }
    }
    /// The records section's codec.
    pub fn compression(&self) -> Compression {
        self.compression
    }
    /// CreateTime or LogAppendTime.
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes & ATTR_TIMESTAMP_TYPE != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }
    /// Part of a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes & ATTR_TRANSACTIONAL != 0
    }
    /// Holds control records (commit/abort markers), which consumers don't surface.
    pub fn is_control(&self) -> bool {
        self.attributes & ATTR_CONTROL != 0
    }
    /// baseTimestamp holds the delete horizon set by compaction (KIP-534).
    pub fn has_delete_horizon(&self) -> bool {
        self.attributes & ATTR_DELETE_HORIZON != 0
    }
    /// The whole batch as received (to forward it without re-encoding).
    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }
    /// The records section as stored (compressed if [`Self::compression`] is not none).
    pub fn records_section(&self) -> Bytes {
        self.bytes.slice(BATCH_HEADER_SIZE..)
    }

    /// The batch's records. A compressed batch is decompressed here, once, into one buffer
    /// its records slice; a decompression failure is the iterator's single item.
    pub fn records(&self) -> RecordIter {
        let section = self.records_section();
        let (buf, error) = match self.compression {
            Compression::None => (section, None),
            codec => match decompress(codec, &section, self.max_decompressed) {
                Ok(plain) => (Bytes::from(plain), None),
                Err(e) => (Bytes::new(), Some(RecordsError::from(e))),
            },
        };
        RecordIter {
            buf,
            pos: 0,
            declared: self.record_count,
            found: 0,
            base_offset: self.base_offset,
            base_timestamp: self.base_timestamp,
            log_append_time: (self.timestamp_type() == TimestampType::LogAppendTime)
                .then_some(self.max_timestamp),
            error,
            done: false,
        }
    }
}

/// One record. Key, value and header values share the fetched (or decompressed) buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Absolute offset (base offset + offset delta).
    pub offset: i64,
    /// Create time, or the batch's append time for LogAppendTime batches.
    pub timestamp: i64,
    /// Key; `None` is null.
    pub key: Option<Bytes>,
    /// Value; `None` is null (a tombstone on compacted topics).
    pub value: Option<Bytes>,
    /// Headers in wire order, duplicates kept.
    pub headers: Vec<Header>,
}

/// Iterator over one batch's records. Yields an error (and ends) if the data is malformed
/// or holds more or fewer records than the header's recordCount.
#[derive(Debug)]
pub struct RecordIter {
    buf: Bytes,
    pos: usize,
    declared: i32,
    found: i32,
    base_offset: i64,
    base_timestamp: i64,
    log_append_time: Option<i64>,
    error: Option<RecordsError>,
    done: bool,
}

impl RecordIter {
    fn next_record(&mut self) -> Result<Option<Record>, RecordsError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.found == self.declared {
            let extra = self.buf.len().saturating_sub(self.pos);
            if extra > 0 {
                return Err(RecordsError::TrailingBytes {
                    declared: self.declared,
                    extra,
                });
            }
            return Ok(None);
        }
        if self.pos >= self.buf.len() {
            return Err(RecordsError::MissingRecords {
                declared: self.declared,
                found: self.found,
            });
        }
        let record = self.parse_record()?;
        self.found += 1;
        Ok(Some(record))
    }

    fn parse_record(&mut self) -> Result<Record, RecordsError> {
        let all = &self.buf[..];
        let mut pos = self.pos;
        let length = get_varint(all, &mut pos, "record length")?;
        let available = all.len() - pos;
        let end = usize::try_from(length)
            .ok()
            .and_then(|len| pos.checked_add(len))
            .filter(|&end| end <= all.len())
            .ok_or(RecordsError::InvalidLength {
                field: "record",
                length: i64::from(length),
                available,
            })?;
        // Parse within the record's own bytes so no field can run past its end.
        let rec = &all[..end];
        let start = pos;
        if rec.get(pos).is_none() {
            return Err(RecordsError::Truncated {
                what: "record attributes",
            });
        }
        pos += 1; // attributes: unused in v2
        let timestamp_delta = get_varlong(rec, &mut pos, "timestamp delta")?;
        let offset_delta = get_varint(rec, &mut pos, "offset delta")?;
        let key = self.nullable(rec, &mut pos, "key")?;
        let value = self.nullable(rec, &mut pos, "value")?;
        let header_count = get_varint(rec, &mut pos, "header count")?;
        let header_count = usize::try_from(header_count).map_err(|_| RecordsError::InvalidLength {
            field: "header count",
            length: i64::from(header_count),
            available: end - pos,
        })?;
        // Each header takes at least 2 bytes, so this bounds the allocation by the input.
        let mut headers = Vec::with_capacity(header_count.min((end - pos) / 2));
        for _ in 0..header_count {
            let key_len = get_varint(rec, &mut pos, "header key length")?;
            let key = self.slice(rec, &mut pos, key_len, "header key")?;
            let value = self.nullable(rec, &mut pos, "header value")?;
            headers.push(Header { key, value });
        }
        if pos != end {
            return Err(RecordsError::RecordLengthMismatch {
                declared: length,
                actual: pos - start,
            });
        }
        self.pos = end;
        Ok(Record {
            offset: self.base_offset.wrapping_add(i64::from(offset_delta)),
            timestamp: self
                .log_append_time
                .unwrap_or(self.base_timestamp.wrapping_add(timestamp_delta)),
            key,
            value,
            headers,
        })
    }

    /// A length-prefixed nullable field. Like Java's `DefaultRecord.readFrom`, any negative
    /// length reads as null.
    fn nullable(
        &self,
        rec: &[u8],
        pos: &mut usize,
        field: &'static str,
    ) -> Result<Option<Bytes>, RecordsError> {
        let len = get_varint(rec, pos, field)?;
        if len < 0 {
            return Ok(None);
        }
        self.slice(rec, pos, len, field).map(Some)
    }

    /// `len` bytes at `*pos` of the current record, as a zero-copy slice of the buffer.
    fn slice(
        &self,
        rec: &[u8],
        pos: &mut usize,
        len: i32,
        field: &'static str,
    ) -> Result<Bytes, RecordsError> {
        let available = rec.len().saturating_sub(*pos);
        let end = usize::try_from(len)
            .ok()
            .and_then(|n| pos.checked_add(n))
            .filter(|&end| end <= rec.len())
            .ok_or(RecordsError::InvalidLength {
                field,
                length: i64::from(len),
                available,
            })?;
        let out = self.buf.slice(*pos..end);
        *pos = end;
        Ok(out)
    }
}

impl Iterator for RecordIter {
    type Item = Result<Record, RecordsError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let step = self.next_record();
        fuse(&mut self.done, step)
    }
}

impl std::iter::FusedIterator for RecordIter {}

fn read_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn read_i64(b: &[u8], at: usize) -> i64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(x)
}
