//! A standalone worker moved from connect-standalone keeps its source offsets: kaflow reads the
//! Java-serialized file Kafka Connect's FileOffsetBackingStore writes (produced here by the JDK's
//! own ObjectOutputStream, exactly as Connect calls it), keeps the original as a backup, and
//! continues in its own format.

use kaflow_runtime::storage::OffsetFile;
use std::path::PathBuf;
use std::process::Command;

fn javac_and_java() -> Option<PathBuf> {
    let ok = |cmd: &str| {
        Command::new(cmd)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !(ok("javac") && ok("java")) {
        assert!(
            !kaflow_test_support::in_ci(),
            "CI must have a JDK (javac and java)"
        );
        eprintln!("skipped: javac/java not found");
        return None;
    }
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("connect-offsets-writer");
    std::fs::create_dir_all(&out).unwrap();
    let src = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/java/ConnectOffsetsWriter.java"
    );
    let status = Command::new("javac")
        .arg("-d")
        .arg(&out)
        .arg(src)
        .status()
        .expect("javac");
    assert!(status.success(), "javac failed on {src}");
    Some(out)
}

#[test]
fn a_kafka_connect_offsets_file_is_imported_with_a_backup() {
    let Some(classes) = javac_and_java() else { return };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("import-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("connect.offsets");
    let k1 = r#"["local-file-source",{"filename":"/tmp/test.txt"}]"#;
    let k2 = r#"["other",{"table":"users","db":"x"}]"#;
    let k3 = r#"["gone",{"p":1}]"#;
    let status = Command::new("java")
        .arg("-cp")
        .arg(&classes)
        .arg("ConnectOffsetsWriter")
        .arg(&file)
        .args([k1, r#"{"position":12345}"#, k2, r#"{"id":7}"#, k3, "null"])
        .status()
        .expect("java");
    assert!(status.success());
    let original = std::fs::read(&file).unwrap();
    assert!(
        original.starts_with(&[0xac, 0xed, 0, 5]),
        "the JDK wrote a Java serialization stream"
    );

    let f = OffsetFile::open(&file).unwrap();
    assert_eq!(f.get(k1.as_bytes()), Some(&br#"{"position":12345}"#[..]));
    assert_eq!(f.get(k2.as_bytes()), Some(&br#"{"id":7}"#[..]));
    assert_eq!(
        f.get(k3.as_bytes()),
        None,
        "a null value is a deletion, not an offset"
    );
    assert_eq!(f.entries().count(), 2);

    // The original is kept byte for byte, and the file is now kaflow's and reopens the same.
    assert_eq!(
        std::fs::read(dir.join("connect.offsets.connect-backup")).unwrap(),
        original
    );
    assert!(!std::fs::read(&file).unwrap().starts_with(&[0xac, 0xed]));
    let again = OffsetFile::open(&file).unwrap();
    assert_eq!(again.get(k1.as_bytes()), Some(&br#"{"position":12345}"#[..]));
}
