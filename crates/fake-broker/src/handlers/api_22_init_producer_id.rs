//! InitProducerId (key 22).
//!
//! Without a transactional id (the idempotent producer) Kafka's TransactionCoordinator
//! "always blindly accept[s] the request and return[s] a new producerId", epoch 0, even when the
//! request carries an existing producer id and epoch (v3+): an idempotent producer's KIP-360
//! epoch bump is done by the client itself, locally, and it only asks for a new id when its
//! epoch is exhausted. This handler does the same. (Verified in apache/kafka 1eb7644
//! `TransactionCoordinator.handleInitProducerId`.)
//!
//! With a transactional id: empty → INVALID_REQUEST; timeout above 15 minutes (the default
//! `transaction.max.timeout.ms`) → INVALID_TRANSACTION_TIMEOUT; first use → new producer id,
//! epoch 0; later uses → same id, epoch + 1 (a new id at epoch 0 when the epoch would reach
//! `i16::MAX`), but when the request names a producer id and epoch (v3+, KIP-360) that are not
//! the current ones → PRODUCER_FENCED. An open transaction of the id is aborted at once (Kafka
//! aborts it and answers CONCURRENT_TRANSACTIONS until the markers are written; the fake has no
//! markers to wait for).

use kafka_protocol::messages::init_producer_id_request::InitProducerIdRequest;
use kafka_protocol::messages::init_producer_id_response::InitProducerIdResponse;
use kafka_protocol::messages::ProducerId;

use super::code;
use crate::cluster::{lock, Shared};

const TRANSACTION_MAX_TIMEOUT_MS: i32 = 900_000;

pub(crate) fn handle(shared: &Shared, version: i16, req: &InitProducerIdRequest) -> InitProducerIdResponse {
    let err = |c: i16| {
        InitProducerIdResponse::default()
            .with_error_code(c)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    let mut state = lock(&shared.state);
    let fresh = |state: &mut crate::cluster::State| {
        let id = state.next_producer_id;
        state.next_producer_id += 1;
        id
    };
    let (id, epoch) = match &req.transactional_id {
        None => (fresh(&mut state), 0),
        Some(txn) if txn.0.is_empty() => return err(code::INVALID_REQUEST),
        Some(_)
            if req.transaction_timeout_ms > TRANSACTION_MAX_TIMEOUT_MS || req.transaction_timeout_ms <= 0 =>
        {
            return err(code::INVALID_TRANSACTION_TIMEOUT)
        }
        Some(txn) => {
            let txn = txn.0.to_string();
            let expected =
                (version >= 3 && req.producer_id.0 >= 0).then_some((req.producer_id.0, req.producer_epoch));
            let next = match state.txn_producers.get(&txn).copied() {
                None => (fresh(&mut state), 0),
                Some(current) => {
                    if expected.is_some_and(|e| e != current) {
                        return err(code::PRODUCER_FENCED);
                    }
                    if current.1 >= i16::MAX - 1 {
                        (fresh(&mut state), 0)
                    } else {
                        (current.0, current.1 + 1)
                    }
                }
            };
            let entry = state.txns.entry(txn.clone()).or_default();
            if entry.ongoing.take().is_some() {
                entry.aborts += 1;
                entry.last_result = Some(false);
            }
            state.txn_producers.insert(txn, next);
            next
        }
    };
    InitProducerIdResponse::default()
        .with_producer_id(ProducerId(id))
        .with_producer_epoch(epoch)
}
