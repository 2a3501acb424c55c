//! Small Java programs for interop tests, compiled with `javac` against the Kafka jars the
//! harness fetched (`target/kafka/libs`, or `KAFKA_LIBS`), and run with `java`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A compiled Java program.
#[derive(Debug, Clone)]
pub struct JavaProgram {
    classpath: String,
    main: String,
    jvm_args: Vec<String>,
}

fn kafka_libs() -> PathBuf {
    std::env::var_os("KAFKA_LIBS")
        .map(PathBuf::from)
        .unwrap_or_else(|| super::repo_root().join("target/kafka/libs"))
}

/// Compiles `source` (main class = its file stem) into `out_dir`. `None`, after saying why,
/// when the JDK or the jars are missing outside CI; under CI that is a panic.
pub fn compile(source: &Path, out_dir: &Path) -> Option<JavaProgram> {
    let libs = kafka_libs();
    let has_jars = std::fs::read_dir(&libs)
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("kafka-clients-"))
        })
        .unwrap_or(false);
    let works = |cmd: &str| {
        Command::new(cmd)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let missing = if !has_jars {
        Some(format!(
            "Kafka jars not found in {} (run scripts/kafka.sh fetch)",
            libs.display()
        ))
    } else if !works("javac") || !works("java") {
        Some("javac/java not found on PATH".to_string())
    } else {
        None
    };
    if let Some(why) = missing {
        assert!(
            !super::in_ci(),
            "{}: {why}; CI=true, so this fails instead of skipping",
            source.display()
        );
        eprintln!("\n*** {} SKIPPED: {why} ***\n", source.display());
        return None;
    }
    std::fs::create_dir_all(out_dir).expect("create the class output dir");
    let jars = format!("{}/*", libs.display());
    let status = Command::new("javac")
        .arg("-d")
        .arg(out_dir)
        .arg("-cp")
        .arg(&jars)
        .arg(source)
        .status()
        .expect("run javac");
    assert!(status.success(), "javac failed on {}", source.display());
    let main = source
        .file_stem()
        .expect("a .java file")
        .to_string_lossy()
        .into_owned();
    Some(JavaProgram {
        classpath: format!("{}:{jars}", out_dir.display()),
        main,
        jvm_args: Vec::new(),
    })
}

impl JavaProgram {
    /// Adds a JVM option (e.g. `-Duser.timezone=UTC`) to every run.
    pub fn jvm_arg(mut self, arg: &str) -> Self {
        self.jvm_args.push(arg.to_owned());
        self
    }

    /// Runs the program with `args`; panics with its stderr if it fails.
    pub fn run(&self, args: &[&str]) -> Output {
        let out = Command::new("java")
            .args(&self.jvm_args)
            .arg("-cp")
            .arg(&self.classpath)
            .arg(&self.main)
            .args(args)
            .output()
            .expect("run java");
        assert!(
            out.status.success(),
            "java {} {args:?} failed:\n{}",
            self.main,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}
