//! peer-rdkafka: the librdkafka peer of scripts/bench/compare.sh, and its replay ceiling.
//!
//!   peer-rdkafka produce --bootstrap B --topic T --num-records N --payload-file F
//!                        [--codec none|lz4|zstd] [--linger-ms 5] [--batch-bytes 65536]
//!                        [--buffer-bytes 33554432]
//!   peer-rdkafka consume --bootstrap B --topic T --num-records N [--timeout-ms 30000]
//!   peer-rdkafka replay  --bootstrap B --topic T --num-records N --payload-file F --partitions P
//!                        [--codec ...] [--batch-bytes 65536] [--inflight 5]
//!
//! Each prints the summary line of the Java tool it stands beside (ProducerPerformance's
//! "N records sent, ..." or ConsumerPerformance's ten columns), so compare.sh parses every peer
//! the same way. Bench-only code: errors end the run with a message, nothing is retried quietly.

mod args;
mod consume;
mod payload;
mod produce;
mod replay;
mod stats;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1);
    let mode = argv.next().unwrap_or_default();
    let opts = match args::Opts::parse(argv) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("peer-rdkafka: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match mode.as_str() {
        "produce" => produce::run(&opts),
        "consume" => consume::run(&opts),
        "replay" => replay::run(&opts),
        other => Err(format!("unknown mode {other:?} (produce, consume or replay)")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peer-rdkafka {mode}: {e}");
            ExitCode::FAILURE
        }
    }
}
