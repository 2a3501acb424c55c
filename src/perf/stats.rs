//! `ProducerPerformance.Stats`, line for line: counts, a window printed every reporting interval
//! (checked when a record completes), and latencies sampled into a fixed array (every
//! `n / min(n, 500000)`-th record) whose sorted values give the percentiles.

use std::time::Instant;

/// Milliseconds since the tool started, from a monotonic clock. Latency is the difference of
/// two such truncated stamps, as Java's is of two `System.currentTimeMillis()` values.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
}

impl Clock {
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }

    #[inline]
    pub fn ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }
}

#[derive(Debug)]
pub struct Stats {
    clock: Clock,
    start: u64,
    latencies: Vec<u32>,
    sampling: u64,
    reporting_interval: u64,
    iteration: u64,
    index: usize,
    count: u64,
    bytes: u64,
    max_latency: u32,
    total_latency: u64,
    window_count: u64,
    window_max_latency: u32,
    window_total_latency: u64,
    window_bytes: u64,
    window_start: u64,
    steady_state: bool,
    suppress_print: bool,
}

impl Stats {
    /// Stats for `num_records` (> 0) records, started at `start` (ms on `clock`).
    pub fn new(
        clock: Clock,
        start: u64,
        num_records: u64,
        steady_state: bool,
        reporting_interval: u64,
    ) -> Self {
        let num_records = num_records.max(1);
        let sampling = num_records / num_records.min(500_000);
        Self {
            clock,
            start,
            latencies: vec![0; (num_records / sampling) as usize + 1],
            sampling,
            reporting_interval,
            iteration: 0,
            index: 0,
            count: 0,
            bytes: 0,
            max_latency: 0,
            total_latency: 0,
            window_count: 0,
            window_max_latency: 0,
            window_total_latency: 0,
            window_bytes: 0,
            window_start: start,
            steady_state,
            suppress_print: false,
        }
    }

    /// One delivered record: `latency` ms, `bytes` of payload, completed at `time` (ms).
    #[inline]
    pub fn record(&mut self, latency: u32, bytes: u32, time: u64) {
        self.count += 1;
        self.bytes += u64::from(bytes);
        self.total_latency += u64::from(latency);
        self.max_latency = self.max_latency.max(latency);
        self.window_count += 1;
        self.window_bytes += u64::from(bytes);
        self.window_total_latency += u64::from(latency);
        self.window_max_latency = self.window_max_latency.max(latency);
        if self.iteration % self.sampling == 0 {
            if let Some(slot) = self.latencies.get_mut(self.index) {
                *slot = latency;
            }
            self.index += 1;
        }
        if time.saturating_sub(self.window_start) >= self.reporting_interval {
            if self.steady_state && self.count == self.window_count {
                println!("In steady state.");
            }
            if !self.suppress_print {
                println!("{}", self.window_line(self.clock.ms()));
            }
            self.new_window();
        }
        self.iteration += 1;
    }

    pub fn suppress_printing(&mut self) {
        self.suppress_print = true;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    fn new_window(&mut self) {
        self.window_start = self.clock.ms();
        self.window_count = 0;
        self.window_max_latency = 0;
        self.window_total_latency = 0;
        self.window_bytes = 0;
    }

    /// `printWindow()`'s line.
    pub fn window_line(&self, now: u64) -> String {
        let elapsed = now.saturating_sub(self.window_start) as f64;
        let recs_per_sec = 1000.0 * self.window_count as f64 / elapsed;
        let mb_per_sec = 1000.0 * self.window_bytes as f64 / elapsed / (1024.0 * 1024.0);
        format!(
            "{} records sent, {:.1} records/sec ({:.2} MB/sec), {:.1} ms avg latency, {:.1} ms max latency.",
            self.window_count,
            recs_per_sec,
            mb_per_sec,
            self.window_total_latency as f64 / self.window_count as f64,
            f64::from(self.window_max_latency),
        )
    }

    /// `printTotal()`'s line (sorts the sampled latencies).
    pub fn total_line(&mut self, now: u64) -> String {
        let elapsed = now.saturating_sub(self.start) as f64;
        let recs_per_sec = 1000.0 * self.count as f64 / elapsed;
        let mb_per_sec = 1000.0 * self.bytes as f64 / elapsed / (1024.0 * 1024.0);
        let size = self.index.min(self.latencies.len());
        self.latencies[..size].sort_unstable();
        let perc = |p: f64| self.latencies[(p * size as f64) as usize];
        format!(
            "{}{} records sent, {:.6} records/sec ({:.2} MB/sec), {:.2} ms avg latency, {:.2} ms max latency, \
             {} ms 50th, {} ms 95th, {} ms 99th, {} ms 99.9th.",
            self.count,
            if self.steady_state { " steady state" } else { "" },
            recs_per_sec,
            mb_per_sec,
            self.total_latency as f64 / self.count as f64,
            f64::from(self.max_latency),
            perc(0.5),
            perc(0.95),
            perc(0.99),
            perc(0.999),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_javas_format() {
        let clock = Clock::new();
        let mut s = Stats::new(clock, 0, 4, false, u64::MAX);
        for (lat, t) in [(10, 100), (20, 200), (30, 300), (40, 400)] {
            s.record(lat, 100, t);
        }
        assert_eq!(
            s.window_line(1000),
            "4 records sent, 4.0 records/sec (0.00 MB/sec), 25.0 ms avg latency, 40.0 ms max latency."
        );
        assert_eq!(
            s.total_line(2000),
            "4 records sent, 2.000000 records/sec (0.00 MB/sec), 25.00 ms avg latency, 40.00 ms max latency, \
             30 ms 50th, 40 ms 95th, 40 ms 99th, 40 ms 99.9th."
        );
    }

    #[test]
    fn samples_like_java() {
        let mut s = Stats::new(Clock::new(), 0, 1_000_001, true, u64::MAX);
        assert_eq!(s.sampling, 2);
        assert_eq!(s.latencies.len(), 500_001);
        for i in 0..1_000_001u32 {
            s.record(i % 7, 1, 0);
        }
        assert_eq!(s.index, 500_001);
        assert!(s.total_line(1).starts_with("1000001 steady state records sent"));
    }
}
