//! Transactions (KIP-98): `transactional.id`, fencing, AddPartitionsToTxn, AddOffsetsToTxn +
//! TxnOffsetCommit, EndTxn — the state machine of the Java client's `TransactionManager`.
//!
//! ```text
//!  init_transactions ─FindCoordinator(TRANSACTION)─▶ ApiVersions (transaction.version?) ─▶
//!      InitProducerId(txn id) ─▶ (pid, epoch): older epochs of the id are fenced ─▶ Ready
//!  begin_transaction ─▶ InTransaction (local)
//!  send(record) ──TV1: AddPartitionsToTxn for a new partition, before the record is queued──▶
//!      accumulator ─▶ sender: Produce with transactional_id, batches flagged transactional
//!      (TV2, KIP-890: Produce v12+ adds the partition on the broker; nothing to do here)
//!  send_offsets_to_transaction ─TV1: AddOffsetsToTxn─▶ TxnOffsetCommit to the GROUP coordinator
//!  commit_transaction ─▶ Committing ─flush: every record has its result─▶ EndTxn(commit) ─▶ Ready
//!  abort_transaction  ─▶ Aborting ─queued batches fail (Aborted), in-flight ones finish─▶
//!      EndTxn(abort) ─▶ TV1 after a failed batch: InitProducerId(pid, epoch) bumps the epoch
//!      (KIP-360) ─▶ Ready.   TV2: every EndTxn answers with the next epoch (KIP-890 part 2).
//!
//!  errors: abortable (a batch failed, TRANSACTION_ABORTABLE, ...) ─▶ AbortableError: only
//!          abort_transaction is allowed, then the producer carries on;
//!          fatal (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH, authorization, ...) ─▶ FatalError:
//!          every later call fails; close the producer.
//! ```
//!
//! Which protocol: Kafka 4 brokers finalize the `transaction.version` feature (ApiVersions'
//! `finalized_features`); at 2 or more, with EndTxn v5+ and Produce v12+, this producer speaks
//! transaction protocol v2 as the Java client does (`TransactionManager.isTransactionV2Enabled`):
//! no AddPartitionsToTxn (the Produce request enlists the partition), no AddOffsetsToTxn
//! (TxnOffsetCommit v5 enlists the group), and the epoch moves on at every EndTxn. Otherwise it
//! speaks v1 and caps Produce at v11, EndTxn and TxnOffsetCommit at v4 and AddPartitionsToTxn at
//! v3 (v4+ is the broker-to-broker form). The version is read once, in `init_transactions`.
//!
//! Ambiguous endings: an EndTxn whose answer is lost (connection died, timed out) is sent again
//! with the same decision until it is answered; the coordinator answers a retried EndTxn
//! idempotently (v1: same epoch, transaction already complete with that result; v2: the retry's
//! epoch is one below the bumped one, KIP-890). CONCURRENT_TRANSACTIONS (markers of the previous
//! transaction still being written) is retried. When `max.block.ms` runs out first, the call
//! fails with a timeout and the producer stays Committing / Aborting: the next transaction can't
//! begin, and calling the same method again resumes the same EndTxn — no torn transaction, and
//! no transaction resurrected by a late commit after an abort.

use super::sender::{Command, ProducerIds};
use super::ProducerConfig;
use crate::broker::Traffic;
use crate::cluster::Cluster;
use crate::config::backoff;
use crate::error::{BrokerError, Error, Outcome, Result};
use crate::net::{Connection, ConnectionError};
use crate::protocol::KafkaRequest;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, ApiVersionsRequest, EndTxnRequest,
    FindCoordinatorRequest, GroupId, InitProducerIdRequest, ProduceRequest, ProducerId, TopicName,
    TransactionalId, TxnOffsetCommitRequest,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::mpsc;
use tokio::time::Instant;

type Tp = (Arc<str>, i32);

/// Where a transactional producer stands (the Java client's `TransactionManager.State`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum TransactionState {
    /// `init_transactions` has not completed.
    Uninitialized = 0,
    /// `init_transactions` is running (or timed out and may be called again).
    Initializing = 1,
    /// No transaction open; `begin_transaction` may be called.
    Ready = 2,
    /// A transaction is open.
    InTransaction = 3,
    /// `commit_transaction` is running, or timed out and must be called again.
    Committing = 4,
    /// `abort_transaction` is running, or timed out and must be called again.
    Aborting = 5,
    /// The open transaction can only be aborted.
    AbortableError = 6,
    /// The producer can't go on (fenced, not authorized, ...); close it.
    FatalError = 7,
}

impl TransactionState {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Uninitialized,
            1 => Self::Initializing,
            2 => Self::Ready,
            3 => Self::InTransaction,
            4 => Self::Committing,
            5 => Self::Aborting,
            6 => Self::AbortableError,
            _ => Self::FatalError,
        }
    }
}

/// Errors of the transactional producer. [`TransactionError::is_fatal`] and
/// [`TransactionError::is_abortable`] say what the caller may do next.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TransactionError {
    /// A newer producer with the same `transactional.id` fenced this one (fatal).
    #[error("producer fenced for transactional.id {transactional_id}: a newer producer initialized it")]
    Fenced {
        /// The transactional id.
        transactional_id: String,
    },
    /// The producer can't go on; every later call fails with this error. Close it.
    #[error("transactional producer {transactional_id} failed fatally: {cause}")]
    Fatal {
        /// The transactional id.
        transactional_id: String,
        /// What happened.
        cause: Arc<Error>,
    },
    /// The open transaction can't be committed; call `abort_transaction`, then carry on.
    #[error("transaction of {transactional_id} must be aborted: {cause}")]
    Abortable {
        /// The transactional id.
        transactional_id: String,
        /// What happened.
        cause: Arc<Error>,
    },
    /// The call doesn't fit the producer's state (e.g. `send` outside a transaction).
    #[error("cannot {operation}: transactional producer {transactional_id} is {state:?}{}", hint(*.state, .operation))]
    InvalidState {
        /// The transactional id.
        transactional_id: String,
        /// The call refused.
        operation: &'static str,
        /// The state it found.
        state: TransactionState,
    },
    /// The record was still queued when its transaction was aborted: it was never sent.
    #[error("record not sent: the transaction of {transactional_id} was aborted")]
    Aborted {
        /// The transactional id.
        transactional_id: String,
    },
    /// A transactional call on a producer without `transactional.id`.
    #[error("{operation} needs a transactional producer (set transactional.id)")]
    NotTransactional {
        /// The call refused.
        operation: &'static str,
    },
}

fn hint(state: TransactionState, operation: &str) -> &'static str {
    match state {
        TransactionState::Committing if operation != "commit_transaction" => {
            " (an earlier commit_transaction did not finish: call it again)"
        }
        TransactionState::Aborting if operation != "abort_transaction" => {
            " (an earlier abort_transaction did not finish: call it again)"
        }
        TransactionState::Uninitialized => " (call init_transactions first)",
        TransactionState::Ready => " (call begin_transaction first)",
        _ => "",
    }
}

impl TransactionError {
    /// True when the producer can't be used any more (fenced or fatal).
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Fenced { .. } | Self::Fatal { .. })
    }

    /// True when the open transaction must be aborted, after which the producer carries on.
    pub fn is_abortable(&self) -> bool {
        matches!(self, Self::Abortable { .. })
    }
}

/// The consumer group whose offsets a transaction commits (the Java client's
/// `ConsumerGroupMetadata`). Generation -1 and an empty member id skip the coordinator's
/// membership check (a producer that isn't driven by a group member).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMetadata {
    /// `group.id`.
    pub group_id: String,
    /// The member's generation (-1: none).
    pub generation_id: i32,
    /// The member id ("" : none).
    pub member_id: String,
    /// `group.instance.id` of a static member (KIP-345).
    pub group_instance_id: Option<String>,
}

impl GroupMetadata {
    /// A group with no member information (generation -1, empty member id).
    pub fn new(group_id: impl Into<String>) -> Self {
        Self {
            group_id: group_id.into(),
            generation_id: -1,
            member_id: String::new(),
            group_instance_id: None,
        }
    }
}

/// One partition's offset to commit with the transaction: the offset of the next record to
/// consume, as Kafka commits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnOffset {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The next offset to consume.
    pub offset: i64,
    /// Leader epoch of the last consumed record (-1: unknown).
    pub leader_epoch: i32,
    /// Commit metadata.
    pub metadata: Option<String>,
}

impl TxnOffset {
    /// An offset without leader epoch or metadata.
    pub fn new(topic: impl Into<String>, partition: i32, offset: i64) -> Self {
        Self {
            topic: topic.into(),
            partition,
            offset,
            leader_epoch: -1,
            metadata: None,
        }
    }
}

/// How a coordinator's error code is handled (after the Java client's handlers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// The coordinator moved or is unknown: look it up again, then retry.
    Rediscover,
    /// Try the same request again after a backoff.
    Retry,
    /// A newer producer owns the transactional id.
    Fenced,
    /// The producer can't go on.
    Fatal,
    /// The transaction must be aborted.
    Abortable,
}

mod code {
    pub const REQUEST_TIMED_OUT: i16 = 7;
    pub const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
    pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    pub const NOT_COORDINATOR: i16 = 16;
    pub const ILLEGAL_GENERATION: i16 = 22;
    pub const UNKNOWN_MEMBER_ID: i16 = 25;
    pub const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
    pub const GROUP_AUTHORIZATION_FAILED: i16 = 30;
    pub const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
    pub const UNSUPPORTED_VERSION: i16 = 35;
    pub const INVALID_PRODUCER_EPOCH: i16 = 47;
    pub const INVALID_TXN_STATE: i16 = 48;
    pub const INVALID_PRODUCER_ID_MAPPING: i16 = 49;
    pub const CONCURRENT_TRANSACTIONS: i16 = 51;
    pub const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
    pub const OPERATION_NOT_ATTEMPTED: i16 = 55;
    pub const UNKNOWN_PRODUCER_ID: i16 = 59;
    pub const FENCED_INSTANCE_ID: i16 = 82;
    pub const PRODUCER_FENCED: i16 = 90;
    pub const TRANSACTION_ABORTABLE: i16 = 120;
}

/// The class of an error code in a transaction-coordinator answer (InitProducerId,
/// AddPartitionsToTxn, AddOffsetsToTxn, EndTxn). INVALID_PRODUCER_EPOCH is what older
/// coordinators say for PRODUCER_FENCED (KIP-588); Java treats both as fenced.
fn classify(c: i16) -> Class {
    use code::*;
    match c {
        COORDINATOR_NOT_AVAILABLE | NOT_COORDINATOR => Class::Rediscover,
        CONCURRENT_TRANSACTIONS | COORDINATOR_LOAD_IN_PROGRESS => Class::Retry,
        PRODUCER_FENCED | INVALID_PRODUCER_EPOCH => Class::Fenced,
        TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        | CLUSTER_AUTHORIZATION_FAILED
        | INVALID_TXN_STATE
        | INVALID_PRODUCER_ID_MAPPING
        | UNSUPPORTED_VERSION => Class::Fatal,
        // UNKNOWN_PRODUCER_ID: the coordinator lost our id; aborting and re-initializing
        // recovers (KIP-360). TRANSACTION_ABORTABLE: KIP-890.
        UNKNOWN_PRODUCER_ID
        | TRANSACTION_ABORTABLE
        | GROUP_AUTHORIZATION_FAILED
        | TOPIC_AUTHORIZATION_FAILED
        | OPERATION_NOT_ATTEMPTED => Class::Abortable,
        c => match ResponseError::try_from_code(c) {
            Some(e) if e.is_retriable() => Class::Retry,
            _ => Class::Fatal,
        },
    }
}

/// Counters a fault test uses to prove its fault fired.
#[derive(Debug, Default)]
pub struct TransactionStats {
    /// EndTxn requests written (retries included).
    pub end_txn_requests: AtomicU64,
    /// InitProducerId requests answered without error (initial and epoch bumps).
    pub producer_ids: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    ids: Option<ProducerIds>,
    last_error: Option<TransactionError>,
    /// TV1: partitions AddPartitionsToTxn has enlisted in the open transaction.
    partitions: HashSet<Tp>,
    /// A batch failed after getting a sequence number: the epoch must move before the next
    /// transaction (TV1; TV2's EndTxn moves it anyway).
    epoch_bump_needed: bool,
    /// Cached coordinators: the transaction's, and each group's.
    txn_coordinator: Option<i32>,
    group_coordinators: HashMap<String, i32>,
}

/// The transaction state machine, shared by the producer handle and its sender task.
#[derive(Debug)]
pub(crate) struct TxnManager {
    cluster: Arc<Cluster>,
    cfg: Arc<ProducerConfig>,
    id: String,
    commands: mpsc::UnboundedSender<Command>,
    state: AtomicU8,
    /// Bumped by every `begin_transaction`: a record checked against one transaction can't be
    /// queued into the next.
    generation: AtomicU64,
    /// Something was sent or enlisted in the open transaction: it needs an EndTxn.
    started: AtomicBool,
    tv2: AtomicBool,
    inner: Mutex<Inner>,
    /// `send` holds it shared from its last state check until the record is queued; leaving
    /// InTransaction takes it exclusively, so no record slips in after commit's flush began.
    pub(crate) gate: RwLock<()>,
    /// One API call (init, begin, offsets, commit, abort) at a time.
    pub(crate) op: tokio::sync::Mutex<()>,
    /// TV1: one AddPartitionsToTxn at a time.
    add_lock: tokio::sync::Mutex<()>,
    pub(crate) stats: TransactionStats,
}

impl TxnManager {
    pub fn new(
        cluster: Arc<Cluster>,
        cfg: Arc<ProducerConfig>,
        id: String,
        commands: mpsc::UnboundedSender<Command>,
    ) -> Self {
        Self {
            cluster,
            cfg,
            id,
            commands,
            state: AtomicU8::new(TransactionState::Uninitialized as u8),
            generation: AtomicU64::new(0),
            started: AtomicBool::new(false),
            tv2: AtomicBool::new(false),
            inner: Mutex::default(),
            gate: RwLock::new(()),
            op: tokio::sync::Mutex::new(()),
            add_lock: tokio::sync::Mutex::new(()),
            stats: TransactionStats::default(),
        }
    }

    pub fn state(&self) -> TransactionState {
        TransactionState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// True once `init_transactions` found the cluster speaking transaction protocol v2.
    pub fn is_v2(&self) -> bool {
        self.tv2.load(Ordering::Acquire)
    }

    /// The highest Produce version this producer may send (TV1: v11; v12+ would make the
    /// broker enlist partitions on its own, KIP-890).
    pub fn produce_version_cap(&self) -> Option<i16> {
        (!self.is_v2()).then_some(11)
    }

    pub fn ids(&self) -> ProducerIds {
        self.lock().ids.unwrap_or(ProducerIds { id: -1, epoch: -1 })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_state(&self, s: TransactionState) {
        tracing::debug!(transactional_id = %self.id, state = ?s, "transaction state");
        self.state.store(s as u8, Ordering::Release);
    }

    /// Moves to `s` while no `send` is between its state check and its append.
    fn set_state_gated(&self, s: TransactionState) {
        let _g = self.gate.write().unwrap_or_else(|e| e.into_inner());
        self.set_state(s);
    }

    fn invalid(&self, operation: &'static str) -> Error {
        TransactionError::InvalidState {
            transactional_id: self.id.clone(),
            operation,
            state: self.state(),
        }
        .into()
    }

    /// The stored error of a FatalError / AbortableError state.
    fn stored_error(&self) -> Option<Error> {
        match self.state() {
            TransactionState::FatalError | TransactionState::AbortableError => {
                self.lock().last_error.clone().map(Error::from)
            }
            _ => None,
        }
    }

    /// Fails with the fatal error if there is one.
    fn check_not_fatal(&self) -> Result<()> {
        if self.state() == TransactionState::FatalError {
            return Err(self.stored_error().unwrap_or_else(|| self.invalid("continue")));
        }
        Ok(())
    }

    fn fenced(&self) -> TransactionError {
        TransactionError::Fenced {
            transactional_id: self.id.clone(),
        }
    }

    /// Enters FatalError (for good) and returns the error every later call gets.
    fn to_fatal(&self, err: TransactionError) -> Error {
        tracing::error!(transactional_id = %self.id, error = %err, "transactional producer failed fatally");
        self.lock().last_error = Some(err.clone());
        self.set_state_gated(TransactionState::FatalError);
        err.into()
    }

    /// Enters AbortableError unless the transaction is already being aborted (or the producer
    /// is fatally failed); returns the error.
    fn to_abortable(&self, cause: Error) -> Error {
        let err = TransactionError::Abortable {
            transactional_id: self.id.clone(),
            cause: Arc::new(cause),
        };
        match self.state() {
            TransactionState::InTransaction
            | TransactionState::Committing
            | TransactionState::AbortableError => {
                tracing::info!(transactional_id = %self.id, error = %err, "transaction must be aborted");
                self.lock().last_error = Some(err.clone());
                self.set_state_gated(TransactionState::AbortableError);
            }
            _ => {}
        }
        err.into()
    }

    /// Turns a classified coordinator error into the state change and the error to return.
    fn apply(&self, class: Class, cause: Error) -> Error {
        match class {
            Class::Fenced => self.to_fatal(self.fenced()),
            Class::Abortable => self.to_abortable(cause),
            _ => self.to_fatal(TransactionError::Fatal {
                transactional_id: self.id.clone(),
                cause: Arc::new(cause),
            }),
        }
    }

    /// Called by the sender when a batch of the open transaction fails for good.
    pub fn batch_failed(&self, cause: &Error, had_sequence: bool) {
        if had_sequence {
            self.lock().epoch_bump_needed = true;
        }
        if matches!(cause, Error::Transaction(TransactionError::Aborted { .. })) {
            return;
        }
        // Java `TransactionManager.maybeTransitionToErrorState`: fenced, authorization and
        // unsupported-version errors are fatal; any other failed batch makes the transaction
        // abortable (its records can't all be committed).
        let class = match cause {
            Error::Broker(b) => match b.code() {
                code::PRODUCER_FENCED | code::INVALID_PRODUCER_EPOCH => Class::Fenced,
                code::TRANSACTIONAL_ID_AUTHORIZATION_FAILED
                | code::CLUSTER_AUTHORIZATION_FAILED
                | code::UNSUPPORTED_VERSION
                | code::INVALID_PRODUCER_ID_MAPPING => Class::Fatal,
                _ => Class::Abortable,
            },
            Error::Connection(ConnectionError::UnsupportedVersion { .. }) => Class::Fatal,
            _ => Class::Abortable,
        };
        if self.state() != TransactionState::FatalError {
            let _ = self.apply(class, cause.clone());
        }
    }

    /// Before a record is queued: the transaction must be open, and (TV1) the record's
    /// partition enlisted. Returns the transaction generation to re-check under the gate.
    pub async fn before_send(&self, topic: &Arc<str>, partition: i32) -> Result<u64> {
        let generation = self.generation.load(Ordering::Acquire);
        match self.state() {
            TransactionState::InTransaction => {}
            TransactionState::AbortableError | TransactionState::FatalError => {
                return Err(self.stored_error().unwrap_or_else(|| self.invalid("send")))
            }
            _ => return Err(self.invalid("send")),
        }
        if !self.is_v2() {
            let tp: Tp = (Arc::clone(topic), partition);
            if !self.lock().partitions.contains(&tp) {
                self.add_partition(tp, generation).await?;
            }
        }
        Ok(generation)
    }

    /// Under the gate (shared), just before the append: is the record's transaction still
    /// the open one?
    pub fn still_open(&self, generation: u64) -> Result<()> {
        if self.state() == TransactionState::InTransaction
            && self.generation.load(Ordering::Acquire) == generation
        {
            // TV2: the first record makes the transaction need an EndTxn.
            if !self.started.load(Ordering::Relaxed) {
                self.started.store(true, Ordering::Release);
            }
            Ok(())
        } else {
            Err(self.stored_error().unwrap_or_else(|| self.invalid("send")))
        }
    }

    fn deadline(&self) -> Instant {
        Instant::now() + self.cfg.max_block
    }

    /// Backs off before another attempt, or fails with a timeout naming the last error.
    async fn pause(&self, what: &str, attempt: &mut u32, deadline: Instant, last: &Error) -> Result<()> {
        let wait = backoff(
            self.cfg.client.retry_backoff,
            self.cfg.client.retry_backoff_max,
            *attempt,
        );
        *attempt += 1;
        if Instant::now() + wait > deadline {
            return Err(Error::Timeout {
                what: format!("{what} for transactional.id {} (last error: {last})", self.id),
                millis: self.cfg.max_block.as_millis() as u64,
            });
        }
        tracing::debug!(transactional_id = %self.id, what, error = %last, attempt = *attempt, "retrying");
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// The coordinator node of the transaction (`group: None`) or of a group, looked up when
    /// unknown. Its errors are final (FindCoordinator retries inside).
    async fn coordinator(&self, group: Option<&str>, deadline: Instant) -> Result<i32> {
        let cached = {
            let inner = self.lock();
            match group {
                None => inner.txn_coordinator,
                Some(g) => inner.group_coordinators.get(g).copied(),
            }
        };
        if let Some(n) = cached {
            return Ok(n);
        }
        let n = self.find_coordinator(group, deadline).await?;
        let mut inner = self.lock();
        match group {
            None => inner.txn_coordinator = Some(n),
            Some(g) => {
                inner.group_coordinators.insert(g.to_string(), n);
            }
        }
        Ok(n)
    }

    /// A connection to `node` (admin traffic). Its errors are worth a retry.
    async fn connect(&self, node: i32) -> Result<Connection> {
        let broker = match self.cluster.broker(node) {
            Ok(b) => b,
            Err(_) => {
                // A coordinator our metadata doesn't know yet (a new broker): refresh once.
                self.cluster.refresh(&[]).await?;
                self.cluster.broker(node).map_err(|e| Error::Timeout {
                    what: format!("coordinator {node} to appear in metadata ({e})"),
                    millis: 0,
                })?
            }
        };
        Ok(broker.connection(Traffic::Admin).await?)
    }

    fn forget_coordinator(&self, group: Option<&str>) {
        let mut inner = self.lock();
        match group {
            None => inner.txn_coordinator = None,
            Some(g) => {
                inner.group_coordinators.remove(g);
            }
        }
    }

    /// FindCoordinator with key type TRANSACTION (1) or GROUP (0), batched form from v4
    /// (KIP-699), retried until `deadline`.
    async fn find_coordinator(&self, group: Option<&str>, deadline: Instant) -> Result<i32> {
        let (key, key_type) = match group {
            None => (self.id.as_str(), 1i8),
            Some(g) => (g, 0i8),
        };
        let mut attempt = 0;
        loop {
            let result: Result<i32> = async {
                let (broker, conn) = self.cluster.any_connection(Traffic::Admin).await?;
                let version = conn.version::<FindCoordinatorRequest>()?;
                let mut req = FindCoordinatorRequest::default().with_key_type(key_type);
                if version >= 4 {
                    req.coordinator_keys = vec![StrBytes::from_string(key.to_string())];
                } else {
                    req.key = StrBytes::from_string(key.to_string());
                }
                let resp = conn.send_at(&req, version).await?;
                let (code, node, message) = if version >= 4 {
                    let c = resp.coordinators.first().ok_or_else(|| Error::InvalidResponse {
                        api: "FindCoordinator",
                        broker,
                        detail: "no coordinator in the answer".into(),
                    })?;
                    (c.error_code, c.node_id.0, c.error_message.clone())
                } else {
                    (resp.error_code, resp.node_id.0, resp.error_message.clone())
                };
                if code != 0 {
                    return Err(broker_error(
                        code,
                        "FindCoordinator",
                        broker,
                        message.map(|m| m.to_string()),
                    ));
                }
                Ok(node)
            }
            .await;
            match result {
                Ok(node) => {
                    tracing::debug!(key, key_type, node, "found coordinator");
                    return Ok(node);
                }
                Err(e) => {
                    let class = match e.code() {
                        Some(c) => classify(c),
                        None if e.outcome() == Outcome::Fatal => Class::Fatal,
                        None => Class::Retry,
                    };
                    match class {
                        Class::Retry | Class::Rediscover => {
                            self.pause("FindCoordinator", &mut attempt, deadline, &e).await?
                        }
                        // Java: an unauthorized group is abortable, an unauthorized
                        // transactional id fatal.
                        Class::Abortable if group.is_some() => return Err(self.to_abortable(e)),
                        c => return Err(self.apply(c, e)),
                    }
                }
            }
        }
    }

    /// Sends a request to a coordinator, retrying connection failures (looking the coordinator
    /// up again) until `deadline`. `cap` limits the version (transaction protocol v1).
    async fn request<R: KafkaRequest>(
        &self,
        group: Option<&str>,
        cap: Option<i16>,
        deadline: Instant,
        build: impl Fn(i16) -> R,
    ) -> Result<(i32, R::Response)> {
        let mut attempt = 0;
        loop {
            let node = self.coordinator(group, deadline).await?;
            let result: Result<R::Response> = async {
                let conn = self.connect(node).await?;
                let negotiated = conn.version::<R>()?;
                let version = cap.map_or(negotiated, |c| negotiated.min(c));
                if R::KEY == kafka_protocol::messages::ApiKey::EndTxn {
                    self.stats.end_txn_requests.fetch_add(1, Ordering::Relaxed);
                }
                Ok(conn.send_at(&build(version), version).await?)
            }
            .await;
            match result {
                Ok(r) => return Ok((node, r)),
                Err(e) if e.outcome() == Outcome::Fatal => {
                    // No common version, or the request can't be encoded.
                    return Err(self.to_fatal(TransactionError::Fatal {
                        transactional_id: self.id.clone(),
                        cause: Arc::new(e),
                    }));
                }
                Err(e) => {
                    // Lost or timed-out answer, or no connection: the same request again, to the
                    // coordinator as looked up afresh (Java re-finds it on disconnect).
                    self.forget_coordinator(group);
                    self.pause(R::NAME, &mut attempt, deadline, &e).await?;
                }
            }
        }
    }

    /// Sends a transaction-coordinator request until its error code says done (Ok), retrying
    /// the retriable classes.
    async fn txn_call<R: KafkaRequest>(
        &self,
        cap: Option<i16>,
        deadline: Instant,
        build: impl Fn(i16) -> R,
        code_of: impl Fn(&R::Response) -> i16,
    ) -> Result<R::Response> {
        let mut attempt = 0;
        loop {
            let (node, resp) = self.request(None, cap, deadline, &build).await?;
            let c = code_of(&resp);
            if c == 0 {
                return Ok(resp);
            }
            let err = broker_error(c, R::NAME, node, None);
            match classify(c) {
                Class::Rediscover => {
                    self.forget_coordinator(None);
                    self.pause(R::NAME, &mut attempt, deadline, &err).await?;
                }
                Class::Retry => self.pause(R::NAME, &mut attempt, deadline, &err).await?,
                class => return Err(self.apply(class, err)),
            }
        }
    }

    /// `init_transactions`: coordinator, protocol version, InitProducerId (fences every older
    /// producer of the id; the coordinator aborts or completes its open transaction first,
    /// answering CONCURRENT_TRANSACTIONS meanwhile, which is retried).
    pub async fn init(&self) -> Result<()> {
        let _op = self.op.lock().await;
        self.check_not_fatal()?;
        match self.state() {
            TransactionState::Uninitialized | TransactionState::Initializing => {}
            _ => return Err(self.invalid("init_transactions")),
        }
        self.set_state(TransactionState::Initializing);
        let deadline = self.deadline();
        self.detect_protocol(deadline).await?;
        let ids = self.init_producer_id(None, deadline).await?;
        {
            let mut inner = self.lock();
            inner.ids = Some(ids);
            inner.epoch_bump_needed = false;
            inner.last_error = None;
        }
        let _ = self.commands.send(Command::SetIds(ids));
        self.set_state(TransactionState::Ready);
        tracing::info!(
            transactional_id = %self.id,
            producer_id = ids.id,
            epoch = ids.epoch,
            transaction_version = if self.is_v2() { 2 } else { 1 },
            "transactions initialized"
        );
        Ok(())
    }

    /// Reads the coordinator's finalized `transaction.version` (ApiVersions), as the Java
    /// client's `maybeUpdateTransactionV2Enabled` does.
    async fn detect_protocol(&self, deadline: Instant) -> Result<()> {
        let mut attempt = 0;
        loop {
            let node = self.coordinator(None, deadline).await?;
            let result: Result<bool> = async {
                let conn = self.connect(node).await?;
                let resp = conn
                    .send(
                        &ApiVersionsRequest::default()
                            .with_client_software_name(StrBytes::from_static_str("kaflow"))
                            .with_client_software_version(StrBytes::from_static_str(env!(
                                "CARGO_PKG_VERSION"
                            ))),
                    )
                    .await?;
                let tv = resp
                    .finalized_features
                    .iter()
                    .find(|f| f.name.as_str() == "transaction.version")
                    .map(|f| f.max_version_level)
                    .unwrap_or(0);
                let end_txn = conn.version::<EndTxnRequest>()?;
                let produce = conn.version::<ProduceRequest>()?;
                Ok(tv >= 2 && end_txn >= 5 && produce >= 12)
            }
            .await;
            match result {
                Ok(v2) => {
                    let v2 = v2 && !self.cfg.force_transaction_v1;
                    self.tv2.store(v2, Ordering::Release);
                    return Ok(());
                }
                Err(e) if e.outcome() == Outcome::Fatal => return Err(e),
                Err(e) => {
                    self.forget_coordinator(None);
                    self.pause("ApiVersions", &mut attempt, deadline, &e).await?;
                }
            }
        }
    }

    /// InitProducerId with the transactional id; with `current` (KIP-360) it bumps the epoch of
    /// our own id instead of fencing it.
    async fn init_producer_id(&self, current: Option<ProducerIds>, deadline: Instant) -> Result<ProducerIds> {
        let (pid, epoch) = current.map_or((-1, -1), |c| (c.id, c.epoch));
        let timeout_ms = self.cfg.transaction_timeout.as_millis().min(i32::MAX as u128) as i32;
        let resp = self
            .txn_call(
                None,
                deadline,
                |_| {
                    InitProducerIdRequest::default()
                        .with_transactional_id(Some(TransactionalId(StrBytes::from_string(self.id.clone()))))
                        .with_transaction_timeout_ms(timeout_ms)
                        .with_producer_id(ProducerId(pid))
                        .with_producer_epoch(epoch)
                },
                |r| r.error_code,
            )
            .await?;
        self.stats.producer_ids.fetch_add(1, Ordering::Relaxed);
        Ok(ProducerIds {
            id: resp.producer_id.0,
            epoch: resp.producer_epoch,
        })
    }

    /// `begin_transaction` (local, as in Java).
    pub async fn begin(&self) -> Result<()> {
        let _op = self.op.lock().await;
        // Java `maybeFailWithError`: an abortable error must be cleared by an abort first.
        if let Some(e) = self.stored_error() {
            return Err(e);
        }
        if self.state() != TransactionState::Ready {
            return Err(self.invalid("begin_transaction"));
        }
        {
            let mut inner = self.lock();
            inner.partitions.clear();
            inner.last_error = None;
        }
        self.started.store(false, Ordering::Release);
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.set_state_gated(TransactionState::InTransaction);
        Ok(())
    }

    /// TV1: AddPartitionsToTxn for one partition before its first record is queued.
    async fn add_partition(&self, tp: Tp, generation: u64) -> Result<()> {
        let _add = self.add_lock.lock().await;
        if self.lock().partitions.contains(&tp) {
            return Ok(());
        }
        if self.generation.load(Ordering::Acquire) != generation
            || self.state() != TransactionState::InTransaction
        {
            return Err(self.stored_error().unwrap_or_else(|| self.invalid("send")));
        }
        let ids = self.ids();
        let deadline = self.deadline();
        let mut attempt = 0;
        loop {
            let (node, resp) = self
                .request(None, Some(3), deadline, |_| {
                    let mut req = AddPartitionsToTxnRequest::default();
                    req.v3_and_below_transactional_id =
                        TransactionalId(StrBytes::from_string(self.id.clone()));
                    req.v3_and_below_producer_id = ProducerId(ids.id);
                    req.v3_and_below_producer_epoch = ids.epoch;
                    req.v3_and_below_topics = vec![AddPartitionsToTxnTopic::default()
                        .with_name(TopicName(StrBytes::from_string(tp.0.to_string())))
                        .with_partitions(vec![tp.1])];
                    req
                })
                .await?;
            // v1-3 answer per partition; a top-level error (v4+) is checked too.
            let c = if resp.error_code != 0 {
                resp.error_code
            } else {
                resp.results_by_topic_v3_and_below
                    .iter()
                    .flat_map(|t| t.results_by_partition.iter())
                    .map(|p| p.partition_error_code)
                    .find(|&c| c != 0)
                    .unwrap_or(0)
            };
            if c == 0 {
                self.lock().partitions.insert(tp);
                self.started.store(true, Ordering::Release);
                return Ok(());
            }
            let err = broker_error(c, "AddPartitionsToTxn", node, Some(format!("{}-{}", tp.0, tp.1)));
            match classify(c) {
                Class::Rediscover => {
                    self.forget_coordinator(None);
                    self.pause("AddPartitionsToTxn", &mut attempt, deadline, &err)
                        .await?;
                }
                Class::Retry => {
                    self.pause("AddPartitionsToTxn", &mut attempt, deadline, &err)
                        .await?
                }
                class => return Err(self.apply(class, err)),
            }
        }
    }

    /// `send_offsets_to_transaction`: TV1 AddOffsetsToTxn, then TxnOffsetCommit to the group
    /// coordinator; the offsets become visible only if the transaction commits.
    pub async fn send_offsets(&self, offsets: &[TxnOffset], group: &GroupMetadata) -> Result<()> {
        let _op = self.op.lock().await;
        match self.state() {
            TransactionState::InTransaction => {}
            TransactionState::AbortableError | TransactionState::FatalError => {
                return Err(self
                    .stored_error()
                    .unwrap_or_else(|| self.invalid("send_offsets_to_transaction")))
            }
            _ => return Err(self.invalid("send_offsets_to_transaction")),
        }
        if offsets.is_empty() {
            return Ok(());
        }
        let ids = self.ids();
        let deadline = self.deadline();
        let v2 = self.is_v2();
        if v2 {
            // TxnOffsetCommit v5 enlists the group on the broker (KIP-890).
            self.started.store(true, Ordering::Release);
        } else {
            self.txn_call(
                None,
                deadline,
                |_| {
                    AddOffsetsToTxnRequest::default()
                        .with_transactional_id(TransactionalId(StrBytes::from_string(self.id.clone())))
                        .with_producer_id(ProducerId(ids.id))
                        .with_producer_epoch(ids.epoch)
                        .with_group_id(GroupId(StrBytes::from_string(group.group_id.clone())))
                },
                |r| r.error_code,
            )
            .await?;
            self.started.store(true, Ordering::Release);
        }
        self.txn_offset_commit(offsets, group, ids, v2, deadline).await
    }

    async fn txn_offset_commit(
        &self,
        offsets: &[TxnOffset],
        group: &GroupMetadata,
        ids: ProducerIds,
        v2: bool,
        deadline: Instant,
    ) -> Result<()> {
        let g = Some(group.group_id.as_str());
        let mut pending: BTreeMap<(String, i32), &TxnOffset> = offsets
            .iter()
            .map(|o| ((o.topic.clone(), o.partition), o))
            .collect();
        let mut attempt = 0;
        while !pending.is_empty() {
            let (node, resp) = self
                .request(g, (!v2).then_some(4), deadline, |_| {
                    let mut topics: BTreeMap<&str, Vec<TxnOffsetCommitRequestPartition>> = BTreeMap::new();
                    for o in pending.values() {
                        topics.entry(o.topic.as_str()).or_default().push(
                            TxnOffsetCommitRequestPartition::default()
                                .with_partition_index(o.partition)
                                .with_committed_offset(o.offset)
                                .with_committed_leader_epoch(o.leader_epoch)
                                .with_committed_metadata(o.metadata.clone().map(StrBytes::from_string)),
                        );
                    }
                    TxnOffsetCommitRequest::default()
                        .with_transactional_id(TransactionalId(StrBytes::from_string(self.id.clone())))
                        .with_group_id(GroupId(StrBytes::from_string(group.group_id.clone())))
                        .with_producer_id(ProducerId(ids.id))
                        .with_producer_epoch(ids.epoch)
                        .with_generation_id(group.generation_id)
                        .with_member_id(StrBytes::from_string(group.member_id.clone()))
                        .with_group_instance_id(group.group_instance_id.clone().map(StrBytes::from_string))
                        .with_topics(
                            topics
                                .into_iter()
                                .map(|(t, ps)| {
                                    TxnOffsetCommitRequestTopic::default()
                                        .with_name(TopicName(StrBytes::from_string(t.to_string())))
                                        .with_partitions(ps)
                                })
                                .collect(),
                        )
                })
                .await?;
            // Per partition, after Java's TxnOffsetCommitHandler.
            let mut last_retriable = None;
            for t in &resp.topics {
                for p in &t.partitions {
                    let key = (t.name.0.to_string(), p.partition_index);
                    let c = p.error_code;
                    if c == 0 {
                        pending.remove(&key);
                        continue;
                    }
                    let err = broker_error(
                        c,
                        "TxnOffsetCommit",
                        node,
                        Some(format!("group {} {}-{}", group.group_id, key.0, key.1)),
                    );
                    match c {
                        // TV2: the broker enlists the group's offsets partition itself and may
                        // find the previous transaction's markers still being written.
                        code::CONCURRENT_TRANSACTIONS | code::COORDINATOR_LOAD_IN_PROGRESS => {
                            last_retriable = Some(err)
                        }
                        code::COORDINATOR_NOT_AVAILABLE | code::NOT_COORDINATOR | code::REQUEST_TIMED_OUT => {
                            self.forget_coordinator(g);
                            last_retriable = Some(err);
                        }
                        code::GROUP_AUTHORIZATION_FAILED
                        | code::FENCED_INSTANCE_ID
                        | code::TRANSACTION_ABORTABLE
                        | code::UNKNOWN_MEMBER_ID
                        | code::ILLEGAL_GENERATION => return Err(self.to_abortable(err)),
                        code::INVALID_PRODUCER_EPOCH | code::PRODUCER_FENCED => {
                            return Err(self.to_fatal(self.fenced()))
                        }
                        c if ResponseError::try_from_code(c).is_some_and(|e| e.is_retriable()) => {
                            last_retriable = Some(err)
                        }
                        _ => return Err(self.apply(Class::Fatal, err)),
                    }
                }
            }
            if !pending.is_empty() {
                let err = last_retriable.unwrap_or_else(|| Error::InvalidResponse {
                    api: "TxnOffsetCommit",
                    broker: node,
                    detail: format!("no answer for {} partition(s)", pending.len()),
                });
                self.pause("TxnOffsetCommit", &mut attempt, deadline, &err)
                    .await?;
            }
        }
        Ok(())
    }

    /// `commit_transaction`, first half: InTransaction → Committing (or resume a Committing
    /// whose EndTxn didn't finish). The caller flushes next.
    pub fn begin_commit(&self) -> Result<()> {
        self.check_not_fatal()?;
        match self.state() {
            TransactionState::InTransaction => {
                self.set_state_gated(TransactionState::Committing);
                Ok(())
            }
            TransactionState::Committing => Ok(()),
            TransactionState::AbortableError => Err(self
                .stored_error()
                .unwrap_or_else(|| self.invalid("commit_transaction"))),
            _ => Err(self.invalid("commit_transaction")),
        }
    }

    /// `abort_transaction`, first half: InTransaction / AbortableError → Aborting (or resume).
    /// The caller then fails queued batches and waits for in-flight ones.
    pub fn begin_abort(&self) -> Result<()> {
        self.check_not_fatal()?;
        match self.state() {
            TransactionState::InTransaction | TransactionState::AbortableError => {
                self.set_state_gated(TransactionState::Aborting);
                Ok(())
            }
            TransactionState::Aborting => Ok(()),
            _ => Err(self.invalid("abort_transaction")),
        }
    }

    /// Second half of commit / abort, once every record of the transaction has its result:
    /// EndTxn (skipped when nothing was sent or enlisted, as Java does), the epoch moved on
    /// (TV2 from the answer; TV1 with InitProducerId after a failed batch), then Ready.
    pub async fn end(&self, commit: bool) -> Result<()> {
        let op = if commit {
            "commit_transaction"
        } else {
            "abort_transaction"
        };
        let expected = if commit {
            TransactionState::Committing
        } else {
            TransactionState::Aborting
        };
        if self.state() != expected {
            // A batch failed during the flush (AbortableError) or the producer was fenced.
            return Err(self.stored_error().unwrap_or_else(|| self.invalid(op)));
        }
        let deadline = self.deadline();
        let ids = self.ids();
        let v2 = self.is_v2();
        let mut next = ids;
        if self.started.load(Ordering::Acquire) {
            let resp = self
                .txn_call(
                    (!v2).then_some(4),
                    deadline,
                    |_| {
                        EndTxnRequest::default()
                            .with_transactional_id(TransactionalId(StrBytes::from_string(self.id.clone())))
                            .with_producer_id(ProducerId(ids.id))
                            .with_producer_epoch(ids.epoch)
                            .with_committed(commit)
                    },
                    |r| r.error_code,
                )
                .await?;
            // EndTxn v5+ (TV2) answers with the epoch of the next transaction (a new producer
            // id at epoch 0 when the epoch would overflow); v4 and below answer -1.
            if resp.producer_id.0 >= 0 {
                next = ProducerIds {
                    id: resp.producer_id.0,
                    epoch: resp.producer_epoch,
                };
            }
        } else {
            tracing::debug!(transactional_id = %self.id, commit, "nothing sent in the transaction: no EndTxn");
        }
        let bump = !v2 && !commit && self.lock().epoch_bump_needed;
        if bump {
            // A batch of the aborted transaction failed with a sequence assigned: the broker's
            // sequence for it has a gap. KIP-360: a transactional producer bumps its epoch with
            // InitProducerId(its id, its epoch), which resets sequences without fencing itself.
            next = self.init_producer_id(Some(ids), deadline).await?;
        }
        {
            let mut inner = self.lock();
            if bump || v2 {
                // Sequences restart at 0 under the new epoch: no gap is left behind.
                inner.epoch_bump_needed = false;
            }
            inner.ids = Some(next);
            inner.partitions.clear();
        }
        if next != ids {
            let _ = self.commands.send(Command::SetIds(next));
        }
        self.started.store(false, Ordering::Release);
        self.set_state(TransactionState::Ready);
        tracing::debug!(transactional_id = %self.id, commit, producer_id = next.id, epoch = next.epoch, "transaction ended");
        Ok(())
    }

    /// The error for a batch that was still queued when its transaction was aborted.
    pub fn aborted(&self) -> Error {
        TransactionError::Aborted {
            transactional_id: self.id.clone(),
        }
        .into()
    }
}

fn broker_error(code: i16, api: &'static str, broker: i32, message: Option<String>) -> Error {
    BrokerError {
        error: ResponseError::try_from_code(code).unwrap_or(ResponseError::Unknown(code)),
        api,
        broker,
        message,
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinator_codes_are_classified_as_the_java_client_does() {
        assert_eq!(classify(code::NOT_COORDINATOR), Class::Rediscover);
        assert_eq!(classify(code::COORDINATOR_NOT_AVAILABLE), Class::Rediscover);
        assert_eq!(classify(code::CONCURRENT_TRANSACTIONS), Class::Retry);
        assert_eq!(classify(code::COORDINATOR_LOAD_IN_PROGRESS), Class::Retry);
        assert_eq!(classify(code::PRODUCER_FENCED), Class::Fenced);
        assert_eq!(classify(code::INVALID_PRODUCER_EPOCH), Class::Fenced);
        assert_eq!(
            classify(code::TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
            Class::Fatal
        );
        assert_eq!(classify(code::INVALID_TXN_STATE), Class::Fatal);
        assert_eq!(classify(code::TRANSACTION_ABORTABLE), Class::Abortable);
        assert_eq!(classify(code::UNKNOWN_PRODUCER_ID), Class::Abortable);
        assert_eq!(classify(32_000), Class::Fatal);
    }

    #[test]
    fn state_round_trips_through_its_byte() {
        for s in [
            TransactionState::Uninitialized,
            TransactionState::Initializing,
            TransactionState::Ready,
            TransactionState::InTransaction,
            TransactionState::Committing,
            TransactionState::Aborting,
            TransactionState::AbortableError,
            TransactionState::FatalError,
        ] {
            assert_eq!(TransactionState::from_u8(s as u8), s);
        }
    }

    #[test]
    fn error_classes() {
        let fenced = TransactionError::Fenced {
            transactional_id: "t".into(),
        };
        assert!(fenced.is_fatal() && !fenced.is_abortable());
        let abortable = TransactionError::Abortable {
            transactional_id: "t".into(),
            cause: Arc::new(Error::Closed),
        };
        assert!(abortable.is_abortable() && !abortable.is_fatal());
        let invalid = TransactionError::InvalidState {
            transactional_id: "t".into(),
            operation: "begin_transaction",
            state: TransactionState::Committing,
        };
        assert!(invalid.to_string().contains("call it again"), "{invalid}");
    }
}
