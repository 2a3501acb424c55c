//! scripts/kafka.sh refuses bad situations with one line that names the problem and a non-zero
//! exit, never a hang: no Java, Maven Central unreachable, a port in use, a stale PID file.

use kaflow_test_support::repo_root;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn kafka_sh(args: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
    let started = Instant::now();
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("scripts/kafka.sh"))
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run kafka.sh");
    (out, started.elapsed())
}

/// Asserts a failure whose stderr is one line containing `needle`.
fn assert_refused(out: &Output, took: Duration, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "expected failure, got success; stderr: {stderr}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        lines
            .last()
            .is_some_and(|l| l.starts_with("kafka.sh: ") && l.contains(needle)),
        "expected a line with {needle:?}, got: {stderr}"
    );
    assert!(took < Duration::from_secs(60), "took {took:?}");
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = repo_root().join(format!(
        "target/kafka/tests/bad-input-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn no_java_is_named() {
    // A PATH with every tool of the system except java.
    let bin = scratch("nojava").join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    for dir in ["/usr/local/bin", "/usr/bin", "/bin"] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            if name == "java" || bin.join(&name).exists() {
                continue;
            }
            let _ = std::os::unix::fs::symlink(e.path(), bin.join(&name));
        }
    }
    let state = scratch("nojava-state");
    let (out, took) = kafka_sh(
        &["start", "--port", "23190"],
        &[
            ("PATH", bin.to_str().unwrap()),
            ("KAFKA_STATE_DIR", state.to_str().unwrap()),
        ],
    );
    assert_refused(&out, took, "no Java found");
}

#[test]
fn unreachable_maven_central_is_named() {
    let dir = scratch("maven");
    let settings = dir.join("settings.xml");
    // Every repository request goes to a closed loopback port: "no network to Maven Central".
    std::fs::write(
        &settings,
        "<settings><mirrors><mirror><id>closed</id><mirrorOf>*</mirrorOf>\
         <url>http://127.0.0.1:9/</url></mirror></mirrors></settings>",
    )
    .expect("settings");
    let args = format!(
        "-s {} -Dmaven.repo.local={}",
        settings.display(),
        dir.join("m2").display()
    );
    let libs = dir.join("libs");
    let (out, took) = kafka_sh(
        &["fetch"],
        &[
            ("KAFKA_MAVEN_ARGS", &args),
            ("KAFKA_LIBS_DIR", libs.to_str().unwrap()),
        ],
    );
    assert_refused(&out, took, "cannot reach Maven Central");
    assert!(
        !Path::new(&libs).join(".complete").exists(),
        "a failed fetch must not look complete"
    );
}

#[test]
fn port_in_use_is_named() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port().to_string();
    let state = scratch("port");
    let (out, took) = kafka_sh(
        &["start", "--port", &port],
        &[("KAFKA_STATE_DIR", state.to_str().unwrap())],
    );
    assert_refused(&out, took, &format!("port {port} on 127.0.0.1 is already in use"));
}

#[test]
fn stale_pid_file_is_named() {
    let state = scratch("stale");
    std::fs::create_dir_all(state.join("node1")).expect("node dir");
    std::fs::write(state.join("nodes"), "1\n").expect("nodes");
    std::fs::write(state.join("port"), "23192\n").expect("port");
    // A PID that is certainly not a Kafka node of this state dir: our own.
    std::fs::write(state.join("node1/pid"), format!("{}\n", std::process::id())).expect("pid");
    let env = [("KAFKA_STATE_DIR", state.to_str().unwrap())];
    let (out, took) = kafka_sh(&["start", "--port", "23192"], &env);
    assert_refused(&out, took, "stale PID file");
    let (out, took) = kafka_sh(&["kill", "1"], &env);
    assert_refused(&out, took, "stale PID file");
    // `stop` clears it (and never signals the PID it doesn't own: this test process survives).
    let (out, _) = kafka_sh(&["stop"], &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("removing stale PID file"));
    assert!(!state.join("node1/pid").exists());
}
