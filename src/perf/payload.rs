//! Record payloads, generated as `ProducerPerformance` does: random uppercase letters from
//! `java.util.SplittableRandom(0)`, a random line of a payload file, or a monotonic counter.
//!
//! Every mode hands the producer a `Bytes` without a per-record allocation:
//! - `Pool` (the default for `--record-size`): one buffer of distinct payloads generated up front
//!   (about 1 MiB, at least 8 records), handed out in turn as zero-copy slices. The payloads are
//!   the exact byte sequence Java's tool produces for its first records; the pool repeats only
//!   after far more records than a batch holds, so per-batch compression sees what Java's sees.
//! - `Regenerate` (`--payload-regenerate`): Java's per-record work: fill the payload with new
//!   random letters for every record. The bytes go into a reused `BytesMut` whose storage is
//!   reclaimed once the producer has copied the previous record into its batch.
//! - `File`: the file's pieces, sliced zero-copy out of one buffer, chosen with the same random
//!   sequence as Java's (`nextInt(pieces)`), so both tools send the same records in the same order.
//! - `Monotonic`: the record's index in decimal, written into a reused `BytesMut`.

use bytes::{Bytes, BytesMut};
use std::fmt::Write as _;

/// `java.util.SplittableRandom`: the same sequence as Java's for the same seed.
#[derive(Debug, Clone)]
pub struct SplittableRandom {
    seed: u64,
}

impl SplittableRandom {
    const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

    pub fn new(seed: u64) -> Self {
        Self { seed }
    }

    fn mix32(z: u64) -> i32 {
        let z = (z ^ (z >> 33)).wrapping_mul(0x62a9_d9ed_7997_05f5);
        ((z ^ (z >> 28)).wrapping_mul(0xcb24_d0a5_c88c_35b3) >> 32) as i32
    }

    fn next_int(&mut self) -> i32 {
        self.seed = self.seed.wrapping_add(Self::GOLDEN_GAMMA);
        Self::mix32(self.seed)
    }

    /// `nextInt(bound)` (`RandomSupport.boundedNextInt`), `bound > 0`.
    pub fn next_int_bounded(&mut self, bound: i32) -> i32 {
        debug_assert!(bound > 0);
        let mut r = self.next_int();
        let m = bound - 1;
        if bound & m == 0 {
            return r & m;
        }
        let mut u = ((r as u32) >> 1) as i32;
        loop {
            r = u % bound;
            if u.wrapping_add(m).wrapping_sub(r) >= 0 {
                return r;
            }
            u = ((self.next_int() as u32) >> 1) as i32;
        }
    }

    /// Fills `buf` with uppercase letters, one `nextInt(26)` per byte (Java's payload loop).
    pub fn fill_letters(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = (self.next_int_bounded(26) + 65) as u8;
        }
    }
}

/// Target size of the pre-generated payload pool.
const POOL_BYTES: usize = 1 << 20;
const POOL_MIN_RECORDS: usize = 8;

/// Where each record's value comes from.
#[derive(Debug)]
pub enum Payloads {
    Pool {
        pool: Bytes,
        size: usize,
        count: usize,
        next: usize,
    },
    Regenerate {
        buf: BytesMut,
        size: usize,
        random: SplittableRandom,
    },
    File {
        pieces: Vec<Bytes>,
        random: SplittableRandom,
    },
    Monotonic {
        buf: BytesMut,
        next: u64,
    },
}

impl Payloads {
    /// `--record-size size` from a pre-generated pool.
    pub fn pool(size: usize) -> Self {
        let count = (POOL_BYTES / size.max(1)).max(POOL_MIN_RECORDS);
        let mut buf = vec![0u8; size * count];
        SplittableRandom::new(0).fill_letters(&mut buf);
        Self::Pool {
            pool: Bytes::from(buf),
            size,
            count,
            next: 0,
        }
    }

    /// `--record-size size --payload-regenerate`: new random letters for every record.
    pub fn regenerate(size: usize) -> Self {
        Self::Regenerate {
            buf: BytesMut::with_capacity(size),
            size,
            random: SplittableRandom::new(0),
        }
    }

    /// `--payload-file`: `data` split on `delimiter` (a literal string).
    pub fn file(data: Vec<u8>, delimiter: &[u8]) -> Self {
        Self::File {
            pieces: split_pieces(Bytes::from(data), delimiter),
            random: SplittableRandom::new(0),
        }
    }

    /// `--payload-monotonic`.
    pub fn monotonic() -> Self {
        Self::Monotonic {
            buf: BytesMut::with_capacity(24),
            next: 0,
        }
    }

    /// How many distinct payloads a file gave (`None` for the other modes).
    pub fn file_pieces(&self) -> Option<usize> {
        match self {
            Self::File { pieces, .. } => Some(pieces.len()),
            _ => None,
        }
    }

    /// The next record's value.
    #[inline]
    pub fn next_value(&mut self) -> Bytes {
        match self {
            Self::Pool {
                pool,
                size,
                count,
                next,
            } => {
                let start = *next * *size;
                *next += 1;
                if *next == *count {
                    *next = 0;
                }
                pool.slice(start..start + *size)
            }
            Self::Regenerate { buf, size, random } => {
                // Reclaims the storage of the previous value, which the producer has dropped.
                buf.reserve(*size);
                buf.resize(*size, 0);
                random.fill_letters(&mut buf[..]);
                buf.split().freeze()
            }
            Self::File { pieces, random } => {
                let i = random.next_int_bounded(pieces.len() as i32) as usize;
                pieces[i].clone()
            }
            Self::Monotonic { buf, next } => {
                buf.reserve(24);
                let _ = write!(buf, "{next}");
                *next += 1;
                buf.split().freeze()
            }
        }
    }
}

/// Splits `data` on a literal delimiter like `java.util.Scanner` tokens: a leading delimiter
/// and a trailing one are skipped, empty pieces in between are kept.
fn split_pieces(data: Bytes, delimiter: &[u8]) -> Vec<Bytes> {
    let mut pieces = Vec::new();
    if delimiter.is_empty() {
        if !data.is_empty() {
            pieces.push(data);
        }
        return pieces;
    }
    let mut start = 0;
    if data.starts_with(delimiter) {
        start = delimiter.len();
    }
    let mut i = start;
    while i + delimiter.len() <= data.len() {
        if &data[i..i + delimiter.len()] == delimiter {
            pieces.push(data.slice(start..i));
            i += delimiter.len();
            start = i;
        } else {
            i += 1;
        }
    }
    if start < data.len() {
        pieces.push(data.slice(start..));
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first 40 letters `ProducerPerformance` sends with `--record-size` (from Java 17's
    /// `new SplittableRandom(0)`, `nextInt(26) + 65` per byte).
    const JAVA_FIRST_40: &[u8] = b"YQHHNEBSEPDNSEIFGAMSUJXKOLTXSPLGHDIOYZJF";

    #[test]
    fn letters_match_java() {
        let mut buf = [0u8; 40];
        SplittableRandom::new(0).fill_letters(&mut buf);
        assert_eq!(&buf[..], JAVA_FIRST_40, "{}", String::from_utf8_lossy(&buf));
    }

    #[test]
    fn pool_and_regenerate_agree_and_reclaim() {
        let mut pool = Payloads::pool(20);
        let mut regen = Payloads::regenerate(20);
        assert_eq!(&pool.next_value()[..], &JAVA_FIRST_40[..20]);
        let first = regen.next_value();
        assert_eq!(&first[..], &JAVA_FIRST_40[..20]);
        drop(first);
        for _ in 0..100 {
            assert_eq!(pool.next_value(), regen.next_value());
        }
    }

    #[test]
    fn bounded_ints_match_java() {
        let mut r = SplittableRandom::new(0);
        let got: Vec<i32> = (0..10).map(|_| r.next_int_bounded(7)).collect();
        assert_eq!(got, [6, 2, 0, 5, 4, 6, 3, 2, 2, 2]);
    }

    #[test]
    fn monotonic_counts() {
        let mut p = Payloads::monotonic();
        assert_eq!(&p.next_value()[..], b"0");
        assert_eq!(&p.next_value()[..], b"1");
    }

    #[test]
    fn file_pieces_like_scanner() {
        let p = split_pieces(Bytes::from_static(b"\na\n\nb\n"), b"\n");
        assert_eq!(
            p,
            vec![Bytes::from_static(b"a"), Bytes::new(), Bytes::from_static(b"b")]
        );
        let p = split_pieces(Bytes::from_static(b"x||y"), b"||");
        assert_eq!(p, vec![Bytes::from_static(b"x"), Bytes::from_static(b"y")]);
    }
}
