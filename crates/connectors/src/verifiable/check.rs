//! The checker: reads the VerifiableSink's JSON lines and proves, per source task, that no
//! sequence number is missing, counting duplicates and reorderings. Pure functions; the
//! `kaflow verify-sink` subcommand and the tests call them.
//!
//! ```text
//!  per source task T:  seen seqnos ─▶ missing    = expected range − seen
//!                                     duplicates = lines − distinct seqnos
//!                                     redelivered= lines whose (topic, partition, offset)
//!                                                  was already written (the sink got it again)
//!                                     out_of_order = new seqnos arriving after a higher one
//!  expected range: 0 .. --expect-seq, or 0 ..= highest seen
//! ```
//! A re-sent record (the source restarted after its last commit) is a duplicate with a new
//! Kafka offset; a redelivered one (the sink restarted after its last commit) has the same
//! offset. Neither is an error for an at-least-once pipeline; a missing seqno always is.

use std::collections::{BTreeMap, HashSet};

/// One line of the sink's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The source task (the record's key).
    pub task: i64,
    /// The sequence number (the record's value).
    pub seqno: i64,
    /// Topic the sink read it from.
    pub topic: String,
    /// Partition.
    pub partition: i64,
    /// Offset.
    pub offset: i64,
}

/// The lines of one or more sink files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lines {
    /// The well-formed lines, in file order.
    pub entries: Vec<Entry>,
    /// JSON lines without a task or seqno (records that aren't the verifiable source's).
    pub foreign: u64,
    /// Lines that aren't JSON objects of the sink's shape.
    pub malformed: u64,
    /// Whether a file ended in an unterminated line (a write under way, or torn by a kill;
    /// the sink cuts it off when it restarts). It is not counted as malformed.
    pub torn_tail: bool,
}

impl Lines {
    /// Reads one file's text and adds its lines.
    pub fn add(&mut self, text: &str) {
        let (complete, tail) = match text.rfind('\n') {
            Some(i) => (&text[..=i], &text[i + 1..]),
            None => ("", text),
        };
        self.torn_tail |= !tail.is_empty();
        for l in complete.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str::<serde_json::Value>(l) {
                Ok(v) if v.is_object() => {
                    let int = |k: &str| v.get(k).and_then(serde_json::Value::as_i64);
                    match (int("task"), int("seqno")) {
                        (Some(task), Some(seqno)) => self.entries.push(Entry {
                            task,
                            seqno,
                            topic: v
                                .get("topic")
                                .and_then(serde_json::Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                            partition: int("partition").unwrap_or(-1),
                            offset: int("offset").unwrap_or(-1),
                        }),
                        _ => self.foreign += 1,
                    }
                }
                _ => self.malformed += 1,
            }
        }
    }

    /// The lines of `text`.
    pub fn parse(text: &str) -> Self {
        let mut l = Lines::default();
        l.add(text);
        l
    }
}

/// What the run should have produced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expect {
    /// Source tasks 0..N (absent ones are reported).
    pub tasks: Option<u32>,
    /// Sequence numbers 0..M per task; without it, 0 ..= the highest seen.
    pub seqs: Option<u64>,
}

/// How many missing seqnos a report lists by number.
const LIST: usize = 10;

/// One source task's findings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskReport {
    /// Lines for this task.
    pub records: u64,
    /// Distinct seqnos.
    pub distinct: u64,
    /// The highest seqno seen.
    pub max_seqno: Option<i64>,
    /// Seqnos of the expected range never seen.
    pub missing: u64,
    /// The first few of them.
    pub first_missing: Vec<i64>,
    /// Lines repeating a seqno already seen (`records - distinct`).
    pub duplicates: u64,
    /// Of those, lines whose Kafka position was already written (sink-side redelivery).
    pub redelivered: u64,
    /// New seqnos that arrived after a higher one.
    pub out_of_order: u64,
    /// Seqnos outside the expected range.
    pub unexpected: u64,
}

/// The whole verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Per source task (expected but absent ones included, with everything missing).
    pub tasks: BTreeMap<i64, TaskReport>,
    /// Tasks seen outside `0..expect.tasks`.
    pub extra_tasks: Vec<i64>,
    /// Tasks of `0..expect.tasks` with no line at all.
    pub absent_tasks: Vec<i64>,
    /// See [`Lines::foreign`].
    pub foreign: u64,
    /// See [`Lines::malformed`].
    pub malformed: u64,
    /// See [`Lines::torn_tail`].
    pub torn_tail: bool,
}

impl Report {
    /// Missing seqnos over all tasks.
    pub fn missing(&self) -> u64 {
        self.tasks.values().map(|t| t.missing).sum()
    }
    /// Duplicates over all tasks.
    pub fn duplicates(&self) -> u64 {
        self.tasks.values().map(|t| t.duplicates).sum()
    }
    /// Sink-side redeliveries over all tasks.
    pub fn redelivered(&self) -> u64 {
        self.tasks.values().map(|t| t.redelivered).sum()
    }
    /// Reorderings over all tasks.
    pub fn out_of_order(&self) -> u64 {
        self.tasks.values().map(|t| t.out_of_order).sum()
    }
    /// Lines over all tasks.
    pub fn records(&self) -> u64 {
        self.tasks.values().map(|t| t.records).sum()
    }
    /// Nothing lost, nothing reordered, nothing foreign or unreadable (duplicates allowed).
    pub fn is_clean(&self) -> bool {
        self.missing() == 0
            && self.out_of_order() == 0
            && self.tasks.values().all(|t| t.unexpected == 0)
            && self.extra_tasks.is_empty()
            && self.absent_tasks.is_empty()
            && self.foreign == 0
            && self.malformed == 0
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (task, t) in &self.tasks {
            write!(
                f,
                "task {task}: {} records, {} distinct, max seqno {}, missing {}",
                t.records,
                t.distinct,
                t.max_seqno.map_or_else(|| "-".to_string(), |m| m.to_string()),
                t.missing
            )?;
            if !t.first_missing.is_empty() {
                let more = if t.missing > t.first_missing.len() as u64 {
                    ", …"
                } else {
                    ""
                };
                let list: Vec<String> = t.first_missing.iter().map(i64::to_string).collect();
                write!(f, " ({}{more})", list.join(", "))?;
            }
            writeln!(
                f,
                ", duplicates {} ({} redelivered), out of order {}, unexpected {}",
                t.duplicates, t.redelivered, t.out_of_order, t.unexpected
            )?;
        }
        if !self.absent_tasks.is_empty() {
            writeln!(f, "absent tasks: {:?}", self.absent_tasks)?;
        }
        if !self.extra_tasks.is_empty() {
            writeln!(f, "unexpected tasks: {:?}", self.extra_tasks)?;
        }
        if self.torn_tail {
            writeln!(f, "note: a file ends in an unterminated line (not counted)")?;
        }
        writeln!(
            f,
            "total: records={} missing={} duplicates={} redelivered={} out_of_order={} foreign={} malformed={} => {}",
            self.records(),
            self.missing(),
            self.duplicates(),
            self.redelivered(),
            self.out_of_order(),
            self.foreign,
            self.malformed,
            if self.is_clean() { "OK" } else { "FAILED" }
        )
    }
}

/// Checks `lines` against `expect`.
pub fn check(lines: &Lines, expect: &Expect) -> Report {
    let mut tasks: BTreeMap<i64, TaskReport> = BTreeMap::new();
    let mut seen: BTreeMap<i64, HashSet<i64>> = BTreeMap::new();
    let mut positions: HashSet<(&str, i64, i64)> = HashSet::new();
    let in_range = |s: i64| s >= 0 && expect.seqs.is_none_or(|m| (s as u64) < m);
    for e in &lines.entries {
        let t = tasks.entry(e.task).or_default();
        let s = seen.entry(e.task).or_default();
        t.records += 1;
        let new_position = positions.insert((e.topic.as_str(), e.partition, e.offset));
        if !s.insert(e.seqno) {
            t.duplicates += 1;
            if !new_position {
                t.redelivered += 1;
            }
            continue;
        }
        t.distinct += 1;
        if !in_range(e.seqno) {
            t.unexpected += 1;
        }
        if t.max_seqno.is_some_and(|m| e.seqno < m) {
            t.out_of_order += 1;
        }
        t.max_seqno = Some(t.max_seqno.map_or(e.seqno, |m| m.max(e.seqno)));
    }
    let mut extra_tasks = Vec::new();
    let mut absent_tasks = Vec::new();
    if let Some(n) = expect.tasks {
        for task in 0..i64::from(n) {
            if let std::collections::btree_map::Entry::Vacant(v) = tasks.entry(task) {
                absent_tasks.push(task);
                v.insert(TaskReport::default());
            }
        }
        extra_tasks = tasks
            .keys()
            .copied()
            .filter(|&t| t < 0 || t >= i64::from(n))
            .collect();
    }
    for (task, t) in tasks.iter_mut() {
        let upper = match (expect.seqs, t.max_seqno) {
            (Some(m), _) => m as i64,
            (None, Some(max)) => max + 1,
            (None, None) => 0,
        };
        let s = seen.get(task);
        for seqno in 0..upper {
            if !s.is_some_and(|s| s.contains(&seqno)) {
                t.missing += 1;
                if t.first_missing.len() < LIST {
                    t.first_missing.push(seqno);
                }
            }
        }
    }
    Report {
        tasks,
        extra_tasks,
        absent_tasks,
        foreign: lines.foreign,
        malformed: lines.malformed,
        torn_tail: lines.torn_tail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line as the sink writes it.
    fn l(task: i64, seqno: i64, offset: i64) -> String {
        format!(
            "{{\"name\":\"v\",\"offset\":{offset},\"partition\":0,\"seqno\":{seqno},\"sinkTask\":0,\"task\":{task},\"time_ms\":1,\"topic\":\"t\"}}\n"
        )
    }

    fn run(lines: &[String], expect: Expect) -> Report {
        check(&Lines::parse(&lines.concat()), &expect)
    }

    #[test]
    fn a_complete_run_is_clean() {
        let lines: Vec<String> = (0..5)
            .flat_map(|s| [l(0, s, 2 * s), l(1, s, 2 * s + 1)])
            .collect();
        let r = run(
            &lines,
            Expect {
                tasks: Some(2),
                seqs: Some(5),
            },
        );
        assert!(r.is_clean(), "{r}");
        assert_eq!((r.records(), r.missing(), r.duplicates()), (10, 0, 0));
        assert_eq!(r.tasks[&1].max_seqno, Some(4));
        assert!(r.to_string().ends_with("=> OK\n"), "{r}");
    }

    #[test]
    fn gaps_absent_tasks_and_short_runs_are_missing() {
        let lines = [l(0, 0, 0), l(0, 1, 1), l(0, 4, 2)];
        // Without expectations: the gap below the highest seqno.
        let r = run(&lines, Expect::default());
        assert_eq!(r.tasks[&0].missing, 2);
        assert_eq!(r.tasks[&0].first_missing, [2, 3]);
        assert!(!r.is_clean());
        // With them: the tail and the absent task too.
        let r = run(
            &lines,
            Expect {
                tasks: Some(2),
                seqs: Some(6),
            },
        );
        assert_eq!(r.tasks[&0].missing, 3);
        assert_eq!(r.tasks[&1].missing, 6);
        assert_eq!(r.missing(), 9);
        assert!(r.to_string().contains("missing 3 (2, 3, 5)"), "{r}");
        assert!(r.to_string().ends_with("=> FAILED\n"), "{r}");
        // An absent task fails even when the range per task isn't known.
        let r = run(
            &lines[..2],
            Expect {
                tasks: Some(2),
                seqs: None,
            },
        );
        assert_eq!((r.missing(), r.absent_tasks.clone()), (0, vec![1]));
        assert!(!r.is_clean(), "{r}");
        assert!(r.to_string().contains("absent tasks: [1]"), "{r}");
    }

    #[test]
    fn duplicates_are_counted_and_told_apart_but_allowed() {
        // Seqno 1 re-sent by the source (new offset 3), seqno 2 redelivered to the sink
        // (same offset 2).
        let lines = [
            l(0, 0, 0),
            l(0, 1, 1),
            l(0, 2, 2),
            l(0, 1, 3),
            l(0, 2, 2),
            l(0, 3, 4),
        ];
        let r = run(
            &lines,
            Expect {
                tasks: Some(1),
                seqs: Some(4),
            },
        );
        assert!(r.is_clean(), "{r}");
        assert_eq!(r.duplicates(), 2);
        assert_eq!(r.redelivered(), 1);
        assert_eq!(r.out_of_order(), 0, "a repeat is not a reordering");
    }

    #[test]
    fn reorderings_foreign_malformed_and_unexpected_are_flagged() {
        let r = run(&[l(0, 1, 0), l(0, 0, 1)], Expect::default());
        assert_eq!(r.out_of_order(), 1);
        assert!(!r.is_clean());

        let text = format!(
            "{}{}not json\n{{\"task\":null,\"seqno\":null}}\n{}{{\"torn",
            l(0, 0, 0),
            l(0, 1, 1),
            l(5, 0, 2)
        );
        let lines = Lines::parse(&text);
        assert_eq!((lines.malformed, lines.foreign, lines.torn_tail), (1, 1, true));
        let r = check(
            &lines,
            &Expect {
                tasks: Some(1),
                seqs: Some(1),
            },
        );
        assert_eq!(r.extra_tasks, [5]);
        assert_eq!(r.tasks[&0].unexpected, 1, "seqno 1 is past --expect-seq 1");
        assert!(!r.is_clean());
    }
}
