//! The `consumer` protocol type's member metadata and assignment bytes, exactly as Kafka's
//! `ConsumerProtocol` writes them: an int16 version, then ConsumerProtocolSubscription or
//! ConsumerProtocolAssignment at that version (v0–v3; kafka-protocol's codecs).
//!
//! ```text
//!  JoinGroup protocol metadata = i16 version | topics | user_data | owned_partitions (v1+)
//!                                | generation_id (v2+) | rack_id (v3+)
//!  SyncGroup assignment        = i16 version | assigned_partitions | user_data
//! ```
//! A version newer than ours is read as our newest (Java's `ConsumerProtocol` does the same):
//! new versions only append fields, so the prefix we understand is still valid.

use super::TopicPartition;
use crate::protocol::bounds::{self, Field, Shape, Ty, V};
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTopic;
use kafka_protocol::messages::consumer_protocol_subscription::TopicPartition as OwnedTopic;
use kafka_protocol::messages::{ConsumerProtocolAssignment, ConsumerProtocolSubscription, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, Message, StrBytes};
use std::collections::BTreeMap;

/// The protocol type of consumer groups.
pub const PROTOCOL_TYPE: &str = "consumer";

/// A member's subscription, as carried in JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subscription {
    /// Subscribed topics.
    pub topics: Vec<String>,
    /// Assignor-specific bytes.
    pub user_data: Option<Bytes>,
    /// Partitions the member owns now (v1+; cooperative rebalancing relies on it).
    pub owned_partitions: Vec<TopicPartition>,
    /// The generation the owned partitions are from (v2+; -1 unknown).
    pub generation_id: i32,
    /// `client.rack` (v3+).
    pub rack_id: Option<String>,
}

/// An assignment, as carried in SyncGroup.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assignment {
    /// Assigned partitions.
    pub partitions: Vec<TopicPartition>,
    /// Assignor-specific bytes.
    pub user_data: Option<Bytes>,
}

/// Why protocol bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid consumer protocol {what}: {detail}")]
pub struct DecodeError {
    /// `subscription` or `assignment`.
    pub what: &'static str,
    /// Why.
    pub detail: String,
}

// The wire shapes of the two structures (Kafka's ConsumerProtocolSubscription.json and
// ConsumerProtocolAssignment.json; neither has flexible versions). Member metadata comes from
// other clients through the coordinator: its counts are checked against the bytes left before
// kafka-protocol decodes it, which would otherwise pre-allocate whatever a count claims (I11).
const NONE: V = V(1, 0);
const fn field(name: &'static str, ty: Ty, versions: V, nullable: V) -> Field {
    Field {
        name,
        ty,
        versions,
        nullable,
        tagged: NONE,
        tag: 0,
        flexible: NONE,
    }
}
const TOPIC_PARTITION: &[Field] = &[
    field("Topic", Ty::String, V(0, 32767), NONE),
    field("Partitions", Ty::Array(&Ty::Int32), V(0, 32767), NONE),
];
const SUBSCRIPTION: Shape = Shape {
    name: "ConsumerProtocolSubscription",
    valid: V(0, 3),
    flexible: NONE,
    fields: &[
        field("Topics", Ty::Array(&Ty::String), V(0, 32767), NONE),
        field("UserData", Ty::Bytes, V(0, 32767), V(0, 32767)),
        field(
            "OwnedPartitions",
            Ty::Array(&Ty::Struct(TOPIC_PARTITION)),
            V(1, 32767),
            NONE,
        ),
        field("GenerationId", Ty::Int32, V(2, 32767), NONE),
        field("RackId", Ty::String, V(3, 32767), V(3, 32767)),
    ],
};
const ASSIGNMENT: Shape = Shape {
    name: "ConsumerProtocolAssignment",
    valid: V(0, 3),
    flexible: NONE,
    fields: &[
        field(
            "AssignedPartitions",
            Ty::Array(&Ty::Struct(TOPIC_PARTITION)),
            V(0, 32767),
            NONE,
        ),
        field("UserData", Ty::Bytes, V(0, 32767), V(0, 32767)),
    ],
};

fn group_by_topic(parts: &[TopicPartition]) -> BTreeMap<&str, Vec<i32>> {
    let mut by: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in parts {
        by.entry(tp.topic.as_str()).or_default().push(tp.partition);
    }
    by
}

fn version_prefixed<M: Encodable>(msg: &M, version: i16) -> Bytes {
    // Encoding our own well-formed structs cannot fail for a supported version; should it,
    // the empty body is refused by every reader rather than silently misread.
    let size = msg.compute_size(version).unwrap_or(0);
    let mut buf = BytesMut::with_capacity(2 + size);
    buf.put_i16(version);
    if msg.encode(&mut buf, version).is_err() {
        buf.truncate(2);
    }
    buf.freeze()
}

fn read_version(what: &'static str, bytes: &mut Bytes, max: i16) -> Result<i16, DecodeError> {
    if bytes.len() < 2 {
        return Err(DecodeError {
            what,
            detail: format!("{} bytes, too short for the version", bytes.len()),
        });
    }
    let v = i16::from_be_bytes([bytes[0], bytes[1]]);
    let _ = bytes.split_to(2);
    if v < 0 {
        return Err(DecodeError {
            what,
            detail: format!("negative version {v}"),
        });
    }
    Ok(v.min(max))
}

impl Subscription {
    /// The bytes Java's ConsumerProtocol writes for this subscription at our newest version.
    pub fn encode(&self) -> Bytes {
        let owned = group_by_topic(&self.owned_partitions)
            .into_iter()
            .map(|(t, ps)| {
                OwnedTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(t.to_string())))
                    .with_partitions(ps)
            })
            .collect();
        let msg = ConsumerProtocolSubscription::default()
            .with_topics(
                self.topics
                    .iter()
                    .map(|t| StrBytes::from_string(t.clone()))
                    .collect(),
            )
            .with_user_data(self.user_data.clone())
            .with_owned_partitions(owned)
            .with_generation_id(self.generation_id)
            .with_rack_id(self.rack_id.as_ref().map(|r| StrBytes::from_string(r.clone())));
        version_prefixed(&msg, ConsumerProtocolSubscription::VERSIONS.max)
    }

    /// Reads a member's JoinGroup metadata.
    pub fn decode(bytes: &Bytes) -> Result<Self, DecodeError> {
        let what = "subscription";
        let mut b = bytes.clone();
        let v = read_version(what, &mut b, ConsumerProtocolSubscription::VERSIONS.max)?;
        bounds::check(&SUBSCRIPTION, v, &b).map_err(|e| DecodeError {
            what,
            detail: format!("v{v}: {e}"),
        })?;
        let m = ConsumerProtocolSubscription::decode(&mut b, v).map_err(|e| DecodeError {
            what,
            detail: format!("v{v}: {e}"),
        })?;
        Ok(Self {
            topics: m.topics.iter().map(|t| t.to_string()).collect(),
            user_data: m.user_data,
            owned_partitions: m
                .owned_partitions
                .iter()
                .flat_map(|t| {
                    t.partitions
                        .iter()
                        .map(move |&p| TopicPartition::new(t.topic.0.to_string(), p))
                })
                .collect(),
            generation_id: if v >= 2 { m.generation_id } else { -1 },
            rack_id: m.rack_id.map(|r| r.to_string()),
        })
    }
}

impl Assignment {
    /// The bytes Java's ConsumerProtocol writes for this assignment at our newest version.
    pub fn encode(&self) -> Bytes {
        let parts = group_by_topic(&self.partitions)
            .into_iter()
            .map(|(t, ps)| {
                AssignedTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(t.to_string())))
                    .with_partitions(ps)
            })
            .collect();
        let msg = ConsumerProtocolAssignment::default()
            .with_assigned_partitions(parts)
            .with_user_data(self.user_data.clone());
        version_prefixed(&msg, ConsumerProtocolAssignment::VERSIONS.max)
    }

    /// Reads a SyncGroup assignment. Empty bytes are an empty assignment: the coordinator
    /// sends them to a member the leader assigned nothing (Java treats them the same way).
    pub fn decode(bytes: &Bytes) -> Result<Self, DecodeError> {
        if bytes.is_empty() {
            return Ok(Self::default());
        }
        let what = "assignment";
        let mut b = bytes.clone();
        let v = read_version(what, &mut b, ConsumerProtocolAssignment::VERSIONS.max)?;
        bounds::check(&ASSIGNMENT, v, &b).map_err(|e| DecodeError {
            what,
            detail: format!("v{v}: {e}"),
        })?;
        let m = ConsumerProtocolAssignment::decode(&mut b, v).map_err(|e| DecodeError {
            what,
            detail: format!("v{v}: {e}"),
        })?;
        Ok(Self {
            partitions: m
                .assigned_partitions
                .iter()
                .flat_map(|t| {
                    t.partitions
                        .iter()
                        .map(move |&p| TopicPartition::new(t.topic.0.to_string(), p))
                })
                .collect(),
            user_data: m.user_data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_round_trips_at_v3() {
        let s = Subscription {
            topics: vec!["a".into(), "b".into()],
            user_data: Some(Bytes::from_static(&[0, 0, 0, 7])),
            owned_partitions: vec![TopicPartition::new("a", 0), TopicPartition::new("a", 2)],
            generation_id: 7,
            rack_id: Some("r1".into()),
        };
        let bytes = s.encode();
        assert_eq!(&bytes[..2], &[0, 3], "version prefix");
        assert_eq!(Subscription::decode(&bytes).unwrap(), s);
    }

    /// The bytes of a v0 subscription as Java's ConsumerProtocol wrote them before KIP-429:
    /// version 0, topics ["t"], null user data.
    #[test]
    fn v0_subscription_from_an_old_client_is_read() {
        let bytes = Bytes::from_static(&[0, 0, 0, 0, 0, 1, 0, 1, b't', 0xff, 0xff, 0xff, 0xff]);
        let s = Subscription::decode(&bytes).unwrap();
        assert_eq!(s.topics, vec!["t"]);
        assert_eq!(s.user_data, None);
        assert!(s.owned_partitions.is_empty());
        assert_eq!(s.generation_id, -1);
    }

    #[test]
    fn newer_versions_are_read_as_ours() {
        let mut raw = Subscription {
            topics: vec!["t".into()],
            ..Default::default()
        }
        .encode()
        .to_vec();
        raw[1] = 9; // a future version that appended fields we don't know
        raw.extend_from_slice(&[1, 2, 3]);
        let s = Subscription::decode(&Bytes::from(raw)).unwrap();
        assert_eq!(s.topics, vec!["t"]);
    }

    #[test]
    fn assignment_round_trips_and_empty_is_empty() {
        let a = Assignment {
            partitions: vec![
                TopicPartition::new("x", 1),
                TopicPartition::new("x", 3),
                TopicPartition::new("y", 0),
            ],
            user_data: None,
        };
        assert_eq!(Assignment::decode(&a.encode()).unwrap(), a);
        assert_eq!(Assignment::decode(&Bytes::new()).unwrap(), Assignment::default());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for raw in [
            &[0u8][..],
            &[0xff, 0xff],
            &[0, 1, 0, 0, 0, 9],
            &[0, 3, 0x7f, 0xff, 0xff, 0xff],
        ] {
            assert!(
                Subscription::decode(&Bytes::copy_from_slice(raw)).is_err(),
                "{raw:?}"
            );
            assert!(
                Assignment::decode(&Bytes::copy_from_slice(raw)).is_err(),
                "{raw:?}"
            );
        }
    }
}
