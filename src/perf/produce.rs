//! `kaflow perf produce`: a drop-in for `kafka-producer-perf-test`
//! (`org.apache.kafka.tools.ProducerPerformance`, Kafka 4.3.1).
//!
//! ```text
//!  send loop (one task)                           drain task
//!   payload ─▶ Producer::send ─▶ DeliveryFuture ─┐
//!   (+ throttle like ThroughputThrottler)        │ chunks of 64, in send order (bounded channel)
//!                                                └─▶ try_result() / wait() ─▶ Stats (Java's)
//! ```
//! Latency is the time from just before `send()` to when the drain task sees the record's
//! batch complete, in whole milliseconds as Java measures it. Records complete batch by batch and
//! batches almost always in send order, so observing them in send order costs one task and no
//! per-record allocation; a record whose batch completes before an earlier record's is seen (and
//! timed) when that earlier one completes.

use super::cli;
use super::payload::Payloads;
use super::stats::{Clock, Stats};
use super::throttle::Throttler;
use clap::{ArgGroup, Parser};
use kaflow_client::producer::{DeliveryFuture, Producer, ProducerConfig, ProducerRecord};
use kaflow_client::Properties;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Records handed to the drain task at a time.
const CHUNK: usize = 64;
/// Chunks the channel holds: far more records than `buffer.memory` lets be in flight, so the
/// queue bounds memory without ever holding the send loop back.
const CHANNEL_CHUNKS: usize = 16 * 1024;

/// Produces records and reports throughput and latency, with the flags and output of Kafka's
/// kafka-producer-perf-test.
#[derive(Debug, Parser)]
#[command(
    name = "kaflow perf produce",
    disable_version_flag = true,
    group(ArgGroup::new("payload").required(true).args(["record_size", "payload_file", "payload_monotonic"])),
    after_help = "Note that you must provide exactly one of --record-size, --payload-file or --payload-monotonic."
)]
struct Args {
    /// The server(s) to connect to. Takes precedence over bootstrap.servers given via
    /// --command-property or --command-config.
    #[arg(long, value_name = "BOOTSTRAP-SERVER")]
    bootstrap_server: Option<String>,
    /// Produce records to this topic.
    #[arg(long, value_name = "TOPIC")]
    topic: String,
    /// Number of records to produce.
    #[arg(long, value_name = "NUM-RECORDS", allow_negative_numbers = true)]
    num_records: i64,
    /// Delimiter between the payloads of --payload-file (a literal string; \n by default).
    #[arg(long, value_name = "PAYLOAD-DELIMITER", default_value = "\\n")]
    payload_delimiter: String,
    /// Throttle maximum record throughput to *approximately* THROUGHPUT records/sec; -1 disables
    /// throttling.
    #[arg(long, value_name = "THROUGHPUT", allow_negative_numbers = true)]
    throughput: f64,
    /// (DEPRECATED) Producer configuration properties; use --command-property.
    #[arg(long = "producer-props", value_name = "PROP-NAME=PROP-VALUE", num_args = 1..)]
    producer_props: Option<Vec<String>>,
    /// Producer configuration properties, e.g. --command-property linger.ms=10 batch.size=32768.
    /// They take precedence over --command-config.
    #[arg(long = "command-property", value_name = "PROP-NAME=PROP-VALUE", num_args = 1..)]
    command_property: Option<Vec<String>>,
    /// (DEPRECATED) Producer config properties file; use --command-config.
    #[arg(long = "producer.config", value_name = "CONFIG-FILE")]
    producer_config: Option<PathBuf>,
    /// Producer config properties file.
    #[arg(long = "command-config", value_name = "CONFIG-FILE")]
    command_config: Option<PathBuf>,
    /// Print metrics at the end of the test.
    #[arg(long)]
    print_metrics: bool,
    /// Transactional id (transactions are not supported by this build yet).
    #[arg(long, value_name = "TRANSACTIONAL-ID")]
    transactional_id: Option<String>,
    /// Transaction duration (transactions are not supported by this build yet).
    #[arg(long, value_name = "TRANSACTION-DURATION", allow_negative_numbers = true)]
    transaction_duration_ms: Option<i64>,
    /// Records to treat as warmup: not included in the steady-state summary line.
    #[arg(
        long,
        value_name = "WARMUP-RECORDS",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    warmup_records: i64,
    /// Interval in milliseconds at which to print progress info.
    #[arg(
        long,
        value_name = "INTERVAL-MS",
        default_value_t = 5000,
        allow_negative_numbers = true
    )]
    reporting_interval: i64,
    /// Record size in bytes (random uppercase letters).
    #[arg(long, value_name = "RECORD-SIZE", allow_negative_numbers = true)]
    record_size: Option<i32>,
    /// File to read the record payloads from; a random one is sent per record.
    #[arg(long, value_name = "PAYLOAD-FILE")]
    payload_file: Option<PathBuf>,
    /// Payload is a monotonically increasing integer.
    #[arg(long)]
    payload_monotonic: bool,
    /// kaflow only: generate new random letters for every record, as Java's tool does, instead
    /// of handing out slices of a pre-generated pool.
    #[arg(long, requires = "record_size")]
    payload_regenerate: bool,
}

/// Everything the run needs, validated.
struct Plan {
    topic: Arc<str>,
    num_records: u64,
    warmup_records: u64,
    throughput: f64,
    reporting_interval: u64,
    print_metrics: bool,
    payloads: Payloads,
    props: Properties,
}

/// Runs the tool with the arguments after `produce`.
pub fn run(args: &[String]) -> ExitCode {
    cli::run("kaflow perf produce", args, plan, produce)
}

/// Validates like `ProducerPerformance.ConfigPostProcessor` and assembles the producer properties.
fn plan(a: Args) -> Result<Plan, String> {
    if a.num_records <= 0 {
        return Err("--num-records should be greater than zero.".into());
    }
    let warmup_records = a.warmup_records.max(0);
    if warmup_records >= a.num_records {
        return Err(
            "The value for --warmup-records must be strictly fewer than the number of records in the \
                    test, --num-records."
                .into(),
        );
    }
    if a.record_size.is_some_and(|s| s <= 0) {
        return Err("--record-size should be greater than zero.".into());
    }
    if a.bootstrap_server.is_none()
        && a.command_property.is_none()
        && a.producer_props.is_none()
        && a.producer_config.is_none()
        && a.command_config.is_none()
    {
        return Err(
            "At least one of --bootstrap-server, --command-property, --producer-props, \
                    --producer.config or --command-config must be specified."
                .into(),
        );
    }
    if a.command_property.is_some() && a.producer_props.is_some() {
        return Err("--command-property and --producer-props cannot be specified together.".into());
    }
    if a.command_config.is_some() && a.producer_config.is_some() {
        return Err("--command-config and --producer.config cannot be specified together.".into());
    }
    if a.transaction_duration_ms.is_some_and(|d| d <= 0) {
        return Err("--transaction-duration-ms should be greater than zero.".into());
    }
    if a.reporting_interval <= 0 {
        return Err("--reporting-interval should be greater than zero.".into());
    }
    if a.producer_props.is_some() {
        println!(
            "Option --producer-props has been deprecated and will be removed in a future version. \
             Use --command-property instead."
        );
    }
    if a.producer_config.is_some() {
        println!(
            "Option --producer.config has been deprecated and will be removed in a future version. \
             Use --command-config instead."
        );
    }

    // readProps: the file, then the command-line properties, then --bootstrap-server.
    let mut pairs = Vec::new();
    for prop in a.command_property.iter().chain(a.producer_props.iter()).flatten() {
        // ProducerPerformance splits on every '=' and wants exactly two pieces.
        match prop.split('=').collect::<Vec<&str>>()[..] {
            [k, v] => pairs.push((k.to_string(), v.to_string())),
            _ => return Err(format!("Invalid property: {prop}")),
        }
    }
    let file = a.command_config.as_ref().or(a.producer_config.as_ref());
    let mut props = cli::read_properties(file.map(PathBuf::as_path), pairs)?;
    if let Some(b) = &a.bootstrap_server {
        props.set("bootstrap.servers", b);
    }
    if props.get("client.id").is_none() {
        props.set("client.id", "perf-producer-client");
    }
    if a.transactional_id.is_some()
        || a.transaction_duration_ms.is_some()
        || props.get("transactional.id").is_some()
    {
        return Err(
            "transactions (--transactional-id, --transaction-duration-ms, transactional.id) are not \
                    supported by this build yet; they arrive with exactly-once support"
                .into(),
        );
    }

    let payloads = if let Some(size) = a.record_size {
        if a.payload_regenerate {
            Payloads::regenerate(size as usize)
        } else {
            Payloads::pool(size as usize)
        }
    } else if let Some(file) = &a.payload_file {
        let path = std::path::absolute(file).unwrap_or_else(|_| file.clone());
        println!("Reading payloads from: {}", path.display());
        let data = std::fs::read(file).unwrap_or_default();
        if data.is_empty() {
            return Err("File does not exist or empty file provided.".into());
        }
        let delimiter = if a.payload_delimiter == "\\n" {
            "\n"
        } else {
            a.payload_delimiter.as_str()
        };
        let p = Payloads::file(data, delimiter.as_bytes());
        println!("Number of messages read: {}", p.file_pieces().unwrap_or(0));
        if p.file_pieces() == Some(0) {
            return Err("no payloads in the file".into());
        }
        p
    } else {
        Payloads::monotonic()
    };

    Ok(Plan {
        topic: Arc::from(a.topic.as_str()),
        num_records: a.num_records as u64,
        warmup_records: warmup_records as u64,
        throughput: a.throughput,
        reporting_interval: a.reporting_interval as u64,
        print_metrics: a.print_metrics,
        payloads,
        props,
    })
}

/// One sent record awaiting its result.
struct Pending {
    future: DeliveryFuture,
    sent_ms: u32,
    bytes: u32,
    steady: bool,
}

async fn produce(plan: Plan) -> ExitCode {
    let Plan {
        topic,
        num_records,
        warmup_records,
        throughput,
        reporting_interval,
        print_metrics,
        mut payloads,
        props,
    } = plan;
    let config = match ProducerConfig::from_properties(&props) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kaflow perf produce: {e}");
            return ExitCode::from(1);
        }
    };
    for key in props.unused() {
        eprintln!("WARN The configuration '{key}' was supplied but isn't a known config.");
    }
    let producer = match Producer::connect(config).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("kaflow perf produce: cannot create the producer: {e}");
            return ExitCode::from(1);
        }
    };

    if warmup_records > 0 {
        println!(
            "Warmup first {warmup_records} records. Steady state results will print after the complete test summary."
        );
    }
    let clock = Clock::new();
    let stats = Stats::new(clock, clock.ms(), num_records, false, reporting_interval);
    let start_ms = clock.ms();
    let mut throttler = Throttler::new(throughput, start_ms);
    let (tx, rx) = mpsc::channel::<Vec<Pending>>(CHANNEL_CHUNKS);
    let drain = tokio::spawn(drain(
        rx,
        clock,
        stats,
        num_records - warmup_records,
        warmup_records > 0,
        reporting_interval,
    ));

    let mut chunk = Vec::with_capacity(CHUNK);
    for i in 0..num_records {
        let value = payloads.next_value();
        let bytes = value.len() as u32;
        let record = ProducerRecord {
            topic: Arc::clone(&topic),
            partition: None,
            key: None,
            value: Some(value),
            headers: Vec::new(),
            timestamp: None,
        };
        let sent_ms = clock.ms();
        match producer.send(record).await {
            Ok(future) => chunk.push(Pending {
                future,
                sent_ms: sent_ms as u32,
                bytes,
                steady: warmup_records > 0 && i >= warmup_records,
            }),
            // Java's callback prints the exception; the record isn't counted.
            Err(e) => eprintln!("{e}"),
        }
        let throttle = throttler.should_throttle(i, sent_ms);
        if (chunk.len() == CHUNK || throttle)
            && tx
                .send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))
                .await
                .is_err()
        {
            break;
        }
        if throttle {
            throttler.throttle().await;
        }
    }
    if !chunk.is_empty() {
        let _ = tx.send(chunk).await;
    }
    drop(tx);

    if print_metrics {
        producer.flush().await;
    } else {
        producer.close().await;
    }
    let (mut stats, steady) = match drain.await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kaflow perf produce: the result task failed: {e}");
            return ExitCode::from(1);
        }
    };
    println!("{}", stats.total_line(clock.ms()));
    if let Some(mut steady) = steady {
        println!("{}", steady.total_line(clock.ms()));
    }
    if print_metrics {
        print_producer_metrics(&producer, &props, stats.count(), num_records);
        producer.close().await;
    }
    ExitCode::SUCCESS
}

/// Observes results in send order and feeds Java's `Stats` (and the steady-state ones after
/// the warmup records).
async fn drain(
    mut rx: mpsc::Receiver<Vec<Pending>>,
    clock: Clock,
    mut stats: Stats,
    steady_records: u64,
    warmup: bool,
    reporting_interval: u64,
) -> (Stats, Option<Stats>) {
    let mut steady: Option<Stats> = None;
    while let Some(chunk) = rx.recv().await {
        let mut now = clock.ms();
        for p in chunk {
            let result = match p.future.try_result() {
                Some(r) => r,
                None => {
                    let r = p.future.wait().await;
                    now = clock.ms();
                    r
                }
            };
            if warmup && p.steady && steady.is_none() {
                stats.suppress_printing();
                steady = Some(Stats::new(
                    clock,
                    u64::from(p.sent_ms),
                    steady_records,
                    true,
                    reporting_interval,
                ));
            }
            match result {
                Ok(_) => {
                    let latency = (now.saturating_sub(u64::from(p.sent_ms))) as u32;
                    stats.record(latency, p.bytes, now);
                    if p.steady {
                        if let Some(s) = steady.as_mut() {
                            s.record(latency, p.bytes, now);
                        }
                    }
                }
                Err(e) => eprintln!("{e}"),
            }
        }
    }
    (stats, steady)
}

/// `--print-metrics`: the producer's counters, in the layout of Kafka's `ToolsUtils.printMetrics`.
fn print_producer_metrics(producer: &Producer, props: &Properties, sent: u64, attempted: u64) {
    let client_id = props.get("client.id").unwrap_or("perf-producer-client");
    let s = producer.stats();
    cli::print_metrics(
        client_id,
        &[
            ("producer-metrics:record-send-total", sent as f64),
            (
                "producer-metrics:record-error-total",
                attempted.saturating_sub(sent) as f64,
            ),
            (
                "producer-metrics:request-total",
                s.requests.load(Ordering::Relaxed) as f64,
            ),
            (
                "producer-metrics:batch-retry-total",
                s.retries.load(Ordering::Relaxed) as f64,
            ),
            (
                "producer-metrics:epoch-bump-total",
                s.epoch_bumps.load(Ordering::Relaxed) as f64,
            ),
        ],
    );
}
