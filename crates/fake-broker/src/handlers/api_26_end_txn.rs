//! EndTxn (key 26), transaction protocol v1 semantics.
//!
//! As Kafka's `TransactionCoordinator.handleEndTransaction`: an unknown transactional id or
//! another producer id → INVALID_PRODUCER_ID_MAPPING; an epoch other than the current one →
//! PRODUCER_FENCED; an open transaction completes with the requested result (counted once); a
//! retry for a transaction already completed with the same result answers 0 again — the
//! idempotent answer a client whose first EndTxn response was lost relies on — and the other
//! result, or no transaction at all, INVALID_TXN_STATE. Markers complete at once (no
//! CONCURRENT_TRANSACTIONS window; a control can inject one). v5+ would bump the epoch (KIP-890
//! part 2); the fake finalizes no `transaction.version`, so clients speak v1 and it answers
//! producer id / epoch -1.

use kafka_protocol::messages::end_txn_request::EndTxnRequest;
use kafka_protocol::messages::end_txn_response::EndTxnResponse;

use super::code;
use crate::cluster::{lock, Shared};

pub(crate) fn handle(shared: &Shared, _version: i16, req: &EndTxnRequest) -> EndTxnResponse {
    let mut state = lock(&shared.state);
    let txn = req.transactional_id.0.to_string();
    let err = |c: i16| EndTxnResponse::default().with_error_code(c);
    match state.txn_producers.get(&txn).copied() {
        None => return err(code::INVALID_PRODUCER_ID_MAPPING),
        Some((id, _)) if id != req.producer_id.0 => return err(code::INVALID_PRODUCER_ID_MAPPING),
        Some((_, epoch)) if epoch != req.producer_epoch => return err(code::PRODUCER_FENCED),
        Some(_) => {}
    }
    let entry = state.txns.entry(txn).or_default();
    if entry.ongoing.take().is_some() {
        if req.committed {
            entry.commits += 1;
        } else {
            entry.aborts += 1;
        }
        entry.last_result = Some(req.committed);
        return EndTxnResponse::default();
    }
    match entry.last_result {
        Some(r) if r == req.committed => EndTxnResponse::default(),
        _ => err(code::INVALID_TXN_STATE),
    }
}
