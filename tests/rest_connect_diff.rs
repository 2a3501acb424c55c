//! Differential test of the REST API against Apache Kafka Connect itself: Kafka's
//! `ConnectStandalone` (4.3.1, from the harness jars) and `kaflow standalone` run side by side on
//! the same broker with the same worker settings (StringConverter, own offsets file, own
//! topics), and one script — a list of steps — makes the same calls to both: the connector
//! lifecycle (create, list, expand, get, config GET/PUT/PATCH, status, tasks, pause, resume,
//! stop, offsets, restart variants, delete), the plugin endpoints (list, config, validate) and
//! the error cases (unknown connector, duplicate create, malformed JSON, wrong content type,
//! unknown path, unknown method).
//!
//! For each step the two answers must have
//! - the same status code;
//! - the same JSON shape: the same keys, recursively, and the same value types ([`shape`]);
//! - the same values at the paths whose last key is in [`EXACT`] (states, error codes, task
//!   numbers, types, names): everything else may name workers, versions, classes, files,
//!   topics, ports or carry a message, and differs by nature.
//!
//! Connect's pause, stop and restart are asynchronous, so steps that change states are followed
//! by a polled condition on both sides ([`Settle`]) before the next call. Differences kaflow
//! makes on purpose are listed, with the reason, in [`DELIBERATE`]; any other difference fails
//! the test, and so does a listed step that no longer differs.

use kaflow_test_support::http::{self, HttpResponse};
use kaflow_test_support::process::KillOnDrop;
use kaflow_test_support::{kafka_tool_command, require_kafka, unique_topic};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Keys whose values are compared exactly, wherever they appear.
const EXACT: &[&str] = &[
    "state",
    "error_code",
    "type",
    "task",
    "id",
    "connector",
    "name",
    "error_count",
    "required",
];

/// Steps where kaflow differs from Connect on purpose (documented in README.md, "REST API").
const DELIBERATE: &[(&str, &str)] = &[
    (
        "unknown connector restart",
        "Connect 4.3.1 answers 500 (a NullPointerException); kaflow answers 404 as for every other unknown connector",
    ),
    (
        "config PATCH name mismatch",
        "Connect 4.3.1 accepts a PATCH that sets another \"name\" (and stores it); kaflow refuses it with 400 as both refuse such a PUT",
    ),
    (
        "validate unknown plugin",
        "Connect 4.3.1 answers 500 (a BadRequestException wrapped); kaflow answers 404 as GET .../config does in both",
    ),
    (
        "create without config",
        "Connect 4.3.1 answers 500 (a NullPointerException); kaflow answers 400 naming the missing \"config\"",
    ),
    (
        "connector-plugins",
        "kaflow lists only its own built-in plugins (no MirrorMaker 2 connectors)",
    ),
    (
        "all plugins",
        "kaflow lists its own connectors, converters, transformations and predicates, by type then class",
    ),
];

/// Steps where kaflow still differs from Connect and should not: to be fixed (each fix removes
/// its entry; an entry whose step no longer differs fails the test).
const TO_FIX: &[&str] = &[];

/// One runtime under test: its directory, REST address and process.
struct Side {
    who: &'static str,
    dir: PathBuf,
    addr: String,
    topic: String,
    /// What `$WHO` stands for in names: the side and this run (a group `connect-<name>` left
    /// by an earlier, killed run would hold up the sink's rebalance for a session timeout).
    tag: String,
    _run: KillOnDrop,
}

impl Side {
    /// Writes the worker file (the same for both but for the offsets file and the port) and
    /// starts the runtime built by `command`.
    fn start(root: &Path, who: &'static str, bootstrap: &str, command: impl FnOnce(&str) -> Command) -> Self {
        let dir = root.join(who);
        std::fs::create_dir_all(&dir).unwrap();
        let port = http::write_rest_worker(bootstrap, &dir);
        let worker = dir.join("worker.properties").to_string_lossy().into_owned();
        let log = std::fs::File::create(dir.join("worker.log")).unwrap();
        let child = command(&worker)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start a Connect runtime");
        Side {
            who,
            dir,
            addr: format!("127.0.0.1:{port}"),
            topic: unique_topic(&format!("rest-diff-{who}")),
            tag: unique_topic(who),
            _run: KillOnDrop(child),
        }
    }

    /// Waits until `GET /` answers with the server info (Jetty answers 404 in HTML while
    /// Connect is still starting).
    fn wait_ready(&self, deadline: Instant) {
        loop {
            let r = http::request(&self.addr, "GET", b"/", None, b"");
            if r.is_ok_and(|r| r.status == 200 && r.json().get("version").is_some()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: the REST API did not come up (log: {})",
                self.who,
                self.dir.join("worker.log").display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `text` with this side's placeholders filled in: `$DIR`, `$TOPIC`, `$WHO`.
    fn fill(&self, text: &str) -> String {
        text.replace("$DIR", &self.dir.to_string_lossy())
            .replace("$TOPIC", &self.topic)
            .replace("$WHO", &self.tag)
    }

    fn send(&self, step: &Step) -> HttpResponse {
        let path = self.fill(step.path);
        let (ct, body) = match &step.body {
            Body::None => (None, Vec::new()),
            Body::Json(text) => (Some("application/json"), self.fill(text).into_bytes()),
            Body::Raw(ct, bytes) => (Some(*ct), bytes.to_vec()),
        };
        http::request(&self.addr, step.method, path.as_bytes(), ct, &body)
            .unwrap_or_else(|e| panic!("{}: {} {path}: {e}", self.who, step.method))
    }

    fn get(&self, path: &str) -> Value {
        http::request(&self.addr, "GET", self.fill(path).as_bytes(), None, b"")
            .map(|r| r.json())
            .unwrap_or(Value::Null)
    }

    fn append(&self, from: usize, to: usize) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("in.txt"))
            .unwrap();
        for i in from..to {
            writeln!(f, "record {i}").unwrap();
        }
    }
}

/// A request body.
enum Body {
    None,
    /// JSON text with placeholders, sent as `application/json`.
    Json(&'static str),
    /// Bytes as they are, with a content type.
    Raw(&'static str, &'static [u8]),
}

/// A condition polled on both sides after a step, until it holds on both.
enum Settle {
    /// The connector's state and its tasks' states (all of them, and how many).
    States(&'static str, &'static str, &'static [&'static str]),
    /// The connector's own state, whatever its tasks.
    Connector(&'static str, &'static str),
    /// `GET /connectors/{c}/offsets` lists at least one offset.
    Offsets(&'static str),
    /// The connector is gone from the list.
    Gone(&'static str),
}

struct Step {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    body: Body,
    /// Polled on both sides before the call (e.g. offsets committed).
    first: Option<Settle>,
    /// Polled on both sides after the call (e.g. the state a pause leads to).
    settle: Option<Settle>,
}

const fn step(name: &'static str, method: &'static str, path: &'static str) -> Step {
    Step {
        name,
        method,
        path,
        body: Body::None,
        first: None,
        settle: None,
    }
}

impl Step {
    const fn json(mut self, body: &'static str) -> Self {
        self.body = Body::Json(body);
        self
    }
    const fn raw(mut self, ct: &'static str, body: &'static [u8]) -> Self {
        self.body = Body::Raw(ct, body);
        self
    }
    const fn first(mut self, s: Settle) -> Self {
        self.first = Some(s);
        self
    }
    const fn settle(mut self, s: Settle) -> Self {
        self.settle = Some(s);
        self
    }
}

const SRC: &str = r#"{"name": "src-$WHO", "config": {"connector.class": "FileStreamSource",
    "tasks.max": "1", "file": "$DIR/in.txt", "topic": "$TOPIC"}}"#;
const SNK: &str = r#"{"name": "snk-$WHO", "config": {"connector.class": "FileStreamSink",
    "tasks.max": "1", "file": "$DIR/out.txt", "topics": "$TOPIC"}}"#;

/// The script: every call, in order, made to both runtimes. Connector names carry the side
/// and the run (`src-java-…`, `src-kaflow-…`) so the two sinks never share a consumer group;
/// that tag is taken out of the answers before they are compared ([`unside`]).
fn script() -> Vec<Step> {
    use Settle::*;
    vec![
        step("server info", "GET", "/"),
        step("health", "GET", "/health"),
        step("list empty", "GET", "/connectors"),
        step("create source", "POST", "/connectors")
            .json(SRC)
            .settle(States("src-$WHO", "RUNNING", &["RUNNING"])),
        step("create sink", "POST", "/connectors")
            .json(SNK)
            .settle(States("snk-$WHO", "RUNNING", &["RUNNING"])),
        step("list", "GET", "/connectors"),
        step("expand=status", "GET", "/connectors?expand=status"),
        step("expand=info", "GET", "/connectors?expand=info"),
        step("expand both", "GET", "/connectors?expand=status&expand=info"),
        step("get", "GET", "/connectors/snk-$WHO"),
        step("config", "GET", "/connectors/snk-$WHO/config"),
        step("status", "GET", "/connectors/snk-$WHO/status"),
        step("tasks", "GET", "/connectors/src-$WHO/tasks"),
        step("task status", "GET", "/connectors/src-$WHO/tasks/0/status"),
        step(
            "unknown task status",
            "GET",
            "/connectors/src-$WHO/tasks/7/status",
        ),
        step("source offsets", "GET", "/connectors/src-$WHO/offsets").first(Offsets("src-$WHO")),
        step("sink offsets", "GET", "/connectors/snk-$WHO/offsets").first(Offsets("snk-$WHO")),
        step("config PUT", "PUT", "/connectors/snk-$WHO/config")
            .json(
                r#"{"connector.class": "FileStreamSink", "tasks.max": "1",
                   "file": "$DIR/out2.txt", "topics": "$TOPIC"}"#,
            )
            .settle(States("snk-$WHO", "RUNNING", &["RUNNING"])),
        step("config PATCH", "PATCH", "/connectors/snk-$WHO/config")
            .json(r#"{"tasks.max": "2", "file": null}"#)
            .settle(States("snk-$WHO", "RUNNING", &["RUNNING", "RUNNING"])),
        step("config after PATCH", "GET", "/connectors/snk-$WHO/config"),
        step("tasks after PATCH", "GET", "/connectors/snk-$WHO/tasks"),
        step("config PUT creates", "PUT", "/connectors/snk3-$WHO/config")
            .json(r#"{"connector.class": "FileStreamSink", "file": "$DIR/out3.txt", "topics": "$TOPIC"}"#)
            .settle(States("snk3-$WHO", "RUNNING", &["RUNNING"])),
        step("pause", "PUT", "/connectors/snk-$WHO/pause").settle(States(
            "snk-$WHO",
            "PAUSED",
            &["PAUSED", "PAUSED"],
        )),
        step("status paused", "GET", "/connectors/snk-$WHO/status"),
        step("resume", "PUT", "/connectors/snk-$WHO/resume").settle(States(
            "snk-$WHO",
            "RUNNING",
            &["RUNNING", "RUNNING"],
        )),
        step("stop", "PUT", "/connectors/snk-$WHO/stop").settle(States("snk-$WHO", "STOPPED", &[])),
        step("status stopped", "GET", "/connectors/snk-$WHO/status"),
        step("get stopped", "GET", "/connectors/snk-$WHO"),
        step("offsets stopped", "GET", "/connectors/snk-$WHO/offsets"),
        step("resume stopped", "PUT", "/connectors/snk-$WHO/resume").settle(States(
            "snk-$WHO",
            "RUNNING",
            &["RUNNING", "RUNNING"],
        )),
        step("restart legacy", "POST", "/connectors/snk-$WHO/restart").settle(States(
            "snk-$WHO",
            "RUNNING",
            &["RUNNING", "RUNNING"],
        )),
        step(
            "restart onlyFailed",
            "POST",
            "/connectors/snk-$WHO/restart?includeTasks=true&onlyFailed=true",
        )
        .settle(States("snk-$WHO", "RUNNING", &["RUNNING", "RUNNING"])),
        step(
            "restart includeTasks",
            "POST",
            "/connectors/snk-$WHO/restart?includeTasks=true&onlyFailed=false",
        )
        .settle(States("snk-$WHO", "RUNNING", &["RUNNING", "RUNNING"])),
        step("restart task", "POST", "/connectors/snk-$WHO/tasks/0/restart").settle(States(
            "snk-$WHO",
            "RUNNING",
            &["RUNNING", "RUNNING"],
        )),
        step(
            "restart unknown task",
            "POST",
            "/connectors/snk-$WHO/tasks/9/restart",
        ),
        step(
            "connector-plugins",
            "GET",
            "/connector-plugins?connectorsOnly=true",
        ),
        step("plugin config", "GET", "/connector-plugins/FileStreamSink/config"),
        step(
            "validate good",
            "PUT",
            "/connector-plugins/FileStreamSink/config/validate",
        )
        .json(r#"{"connector.class": "FileStreamSink", "name": "v", "topics": "t", "file": "f"}"#),
        step(
            "validate bad",
            "PUT",
            "/connector-plugins/FileStreamSink/config/validate",
        )
        .json(r#"{"connector.class": "FileStreamSink", "tasks.max": "many"}"#),
        step("unknown connector", "GET", "/connectors/nope"),
        step("unknown connector status", "GET", "/connectors/nope/status"),
        step("unknown connector delete", "DELETE", "/connectors/nope"),
        step("duplicate create", "POST", "/connectors").json(SRC),
        step("malformed JSON", "POST", "/connectors").raw("application/json", b"{\"name\": "),
        step("wrong content type", "POST", "/connectors").raw("text/plain", b"{}"),
        step("unknown path", "GET", "/nope"),
        step("unknown method", "PATCH", "/connectors"),
        step("unknown connector tasks", "GET", "/connectors/nope/tasks"),
        step("unknown connector pause", "PUT", "/connectors/nope/pause"),
        step("unknown connector restart", "POST", "/connectors/nope/restart"),
        step("unknown connector offsets", "GET", "/connectors/nope/offsets"),
        step(
            "task id not a number",
            "GET",
            "/connectors/src-$WHO/tasks/abc/status",
        ),
        step("create without config", "POST", "/connectors").json(r#"{"name": "noconf-$WHO"}"#),
        step("create name mismatch", "POST", "/connectors").json(
            r#"{"name": "mm-$WHO", "config": {"name": "other", "connector.class": "FileStreamSource",
               "topic": "$TOPIC"}}"#,
        ),
        step("create unknown class", "POST", "/connectors")
            .json(r#"{"name": "x-$WHO", "config": {"connector.class": "NoSuchConnector"}}"#),
        step("create sink without topics", "POST", "/connectors")
            .json(r#"{"name": "x-$WHO", "config": {"connector.class": "FileStreamSink"}}"#),
        step("config PUT invalid", "PUT", "/connectors/snk-$WHO/config")
            .json(r#"{"connector.class": "FileStreamSink", "tasks.max": "0", "topics": "$TOPIC"}"#),
        step("create stopped", "POST", "/connectors")
            .json(
                r#"{"name": "st-$WHO", "initial_state": "STOPPED", "config": {"connector.class":
                   "FileStreamSink", "file": "$DIR/st.txt", "topics": "$TOPIC"}}"#,
            )
            .settle(States("st-$WHO", "STOPPED", &[])),
        step("status created stopped", "GET", "/connectors/st-$WHO/status"),
        step("create paused", "POST", "/connectors")
            .json(
                r#"{"name": "pa-$WHO", "initial_state": "PAUSED", "config": {"connector.class":
                   "FileStreamSink", "file": "$DIR/pa.txt", "topics": "$TOPIC"}}"#,
            )
            .settle(Connector("pa-$WHO", "PAUSED")),
        step("status created paused", "GET", "/connectors/pa-$WHO/status"),
        step("resume created paused", "PUT", "/connectors/pa-$WHO/resume").settle(States(
            "pa-$WHO",
            "RUNNING",
            &["RUNNING"],
        )),
        step("status resumed", "GET", "/connectors/pa-$WHO/status"),
        step(
            "list with unknown query",
            "GET",
            "/connectors?bogus=1&expand=nothing",
        ),
        step("topics", "GET", "/connectors/snk-$WHO/topics"),
        step("offsets alter", "PATCH", "/connectors/st-$WHO/offsets").json(
            r#"{"offsets": [{"partition": {"kafka_topic": "$TOPIC", "kafka_partition": 0},
               "offset": {"kafka_offset": 5}}]}"#,
        ),
        step("offsets reset", "DELETE", "/connectors/st-$WHO/offsets"),
        step("tasks of stopped", "GET", "/connectors/st-$WHO/tasks"),
        step(
            "task status of stopped",
            "GET",
            "/connectors/st-$WHO/tasks/0/status",
        ),
        step(
            "restart stopped",
            "POST",
            "/connectors/st-$WHO/restart?includeTasks=true",
        )
        .settle(Connector("st-$WHO", "STOPPED")),
        step("config PUT name mismatch", "PUT", "/connectors/snk-$WHO/config")
            .json(r#"{"name": "other", "connector.class": "FileStreamSink", "topics": "$TOPIC"}"#),
        step("config PATCH unknown", "PATCH", "/connectors/nope/config").json(r#"{"tasks.max": "1"}"#),
        step(
            "config PATCH name mismatch",
            "PATCH",
            "/connectors/snk-$WHO/config",
        )
        .json(r#"{"name": "other"}"#),
        step(
            "validate unknown plugin",
            "PUT",
            "/connector-plugins/Nope/config/validate",
        )
        .json(r#"{"connector.class": "Nope"}"#),
        step("all plugins", "GET", "/connector-plugins?connectorsOnly=false"),
        step("delete source", "DELETE", "/connectors/src-$WHO").settle(Gone("src-$WHO")),
        step("offsets of deleted", "GET", "/connectors/src-$WHO/offsets"),
        step("unknown plugin config", "GET", "/connector-plugins/Nope/config"),
        step(
            "validate class mismatch",
            "PUT",
            "/connector-plugins/FileStreamSink/config/validate",
        )
        .json(r#"{"connector.class": "FileStreamSource"}"#),
        step("delete", "DELETE", "/connectors/snk3-$WHO").settle(Gone("snk3-$WHO")),
        step("get deleted", "GET", "/connectors/snk3-$WHO"),
        step("list at the end", "GET", "/connectors"),
    ]
}

/// The JSON shape of `v`: objects keep their keys with the shapes of their values; an array
/// becomes the distinct shapes of its elements; scalars become their type's name.
fn shape(v: &Value) -> Value {
    match v {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(a) => {
            let mut shapes: Vec<Value> = Vec::new();
            for s in a.iter().map(shape) {
                if !shapes.contains(&s) {
                    shapes.push(s);
                }
            }
            Value::Array(shapes)
        }
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
    }
}

/// Every `(path, value)` under `v` whose last key is in [`EXACT`] (scalars only).
fn exact_values(v: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{path}.{k}");
                if EXACT.contains(&k.as_str()) && !x.is_object() && !x.is_array() {
                    out.push((p.clone(), x.clone()));
                }
                exact_values(x, &p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                exact_values(x, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Where `a` and `b` differ in shape, element by element (for the report).
fn shape_paths(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) => shape_paths(v, w, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k} (only Connect)")),
                }
            }
            for k in y.keys().filter(|k| !x.contains_key(*k)) {
                out.push(format!("{path}.{k} (only kaflow)"));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                shape_paths(v, w, &format!("{path}[{i}]"), out);
            }
            if x.is_empty() != y.is_empty() {
                out.push(format!("{path}: {} vs {} elements", x.len(), y.len()));
            }
        }
        _ if shape(a) != shape(b) => out.push(format!("{path}: {} vs {}", shape(a), shape(b))),
        _ => {}
    }
}

/// `v` with the side's tag taken out of every key and string (`snk-java-…` → `snk-@`), and
/// arrays of task states in task order (Connect lists the tasks of a restart plan in no
/// particular order).
fn unside(v: &Value, who: &str) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace(who, "@")),
        Value::Array(a) => {
            let mut a: Vec<Value> = a.iter().map(|x| unside(x, who)).collect();
            if a.iter().all(|x| x["id"].is_u64() && x.get("state").is_some()) {
                a.sort_by_key(|x| x["id"].as_u64());
            }
            Value::Array(a)
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.replace(who, "@"), unside(x, who)))
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

/// What differs between Connect's answer `a` and kaflow's `b` (empty: nothing).
fn differences(java: &Side, a: &HttpResponse, kaflow: &Side, b: &HttpResponse) -> Vec<String> {
    let mut out = Vec::new();
    if a.status != b.status {
        out.push(format!("status {} vs {}", a.status, b.status));
    }
    let (ja, jb) = (unside(&a.json(), &java.tag), unside(&b.json(), &kaflow.tag));
    let (sa, sb) = (shape(&ja), shape(&jb));
    if sa != sb {
        let mut at = Vec::new();
        shape_paths(&ja, &jb, "$", &mut at);
        out.push(format!("shape differs at: {}", at.join(", ")));
    }
    let (mut ea, mut eb) = (Vec::new(), Vec::new());
    exact_values(&ja, "$", &mut ea);
    exact_values(&jb, "$", &mut eb);
    for (p, v) in &ea {
        match eb.iter().find(|(q, _)| q == p) {
            Some((_, w)) if w == v => {}
            Some((_, w)) => out.push(format!("{p}: {v} vs {w}")),
            None => out.push(format!("{p}: {v} vs (missing)")),
        }
    }
    for (p, w) in &eb {
        if !ea.iter().any(|(q, _)| q == p) {
            out.push(format!("{p}: (missing) vs {w}"));
        }
    }
    out
}

/// Whether `cond` (its placeholders filled in for `side`) holds on `side` now.
fn settled(side: &Side, cond: &Settle) -> bool {
    match cond {
        Settle::States(c, state, tasks) => {
            let st = side.get(&format!("/connectors/{c}/status"));
            let got: Vec<&str> = st["tasks"]
                .as_array()
                .map(|ts| ts.iter().filter_map(|t| t["state"].as_str()).collect())
                .unwrap_or_default();
            st["connector"]["state"] == *state && got == *tasks
        }
        Settle::Connector(c, state) => {
            side.get(&format!("/connectors/{c}/status"))["connector"]["state"] == *state
        }
        Settle::Offsets(c) => side.get(&format!("/connectors/{c}/offsets"))["offsets"]
            .as_array()
            .is_some_and(|o| !o.is_empty()),
        Settle::Gone(c) => side
            .get("/connectors")
            .as_array()
            .is_some_and(|l| !l.iter().any(|n| n.as_str() == Some(&side.fill(c)))),
    }
}

/// Polls `cond` on `side` for up to 30 s.
fn settle(side: &Side, step: &str, cond: &Settle) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !settled(side, cond) {
        let (Settle::States(c, ..) | Settle::Connector(c, _) | Settle::Offsets(c) | Settle::Gone(c)) = cond;
        assert!(
            Instant::now() < deadline,
            "{}: after {step:?} the condition never held (status: {})",
            side.who,
            side.get(&format!("/connectors/{c}/status"))
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Lines of differences shown per step, and bytes of each body.
const MAX_LINES: usize = 12;
const MAX_BODY: usize = 600;

fn clip(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    match text.char_indices().nth(MAX_BODY) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.into_owned(),
    }
}

#[test]
fn rest_api_answers_like_kafka_connect() {
    let kafka = require_kafka!();
    let started = Instant::now();
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("rest-diff-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();

    let java = Side::start(&root, "java", &kafka.bootstrap, |worker| {
        let mut cmd = kafka_tool_command("org.apache.kafka.connect.cli.ConnectStandalone", &[worker]);
        cmd.env("KAFKA_TOOL_HEAP", "-Xmx512m");
        cmd
    });
    let kaflow = Side::start(&root, "kaflow", &kafka.bootstrap, |worker| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kaflow"));
        cmd.args(["standalone", worker]).env("RUST_LOG", "info");
        cmd
    });
    // The JVM may take a while on a loaded machine; the script's own time is bounded below.
    let deadline = Instant::now() + Duration::from_secs(120);
    java.wait_ready(deadline);
    kaflow.wait_ready(deadline);
    for side in [&java, &kaflow] {
        side.append(0, 100);
    }

    let ready = started.elapsed();
    let script_started = Instant::now();
    let mut failures = Vec::new();
    let mut deliberate_seen = Vec::new();
    for step in script() {
        if let Some(cond) = &step.first {
            settle(&java, step.name, cond);
            settle(&kaflow, step.name, cond);
        }
        let a = java.send(&step);
        let b = kaflow.send(&step);
        if let Some(cond) = &step.settle {
            settle(&java, step.name, cond);
            settle(&kaflow, step.name, cond);
        }
        let diff = differences(&java, &a, &kaflow, &b);
        if diff.is_empty() {
            continue;
        }
        let more = diff.len().saturating_sub(MAX_LINES);
        let report = format!(
            "{} ({} {}):\n    {}{}\n    Connect: {}\n    kaflow:  {}",
            step.name,
            step.method,
            step.path,
            diff[..diff.len().min(MAX_LINES)].join("\n    "),
            if more > 0 {
                format!("\n    ... and {more} more")
            } else {
                String::new()
            },
            clip(&a.body),
            clip(&b.body)
        );
        if DELIBERATE.iter().any(|(n, _)| *n == step.name) {
            eprintln!("deliberate difference, {report}");
            deliberate_seen.push(step.name);
        } else if TO_FIX.contains(&step.name) {
            eprintln!("difference still to fix, {report}");
            deliberate_seen.push(step.name);
        } else {
            failures.push(report);
        }
    }
    for (name, why) in DELIBERATE {
        assert!(
            deliberate_seen.contains(name),
            "{name:?} is listed as a deliberate difference ({why}) but no longer differs"
        );
    }
    for name in TO_FIX {
        assert!(
            deliberate_seen.contains(name),
            "{name:?} is listed as still to fix but no longer differs: take it off TO_FIX"
        );
    }
    assert!(
        failures.is_empty(),
        "{} step(s) answer differently from Kafka Connect:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    let took = script_started.elapsed();
    eprintln!("both runtimes ready after {ready:?}; the script took {took:?}");
    assert!(took < Duration::from_secs(90), "the script took {took:?}");
    let _ = std::fs::remove_dir_all(&root);
}
