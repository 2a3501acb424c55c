//! The Kafka APIs kaflow speaks, and how a request version is chosen.
//!
//! A request goes out at the highest version that both our codec (kafka-protocol) and the
//! broker (its ApiVersions answer) support. Kafka 4.0 removed every version older than the
//! Kafka 2.1 baseline (KIP-896), so a hard-coded old version would simply be refused.

use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::VersionRange;

/// The APIs the client uses today, in the order `kaflow version` lists them.
pub const CLIENT_APIS: &[ApiKey] = &[
    ApiKey::ApiVersions,
    ApiKey::Metadata,
    ApiKey::Produce,
    ApiKey::InitProducerId,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::FindCoordinator,
    ApiKey::JoinGroup,
    ApiKey::SyncGroup,
    ApiKey::Heartbeat,
    ApiKey::LeaveGroup,
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
    ApiKey::OffsetDelete,
    ApiKey::DeleteGroups,
    ApiKey::AddPartitionsToTxn,
    ApiKey::AddOffsetsToTxn,
    ApiKey::TxnOffsetCommit,
    ApiKey::EndTxn,
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
    ApiKey::DescribeConfigs,
    ApiKey::IncrementalAlterConfigs,
];

/// APIs planned but not spoken yet (none today; kept so `kaflow version` can say so).
pub const PLANNED_APIS: &[ApiKey] = &[];

/// Versions kaflow can speak for `key`: those our codec (kafka-protocol) encodes and decodes,
/// capped at the newest version of the Kafka specs our response bounds check was generated
/// from (protocol::bounds), so every response we decode has been checked first.
pub fn codec_versions(key: ApiKey) -> VersionRange {
    let mut codec = key.valid_versions();
    if let Some(m) = crate::protocol::message_versions(key) {
        codec = VersionRange {
            min: codec.min.max(m.min),
            max: codec.max.min(m.max),
        };
    }
    match crate::protocol::response_shape(key) {
        Some(shape) => VersionRange {
            min: codec.min,
            max: codec.max.min(shape.valid.1),
        },
        None => codec,
    }
}

/// The version to use given the broker's advertised `[min, max]` for the same API, or `None`
/// when the ranges don't overlap (the broker is too old or too new for this client).
pub fn negotiate(key: ApiKey, broker_min: i16, broker_max: i16) -> Option<i16> {
    let ours = codec_versions(key);
    let v = ours.max.min(broker_max);
    (v >= ours.min.max(broker_min)).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiate_picks_highest_common_version() {
        let ours = codec_versions(ApiKey::Produce);
        assert_eq!(negotiate(ApiKey::Produce, 3, 1000), Some(ours.max));
        assert_eq!(negotiate(ApiKey::Produce, 3, 9), Some(9.min(ours.max)));
    }

    #[test]
    fn codec_versions_never_exceed_the_message_types() {
        // kafka-protocol 0.18's ApiKey table lists OffsetFetch v10; its messages stop at v9.
        assert_eq!(codec_versions(ApiKey::OffsetFetch).max, 9);
        for key in CLIENT_APIS.iter().chain(PLANNED_APIS) {
            let v = codec_versions(*key);
            let m = crate::protocol::message_versions(*key).expect("a request kaflow speaks");
            assert!(
                v.min >= m.min && v.max <= m.max && v.min <= v.max,
                "{key:?}: {v:?} vs {m:?}"
            );
        }
    }

    #[test]
    fn negotiate_refuses_disjoint_ranges() {
        let ours = codec_versions(ApiKey::Fetch);
        assert_eq!(negotiate(ApiKey::Fetch, ours.max + 1, ours.max + 5), None);
        assert_eq!(negotiate(ApiKey::Fetch, -5, ours.min - 1), None);
    }
}
