//! Fetch sessions (KIP-227): after one full Fetch, a broker remembers the partitions a
//! consumer fetches, and later requests list only what changed.
//!
//! ```text
//!  no session ──full fetch (session 0, epoch 0)──▶ broker answers session S
//!  session S, epoch n ──incremental: changed partitions + forgotten ones──▶ epoch n+1
//!  FETCH_SESSION_ID_NOT_FOUND / INVALID_FETCH_SESSION_EPOCH / a lost answer ──▶ no session
//! ```
//!
//! A partition's fetch state is (topic id, fetch offset, leader epoch, max bytes): when it
//! differs from what the session holds, the partition is sent; when a partition is no longer
//! wanted (revoked, paused), it is sent as forgotten. Partitions with nothing new are simply
//! absent from an incremental answer.

use crate::group::TopicPartition;
use std::collections::BTreeMap;

/// What one partition is fetched with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionFetch {
    pub topic_id: uuid::Uuid,
    pub fetch_offset: i64,
    pub leader_epoch: i32,
    pub max_bytes: i32,
}

/// One request's plan.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub session_id: i32,
    pub epoch: i32,
    pub full: bool,
    /// Partitions to list in the request.
    pub send: Vec<(TopicPartition, PartitionFetch)>,
    /// Partitions to list as forgotten (incremental only).
    pub forget: Vec<(TopicPartition, uuid::Uuid)>,
    /// What the session holds if the broker accepts this request.
    next: BTreeMap<TopicPartition, PartitionFetch>,
}

/// The client side of one broker's fetch session.
#[derive(Debug, Default)]
pub(crate) struct FetchSession {
    id: i32,
    epoch: i32,
    held: BTreeMap<TopicPartition, PartitionFetch>,
}

/// KIP-227 error codes that end a session.
pub(crate) const FETCH_SESSION_ID_NOT_FOUND: i16 = 70;
pub(crate) const INVALID_FETCH_SESSION_EPOCH: i16 = 71;
pub(crate) const FETCH_SESSION_TOPIC_ID_ERROR: i16 = 106;

impl FetchSession {
    /// The session id in use (0: none).
    pub fn id(&self) -> i32 {
        self.id
    }

    /// Plans the next request for `wanted`.
    pub fn plan(&self, wanted: BTreeMap<TopicPartition, PartitionFetch>) -> Plan {
        if self.id == 0 {
            return Plan {
                session_id: 0,
                epoch: 0,
                full: true,
                send: wanted.iter().map(|(tp, f)| (tp.clone(), f.clone())).collect(),
                forget: Vec::new(),
                next: wanted,
            };
        }
        let send = wanted
            .iter()
            .filter(|(tp, f)| self.held.get(*tp) != Some(*f))
            .map(|(tp, f)| (tp.clone(), f.clone()))
            .collect();
        let forget = self
            .held
            .iter()
            .filter(|(tp, _)| !wanted.contains_key(*tp))
            .map(|(tp, f)| (tp.clone(), f.topic_id))
            .collect();
        Plan {
            session_id: self.id,
            epoch: self.epoch,
            full: false,
            send,
            forget,
            next: wanted,
        }
    }

    /// Applies the answer to `plan`: the top-level error code and the session id answered.
    pub fn on_response(&mut self, plan: Plan, error: i16, session_id: i32) {
        match error {
            0 => {
                if plan.full {
                    // Session id 0 means the broker didn't create one (too many sessions, or
                    // nothing to fetch); the next request is full again.
                    self.id = session_id;
                    self.epoch = 1;
                } else {
                    self.epoch = if self.epoch == i32::MAX { 1 } else { self.epoch + 1 };
                }
                self.held = if self.id == 0 { BTreeMap::new() } else { plan.next };
            }
            FETCH_SESSION_ID_NOT_FOUND | INVALID_FETCH_SESSION_EPOCH | FETCH_SESSION_TOPIC_ID_ERROR => {
                tracing::debug!(session = self.id, error, "fetch session reset");
                self.reset();
            }
            _ => {}
        }
    }

    /// Forgets the session (after a lost answer or a connection failure): the broker's copy
    /// may or may not have advanced, so the next request is full.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(parts: &[(i32, i64)]) -> BTreeMap<TopicPartition, PartitionFetch> {
        parts
            .iter()
            .map(|&(p, off)| {
                (
                    TopicPartition::new("t", p),
                    PartitionFetch {
                        topic_id: uuid::Uuid::nil(),
                        fetch_offset: off,
                        leader_epoch: 0,
                        max_bytes: 1,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn full_then_incremental_with_changes_and_forgotten() {
        let mut s = FetchSession::default();
        let p = s.plan(want(&[(0, 0), (1, 0)]));
        assert!(p.full && p.session_id == 0 && p.epoch == 0 && p.send.len() == 2);
        s.on_response(p, 0, 77);
        assert_eq!((s.id, s.epoch), (77, 1));
        // Partition 0 moved on, 1 didn't, 2 is new.
        let p = s.plan(want(&[(0, 10), (1, 0), (2, 0)]));
        assert!(!p.full);
        assert_eq!((p.session_id, p.epoch), (77, 1));
        let sent: Vec<i32> = p.send.iter().map(|(tp, _)| tp.partition).collect();
        assert_eq!(sent, [0, 2]);
        s.on_response(p, 0, 77);
        let p = s.plan(want(&[(0, 10), (2, 0)]));
        assert!(p.send.is_empty());
        assert_eq!(
            p.forget.iter().map(|(tp, _)| tp.partition).collect::<Vec<_>>(),
            [1]
        );
        assert_eq!(p.epoch, 2);
    }

    #[test]
    fn session_errors_and_declined_sessions_go_back_to_full() {
        let mut s = FetchSession::default();
        let p = s.plan(want(&[(0, 0)]));
        s.on_response(p, 0, 0);
        assert!(s.plan(want(&[(0, 5)])).full, "the broker declined a session");
        let p = s.plan(want(&[(0, 0)]));
        s.on_response(p, 0, 9);
        let p = s.plan(want(&[(0, 1)]));
        s.on_response(p, INVALID_FETCH_SESSION_EPOCH, 0);
        let p = s.plan(want(&[(0, 1)]));
        assert!(p.full && p.session_id == 0 && p.send.len() == 1);
    }

    #[test]
    fn epoch_wraps_to_one() {
        let mut s = FetchSession {
            id: 5,
            epoch: i32::MAX,
            held: BTreeMap::new(),
        };
        let p = s.plan(want(&[]));
        s.on_response(p, 0, 5);
        assert_eq!(s.epoch, 1);
    }
}
