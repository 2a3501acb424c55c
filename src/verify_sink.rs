//! `kaflow verify-sink FILE... [--expect-tasks N] [--expect-seq M] [--no-duplicates]`: reads
//! the VerifiableSink's files and prints, per source task, what is missing, duplicated or out
//! of order (see `kaflow_connectors::verifiable::check`). Exit 0 when nothing is lost or
//! reordered, 1 when something is, 2 when a file can't be read.

use kaflow_connectors::verifiable::check::{check, Expect, Lines};
use std::path::PathBuf;
use std::process::ExitCode;

/// Runs the check and prints the report on stdout.
pub fn run(files: &[PathBuf], expect: Expect, no_duplicates: bool) -> ExitCode {
    let mut lines = Lines::default();
    for f in files {
        match std::fs::read_to_string(f) {
            Ok(text) => lines.add(&text),
            Err(e) => {
                eprintln!("kaflow verify-sink: cannot read {}: {e}", f.display());
                return ExitCode::from(2);
            }
        }
    }
    let report = check(&lines, &expect);
    print!("{report}");
    if report.is_clean() && (!no_duplicates || report.duplicates() == 0) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
