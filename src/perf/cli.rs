//! What `kaflow perf produce` and `kaflow perf consume` share: turning the arguments into the
//! tool's clap struct the way Kafka's tools behave (help on stdout with exit 0, usage errors on
//! stderr with exit 1), assembling the client properties (a config file, then command-line
//! pairs on top), the tokio runtime, and the `--print-metrics` table layout.

use clap::{CommandFactory, Parser};
use kaflow_client::Properties;
use std::future::Future;
use std::path::Path;
use std::process::ExitCode;

/// Runs a tool: parses `args` as `A`, validates them into a plan (`Err`: the message, exit 1),
/// then drives `go(plan)` on the runtime.
pub fn run<A, P, F>(
    name: &str,
    args: &[String],
    plan: impl FnOnce(A) -> Result<P, String>,
    go: impl FnOnce(P) -> F,
) -> ExitCode
where
    A: Parser + CommandFactory,
    F: Future<Output = ExitCode>,
{
    let args = match parse::<A>(name, args) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let plan = match plan(args) {
        Ok(p) => p,
        Err(msg) => {
            eprintln!("{name}: {msg}");
            return ExitCode::from(1);
        }
    };
    match runtime() {
        Ok(runtime) => runtime.block_on(go(plan)),
        Err(e) => {
            eprintln!("{name}: cannot start the runtime: {e}");
            ExitCode::from(1)
        }
    }
}

/// Parses `args` (the words after `kaflow perf <tool>`) as `T`. No arguments at all prints the
/// help, as Kafka's tools do. `Err` carries the exit code to return right away.
fn parse<T: Parser + CommandFactory>(name: &str, args: &[String]) -> Result<T, ExitCode> {
    if args.is_empty() {
        let _ = T::command().print_help();
        return Err(ExitCode::SUCCESS);
    }
    T::try_parse_from(std::iter::once(name.to_string()).chain(args.iter().cloned())).map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    })
}

/// The properties of `file` (if any) with `pairs` set on top of them, as both tools' `readProps`
/// do; the caller then sets what its flags force (e.g. `bootstrap.servers`).
pub fn read_properties(
    file: Option<&Path>,
    pairs: impl IntoIterator<Item = (String, String)>,
) -> Result<Properties, String> {
    let mut props = Properties::new();
    if let Some(file) = file {
        let text =
            std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        for (k, v) in kaflow_runtime::config::properties_file::parse(&text) {
            props.set(&k, v);
        }
    }
    for (k, v) in pairs {
        props.set(&k, v);
    }
    Ok(props)
}

/// The runtime for a run: `KAFLOW_PERF_THREADS=1` a current-thread one, `n > 1` that many
/// workers, otherwise one worker per core.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    match std::env::var("KAFLOW_PERF_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        Some(1) => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        Some(n) if n > 1 => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build(),
        _ => tokio::runtime::Builder::new_multi_thread().enable_all().build(),
    }
}

/// Prints `rows` (`group:name`, value) for `client_id` in the layout of Kafka's
/// `ToolsUtils.printMetrics`: a blank line, a header, then `name:{client-id=..} : value` sorted
/// by name and padded to the longest name.
pub fn print_metrics(client_id: &str, rows: &[(&str, f64)]) {
    let tags = format!("{{client-id={client_id}}}");
    let mut named: Vec<(String, f64)> = rows.iter().map(|(n, v)| (format!("{n}:{tags}"), *v)).collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let width = named.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    println!();
    println!("{:<width$}   Value", "Metric Name");
    for (name, value) in named {
        println!("{name:<width$} : {value:.3}");
    }
}
