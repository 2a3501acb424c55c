//! `GET /metrics`: the worker's metrics in Prometheus' text format (version 0.0.4), named after
//! Connect's JMX metric groups the way the Prometheus JMX exporter spells them:
//! `kafka_connect_<group>_<metric>` with `connector` / `task` labels.
//!
//! The Kafka client's own metrics follow the Java client's names the same way:
//! `kafka_producer_<metric>` (producer-metrics), `kafka_consumer_fetch_manager_<metric>`
//! (consumer-fetch-manager-metrics), and `kafka_client_<metric>` for the worker's client core,
//! whose connections every task's clients share (per Kafka API, as label `api`).
//!
//! ```text
//!  Herder::task_metrics   ─▶ per task: state, source/sink/error counters, producer
//!  Herder::status         ─▶ per connector: state, task counts by state
//!  Herder::client_metrics ─▶ live clients (kaflow_client::metrics::Registry): requests
//!                                      and latency per API; per task producer / consumer lag
//!        └─▶ render(): # HELP / # TYPE lines once per metric, one sample per label set
//! ```

use crate::herder::{Herder, State};
use kaflow_client::metrics::{ClientSnapshot, HistogramSnapshot, Snapshot};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

/// The Prometheus content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Samples of one metric, gathered before writing so each metric's HELP/TYPE comes once.
struct Family {
    help: &'static str,
    kind: &'static str,
    /// Sample name suffix (`_bucket`, `_sum`, `_count` of a histogram; empty otherwise),
    /// labels, value.
    samples: Vec<(&'static str, String, String)>,
}

#[derive(Default)]
struct Families(BTreeMap<String, Family>);

impl Families {
    fn family(&mut self, name: &str, kind: &'static str, help: &'static str) -> &mut Family {
        self.0.entry(name.to_string()).or_insert_with(|| Family {
            help,
            kind,
            samples: Vec::new(),
        })
    }

    fn add(&mut self, name: &str, kind: &'static str, help: &'static str, labels: String, value: u64) {
        self.family(name, kind, help)
            .samples
            .push(("", labels, value.to_string()));
    }

    fn add_f(&mut self, name: &str, kind: &'static str, help: &'static str, labels: String, value: f64) {
        self.family(name, kind, help)
            .samples
            .push(("", labels, value.to_string()));
    }

    /// A histogram of microseconds, as seconds.
    fn histogram_seconds(&mut self, name: &str, help: &'static str, labels: &str, h: &HistogramSnapshot) {
        let fam = self.family(name, "histogram", help);
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, count) in h.cumulative() {
            let le = bound.map_or_else(|| "+Inf".to_string(), |b| (b as f64 / 1e6).to_string());
            fam.samples
                .push(("_bucket", format!("{labels}{sep}le=\"{le}\""), count.to_string()));
        }
        fam.samples
            .push(("_sum", labels.to_string(), (h.sum as f64 / 1e6).to_string()));
        fam.samples
            .push(("_count", labels.to_string(), h.count.to_string()));
    }
}

/// Escapes a label value (`\`, `"` and newlines, as the text format requires).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

const STATES: [State; 6] = State::ALL;

/// The worker's metrics as Prometheus text.
pub fn render(w: &dyn Herder) -> String {
    let mut f = Families::default();
    let names = w.connector_names();
    let tasks = w.task_metrics();
    f.add(
        "kafka_connect_worker_connector_count",
        "gauge",
        "connectors on this worker (connect-worker-metrics connector-count)",
        String::new(),
        names.len() as u64,
    );
    f.add(
        "kafka_connect_worker_task_count",
        "gauge",
        "tasks on this worker (connect-worker-metrics task-count)",
        String::new(),
        tasks.len() as u64,
    );
    for name in &names {
        let Ok(st) = w.status(name) else { continue };
        let c = format!("connector=\"{}\"", label(name));
        for s in STATES {
            f.add(
                "kafka_connect_connector_status",
                "gauge",
                "1 for the connector's state (connector-metrics status)",
                format!("{c},state=\"{}\"", s.name().to_ascii_lowercase()),
                u64::from(st.connector.state == s),
            );
        }
        let count = |s: State| st.tasks.iter().filter(|(_, t)| t.state == s).count() as u64;
        for (metric, state) in [
            ("connector_running_task_count", State::Running),
            ("connector_paused_task_count", State::Paused),
            ("connector_failed_task_count", State::Failed),
            ("connector_unassigned_task_count", State::Unassigned),
        ] {
            f.add(
                &format!("kafka_connect_worker_{metric}"),
                "gauge",
                "the connector's tasks in one state (connect-worker-metrics)",
                c.clone(),
                count(state),
            );
        }
        f.add(
            "kafka_connect_worker_connector_total_task_count",
            "gauge",
            "the connector's tasks (connect-worker-metrics connector-total-task-count)",
            c,
            st.tasks.len() as u64,
        );
    }
    for t in &tasks {
        let l = format!("connector=\"{}\",task=\"{}\"", label(&t.id.connector), t.id.task);
        for s in STATES {
            f.add(
                "kafka_connect_connector_task_status",
                "gauge",
                "1 for the task's state (connector-task-metrics status)",
                format!("{l},state=\"{}\"", s.name().to_ascii_lowercase()),
                u64::from(t.state == s),
            );
        }
        let mut counters: Vec<(&str, &'static str, u64)> = Vec::new();
        if let Some(s) = &t.source {
            counters.extend([
                (
                    "source_task_source_record_poll_total",
                    "records polled from the task (source-task-metrics)",
                    s.polled.load(Relaxed),
                ),
                (
                    "source_task_source_record_write_total",
                    "records acknowledged by Kafka (source-task-metrics)",
                    s.written.load(Relaxed),
                ),
                (
                    "source_task_source_record_skipped_total",
                    "records dropped by a transform or tolerated as errors",
                    s.skipped.load(Relaxed),
                ),
                (
                    "connector_task_offset_commit_completion_total",
                    "offset commits that completed (connector-task-metrics)",
                    s.offset_commits.load(Relaxed),
                ),
            ]);
        }
        if let Some(s) = &t.sink {
            counters.extend([
                (
                    "sink_task_sink_record_send_total",
                    "records given to the task's put (sink-task-metrics)",
                    s.put.load(Relaxed),
                ),
                (
                    "sink_task_sink_record_skipped_total",
                    "records dropped by a transform or tolerated as errors",
                    s.skipped.load(Relaxed),
                ),
                (
                    "connector_task_offset_commit_completion_total",
                    "offset commits that completed (connector-task-metrics)",
                    s.offset_commits.load(Relaxed),
                ),
            ]);
        }
        for (metric, help, v) in counters {
            f.add(&format!("kafka_connect_{metric}"), "counter", help, l.clone(), v);
        }
        let e = &t.errors;
        for (metric, v) in [
            ("total_record_failures", e.record_failures.load(Relaxed)),
            ("total_record_errors", e.record_errors.load(Relaxed)),
            ("total_records_skipped", e.records_skipped.load(Relaxed)),
            ("total_retries", e.retries.load(Relaxed)),
            ("total_errors_logged", e.errors_logged.load(Relaxed)),
            (
                "deadletterqueue_produce_requests",
                e.dlq_produce_requests.load(Relaxed),
            ),
            (
                "deadletterqueue_produce_failures",
                e.dlq_produce_failures.load(Relaxed),
            ),
        ] {
            f.add(
                &format!("kafka_connect_task_error_{metric}"),
                "counter",
                "error handling counters (task-error-metrics)",
                l.clone(),
                v,
            );
        }
        if let Some([requests, retries, bumps]) = t.producer {
            f.add(
                "kafka_producer_request_total",
                "counter",
                "produce requests sent by the task's producer",
                l.clone(),
                requests,
            );
            f.add(
                "kafka_producer_record_retry_total",
                "counter",
                "produce requests retried by the task's producer",
                l.clone(),
                retries,
            );
            f.add(
                "kafka_producer_epoch_bump_total",
                "counter",
                "idempotent producer epoch bumps (KIP-360)",
                l.clone(),
                bumps,
            );
        }
    }
    for c in w.client_metrics() {
        add_client(&mut f, &c);
    }
    let mut out = String::new();
    for (name, fam) in f.0 {
        let _ = writeln!(out, "# HELP {name} {}", fam.help);
        let _ = writeln!(out, "# TYPE {name} {}", fam.kind);
        for (suffix, labels, v) in fam.samples {
            if labels.is_empty() {
                let _ = writeln!(out, "{name}{suffix} {v}");
            } else {
                let _ = writeln!(out, "{name}{suffix}{{{labels}}} {v}");
            }
        }
    }
    out
}

/// One live Kafka client's metrics (see the module docs for the names).
fn add_client(f: &mut Families, c: &ClientSnapshot) {
    let l = c
        .labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", label(v)))
        .collect::<Vec<_>>()
        .join(",");
    let with = |extra: String| {
        if l.is_empty() {
            extra
        } else {
            format!("{l},{extra}")
        }
    };
    match &c.metrics {
        Snapshot::Network(n) => {
            for a in &n.apis {
                let al = with(format!("api=\"{}\"", label(&a.api)));
                f.add(
                    "kafka_client_request_total",
                    "counter",
                    "requests written, per Kafka API (request-total)",
                    al.clone(),
                    a.requests,
                );
                f.histogram_seconds(
                    "kafka_client_request_latency_seconds",
                    "time from writing a request to reading its answer, per Kafka API",
                    &al,
                    &a.latency_micros,
                );
                f.add_f(
                    "kafka_client_request_latency_avg",
                    "gauge",
                    "mean request latency in ms since the client started (request-latency-avg)",
                    al.clone(),
                    a.latency_micros.avg() / 1e3,
                );
                f.add_f(
                    "kafka_client_request_latency_max",
                    "gauge",
                    "largest request latency in ms since the client started (request-latency-max)",
                    al,
                    a.latency_micros.max as f64 / 1e3,
                );
            }
            f.add(
                "kafka_client_outgoing_byte_total",
                "counter",
                "bytes of requests written (outgoing-byte-total)",
                l.clone(),
                n.outgoing_bytes,
            );
            f.add(
                "kafka_client_incoming_byte_total",
                "counter",
                "bytes of answers read (incoming-byte-total)",
                l,
                n.incoming_bytes,
            );
        }
        Snapshot::Producer(p) => {
            f.add_f(
                "kafka_producer_batch_size_avg",
                "gauge",
                "mean bytes per batch sent (producer-metrics batch-size-avg)",
                l.clone(),
                p.batch_size_avg,
            );
            f.add(
                "kafka_producer_batch_size_max",
                "gauge",
                "largest batch sent in bytes (producer-metrics batch-size-max)",
                l.clone(),
                p.batch_size_max,
            );
            f.add_f(
                "kafka_producer_compression_rate_avg",
                "gauge",
                "compressed / uncompressed bytes of the batches sent (producer-metrics compression-rate-avg)",
                l.clone(),
                p.compression_rate_avg,
            );
            f.add(
                "kafka_producer_record_send_total",
                "counter",
                "records sent (producer-metrics record-send-total)",
                l.clone(),
                p.records_sent,
            );
            f.add(
                "kafka_producer_records_in_flight",
                "gauge",
                "records in produce requests not yet answered",
                l.clone(),
                p.records_in_flight,
            );
            f.add(
                "kafka_producer_buffer_total_bytes",
                "gauge",
                "buffer.memory (producer-metrics buffer-total-bytes)",
                l.clone(),
                p.buffer_total_bytes,
            );
            f.add(
                "kafka_producer_buffer_available_bytes",
                "gauge",
                "buffer.memory not held by queued or in-flight records (producer-metrics buffer-available-bytes)",
                l,
                p.buffer_available_bytes,
            );
        }
        Snapshot::Consumer(cs) => {
            for (tp, lag) in &cs.partitions {
                let Some(lag) = lag else { continue };
                f.add(
                    "kafka_consumer_fetch_manager_records_lag",
                    "gauge",
                    "high watermark minus position, per partition (consumer-fetch-manager-metrics records-lag)",
                    with(format!(
                        "topic=\"{}\",partition=\"{}\"",
                        label(&tp.topic),
                        tp.partition
                    )),
                    *lag as u64,
                );
            }
            if let Some(max) = cs.records_lag_max {
                f.add(
                    "kafka_consumer_fetch_manager_records_lag_max",
                    "gauge",
                    "the largest partition lag (consumer-fetch-manager-metrics records-lag-max)",
                    l,
                    max as u64,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_histograms_render_cumulative_buckets_in_seconds() {
        use kaflow_client::metrics::{NetworkMetrics, Registry, Source};
        use std::sync::Arc;
        use std::time::Duration;
        let net = Arc::new(NetworkMetrics::default());
        net.record_sent(0, 10);
        net.record_sent(0, 10);
        net.record_response(0, 5, Duration::from_micros(300));
        net.record_response(0, 5, Duration::from_secs(20));
        let r = Registry::new();
        let _g = r.register(vec![("client_id", "c\"1".into())], Source::Network(net));
        let mut f = Families::default();
        for c in r.snapshot() {
            add_client(&mut f, &c);
        }
        let fam = &f.0["kafka_client_request_latency_seconds"];
        assert_eq!(fam.kind, "histogram");
        let l = "client_id=\"c\\\"1\",api=\"Produce\"";
        let buckets: Vec<(&str, &str)> = fam
            .samples
            .iter()
            .filter(|s| s.0 == "_bucket")
            .map(|s| (s.1.strip_prefix(l).unwrap_or("?"), s.2.as_str()))
            .collect();
        assert_eq!(buckets[0], (",le=\"0.00025\"", "0"));
        assert_eq!(buckets[1], (",le=\"0.0005\"", "1"));
        assert_eq!(buckets[14], (",le=\"10\"", "1"));
        assert_eq!(buckets[15], (",le=\"+Inf\"", "2"));
        let tail: Vec<_> = fam.samples[16..].iter().map(|s| (s.0, s.2.as_str())).collect();
        assert_eq!(tail, vec![("_sum", "20.0003"), ("_count", "2")]);
        assert_eq!(f.0["kafka_client_request_total"].samples[0].2, "2");
        assert_eq!(f.0["kafka_client_request_latency_max"].samples[0].2, "20000");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
