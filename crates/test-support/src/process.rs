//! Running `kaflow standalone` as a child process, the way an operator does, so tests can stop
//! it cleanly (SIGTERM) or kill it (SIGKILL) and start it again on the same files.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Starts `exe standalone FILES...` in `dir` (stderr inherited, stdout discarded).
pub fn spawn_standalone(exe: &str, dir: &Path, files: &[&str]) -> Child {
    Command::new(exe)
        .arg("standalone")
        .args(files)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run kaflow standalone")
}

/// Sends `sig` (`TERM`, `KILL`, ...) to `child`, asserting `kill` succeeded.
pub fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .expect("run kill")
        .success();
    assert!(ok, "kill -{sig} {}", child.id());
}

/// Stops `child` with SIGTERM and asserts that it exits 0 (a clean stop).
pub fn stop_cleanly(mut child: Child) {
    signal(&child, "TERM");
    let status = child.wait().expect("wait for kaflow");
    assert!(status.success(), "a clean stop exits 0, got {status}");
}

/// Kills `child` with SIGKILL (no chance to flush or commit) and reaps it.
pub fn kill_hard(mut child: Child) {
    signal(&child, "KILL");
    let _ = child.wait();
}

/// An empty directory `parent/name-<pid>` for one test's files (worker, connector and offsets
/// files, sink output), removed first if an earlier run left it.
pub fn fresh_dir(parent: &Path, name: &str) -> PathBuf {
    let d = parent.join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create the test directory");
    d
}

/// A child process killed and reaped however the test ends (a panic included), so no runtime
/// outlives its test.
#[derive(Debug)]
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
