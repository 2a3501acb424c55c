//! Reading a topic back with Kafka's own Java tools, and checking sequence numbers.
//!
//! ```text
//!  log_end_offsets(b, t)            GetOffsetShell  ─▶ {partition: log end offset}
//!  console_consume(b, t, n, idle)   ConsoleConsumer ─▶ ConsoleOutput ─lines()─▶ ConsoleLine
//!                                   (Partition:P \t Offset:O \t headers \t key \t value)
//!  check_consecutive(per-partition seqs in offset order) ─▶ SeqReport (duplicates, gaps, reorders)
//! ```
//!
//! The console output is parsed without allocating per record, so a million records read back
//! in well under a second. Keys, values and header values must not contain tabs or newlines
//! (header keys and values also no `,` or `:`): the formatter prints them raw. A null key, value
//! or header value prints as [`NULL`].

use crate::kafka_tool;
use std::collections::BTreeMap;
use std::time::Instant;

/// What the console consumer prints for a null key, value or header value (`null.literal`).
pub const NULL: &str = "<NULL>";

/// Log end offsets per partition, from Kafka's `GetOffsetShell` (`topic:partition:offset` lines).
pub fn log_end_offsets(bootstrap: &str, topic: &str) -> BTreeMap<i32, i64> {
    let out = kafka_tool(
        "org.apache.kafka.tools.GetOffsetShell",
        &["--bootstrap-server", bootstrap, "--topic", topic],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "GetOffsetShell failed ({}): {}\n{stdout}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut offsets = BTreeMap::new();
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        // The topic name may itself contain ':'? Not ours (unique_topic): split from the right.
        let mut parts = line.trim().rsplitn(3, ':');
        let (Some(offset), Some(partition), Some(t)) = (parts.next(), parts.next(), parts.next()) else {
            panic!("unexpected GetOffsetShell line {line:?}");
        };
        assert_eq!(t, topic, "GetOffsetShell line for another topic: {line:?}");
        let p: i32 = partition
            .parse()
            .unwrap_or_else(|_| panic!("partition in {line:?}"));
        let o: i64 = offset.parse().unwrap_or_else(|_| panic!("offset in {line:?}"));
        assert!(offsets.insert(p, o).is_none(), "partition {p} listed twice");
    }
    offsets
}

/// The captured stdout of one `ConsoleConsumer` run.
#[derive(Debug)]
pub struct ConsoleOutput {
    /// Raw stdout.
    pub stdout: Vec<u8>,
    /// Wall time of the run, JVM start included.
    pub elapsed: std::time::Duration,
}

/// One record as `ConsoleConsumer` printed it (print.partition, print.offset, print.headers,
/// print.key, print.value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleLine<'a> {
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// The headers as printed: `NO_HEADERS`, or `k:v,k:v`.
    pub headers: &'a str,
    /// The key (or [`NULL`]).
    pub key: &'a str,
    /// The value (or [`NULL`]).
    pub value: &'a str,
}

impl<'a> ConsoleLine<'a> {
    /// Parses one output line; `None` if it isn't a record line.
    pub fn parse(line: &'a str) -> Option<Self> {
        let mut f = line.splitn(5, '\t');
        let partition = f.next()?.strip_prefix("Partition:")?.parse().ok()?;
        let offset = f.next()?.strip_prefix("Offset:")?.parse().ok()?;
        let headers = f.next()?;
        let key = f.next()?;
        let value = f.next()?;
        Some(Self {
            partition,
            offset,
            headers,
            key,
            value,
        })
    }

    /// The headers as (key, value) pairs, in record order; a null value is `None`.
    pub fn header_pairs(&self) -> Vec<(&'a str, Option<&'a str>)> {
        if self.headers == "NO_HEADERS" {
            return Vec::new();
        }
        self.headers
            .split(',')
            .map(|h| {
                let (k, v) = h.split_once(':').unwrap_or((h, ""));
                (k, (v != NULL).then_some(v))
            })
            .collect()
    }
}

impl ConsoleOutput {
    /// Every record line, in output order; panics on a line that is neither a record nor empty.
    pub fn lines(&self) -> impl Iterator<Item = ConsoleLine<'_>> {
        let text = std::str::from_utf8(&self.stdout).expect("console consumer output is UTF-8");
        text.split('\n')
            .filter(|l| !l.is_empty())
            .map(|l| ConsoleLine::parse(l).unwrap_or_else(|| panic!("unparsable console line {l:?}")))
    }
}

/// Reads `max_messages` records of `topic` from the beginning with Kafka's `ConsoleConsumer`,
/// printing partition, offset, headers, key and value (nulls as [`NULL`]). The consumer exits
/// after `max_messages` or after `idle_timeout_ms` without a record; asserts it exited cleanly.
pub fn console_consume(
    bootstrap: &str,
    topic: &str,
    max_messages: u64,
    idle_timeout_ms: u64,
) -> ConsoleOutput {
    let started = Instant::now();
    let max = max_messages.to_string();
    let idle = idle_timeout_ms.to_string();
    let null_literal = format!("null.literal={NULL}");
    let mut args = vec![
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--from-beginning",
        "--max-messages",
        &max,
        "--timeout-ms",
        &idle,
    ];
    for p in [
        "print.partition=true",
        "print.offset=true",
        "print.headers=true",
        "print.key=true",
        "print.value=true",
        &null_literal,
    ] {
        args.extend(["--formatter-property", p]);
    }
    let out = kafka_tool("org.apache.kafka.tools.consumer.ConsoleConsumer", &args);
    // On an idle timeout the consumer logs the TimeoutException and still exits 0 in 4.x; the
    // caller's count check catches a short read either way.
    assert!(
        out.status.success(),
        "ConsoleConsumer failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    ConsoleOutput {
        stdout: out.stdout,
        elapsed: started.elapsed(),
    }
}

/// What [`check_consecutive`] found.
#[derive(Debug, Default)]
pub struct SeqReport {
    /// Records seen.
    pub records: u64,
    /// Records whose sequence number was already seen in their partition.
    pub duplicates: u64,
    /// Expected sequence numbers never seen.
    pub missing: u64,
    /// Records that arrived after a higher sequence number of their partition (excluding
    /// duplicates).
    pub out_of_order: u64,
    /// Records with a sequence number beyond the expected count.
    pub unexpected: u64,
    /// The first few problems, for the failure message.
    pub examples: Vec<String>,
}

impl SeqReport {
    /// True when every partition held exactly 0..count, in order, once each.
    pub fn is_clean(&self) -> bool {
        self.duplicates == 0 && self.missing == 0 && self.out_of_order == 0 && self.unexpected == 0
    }

    fn note(&mut self, what: String) {
        if self.examples.len() < 20 {
            self.examples.push(what);
        }
    }
}

impl std::fmt::Display for SeqReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} records: {} duplicates, {} missing, {} out of order, {} unexpected",
            self.records, self.duplicates, self.missing, self.out_of_order, self.unexpected
        )?;
        for e in &self.examples {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

/// Checks that each partition's sequence numbers, listed as `(offset, seq)` in offset order, are
/// exactly `0..expected[partition]`, consecutive, each once. Partitions missing from `seen` count
/// all their records as missing.
pub fn check_consecutive(seen: &BTreeMap<i32, Vec<(i64, u64)>>, expected: &BTreeMap<i32, u64>) -> SeqReport {
    let mut r = SeqReport::default();
    for (&p, &count) in expected {
        let empty = Vec::new();
        let recs = seen.get(&p).unwrap_or(&empty);
        let mut present = vec![false; count as usize];
        let mut high: Option<u64> = None;
        let mut prev_offset = -1;
        for (i, &(offset, seq)) in recs.iter().enumerate() {
            r.records += 1;
            assert!(
                offset > prev_offset,
                "partition {p}: offsets not increasing at index {i}"
            );
            prev_offset = offset;
            if seq >= count {
                r.unexpected += 1;
                r.note(format!(
                    "partition {p} offset {offset}: seq {seq} beyond expected count {count}"
                ));
                continue;
            }
            if present[seq as usize] {
                r.duplicates += 1;
                r.note(format!("partition {p} offset {offset}: duplicate seq {seq}"));
                continue;
            }
            present[seq as usize] = true;
            if high.is_some_and(|h| seq < h) {
                r.out_of_order += 1;
                r.note(format!(
                    "partition {p} offset {offset}: seq {seq} after seq {}",
                    high.unwrap_or_default()
                ));
            } else if seq != high.map_or(0, |h| h + 1) {
                r.note(format!(
                    "partition {p} offset {offset}: seq {seq} follows {high:?} (gap)"
                ));
            }
            high = Some(high.map_or(seq, |h| h.max(seq)));
        }
        let missing = present.iter().filter(|&&b| !b).count() as u64;
        if missing > 0 {
            let first = present.iter().position(|&b| !b).unwrap_or_default();
            r.note(format!(
                "partition {p}: {missing} of {count} seqs missing, first {first}"
            ));
        }
        r.missing += missing;
    }
    for (p, recs) in seen {
        if !expected.contains_key(p) {
            r.records += recs.len() as u64;
            r.unexpected += recs.len() as u64;
            r.note(format!("partition {p}: {} records, none expected", recs.len()));
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_console_lines() {
        let l = ConsoleLine::parse("Partition:3\tOffset:17\ta:1,n:<NULL>,a:x\tk1\tv\t1").unwrap();
        assert_eq!((l.partition, l.offset, l.key, l.value), (3, 17, "k1", "v\t1"));
        assert_eq!(
            l.header_pairs(),
            vec![("a", Some("1")), ("n", None), ("a", Some("x"))]
        );
        let l = ConsoleLine::parse("Partition:0\tOffset:0\tNO_HEADERS\t<NULL>\tv").unwrap();
        assert!(l.header_pairs().is_empty());
        assert!(ConsoleLine::parse("Processed a total of 3 messages").is_none());
    }

    #[test]
    fn finds_duplicates_gaps_and_reorders() {
        let expected = BTreeMap::from([(0, 4), (1, 2)]);
        let clean = BTreeMap::from([
            (0, vec![(0, 0), (1, 1), (2, 2), (3, 3)]),
            (1, vec![(0, 0), (5, 1)]),
        ]);
        assert!(check_consecutive(&clean, &expected).is_clean());
        let dup = BTreeMap::from([
            (0, vec![(0, 0), (1, 1), (2, 1), (3, 2), (4, 3)]),
            (1, vec![(0, 0), (1, 1)]),
        ]);
        let r = check_consecutive(&dup, &expected);
        assert_eq!((r.duplicates, r.missing, r.out_of_order), (1, 0, 0), "{r}");
        let reorder = BTreeMap::from([(0, vec![(0, 0), (1, 2), (2, 1), (3, 3)]), (1, vec![(0, 0)])]);
        let r = check_consecutive(&reorder, &expected);
        assert_eq!((r.duplicates, r.missing, r.out_of_order), (0, 1, 1), "{r}");
    }
}
