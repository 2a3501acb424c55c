//! Transactions: `transactional.id`, AddPartitionsToTxn, AddOffsetsToTxn + TxnOffsetCommit, EndTxn.
//!
//! Work in progress (issue 4).

/// Errors of the transactional producer.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TransactionError {
    /// A newer producer with the same `transactional.id` fenced this one (fatal).
    #[error("producer fenced for transactional.id {transactional_id}")]
    Fenced {
        /// The transactional id.
        transactional_id: String,
    },
}
