//! Zig-zag varints as Kafka's `ByteUtils.writeVarint`/`readVarint` (and the `Varlong`
//! variants) encode them in record bodies: protobuf-style base-128, least significant group
//! first, signed values zig-zag mapped so small negatives (the -1 of a null key) take 1 byte.

use super::RecordsError;

/// Bytes `value` takes as a zig-zag varint (1..=5).
pub(crate) const fn varint_len(value: i32) -> usize {
    let v = ((value << 1) ^ (value >> 31)) as u32;
    // Each byte carries 7 bits; 0 still takes one byte.
    let bits = 32 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Bytes `value` takes as a zig-zag varlong (1..=10).
pub(crate) const fn varlong_len(value: i64) -> usize {
    let v = ((value << 1) ^ (value >> 63)) as u64;
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

pub(crate) fn put_varint(buf: &mut Vec<u8>, value: i32) {
    let mut v = ((value << 1) ^ (value >> 31)) as u32;
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

pub(crate) fn put_varlong(buf: &mut Vec<u8>, value: i64) {
    let mut v = ((value << 1) ^ (value >> 63)) as u64;
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Reads a zig-zag varint at `*pos`, advancing it. Like Java's `readVarint`, at most 5 bytes
/// are read; bits past the 32nd in the fifth byte are dropped, as Java drops them.
pub(crate) fn get_varint(buf: &[u8], pos: &mut usize, field: &'static str) -> Result<i32, RecordsError> {
    let mut raw: u32 = 0;
    for i in 0..5 {
        let Some(&b) = buf.get(*pos) else {
            return Err(RecordsError::Truncated { what: field });
        };
        *pos += 1;
        raw |= u32::from(b & 0x7f).wrapping_shl(7 * i);
        if b & 0x80 == 0 {
            return Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32));
        }
    }
    Err(RecordsError::BadVarint { field })
}

/// Reads a zig-zag varlong (at most 10 bytes), advancing `*pos`.
pub(crate) fn get_varlong(buf: &[u8], pos: &mut usize, field: &'static str) -> Result<i64, RecordsError> {
    let mut raw: u64 = 0;
    for i in 0..10 {
        let Some(&b) = buf.get(*pos) else {
            return Err(RecordsError::Truncated { what: field });
        };
        *pos += 1;
        raw |= u64::from(b & 0x7f).wrapping_shl(7 * i);
        if b & 0x80 == 0 {
            return Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64));
        }
    }
    Err(RecordsError::BadVarint { field })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trip_and_lengths() {
        for v in [
            0,
            1,
            -1,
            63,
            -64,
            64,
            -65,
            8191,
            8192,
            i32::MAX,
            i32::MIN,
            300,
            -300,
        ] {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            assert_eq!(buf.len(), varint_len(v), "{v}");
            let mut pos = 0;
            assert_eq!(get_varint(&buf, &mut pos, "t").unwrap(), v);
            assert_eq!(pos, buf.len());
        }
        for v in [
            0,
            1,
            -1,
            i64::MAX,
            i64::MIN,
            1 << 35,
            -(1 << 35),
            1_700_000_000_000,
        ] {
            let mut buf = Vec::new();
            put_varlong(&mut buf, v);
            assert_eq!(buf.len(), varlong_len(v), "{v}");
            let mut pos = 0;
            assert_eq!(get_varlong(&buf, &mut pos, "t").unwrap(), v);
            assert_eq!(pos, buf.len());
        }
        // Kafka's encodings: -1 is 0x01, 1 is 0x02, 64 is 0x80 0x01.
        let mut buf = Vec::new();
        put_varint(&mut buf, -1);
        put_varint(&mut buf, 1);
        put_varint(&mut buf, 64);
        assert_eq!(buf, [0x01, 0x02, 0x80, 0x01]);
    }

    #[test]
    fn bad_varints() {
        let mut pos = 0;
        assert!(matches!(
            get_varint(&[0x80; 6], &mut pos, "k"),
            Err(RecordsError::BadVarint { .. })
        ));
        pos = 0;
        assert!(matches!(
            get_varint(&[0x80, 0x80], &mut pos, "k"),
            Err(RecordsError::Truncated { .. })
        ));
        pos = 0;
        assert!(matches!(
            get_varlong(&[0xff; 11], &mut pos, "k"),
            Err(RecordsError::BadVarint { .. })
        ));
        pos = 0;
        assert!(matches!(
            get_varlong(&[], &mut pos, "k"),
            Err(RecordsError::Truncated { .. })
        ));
    }
}
