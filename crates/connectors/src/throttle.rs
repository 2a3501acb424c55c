//! A token bucket that paces source tasks to a rate in records per second (datagen's
//! `messages.per.second`, the verifiable source's `throughput`).
//!
//! ```text
//!  tokens += elapsed × rate   (capped at one second's worth, so an idle task can't burst
//!                              more than a second of records afterwards)
//!  take(want) ─▶ Ok(min(want, ⌊tokens⌋))  or  Err(wait until one token exists)
//! ```
//!
//! The bucket itself is pure (it is handed the time), so its arithmetic is unit-tested without
//! a clock; [`Throttle::acquire`] is the async wrapper tasks call.

use std::time::{Duration, Instant};

/// Paces to `rate` records per second; a negative or zero rate means unlimited.
#[derive(Debug, Clone)]
pub struct Throttle {
    rate: Option<f64>,
    tokens: f64,
    last: Instant,
}

impl Throttle {
    /// A throttle starting at `now` with an empty bucket (the first record waits 1/rate s).
    pub fn new(rate: f64, now: Instant) -> Self {
        Throttle {
            rate: (rate > 0.0 && rate.is_finite()).then_some(rate),
            tokens: 0.0,
            last: now,
        }
    }

    /// True when the throttle never waits.
    pub fn is_unlimited(&self) -> bool {
        self.rate.is_none()
    }

    /// Takes up to `want` tokens at `now`: how many were granted (at least one), or how long
    /// to wait before one exists.
    pub fn take(&mut self, want: u64, now: Instant) -> Result<u64, Duration> {
        let Some(rate) = self.rate else {
            return Ok(want);
        };
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        // Capacity: one second of records, and never less than one token.
        self.tokens = (self.tokens + elapsed * rate).min(rate.max(1.0));
        if self.tokens >= 1.0 {
            let granted = (self.tokens.floor() as u64).min(want);
            self.tokens -= granted as f64;
            Ok(granted)
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }

    /// Waits until at least one token exists and takes up to `want`.
    pub async fn acquire(&mut self, want: u64) -> u64 {
        loop {
            match self.take(want, Instant::now()) {
                Ok(n) => return n,
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_grants_everything_at_once() {
        let now = Instant::now();
        let mut t = Throttle::new(-1.0, now);
        assert!(t.is_unlimited());
        assert_eq!(t.take(1_000_000, now), Ok(1_000_000));
    }

    #[test]
    fn a_rate_is_kept_over_time_and_waits_are_exact() {
        let start = Instant::now();
        let mut t = Throttle::new(100.0, start);
        // Empty at first: the first record is due after 10 ms.
        assert_eq!(t.take(5, start), Err(Duration::from_millis(10)));
        // After 50 ms, five tokens.
        assert_eq!(t.take(50, start + Duration::from_millis(50)), Ok(5));
        // Granting fewer than wanted keeps the rest for later.
        assert_eq!(t.take(2, start + Duration::from_millis(100)), Ok(2));
        assert_eq!(t.take(100, start + Duration::from_millis(100)), Ok(3));
        // Over 10 s of steady asking, about 1,000 granted, never more than rate × time.
        let mut granted = 10;
        let mut now = start + Duration::from_millis(100);
        while now < start + Duration::from_secs(10) {
            match t.take(7, now) {
                Ok(n) => granted += n,
                Err(wait) => now += wait,
            }
        }
        assert!((995..=1_000).contains(&granted), "{granted}");
    }

    #[test]
    fn idle_time_buys_at_most_one_second_of_burst() {
        let start = Instant::now();
        let mut t = Throttle::new(10.0, start);
        assert_eq!(t.take(1_000, start + Duration::from_secs(60)), Ok(10));
        assert!(t.take(1, start + Duration::from_secs(60)).is_err());
        // Rates below one per second still grant single records.
        let mut slow = Throttle::new(0.5, start);
        assert_eq!(slow.take(3, start + Duration::from_secs(10)), Ok(1));
    }
}
