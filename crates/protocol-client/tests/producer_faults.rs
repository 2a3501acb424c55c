//! Producer fault tests on the fake broker: faults a real broker won't produce on demand.
//! Each test is named after the invariants it checks (docs/invariants.md) and proves its fault
//! fired (control hit counts, connection counters, epochs in the log).

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};
use kaflow_client::producer::{DeliveryFuture, Producer, ProducerConfig, ProducerRecord};
use kaflow_client::records::{increment_sequence, read_batches, ReadLimits};
use kaflow_client::Properties;
use kaflow_fake_broker::{produce_error_response, Action, ControlRequest, FakeCluster, StoredBatch};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOPIC: &str = "faults";

async fn producer(fake: &FakeCluster, extra: &[(&str, &str)]) -> Producer {
    let props = extra.iter().fold(
        Properties::new().with("bootstrap.servers", fake.bootstrap()),
        |p, (k, v)| p.with(k, v),
    );
    let cfg = ProducerConfig::from_properties(&props).expect("config");
    Producer::connect(cfg).await.expect("producer")
}

async fn producer_with(
    fake: &FakeCluster,
    extra: &[(&str, &str)],
    tweak: impl FnOnce(&mut ProducerConfig),
) -> Producer {
    let props = extra.iter().fold(
        Properties::new().with("bootstrap.servers", fake.bootstrap()),
        |p, (k, v)| p.with(k, v),
    );
    let mut cfg = ProducerConfig::from_properties(&props).expect("config");
    tweak(&mut cfg);
    Producer::connect(cfg).await.expect("producer")
}

async fn send(p: &Producer, i: u32) -> DeliveryFuture {
    p.send(ProducerRecord::new(TOPIC, format!("record-{i:06}")).partition(0))
        .await
        .expect("queued")
}

/// The values in partition 0's log, in offset order.
fn log_values(fake: &FakeCluster) -> Vec<String> {
    let mut out = Vec::new();
    for b in fake.batches(TOPIC, 0) {
        for batch in read_batches(b.bytes.clone(), ReadLimits::default()) {
            for r in batch.expect("stored batch decodes").records() {
                let r = r.expect("record decodes");
                out.push(String::from_utf8(r.value.expect("value").to_vec()).expect("utf8"));
            }
        }
    }
    out
}

fn expected_values(n: u32) -> Vec<String> {
    (0..n).map(|i| format!("record-{i:06}")).collect()
}

/// Records the partition-0 batch bytes of every Produce request (a spy: always `Pass`).
fn spy(fake: &FakeCluster) -> (Arc<Mutex<Vec<Bytes>>>, kaflow_fake_broker::ControlHandle) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    let handle = fake.control(ApiKey::Produce, move |req: &ControlRequest| {
        if let RequestKind::Produce(p) = &req.request {
            for t in &p.topic_data {
                for pd in &t.partition_data {
                    if let Some(r) = &pd.records {
                        s.lock().unwrap().push(r.clone());
                    }
                }
            }
        }
        Action::Pass
    });
    (seen, handle)
}

/// A Produce answer with `code` and `log_start_offset` for every partition of `req`.
fn produce_answer(req: &ControlRequest, code: i16, log_start_offset: i64) -> ResponseKind {
    let mut resp = produce_error_response(req, code);
    for t in resp.responses.iter_mut() {
        for p in t.partition_responses.iter_mut() {
            p.log_start_offset = log_start_offset;
        }
    }
    ResponseKind::Produce(resp)
}

fn epochs_and_sequences(batches: &[StoredBatch]) -> Vec<(i16, i32)> {
    batches
        .iter()
        .map(|b| (b.producer_epoch, b.base_sequence))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn i2_i3_lost_response_after_write_is_resent_identically_and_delivered_once() {
    let fake = FakeCluster::start(1).await;
    fake.create_topic(TOPIC, 1);
    let fault = fake.control(ApiKey::Produce, |req: &ControlRequest| {
        if req.seq == 0 {
            Action::HandleThenDrop
        } else {
            Action::Pass
        }
    });
    let (seen, _spy) = spy(&fake);
    let p = producer(&fake, &[("linger.ms", "20")]).await;
    let futs: Vec<_> = futures(&p, 10).await;
    for (i, f) in futs.into_iter().enumerate() {
        let md = f.wait().await.expect("delivered");
        assert_eq!(md.offset, i as i64, "offset of record {i}");
    }
    assert_eq!(fault.hits(), 1, "the response was dropped once");
    assert_eq!(fake.connections_closed_by_fault(), 1);
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.len() >= 2,
        "expected a retry, saw {} produce requests",
        seen.len()
    );
    assert_eq!(
        seen[0], seen[1],
        "I2: the retry must carry byte-identical records"
    );
    // I3: the broker deduplicated the retry: one batch, ten records, in order.
    assert_eq!(fake.batches(TOPIC, 0).len(), 1);
    assert_eq!(log_values(&fake), expected_values(10));
    assert!(p.stats().retries.load(Ordering::Relaxed) >= 1);
    p.close().await;
}

async fn futures(p: &Producer, n: u32) -> Vec<DeliveryFuture> {
    let mut v = Vec::new();
    for i in 0..n {
        v.push(send(p, i).await);
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn i3_i7_written_but_reported_failed_is_retried_and_deduplicated() {
    let fake = FakeCluster::start(1).await;
    fake.create_topic(TOPIC, 1);
    // NOT_ENOUGH_REPLICAS_AFTER_APPEND: the leader wrote it, then said it failed.
    let fault = fake.control(ApiKey::Produce, |req: &ControlRequest| {
        if req.seq == 0 {
            Action::produce_error_after_append(20)
        } else {
            Action::Pass
        }
    });
    let p = producer(&fake, &[]).await;
    let futs = futures(&p, 5).await;
    for (i, f) in futs.into_iter().enumerate() {
        assert_eq!(f.wait().await.expect("delivered").offset, i as i64);
    }
    assert_eq!(fault.hits(), 1);
    assert_eq!(fake.batches(TOPIC, 0).len(), 1, "the retry was deduplicated");
    assert_eq!(log_values(&fake), expected_values(5));
    p.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn i4_out_of_order_sequence_on_non_head_batches_is_retried_in_order() {
    let fake = FakeCluster::start(1).await;
    fake.create_topic(TOPIC, 1);
    // Request 0 (the first batch, acknowledged before pipelining starts) passes. Request 1
    // fails NOT_LEADER_OR_FOLLOWER after a pause (the client pipelines meanwhile); requests
    // 2-5, already in flight, then get OUT_OF_ORDER_SEQUENCE_NUMBER.
    let fault = fake.control(ApiKey::Produce, |req: &ControlRequest| match req.seq {
        1 => Action::RespondWith(Box::new(|req| {
            // A broker slow to answer: long enough for the client to write the next four.
            std::thread::sleep(Duration::from_millis(300));
            produce_answer(req, 6, -1)
        })),
        2..=5 => Action::produce_error(45),
        _ => Action::Pass,
    });
    let (seen, _spy) = spy(&fake);
    // One record per batch, no linger: five batches, five requests in flight.
    let p = producer(&fake, &[("batch.size", "1"), ("linger.ms", "0")]).await;
    send(&p, 0).await.wait().await.expect("first record");
    let mut futs = Vec::new();
    for i in 1..6 {
        futs.push(send(&p, i).await);
    }
    for (i, f) in futs.into_iter().enumerate() {
        assert_eq!(
            f.wait().await.expect("delivered").offset,
            i as i64 + 1,
            "record {}",
            i + 1
        );
    }
    assert_eq!(fault.hits(), 5, "one NOT_LEADER and four OOOSN answers");
    // Requests 1-5 carried base sequences 1..5: all five were written before the first
    // failure came back (otherwise the client would have held them).
    let pipelined: Vec<i32> = seen.lock().unwrap()[1..6]
        .iter()
        .map(|b| i32::from_be_bytes([b[53], b[54], b[55], b[56]]))
        .collect();
    assert_eq!(pipelined, vec![1, 2, 3, 4, 5]);
    assert_eq!(log_values(&fake), expected_values(6));
    assert_eq!(
        p.stats().epoch_bumps.load(Ordering::Relaxed),
        0,
        "collateral OOOSN must not bump the epoch"
    );
    let (_, epoch) = p.producer_id();
    assert_eq!(
        epochs_and_sequences(&fake.batches(TOPIC, 0)),
        (0..6).map(|s| (epoch, s)).collect::<Vec<_>>()
    );
    p.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn i3_i6_unknown_producer_id_after_retention_bumps_epoch_and_resends() {
    let fake = FakeCluster::start(1).await;
    fake.create_topic(TOPIC, 1);
    let p = producer(&fake, &[]).await;
    let (_, epoch) = p.producer_id();
    for f in futures(&p, 3).await {
        f.wait().await.expect("delivered");
    }
    // Retention removed our batches (log start moved past our last ack) and the broker lost
    // our producer state: it answers UNKNOWN_PRODUCER_ID with the new log start offset.
    fake.apply_retention(TOPIC, 0);
    let log_start = fake.log_start_offset(TOPIC, 0);
    assert!(log_start >= 3);
    let fault = fake.control(ApiKey::Produce, move |req: &ControlRequest| {
        if req.seq == 1 {
            Action::RespondWith(Box::new(move |req| produce_answer(req, 59, log_start)))
        } else {
            Action::Pass
        }
    });
    let f = send(&p, 3).await;
    let md = f.wait().await.expect("delivered after the epoch bump");
    assert_eq!(md.offset, log_start);
    assert_eq!(fault.hits(), 1);
    assert_eq!(p.stats().epoch_bumps.load(Ordering::Relaxed), 1);
    // The resent batch starts over at sequence 0 under the next epoch.
    assert_eq!(
        epochs_and_sequences(&fake.batches(TOPIC, 0)),
        vec![(epoch + 1, 0)]
    );
    p.close().await;
}

#[tokio::test]
async fn i6_exhausted_epoch_gets_a_new_producer_id() {
    let fake = FakeCluster::start(1).await;
    fake.create_topic(TOPIC, 1);
    // The first producer id comes with the last epoch there is: the next bump can't add one.
    let init = fake.control(ApiKey::InitProducerId, |req: &ControlRequest| {
        if req.seq == 0 {
            Action::HandleThenRespond(Box::new(|_, resp| match resp {
                ResponseKind::InitProducerId(r) => {
                    ResponseKind::InitProducerId(r.with_producer_epoch(i16::MAX))
                }
                other => other,
            }))
        } else {
            Action::Pass
        }
    });
    let p = producer(&fake, &[]).await;
    let (first_id, epoch) = p.producer_id();
    assert_eq!(epoch, i16::MAX);
    for f in futures(&p, 2).await {
        f.wait().await.expect("delivered");
    }
    fake.apply_retention(TOPIC, 0);
    let log_start = fake.log_start_offset(TOPIC, 0);
    let fired = std::sync::atomic::AtomicBool::new(false);
    let fault = fake.control(ApiKey::Produce, move |_: &ControlRequest| {
        if !fired.swap(true, Ordering::SeqCst) {
            Action::RespondWith(Box::new(move |req| produce_answer(req, 59, log_start)))
        } else {
            Action::Pass
        }
    });
    let md = send(&p, 2)
        .await
        .wait()
        .await
        .expect("delivered under a new producer id");
    assert_eq!(md.offset, log_start);
    assert_eq!(fault.hits(), 1, "UNKNOWN_PRODUCER_ID fired");
    assert_eq!(init.hits(), 1);
    assert_eq!(
        fake.request_count(ApiKey::InitProducerId),
        2,
        "a second InitProducerId fetched a new id"
    );
    let batch = fake.batches(TOPIC, 0).pop().expect("the resent batch");
    assert_ne!(
        batch.producer_id, first_id,
        "never (id, epoch) reused past i16::MAX"
    );
    assert_eq!((batch.producer_epoch, batch.base_sequence), (0, 0));
    p.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn i1_i7_delivery_timeout_while_broker_is_silent() {
    let fake = FakeCluster::start(1).await;
    fake.create_topic(TOPIC, 1);
    let p = producer(
        &fake,
        &[
            ("linger.ms", "0"),
            ("batch.size", "1"),
            ("request.timeout.ms", "300"),
            ("delivery.timeout.ms", "1000"),
            ("max.in.flight.requests.per.connection", "1"),
        ],
    )
    .await;
    let (_, epoch) = p.producer_id();
    let silence = fake.control(ApiKey::Produce, |_req: &ControlRequest| Action::Silence);
    // A goes out and is never answered; B queues behind it (one request in flight at most).
    let a = send(&p, 0).await;
    let b = send(&p, 1).await;
    let a = a.wait().await.expect_err("A must fail");
    let b = b.wait().await.expect_err("B must fail");
    assert!(silence.hits() >= 1, "the broker stayed silent");
    assert!(a.possibly_persisted(), "A was sent: possibly persisted, got {a}");
    assert!(
        !b.possibly_persisted(),
        "B never left the client: not persisted, got {b}"
    );
    drop(silence);
    // Newer records go out under a bumped epoch from sequence 0: A's sequence is unresolved.
    let c = send(&p, 2).await;
    c.wait().await.expect("C delivered once the broker answers");
    assert!(p.stats().epoch_bumps.load(Ordering::Relaxed) >= 1);
    let batches = fake.batches(TOPIC, 0);
    let last = batches.last().expect("C is in the log");
    assert!(
        last.producer_epoch > epoch,
        "C's epoch {} not above {epoch}",
        last.producer_epoch
    );
    assert_eq!(last.base_sequence, 0);
    p.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn i3_i4_leader_moves_with_requests_in_flight() {
    let fake = FakeCluster::start(2).await;
    fake.create_topic(TOPIC, 1);
    fake.set_leader(TOPIC, 0, 1);
    let mover = fake.clone();
    // The first request to node 1 answers slowly; before it answers, leadership moves to node
    // 2, so node 1 refuses everything still queued on its connection.
    let fault = fake.control(ApiKey::Produce, move |req: &ControlRequest| {
        if req.seq == 1 {
            let mover = mover.clone();
            Action::RespondWith(Box::new(move |req| {
                std::thread::sleep(Duration::from_millis(300));
                mover.set_leader(TOPIC, 0, 2);
                produce_answer(req, 6, -1)
            }))
        } else {
            Action::Pass
        }
    });
    let node1 = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n1 = Arc::clone(&node1);
    let _count = fake.control(ApiKey::Produce, move |req: &ControlRequest| {
        if req.node == 1 {
            n1.fetch_add(1, Ordering::SeqCst);
        }
        Action::Pass
    });
    let p = producer(&fake, &[("batch.size", "1"), ("linger.ms", "0")]).await;
    let futs = futures(&p, 8).await;
    for (i, f) in futs.into_iter().enumerate() {
        assert_eq!(f.wait().await.expect("delivered").offset, i as i64, "record {i}");
    }
    assert_eq!(fault.hits(), 1);
    assert!(
        node1.load(Ordering::SeqCst) >= 3,
        "requests were in flight to the old leader when it moved"
    );
    assert_eq!(fake.leader(TOPIC, 0).0, 2, "leadership moved");
    assert_eq!(
        log_values(&fake),
        expected_values(8),
        "order kept across the move, no duplicates"
    );
    assert_eq!(p.stats().epoch_bumps.load(Ordering::Relaxed), 0);
    p.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn i9_topic_missing_from_metadata_for_three_seconds_keeps_sequences() {
    let fake = FakeCluster::start(1).await;
    fake.create_topic(TOPIC, 1);
    let p = producer(&fake, &[("linger.ms", "0"), ("batch.size", "200")]).await;
    let (_, epoch) = p.producer_id();
    for f in futures(&p, 50).await {
        f.wait().await.expect("delivered");
    }
    let metadata_before = fake.request_count(ApiKey::Metadata);
    fake.hide_topic(TOPIC, true);
    // Force the client to see the topic vanish.
    let _ = p.cluster().refresh(&[TOPIC]).await;
    assert!(
        p.cluster().metadata().topics[TOPIC].missing_since.is_some(),
        "client saw the topic missing"
    );
    let mut pending = Vec::new();
    for i in 50..100 {
        pending.push(send(&p, i).await);
    }
    // The fault lasts three seconds.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        fake.request_count(ApiKey::Metadata) > metadata_before + 1,
        "client kept asking for metadata"
    );
    fake.hide_topic(TOPIC, false);
    for (i, f) in pending.into_iter().enumerate() {
        assert_eq!(f.wait().await.expect("delivered").offset, 50 + i as i64);
    }
    assert_eq!(log_values(&fake), expected_values(100));
    assert_eq!(
        p.stats().epoch_bumps.load(Ordering::Relaxed),
        0,
        "no epoch bump: state survived"
    );
    // Sequences continue across the gap under one epoch.
    let mut expect = 0;
    for b in fake.batches(TOPIC, 0) {
        assert_eq!((b.producer_epoch, b.base_sequence), (epoch, expect));
        expect = increment_sequence(expect, b.record_count);
    }
    p.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn i6_sequence_wraps_to_zero_after_i32_max() {
    let fake = FakeCluster::start(1).await;
    fake.create_topic(TOPIC, 1);
    // ~4 records per batch: 10 records in three batches crossing i32::MAX.
    let p = producer_with(&fake, &[("linger.ms", "50"), ("batch.size", "100")], |c| {
        c.initial_sequence = i32::MAX - 2
    })
    .await;
    let futs = futures(&p, 10).await;
    for (i, f) in futs.into_iter().enumerate() {
        assert_eq!(f.wait().await.expect("delivered").offset, i as i64);
    }
    let batches = fake.batches(TOPIC, 0);
    assert!(
        batches.len() >= 2,
        "expected several batches, got {}",
        batches.len()
    );
    let mut expect = i32::MAX - 2;
    for b in &batches {
        assert_eq!(b.base_sequence, expect);
        expect = increment_sequence(expect, b.record_count);
    }
    assert!((0..10).contains(&expect), "sequence wrapped to {expect}");
    assert_eq!(log_values(&fake), expected_values(10));
    p.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn i8_buffer_memory_bounds_queued_bytes_and_send_waits_then_fails() {
    let fake = FakeCluster::start(1).await;
    fake.create_topic(TOPIC, 1);
    let silence = fake.control(ApiKey::Produce, |_req: &ControlRequest| Action::Silence);
    let p = producer(
        &fake,
        &[
            ("buffer.memory", "4096"),
            ("max.block.ms", "300"),
            ("request.timeout.ms", "1000"),
            ("delivery.timeout.ms", "20000"),
        ],
    )
    .await;
    let value = "x".repeat(100);
    let mut accepted = Vec::new();
    let refused = loop {
        let started = std::time::Instant::now();
        match p
            .send(ProducerRecord::new(TOPIC, value.clone()).partition(0))
            .await
        {
            Ok(f) => accepted.push(f),
            Err(e) => break (e, started.elapsed()),
        }
        assert!(accepted.len() < 1000, "buffer.memory never pushed back");
    };
    let (err, waited) = refused;
    assert!(
        !err.possibly_persisted(),
        "a refused send is not persisted: {err}"
    );
    assert!(err.to_string().contains("buffer.memory"), "{err}");
    assert!(
        waited >= Duration::from_millis(290),
        "send gave up after {waited:?}, before max.block.ms"
    );
    // Each accepted 100-byte record holds at least 100 bytes of the 4096.
    assert!(
        accepted.len() * 100 <= 4096,
        "{} records queued in 4096 bytes",
        accepted.len()
    );
    assert!(silence.hits() >= 1, "the broker held the first request");
    drop(silence);
    // Once the broker answers again, the queued records are delivered and memory comes back.
    for f in accepted {
        f.wait().await.expect("delivered after the broker recovered");
    }
    let f = p
        .send(ProducerRecord::new(TOPIC, value.clone()).partition(0))
        .await
        .expect("memory was released");
    f.wait().await.expect("delivered");
    p.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn i11_garbage_produce_answers_are_errors_and_the_record_still_lands_once() {
    let fake = FakeCluster::start(1).await;
    fake.create_topic(TOPIC, 1);
    // First answer: a well-framed response whose body is noise (wrong correlation id);
    // second: a negative frame length.
    let fault = fake.control(ApiKey::Produce, |req: &ControlRequest| match req.seq {
        0 => Action::Garbage(Bytes::from_static(&[
            0, 0, 0, 8, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4,
        ])),
        1 => Action::Garbage(Bytes::from_static(&[0xff, 0xff, 0xff, 0xf0])),
        _ => Action::Pass,
    });
    let p = producer(&fake, &[("request.timeout.ms", "2000")]).await;
    let futs = futures(&p, 3).await;
    for (i, f) in futs.into_iter().enumerate() {
        assert_eq!(f.wait().await.expect("delivered").offset, i as i64);
    }
    assert_eq!(fault.hits(), 2, "both hostile answers were sent");
    assert_eq!(fake.connection_panics(), 0);
    assert_eq!(
        log_values(&fake),
        expected_values(3),
        "no duplicate from the retries"
    );
    assert!(p.stats().retries.load(Ordering::Relaxed) >= 2);
    p.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn i4_first_batch_goes_alone_until_acknowledged() {
    // A broker with no sequence state for a producer accepts any first sequence. If the first
    // batch failed while a second was pipelined behind it, the second could be taken and the
    // first never again (found by the perf run on a just-created topic). So: one batch in
    // flight until the broker has acknowledged one.
    let fake = FakeCluster::start(1).await;
    fake.create_topic(TOPIC, 1);
    let fault = fake.control(ApiKey::Produce, |req: &ControlRequest| {
        if req.seq == 0 {
            Action::produce_error(6)
        } else {
            Action::Pass
        }
    });
    let (seen, _spy) = spy(&fake);
    let p = producer(&fake, &[("batch.size", "1"), ("linger.ms", "0")]).await;
    let futs = futures(&p, 5).await;
    for (i, f) in futs.into_iter().enumerate() {
        assert_eq!(f.wait().await.expect("delivered").offset, i as i64, "record {i}");
    }
    assert_eq!(fault.hits(), 1);
    let seqs: Vec<i32> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|b| i32::from_be_bytes([b[53], b[54], b[55], b[56]]))
        .collect();
    assert_eq!(
        &seqs[..2],
        &[0, 0],
        "the second request must be the retry of the first batch"
    );
    assert_eq!(log_values(&fake), expected_values(5));
    assert_eq!(p.stats().epoch_bumps.load(Ordering::Relaxed), 0);
    p.close().await;
}
