//! The `kaflow` command line. CLI only: every subcommand hands off to a library crate.

mod alloc;
mod distributed;
mod logging;
mod perf;
mod standalone;
mod verify_sink;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "kaflow", version, about = "Kafka Connect as one small native binary")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run a standalone worker: `kaflow standalone worker.properties connector.properties...`
    Standalone {
        /// The worker properties file, then one file per connector (.properties or .json).
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Run a distributed worker: `kaflow distributed worker.properties`
    Distributed {
        /// The worker properties file.
        worker: String,
    },
    /// Producer and consumer performance tools: `kaflow perf produce ...` and `kaflow perf
    /// consume ...` take the flags of Kafka's kafka-producer-perf-test and
    /// kafka-consumer-perf-test and print the same lines.
    #[command(disable_help_flag = true)]
    Perf {
        /// `produce` or `consume`, followed by the perf-test flags.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Check a VerifiableSink's files: per source task, missing, duplicated and out-of-order
    /// sequence numbers. Exit 0 when nothing is lost or reordered, 1 otherwise.
    VerifySink {
        /// The sink's files (task N > 0 writes to `<file>.N`).
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// Source tasks 0..N must all be present.
        #[arg(long)]
        expect_tasks: Option<u32>,
        /// Each task must have sequence numbers 0..M (default: up to the highest seen).
        #[arg(long)]
        expect_seq: Option<u64>,
        /// Fail on duplicates too (for runs with clean stops only).
        #[arg(long)]
        no_duplicates: bool,
    },
    /// List the built-in connector, transform and converter plugins.
    Plugins,
    /// Print kaflow's version and the Kafka protocol features it speaks.
    Version,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Version => {
            print!("{}", version_text());
            ExitCode::SUCCESS
        }
        Cmd::Plugins => {
            println!("connectors: {}", list_or_none(kaflow_connectors::BUILT_IN));
            println!(
                "converters: {}",
                kaflow_runtime::convert::KNOWN_CONVERTERS.join(", ")
            );
            println!(
                "header converters: {}",
                kaflow_runtime::convert::KNOWN_HEADER_CONVERTERS.join(", ")
            );
            let smts =
                kaflow_runtime::transforms::TransformRegistry::<kaflow_runtime::data::SourceRecord>::builtin(
                );
            println!("transformations: {}", smts.transform_classes().join(", "));
            println!("predicates: {}", smts.predicate_classes().join(", "));
            ExitCode::SUCCESS
        }
        Cmd::Standalone { files } => {
            let levels = logging::init();
            standalone::run(files, levels)
        }
        Cmd::Distributed { worker } => {
            let levels = logging::init();
            distributed::run(worker, levels)
        }
        Cmd::Perf { args } => perf::run(args),
        Cmd::VerifySink {
            files,
            expect_tasks,
            expect_seq,
            no_duplicates,
        } => verify_sink::run(
            &files,
            kaflow_connectors::verifiable::check::Expect {
                tasks: expect_tasks,
                seqs: expect_seq,
            },
            no_duplicates,
        ),
    }
}

fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "(none in this build yet)".to_string()
    } else {
        items.join(", ")
    }
}

fn version_text() -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "kaflow {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(s, "Allocator: {}", alloc::NAME);
    let _ = writeln!(
        s,
        "Kafka Connect compatibility target: {}",
        kaflow_runtime::CONNECT_COMPAT_VERSION
    );
    let _ = writeln!(
        s,
        "Kafka protocol: each request at the highest version both sides support (ApiVersions)."
    );
    let _ = writeln!(s, "APIs spoken (our codec's range):");
    for key in kaflow_client::versions::CLIENT_APIS {
        let r = kaflow_client::versions::codec_versions(*key);
        let _ = writeln!(s, "  {:<24} v{}..=v{}", format!("{key:?}"), r.min, r.max);
    }
    let planned: Vec<String> = kaflow_client::versions::PLANNED_APIS
        .iter()
        .map(|k| format!("{k:?}"))
        .collect();
    if !planned.is_empty() {
        let _ = writeln!(s, "Not yet: {}", planned.join(", "));
    }
    let _ = writeln!(
        s,
        "Producer: idempotent (KIP-98, KIP-360) and transactional (KIP-890 TV2, TV1), compression none/gzip/snappy/lz4/zstd\nConsumer: fetch sessions (KIP-227), read_committed, consumer groups (classic; range, roundrobin, cooperative-sticky)"
    );
    s
}
