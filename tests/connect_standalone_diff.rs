//! Differential test against Apache Kafka Connect itself: Kafka's `ConnectStandalone` (4.3.1,
//! from the harness jars) and `kaflow standalone` are given the same worker file and the same
//! FileStream connector files (only the topic, the output file and the offsets file differ) over
//! the same 100,000-line input, and must produce
//! - the same topic contents: for every offset, the same key bytes, value bytes and headers;
//! - the same sink output file, byte for byte.
//!
//! Once per converter set-up: JsonConverter with `schemas.enable=true`, with `false`, and
//! StringConverter. The input is built to find differences: empty lines, `\r\n` and lone `\r`
//! endings, quotes and backslashes, JSON-looking text, tabs and control characters, non-ASCII
//! (two-, three- and four-byte UTF-8), invalid UTF-8 (Java decodes it to U+FFFD), and lines far
//! longer than the source's read buffer.

use kaflow_client::admin::{Admin, NewTopic};
use kaflow_client::cluster::Cluster;
use kaflow_client::consumer::{Consumer, ConsumerConfig};
use kaflow_client::group::TopicPartition;
use kaflow_client::{ClientConfig, Properties};
use kaflow_test_support::{kafka_tool_command, require_kafka, unique_topic};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Lines the input is built from. A lone `\r` followed by an empty line reads as one `\r\n`
/// ending, so the records to expect are counted by [`records_in`], as Kafka's reader splits.
const LINES: usize = 100_000;

/// Records a FileStreamSource makes of `input`: one per `\n`, `\r\n` or lone `\r`.
fn records_in(input: &[u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'\r' if input.get(i + 1) == Some(&b'\n') => {
                n += 1;
                i += 1;
            }
            b'\r' | b'\n' => n += 1,
            _ => {}
        }
        i += 1;
    }
    n
}

/// The input: `LINES` lines with every kind of content a line reader or a converter could get
/// wrong, in a fixed order so both runtimes read the same bytes.
fn input() -> Vec<u8> {
    let mut out = Vec::with_capacity(LINES * 40);
    for i in 0..LINES {
        match i % 20 {
            0 => out.extend_from_slice(b""),
            1 => out.extend_from_slice(format!("plain line {i}").as_bytes()),
            2 => out.extend_from_slice(format!("\"quoted\" and \\backslash\\ {i}").as_bytes()),
            3 => out.extend_from_slice(format!(r#"{{"looks":"like json","n":{i}}}"#).as_bytes()),
            4 => out.extend_from_slice(format!("tab\there\u{1}control {i}").as_bytes()),
            5 => out.extend_from_slice(format!("caf\u{e9} \u{4e2d}\u{6587} \u{1f600} {i}").as_bytes()),
            6 => out.extend_from_slice(format!("  leading and trailing spaces {i}  ").as_bytes()),
            7 => out.extend_from_slice(b"bad utf-8 \xff\xfe here"),
            8 => out.extend_from_slice(format!("{i}").as_bytes()),
            // Every 1,000th line is 20 kB: longer than any read buffer.
            9 if i % 1000 == 9 => out.extend_from_slice("x".repeat(20_000).as_bytes()),
            10 => out.extend_from_slice(format!("</script><b>html</b> & {i}").as_bytes()),
            _ => out.extend_from_slice(format!("line {i} of the input").as_bytes()),
        }
        // Mostly \n; some \r\n and some lone \r, which Kafka's FileStreamSourceTask also ends a
        // line at.
        match i % 97 {
            13 => out.extend_from_slice(b"\r\n"),
            14 => out.extend_from_slice(b"\r"),
            _ => out.push(b'\n'),
        }
    }
    out
}

/// A record as compared: key, value and headers (offsets are compared as they are read).
type Record = (Option<Vec<u8>>, Option<Vec<u8>>, Vec<(String, Option<Vec<u8>>)>);

/// One runtime's pipeline: its directory, files and topic.
struct Side {
    dir: PathBuf,
    topic: String,
}

impl Side {
    /// Writes the worker file and the two connector files, identical for both runtimes but for
    /// the topic, the output file and the offsets file.
    fn new(root: &Path, who: &str, bootstrap: &str, converter: &Converter) -> Self {
        let dir = root.join(who);
        std::fs::create_dir_all(&dir).unwrap();
        let topic = unique_topic(&format!("diff-{}-{who}", converter.name));
        let d = dir.display();
        let r = root.display();
        std::fs::write(
            dir.join("worker.properties"),
            format!(
                "bootstrap.servers={bootstrap}\n{}\
                 offset.storage.file.filename={d}/connect.offsets\n\
                 offset.flush.interval.ms=1000\n\
                 listeners=http://127.0.0.1:0\n",
                converter.worker_keys
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("source.properties"),
            format!(
                "name=diff-source\nconnector.class=FileStreamSource\ntasks.max=1\n\
                 file={r}/in.txt\ntopic={topic}\n"
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("sink.properties"),
            format!(
                "name=diff-sink-{who}\nconnector.class=org.apache.kafka.connect.file.FileStreamSinkConnector\n\
                 tasks.max=1\nfile={d}/out.txt\ntopics={topic}\n"
            ),
        )
        .unwrap();
        Side { dir, topic }
    }

    fn files(&self) -> [String; 3] {
        ["worker.properties", "source.properties", "sink.properties"]
            .map(|f| self.dir.join(f).to_string_lossy().into_owned())
    }

    fn out(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("out.txt")).unwrap_or_default()
    }
}

struct Converter {
    name: &'static str,
    worker_keys: String,
}

/// Stops a runtime however the test ends (the JVM included: `kafka.sh tool` execs it).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(mut cmd: Command, side: &Side, log: &str) -> Running {
    let log = std::fs::File::create(side.dir.join(log)).unwrap();
    let child = cmd
        .current_dir(&side.dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start a Connect runtime");
    Running(child)
}

/// Every record of partition 0, as (key, value, headers), once the topic holds `n`.
async fn topic_contents(bootstrap: &str, topic: &str, n: usize) -> Vec<Record> {
    let cfg =
        ConsumerConfig::from_properties(&Properties::new().with("bootstrap.servers", bootstrap)).unwrap();
    let mut c = Consumer::connect(cfg).await.unwrap();
    let tp = TopicPartition::new(topic, 0);
    c.assign([tp.clone()]);
    c.seek(&tp, 0).unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        assert!(
            Instant::now() < deadline,
            "{topic}: {} of {n} records after 180 s",
            out.len()
        );
        for r in c.poll(Duration::from_millis(500)).await.unwrap() {
            assert_eq!(r.offset, out.len() as i64, "{topic}: offsets are consecutive");
            let headers = r
                .headers
                .iter()
                .map(|h| {
                    (
                        String::from_utf8_lossy(&h.key).into_owned(),
                        h.value.as_ref().map(|v| v.to_vec()),
                    )
                })
                .collect();
            out.push((r.key.map(|k| k.to_vec()), r.value.map(|v| v.to_vec()), headers));
        }
    }
    let more = c.poll(Duration::from_millis(500)).await.unwrap();
    assert!(more.is_empty(), "{topic}: more than {n} records");
    c.close().await;
    out
}

/// Waits until `side`'s sink file holds `n` lines.
async fn wait_for_sink(side: &Side, who: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let lines = side.out().iter().filter(|&&b| b == b'\n').count();
        if lines >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{who}: {lines} of {n} lines in the sink file after 180 s (log: {})",
            side.dir.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn differential(converter: Converter) {
    let kafka = require_kafka!();
    let bootstrap = kafka.bootstrap.as_str();
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "connect-diff-{}-{}",
        converter.name,
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let input = input();
    let records = records_in(&input);
    assert!(records > LINES * 99 / 100, "the input makes {records} records");
    std::fs::write(root.join("in.txt"), input).unwrap();

    let java = Side::new(&root, "java", bootstrap, &converter);
    let kaflow = Side::new(&root, "kaflow", bootstrap, &converter);
    // One partition each, so the order of records is part of what is compared (with several
    // partitions, null-keyed records spread by each client's own sticky partitioner).
    let cfg = ClientConfig::from_properties(&Properties::new().with("bootstrap.servers", bootstrap)).unwrap();
    let admin = Admin::new(Cluster::connect(cfg).await.unwrap());
    for side in [&java, &kaflow] {
        admin.create_topic(NewTopic::new(&side.topic, 1)).await.unwrap();
    }

    let files = java.files();
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let mut cmd = kafka_tool_command("org.apache.kafka.connect.cli.ConnectStandalone", &args);
    cmd.env("KAFKA_TOOL_HEAP", "-Xmx512m");
    let _java_run = start(cmd, &java, "connect.log");

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kaflow"));
    cmd.arg("standalone").args(kaflow.files()).env("RUST_LOG", "warn");
    let _kaflow_run = start(cmd, &kaflow, "kaflow.log");

    let from_java = topic_contents(bootstrap, &java.topic, records).await;
    let from_kaflow = topic_contents(bootstrap, &kaflow.topic, records).await;
    let first_difference = from_java.iter().zip(&from_kaflow).position(|(a, b)| a != b);
    if let Some(i) = first_difference {
        panic!(
            "{}: record {i} differs\n  Java Connect: {:?}\n  kaflow:       {:?}",
            converter.name,
            show(&from_java[i]),
            show(&from_kaflow[i])
        );
    }

    wait_for_sink(&java, "Java Connect", records).await;
    wait_for_sink(&kaflow, "kaflow", records).await;
    let (a, b) = (java.out(), kaflow.out());
    if a != b {
        let line = a
            .split(|&c| c == b'\n')
            .zip(b.split(|&c| c == b'\n'))
            .position(|(x, y)| x != y);
        panic!(
            "{}: the sink files differ ({} vs {} bytes), first at line {line:?}",
            converter.name,
            a.len(),
            b.len()
        );
    }
    let _ = std::fs::remove_dir_all(&root);
}

fn show(r: &Record) -> String {
    let text = |b: &Option<Vec<u8>>| b.as_ref().map(|b| String::from_utf8_lossy(b).into_owned());
    format!("key={:?} value={:?} headers={:?}", text(&r.0), text(&r.1), r.2)
}

/// JsonConverter for keys and values, with or without the schema envelope.
fn json(name: &'static str, schemas: bool) -> Converter {
    let c = "org.apache.kafka.connect.json.JsonConverter";
    Converter {
        name,
        worker_keys: format!(
            "key.converter={c}\nvalue.converter={c}\n\
             key.converter.schemas.enable={schemas}\nvalue.converter.schemas.enable={schemas}\n"
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_with_schemas_gives_the_same_topic_and_sink_file_as_connect() {
    differential(json("json-schemas", true)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_without_schemas_gives_the_same_topic_and_sink_file_as_connect() {
    differential(json("json-plain", false)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn string_converter_gives_the_same_topic_and_sink_file_as_connect() {
    differential(Converter {
        name: "string",
        worker_keys: "key.converter=org.apache.kafka.connect.storage.StringConverter\n\
                      value.converter=org.apache.kafka.connect.storage.StringConverter\n"
            .to_string(),
    })
    .await;
}
