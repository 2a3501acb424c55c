//! Kafka Connect's REST API served by `kaflow standalone`, against a real broker, with a real
//! FileStreamSource → topic → FileStreamSink pipeline created, changed and removed through it:
//! - lifecycle: create (201 + Location), list/expand, info, config GET/PUT/PATCH, status,
//!   tasks, pause/resume/stop (records stop and flow again), restart variants, offsets
//!   (source positions, sink group offsets), delete;
//! - Connect's error codes: 404 unknown connector, 409 duplicate, 400 bad config, 415 wrong
//!   content type, 413 a 10 MB body, 500 malformed JSON; path traversal and non-UTF-8 names
//!   match nothing; after all of it the pipeline still moves records;
//! - secrets: a client password set through REST reads `[hidden]` in every response and
//!   never reaches the log or the offsets file.

use kaflow_test_support::http::{self, HttpResponse};
use kaflow_test_support::{require_kafka, unique_topic};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Worker {
    dir: PathBuf,
    addr: String,
    child: Child,
}

impl Drop for Worker {
    /// A clean stop (SIGTERM) so sink members leave their groups; kill -9 if that hangs.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Worker {
    fn start(bootstrap: &str, name: &str) -> Self {
        Self::start_with(bootstrap, name, "", "debug", &[])
    }

    /// A worker with `extra` worker properties, `RUST_LOG=rust_log` and more environment.
    fn start_with(bootstrap: &str, name: &str, extra: &str, rust_log: &str, env: &[(&str, &str)]) -> Self {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let port = http::write_rest_worker(bootstrap, &dir);
        if !extra.is_empty() {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(dir.join("worker.properties"))
                .unwrap();
            writeln!(f, "{extra}").unwrap();
        }
        let log = std::fs::File::create(dir.join("worker.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_kaflow"))
            .args(["standalone", "worker.properties"])
            .current_dir(&dir)
            .env("RUST_LOG", rust_log)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("run kaflow standalone");
        let w = Worker {
            dir,
            addr: format!("127.0.0.1:{port}"),
            child,
        };
        wait_for("the REST API to answer /health", || {
            http::request(&w.addr, "GET", b"/health", None, b"")
                .is_ok_and(|r| r.status == 200 || r.status == 401)
        });
        w
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> HttpResponse {
        http::json(&self.addr, method, path, body.as_ref())
    }

    fn status(&self, name: &str) -> Value {
        let r = self.call("GET", &format!("/connectors/{name}/status"), None);
        assert_eq!(r.status, 200, "status of {name}: {:?}", r.json());
        r.json()
    }

    fn file(&self, f: &str) -> PathBuf {
        self.dir.join(f)
    }
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn lines(p: &Path) -> usize {
    std::fs::read_to_string(p).map(|s| s.lines().count()).unwrap_or(0)
}

fn append(p: &Path, from: usize, to: usize) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .unwrap();
    for i in from..to {
        writeln!(f, "record {i}").unwrap();
    }
}

fn states(status: &Value) -> (String, Vec<String>) {
    let c = status["connector"]["state"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let t = status["tasks"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| t["state"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    (c, t)
}

fn source(w: &Worker, topic: &str) -> Value {
    json!({"connector.class": "FileStreamSource", "file": w.file("in.txt"), "topic": topic})
}

fn sink(w: &Worker, topic: &str, out: &str) -> Value {
    json!({"connector.class": "FileStreamSink", "file": w.file(out), "topics": topic})
}

#[test]
fn r2_r3_lifecycle_of_a_pipeline_through_connects_rest_api() {
    let kafka = require_kafka!();
    let w = Worker::start(&kafka.bootstrap, "rest-lifecycle");
    let topic = unique_topic("rest-lifecycle");
    append(&w.file("in.txt"), 0, 1000);

    // Create both ends: 201, a Location, ConnectorInfo with one task each.
    let r = w.call(
        "POST",
        "/connectors",
        Some(json!({"name": "src", "config": source(&w, &topic)})),
    );
    assert_eq!(
        (r.status, r.header("location")),
        (201, Some("/connectors/src")),
        "{:?}",
        r.json()
    );
    assert_eq!(r.json()["type"], "source");
    assert_eq!(r.json()["tasks"], json!([{"connector": "src", "task": 0}]));
    let r = w.call(
        "POST",
        "/connectors",
        Some(json!({"name": "snk", "config": sink(&w, &topic, "out.txt")})),
    );
    assert_eq!(r.status, 201, "{:?}", r.json());
    wait_for("1000 lines in the sink file", || {
        lines(&w.file("out.txt")) == 1000
    });

    // Reads.
    assert_eq!(w.call("GET", "/connectors", None).json(), json!(["snk", "src"]));
    let expanded = w
        .call("GET", "/connectors?expand=status&expand=info", None)
        .json();
    assert_eq!(expanded["src"]["status"]["connector"]["state"], "RUNNING");
    assert_eq!(expanded["snk"]["info"]["config"]["topics"], json!(topic));
    assert_eq!(
        states(&w.status("snk")),
        ("RUNNING".into(), vec!["RUNNING".into()])
    );
    let tasks = w.call("GET", "/connectors/src/tasks", None).json();
    assert_eq!(tasks[0]["id"], json!({"connector": "src", "task": 0}));
    let r = w.call("GET", "/connectors/src/tasks/0/status", None);
    assert_eq!((r.status, r.json()["state"].clone()), (200, json!("RUNNING")));
    assert_eq!(w.call("GET", "/connectors/src/tasks/9/status", None).status, 404);

    // Active topics (KIP-558): where the source wrote, what the sink read; reset forgets them.
    for c in ["src", "snk"] {
        let r = w.call("GET", &format!("/connectors/{c}/topics"), None);
        assert_eq!(r.json(), json!({ c: {"topics": [topic]} }));
    }
    assert_eq!(w.call("PUT", "/connectors/src/topics/reset", None).status, 202);
    assert_eq!(
        w.call("GET", "/connectors/src/topics", None).json(),
        json!({"src": {"topics": []}})
    );

    // Offsets (KIP-875): the source's file position, the sink's committed group offset.
    let size = std::fs::metadata(w.file("in.txt")).unwrap().len();
    wait_for("the source offset to reach the end of the file", || {
        w.call("GET", "/connectors/src/offsets", None).json()["offsets"][0]["offset"]["position"]
            == json!(size)
    });
    wait_for("the sink's committed offset to be 1000", || {
        w.call("GET", "/connectors/snk/offsets", None).json()["offsets"]
            == json!([{"partition": {"kafka_topic": topic, "kafka_partition": 0}, "offset": {"kafka_offset": 1000}}])
    });

    // Pause: the source still produces, the sink writes nothing until resumed.
    assert_eq!(w.call("PUT", "/connectors/snk/pause", None).status, 202);
    assert_eq!(states(&w.status("snk")), ("PAUSED".into(), vec!["PAUSED".into()]));
    append(&w.file("in.txt"), 1000, 1500);
    let size = std::fs::metadata(w.file("in.txt")).unwrap().len();
    wait_for("the source to read the new lines", || {
        w.call("GET", "/connectors/src/offsets", None).json()["offsets"][0]["offset"]["position"]
            == json!(size)
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(lines(&w.file("out.txt")), 1000, "a paused sink wrote records");
    assert_eq!(w.call("PUT", "/connectors/snk/resume", None).status, 202);
    wait_for("1500 lines after resume", || lines(&w.file("out.txt")) == 1500);

    // Stop (KIP-875): no tasks left; resume brings them back.
    assert_eq!(w.call("PUT", "/connectors/snk/stop", None).status, 204);
    assert_eq!(states(&w.status("snk")), ("STOPPED".into(), vec![]));
    assert_eq!(w.call("GET", "/connectors/snk", None).json()["tasks"], json!([]));
    // Offsets change only while STOPPED (KIP-875): the sink's group offset moves back 50, so
    // records 1450..1500 are delivered again after resume.
    let back = json!({"offsets": [{"partition": {"kafka_topic": topic, "kafka_partition": 0}, "offset": {"kafka_offset": 1450}}]});
    let r = w.call("PATCH", "/connectors/src/offsets", Some(back.clone()));
    assert_eq!(
        r.status,
        400,
        "a running connector's offsets can't change: {:?}",
        r.json()
    );
    assert!(r.json()["message"].as_str().unwrap().contains("STOPPED"));
    let r = w.call("PATCH", "/connectors/snk/offsets", Some(back));
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("altered successfully"));
    assert_eq!(
        w.call("GET", "/connectors/snk/offsets", None).json()["offsets"][0]["offset"],
        json!({"kafka_offset": 1450})
    );
    assert_eq!(w.call("PUT", "/connectors/snk/resume", None).status, 202);
    wait_for(
        "records 1450..1500 delivered again after the offset moved back",
        || lines(&w.file("out.txt")) == 1550,
    );
    assert_eq!(
        states(&w.status("snk")),
        ("RUNNING".into(), vec!["RUNNING".into()])
    );

    // Restarts (KIP-745): legacy 204, with tasks 202 and a status body; one task 204.
    assert_eq!(w.call("POST", "/connectors/snk/restart", None).status, 204);
    let r = w.call(
        "POST",
        "/connectors/snk/restart?includeTasks=true&onlyFailed=false",
        None,
    );
    assert_eq!((r.status, r.json()["name"].clone()), (202, json!("snk")));
    assert_eq!(
        w.call("POST", "/connectors/snk/tasks/0/restart", None).status,
        204
    );
    assert_eq!(
        w.call("POST", "/connectors/snk/tasks/5/restart", None).status,
        404
    );

    // Config: PUT replaces (200), PATCH merges and a null removes a key (KIP-477).
    let r = w.call(
        "PUT",
        "/connectors/snk/config",
        Some(sink(&w, &topic, "out2.txt")),
    );
    assert_eq!(r.status, 200, "{:?}", r.json());
    // The group's committed offsets stay: the new file gets only what comes next.
    append(&w.file("in.txt"), 1500, 1600);
    wait_for("the replaced sink to write new records to its new file", || {
        lines(&w.file("out2.txt")) == 100
    });
    let r = w.call(
        "PATCH",
        "/connectors/snk/config",
        Some(json!({"tasks.max": "2", "file": null})),
    );
    assert_eq!(r.status, 200, "{:?}", r.json());
    let config = w.call("GET", "/connectors/snk/config", None).json();
    assert_eq!(
        (config["tasks.max"].clone(), config.get("file")),
        (json!("2"), None)
    );
    assert_eq!(
        w.call("GET", "/connectors/snk", None).json()["tasks"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    // PUT on a new name creates it (201).
    let r = w.call(
        "PUT",
        "/connectors/snk3/config",
        Some(sink(&w, &topic, "out3.txt")),
    );
    assert_eq!((r.status, r.header("location")), (201, Some("/connectors/snk3")));

    // Errors as Connect gives them.
    let r = w.call("GET", "/connectors/nope", None);
    assert_eq!(
        r.json(),
        json!({"error_code": 404, "message": "Connector nope not found"})
    );
    let r = w.call(
        "POST",
        "/connectors",
        Some(json!({"name": "src", "config": source(&w, &topic)})),
    );
    assert_eq!(r.json()["error_code"], 409);
    let r = w.call(
        "POST",
        "/connectors",
        Some(json!({"name": "bad", "config": {"connector.class": "FileStreamSink"}})),
    );
    assert_eq!(r.status, 400, "a sink without topics: {:?}", r.json());
    assert!(
        r.json()["message"].as_str().unwrap().contains("topics"),
        "{:?}",
        r.json()
    );
    let r = w.call(
        "POST",
        "/connectors",
        Some(json!({"name": "x", "config": {"connector.class": "NoSuchConnector"}})),
    );
    assert_eq!(r.status, 400);
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("FileStreamSinkConnector"));
    let r = http::request(
        &w.addr,
        "POST",
        b"/connectors",
        Some("application/json"),
        b"{\"name\": ",
    )
    .unwrap();
    assert_eq!((r.status, r.json()["error_code"].clone()), (500, json!(500)));
    let r = http::request(&w.addr, "POST", b"/connectors", Some("text/plain"), b"{}").unwrap();
    assert_eq!(r.status, 415);
    let big = vec![b' '; 10 << 20];
    let r = http::request(&w.addr, "POST", b"/connectors", Some("application/json"), &big).unwrap();
    assert_eq!((r.status, r.json()["error_code"].clone()), (413, json!(413)));
    let r = w.call(
        "POST",
        "/connectors",
        Some(json!({"name": "../etc", "config": source(&w, &topic)})),
    );
    assert_eq!(r.status, 400, "a name with '/': {:?}", r.json());
    for path in [
        &b"/connectors/..%2F..%2Fetc%2Fpasswd"[..],
        b"/connectors/%FF%FE/status",
        b"/connectors/../../etc/passwd",
    ] {
        let r = http::request(&w.addr, "GET", path, None, b"").unwrap();
        assert_eq!(r.status, 404, "{}", String::from_utf8_lossy(path));
        assert_eq!(r.json()["error_code"], 404);
    }
    assert_eq!(
        w.call("GET", "/connectors?bogus=1&expand=nothing", None).status,
        200
    );
    assert_eq!(w.call("DELETE", "/connectors", None).status, 405);

    // Delete: 204, then 404.
    assert_eq!(w.call("DELETE", "/connectors/snk3", None).status, 204);
    assert_eq!(w.call("GET", "/connectors/snk3", None).status, 404);

    // After all of that the pipeline still moves records end to end.
    assert_eq!(
        states(&w.status("src")),
        ("RUNNING".into(), vec!["RUNNING".into()])
    );
    let r = w.call(
        "PUT",
        "/connectors/snk/config",
        Some(sink(&w, &topic, "out4.txt")),
    );
    assert_eq!(r.status, 200);
    append(&w.file("in.txt"), 1600, 1700);
    wait_for("new records through the pipeline after the bad requests", || {
        lines(&w.file("out4.txt")) == 100
    });
    let all = std::fs::read_to_string(w.file("out.txt")).unwrap()
        + &std::fs::read_to_string(w.file("out2.txt")).unwrap()
        + &std::fs::read_to_string(w.file("out4.txt")).unwrap();
    let want: String = (0..1500)
        .chain(1450..1700)
        .map(|i| format!("record {i}\n"))
        .collect();
    assert_eq!(
        all, want,
        "every record in order across the three sink files, 1450..1500 twice"
    );

    // A stopped source's offsets: reset (DELETE), then altered (PATCH).
    assert_eq!(w.call("PUT", "/connectors/src/stop", None).status, 204);
    let r = w.call("DELETE", "/connectors/src/offsets", None);
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(
        w.call("GET", "/connectors/src/offsets", None).json(),
        json!({"offsets": []})
    );
    let partition = json!({"filename": w.file("in.txt")});
    let r = w.call(
        "PATCH",
        "/connectors/src/offsets",
        Some(json!({"offsets": [{"partition": partition, "offset": {"position": 5}}]})),
    );
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(
        w.call("GET", "/connectors/src/offsets", None).json(),
        json!({"offsets": [{"partition": partition, "offset": {"position": 5}}]})
    );
    let r = w.call(
        "PATCH",
        "/connectors/src/offsets",
        Some(json!({"offsets": [{"partition": 3, "offset": null}]})),
    );
    assert_eq!(r.status, 400, "{:?}", r.json());

    // A stopped sink's offsets: a null offset deletes the partition's (OffsetDelete), a reset
    // deletes the group (DeleteGroups, idempotent), and the resumed sink then starts over
    // from auto.offset.reset=earliest: all 1700 records again.
    assert_eq!(w.call("PUT", "/connectors/snk/stop", None).status, 204);
    let tp = json!({"kafka_topic": topic, "kafka_partition": 0});
    let sink_offsets = || w.call("GET", "/connectors/snk/offsets", None).json();
    assert_eq!(
        sink_offsets()["offsets"][0]["offset"],
        json!({"kafka_offset": 1700})
    );
    let r = w.call(
        "PATCH",
        "/connectors/snk/offsets",
        Some(json!({"offsets": [{"partition": tp, "offset": null}]})),
    );
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(sink_offsets(), json!({"offsets": []}));
    let r = w.call(
        "PATCH",
        "/connectors/snk/offsets",
        Some(json!({"offsets": [{"partition": tp, "offset": {"kafka_offset": 1690}}]})),
    );
    assert_eq!(r.status, 200, "{:?}", r.json());
    for _ in 0..2 {
        let r = w.call("DELETE", "/connectors/snk/offsets", None);
        assert_eq!(r.status, 200, "{:?}", r.json());
        assert!(r.json()["message"]
            .as_str()
            .unwrap()
            .contains("reset successfully"));
    }
    assert_eq!(sink_offsets(), json!({"offsets": []}));
    assert_eq!(w.call("PUT", "/connectors/snk/resume", None).status, 202);
    wait_for(
        "every record delivered again after the sink's offsets reset",
        || lines(&w.file("out4.txt")) == 1800,
    );
}

#[test]
fn r1_client_passwords_set_through_rest_never_show() {
    let kafka = require_kafka!();
    let w = Worker::start(&kafka.bootstrap, "rest-secrets");
    let topic = unique_topic("rest-secrets");
    append(&w.file("in.txt"), 0, 10);
    let secret = "s3cr3t-Value-0f-the-test";
    let mut config = source(&w, &topic);
    config["producer.override.ssl.truststore.password"] = json!(secret);
    config["consumer.override.sasl.jaas.config"] = json!(secret);
    let created = w.call(
        "POST",
        "/connectors",
        Some(json!({"name": "src", "config": config})),
    );
    assert_eq!(created.status, 201, "{:?}", created.json());
    wait_for("the source to commit an offset", || {
        !w.call("GET", "/connectors/src/offsets", None).json()["offsets"]
            .as_array()
            .is_none_or(Vec::is_empty)
    });
    let responses = [
        created,
        w.call("GET", "/connectors/src", None),
        w.call("GET", "/connectors/src/config", None),
        w.call("GET", "/connectors/src/tasks", None),
        w.call("GET", "/connectors?expand=info&expand=status", None),
        w.call("PATCH", "/connectors/src/config", Some(json!({"tasks.max": "1"}))),
    ];
    for r in &responses {
        let body = String::from_utf8_lossy(&r.body);
        assert!(!body.contains(secret), "secret in a response: {body}");
    }
    assert_eq!(
        responses[2].json()["producer.override.ssl.truststore.password"],
        "[hidden]"
    );
    for f in ["worker.log", "connect.offsets"] {
        let bytes = std::fs::read(w.file(f)).unwrap_or_default();
        assert!(!String::from_utf8_lossy(&bytes).contains(secret), "secret in {f}");
    }
}

fn log_text(w: &Worker) -> String {
    String::from_utf8_lossy(&std::fs::read(w.file("worker.log")).unwrap_or_default()).into_owned()
}

/// The value of one Prometheus sample line `name{labels} value`.
fn sample(text: &str, name_and_labels: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn metrics_and_live_log_levels() {
    let kafka = require_kafka!();
    let w = Worker::start_with(&kafka.bootstrap, "rest-metrics", "", "info", &[]);
    let topic = unique_topic("rest-metrics");
    append(&w.file("in.txt"), 0, 500);
    assert_eq!(
        w.call(
            "POST",
            "/connectors",
            Some(json!({"name": "src", "config": source(&w, &topic)}))
        )
        .status,
        201
    );
    assert_eq!(
        w.call(
            "POST",
            "/connectors",
            Some(json!({"name": "metrics-snk", "config": sink(&w, &topic, "out.txt")}))
        )
        .status,
        201
    );
    wait_for("500 lines in the sink file", || lines(&w.file("out.txt")) == 500);

    // Prometheus text named after Connect's metric groups.
    let r = http::request(&w.addr, "GET", b"/metrics", None, b"").unwrap();
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(r.body).unwrap();
    assert_eq!(
        sample(&text, "kafka_connect_worker_connector_count"),
        Some(2),
        "{text}"
    );
    assert_eq!(sample(&text, "kafka_connect_worker_task_count"), Some(2));
    let l = "{connector=\"src\",task=\"0\"}";
    assert_eq!(
        sample(
            &text,
            &format!("kafka_connect_source_task_source_record_write_total{l}")
        ),
        Some(500)
    );
    assert!(sample(&text, &format!("kafka_producer_request_total{l}")).is_some_and(|n| n >= 1));
    let l = "{connector=\"metrics-snk\",task=\"0\"}";
    assert_eq!(
        sample(
            &text,
            &format!("kafka_connect_sink_task_sink_record_send_total{l}")
        ),
        Some(500)
    );
    assert_eq!(
        sample(&text, &format!("kafka_connect_task_error_total_record_errors{l}")),
        Some(0)
    );
    assert_eq!(
        sample(
            &text,
            "kafka_connect_connector_status{connector=\"metrics-snk\",state=\"running\"}"
        ),
        Some(1)
    );
    assert!(text.contains("# TYPE kafka_connect_source_task_source_record_write_total counter"));

    // /admin/loggers (KIP-495): at info, the per-request debug line isn't logged; after a PUT
    // of DEBUG on the runtime's logger it is, without a restart.
    let loggers = w.call("GET", "/admin/loggers", None).json();
    assert_eq!(loggers["root"]["level"], "INFO", "{loggers}");
    assert_eq!(w.call("GET", "/connectors", None).status, 200);
    assert!(
        !log_text(&w).contains("REST request"),
        "debug line logged at info"
    );
    let r = w.call(
        "PUT",
        "/admin/loggers/kaflow_runtime",
        Some(json!({"level": "DEBUG"})),
    );
    assert_eq!((r.status, r.json()), (200, json!(["kaflow_runtime"])));
    let one = w
        .call("GET", "/admin/loggers/kaflow_runtime::rest::server", None)
        .json();
    assert_eq!(
        one["level"], "DEBUG",
        "a child logger takes its parent's level: {one}"
    );
    assert!(w.call("GET", "/admin/loggers", None).json()["kaflow_runtime"]["last_modified"].is_i64());
    assert_eq!(w.call("GET", "/connectors/src", None).status, 200);
    wait_for("the debug line after the level change", || {
        log_text(&w).contains("REST request")
    });
    let r = w.call(
        "PUT",
        "/admin/loggers/kaflow_runtime",
        Some(json!({"level": "LOUD"})),
    );
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (400, json!("Invalid log level 'LOUD'."))
    );
    assert_eq!(w.call("PUT", "/admin/loggers/x", Some(json!({}))).status, 400);
    let r = w.call(
        "PUT",
        "/admin/loggers/kaflow_runtime?scope=cluster",
        Some(json!({"level": "INFO"})),
    );
    assert_eq!(r.status, 204);
}

/// Every sample of metric `name` (exactly; histogram parts are their own names) whose labels
/// contain each of `with`: (labels, value).
fn samples(text: &str, name: &str, with: &[&str]) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            (n == name && with.iter().all(|w| labels.split(',').any(|x| x == *w)))
                .then(|| Some((labels.to_string(), value.parse().ok()?)))?
        })
        .collect()
}

/// The single sample of `name` with labels `with`.
fn one(text: &str, name: &str, with: &[&str]) -> f64 {
    let s = samples(text, name, with);
    assert_eq!(s.len(), 1, "{name} {with:?}: {s:?}\n{text}");
    s[0].1
}

#[test]
fn client_metrics_show_requests_per_api_batches_compression_and_lag() {
    let kafka = require_kafka!();
    let w = Worker::start_with(&kafka.bootstrap, "rest-client-metrics", "", "info", &[]);
    let topic = unique_topic("rest-client-metrics");
    {
        // Compressible lines: lz4 must make the batches smaller than their records.
        use std::io::Write;
        let mut f = std::fs::File::create(w.file("in.txt")).unwrap();
        for i in 0..500 {
            writeln!(f, "record {i} {}", "abcd".repeat(50)).unwrap();
        }
    }
    let mut src = source(&w, &topic);
    src["producer.override.compression.type"] = json!("lz4");
    for (name, config) in [("src", src), ("snk", sink(&w, &topic, "out.txt"))] {
        let r = w.call(
            "POST",
            "/connectors",
            Some(json!({"name": name, "config": config})),
        );
        assert_eq!(r.status, 201, "{:?}", r.json());
    }
    wait_for("500 lines in the sink file", || lines(&w.file("out.txt")) == 500);
    let metrics = || {
        let r = http::request(&w.addr, "GET", b"/metrics", None, b"").unwrap();
        assert_eq!(r.status, 200);
        String::from_utf8(r.body).unwrap()
    };
    let lag_path = format!("topic=\"{topic}\"");
    let snk = ["connector=\"snk\"", "task=\"0\""];
    // The sink's position reaches the high watermark once it has polled everything.
    wait_for("the sink's lag to be 0", || {
        let t = metrics();
        let lag = samples(&t, "kafka_consumer_fetch_manager_records_lag", &snk);
        lag.len() == 1
            && lag[0].0.contains(&lag_path)
            && lag[0].0.contains("partition=\"0\"")
            && lag[0].1 == 0.0
    });
    let text = metrics();
    assert_eq!(
        one(&text, "kafka_consumer_fetch_manager_records_lag_max", &snk),
        0.0
    );

    // Requests per API on the worker's client core, with a latency histogram each.
    let core = ["client_id=\"kaflow\""];
    for api in ["Produce", "Fetch", "Metadata", "ApiVersions"] {
        let a = format!("api=\"{api}\"");
        let with = [core[0], a.as_str()];
        let n = one(&text, "kafka_client_request_total", &with);
        assert!(n >= 1.0, "{api}: {n}");
        let buckets = samples(&text, "kafka_client_request_latency_seconds_bucket", &with);
        assert_eq!(buckets.len(), 16, "{api}: {buckets:?}");
        assert!(
            buckets.windows(2).all(|b| b[0].1 <= b[1].1),
            "{api}: buckets not cumulative: {buckets:?}"
        );
        let (last_le, last) = buckets.last().unwrap();
        assert!(last_le.contains("le=\"+Inf\""), "{last_le}");
        let count = one(&text, "kafka_client_request_latency_seconds_count", &with);
        assert_eq!(*last, count, "{api}: +Inf bucket vs count");
        // Every answered request is in the histogram; at most the in-flight ones are not
        // (a Fetch long poll may be waiting right now).
        assert!(
            count >= 1.0 && count <= n && n - count <= 2.0,
            "{api}: {count} of {n}"
        );
        let sum = one(&text, "kafka_client_request_latency_seconds_sum", &with);
        let max_ms = one(&text, "kafka_client_request_latency_max", &with);
        assert!(
            sum > 0.0 && max_ms > 0.0 && max_ms <= sum * 1e3,
            "{api}: sum {sum}s max {max_ms}ms"
        );
    }
    assert!(one(&text, "kafka_client_outgoing_byte_total", &core) > 0.0);
    assert!(one(&text, "kafka_client_incoming_byte_total", &core) > 0.0);

    // The source task's producer: 500 records in lz4 batches, nothing left in flight.
    let src = ["connector=\"src\"", "task=\"0\"", "client_id=\"kaflow\""];
    assert_eq!(one(&text, "kafka_producer_record_send_total", &src), 500.0);
    assert_eq!(one(&text, "kafka_producer_records_in_flight", &src), 0.0);
    let rate = one(&text, "kafka_producer_compression_rate_avg", &src);
    assert!(rate > 0.0 && rate < 0.5, "lz4 on repetitive lines: {rate}");
    let (avg, max) = (
        one(&text, "kafka_producer_batch_size_avg", &src),
        one(&text, "kafka_producer_batch_size_max", &src),
    );
    assert!(avg > 61.0 && max >= avg, "batch size avg {avg} max {max}");
    let total = one(&text, "kafka_producer_buffer_total_bytes", &src);
    assert_eq!(total, 33_554_432.0, "buffer.memory's default");
    assert_eq!(one(&text, "kafka_producer_buffer_available_bytes", &src), total);
    assert!(text.contains("# TYPE kafka_client_request_latency_seconds histogram"));

    // Only live clients: a deleted connector's client series go with it.
    assert_eq!(w.call("DELETE", "/connectors/snk", None).status, 204);
    let text = metrics();
    assert!(samples(&text, "kafka_consumer_fetch_manager_records_lag_max", &snk).is_empty());
    assert!(samples(&text, "kafka_consumer_fetch_manager_records_lag", &snk).is_empty());
    assert_eq!(samples(&text, "kafka_producer_record_send_total", &src).len(), 1);
}

#[test]
fn basic_auth_refuses_requests_without_the_right_credentials() {
    let kafka = require_kafka!();
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("rest-auth-creds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let creds = dir.join("credentials.properties");
    std::fs::write(&creds, "admin=Op3rator-Pw\nreader: r3ad\n").unwrap();
    let w = Worker::start_with(
        &kafka.bootstrap,
        "rest-auth",
        &format!("rest.basic.auth.credentials.file={}", creds.display()),
        "info",
        &[],
    );
    let get = |auth: Option<&str>| {
        let mut s = std::net::TcpStream::connect(&w.addr).unwrap();
        use std::io::{Read, Write};
        let header = auth
            .map(|a| format!("Authorization: Basic {a}\r\n"))
            .unwrap_or_default();
        write!(
            s,
            "GET /connectors HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{header}\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out.split(' ').nth(1).unwrap().parse::<u16>().unwrap()
    };
    assert_eq!(get(None), 401);
    assert_eq!(get(Some("YWRtaW46d3Jvbmc=")), 401, "admin:wrong");
    assert_eq!(get(Some("bm9ib2R5Ok9wM3JhdG9yLVB3")), 401, "nobody:Op3rator-Pw");
    assert_eq!(get(Some("!!")), 401);
    assert_eq!(get(Some("YWRtaW46T3AzcmF0b3ItUHc=")), 200, "admin:Op3rator-Pw");
    assert_eq!(get(Some("cmVhZGVyOnIzYWQ=")), 200, "reader:r3ad");
    let log = log_text(&w);
    let refused = log
        .lines()
        .filter(|l| l.contains("REST request refused: 401") && l.contains("path=/connectors"))
        .count();
    assert_eq!(refused, 4, "{log}");
    assert!(log.contains("User admin cannot access"), "{log}");
    for secret in ["wrong", "Op3rator-Pw", "YWRtaW46"] {
        assert!(!log.contains(secret), "{secret} in the log: {log}");
    }
}

#[test]
fn r1_config_provider_references_resolve_at_task_start_and_are_never_written_back() {
    let kafka = require_kafka!();
    let topic = unique_topic("rest-providers");
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("rest-providers-sec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secrets = dir.join("secrets.properties");
    std::fs::write(&secrets, format!("topic={topic}\n")).unwrap();
    let w = Worker::start_with(
        &kafka.bootstrap,
        "rest-providers",
        "config.providers=file,env\n\
         config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider\n\
         config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider",
        "info",
        &[("KAFLOW_TEST_SINK_FILE", "from-env.txt")],
    );
    append(&w.file("in.txt"), 0, 100);
    let topic_ref = format!("${{file:{}:topic}}", secrets.display());
    let src = json!({"connector.class": "FileStreamSource", "file": w.file("in.txt"), "topic": topic_ref});
    assert_eq!(
        w.call("POST", "/connectors", Some(json!({"name": "src", "config": src})))
            .status,
        201
    );
    let snk =
        json!({"connector.class": "FileStreamSink", "file": "${env:KAFLOW_TEST_SINK_FILE}", "topics": topic});
    assert_eq!(
        w.call(
            "POST",
            "/connectors",
            Some(json!({"name": "providers-snk", "config": snk}))
        )
        .status,
        201
    );
    // The sink writes (relative to the worker's directory) the file the env var names, from
    // the topic the file provider names: both references were resolved for the tasks.
    wait_for("100 lines in the env-named file", || {
        lines(&w.file("from-env.txt")) == 100
    });
    let config = w.call("GET", "/connectors/src/config", None).json();
    assert_eq!(config["topic"], json!(topic_ref), "the reference, not the value");
    let snk_config = w.call("GET", "/connectors/providers-snk/config", None).json();
    assert_eq!(snk_config["file"], "${env:KAFLOW_TEST_SINK_FILE}");
    // Task configs are generated from the resolved config (as Connect's), so they don't go
    // through the API either: GET tasks shows what the connector returned.
    let offsets = std::fs::read(w.file("connect.offsets")).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&offsets).contains("from-env"));
}

#[test]
fn r4_a_thousand_concurrent_status_requests_are_all_answered_while_records_flow() {
    let kafka = require_kafka!();
    let w = Worker::start_with(&kafka.bootstrap, "rest-load", "", "info", &[]);
    let topic = unique_topic("rest-load");
    let datagen = json!({
        "connector.class": "DatagenSource", "topic": topic, "tasks.max": "1",
        "max.messages": "-1", "record.shape": "string", "record.size": "100",
    });
    assert_eq!(
        w.call(
            "POST",
            "/connectors",
            Some(json!({"name": "gen", "config": datagen}))
        )
        .status,
        201
    );
    let written = |w: &Worker| {
        let r = http::request(&w.addr, "GET", b"/metrics", None, b"").unwrap();
        sample(
            &String::from_utf8_lossy(&r.body),
            "kafka_connect_source_task_source_record_write_total{connector=\"gen\",task=\"0\"}",
        )
        .unwrap_or(0)
    };
    wait_for("datagen to be writing", || written(&w) > 10_000);
    let rate = |w: &Worker, window: Duration| {
        let (t0, n0) = (Instant::now(), written(w));
        std::thread::sleep(window);
        (written(w) - n0) as f64 / t0.elapsed().as_secs_f64()
    };
    let quiet = rate(&w, Duration::from_secs(2));
    let before = written(&w);
    let started = Instant::now();
    let handles: Vec<_> = (0..1000)
        .map(|_| {
            let addr = w.addr.clone();
            std::thread::spawn(move || http::request(&addr, "GET", b"/connectors/gen/status", None, b""))
        })
        .collect();
    let mut answered = 0;
    for h in handles {
        let r = h.join().unwrap().expect("a status request failed at the socket");
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["tasks"][0]["state"], "RUNNING");
        answered += 1;
    }
    let took = started.elapsed();
    let during = (written(&w) - before) as f64 / took.as_secs_f64();
    assert_eq!(answered, 1000);
    assert!(during > 0.0, "no record moved while the requests were served");
    eprintln!(
        "1000 concurrent status requests answered in {took:?}; datagen {quiet:.0} records/s before, \
         {during:.0} records/s during ({:.1}%; the client threads share the same 2 cores)",
        100.0 * during / quiet
    );
}
