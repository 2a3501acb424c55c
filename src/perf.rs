//! `kaflow perf`: performance tools that are drop-ins for Kafka's own.
//!
//! - `kaflow perf produce` — `kafka-producer-perf-test` (`org.apache.kafka.tools.ProducerPerformance`,
//!   Kafka 4.3.1): same flags, same output lines, same latency sampling and percentiles.
//! - `kaflow perf consume` — `kafka-consumer-perf-test` (`org.apache.kafka.tools.ConsumerPerformance`,
//!   Kafka 4.3.1): same flags, same header and summary line.

mod cli;
mod consume;
mod payload;
mod produce;
mod stats;
mod throttle;

use std::process::ExitCode;

const USAGE: &str = "usage: kaflow perf produce|consume [flags...]   (kaflow perf produce --help, kaflow perf consume --help)";

/// Runs `kaflow perf <tool> args...`.
pub fn run(args: Vec<String>) -> ExitCode {
    match args.first().map(String::as_str) {
        Some("produce") => produce::run(&args[1..]),
        Some("consume") => consume::run(&args[1..]),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("kaflow perf: unknown tool {other:?}\n{USAGE}");
            ExitCode::from(1)
        }
        None => {
            eprintln!("{USAGE}");
            ExitCode::from(1)
        }
    }
}
