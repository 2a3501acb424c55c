//! Partitioning of keyed records, identical to the Java client's so that kaflow and Java
//! producers put the same key on the same partition (Kafka Connect users rely on this when
//! they mix producers on one topic).
//!
//! Java's default (`BuiltInPartitioner.partitionForKey`, and the older
//! `DefaultPartitioner`) is `toPositive(murmur2(serializedKey)) % numPartitions`. Unkeyed
//! records use the sticky partitioner (KIP-480/KIP-794), which lives with the accumulator.

/// MurmurHash2, 32-bit, exactly as `org.apache.kafka.common.utils.Utils.murmur2`: seed
/// `0x9747b28c`, little-endian 4-byte words, then the 1..=3 tail bytes XORed in with a
/// fall-through switch. Java's bytes are signed, but Kafka masks every byte with `& 0xff`
/// (words *and* tail), so no sign extension leaks into the hash; the Java-generated table
/// in the tests covers tails with bytes ≥ 0x80 to pin that down (a sign-extending port
/// would disagree on them).
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;

    // Java's length is an int; keys are far below 2 GiB, and truncation is what Java's
    // arithmetic would do anyway.
    let length = data.len() as u32;
    let mut h: u32 = SEED ^ length;

    let mut words = data.chunks_exact(4);
    for w in words.by_ref() {
        let mut k = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }

    // Java: `case 3: h ^= (data[..+2] & 0xff) << 16; case 2: ... << 8; case 1: ...; h *= m`.
    let tail = words.remainder();
    let sx = u32::from;
    match tail.len() {
        3 => {
            h ^= sx(tail[2]) << 16;
            h ^= sx(tail[1]) << 8;
            h ^= sx(tail[0]);
            h = h.wrapping_mul(M);
        }
        2 => {
            h ^= sx(tail[1]) << 8;
            h ^= sx(tail[0]);
            h = h.wrapping_mul(M);
        }
        1 => {
            h ^= sx(tail[0]);
            h = h.wrapping_mul(M);
        }
        _ => {}
    }

    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// `Utils.toPositive`: clears the sign bit (not `abs`, which overflows on `i32::MIN`).
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// The partition Java's producer picks for `key` (its serialized bytes). Returns -1
/// (Java's `RecordMetadata.UNKNOWN_PARTITION`) if `num_partitions` is not positive.
pub fn partition_for_key(key: &[u8], num_partitions: i32) -> i32 {
    if num_partitions <= 0 {
        return -1;
    }
    to_positive(murmur2(key)) % num_partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (key, Utils.murmur2(key), Utils.toPositive(Utils.murmur2(key)) % 7).
    ///
    /// Produced on this machine by running the real Java method from Apache Kafka 4.3.1:
    /// a throwaway `Murmur.java` printing `Utils.murmur2(bytes)` for each key, compiled with
    /// `javac -cp target/kafka/libs/kafka-clients-4.3.1.jar` and run with
    /// `java -cp 'target/kafka/libs/*:.' Murmur`; the output was pasted here.
    const JAVA: &[(&[u8], i32, i32)] = &[
        (&[], 275646681, 2),                                   // empty
        (&[97], -1563381124, 5),                               // "a"
        (&[97, 98], 316155434, 0),                             // "ab"
        (&[97, 98, 99], 479470107, 4),                         // "abc"
        (&[97, 98, 99, 100], -1323649548, 5),                  // "abcd"
        (&[97, 98, 99, 100, 101], 461995741, 4),               // "abcde"
        (&[97, 98, 99, 100, 101, 102], 1870650108, 5),         // "abcdef"
        (&[97, 98, 99, 100, 101, 102, 103], -346467175, 4),    // "abcdefg"
        (&[255], -311467685, 5),                               // 0xff
        (&[128, 255], -80095470, 2),                           // 0x80 0xff
        (&[128, 129, 254], 796990047, 0),                      // 0x80 0x81 0xfe
        (&[240, 241, 242, 243, 164, 181, 198], 2095257590, 6), // high word + high tail
        (
            &[107, 97, 102, 107, 97, 45, 195, 188, 226, 130, 172],
            -324408248,
            6,
        ), // "kafka-ü€" UTF-8
        (&[107, 101, 121, 45, 49], 193331640, 5),              // "key-1"
        (&[117, 115, 101, 114, 45, 52, 50], 1459644460, 1),    // "user-42"
        (b"The quick brown fox j", 521615827, 5),              // 21 bytes
    ];

    #[test]
    fn murmur2_matches_java() {
        for &(key, hash, partition) in JAVA {
            assert_eq!(murmur2(key), hash, "key {key:?}");
            assert_eq!(partition_for_key(key, 7), partition, "key {key:?}");
        }
        // Longer keys, generated the same way in Java.
        let long: Vec<u8> = (0..1000u32).map(|i| (i * 31 + 7) as u8).collect();
        assert_eq!(murmur2(&long), -974371678);
        assert_eq!(partition_for_key(&long, 7), 2);
        assert_eq!(murmur2(&[0u8; 64]), -1467872708);
        assert_eq!(partition_for_key(&[0u8; 64], 7), 1);
    }

    #[test]
    fn to_positive_and_bad_partition_counts() {
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(-1), i32::MAX);
        assert_eq!(to_positive(5), 5);
        assert_eq!(partition_for_key(b"k", 0), -1);
        assert_eq!(partition_for_key(b"k", -3), -1);
        assert_eq!(partition_for_key(b"k", 1), 0);
    }
}
