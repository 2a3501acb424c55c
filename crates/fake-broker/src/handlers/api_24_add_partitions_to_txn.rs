//! AddPartitionsToTxn (key 24), the client form (v0-3).
//!
//! As Kafka's `TransactionCoordinator.handleAddPartitionsToTransaction`: an unknown
//! transactional id or another producer id → INVALID_PRODUCER_ID_MAPPING; an epoch other than
//! the current one → PRODUCER_FENCED; an unknown topic or partition fails the request, its
//! other partitions answered OPERATION_NOT_ATTEMPTED. Otherwise the partitions join the open
//! transaction (opening one if none is open) and every partition is answered 0.

use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnRequest;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResponse, AddPartitionsToTxnTopicResult,
};

use super::code;
use crate::cluster::{lock, Shared};

const OPERATION_NOT_ATTEMPTED: i16 = 55;

pub(crate) fn handle(shared: &Shared, req: &AddPartitionsToTxnRequest) -> AddPartitionsToTxnResponse {
    let mut state = lock(&shared.state);
    let txn = req.v3_and_below_transactional_id.0.to_string();
    let wanted: Vec<(String, i32)> = req
        .v3_and_below_topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(move |p| (t.name.0.to_string(), *p)))
        .collect();
    let unknown = |state: &crate::cluster::State, (t, p): &(String, i32)| {
        state.topics.get(t).is_none_or(|topic| {
            usize::try_from(*p)
                .ok()
                .and_then(|i| topic.partitions.get(i))
                .is_none()
        })
    };
    let all_code = match state.txn_producers.get(&txn).copied() {
        None => Some(code::INVALID_PRODUCER_ID_MAPPING),
        Some((id, _)) if id != req.v3_and_below_producer_id.0 => Some(code::INVALID_PRODUCER_ID_MAPPING),
        Some((_, epoch)) if epoch != req.v3_and_below_producer_epoch => Some(code::PRODUCER_FENCED),
        Some(_) => None,
    };
    let any_unknown = wanted.iter().any(|tp| unknown(&state, tp));
    let codes: Vec<i16> = wanted
        .iter()
        .map(|tp| match all_code {
            Some(c) => c,
            None if unknown(&state, tp) => code::UNKNOWN_TOPIC_OR_PARTITION,
            None if any_unknown => OPERATION_NOT_ATTEMPTED,
            None => 0,
        })
        .collect();
    if all_code.is_none() && !any_unknown {
        let entry = state.txns.entry(txn).or_default();
        entry
            .ongoing
            .get_or_insert_with(Default::default)
            .extend(wanted.iter().cloned());
    }
    let mut results: Vec<AddPartitionsToTxnTopicResult> = Vec::new();
    for ((t, p), c) in wanted.into_iter().zip(codes) {
        let r = AddPartitionsToTxnPartitionResult::default()
            .with_partition_index(p)
            .with_partition_error_code(c);
        match results.iter_mut().find(|x| x.name.0.as_str() == t) {
            Some(x) => x.results_by_partition.push(r),
            None => results.push(
                AddPartitionsToTxnTopicResult::default()
                    .with_name(kafka_protocol::messages::TopicName(t.into()))
                    .with_results_by_partition(vec![r]),
            ),
        }
    }
    AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(results)
}
