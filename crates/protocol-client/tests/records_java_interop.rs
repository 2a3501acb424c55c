//! Byte compatibility with Apache Kafka's Java client, for every codec: the Java record
//! classes (`MemoryRecords`, `DefaultRecordBatch`, Kafka 4.3.1's jars under
//! `target/kafka/libs`, fetched by `scripts/kafka.sh fetch`) read the batches kaflow writes,
//! and kaflow reads the batches Java writes. The checker is
//! `tests/java/RecordsInterop.java`, compiled with javac into the cargo target directory.
//!
//! Needs `java`, `javac` and the jars. Without them the tests are skipped with a loud message,
//! except under `CI=true`, where they fail.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bytes::Bytes;
use kaflow_client::compression::{Compression, CompressionLevel};
use kaflow_client::records::{read_batches, BatchBuilder, Header, ProducerState, ReadLimits};
use kaflow_test_support::java::{self, JavaProgram};

/// Compiles the checker once; `None` (after saying so) if the toolchain or jars are missing.
fn java() -> Option<&'static JavaProgram> {
    static JAVA: OnceLock<Option<JavaProgram>> = OnceLock::new();
    JAVA.get_or_init(|| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java/RecordsInterop.java");
        java::compile(
            &source,
            &Path::new(env!("CARGO_TARGET_TMPDIR")).join("records-java"),
        )
    })
    .as_ref()
}

fn run_java(java: &JavaProgram, args: &[String]) -> String {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    String::from_utf8(java.run(&args).stdout).unwrap()
}

struct Rec {
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<Header>,
}

/// Records that exercise each codec's framing: nulls, empties, duplicate and null headers,
/// non-ASCII, a 150 KB compressible value (several lz4 64 KiB blocks and snappy 32 KiB
/// chunks), 70 KB of noise (lz4 stores such blocks uncompressed), timestamps going back.
fn records() -> Vec<Rec> {
    let mut rng = 0x2545_f491_u32;
    let mut noise = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 17;
                rng ^= rng << 5;
                rng as u8
            })
            .collect()
    };
    let big: String = (0..3000)
        .map(|i| format!("{{\"id\":{i},\"name\":\"user-{}\",\"ok\":true}},", i % 13))
        .collect();
    let mut v = vec![
        Rec {
            timestamp: 1_700_000_000_000,
            key: Some(b"key-0".to_vec()),
            value: Some(b"{\"a\":1}".to_vec()),
            headers: vec![],
        },
        Rec {
            timestamp: 1_700_000_000_005,
            key: None,
            value: Some(vec![]),
            headers: vec![
                Header::new("trace", Some("abc")),
                Header::new("trace", None::<&[u8]>),
            ],
        },
        Rec {
            timestamp: 1_699_999_999_000,
            key: Some(vec![0x80, 0xff, 0x00]),
            value: None,
            headers: vec![Header::new("ключ", Some([0xff, 0x00])), Header::new("", Some(""))],
        },
        Rec {
            timestamp: 1_700_000_000_010,
            key: Some(b"big".to_vec()),
            value: Some(big.into_bytes()),
            headers: vec![],
        },
        Rec {
            timestamp: 1_700_000_000_011,
            key: Some(b"noise".to_vec()),
            value: Some(noise(70_000)),
            headers: vec![],
        },
    ];
    for i in 0..60i64 {
        v.push(Rec {
            timestamp: 1_700_000_000_000 + (i * 7919) % 1000 - 300,
            key: Some(format!("k{}", i % 5).into_bytes()),
            value: Some(
                format!(
                    "{{\"seq\":{i},\"msg\":\"hello {}\"}}",
                    "z".repeat((i % 17) as usize)
                )
                .into_bytes(),
            ),
            headers: if i % 4 == 0 {
                vec![Header::new("n", Some(i.to_string()))]
            } else {
                vec![]
            },
        });
    }
    v
}

fn hex(b: Option<&[u8]>) -> String {
    match b {
        None => "-".to_owned(),
        Some([]) => ".".to_owned(),
        Some(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
    }
}

fn headers_text(headers: &[Header]) -> String {
    if headers.is_empty() {
        return "-".to_owned();
    }
    headers
        .iter()
        .map(|h| format!("{}={}", hex(Some(&h.key)), hex(h.value.as_deref())))
        .collect::<Vec<_>>()
        .join(",")
}

fn spec(recs: &[Rec]) -> String {
    recs.iter()
        .map(|r| {
            format!(
                "{} {} {} {}\n",
                r.timestamp,
                hex(r.key.as_deref()),
                hex(r.value.as_deref()),
                headers_text(&r.headers)
            )
        })
        .collect()
}

/// The dump RecordsInterop.read prints for one batch of `recs` at offset 0.
fn expected_dump(codec: Compression, p: ProducerState, recs: &[Rec]) -> String {
    let mut s = String::new();
    let max_ts = recs.iter().map(|r| r.timestamp).max().unwrap();
    writeln!(
        s,
        "batch codec={codec} pid={} epoch={} seq={} txn={} count={} base_offset=0 last_offset={} max_ts={max_ts}",
        p.producer_id,
        p.producer_epoch,
        p.base_sequence,
        p.transactional,
        recs.len(),
        recs.len() - 1
    )
    .unwrap();
    for (i, r) in recs.iter().enumerate() {
        writeln!(
            s,
            "{i} {} {} {} {}",
            r.timestamp,
            hex(r.key.as_deref()),
            hex(r.value.as_deref()),
            headers_text(&r.headers)
        )
        .unwrap();
    }
    s
}

/// Our reader's dump of a batches buffer, in the same notation.
fn our_dump(data: Bytes) -> String {
    let mut s = String::new();
    for batch in read_batches(data, ReadLimits::default()) {
        let b = batch.unwrap();
        writeln!(
            s,
            "batch codec={} pid={} epoch={} seq={} txn={} count={} base_offset={} last_offset={} max_ts={}",
            b.compression(),
            b.producer_id(),
            b.producer_epoch(),
            b.base_sequence(),
            b.is_transactional(),
            b.record_count(),
            b.base_offset(),
            b.last_offset(),
            b.max_timestamp()
        )
        .unwrap();
        for r in b.records() {
            let r = r.unwrap();
            writeln!(
                s,
                "{} {} {} {} {}",
                r.offset,
                r.timestamp,
                hex(r.key.as_deref()),
                hex(r.value.as_deref()),
                headers_text(&r.headers)
            )
            .unwrap();
        }
    }
    s
}

/// (codec, level) pairs: every codec at its default, and the level extremes Java allows.
fn codecs() -> Vec<(Compression, Option<i32>)> {
    let mut v: Vec<_> = Compression::ALL.into_iter().map(|c| (c, None)).collect();
    v.extend([
        (Compression::Gzip, Some(1)),
        (Compression::Gzip, Some(9)),
        (Compression::Lz4, Some(17)), // Java: LZ4HC
        (Compression::Zstd, Some(-5)),
        (Compression::Zstd, Some(19)),
    ]);
    v
}

fn label(codec: Compression, level: Option<i32>) -> String {
    level.map_or_else(|| format!("{codec}-default"), |l| format!("{codec}-{l}"))
}

#[test]
fn java_reads_batches_kaflow_wrote() {
    let Some(java) = java() else { return };
    let dir = tempdir("ours");
    let recs = records();
    let producer = ProducerState {
        producer_id: 1234,
        producer_epoch: 5,
        base_sequence: 77,
        transactional: false,
    };
    let mut files = Vec::new();
    let mut expected = String::new();
    for (codec, level) in codecs() {
        let level_cfg = level.map_or(CompressionLevel::DEFAULT, |l| {
            CompressionLevel::new(codec, l).unwrap()
        });
        let mut b = BatchBuilder::new(codec, level_cfg, usize::MAX);
        for r in &recs {
            assert!(b.try_append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &r.headers));
        }
        let frozen = b.freeze(producer).unwrap();
        // Also a re-stamped copy (KIP-360 epoch bump), concatenated after the original.
        let bumped_state = ProducerState {
            producer_epoch: 6,
            base_sequence: 0,
            transactional: true,
            ..producer
        };
        let bumped = frozen.with_producer_state(bumped_state);
        let mut data = frozen.bytes().to_vec();
        data.extend_from_slice(bumped.bytes());
        let path = dir.join(format!("{}.bin", label(codec, level)));
        std::fs::write(&path, &data).unwrap();
        files.push(path.display().to_string());
        writeln!(expected, "== {}", path.display()).unwrap();
        expected.push_str(&expected_dump(codec, producer, &recs));
        expected.push_str(&expected_dump(codec, bumped_state, &recs));
    }
    let mut args = vec!["read".to_owned()];
    args.extend(files);
    let got = run_java(java, &args);
    assert_lines_eq(&got, &expected);
}

#[test]
fn kaflow_reads_batches_java_wrote() {
    let Some(java) = java() else { return };
    let dir = tempdir("java");
    let recs = records();
    let spec_path = dir.join("spec.txt");
    std::fs::write(&spec_path, spec(&recs)).unwrap();
    let mut args = vec!["write".to_owned(), spec_path.display().to_string()];
    let mut jobs = Vec::new();
    for (codec, level) in codecs() {
        let path = dir.join(format!("{}.bin", label(codec, level)));
        args.push(format!(
            "{codec}:{}:{}",
            level.map_or("default".to_owned(), |l| l.to_string()),
            path.display()
        ));
        jobs.push((codec, level, path));
    }
    run_java(java, &args);
    let producer = ProducerState {
        producer_id: 1234,
        producer_epoch: 5,
        base_sequence: 77,
        transactional: false,
    };
    for (codec, level, path) in jobs {
        let data = Bytes::from(std::fs::read(&path).unwrap());
        assert_lines_eq(&our_dump(data.clone()), &expected_dump(codec, producer, &recs));

        // What Java wrote vs what we write for the same records.
        let level_cfg = level.map_or(CompressionLevel::DEFAULT, |l| {
            CompressionLevel::new(codec, l).unwrap()
        });
        let mut b = BatchBuilder::new(codec, level_cfg, usize::MAX);
        for r in &recs {
            assert!(b.try_append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &r.headers));
        }
        let ours = b.freeze(producer).unwrap();
        let section = &data[61..];
        match codec {
            // Uncompressed, the two writers agree byte for byte (header, CRC and all).
            Compression::None => assert_eq!(ours.bytes(), &data, "uncompressed batch differs from Java's"),
            // Java's snappy is xerial-framed, exactly the header we write.
            Compression::Snappy => assert_eq!(section[..16], ours.bytes()[61..77], "xerial header"),
            // Java's LZ4 frame descriptor is the one we write (FLG 0x60, BD 0x40, HC 0x82).
            Compression::Lz4 => assert_eq!(section[..7], [0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, 0x82]),
            Compression::Gzip => assert_eq!(section[..3], [0x1f, 0x8b, 0x08], "gzip member"),
            Compression::Zstd => assert_eq!(section[..4], [0x28, 0xb5, 0x2f, 0xfd], "zstd frame magic"),
        }
        eprintln!(
            "{}: java {} bytes, kaflow {} bytes{}",
            label(codec, level),
            data.len(),
            ours.size_in_bytes(),
            if ours.bytes() == &data { " (identical)" } else { "" }
        );
    }
}

fn assert_lines_eq(got: &str, expected: &str) {
    if got != expected {
        for (i, (g, e)) in got.lines().zip(expected.lines()).enumerate() {
            let clip = |s: &str| s.chars().take(200).collect::<String>();
            assert_eq!(clip(g), clip(e), "first difference at line {i}");
        }
        panic!(
            "outputs differ in length: got {} lines, expected {}",
            got.lines().count(),
            expected.lines().count()
        );
    }
}

fn tempdir(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("records-interop-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
