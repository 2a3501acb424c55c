//! Differential check of the config- and status-topic records against Apache Kafka Connect's
//! own stores (harness jars): Connect's `KafkaConfigBackingStore` schemas through the worker's
//! schemaless JsonConverter, and `KafkaStatusBackingStore`'s serializer, write the same keys
//! and the same value bytes as kaflow for the same records; Connect reads kaflow's bytes back
//! to the same values.

use kaflow_runtime::distributed::config_topic::{ConfigRecord, RestartRequest, SessionKey};
use kaflow_runtime::distributed::status_topic::{StatusRecord, StatusValue, TopicStatus};
use kaflow_runtime::distributed::TaskId;
use kaflow_runtime::herder::{State, TargetState};
use kaflow_test_support::java;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn props(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The records the Java checker writes, in its order.
fn records() -> Vec<(String, Option<bytes::Bytes>)> {
    let mut out = Vec::new();
    let mut cfg = |r: ConfigRecord| out.push((r.key().to_string(), r.value()));
    cfg(ConfigRecord::Connector {
        name: "my-src".into(),
        properties: Some(props(&[
            ("connector.class", "FileStreamSource"),
            ("file", "/tmp/ü \"q\"\n\u{1}\\"),
            ("tasks.max", "2"),
        ])),
    });
    cfg(ConfigRecord::Connector {
        name: "gone".into(),
        properties: None,
    });
    cfg(ConfigRecord::Task {
        id: TaskId::new("my-src", 11),
        properties: props(&[("task.class", "X"), ("topic", "t-😀")]),
    });
    cfg(ConfigRecord::Commit {
        connector: "my-src".into(),
        tasks: 12,
    });
    for (name, s) in [
        ("STOPPED", TargetState::Stopped),
        ("PAUSED", TargetState::Paused),
        ("STARTED", TargetState::Started),
    ] {
        cfg(ConfigRecord::TargetState {
            connector: format!("c-{name}"),
            state: Some(s),
        });
    }
    cfg(ConfigRecord::TargetState {
        connector: "gone".into(),
        state: None,
    });
    cfg(ConfigRecord::SessionKey(SessionKey {
        key: (0..32u32).map(|i| (i * 37 + 5) as u8).collect(),
        algorithm: "HmacSHA256".into(),
        creation_timestamp_ms: 1_764_800_000_123,
    }));
    cfg(ConfigRecord::Restart {
        connector: "my-src".into(),
        request: RestartRequest {
            include_tasks: true,
            only_failed: false,
        },
    });
    cfg(ConfigRecord::TaskCount {
        connector: "my-src".into(),
        task_count: 3,
    });
    cfg(ConfigRecord::LoggerLevel {
        namespace: "org.apache.kafka".into(),
        level: "DEBUG".into(),
    });
    for r in status_records() {
        out.push((r.key(), r.value()));
    }
    out
}

fn status_records() -> Vec<StatusRecord> {
    vec![
        StatusRecord::Connector {
            name: "my-src".into(),
            status: Some(StatusValue {
                state: State::Running,
                trace: None,
                worker_id: "w1:8083".into(),
                generation: 3,
                version: None,
            }),
        },
        StatusRecord::Task {
            id: TaskId::new("my-src", 1),
            status: Some(StatusValue {
                state: State::Failed,
                trace: Some("org.x.Boom: \"bad\"\n\tat X.y(X.java:1)\u{1f}".into()),
                worker_id: "w2:8083".into(),
                generation: 7,
                version: Some("4.3.1".into()),
            }),
        },
        StatusRecord::Task {
            id: TaskId::new("my-src", 2),
            status: None,
        },
        StatusRecord::Topic {
            topic: "orders".into(),
            connector: "my-src".into(),
            status: Some(TopicStatus {
                topic: "orders".into(),
                connector: "my-src".into(),
                task: 0,
                discover_timestamp_ms: 1_764_800_000_456,
            }),
        },
    ]
}

#[test]
fn connect_writes_and_reads_the_same_internal_topic_records() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("connect-records-diff");
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/java/ConnectRecordsDiff.java");
    let Some(prog) = java::compile(&src, &out) else {
        return;
    };

    let java_out = String::from_utf8(prog.run(&[]).stdout).unwrap();
    let theirs: Vec<(&str, &str)> = java_out
        .lines()
        .map(|l| l.split_once('\t').expect("key<TAB>value"))
        .collect();
    let ours = records();
    assert_eq!(theirs.len(), ours.len(), "{java_out}");
    for ((k, v), (jk, jv)) in ours.iter().zip(&theirs) {
        assert_eq!(k, jk);
        let v = v
            .as_ref()
            .map_or("null".to_string(), |b| String::from_utf8(b.to_vec()).unwrap());
        assert_eq!(&v, jv, "value of {k} differs from Connect's");
    }

    // Connect's status store reads our status values to what we wrote
    let mut reads = Vec::new();
    let mut want = Vec::new();
    for r in status_records() {
        let (arg, status) = match &r {
            StatusRecord::Connector {
                name,
                status: Some(s),
            } => (format!("status-connector|{name}"), s),
            StatusRecord::Task { id, status: Some(s) } => {
                (format!("status-task|{}|{}", id.connector, id.task), s)
            }
            _ => continue,
        };
        let json = String::from_utf8(r.value().unwrap().to_vec()).unwrap();
        reads.push(format!("{arg}|{json}"));
        want.push(format!(
            "{}|{}|{}|{}|{}",
            status.state.name(),
            status.trace.as_deref().unwrap_or("null"),
            status.worker_id,
            status.generation,
            status.version.as_deref().unwrap_or("null")
        ));
    }
    // and the worker's converter reads our config values to the same maps
    for (k, v) in records().iter().take(4) {
        let Some(v) = v else { continue };
        reads.push(format!("config|{}", String::from_utf8(v.to_vec()).unwrap()));
        let rec = ConfigRecord::decode(Some(k.as_bytes()), Some(v)).unwrap();
        want.push(match rec {
            ConfigRecord::Connector {
                properties: Some(p), ..
            }
            | ConfigRecord::Task { properties: p, .. } => format!(
                "{{properties={{{}}}}}",
                p.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            ConfigRecord::Commit { tasks, .. } => format!("{{tasks={tasks}}}"),
            other => panic!("unexpected {other:?}"),
        });
    }
    let java_out = String::from_utf8(
        prog.run(&reads.iter().map(String::as_str).collect::<Vec<_>>())
            .stdout,
    )
    .unwrap();
    let got: Vec<&str> = java_out.split_terminator('\n').collect();
    // a value may hold a newline: compare the whole text
    assert_eq!(
        java_out,
        want.iter().map(|w| format!("{w}\n")).collect::<String>(),
        "{got:?}"
    );
    eprintln!(
        "{} records byte-identical with Kafka Connect's stores; {} read back the same by Connect",
        ours.len(),
        want.len()
    );
}
