//! Interop with Apache Kafka's own Java tools (4.3.1), against a real broker: what kaflow's
//! producer writes, `GetOffsetShell` counts and `ConsoleConsumer` reads back byte for byte, for
//! every codec; and keyed records land on the same partition as with Java's `ConsoleProducer`
//! (murmur2, like the Java client's default partitioner).
//!
//! ```text
//!  kaflow Producer ──1M records, codec X──▶ topic (6 partitions) ──▶ GetOffsetShell  (log end offsets)
//!       │ DeliveryFuture: (partition, offset) per record             └─▶ ConsoleConsumer (every record)
//!       └──────────────── compared with ◀──────────────────────────────────────┘
//! ```
//!
//! Each record `i` has key `k{i % 1000}`, a 100-byte value starting `i={i:07};`, and headers
//! `seq:{i}`, `nil:<null>`, `seq:d{i}` (a null value and a duplicate key). Everything the Java
//! tools print is recomputed from `i` and compared exactly.

use bytes::Bytes;
use kaflow_client::admin::{Admin, NewTopic, OffsetSpec};
use kaflow_client::producer::{Producer, ProducerConfig, ProducerRecord};
use kaflow_client::{ClientConfig, Properties};
use kaflow_test_support::seq::{console_consume, log_end_offsets, NULL};
use kaflow_test_support::{repo_root, require_kafka, unique_topic};
use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

const RECORDS: u64 = 1_000_000;
const PARTITIONS: i32 = 6;
const VALUE_LEN: usize = 100;

fn key(i: u64) -> String {
    format!("k{}", i % 1000)
}

/// A 100-byte value: `i={i:07};` then letters that vary with `i` (so codecs have work to do).
fn value_into(i: u64, buf: &mut Vec<u8>) {
    buf.clear();
    write!(buf, "i={i:07};").expect("write to Vec");
    let mut j = 0u64;
    while buf.len() < VALUE_LEN {
        buf.push(b'a' + ((i.wrapping_mul(31) + j * 7 + j / 5) % 26) as u8);
        j += 1;
    }
}

fn headers_text(i: u64) -> String {
    format!("seq:{i},nil:{NULL},seq:d{i}")
}

/// `i` from a value printed by the console consumer.
fn seq_of_value(v: &str) -> u64 {
    v.strip_prefix("i=")
        .and_then(|r| r.split_once(';'))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("value without a sequence number: {v:?}"))
}

async fn create_topic(bootstrap: &str, topic: &str, partitions: i32) {
    let admin = Admin::connect(ClientConfig::new(bootstrap).expect("client config"))
        .await
        .expect("admin");
    admin
        .create_topic(NewTopic::new(topic, partitions))
        .await
        .expect("create topic");
    // Wait until every partition's leader actually serves it (ListOffsets answers), not just
    // until metadata names a leader: producing into that gap is a separate bug, reproduced by
    // `i1_i4_fresh_topic_pipelined_first_batches_are_not_lost` below.
    let ends = admin
        .list_offsets(topic, &[], OffsetSpec::Latest)
        .await
        .expect("every partition serves");
    assert_eq!(ends.len(), partitions as usize, "partitions of a new topic");
    assert!(
        ends.values().all(|o| o.offset == 0),
        "new topic is empty: {ends:?}"
    );
}

async fn round_trip(codec: &str) {
    let kafka = require_kafka!();
    let bootstrap = kafka.bootstrap.as_str();
    let topic = unique_topic(&format!("interop-{codec}"));
    create_topic(bootstrap, &topic, PARTITIONS).await;

    // ---- produce with kaflow, one task, in order i = 0..N -------------------------------------
    let props = Properties::new()
        .with("bootstrap.servers", bootstrap)
        .with("compression.type", codec);
    let producer = Producer::connect(ProducerConfig::from_properties(&props).expect("producer config"))
        .await
        .expect("producer");
    let topic_arc: Arc<str> = topic.as_str().into();
    let started = Instant::now();
    let mut futures = Vec::with_capacity(RECORDS as usize);
    let mut buf = Vec::with_capacity(VALUE_LEN);
    for i in 0..RECORDS {
        value_into(i, &mut buf);
        let rec = ProducerRecord::new(Arc::clone(&topic_arc), Bytes::copy_from_slice(&buf))
            .key(key(i))
            .header("seq", Some(i.to_string()))
            .header("nil", None::<&[u8]>)
            .header("seq", Some(format!("d{i}")));
        futures.push(producer.send(rec).await.expect("record queued"));
    }
    let mut delivered: Vec<(i32, i64)> = Vec::with_capacity(RECORDS as usize);
    for (i, f) in futures.into_iter().enumerate() {
        let md = f
            .wait()
            .await
            .unwrap_or_else(|e| panic!("{codec}: record {i} not delivered: {e}"));
        delivered.push((md.partition, md.offset));
    }
    let produce_time = started.elapsed();
    producer.close().await;

    // kaflow's own view: per partition, offsets in send order are exactly 0, 1, 2, ...
    let mut sent_order: BTreeMap<i32, Vec<u64>> = BTreeMap::new();
    for (i, &(p, offset)) in delivered.iter().enumerate() {
        let seqs = sent_order.entry(p).or_default();
        assert_eq!(
            offset,
            seqs.len() as i64,
            "{codec}: record {i} on partition {p} got offset {offset}, expected the next one"
        );
        seqs.push(i as u64);
    }
    let counts: BTreeMap<i32, i64> = sent_order.iter().map(|(&p, s)| (p, s.len() as i64)).collect();
    assert_eq!(
        counts.len(),
        PARTITIONS as usize,
        "{codec}: 1000 keys should reach all {PARTITIONS} partitions: {counts:?}"
    );

    // ---- (a) GetOffsetShell: log end offsets -----------------------------------------------
    let t = Instant::now();
    let ends = log_end_offsets(bootstrap, &topic);
    let offsets_time = t.elapsed();
    assert_eq!(
        ends.values().sum::<i64>(),
        RECORDS as i64,
        "{codec}: total by GetOffsetShell"
    );
    assert_eq!(
        ends, counts,
        "{codec}: per-partition log end offsets vs kaflow's delivery results"
    );

    // ---- (b) ConsoleConsumer: every record, byte for byte -----------------------------------
    let out = console_consume(bootstrap, &topic, RECORDS, 30_000);
    let t = Instant::now();
    let mut seen = vec![false; RECORDS as usize];
    let mut read: BTreeMap<i32, Vec<(i64, u64)>> = BTreeMap::new();
    let mut count = 0u64;
    for line in out.lines() {
        count += 1;
        let i = seq_of_value(line.value);
        assert!(i < RECORDS, "{codec}: sequence {i} out of range");
        assert!(!seen[i as usize], "{codec}: record {i} read twice");
        seen[i as usize] = true;
        value_into(i, &mut buf);
        assert_eq!(line.value.as_bytes(), &buf[..], "{codec}: value of record {i}");
        assert_eq!(line.key, key(i), "{codec}: key of record {i}");
        assert_eq!(line.headers, headers_text(i), "{codec}: headers of record {i}");
        assert_eq!(
            (line.partition, line.offset),
            delivered[i as usize],
            "{codec}: record {i} is not where kaflow's delivery result said"
        );
        read.entry(line.partition).or_default().push((line.offset, i));
    }
    assert_eq!(count, RECORDS, "{codec}: records read by ConsoleConsumer");
    for (p, recs) in &mut read {
        recs.sort_unstable();
        let in_log: Vec<u64> = recs.iter().map(|&(_, i)| i).collect();
        assert!(
            in_log.windows(2).all(|w| w[0] < w[1]),
            "{codec}: partition {p} not in send order"
        );
        assert_eq!(
            &in_log, &sent_order[p],
            "{codec}: partition {p} log order vs send order"
        );
    }
    let check_time = t.elapsed();
    eprintln!(
        "{codec:>6}: produced {RECORDS} in {:.1}s ({:.0} rec/s, {} requests); GetOffsetShell {:.1}s; \
         ConsoleConsumer {:.1}s; check {:.1}s",
        produce_time.as_secs_f64(),
        RECORDS as f64 / produce_time.as_secs_f64(),
        producer
            .stats()
            .requests
            .load(std::sync::atomic::Ordering::Relaxed),
        offsets_time.as_secs_f64(),
        out.elapsed.as_secs_f64(),
        check_time.as_secs_f64(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codec_none_round_trips_through_java_tools() {
    round_trip("none").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codec_gzip_round_trips_through_java_tools() {
    round_trip("gzip").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codec_snappy_round_trips_through_java_tools() {
    round_trip("snappy").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codec_lz4_round_trips_through_java_tools() {
    round_trip("lz4").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codec_zstd_round_trips_through_java_tools() {
    round_trip("zstd").await;
}

/// Keys Java's partitioner and ours must agree on: ASCII, multi-byte UTF-8, the empty key.
fn partitioner_keys() -> Vec<String> {
    let mut keys: Vec<String> = (0..990)
        .map(|i| format!("user-{i}-{}", i * 7919 % 1000))
        .collect();
    keys.extend((0..9).map(|i| format!("ключ-{i}-键")));
    keys.push(String::new());
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioner_matches_java_console_producer() {
    let kafka = require_kafka!();
    let bootstrap = kafka.bootstrap.as_str();
    let partitions = 12;
    let java_topic = unique_topic("partitioner-java");
    let kaflow_topic = unique_topic("partitioner-kaflow");
    create_topic(bootstrap, &java_topic, partitions).await;
    create_topic(bootstrap, &kaflow_topic, partitions).await;
    let keys = partitioner_keys();

    // Java: ConsoleProducer, `key:value` lines on stdin.
    let mut input = String::new();
    for (i, k) in keys.iter().enumerate() {
        input.push_str(&format!("{k}:java-{i}\n"));
    }
    let script = repo_root().join("scripts/kafka.sh");
    let mut child = Command::new("bash")
        .arg(&script)
        .args(["tool", "org.apache.kafka.tools.ConsoleProducer"])
        .args(["--bootstrap-server", bootstrap, "--topic", &java_topic])
        .args([
            "--reader-property",
            "parse.key=true",
            "--reader-property",
            "key.separator=:",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ConsoleProducer");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("ConsoleProducer output");
    writer.join().expect("stdin writer").expect("write stdin");
    assert!(
        out.status.success(),
        "ConsoleProducer failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );

    // kaflow: the same keys, partition chosen by our partitioner.
    let producer = Producer::connect(ProducerConfig::new(bootstrap).expect("config"))
        .await
        .expect("producer");
    let mut futures = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let rec = ProducerRecord::new(kaflow_topic.as_str(), format!("kaflow-{i}")).key(k.clone());
        futures.push(producer.send(rec).await.expect("queued"));
    }
    let mut kaflow_result: HashMap<&str, i32> = HashMap::new();
    for (k, f) in keys.iter().zip(futures) {
        kaflow_result.insert(k, f.wait().await.expect("delivered").partition);
    }
    producer.close().await;

    let read_back = |topic: &str| -> HashMap<String, i32> {
        let out = console_consume(bootstrap, topic, keys.len() as u64, 30_000);
        let mut m = HashMap::new();
        for l in out.lines() {
            assert!(
                m.insert(l.key.to_string(), l.partition).is_none(),
                "key {:?} twice",
                l.key
            );
        }
        assert_eq!(m.len(), keys.len(), "records read back from {topic}");
        m
    };
    let java = read_back(&java_topic);
    let kaflow = read_back(&kaflow_topic);
    let mut used = std::collections::BTreeSet::new();
    let mut disagreements = Vec::new();
    for k in &keys {
        let j = java[k.as_str()];
        used.insert(j);
        if kaflow[k.as_str()] != j || kaflow_result[k.as_str()] != j {
            disagreements.push(format!(
                "{k:?}: java {j}, kaflow log {}, kaflow result {}",
                kaflow[k.as_str()],
                kaflow_result[k.as_str()]
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "partition disagreements:\n{}",
        disagreements.join("\n")
    );
    assert_eq!(
        used.len(),
        partitions as usize,
        "keys should cover every partition"
    );
    eprintln!(
        "{} keys: same partition with Java's ConsoleProducer and kaflow",
        keys.len()
    );
}

/// I1/I4 on a topic produced to right after its creation, with batches pipelined per partition.
///
/// The broker may answer the first batch of a partition NOT_LEADER_OR_FOLLOWER (the partition is
/// in metadata but not open yet) while the next batch, pipelined behind it, arrives once it is
/// open; a broker holding no state for the producer accepts any first sequence (KAFKA-15591),
/// so the later batch is written first and every retry of the first one then gets
/// OUT_OF_ORDER_SEQUENCE_NUMBER until `delivery.timeout.ms` fails it: records lost, despite
/// idempotence. The producer must not pipeline a partition before its first acknowledgement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i1_i4_fresh_topic_pipelined_first_batches_are_not_lost() {
    let kafka = require_kafka!();
    let bootstrap = kafka.bootstrap.as_str();
    let admin = Admin::connect(ClientConfig::new(bootstrap).expect("client config"))
        .await
        .expect("admin");
    // One record per batch, no linger: five requests in flight per partition from the start; a
    // short delivery timeout so a stuck batch fails in seconds.
    let props = Properties::new()
        .with("bootstrap.servers", bootstrap)
        .with("linger.ms", 0)
        .with("batch.size", 1)
        .with("request.timeout.ms", 5_000)
        .with("delivery.timeout.ms", 15_000);
    let producer = Producer::connect(ProducerConfig::from_properties(&props).expect("config"))
        .await
        .expect("producer");
    let (partitions, per_partition) = (12, 100);
    for round in 0..5 {
        let topic = unique_topic("fresh");
        admin
            .create_topic(NewTopic::new(&topic, partitions))
            .await
            .expect("create topic");
        let t: Arc<str> = topic.as_str().into();
        let mut futures = Vec::new();
        for i in 0..partitions * per_partition {
            let rec = ProducerRecord::new(Arc::clone(&t), format!("{i}")).partition(i % partitions);
            futures.push((i, producer.send(rec).await.expect("queued")));
        }
        let mut lost = Vec::new();
        for (i, f) in futures {
            match f.wait().await {
                Ok(md) => assert_eq!(md.offset, i64::from(i / partitions), "record {i}: offset"),
                Err(e) => lost.push(format!("record {i} (partition {}): {e}", i % partitions)),
            }
        }
        assert!(
            lost.is_empty(),
            "round {round}: {} of {} records not delivered to a fresh topic, e.g. {:?}",
            lost.len(),
            partitions * per_partition,
            &lost[..lost.len().min(3)]
        );
    }
    producer.close().await;
}
