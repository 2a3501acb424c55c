//! What the sequence-numbered sources (datagen, verifiable) share: resuming after the last
//! committed sequence number, so a restart never re-sends a record whose offset was committed.

use crate::throttle::Throttle;
use kaflow_runtime::connector::{ConnectError, ConnectResult, Props};
use kaflow_runtime::data::{SourceMap, Value};
use std::ops::Range;
use std::time::{Duration, Instant};

/// How long a finished sequence's poll waits before returning nothing, so an idle task
/// doesn't spin.
const IDLE_WAIT: Duration = Duration::from_millis(200);

/// A task's position in its sequence: the next number, the bound, the pace.
#[derive(Debug)]
pub struct Sequence {
    next: u64,
    max: Option<u64>,
    batch: u64,
    throttle: Throttle,
}

impl Sequence {
    /// Starts at `next`, ends before `max` (`None`: never), at most `batch` numbers per
    /// [`Sequence::take`], paced to `rate` per second (≤ 0: unlimited).
    pub fn new(next: u64, max: Option<u64>, batch: u64, rate: f64) -> Self {
        Sequence {
            next,
            max,
            batch: batch.max(1),
            throttle: Throttle::new(rate, Instant::now()),
        }
    }

    /// The next numbers to send, as the throttle allows; empty (after a short wait) once the
    /// sequence reached `max`.
    pub async fn take(&mut self) -> Range<u64> {
        let remaining = self.max.map_or(u64::MAX, |m| m.saturating_sub(self.next));
        if remaining == 0 {
            tokio::time::sleep(IDLE_WAIT).await;
            return self.next..self.next;
        }
        let n = self.throttle.acquire(remaining.min(self.batch)).await;
        let range = self.next..self.next + n;
        self.next += n;
        range
    }
}

/// The sequence number after a committed offset `{field: N}`: N + 1, or 0 with none.
/// The offset store hands numbers back as INT32 or INT64 depending on their size; anything
/// else fails the task rather than silently starting again from 0.
pub fn next_after(committed: Option<&SourceMap>, field: &str) -> ConnectResult<u64> {
    match committed.and_then(|o| o.get(field)) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Int64(n)) if *n >= 0 => Ok(*n as u64 + 1),
        Some(Value::Int32(n)) if *n >= 0 => Ok(*n as u64 + 1),
        Some(other) => Err(ConnectError::Failed(format!(
            "committed offset field \"{field}\" is not a sequence number: {other:?}"
        ))),
    }
}

/// One task configuration per task, each `props` plus `key` = its number (0..max_tasks; at
/// least one task).
pub fn numbered_tasks(props: &Props, max_tasks: usize, key: &str) -> Vec<Props> {
    (0..max_tasks.max(1))
        .map(|i| {
            let mut p = props.clone();
            p.insert(key.to_string(), i.to_string());
            p
        })
        .collect()
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumes_after_the_committed_number_and_refuses_corrupt_ones() {
        let at = |v: Value| SourceMap::from([("seq".to_string(), v)]);
        assert_eq!(next_after(None, "seq").unwrap(), 0);
        assert_eq!(next_after(Some(&at(Value::Null)), "seq").unwrap(), 0);
        assert_eq!(next_after(Some(&at(Value::Int64(41))), "seq").unwrap(), 42);
        assert_eq!(next_after(Some(&at(Value::Int32(7))), "seq").unwrap(), 8);
        assert!(next_after(Some(&at(Value::string("x"))), "seq").is_err());
        assert!(next_after(Some(&at(Value::Int64(-1))), "seq").is_err());
    }
}
