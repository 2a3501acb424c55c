//! The transactional producer against a real Kafka 4.3 broker, checked with Kafka's own Java
//! tools: what `ConsoleConsumer --isolation-level read_committed` sees is exactly what kaflow
//! committed; `read_uncommitted` also sees the aborted records that reached the log; a second
//! producer with the same `transactional.id` fences the first; offsets sent to a transaction
//! become the group's committed offsets only when it commits (`ConsumerGroupCommand`).
//!
//! ```text
//!  kaflow Producer (transactional.id) ──txn 0 commit, txn 1 abort, ...──▶ topic (3 partitions)
//!        │ delivery results: (partition, offset) per record           ├─▶ ConsoleConsumer read_committed
//!        └───────────── expected sets ◀── compared ──────────────────┴─▶ ConsoleConsumer read_uncommitted
//! ```
//!
//! Each record's value is `t={txn};i={seq}`: the transaction number and the record's sequence
//! within it, so every line the Java consumer prints is traced back to one send.

use bytes::Bytes;
use kaflow_client::admin::{Admin, NewTopic, OffsetSpec};
use kaflow_client::producer::{
    GroupMetadata, Producer, ProducerConfig, ProducerRecord, TransactionError, TransactionState, TxnOffset,
};
use kaflow_client::{ClientConfig, Error, Properties};
use kaflow_test_support::seq::{ConsoleOutput, NULL};
use kaflow_test_support::{kafka_tool, require_kafka, unique_topic};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PARTITIONS: i32 = 3;
const PER_TXN: u32 = 30;

async fn create_topic(bootstrap: &str, topic: &str, partitions: i32) {
    let admin = Admin::connect(ClientConfig::new(bootstrap).expect("client config"))
        .await
        .expect("admin");
    admin
        .create_topic(NewTopic::new(topic, partitions))
        .await
        .expect("create topic");
    let ends = admin
        .list_offsets(topic, &[], OffsetSpec::Latest)
        .await
        .expect("every partition serves");
    assert_eq!(ends.len(), partitions as usize, "partitions of a new topic");
}

async fn txn_producer(bootstrap: &str, txn_id: &str, force_v1: bool) -> Producer {
    let props = Properties::new()
        .with("bootstrap.servers", bootstrap)
        .with("transactional.id", txn_id)
        .with("transaction.timeout.ms", "30000")
        .with("max.block.ms", "30000");
    let mut cfg = ProducerConfig::from_properties(&props).expect("producer config");
    cfg.force_transaction_v1 = force_v1;
    Producer::connect(cfg).await.expect("producer")
}

/// Every record `ConsoleConsumer` prints with the given isolation level, reading until
/// `max_messages` or `idle_ms` without a record.
fn consume(
    bootstrap: &str,
    topic: &str,
    isolation: &str,
    max_messages: usize,
    idle_ms: u64,
) -> ConsoleOutput {
    let started = Instant::now();
    let max = max_messages.to_string();
    let idle = idle_ms.to_string();
    let null_literal = format!("null.literal={NULL}");
    let mut args = vec![
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--from-beginning",
        "--isolation-level",
        isolation,
        "--max-messages",
        &max,
        "--timeout-ms",
        &idle,
    ];
    for p in [
        "print.partition=true",
        "print.offset=true",
        "print.headers=true",
        "print.key=true",
        "print.value=true",
        &null_literal,
    ] {
        args.extend(["--formatter-property", p]);
    }
    let out = kafka_tool("org.apache.kafka.tools.consumer.ConsoleConsumer", &args);
    assert!(
        out.status.success(),
        "ConsoleConsumer ({isolation}) failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    ConsoleOutput {
        stdout: out.stdout,
        elapsed: started.elapsed(),
    }
}

/// (partition, offset, value) of every record the consumer printed.
fn read_back(out: &ConsoleOutput) -> Vec<(i32, i64, String)> {
    out.lines()
        .map(|l| (l.partition, l.offset, l.value.to_string()))
        .collect()
}

fn value(t: u32, i: u32) -> String {
    format!("t={t};i={i}")
}

fn txn_error(e: &Error) -> &TransactionError {
    match e {
        Error::Transaction(t) => t,
        other => panic!("expected a transaction error, got {other}"),
    }
}

/// Six transactions over three partitions: 0, 2, 3, 5 commit; 1 aborts after every record is
/// delivered (its records are in the log, marked aborted); 4 aborts straight after its sends,
/// so some of its records may still be queued and fail as not persisted.
async fn commits_and_aborts(force_v1: bool) {
    let kafka = require_kafka!();
    let bootstrap = kafka.bootstrap.as_str();
    let label = if force_v1 { "v1" } else { "v2" };
    let topic = unique_topic(&format!("txn-{label}"));
    create_topic(bootstrap, &topic, PARTITIONS).await;
    let producer = txn_producer(bootstrap, &unique_topic(&format!("txn-id-{label}")), force_v1).await;
    assert_eq!(
        producer.transaction_state(),
        Some(TransactionState::Uninitialized)
    );
    // Sending before init_transactions is refused: the record never leaves the client.
    let early = producer
        .send(ProducerRecord::new(topic.as_str(), "early"))
        .await
        .expect_err("send before init_transactions");
    assert!(!early.possibly_persisted(), "{early}");
    producer.init_transactions().await.expect("init_transactions");
    let v2 = producer.transaction_v2();
    if force_v1 {
        assert!(!v2, "forced transaction protocol v1");
    } else {
        // Kafka 4.x formats new clusters with transaction.version=2 (KIP-890 part 2).
        assert!(v2, "a Kafka 4.3 broker finalizes transaction.version 2");
    }
    let (pid, epoch0) = producer.producer_id();
    assert!(pid >= 0 && epoch0 >= 0, "producer id {pid} epoch {epoch0}");

    let topic_arc: Arc<str> = topic.as_str().into();
    let mut committed: BTreeSet<String> = BTreeSet::new();
    let mut in_log_aborted: BTreeSet<String> = BTreeSet::new();
    let mut never_sent = 0;
    // (partition, offset) → value of every delivered record.
    let mut delivered: BTreeMap<(i32, i64), String> = BTreeMap::new();
    let mut ended = 0;
    for t in 0..6u32 {
        producer.begin_transaction().await.expect("begin_transaction");
        let mut futures = Vec::new();
        for i in 0..PER_TXN {
            let rec = ProducerRecord::new(Arc::clone(&topic_arc), Bytes::from(value(t, i)))
                .partition((i % PARTITIONS as u32) as i32)
                .key(format!("k{i}"));
            futures.push((i, producer.send(rec).await.expect("queued")));
        }
        match t {
            1 => {
                // Aborted after delivery: the records are in the log, marked aborted.
                producer.flush().await;
                for (i, f) in futures {
                    let md = f.wait().await.expect("delivered before the abort");
                    delivered.insert((md.partition, md.offset), value(t, i));
                    in_log_aborted.insert(value(t, i));
                }
                producer.abort_transaction().await.expect("abort_transaction");
            }
            4 => {
                producer.abort_transaction().await.expect("abort_transaction");
                for (i, f) in futures {
                    match f.wait().await {
                        Ok(md) => {
                            delivered.insert((md.partition, md.offset), value(t, i));
                            in_log_aborted.insert(value(t, i));
                        }
                        Err(e) => {
                            assert!(!e.possibly_persisted(), "queued record of an aborted txn: {e}");
                            assert!(
                                matches!(e.cause(), Error::Transaction(TransactionError::Aborted { .. })),
                                "{e}"
                            );
                            never_sent += 1;
                        }
                    }
                }
            }
            _ => {
                producer.commit_transaction().await.expect("commit_transaction");
                // commit_transaction flushed first: every result is known now.
                for (i, f) in futures {
                    let md = f
                        .try_result()
                        .expect("result known after commit")
                        .expect("delivered");
                    delivered.insert((md.partition, md.offset), value(t, i));
                    committed.insert(value(t, i));
                }
            }
        }
        ended += 1;
        let (p, e) = producer.producer_id();
        assert_eq!(p, pid, "same producer id");
        if v2 {
            // KIP-890 part 2: every EndTxn hands out the next epoch.
            assert_eq!(e, epoch0 + ended, "epoch after {ended} ended transactions (TV2)");
        } else {
            assert_eq!(e, epoch0, "TV1: no failed batch, no epoch bump");
        }
    }
    // At least one EndTxn per transaction; more when the coordinator answered
    // CONCURRENT_TRANSACTIONS (the previous transaction's markers still being written).
    let end_txns = producer
        .transaction_stats()
        .expect("transactional")
        .end_txn_requests
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        end_txns >= 6,
        "{label}: {end_txns} EndTxn requests for 6 transactions"
    );
    // Outside a transaction, send is refused.
    let e = producer
        .send(ProducerRecord::new(topic.as_str(), "outside"))
        .await
        .expect_err("send outside a transaction");
    assert!(
        matches!(
            e.cause(),
            Error::Transaction(TransactionError::InvalidState {
                state: TransactionState::Ready,
                ..
            })
        ),
        "{e}"
    );
    producer.close().await;
    eprintln!(
        "{label}: {} committed, {} aborted in the log, {never_sent} aborted before sending",
        committed.len(),
        in_log_aborted.len()
    );
    assert_eq!(committed.len(), 4 * PER_TXN as usize);

    // read_committed: exactly the committed records, each where kaflow said, in send order.
    let out = consume(bootstrap, &topic, "read_committed", committed.len() + 1, 8_000);
    let lines = read_back(&out);
    let seen: BTreeSet<String> = lines.iter().map(|l| l.2.clone()).collect();
    assert_eq!(lines.len(), seen.len(), "{label}: a record read twice");
    assert_eq!(
        seen, committed,
        "{label}: read_committed sees exactly the committed records"
    );
    for (p, o, v) in &lines {
        assert_eq!(
            delivered.get(&(*p, *o)),
            Some(v),
            "{label}: {v} is not at {p}/{o}"
        );
    }
    let mut per_partition: BTreeMap<i32, Vec<(i64, String)>> = BTreeMap::new();
    for (p, o, v) in lines {
        per_partition.entry(p).or_default().push((o, v));
    }
    for (p, recs) in per_partition.iter_mut() {
        recs.sort();
        let order: Vec<(u32, u32)> = recs
            .iter()
            .map(|(_, v)| {
                let (t, i) = v.trim_start_matches("t=").split_once(";i=").expect("t=..;i=..");
                (t.parse().expect("t"), i.parse().expect("i"))
            })
            .collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "{label}: partition {p} out of send order"
        );
    }

    // read_uncommitted: the committed records plus the aborted ones that reached the log.
    let all: BTreeSet<String> = committed.union(&in_log_aborted).cloned().collect();
    let out = consume(bootstrap, &topic, "read_uncommitted", all.len() + 1, 8_000);
    let seen: BTreeSet<String> = read_back(&out).into_iter().map(|l| l.2).collect();
    assert_eq!(
        seen, all,
        "{label}: read_uncommitted sees committed and aborted-in-log records"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_java_consumer_sees_exactly_the_committed_transactions_v2() {
    commits_and_aborts(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_java_consumer_sees_exactly_the_committed_transactions_v1() {
    commits_and_aborts(true).await;
}

/// Zombie fencing: A has an open transaction with delivered records; B initializes the same
/// transactional id. The coordinator aborts A's transaction and A's next call fails fatally,
/// as does every call after it; read_committed never sees A's records, only B's.
async fn second_producer_fences_the_first(force_v1: bool) {
    let kafka = require_kafka!();
    let bootstrap = kafka.bootstrap.as_str();
    let label = if force_v1 { "v1" } else { "v2" };
    let topic = unique_topic(&format!("txn-fence-{label}"));
    create_topic(bootstrap, &topic, PARTITIONS).await;
    let txn_id = unique_topic(&format!("txn-fence-id-{label}"));
    let a = txn_producer(bootstrap, &txn_id, force_v1).await;
    a.init_transactions().await.expect("A init");
    let (a_pid, a_epoch) = a.producer_id();
    a.begin_transaction().await.expect("A begin");
    let mut a_futures = Vec::new();
    for i in 0..10u32 {
        let rec = ProducerRecord::new(topic.as_str(), value(100, i)).partition((i % 3) as i32);
        a_futures.push(a.send(rec).await.expect("A queued"));
    }
    a.flush().await;
    for f in a_futures {
        f.wait().await.expect("A's records reach the log (uncommitted)");
    }

    let b = txn_producer(bootstrap, &txn_id, force_v1).await;
    b.init_transactions().await.expect("B init fences A");
    let (b_pid, b_epoch) = b.producer_id();
    assert_eq!(b_pid, a_pid, "same transactional id, same producer id");
    assert!(b_epoch > a_epoch, "B's epoch {b_epoch} above A's {a_epoch}");

    // The zombie resumes: a record sent with the old epoch never gets in (refused when the
    // partition is enlisted, TV1, or by the partition leader's epoch check, TV2).
    match a
        .send(ProducerRecord::new(topic.as_str(), value(100, 99)).partition(1))
        .await
    {
        Err(e) => assert!(matches!(e.cause(), Error::Transaction(t) if t.is_fatal()), "{e}"),
        Ok(f) => {
            let e = f.wait().await.expect_err("a fenced epoch's record is refused");
            assert!(!e.possibly_persisted(), "{e}");
        }
    }
    // A's commit is refused: fenced, fatal.
    let e = a.commit_transaction().await.expect_err("A is fenced");
    let te = txn_error(&e);
    assert!(te.is_fatal(), "commit of a fenced producer: {te}");
    assert!(matches!(te, TransactionError::Fenced { .. }), "{te}");
    assert_eq!(a.transaction_state(), Some(TransactionState::FatalError));
    // ... and every later call fails the same way.
    let e = a
        .begin_transaction()
        .await
        .expect_err("fenced producer can't begin");
    assert!(txn_error(&e).is_fatal(), "{e}");
    let e = a
        .abort_transaction()
        .await
        .expect_err("fenced producer can't abort");
    assert!(txn_error(&e).is_fatal(), "{e}");
    let e = a
        .send(ProducerRecord::new(topic.as_str(), "zombie"))
        .await
        .expect_err("fenced producer can't send");
    assert!(matches!(e.cause(), Error::Transaction(t) if t.is_fatal()), "{e}");

    b.begin_transaction().await.expect("B begin");
    for i in 0..10u32 {
        let rec = ProducerRecord::new(topic.as_str(), value(200, i)).partition((i % 3) as i32);
        let _ = b.send(rec).await.expect("B queued");
    }
    b.commit_transaction().await.expect("B commit");
    a.close().await;
    b.close().await;

    let out = consume(bootstrap, &topic, "read_committed", 11, 8_000);
    let seen: BTreeSet<String> = read_back(&out).into_iter().map(|l| l.2).collect();
    let expected: BTreeSet<String> = (0..10).map(|i| value(200, i)).collect();
    assert_eq!(
        seen, expected,
        "{label}: read_committed sees B's records only, none of fenced A's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_producer_with_the_same_transactional_id_fences_the_first_v2() {
    second_producer_fences_the_first(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_producer_with_the_same_transactional_id_fences_the_first_v1() {
    second_producer_fences_the_first(true).await;
}

/// The committed offsets of `group` per (topic, partition), from Kafka's ConsumerGroupCommand.
/// Partitions without a committed offset are left out.
fn group_offsets(bootstrap: &str, group: &str) -> BTreeMap<(String, i32), i64> {
    let out = kafka_tool(
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        &[
            "--bootstrap-server",
            bootstrap,
            "--describe",
            "--group",
            group,
            "--offsets",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut offsets = BTreeMap::new();
    // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
    for line in stdout.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 4 && f[0] == group {
            if let (Ok(p), Ok(o)) = (f[2].parse::<i32>(), f[3].parse::<i64>()) {
                offsets.insert((f[1].to_string(), p), o);
            }
        }
    }
    offsets
}

/// send_offsets_to_transaction: offsets of an aborted transaction are never committed; those of
/// a committed one become the group's committed offsets.
async fn offsets_follow_the_transaction(force_v1: bool) {
    let kafka = require_kafka!();
    let bootstrap = kafka.bootstrap.as_str();
    let label = if force_v1 { "v1" } else { "v2" };
    let source = unique_topic(&format!("txn-src-{label}"));
    let sink = unique_topic(&format!("txn-sink-{label}"));
    create_topic(bootstrap, &source, 2).await;
    create_topic(bootstrap, &sink, 1).await;
    let group = unique_topic(&format!("txn-group-{label}"));
    let p = txn_producer(bootstrap, &unique_topic(&format!("txn-off-id-{label}")), force_v1).await;
    p.init_transactions().await.expect("init");
    let meta = GroupMetadata::new(group.clone());

    // Transaction 1: offset 42 for partition 0, aborted.
    p.begin_transaction().await.expect("begin 1");
    let _ = p
        .send(ProducerRecord::new(sink.as_str(), "out-1"))
        .await
        .expect("queued");
    p.send_offsets_to_transaction(&[TxnOffset::new(source.clone(), 0, 42)], &meta)
        .await
        .expect("offsets 1");
    p.abort_transaction().await.expect("abort 1");

    // Transaction 2: offset 7 for partition 1, committed.
    p.begin_transaction().await.expect("begin 2");
    let _ = p
        .send(ProducerRecord::new(sink.as_str(), "out-2"))
        .await
        .expect("queued");
    p.send_offsets_to_transaction(&[TxnOffset::new(source.clone(), 1, 7)], &meta)
        .await
        .expect("offsets 2");
    p.commit_transaction().await.expect("commit 2");
    p.close().await;

    // The commit marker reaches __consumer_offsets asynchronously: wait for partition 1's
    // offset to show, then partition 0 (aborted before transaction 2 began) must have none.
    let deadline = Instant::now() + Duration::from_secs(60);
    let offsets = loop {
        let o = group_offsets(bootstrap, &group);
        if o.contains_key(&(source.clone(), 1)) || Instant::now() > deadline {
            break o;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(
        offsets.get(&(source.clone(), 1)),
        Some(&7),
        "{label}: committed transaction's offset: {offsets:?}"
    );
    assert_eq!(
        offsets.get(&(source.clone(), 0)),
        None,
        "{label}: the aborted transaction's offset must not be committed: {offsets:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_sent_to_a_transaction_are_committed_only_when_it_commits_v2() {
    offsets_follow_the_transaction(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_sent_to_a_transaction_are_committed_only_when_it_commits_v1() {
    offsets_follow_the_transaction(true).await;
}

/// An abortable error from a real broker: a record larger than the topic's `max.message.bytes`
/// fails its batch (MESSAGE_TOO_LARGE), so the transaction can't commit. After the abort the
/// producer carries on: TV1 bumps its epoch with InitProducerId(id, epoch) (KIP-360, the failed
/// batch left a sequence gap), TV2 gets the next epoch from EndTxn. read_committed sees only
/// the transaction that committed.
async fn abortable_error_then_abort_and_carry_on(force_v1: bool) {
    let kafka = require_kafka!();
    let bootstrap = kafka.bootstrap.as_str();
    let label = if force_v1 { "v1" } else { "v2" };
    let topic = unique_topic(&format!("txn-abortable-{label}"));
    let admin = Admin::connect(ClientConfig::new(bootstrap).expect("client config"))
        .await
        .expect("admin");
    admin
        .create_topic(NewTopic::new(&topic, PARTITIONS).config("max.message.bytes", "2000"))
        .await
        .expect("create topic");
    admin
        .list_offsets(&topic, &[], OffsetSpec::Latest)
        .await
        .expect("every partition serves");
    let p = txn_producer(
        bootstrap,
        &unique_topic(&format!("txn-abortable-id-{label}")),
        force_v1,
    )
    .await;
    p.init_transactions().await.expect("init");
    let (pid, epoch0) = p.producer_id();

    p.begin_transaction().await.expect("begin 1");
    let small = p
        .send(ProducerRecord::new(topic.as_str(), value(1, 0)).partition(0))
        .await
        .expect("queued");
    let big = p
        .send(ProducerRecord::new(topic.as_str(), Bytes::from(vec![b'x'; 5000])).partition(1))
        .await
        .expect("queued");
    p.flush().await;
    let e = big.wait().await.expect_err("larger than max.message.bytes");
    assert!(!e.possibly_persisted(), "{e}");
    small
        .wait()
        .await
        .expect("the small record reached the log (to be aborted)");
    assert_eq!(p.transaction_state(), Some(TransactionState::AbortableError));
    let e = p
        .commit_transaction()
        .await
        .expect_err("a transaction with a failed record can't commit");
    assert!(txn_error(&e).is_abortable(), "{e}");
    p.abort_transaction().await.expect("abort");
    assert_eq!(
        p.producer_id(),
        (pid, epoch0 + 1),
        "{label}: the epoch moved with the abort"
    );
    let inits = p
        .transaction_stats()
        .expect("transactional")
        .producer_ids
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        inits,
        if force_v1 { 2 } else { 1 },
        "{label}: InitProducerId calls (TV1 bumps with one after the abort; TV2's EndTxn bumps)"
    );

    p.begin_transaction().await.expect("begin 2");
    for i in 0..3u32 {
        let _ = p
            .send(ProducerRecord::new(topic.as_str(), value(2, i)).partition(i as i32))
            .await
            .expect("queued");
    }
    p.commit_transaction().await.expect("commit 2");
    p.close().await;
    let out = consume(bootstrap, &topic, "read_committed", 4, 8_000);
    let seen: BTreeSet<String> = read_back(&out).into_iter().map(|l| l.2).collect();
    let expected: BTreeSet<String> = (0..3).map(|i| value(2, i)).collect();
    assert_eq!(
        seen, expected,
        "{label}: read_committed sees the second transaction only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abortable_error_is_aborted_and_the_producer_carries_on_v2() {
    abortable_error_then_abort_and_carry_on(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abortable_error_is_aborted_and_the_producer_carries_on_v1() {
    abortable_error_then_abort_and_carry_on(true).await;
}
