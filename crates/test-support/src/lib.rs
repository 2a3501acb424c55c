//! Test support: a real Apache Kafka for every integration test.
//!
//! ```text
//!  test binary ──kafka()──▶ KAFKA_BOOTSTRAP set? ──yes──▶ use it (shared, not ours to stop)
//!                                  │ no
//!                                  ▼
//!                   scripts/kafka.sh start --port P     (one broker per test binary,
//!                   KAFKA_STATE_DIR=target/kafka/tests/…  stopped by the harness watchdog
//!                   KAFKA_OWNER_PID=<this process>        when this process exits)
//!
//!  Cluster::start(3) ─▶ scripts/kafka.sh start --nodes 3 ─▶ kill(n) / restart(n) / Drop = stop
//! ```
//!
//! With `CI=true` a test that needs Kafka and cannot get it fails; elsewhere it may skip, loudly
//! (see [`require_kafka!`]). Topic names come from [`unique_topic`] so tests sharing a broker
//! never see each other's data.

pub mod http;
pub mod java;
pub mod process;
pub mod seq;
pub mod wire;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// Why the harness could not give a test its Kafka.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// `scripts/kafka.sh` could not be run at all.
    #[error("could not run {script}: {source}")]
    Spawn {
        script: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `scripts/kafka.sh` ran and failed; `stderr` carries its one-line reason.
    #[error("scripts/kafka.sh {args} failed ({status}): {stderr}")]
    Script {
        args: String,
        status: std::process::ExitStatus,
        stderr: String,
    },
}

/// The repository root (this crate lives in `crates/test-support`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root exists")
}

fn kafka_script() -> PathBuf {
    repo_root().join("scripts/kafka.sh")
}

/// True when running under CI, where a missing Kafka is a failure, never a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Runs `scripts/kafka.sh ARGS` with the given state dir; returns stdout on success.
fn run_script(state_dir: Option<&Path>, args: &[&str]) -> Result<String, HarnessError> {
    let script = kafka_script();
    let mut cmd = Command::new("bash");
    cmd.arg(&script).args(args).stdin(Stdio::null());
    if let Some(dir) = state_dir {
        cmd.env("KAFKA_STATE_DIR", dir);
        cmd.env("KAFKA_OWNER_PID", std::process::id().to_string());
    }
    let out = cmd.output().map_err(|source| HarnessError::Spawn {
        script: script.clone(),
        source,
    })?;
    if !out.status.success() {
        return Err(HarnessError::Script {
            args: args.join(" "),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}

/// A base port with `count` consecutive free loopback ports, below Linux's ephemeral range
/// (32768+) so outgoing connections can't take them between our check and the broker's bind.
fn free_port_block(count: u16) -> u16 {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
        ^ std::process::id().wrapping_mul(2_654_435_761);
    let mut candidate = 20_000 + (seed % 12_000) as u16;
    for _ in 0..200 {
        let all_free = (0..count).all(|i| std::net::TcpListener::bind(("127.0.0.1", candidate + i)).is_ok());
        if all_free {
            return candidate;
        }
        candidate = 20_000 + ((candidate - 20_000 + 37 * count) % 12_000);
    }
    panic!("no block of {count} free loopback ports found in 20000..32000");
}

/// A fresh state dir for one harness instance of this test binary.
fn state_dir(kind: &str) -> PathBuf {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().to_string()))
        .unwrap_or_else(|| "test".into());
    repo_root().join("target/kafka/tests").join(format!(
        "{exe}-{}-{kind}{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Starts `nodes` nodes in a fresh state dir, retrying on a port lost to a race.
fn start_nodes(nodes: u16) -> Result<(PathBuf, u16, String), HarnessError> {
    let mut last = None;
    for _ in 0..3 {
        let dir = state_dir(if nodes == 1 { "single" } else { "cluster" });
        let port = free_port_block(2 * nodes);
        let n = nodes.to_string();
        let p = port.to_string();
        match run_script(Some(&dir), &["start", "--nodes", &n, "--port", &p]) {
            Ok(stdout) => {
                let bootstrap = stdout.lines().last().unwrap_or_default().trim().to_string();
                return Ok((dir, port, bootstrap));
            }
            Err(e @ HarnessError::Script { .. }) if e.to_string().contains("already in use") => {
                last = Some(e)
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.expect("at least one attempt"))
}

/// One Kafka broker (or the `KAFKA_BOOTSTRAP` cluster) shared by the tests of one binary.
#[derive(Debug)]
pub struct Kafka {
    /// Comma-separated bootstrap servers.
    pub bootstrap: String,
    /// The harness state dir when this binary started the broker itself.
    pub state_dir: Option<PathBuf>,
}

impl Kafka {
    /// The first bootstrap address, `host:port`.
    pub fn first_addr(&self) -> &str {
        self.bootstrap.split(',').next().unwrap_or_default()
    }
}

/// The broker for this test binary: `KAFKA_BOOTSTRAP` if set, else one started on first use.
/// `None` only outside CI when Kafka can't be had (the reason is printed loudly).
pub fn kafka() -> Option<&'static Kafka> {
    static KAFKA: OnceLock<Result<Kafka, String>> = OnceLock::new();
    let k = KAFKA.get_or_init(|| {
        if let Ok(b) = std::env::var("KAFKA_BOOTSTRAP") {
            if !b.trim().is_empty() {
                return Ok(Kafka {
                    bootstrap: b.trim().to_string(),
                    state_dir: None,
                });
            }
        }
        start_nodes(1)
            .map(|(dir, _, bootstrap)| Kafka {
                bootstrap,
                state_dir: Some(dir),
            })
            .map_err(|e| e.to_string())
    });
    match k {
        Ok(k) => Some(k),
        Err(e) => unavailable(e),
    }
}

fn unavailable<T>(reason: &str) -> Option<T> {
    if in_ci() {
        panic!("CI=true and this test needs Kafka, which could not be started: {reason}");
    }
    eprintln!(
        "\n**********************************************************************\n\
         SKIPPING: this test needs a real Kafka and none could be started:\n  {reason}\n\
         Set KAFKA_BOOTSTRAP or fix scripts/kafka.sh (CI=true turns this into a failure).\n\
         **********************************************************************\n"
    );
    None
}

/// `let kafka = require_kafka!();` — the shared broker, or return from the test (outside CI).
#[macro_export]
macro_rules! require_kafka {
    () => {
        match $crate::kafka() {
            Some(k) => k,
            None => return,
        }
    };
}

/// A topic name no other test (or earlier run against the same broker) has used.
pub fn unique_topic(prefix: &str) -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        nanos % 1_000_000_000
    )
}

/// A KRaft cluster owned by one test: nodes can be killed and restarted; dropped = stopped.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    base_port: u16,
    nodes: u16,
    /// Comma-separated bootstrap servers of every node.
    pub bootstrap: String,
}

impl Cluster {
    /// Starts a fresh cluster of 1 or 3 combined broker+controller nodes
    /// (3 nodes: replication factor 3 and min.insync.replicas 2 by default).
    pub fn start(nodes: u16) -> Result<Self, HarnessError> {
        let (dir, base_port, bootstrap) = start_nodes(nodes)?;
        Ok(Self {
            dir,
            base_port,
            nodes,
            bootstrap,
        })
    }

    /// A three-node cluster, or `None` outside CI when it can't be started (printed loudly).
    pub fn require_three() -> Option<Self> {
        match Self::start(3) {
            Ok(c) => Some(c),
            Err(e) => unavailable(&e.to_string()),
        }
    }

    /// `127.0.0.1:port` of node `n` (1-based), as the broker advertises it.
    pub fn node_addr(&self, n: u16) -> String {
        assert!((1..=self.nodes).contains(&n), "node {n} of {}", self.nodes);
        format!("127.0.0.1:{}", self.base_port + n - 1)
    }

    /// Node id (1-based) listening on `addr`, if it is one of ours.
    pub fn node_of_addr(&self, addr: &str) -> Option<u16> {
        (1..=self.nodes).find(|&n| self.node_addr(n) == addr)
    }

    /// `kill -9` node `n`; returns once the process is gone.
    pub fn kill(&self, n: u16) -> Result<(), HarnessError> {
        run_script(Some(&self.dir), &["kill", &n.to_string()]).map(drop)
    }

    /// Starts node `n` again on its storage; returns once it serves clients.
    pub fn restart(&self, n: u16) -> Result<(), HarnessError> {
        run_script(Some(&self.dir), &["restart", &n.to_string()]).map(drop)
    }

    /// The harness state dir (configs, logs, data) of this cluster.
    pub fn state_dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = run_script(Some(&self.dir), &["stop"]);
        // Keep the logs of a failed test for diagnosis.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The command that runs one of Kafka's Java tools (`scripts/kafka.sh tool MainClass args...`);
/// the script `exec`s the JVM, so the child's PID is the JVM's and killing it stops the tool.
pub fn kafka_tool_command(main_class: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(kafka_script()).arg("tool").arg(main_class).args(args);
    cmd
}

/// Runs one of Kafka's Java tools to completion (`scripts/kafka.sh tool MainClass args...`).
pub fn kafka_tool(main_class: &str, args: &[&str]) -> Output {
    kafka_tool_command(main_class, args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("could not run {}: {e}", kafka_script().display()))
}
