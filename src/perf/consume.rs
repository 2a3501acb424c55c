//! `kaflow perf consume`: a drop-in for `kafka-consumer-perf-test`
//! (`org.apache.kafka.tools.ConsumerPerformance`, Kafka 4.3.1).
//!
//! ```text
//!  header ─▶ props (file, --command-property, then the flags Java forces) ─▶ GroupConsumer
//!  start ─▶ loop: poll(100 ms) ─▶ count records and key+value bytes
//!           until --num-records are read or --timeout ms pass without a record
//!  end ─▶ one summary line (or, with --show-detailed-stats, a line per reporting interval)
//! ```
//! Like Java, the consumer joins `--group` (a random `perf-consumer-N` by default) subscribed to
//! `--topic` or the `--include` pattern, starts at the earliest offset unless `--from-latest`,
//! skips CRC checks and commits automatically; the time from the start to the first assignment
//! is the rebalance time, reported apart from the fetch time. `--date-format` is a
//! SimpleDateFormat pattern (the runtime's, shared with the timestamp SMTs), formatted in UTC.

use super::cli;
use clap::Parser;
use kaflow_client::consumer::GroupConsumer;
use kaflow_client::Properties;
use kaflow_runtime::transforms::datefmt::DateFormat;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long each poll waits, as Java's loop does.
const POLL: Duration = Duration::from_millis(100);

/// Consumes records and reports throughput, with the flags and output of Kafka's
/// kafka-consumer-perf-test.
#[derive(Debug, Parser)]
#[command(
    name = "kaflow perf consume",
    about = "This tool is used to verify the consumer performance. (--version: display the version.)",
    disable_version_flag = true,
    // joptsimple accepts any unambiguous prefix of a long option.
    infer_long_args = true
)]
struct Args {
    /// REQUIRED: The server(s) to connect to.
    #[arg(long, value_name = "server to connect to")]
    bootstrap_server: Option<String>,
    /// The topic to consume from.
    #[arg(long, value_name = "topic")]
    topic: Option<String>,
    /// Regular expression specifying list of topics to include for consumption.
    #[arg(long, value_name = "Java regex (String)")]
    include: Option<String>,
    /// The group id to consume on. (default: perf-consumer-<random>)
    #[arg(long, value_name = "gid")]
    group: Option<String>,
    /// The maximum amount of data to fetch from a single partition per request.
    #[arg(long, value_name = "size", default_value_t = 1024 * 1024, allow_negative_numbers = true)]
    fetch_size: i32,
    /// Kafka consumer related configuration properties like client.id. These configs take
    /// precedence over those passed via --command-config or --consumer.config.
    #[arg(long = "command-property", value_name = "prop1=val1")]
    command_property: Vec<String>,
    /// If the consumer does not already have an established offset to consume from, start with
    /// the latest record present in the log rather than the earliest record.
    #[arg(long)]
    from_latest: bool,
    /// The size of the tcp RECV size (accepted; kaflow leaves the socket's buffer to the OS).
    #[arg(long, value_name = "size", default_value_t = 2 * 1024 * 1024, allow_negative_numbers = true)]
    socket_buffer_size: i32,
    /// (DEPRECATED) Consumer config properties file. This option will be removed in a future
    /// version. Use --command-config instead.
    #[arg(long = "consumer.config", value_name = "config file")]
    consumer_config: Option<PathBuf>,
    /// Config properties file.
    #[arg(long = "command-config", value_name = "config file")]
    command_config: Option<PathBuf>,
    /// Print out the metrics.
    #[arg(long)]
    print_metrics: bool,
    /// If set, stats are reported for each reporting interval as configured by
    /// reporting-interval.
    #[arg(long)]
    show_detailed_stats: bool,
    /// The maximum allowed time in milliseconds between returned records.
    #[arg(
        long,
        value_name = "milliseconds",
        num_args = 0..=1,
        default_value_t = 10_000,
        default_missing_value = "10000",
        allow_negative_numbers = true
    )]
    timeout: i64,
    /// (DEPRECATED) The number of records to consume. This option will be removed in a future
    /// version. Use --num-records instead.
    #[arg(long, value_name = "count", allow_negative_numbers = true)]
    messages: Option<i64>,
    /// REQUIRED: The number of records to consume.
    #[arg(long, value_name = "count", allow_negative_numbers = true)]
    num_records: Option<i64>,
    /// Interval in milliseconds at which to print progress info.
    #[arg(long, value_name = "interval_ms", default_value_t = 5000)]
    reporting_interval: u64,
    /// The date format to use for formatting the time field. See java.text.SimpleDateFormat for
    /// options.
    #[arg(long, value_name = "date format", default_value = "yyyy-MM-dd HH:mm:ss:SSS")]
    date_format: String,
    /// If set, skips printing the header for the stats.
    #[arg(long)]
    hide_header: bool,
}

/// What to subscribe to.
enum Subscription {
    Topic(String),
    Pattern(String),
}

/// Everything the run needs, validated.
struct Plan {
    subscription: Subscription,
    num_records: i64,
    timeout_ms: i64,
    reporting_interval: u64,
    detailed: bool,
    hide_header: bool,
    print_metrics: bool,
    date_format: DateFormat,
    props: Properties,
}

/// Runs the tool with the arguments after `consume`.
pub fn run(args: &[String]) -> ExitCode {
    if args.iter().any(|a| a == "--version") {
        println!(
            "{} (kaflow; the flags of Kafka 4.3.1's ConsumerPerformance)",
            env!("CARGO_PKG_VERSION")
        );
        return ExitCode::SUCCESS;
    }
    cli::run("kaflow perf consume", args, plan, consume)
}

/// Validates like `ConsumerPerfOptions` and assembles the consumer properties as its `props()`.
fn plan(a: Args) -> Result<Plan, String> {
    let Some(bootstrap) = a.bootstrap_server else {
        return Err("Missing required argument \"[bootstrap-server]\"".into());
    };
    let subscription = match (a.topic, a.include) {
        (Some(t), None) => Subscription::Topic(t),
        (None, Some(p)) => Subscription::Pattern(p),
        _ => return Err("Exactly one of the following arguments is required: [topic], [include]".into()),
    };
    let num_records = match (a.messages, a.num_records) {
        (Some(n), None) => {
            println!("Warning: --messages is deprecated. Use --num-records instead.");
            n
        }
        (None, Some(n)) => n,
        _ => {
            return Err(
                "Exactly one of the following arguments is required: [messages], [num-records]".into(),
            )
        }
    };
    if a.consumer_config.is_some() && a.command_config.is_some() {
        return Err("Option \"[consumer.config]\" can't be used with option \"[command-config]\"".into());
    }
    if a.consumer_config.is_some() {
        println!("Warning: --consumer.config is deprecated. Use --command-config instead.");
    }
    if a.reporting_interval == 0 {
        return Err("Reporting interval must be greater than 0.".into());
    }
    let date_format = DateFormat::new(&a.date_format)?;

    // props(): the file, then --command-property (Java's parseKeyValueArgs: split at the first
    // '=', a missing value is empty), then what the flags force.
    let pairs = a.command_property.iter().map(|p| match p.split_once('=') {
        Some((k, v)) => (k.to_string(), v.to_string()),
        None => (p.clone(), String::new()),
    });
    let file = a.consumer_config.as_ref().or(a.command_config.as_ref());
    let mut props = cli::read_properties(file.map(PathBuf::as_path), pairs)?;
    props.set("bootstrap.servers", bootstrap);
    props.set("group.id", a.group.unwrap_or_else(random_group));
    props.set("max.partition.fetch.bytes", a.fetch_size);
    props.set(
        "auto.offset.reset",
        if a.from_latest { "latest" } else { "earliest" },
    );
    props.set("check.crcs", "false");
    if props.get("client.id").is_none() {
        props.set("client.id", "perf-consumer-client");
    }
    Ok(Plan {
        subscription,
        num_records,
        timeout_ms: a.timeout,
        reporting_interval: a.reporting_interval,
        detailed: a.show_detailed_stats,
        hide_header: a.hide_header,
        print_metrics: a.print_metrics,
        date_format,
        props,
    })
}

/// Java's default group, `perf-consumer-` and a number below 100000.
fn random_group() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "perf-consumer-{}",
        (u64::from(nanos) ^ u64::from(std::process::id()).wrapping_mul(2_654_435_761)) % 100_000
    )
}

/// Wall-clock milliseconds, as Java's `System.currentTimeMillis()` (the stamps are printed).
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Java's `%.4f`: `NaN` and `Infinity` spelled its way (a zero fetch time divides by zero).
fn f4(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        format!("{x:.4}")
    }
}

const MB: f64 = 1024.0 * 1024.0;

/// Counters of the run, and the rebalance time as `ConsumerPerfRebListener` measures it: from
/// the start (or from when the last partition was taken away) to the next assignment.
#[derive(Debug, Default)]
struct Progress {
    records: i64,
    bytes: i64,
    last_records: i64,
    last_bytes: i64,
    join_ms: i64,
    join_in_round_ms: i64,
    join_start_ms: i64,
    assigned: bool,
}

impl Progress {
    /// The assignment seen after a poll: an empty-to-some change ends a join.
    fn assignment(&mut self, now: i64, assigned: bool) {
        if assigned && !self.assigned {
            self.join_ms += now - self.join_start_ms;
            self.join_in_round_ms += now - self.join_start_ms;
        } else if !assigned && self.assigned {
            self.join_start_ms = now;
        }
        self.assigned = assigned;
    }
}

async fn consume(plan: Plan) -> ExitCode {
    let Plan {
        subscription,
        num_records,
        timeout_ms,
        reporting_interval,
        detailed,
        hide_header,
        print_metrics,
        date_format,
        props,
    } = plan;
    if !hide_header {
        let extra = ", rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec";
        if detailed {
            println!("time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec{extra}");
        } else {
            println!(
                "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec{extra}"
            );
        }
    }
    let consumer = match &subscription {
        Subscription::Topic(t) => GroupConsumer::subscribe(&props, &[t.as_str()]).await,
        Subscription::Pattern(p) => GroupConsumer::subscribe_pattern(&props, p).await,
    };
    let mut consumer = match consumer {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kaflow perf consume: cannot create the consumer: {e}");
            return ExitCode::from(1);
        }
    };
    for key in props.unused() {
        eprintln!("WARN The configuration '{key}' was supplied but isn't a known config.");
    }

    let start_ms = now_ms();
    let mut p = Progress {
        join_start_ms: start_ms,
        ..Progress::default()
    };
    let mut now = start_ms;
    let mut last_report = now;
    let mut last_consumed = now;
    let mut failure = None;
    while p.records < num_records && now - last_consumed <= timeout_ms {
        let records = match consumer.poll(POLL).await {
            Ok(r) => r,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        now = now_ms();
        p.assignment(now, !consumer.assignment().is_empty());
        if records.is_empty() {
            continue;
        }
        last_consumed = now;
        // Java checks the reporting interval at every record but with the poll's time, so it
        // can only fire at a batch's first record: count that one, check, then the rest.
        let mut first = true;
        for r in &records {
            p.records += 1;
            p.bytes +=
                r.key.as_ref().map_or(0, |k| k.len() as i64) + r.value.as_ref().map_or(0, |v| v.len() as i64);
            if first {
                first = false;
                if now - last_report >= reporting_interval as i64 {
                    if detailed {
                        print_progress(&p, last_report, now, &date_format);
                    }
                    // Java swaps in a fresh counter the rebalance listener never sees, so
                    // later intervals report a rebalance time of 0.
                    p.join_in_round_ms = 0;
                    last_report = now;
                    p.last_records = p.records;
                    p.last_bytes = p.bytes;
                }
            }
        }
    }
    if let Some(e) = failure {
        eprintln!("kaflow perf consume: {e}");
        let _ = consumer.close().await;
        return ExitCode::from(1);
    }
    if p.records < num_records {
        println!(
            "WARNING: Exiting before consuming the expected number of records: timeout ({timeout_ms} ms) exceeded. \
             You can use the --timeout option to increase the timeout."
        );
    }
    let end_ms = now_ms();
    let (fetches, incremental) = consumer.fetch_stats();
    if let Err(e) = consumer.close().await {
        tracing::debug!(error = %e, "closing the consumer failed");
    }

    let elapsed_s = (end_ms - start_ms) as f64 / 1000.0;
    let fetch_ms = (end_ms - start_ms) - p.join_ms;
    if !detailed {
        let mb = p.bytes as f64 / MB;
        println!(
            "{}, {}, {}, {}, {}, {}, {}, {}, {}, {}",
            date_format.format(start_ms),
            date_format.format(end_ms),
            f4(mb),
            f4(mb / elapsed_s),
            p.records,
            f4(p.records as f64 / elapsed_s),
            p.join_ms,
            fetch_ms,
            f4(mb / (fetch_ms as f64 / 1000.0)),
            f4(p.records as f64 / (fetch_ms as f64 / 1000.0)),
        );
    }
    if print_metrics {
        cli::print_metrics(
            props.get("client.id").unwrap_or("perf-consumer-client"),
            &[
                (
                    "consumer-fetch-manager-metrics:records-consumed-total",
                    p.records as f64,
                ),
                (
                    "consumer-fetch-manager-metrics:bytes-consumed-total",
                    p.bytes as f64,
                ),
                ("consumer-fetch-manager-metrics:fetch-total", fetches as f64),
                (
                    "consumer-fetch-manager-metrics:incremental-fetch-total",
                    incremental as f64,
                ),
            ],
        );
    }
    ExitCode::SUCCESS
}

/// `--show-detailed-stats`: one interval's line (`printBasicProgress` + `printExtendedProgress`).
fn print_progress(p: &Progress, start: i64, end: i64, date_format: &DateFormat) {
    let elapsed_ms = (end - start) as f64;
    let interval_mb = (p.bytes - p.last_bytes) as f64 / MB;
    let interval_records = p.records - p.last_records;
    let fetch_ms = end - start - p.join_in_round_ms;
    let (fetch_mb_s, fetch_rec_s) = if fetch_ms <= 0 {
        (0.0, 0.0)
    } else {
        (
            1000.0 * interval_mb / fetch_ms as f64,
            1000.0 * interval_records as f64 / fetch_ms as f64,
        )
    };
    println!(
        "{}, 0, {}, {}, {}, {}, {}, {}, {}, {}",
        date_format.format(end),
        f4(p.bytes as f64 / MB),
        f4(1000.0 * interval_mb / elapsed_ms),
        p.records,
        f4(interval_records as f64 / elapsed_ms * 1000.0),
        p.join_in_round_ms,
        fetch_ms,
        f4(fetch_mb_s),
        f4(fetch_rec_s),
    );
}
