//! Which response type answers which request.
//!
//! kafka-protocol ties requests to responses only with its `broker` feature on; the product is
//! built with `client` alone, so this small table does it for the APIs kaflow uses.
//!
//! [`bounds`] checks a response body against its [`shapes`] entry before kafka-protocol decodes
//! it (invariant I11).

pub mod bounds;
#[rustfmt::skip]
mod shapes;

/// The wire shape of the response to API `key`, generated from Kafka's message specs.
pub fn response_shape(key: ApiKey) -> Option<&'static bounds::Shape> {
    shapes::response(key as i16)
}

use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Message};

/// A request kaflow sends, and the response that answers it.
pub trait KafkaRequest: Encodable + HeaderVersion + Message + Send + 'static {
    /// The API key.
    const KEY: ApiKey;
    /// The API name, for errors and logs.
    const NAME: &'static str;
    /// The response type.
    type Response: Decodable + Message + Send + 'static;
}

macro_rules! requests {
    ($($key:ident: $req:ident => $resp:ident),* $(,)?) => {
        $(impl KafkaRequest for $req {
            const KEY: ApiKey = ApiKey::$key;
            const NAME: &'static str = stringify!($key);
            type Response = $resp;
        })*

        /// The versions both the request and the response codec of `key` support, for the
        /// APIs kaflow speaks. kafka-protocol's `ApiKey::valid_versions` can be wider than its
        /// message types (0.18: OffsetFetch lists v10, its messages stop at v9).
        pub fn message_versions(key: ApiKey) -> Option<kafka_protocol::protocol::VersionRange> {
            match key {
                $(ApiKey::$key => {
                    let (q, r) = (<$req as Message>::VERSIONS, <$resp as Message>::VERSIONS);
                    Some(kafka_protocol::protocol::VersionRange { min: q.min.max(r.min), max: q.max.min(r.max) })
                })*
                _ => None,
            }
        }
    };
}

requests! {
    Produce: ProduceRequest => ProduceResponse,
    Fetch: FetchRequest => FetchResponse,
    ListOffsets: ListOffsetsRequest => ListOffsetsResponse,
    Metadata: MetadataRequest => MetadataResponse,
    OffsetCommit: OffsetCommitRequest => OffsetCommitResponse,
    OffsetFetch: OffsetFetchRequest => OffsetFetchResponse,
    FindCoordinator: FindCoordinatorRequest => FindCoordinatorResponse,
    JoinGroup: JoinGroupRequest => JoinGroupResponse,
    Heartbeat: HeartbeatRequest => HeartbeatResponse,
    LeaveGroup: LeaveGroupRequest => LeaveGroupResponse,
    SyncGroup: SyncGroupRequest => SyncGroupResponse,
    ApiVersions: ApiVersionsRequest => ApiVersionsResponse,
    CreateTopics: CreateTopicsRequest => CreateTopicsResponse,
    DeleteTopics: DeleteTopicsRequest => DeleteTopicsResponse,
    InitProducerId: InitProducerIdRequest => InitProducerIdResponse,
    AddPartitionsToTxn: AddPartitionsToTxnRequest => AddPartitionsToTxnResponse,
    AddOffsetsToTxn: AddOffsetsToTxnRequest => AddOffsetsToTxnResponse,
    EndTxn: EndTxnRequest => EndTxnResponse,
    TxnOffsetCommit: TxnOffsetCommitRequest => TxnOffsetCommitResponse,
    DescribeConfigs: DescribeConfigsRequest => DescribeConfigsResponse,
    IncrementalAlterConfigs: IncrementalAlterConfigsRequest => IncrementalAlterConfigsResponse,
    DescribeCluster: DescribeClusterRequest => DescribeClusterResponse,
    CreatePartitions: CreatePartitionsRequest => CreatePartitionsResponse,
    DeleteRecords: DeleteRecordsRequest => DeleteRecordsResponse,
    DeleteGroups: DeleteGroupsRequest => DeleteGroupsResponse,
    OffsetDelete: OffsetDeleteRequest => OffsetDeleteResponse,
}
