//! Latency samples and the two Java summary lines.

use std::time::Duration;

/// Latencies in µs, sampled like ProducerPerformance (every k-th record, at most ~500,000).
pub struct Latencies {
    every: u64,
    seen: u64,
    sum_us: u128,
    max_us: u64,
    samples: Vec<u64>,
}

impl Latencies {
    pub fn new(n: u64) -> Latencies {
        let every = (n / n.min(500_000)).max(1);
        Latencies {
            every,
            seen: 0,
            sum_us: 0,
            max_us: 0,
            samples: Vec::with_capacity((n / every) as usize + 1),
        }
    }

    pub fn record(&mut self, us: u64, count: u64) {
        self.sum_us += u128::from(us) * u128::from(count);
        self.max_us = self.max_us.max(us);
        let before = self.seen;
        self.seen += count;
        if self.seen / self.every != before / self.every || before == 0 {
            self.samples.push(us);
        }
    }

    /// "N records sent, X records/sec (Y MB/sec), avg ms avg latency, max ms max latency, p50 ms
    /// 50th, p95 ms 95th, p99 ms 99th, p999 ms 99.9th." (MB = MiB, as Java prints it).
    pub fn producer_line(&mut self, records: u64, bytes: u64, elapsed: Duration) -> String {
        self.samples.sort_unstable();
        let pct = |p: f64| -> u64 {
            if self.samples.is_empty() {
                return 0;
            }
            let i = ((p * self.samples.len() as f64) as usize).min(self.samples.len() - 1);
            self.samples[i] / 1000
        };
        let secs = elapsed.as_secs_f64();
        let avg_ms = if self.seen == 0 {
            0.0
        } else {
            self.sum_us as f64 / self.seen as f64 / 1000.0
        };
        format!(
            "{records} records sent, {:.1} records/sec ({:.2} MB/sec), {avg_ms:.2} ms avg latency, {:.2} ms max latency, {} ms 50th, {} ms 95th, {} ms 99th, {} ms 99.9th.",
            records as f64 / secs,
            bytes as f64 / 1048576.0 / secs,
            self.max_us as f64 / 1000.0,
            pct(0.5),
            pct(0.95),
            pct(0.99),
            pct(0.999)
        )
    }
}

/// ConsumerPerformance's header and ten columns (times as epoch ms; no group, so no rebalance).
pub fn consumer_lines(start_ms: u128, end_ms: u128, records: u64, bytes: u64, elapsed: Duration) -> String {
    let mib = bytes as f64 / 1048576.0;
    let secs = elapsed.as_secs_f64();
    format!(
        "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n{start_ms}, {end_ms}, {mib:.4}, {:.4}, {records}, {:.4}, 0, {}, {:.4}, {:.4}",
        mib / secs,
        records as f64 / secs,
        elapsed.as_millis(),
        mib / secs,
        records as f64 / secs
    )
}

pub fn epoch_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}
