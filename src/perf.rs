//! `kaflow perf`: performance tools that are drop-ins for Kafka's own.
//!
//! - `kaflow perf produce` — `kafka-producer-perf-test` (`org.apache.kafka.tools.ProducerPerformance`,
//!   Kafka 4.3.1): same flags, same output lines, same latency sampling and percentiles.
//! - `kaflow perf consume` — arrives with the consumer issue.

mod payload;
mod produce;
mod stats;
mod throttle;

use std::process::ExitCode;

const USAGE: &str = "usage: kaflow perf produce|consume [flags...]   (kaflow perf produce --help)";

/// Runs `kaflow perf <tool> args...`.
pub fn run(args: Vec<String>) -> ExitCode {
    match args.first().map(String::as_str) {
        Some("produce") => produce::run(&args[1..]),
        Some("consume") => {
            eprintln!(
                "kaflow perf consume: not implemented in this build yet (arrives with the consumer issue)"
            );
            ExitCode::from(2)
        }
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
