//! Kafka's `org.apache.kafka.server.util.ThroughputThrottler`, as `ProducerPerformance` uses it:
//! after each send, if the average rate since the start exceeds the target, add one record's
//! worth of sleep (1/target s) to a deficit, and sleep once the deficit reaches 2 ms.

use std::time::Duration;
use tokio::time::Instant;

const NS_PER_SEC: f64 = 1e9;
const MIN_SLEEP_NS: u64 = 2_000_000;

#[derive(Debug)]
pub struct Throttler {
    target: f64,
    start_ms: u64,
    sleep_time_ns: u64,
    sleep_deficit_ns: u64,
}

impl Throttler {
    /// `target` records/s; negative disables throttling; 0 blocks forever, as Java's does.
    pub fn new(target: f64, start_ms: u64) -> Self {
        let sleep_time_ns = if target > 0.0 {
            (NS_PER_SEC / target) as u64
        } else {
            u64::MAX
        };
        Self {
            target,
            start_ms,
            sleep_time_ns,
            sleep_deficit_ns: 0,
        }
    }

    /// Java's `shouldThrottle(amountSoFar, sendStartMs)` (elapsed seconds as a float).
    #[inline]
    pub fn should_throttle(&self, amount_so_far: u64, send_start_ms: u64) -> bool {
        if self.target < 0.0 {
            return false;
        }
        let elapsed_sec = send_start_ms.saturating_sub(self.start_ms) as f32 / 1000.0;
        elapsed_sec > 0.0 && (amount_so_far as f32 / elapsed_sec) as f64 > self.target
    }

    /// Java's `throttle()`.
    pub async fn throttle(&mut self) {
        if self.target == 0.0 {
            // Java waits for a wakeup() that ProducerPerformance never calls.
            std::future::pending::<()>().await;
        }
        self.sleep_deficit_ns = self.sleep_deficit_ns.saturating_add(self.sleep_time_ns);
        if self.sleep_deficit_ns >= MIN_SLEEP_NS {
            let start = Instant::now();
            let mut remaining = self.sleep_deficit_ns;
            while remaining > 0 {
                tokio::time::sleep(Duration::from_nanos(remaining)).await;
                let elapsed = start.elapsed().as_nanos() as u64;
                remaining = self.sleep_deficit_ns.saturating_sub(elapsed);
            }
            self.sleep_deficit_ns = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_only_above_target() {
        let t = Throttler::new(1000.0, 0);
        assert!(!t.should_throttle(10, 0), "no elapsed time yet");
        assert!(!t.should_throttle(999, 1000));
        assert!(t.should_throttle(1001, 1000));
        assert!(!Throttler::new(-1.0, 0).should_throttle(u64::MAX, 1));
    }

    #[tokio::test]
    async fn sleeps_once_the_deficit_reaches_two_ms() {
        let mut t = Throttler::new(1000.0, 0);
        let start = Instant::now();
        t.throttle().await;
        assert!(
            start.elapsed() < Duration::from_millis(1),
            "1 ms of deficit: no sleep yet"
        );
        t.throttle().await;
        assert!(start.elapsed() >= Duration::from_millis(2));
    }
}
