//! Differential check of the worker group protocol against Apache Kafka Connect's own classes
//! (`ConnectProtocol`, `IncrementalCooperativeConnectProtocol`, from the harness jars): for the
//! same metadata and assignments, Connect writes the same bytes as kaflow, and each reads the
//! other's bytes to the same values.

use kaflow_runtime::distributed::protocol::{ConnectAssignment, ConnectProtocolMode, TaskId, WorkerMetadata};
use kaflow_test_support::java;
use std::path::PathBuf;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn list(v: &[String]) -> String {
    v.join(",")
}

fn tasks(v: &[TaskId]) -> String {
    v.iter()
        .map(|t| format!("{}:{}", t.connector, t.task))
        .collect::<Vec<_>>()
        .join(",")
}

fn fields(a: &ConnectAssignment) -> String {
    format!(
        "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
        a.version,
        a.error,
        a.leader,
        a.leader_url,
        a.config_offset,
        list(&a.connectors),
        tasks(&a.tasks),
        list(&a.revoked_connectors),
        tasks(&a.revoked_tasks),
        a.delay_ms
    )
}

/// The canonical text the Java checker prints for an assignment.
fn text(a: Option<&ConnectAssignment>) -> String {
    let Some(a) = a else { return "null".into() };
    let sorted = |v: Vec<String>| {
        let mut v = v;
        v.sort();
        v.dedup();
        v.join(",")
    };
    let ts = |v: &[TaskId]| sorted(v.iter().map(|t| t.to_string()).collect());
    // Java reads a v0 assignment with the v1 reader too: same defaults
    format!(
        "v{} err={} leader={} url={} offset={} conns=[{}] tasks=[{}] rconns=[{}] rtasks=[{}] delay={}",
        a.version,
        a.error,
        a.leader,
        a.leader_url,
        a.config_offset,
        sorted(a.connectors.clone()),
        ts(&a.tasks),
        sorted(a.revoked_connectors.clone()),
        ts(&a.revoked_tasks),
        a.delay_ms
    )
}

fn assignments() -> Vec<ConnectAssignment> {
    let t = |c: &str, n| TaskId::new(c, n);
    let mut out = Vec::new();
    for version in 0..3 {
        let cooperative = version > 0;
        out.push(ConnectAssignment {
            version,
            leader: "connect-1-6a1d4c-uuid".into(),
            leader_url: "http://worker-1:8083/".into(),
            config_offset: 17,
            ..ConnectAssignment::default()
        });
        out.push(ConnectAssignment {
            version,
            error: 1,
            leader: "l".into(),
            leader_url: "http://l:1/".into(),
            config_offset: -1,
            ..ConnectAssignment::default()
        });
        // single-letter connector names iterate in Java's HashSet in sorted order, so Java's
        // entry order is ours and the bytes must be identical
        out.push(ConnectAssignment {
            version,
            error: 0,
            leader: "leader-ü".into(),
            leader_url: "http://w2:8083/".into(),
            config_offset: 1 << 40,
            connectors: vec!["a".into(), "c".into()],
            tasks: vec![t("a", 0), t("a", 1), t("b", 0), t("c", 5), t("a", 7)],
            revoked_connectors: if cooperative {
                vec!["b".into(), "d".into()]
            } else {
                vec![]
            },
            revoked_tasks: if cooperative {
                vec![t("d", 0), t("b", 3), t("e", 2)]
            } else {
                vec![]
            },
            delay_ms: if cooperative { 300_000 } else { 0 },
        });
        out.push(ConnectAssignment {
            version,
            leader: "m".into(),
            leader_url: "u".into(),
            tasks: vec![t("my-long-connector-name", 0), t("my-long-connector-name", 11)],
            revoked_tasks: if cooperative {
                vec![t("other-connector", 2)]
            } else {
                vec![]
            },
            ..ConnectAssignment::default()
        });
    }
    out
}

#[test]
fn connect_writes_and_reads_the_same_worker_protocol_bytes() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("connect-protocol-diff");
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/java/ConnectProtocolDiff.java");
    let Some(prog) = java::compile(&src, &out) else {
        return;
    };

    let mut requests = Vec::new();
    let mut ours = Vec::new(); // (what, our bytes)
    for a in assignments() {
        requests.push(format!("asg|{}", fields(&a)));
        ours.push((format!("assignment {a:?}"), a.encode()));
    }
    let allocations: Vec<Option<ConnectAssignment>> = std::iter::once(None)
        .chain(assignments().into_iter().filter(|a| a.version == 1).map(Some))
        .collect();
    let mut metas = Vec::new();
    for mode in ConnectProtocolMode::ALL {
        for alloc in &allocations {
            let m = WorkerMetadata::new(mode, "http://worker-3:8083/", 42, alloc.as_ref());
            let java_alloc = match &m.allocation {
                Some(a) => format!("asg|{}", fields(a)),
                None => "-".into(),
            };
            requests.push(format!(
                "meta|{}|{}|{}|{}",
                m.version, m.url, m.config_offset, java_alloc
            ));
            ours.push((format!("metadata {m:?}"), m.encode()));
            metas.push(m);
        }
    }
    let stdout = prog
        .run(&requests.iter().map(String::as_str).collect::<Vec<_>>())
        .stdout;
    let java_hex: Vec<String> = String::from_utf8(stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(java_hex.len(), ours.len());
    for ((what, bytes), theirs) in ours.iter().zip(&java_hex) {
        assert_eq!(&hex(bytes), theirs, "Connect writes different bytes for {what}");
    }
    let cases = ours.len();

    // Connect reads our bytes to the values we wrote, and we read Connect's (equal, checked above)
    let mut reads = Vec::new();
    let mut want = Vec::new();
    for a in assignments() {
        reads.push(format!("dasg|{}", hex(&a.encode())));
        let back = ConnectAssignment::decode(&a.encode()).unwrap();
        want.push(text(Some(&back)));
        assert_eq!(text(Some(&back)), text(Some(&a)));
    }
    for m in &metas {
        reads.push(format!("dmeta|{}", hex(&m.encode())));
        let back = WorkerMetadata::decode(&m.encode()).unwrap();
        assert_eq!((&back.url, back.config_offset), (&m.url, m.config_offset));
        assert_eq!(text(back.allocation.as_ref()), text(m.allocation.as_ref()));
        want.push(format!(
            "url={} offset={} alloc={}",
            m.url,
            m.config_offset,
            text(back.allocation.as_ref())
        ));
    }
    let stdout = prog
        .run(&reads.iter().map(String::as_str).collect::<Vec<_>>())
        .stdout;
    let java_text: Vec<String> = String::from_utf8(stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(java_text, want);
    eprintln!(
        "{cases} structures byte-identical with Kafka Connect; {} read back the same by Connect",
        want.len()
    );
}
