//! Transactional producer fault tests on the fake broker: faults a real broker won't produce on
//! demand. The fake finalizes no `transaction.version`, so the producer speaks transaction
//! protocol v1 (AddPartitionsToTxn, EndTxn ≤ v4) here; the fake's coordinator counts completed
//! transactions, which is how "exactly once" is checked. Each test proves its fault fired
//! (control hit counts, request counts).
//!
//! ```text
//!  kaflow Producer ─InitProducerId / AddPartitionsToTxn / Produce / EndTxn─▶ FakeCluster
//!                                                      control(EndTxn | Produce) ─▶ fault
//!  checks: delivery results, TransactionError class, fake.transaction(id) (commits / aborts),
//!          fake.request_count(api), the log's batches (epoch, sequence)
//! ```

use kafka_protocol::messages::{ApiKey, EndTxnResponse, RequestKind, ResponseKind};
use kaflow_client::producer::{Producer, ProducerConfig, ProducerRecord, TransactionError, TransactionState};
use kaflow_client::records::{read_batches, ReadLimits};
use kaflow_client::{Error, Properties};
use kaflow_fake_broker::{Action, ControlRequest, FakeCluster};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

const TOPIC: &str = "txn-faults";

async fn txn_producer(fake: &FakeCluster, txn_id: &str) -> Producer {
    let props = Properties::new()
        .with("bootstrap.servers", fake.bootstrap())
        .with("transactional.id", txn_id)
        .with("retry.backoff.ms", "10")
        .with("max.block.ms", "10000");
    let cfg = ProducerConfig::from_properties(&props).expect("config");
    Producer::connect(cfg).await.expect("producer")
}

/// Sends `n` records `{tag}-{i}` round-robin over two partitions; waits for their results.
async fn send_all(p: &Producer, tag: &str, n: u32) -> Vec<kaflow_client::producer::DeliveryFuture> {
    let mut futures = Vec::new();
    for i in 0..n {
        let rec = ProducerRecord::new(TOPIC, format!("{tag}-{i}")).partition((i % 2) as i32);
        futures.push(p.send(rec).await.expect("queued"));
    }
    futures
}

/// Every value in the partition's log with the producer epoch of its batch.
fn log(fake: &FakeCluster, partition: i32) -> Vec<(i16, i32, String)> {
    let mut out = Vec::new();
    for b in fake.batches(TOPIC, partition) {
        for batch in read_batches(b.bytes.clone(), ReadLimits::default()) {
            let batch = batch.expect("stored batch decodes");
            for r in batch.records() {
                let r = r.expect("record decodes");
                out.push((
                    b.producer_epoch,
                    b.base_sequence,
                    String::from_utf8(r.value.expect("value").to_vec()).expect("utf8"),
                ));
            }
        }
    }
    out
}

fn txn_error(e: &Error) -> &TransactionError {
    match e {
        Error::Transaction(t) => t,
        other => panic!("expected a transaction error, got {other}"),
    }
}

/// The coordinator completes the commit but its answer is lost (connection closed after the
/// write). The producer sends EndTxn(commit) again; the coordinator answers the retry
/// idempotently; the transaction is committed exactly once and the next one proceeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lost_end_txn_response_is_retried_and_the_transaction_completes_exactly_once() {
    let fake = FakeCluster::start(1).await;
    fake.create_topic(TOPIC, 2);
    let decisions = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&decisions);
    let fault = fake.control(ApiKey::EndTxn, move |req: &ControlRequest| {
        if let RequestKind::EndTxn(r) = &req.request {
            seen.lock().unwrap().push(r.committed);
        }
        if req.seq == 0 {
            Action::HandleThenDrop
        } else {
            Action::Pass
        }
    });
    let p = txn_producer(&fake, "tx-lost-end").await;
    p.init_transactions().await.expect("init");
    assert!(!p.transaction_v2(), "the fake finalizes no transaction.version");
    p.begin_transaction().await.expect("begin");
    let futures = send_all(&p, "a", 10).await;
    p.commit_transaction()
        .await
        .expect("commit survives the lost EndTxn answer");
    for f in futures {
        f.try_result().expect("known after commit").expect("delivered");
    }
    assert_eq!(fault.hits(), 1, "the EndTxn answer was dropped once");
    assert_eq!(fake.connections_closed_by_fault(), 1);
    assert_eq!(
        fake.request_count(ApiKey::EndTxn),
        2,
        "EndTxn sent, lost, sent again"
    );
    assert_eq!(
        p.transaction_stats()
            .expect("transactional")
            .end_txn_requests
            .load(Ordering::Relaxed),
        2
    );
    assert_eq!(
        *decisions.lock().unwrap(),
        vec![true, true],
        "the retry carries the same decision"
    );
    let t = fake.transaction("tx-lost-end").expect("known to the coordinator");
    assert_eq!(
        (t.commits, t.aborts, t.ongoing),
        (1, 0, false),
        "committed exactly once: {t:?}"
    );
    assert_eq!(p.transaction_state(), Some(TransactionState::Ready));

    // The next transaction begins only now, and commits normally.
    p.begin_transaction().await.expect("begin 2");
    let _ = send_all(&p, "b", 4).await;
    p.commit_transaction().await.expect("commit 2");
    let t = fake.transaction("tx-lost-end").expect("known");
    assert_eq!((t.commits, t.aborts), (2, 0), "{t:?}");
    assert_eq!(fake.request_count(ApiKey::EndTxn), 3);
    let values: Vec<String> = (0..2)
        .flat_map(|part| log(&fake, part))
        .map(|(_, _, v)| v)
        .collect();
    assert_eq!(values.len(), 14, "every record in the log once: {values:?}");
    assert_eq!(fake.connection_panics(), 0);
}

/// CONCURRENT_TRANSACTIONS (the previous transaction's markers still being written) answers
/// EndTxn twice: the abort is retried with the same decision until it completes, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_transactions_on_end_txn_is_retried_with_the_same_decision() {
    let fake = FakeCluster::start(1).await;
    fake.create_topic(TOPIC, 2);
    let decisions = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&decisions);
    let fault = fake.control(ApiKey::EndTxn, move |req: &ControlRequest| {
        if let RequestKind::EndTxn(r) = &req.request {
            seen.lock().unwrap().push(r.committed);
        }
        if req.seq < 2 {
            Action::Respond(ResponseKind::EndTxn(
                EndTxnResponse::default().with_error_code(51),
            ))
        } else {
            Action::Pass
        }
    });
    let p = txn_producer(&fake, "tx-concurrent").await;
    p.init_transactions().await.expect("init");
    p.begin_transaction().await.expect("begin");
    let futures = send_all(&p, "a", 6).await;
    p.flush().await;
    for f in futures {
        f.wait().await.expect("delivered before the abort");
    }
    p.abort_transaction()
        .await
        .expect("abort completes after CONCURRENT_TRANSACTIONS");
    assert_eq!(fault.hits(), 2);
    assert_eq!(*decisions.lock().unwrap(), vec![false, false, false]);
    let t = fake.transaction("tx-concurrent").expect("known");
    assert_eq!((t.commits, t.aborts, t.ongoing), (0, 1, false), "{t:?}");
    // No batch failed: no KIP-360 epoch bump after this abort.
    assert_eq!(fake.request_count(ApiKey::InitProducerId), 1);
}

/// OUT_OF_ORDER_SEQUENCE_NUMBER inside a transaction makes the transaction abortable: no
/// mid-transaction InitProducerId or local epoch bump, commit refused with an abortable error,
/// queued records fail as not persisted. After the abort the producer bumps its epoch with
/// InitProducerId(its id, its epoch) (KIP-360, transaction protocol v1) and the next
/// transaction starts its sequences at 0 under the new epoch.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn out_of_order_sequence_in_a_transaction_makes_it_abortable_then_the_epoch_moves() {
    let fake = FakeCluster::start(1).await;
    fake.create_topic(TOPIC, 2);
    let fault = fake.control(ApiKey::Produce, |req: &ControlRequest| {
        if req.seq == 0 {
            Action::produce_error(45)
        } else {
            Action::Pass
        }
    });
    let p = txn_producer(&fake, "tx-ooosn").await;
    p.init_transactions().await.expect("init");
    let (pid, epoch) = p.producer_id();
    p.begin_transaction().await.expect("begin");
    let first = p
        .send(ProducerRecord::new(TOPIC, "doomed").partition(0))
        .await
        .expect("queued");
    let err = first
        .wait()
        .await
        .expect_err("OUT_OF_ORDER_SEQUENCE_NUMBER fails the batch");
    assert_eq!(err.cause().code(), Some(45), "{err}");
    assert_eq!(fault.hits(), 1);
    assert_eq!(p.transaction_state(), Some(TransactionState::AbortableError));
    assert_eq!(
        fake.request_count(ApiKey::InitProducerId),
        1,
        "no InitProducerId in the middle of the transaction"
    );
    assert_eq!(
        p.producer_id(),
        (pid, epoch),
        "no local epoch bump inside a transaction"
    );
    // Sends and commit are refused with the abortable error.
    let e = p
        .send(ProducerRecord::new(TOPIC, "refused").partition(1))
        .await
        .expect_err("send in an abortable transaction");
    assert!(
        matches!(e.cause(), Error::Transaction(t) if t.is_abortable()),
        "{e}"
    );
    let e = p
        .commit_transaction()
        .await
        .expect_err("commit of an abortable transaction");
    assert!(txn_error(&e).is_abortable(), "{e}");
    let e = p
        .begin_transaction()
        .await
        .expect_err("no new transaction before the abort");
    assert!(txn_error(&e).is_abortable(), "{e}");

    p.abort_transaction().await.expect("abort");
    assert_eq!(
        fake.request_count(ApiKey::InitProducerId),
        2,
        "after the abort: InitProducerId(id, epoch) bumps the epoch (KIP-360)"
    );
    assert_eq!(p.producer_id(), (pid, epoch + 1));
    assert_eq!(p.transaction_state(), Some(TransactionState::Ready));

    p.begin_transaction().await.expect("begin 2");
    let futures = send_all(&p, "ok", 6).await;
    p.commit_transaction().await.expect("commit 2");
    for f in futures {
        f.try_result().expect("known").expect("delivered");
    }
    let t = fake.transaction("tx-ooosn").expect("known");
    assert_eq!((t.commits, t.aborts, t.epoch), (1, 1, epoch + 1), "{t:?}");
    for part in 0..2 {
        let l = log(&fake, part);
        assert_eq!(l.len(), 3, "partition {part}: {l:?}");
        assert!(
            l.iter().all(|(e, _, v)| *e == epoch + 1 && v.starts_with("ok-")),
            "partition {part}: only the second transaction, under the new epoch: {l:?}"
        );
        assert_eq!(l[0].1, 0, "partition {part}: sequences restart at 0");
    }
}

/// PRODUCER_FENCED on a produce answer (a newer producer owns the id) is fatal: the commit
/// fails as fenced and so does every later call.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn producer_fenced_on_produce_is_fatal_for_every_later_call() {
    let fake = FakeCluster::start(1).await;
    fake.create_topic(TOPIC, 2);
    let fault = fake.control(ApiKey::Produce, |_req: &ControlRequest| Action::produce_error(90));
    let p = txn_producer(&fake, "tx-fenced").await;
    p.init_transactions().await.expect("init");
    p.begin_transaction().await.expect("begin");
    let f = p
        .send(ProducerRecord::new(TOPIC, "zombie").partition(0))
        .await
        .expect("queued");
    let err = f.wait().await.expect_err("fenced");
    assert_eq!(err.cause().code(), Some(90), "{err}");
    assert!(fault.hits() >= 1);
    let e = p
        .commit_transaction()
        .await
        .expect_err("fenced producer can't commit");
    assert!(matches!(txn_error(&e), TransactionError::Fenced { .. }), "{e}");
    for e in [
        p.abort_transaction().await.expect_err("abort"),
        p.begin_transaction().await.expect_err("begin"),
        p.init_transactions().await.expect_err("init again"),
    ] {
        assert!(txn_error(&e).is_fatal(), "{e}");
    }
    assert_eq!(p.transaction_state(), Some(TransactionState::FatalError));
    assert_eq!(
        fake.request_count(ApiKey::EndTxn),
        0,
        "a fenced producer sends no EndTxn"
    );
}

/// Every EndTxn answer is lost until `max.block.ms` runs out: `commit_transaction` fails with a
/// timeout and the outcome is unknown to the producer. It stays Committing: no new transaction
/// can begin and an abort is refused (the decision was commit — aborting now could contradict
/// what the coordinator already did). Calling `commit_transaction` again resumes the same
/// EndTxn, which the coordinator answers idempotently: one commit, no torn or resurrected
/// transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commit_whose_end_txn_outcome_is_unknown_must_be_resumed_not_replaced() {
    let fake = FakeCluster::start(1).await;
    fake.create_topic(TOPIC, 2);
    let losing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let lose = Arc::clone(&losing);
    let fault = fake.control(ApiKey::EndTxn, move |_req: &ControlRequest| {
        if lose.load(Ordering::SeqCst) {
            Action::HandleThenDrop
        } else {
            Action::Pass
        }
    });
    let props = Properties::new()
        .with("bootstrap.servers", fake.bootstrap())
        .with("transactional.id", "tx-unknown-end")
        .with("retry.backoff.ms", "50")
        .with("max.block.ms", "1500");
    let p = Producer::connect(ProducerConfig::from_properties(&props).expect("config"))
        .await
        .expect("producer");
    p.init_transactions().await.expect("init");
    p.begin_transaction().await.expect("begin");
    let futures = send_all(&p, "a", 4).await;
    let e = p
        .commit_transaction()
        .await
        .expect_err("no EndTxn answer within max.block.ms");
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    assert!(
        fault.hits() >= 2,
        "EndTxn was retried while its answers were lost"
    );
    for f in futures {
        f.try_result().expect("flushed before EndTxn").expect("delivered");
    }
    assert_eq!(p.transaction_state(), Some(TransactionState::Committing));
    let e = p
        .begin_transaction()
        .await
        .expect_err("no new transaction while the commit is unknown");
    assert!(
        matches!(
            txn_error(&e),
            TransactionError::InvalidState {
                state: TransactionState::Committing,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("call it again"), "{e}");
    let e = p
        .abort_transaction()
        .await
        .expect_err("no abort after a commit decision");
    assert!(
        matches!(txn_error(&e), TransactionError::InvalidState { .. }),
        "{e}"
    );

    losing.store(false, Ordering::SeqCst);
    let before = fake.request_count(ApiKey::EndTxn);
    p.commit_transaction()
        .await
        .expect("the resumed commit completes");
    assert_eq!(
        fake.request_count(ApiKey::EndTxn),
        before + 1,
        "one more EndTxn, answered"
    );
    let t = fake.transaction("tx-unknown-end").expect("known");
    assert_eq!(
        (t.commits, t.aborts, t.ongoing),
        (1, 0, false),
        "committed once: {t:?}"
    );
    p.begin_transaction()
        .await
        .expect("the next transaction may begin now");
}

/// InitProducerId answered CONCURRENT_TRANSACTIONS (the coordinator still completing the
/// previous producer's transaction), COORDINATOR_LOAD_IN_PROGRESS and NOT_COORDINATOR: each is
/// retried, the last after looking the coordinator up again, and init succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn init_transactions_retries_coordinator_errors_and_rediscovers_after_not_coordinator() {
    let fake = FakeCluster::start(1).await;
    fake.create_topic(TOPIC, 2);
    let fault = fake.control(ApiKey::InitProducerId, |req: &ControlRequest| {
        let code = match req.seq {
            0 => 51, // CONCURRENT_TRANSACTIONS
            1 => 14, // COORDINATOR_LOAD_IN_PROGRESS
            2 => 16, // NOT_COORDINATOR
            _ => return Action::Pass,
        };
        Action::Respond(ResponseKind::InitProducerId(
            kafka_protocol::messages::InitProducerIdResponse::default()
                .with_error_code(code)
                .with_producer_id(kafka_protocol::messages::ProducerId(-1))
                .with_producer_epoch(-1),
        ))
    });
    let p = txn_producer(&fake, "tx-init-retries").await;
    p.init_transactions()
        .await
        .expect("init after retriable coordinator errors");
    assert_eq!(fault.hits(), 3);
    assert_eq!(fake.request_count(ApiKey::InitProducerId), 4);
    assert_eq!(
        fake.request_count(ApiKey::FindCoordinator),
        2,
        "looked up once, and again after NOT_COORDINATOR"
    );
    let t = fake.transaction("tx-init-retries").expect("initialized");
    assert_eq!(p.producer_id(), (t.producer_id, t.epoch));
    p.begin_transaction().await.expect("begin");
    let _ = send_all(&p, "a", 2).await;
    p.commit_transaction().await.expect("commit");
    assert_eq!(fake.transaction("tx-init-retries").expect("known").commits, 1);
}
