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
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Worker {
    fn start(bootstrap: &str, name: &str) -> Self {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let port = http::write_rest_worker(bootstrap, &dir);
        let log = std::fs::File::create(dir.join("worker.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_kaflow"))
            .args(["standalone", "worker.properties"])
            .current_dir(&dir)
            .env("RUST_LOG", "debug")
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
            http::request(&w.addr, "GET", b"/health", None, b"").is_ok_and(|r| r.status == 200)
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
fn lifecycle_of_a_pipeline_through_connects_rest_api() {
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
    assert_eq!(w.call("PUT", "/connectors/snk/resume", None).status, 202);
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
    let want: String = (0..1700).map(|i| format!("record {i}\n")).collect();
    assert_eq!(
        all, want,
        "every record once, in order, across the three sink files"
    );
}

#[test]
fn client_passwords_set_through_rest_never_show() {
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
