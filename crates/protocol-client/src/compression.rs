//! Compression codecs for record batches, byte-compatible with Apache Kafka's Java client.
//!
//! A v2 record batch compresses its records section as one unit (the 61-byte batch header
//! stays uncompressed); the codec is named by the low three bits of the batch attributes.
//! What each codec writes, and why:
//!
//! | codec  | attr | written as                                            | read                        |
//! |--------|------|-------------------------------------------------------|-----------------------------|
//! | gzip   | 1    | one RFC 1952 gzip member (Java `GZIPOutputStream`)    | gzip, concatenated members  |
//! | snappy | 2    | xerial framing (Java `SnappyOutputStream`, 32 KiB)    | xerial framing or raw block |
//! | lz4    | 3    | LZ4 frame, independent 64 KiB blocks, no checksums    | any LZ4 frame               |
//! | zstd   | 4    | one standard zstd frame (Java zstd-jni `ZstdOutputStream`) | concatenated zstd frames |
//!
//! Snappy: the Java client wraps its output in xerial's `SnappyOutputStream`, which is *not*
//! the Snappy framing format from Google: a 16-byte header (`\x82SNAPPY\0`, then big-endian
//! i32 version 1 and minimum-compatible version 1) followed by chunks, each a big-endian i32
//! length and one raw snappy block of at most 32 KiB of input. Java's `SnappyInputStream`
//! falls back to treating the whole input as one raw snappy block when the magic is absent,
//! which is what librdkafka-based producers send, so we read both.
//!
//! LZ4: Kafka's `Lz4BlockInputStream` (formerly `KafkaLZ4BlockInputStream`) implements only
//! part of the LZ4 frame format: it rejects a frame descriptor whose reserved bits are set,
//! whose version is not 01, whose blocks are *dependent* (linked), or whose block-max-size
//! code is outside 4..=7 (64 KiB..4 MiB), and for magic v1/v2 it verifies the descriptor
//! checksum byte. So we write FLG=0x60 (version 01, independent blocks, no block or content
//! checksum, no content size) and BD=0x40 (64 KiB blocks), exactly what
//! `Lz4BlockOutputStream` writes. The descriptor header is therefore always
//! `04 22 4D 18 60 40 82` (a unit test pins it).
//!
//! Levels follow the producer configs of KIP-390 (Kafka 3.8): `compression.gzip.level`
//! (1..=9, or -1 for deflate's default which is 6), `compression.lz4.level` (1..=17, default 9)
//! and `compression.zstd.level` (-131072..=22, default 3). lz4_flex has a single (fast)
//! compressor, so an lz4 level is validated and recorded but does not change the output;
//! any LZ4 frame decodes the same everywhere, only the ratio differs from Java's LZ4HC.
//!
//! Decompression is bounded: [`decompress`] takes the largest output it may produce and
//! fails with [`CompressionError::OutputTooLarge`] rather than allocating past it, so a small
//! hostile batch (a "decompression bomb") cannot exhaust memory.

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

/// A record batch compression codec (`compression.type`), with Kafka's attribute codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// No compression (attribute code 0).
    #[default]
    None,
    /// gzip (attribute code 1).
    Gzip,
    /// Snappy in xerial framing (attribute code 2).
    Snappy,
    /// LZ4 frame format (attribute code 3).
    Lz4,
    /// Zstandard (attribute code 4, Kafka ≥ 2.1, KIP-110).
    Zstd,
}

/// The mask of the codec bits in the record batch attributes (bits 0..=2).
pub const COMPRESSION_CODEC_MASK: i16 = 0x07;

impl Compression {
    /// Every codec, in attribute-code order.
    pub const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    /// The codec's bits in the record batch attributes (`CompressionType.id` in Java).
    pub const fn attribute_bits(self) -> i16 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// The codec named by the low three bits of `attributes`; other bits are ignored, so a
    /// whole attributes field may be passed. Codes 5..=7 are unknown to Kafka too.
    pub fn from_attribute_bits(attributes: i16) -> Result<Self, CompressionError> {
        match attributes & COMPRESSION_CODEC_MASK {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Gzip),
            2 => Ok(Compression::Snappy),
            3 => Ok(Compression::Lz4),
            4 => Ok(Compression::Zstd),
            other => Err(CompressionError::UnknownCodec(other)),
        }
    }

    /// Kafka's `compression.type` name.
    pub const fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }

    /// The valid level range of the codec (`CompressionType.minLevel()..=maxLevel()`), or
    /// `None` for codecs without levels (none, snappy).
    pub const fn level_range(self) -> Option<(i32, i32)> {
        match self {
            Compression::None | Compression::Snappy => None,
            Compression::Gzip => Some((GZIP_MIN_LEVEL, GZIP_MAX_LEVEL)),
            Compression::Lz4 => Some((LZ4_MIN_LEVEL, LZ4_MAX_LEVEL)),
            Compression::Zstd => Some((ZSTD_MIN_LEVEL, ZSTD_MAX_LEVEL)),
        }
    }

    /// The level used when none is configured (`CompressionType.defaultLevel()`, with gzip's
    /// -1 resolved to deflate's 6); 0 for codecs without levels.
    pub const fn default_level(self) -> i32 {
        match self {
            Compression::None | Compression::Snappy => 0,
            Compression::Gzip => GZIP_DEFAULT_LEVEL,
            Compression::Lz4 => LZ4_DEFAULT_LEVEL,
            Compression::Zstd => ZSTD_DEFAULT_LEVEL,
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Compression {
    type Err = CompressionError;

    /// Parses Kafka's `compression.type` names. Java's validator is case-insensitive
    /// (`ConfigDef.CaseInsensitiveValidString`), and so is this.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        Compression::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(trimmed))
            .ok_or_else(|| CompressionError::UnknownName(s.to_owned()))
    }
}

/// `compression.gzip.level` bounds (`Deflater.BEST_SPEED..=BEST_COMPRESSION`).
pub const GZIP_MIN_LEVEL: i32 = 1;
/// See [`GZIP_MIN_LEVEL`].
pub const GZIP_MAX_LEVEL: i32 = 9;
/// Java's default is `Deflater.DEFAULT_COMPRESSION` (-1), which zlib maps to 6.
pub const GZIP_DEFAULT_LEVEL: i32 = 6;
/// `compression.lz4.level` bounds (lz4-java's LZ4HC levels).
pub const LZ4_MIN_LEVEL: i32 = 1;
/// See [`LZ4_MIN_LEVEL`].
pub const LZ4_MAX_LEVEL: i32 = 17;
/// Java's default lz4 level; at it Java uses the fast (non-HC) compressor, as we always do.
pub const LZ4_DEFAULT_LEVEL: i32 = 9;
/// `compression.zstd.level` bounds (`Zstd.minCompressionLevel()..=maxCompressionLevel()`).
pub const ZSTD_MIN_LEVEL: i32 = -131_072;
/// See [`ZSTD_MIN_LEVEL`].
pub const ZSTD_MAX_LEVEL: i32 = 22;
/// zstd's default level (`ZSTD_CLEVEL_DEFAULT`), Kafka's too.
pub const ZSTD_DEFAULT_LEVEL: i32 = 3;

/// A compression level as configured: either the codec's default or a validated level.
///
/// Kept separate from [`Compression`] because Kafka configures them separately
/// (`compression.type` plus one `compression.<codec>.level` per codec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CompressionLevel(Option<i32>);

impl CompressionLevel {
    /// The codec's default level.
    pub const DEFAULT: CompressionLevel = CompressionLevel(None);

    /// A level for `codec`, validated against Kafka's range for it. Gzip also accepts -1
    /// (`Deflater.DEFAULT_COMPRESSION`) as Java does. Codecs without levels accept anything
    /// and ignore it, as Java ignores `compression.gzip.level` when the codec is snappy.
    pub fn new(codec: Compression, level: i32) -> Result<Self, CompressionError> {
        if codec == Compression::Gzip && level == -1 {
            return Ok(CompressionLevel::DEFAULT);
        }
        match codec.level_range() {
            None => Ok(CompressionLevel::DEFAULT),
            Some((min, max)) if (min..=max).contains(&level) => Ok(CompressionLevel(Some(level))),
            Some((min, max)) => Err(CompressionError::InvalidLevel {
                codec,
                level,
                min,
                max,
            }),
        }
    }

    /// The level `codec` will actually be run at.
    pub fn effective(self, codec: Compression) -> i32 {
        self.0.unwrap_or(codec.default_level())
    }
}

/// Errors from compressing or decompressing a record batch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompressionError {
    /// Attribute codec bits 5..=7: no such codec in Kafka.
    #[error("unknown compression codec id {0} in record batch attributes (Kafka defines 0=none, 1=gzip, 2=snappy, 3=lz4, 4=zstd)")]
    UnknownCodec(i16),
    /// A `compression.type` value that names no codec.
    #[error("unknown compression.type {0:?}: expected one of none, gzip, snappy, lz4, zstd")]
    UnknownName(String),
    /// A `compression.<codec>.level` outside Kafka's range.
    #[error("invalid compression.{codec}.level {level}: must be in {min}..={max}")]
    InvalidLevel {
        /// The codec the level was given for.
        codec: Compression,
        /// The rejected level.
        level: i32,
        /// Smallest valid level.
        min: i32,
        /// Largest valid level.
        max: i32,
    },
    /// Decompressing would produce more than the caller's limit (decompression-bomb guard).
    #[error("{codec} decompression exceeds the limit of {limit} bytes (decompression bomb guard)")]
    OutputTooLarge {
        /// The codec being decompressed.
        codec: Compression,
        /// The caller's limit.
        limit: usize,
    },
    /// The compressed input is malformed.
    #[error("corrupt {codec} data: {detail}")]
    Corrupt {
        /// The codec being decompressed.
        codec: Compression,
        /// What was wrong.
        detail: String,
    },
    /// The compressor itself failed (it writes to memory, so this means a codec error).
    #[error("{codec} compression failed: {source}")]
    Compress {
        /// The codec compressing.
        codec: Compression,
        /// The underlying failure.
        #[source]
        source: io::Error,
    },
}

/// xerial snappy-java's stream magic (`SnappyCodec.MAGIC_HEADER`).
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
/// Magic + big-endian i32 version (1) + big-endian i32 minimum compatible version (1).
const XERIAL_HEADER: [u8; 16] = [
    0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1,
];
/// `SnappyOutputStream.DEFAULT_BLOCK_SIZE`, which Kafka 4.3's `SnappyCompression` uses.
const XERIAL_BLOCK_SIZE: usize = 32 * 1024;

/// Compresses `input` with `codec`, APPENDING the compressed bytes to `out` (which is not
/// cleared, so a caller can reserve a batch header in front). `Compression::None` copies.
pub fn compress(
    codec: Compression,
    level: CompressionLevel,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), CompressionError> {
    let io_err = |source| CompressionError::Compress { codec, source };
    match codec {
        Compression::None => out.extend_from_slice(input),
        Compression::Gzip => {
            let lvl = u32::try_from(level.effective(codec)).unwrap_or(6);
            let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::new(lvl));
            enc.write_all(input).map_err(io_err)?;
            enc.finish().map_err(io_err)?;
        }
        Compression::Snappy => compress_snappy_xerial(input, out).map_err(|e| io_err(io::Error::other(e)))?,
        Compression::Lz4 => {
            // FLG 0x60 / BD 0x40: what Kafka's Lz4BlockOutputStream writes and its reader accepts.
            let info = lz4_flex::frame::FrameInfo::new()
                .block_size(lz4_flex::frame::BlockSize::Max64KB)
                .block_mode(lz4_flex::frame::BlockMode::Independent)
                .block_checksums(false)
                .content_checksum(false)
                .content_size(None);
            let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, out);
            enc.write_all(input).map_err(io_err)?;
            enc.finish().map_err(|e| io_err(io::Error::other(e)))?;
        }
        Compression::Zstd => {
            let mut enc = zstd::stream::write::Encoder::new(out, level.effective(codec)).map_err(io_err)?;
            // Like zstd-jni's ZstdOutputStream: a plain frame, no dictionary.
            enc.include_checksum(false).map_err(io_err)?;
            enc.write_all(input).map_err(io_err)?;
            enc.finish().map_err(io_err)?;
        }
    }
    Ok(())
}

/// xerial framing: header, then per 32 KiB of input a big-endian i32 length + raw block.
fn compress_snappy_xerial(input: &[u8], out: &mut Vec<u8>) -> Result<(), snap::Error> {
    out.extend_from_slice(&XERIAL_HEADER);
    let mut encoder = snap::raw::Encoder::new();
    for chunk in input.chunks(XERIAL_BLOCK_SIZE) {
        let len_pos = out.len();
        out.extend_from_slice(&[0; 4]);
        let start = out.len();
        out.resize(start + snap::raw::max_compress_len(chunk.len()), 0);
        // Cannot fail in practice: a chunk of at most 32 KiB into a max_compress_len buffer.
        let n = encoder.compress(chunk, &mut out[start..])?;
        out.truncate(start + n);
        // n ≤ max_compress_len(32 KiB) < 2^31.
        let n32 = u32::try_from(n).unwrap_or(u32::MAX);
        out[len_pos..start].copy_from_slice(&n32.to_be_bytes());
    }
    Ok(())
}

/// Decompresses a whole records section. Fails with [`CompressionError::OutputTooLarge`]
/// instead of producing (or allocating for) more than `max_output` bytes.
pub fn decompress(codec: Compression, input: &[u8], max_output: usize) -> Result<Vec<u8>, CompressionError> {
    match codec {
        Compression::None => {
            if input.len() > max_output {
                return Err(CompressionError::OutputTooLarge {
                    codec,
                    limit: max_output,
                });
            }
            Ok(input.to_vec())
        }
        // Java's GZIPInputStream reads concatenated members; MultiGzDecoder does too.
        Compression::Gzip => read_bounded(codec, flate2::read::MultiGzDecoder::new(input), input, max_output),
        Compression::Snappy => decompress_snappy(input, max_output),
        Compression::Lz4 => {
            lz4_check_frames(input).map_err(|detail| CompressionError::Corrupt { codec, detail })?;
            read_bounded(
                codec,
                lz4_flex::frame::FrameDecoder::new(input),
                input,
                max_output,
            )
        }
        Compression::Zstd => ZSTD_CONTEXT.with(|context| {
            let mut context = context.borrow_mut();
            decompress_zstd(&mut context, input, max_output)
        }),
    }
}

thread_local! {
    /// One zstd decompression context per thread, reset and reused for every batch: making a
    /// fresh one per batch (its tables, then a window allocation) cost more than decoding a
    /// typical 16 KiB batch.
    static ZSTD_CONTEXT: RefCell<Option<zstd::stream::raw::Decoder<'static>>> = const { RefCell::new(None) };
}

/// Decodes every frame of `input` (concatenated frames, as zstd-jni's stream reads them).
/// The window a frame may demand is capped at 2^27 (128 MiB), libzstd's and thus zstd-jni's
/// default: the Java client reads exactly what this reads (level 22 needs the whole 2^27). The
/// window is reserved, not filled: output stops at max_output + 1 bytes, so memory actually
/// touched stays near the limit.
fn decompress_zstd(
    context: &mut Option<zstd::stream::raw::Decoder<'static>>,
    input: &[u8],
    max_output: usize,
) -> Result<Vec<u8>, CompressionError> {
    use zstd::stream::raw::{DParameter, Decoder, InBuffer, Operation, OutBuffer};
    let codec = Compression::Zstd;
    let dec = match context {
        Some(dec) => {
            // A previous batch may have stopped mid-frame (an error): start clean.
            dec.reinit().map_err(|e| corrupt(codec, &e))?;
            dec
        }
        None => {
            let mut dec = Decoder::new().map_err(|e| corrupt(codec, &e))?;
            dec.set_parameter(DParameter::WindowLogMax(ZSTD_WINDOW_LOG_MAX))
                .map_err(|e| corrupt(codec, &e))?;
            context.insert(dec)
        }
    };
    // Guess a ratio of 4 but never reserve past the limit: the input's claims aren't trusted.
    let limit = max_output.saturating_add(1);
    let mut out: Vec<u8> = Vec::with_capacity(input.len().saturating_mul(4).clamp(1, limit).min(1 << 20));
    let mut src = InBuffer::around(input);
    // Between frames: the input may end here (empty input is an empty section, as before).
    let mut between_frames = true;
    while !(between_frames && src.pos() == input.len()) {
        if out.len() == out.capacity() {
            if out.len() >= limit {
                return Err(CompressionError::OutputTooLarge {
                    codec,
                    limit: max_output,
                });
            }
            out.reserve(out.len().max(64 << 10).min(limit - out.len()));
        }
        let (read_before, pos) = (src.pos(), out.len());
        let (remaining, written) = {
            let mut dst = OutBuffer::around_pos(&mut out, pos);
            let remaining = dec.run(&mut src, &mut dst).map_err(|e| corrupt(codec, &e))?;
            (remaining, dst.pos())
        };
        between_frames = remaining == 0;
        // Out of input inside a frame and nothing more came out though there was room.
        if !between_frames && src.pos() == read_before && written == pos && written < out.capacity() {
            return Err(CompressionError::Corrupt {
                codec,
                detail: "incomplete frame".into(),
            });
        }
    }
    if out.len() > max_output {
        return Err(CompressionError::OutputTooLarge {
            codec,
            limit: max_output,
        });
    }
    Ok(out)
}

const ZSTD_WINDOW_LOG_MAX: u32 = 27;

fn corrupt(codec: Compression, err: &dyn fmt::Display) -> CompressionError {
    CompressionError::Corrupt {
        codec,
        detail: err.to_string(),
    }
}

/// Reads a streaming decoder to its end, never holding more than `max_output + 1` bytes.
fn read_bounded(
    codec: Compression,
    reader: impl Read,
    input: &[u8],
    max_output: usize,
) -> Result<Vec<u8>, CompressionError> {
    // Guess a ratio of 4 but never reserve past the limit: the input's claims aren't trusted.
    let mut out = Vec::with_capacity(input.len().saturating_mul(4).min(max_output).min(1 << 20));
    let cap = u64::try_from(max_output).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| corrupt(codec, &e))?;
    if out.len() > max_output {
        return Err(CompressionError::OutputTooLarge {
            codec,
            limit: max_output,
        });
    }
    Ok(out)
}

const LZ4_FRAME_MAGIC: u32 = 0x184D_2204;
const LZ4_SKIPPABLE_MAGIC_MASK: u32 = 0xFFFF_FFF0;
const LZ4_SKIPPABLE_MAGIC: u32 = 0x184D_2A50;

/// Walks the LZ4 frame structure (block sizes only, no decompression) to check every frame
/// is complete. lz4_flex treats input ending where a block size should be as a clean end,
/// but Java's `Lz4BlockInputStream` fails such a frame ("Stream ended prematurely"), and a
/// frame missing its end mark is a truncated batch, so we refuse it too. The descriptor and
/// block checksums are verified by lz4_flex while decoding.
fn lz4_check_frames(input: &[u8]) -> Result<(), String> {
    let u32_at = |pos: usize| -> Result<u32, String> {
        let b = input
            .get(pos..pos.saturating_add(4))
            .ok_or_else(|| format!("frame truncated at byte {pos} (stream ended prematurely)"))?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let skip = |pos: usize, n: usize| -> Result<usize, String> {
        pos.checked_add(n)
            .filter(|&end| end <= input.len())
            .ok_or_else(|| format!("frame truncated at byte {pos} (stream ended prematurely)"))
    };
    if input.is_empty() {
        return Err("empty input: no LZ4 frame".to_owned());
    }
    let mut pos = 0;
    while pos < input.len() {
        let magic = u32_at(pos)?;
        if magic & LZ4_SKIPPABLE_MAGIC_MASK == LZ4_SKIPPABLE_MAGIC {
            let size = u32_at(pos + 4)? as usize;
            pos = skip(pos, 8usize.saturating_add(size))?;
            continue;
        }
        if magic != LZ4_FRAME_MAGIC {
            return Err(format!("bad frame magic {magic:#010x} at byte {pos}"));
        }
        let flg = *input.get(pos + 4).ok_or("frame descriptor truncated")?;
        if flg >> 6 != 1 {
            return Err(format!("frame version {} is unsupported", flg >> 6));
        }
        let block_checksum = flg & 0x10 != 0;
        let content_size = flg & 0x08 != 0;
        let content_checksum = flg & 0x04 != 0;
        let dict_id = flg & 0x01 != 0;
        // magic, FLG, BD, [content size], [dict id], HC
        let header = 7 + if content_size { 8 } else { 0 } + if dict_id { 4 } else { 0 };
        pos = skip(pos, header)?;
        loop {
            let word = u32_at(pos)?;
            pos += 4;
            if word == 0 {
                if content_checksum {
                    pos = skip(pos, 4)?;
                }
                break;
            }
            let size = (word & 0x7FFF_FFFF) as usize;
            pos = skip(pos, size.saturating_add(if block_checksum { 4 } else { 0 }))?;
        }
    }
    Ok(())
}

/// Reads xerial-framed snappy (Java producers) or one raw snappy block (librdkafka).
fn decompress_snappy(input: &[u8], max_output: usize) -> Result<Vec<u8>, CompressionError> {
    let codec = Compression::Snappy;
    if !input.starts_with(&XERIAL_MAGIC) {
        let mut out = Vec::new();
        snappy_raw_block(input, &mut out, max_output)?;
        return Ok(out);
    }
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < input.len() {
        let rest = input.get(pos..).unwrap_or_default();
        // A stream header, at the start or again where xerial streams were concatenated
        // (SnappyInputStream accepts that too).
        if rest.starts_with(&XERIAL_MAGIC) {
            if rest.len() < XERIAL_HEADER.len() {
                return Err(corrupt(codec, &"truncated xerial stream header"));
            }
            pos += XERIAL_HEADER.len();
            continue;
        }
        let Some(len_bytes) = rest.get(..4) else {
            return Err(corrupt(
                codec,
                &format_args!("truncated chunk length at byte {pos}"),
            ));
        };
        let chunk_len = i32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
        let chunk = usize::try_from(chunk_len)
            .ok()
            .and_then(|len| rest.get(4..4usize.checked_add(len)?))
            .ok_or_else(|| {
                corrupt(
                    codec,
                    &format_args!(
                        "chunk length {chunk_len} at byte {pos} exceeds the {} bytes left",
                        rest.len() - 4
                    ),
                )
            })?;
        snappy_raw_block(chunk, &mut out, max_output)?;
        pos += 4 + chunk.len();
    }
    Ok(out)
}

/// Appends one decompressed raw snappy block to `out`, checking the block's declared length
/// against the remaining budget BEFORE allocating for it.
fn snappy_raw_block(block: &[u8], out: &mut Vec<u8>, max_output: usize) -> Result<(), CompressionError> {
    let codec = Compression::Snappy;
    let len = snap::raw::decompress_len(block).map_err(|e| corrupt(codec, &e))?;
    let start = out.len();
    let end = start.checked_add(len).filter(|&end| end <= max_output);
    let Some(end) = end else {
        return Err(CompressionError::OutputTooLarge {
            codec,
            limit: max_output,
        });
    };
    out.resize(end, 0);
    let written = snap::raw::Decoder::new()
        .decompress(block, &mut out[start..end])
        .map_err(|e| corrupt(codec, &e))?;
    if written != len {
        return Err(corrupt(
            codec,
            &format_args!("block declared {len} bytes but held {written}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut v = Vec::new();
        for i in 0..5000u32 {
            v.extend_from_slice(
                format!("{{\"id\":{i},\"name\":\"user-{}\",\"ok\":true}}", i % 97).as_bytes(),
            );
        }
        v
    }

    #[test]
    fn names_and_attribute_codes() {
        for (i, c) in Compression::ALL.into_iter().enumerate() {
            assert_eq!(c.attribute_bits(), i as i16);
            assert_eq!(Compression::from_attribute_bits(i as i16).unwrap(), c);
            assert_eq!(c.to_string().parse::<Compression>().unwrap(), c);
            // Other attribute bits (transactional, control, ...) are ignored.
            assert_eq!(Compression::from_attribute_bits(0x30 | i as i16).unwrap(), c);
        }
        assert_eq!("ZSTD".parse::<Compression>().unwrap(), Compression::Zstd);
        for bad in [5, 6, 7] {
            let err = Compression::from_attribute_bits(bad).unwrap_err();
            assert!(err.to_string().contains(&bad.to_string()), "{err}");
        }
        assert!("brotli"
            .parse::<Compression>()
            .unwrap_err()
            .to_string()
            .contains("brotli"));
    }

    #[test]
    fn levels_follow_kip_390() {
        assert_eq!(CompressionLevel::DEFAULT.effective(Compression::Gzip), 6);
        assert_eq!(CompressionLevel::DEFAULT.effective(Compression::Lz4), 9);
        assert_eq!(CompressionLevel::DEFAULT.effective(Compression::Zstd), 3);
        assert_eq!(
            CompressionLevel::new(Compression::Gzip, -1)
                .unwrap()
                .effective(Compression::Gzip),
            6
        );
        assert_eq!(
            CompressionLevel::new(Compression::Gzip, 9)
                .unwrap()
                .effective(Compression::Gzip),
            9
        );
        assert!(CompressionLevel::new(Compression::Gzip, 0).is_err());
        assert!(CompressionLevel::new(Compression::Gzip, 10).is_err());
        assert!(CompressionLevel::new(Compression::Lz4, 17).is_ok());
        let err = CompressionLevel::new(Compression::Lz4, 18).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid compression.lz4.level 18: must be in 1..=17"
        );
        assert!(CompressionLevel::new(Compression::Zstd, -5).is_ok());
        assert!(CompressionLevel::new(Compression::Zstd, 23).is_err());
        assert!(CompressionLevel::new(Compression::Snappy, 1234).is_ok());
    }

    #[test]
    fn every_codec_round_trips_with_every_level_edge() {
        let data = sample();
        for codec in Compression::ALL {
            let levels: Vec<CompressionLevel> = match codec.level_range() {
                None => vec![CompressionLevel::DEFAULT],
                Some((min, max)) => [min.max(-5), max, codec.default_level()]
                    .into_iter()
                    .map(|l| CompressionLevel::new(codec, l).unwrap())
                    .collect(),
            };
            for level in levels {
                for input in [&data[..], b"", b"x"] {
                    let mut out = vec![0xAA; 3]; // compress appends
                    compress(codec, level, input, &mut out).unwrap();
                    assert_eq!(&out[..3], &[0xAA; 3]);
                    let back = decompress(codec, &out[3..], input.len()).unwrap();
                    assert_eq!(back, input, "{codec} {level:?}");
                }
            }
        }
    }

    #[test]
    fn lz4_frame_descriptor_is_what_kafka_accepts() {
        let mut out = Vec::new();
        compress(Compression::Lz4, CompressionLevel::DEFAULT, &sample(), &mut out).unwrap();
        // magic 0x184D2204 LE, FLG 0x60 (v01, independent), BD 0x40 (64 KiB), HC 0x82
        assert_eq!(&out[..7], &[0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, 0x82]);
        // Ends with the EndMark (a zero u32), no content checksum.
        assert_eq!(&out[out.len() - 4..], &[0, 0, 0, 0]);
    }

    #[test]
    fn snappy_is_written_in_xerial_framing_and_raw_is_read() {
        let data = sample();
        let mut out = Vec::new();
        compress(Compression::Snappy, CompressionLevel::DEFAULT, &data, &mut out).unwrap();
        assert_eq!(&out[..16], &XERIAL_HEADER);
        // First chunk: a 32 KiB raw block.
        let len = u32::from_be_bytes(out[16..20].try_into().unwrap()) as usize;
        let first = snap::raw::Decoder::new()
            .decompress_vec(&out[20..20 + len])
            .unwrap();
        assert_eq!(first, &data[..XERIAL_BLOCK_SIZE]);
        // librdkafka writes a plain raw block.
        let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        assert_eq!(decompress(Compression::Snappy, &raw, data.len()).unwrap(), data);
        // Two concatenated xerial streams.
        let mut twice = out.clone();
        twice.extend_from_slice(&out);
        let back = decompress(Compression::Snappy, &twice, 2 * data.len()).unwrap();
        assert_eq!(back.len(), 2 * data.len());
    }

    #[test]
    fn bombs_are_refused_at_the_limit() {
        // 200 MiB of zeros: 8 MiB compressed once and repeated 25 times (every reader accepts
        // concatenated gzip members / xerial streams / LZ4 frames / zstd frames), which is
        // cheaper in a debug build than compressing 200 MiB.
        let zeros = vec![0u8; 8 * 1024 * 1024];
        for codec in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let mut one = Vec::new();
            compress(codec, CompressionLevel::DEFAULT, &zeros, &mut one).unwrap();
            let bomb = one.repeat(25);
            assert!(bomb.len() < 25 << 20, "{codec}: {}", bomb.len());
            let err = decompress(codec, &bomb, 1 << 20).unwrap_err();
            assert!(
                matches!(err, CompressionError::OutputTooLarge { limit, .. } if limit == 1 << 20),
                "{err}"
            );
            assert!(err.to_string().contains(codec.name()));
        }
        // A raw snappy block whose header claims 4 GB is refused before allocating.
        let mut liar = vec![0x80, 0x80, 0x80, 0x80, 0x0F];
        liar.extend_from_slice(&[0; 8]);
        assert!(decompress(Compression::Snappy, &liar, 1 << 20).is_err());
        assert!(decompress(Compression::None, &[0; 10], 9).is_err());
    }

    #[test]
    fn zstd_context_reused_after_errors_and_across_frames() {
        let data = sample();
        let mut one = Vec::new();
        compress(Compression::Zstd, CompressionLevel::DEFAULT, &data, &mut one).unwrap();
        // The thread's context stopped mid-frame, then over its limit: the next batch is whole.
        assert!(decompress(Compression::Zstd, &one[..one.len() / 2], data.len()).is_err());
        assert!(decompress(Compression::Zstd, &one, data.len() - 1).is_err());
        assert_eq!(decompress(Compression::Zstd, &one, data.len()).unwrap(), data);
        // Concatenated frames read as one stream, as zstd-jni's does.
        let three = one.repeat(3);
        assert_eq!(
            decompress(Compression::Zstd, &three, 3 * data.len()).unwrap(),
            data.repeat(3)
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut rng = 0x1234_5678_u32;
        for codec in Compression::ALL {
            for len in [0usize, 1, 3, 7, 16, 17, 20, 64, 300] {
                let mut junk: Vec<u8> = (0..len)
                    .map(|_| {
                        rng ^= rng << 13;
                        rng ^= rng >> 17;
                        rng ^= rng << 5;
                        rng as u8
                    })
                    .collect();
                let _ = decompress(codec, &junk, 1 << 16);
                if codec == Compression::Snappy && len >= 16 {
                    junk[..16].copy_from_slice(&XERIAL_HEADER);
                    let _ = decompress(codec, &junk, 1 << 16);
                }
            }
        }
        // Truncated valid streams.
        let data = sample();
        for codec in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let mut out = Vec::new();
            compress(codec, CompressionLevel::DEFAULT, &data, &mut out).unwrap();
            for cut in [1, 5, 10, out.len() / 2, out.len() - 1] {
                assert!(
                    decompress(codec, &out[..cut], data.len()).is_err(),
                    "{codec} cut {cut}"
                );
            }
        }
    }
}
