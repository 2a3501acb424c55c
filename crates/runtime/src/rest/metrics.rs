//! `GET /metrics`: the worker's metrics in Prometheus' text format (version 0.0.4), named after
//! Connect's JMX metric groups the way the Prometheus JMX exporter spells them:
//! `kafka_connect_<group>_<metric>` with `connector` / `task` labels.
//!
//! ```text
//!  Herder::task_metrics ─▶ per task: state, source/sink/error counters, producer
//!  Herder::status       ─▶ per connector: state, task counts by state
//!        └─▶ render(): # HELP / # TYPE lines once per metric, one sample per label set
//! ```

use crate::herder::{Herder, State};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

/// The Prometheus content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Samples of one metric, gathered before writing so each metric's HELP/TYPE comes once.
struct Family {
    help: &'static str,
    kind: &'static str,
    samples: Vec<(String, u64)>,
}

#[derive(Default)]
struct Families(BTreeMap<String, Family>);

impl Families {
    fn add(&mut self, name: &str, kind: &'static str, help: &'static str, labels: String, value: u64) {
        self.0
            .entry(name.to_string())
            .or_insert_with(|| Family {
                help,
                kind,
                samples: Vec::new(),
            })
            .samples
            .push((labels, value));
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
    let mut out = String::new();
    for (name, fam) in f.0 {
        let _ = writeln!(out, "# HELP {name} {}", fam.help);
        let _ = writeln!(out, "# TYPE {name} {}", fam.kind);
        for (labels, v) in fam.samples {
            if labels.is_empty() {
                let _ = writeln!(out, "{name} {v}");
            } else {
                let _ = writeln!(out, "{name}{{{labels}}} {v}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
