//! One handler per API, named by key (franz-go kfake style). Each takes the decoded request and
//! returns the response for the request's version; none of them can fail (a bad request gets
//! Kafka's error code, a malformed one never reaches a handler).

use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use crate::cluster::{Partition, Shared, State};
use crate::control::ControlRequest;

pub(crate) mod api_00_produce;
pub(crate) mod api_01_fetch;
pub(crate) mod api_02_list_offsets;
pub(crate) mod api_03_metadata;
pub(crate) mod api_10_find_coordinator;
pub(crate) mod api_18_api_versions;
pub(crate) mod api_19_create_topics;
pub(crate) mod api_22_init_producer_id;
pub(crate) mod api_24_add_partitions_to_txn;
pub(crate) mod api_26_end_txn;

/// Kafka error codes used by the handlers.
pub(crate) mod code {
    pub(crate) const OFFSET_OUT_OF_RANGE: i16 = 1;
    pub(crate) const CORRUPT_MESSAGE: i16 = 2;
    pub(crate) const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    pub(crate) const NOT_LEADER_OR_FOLLOWER: i16 = 6;
    pub(crate) const MESSAGE_TOO_LARGE: i16 = 10;
    pub(crate) const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    pub(crate) const INVALID_TOPIC_EXCEPTION: i16 = 17;
    pub(crate) const INVALID_REQUIRED_ACKS: i16 = 21;
    pub(crate) const UNSUPPORTED_VERSION: i16 = 35;
    pub(crate) const TOPIC_ALREADY_EXISTS: i16 = 36;
    pub(crate) const INVALID_PARTITIONS: i16 = 37;
    pub(crate) const INVALID_REPLICATION_FACTOR: i16 = 38;
    pub(crate) const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
    pub(crate) const INVALID_REQUEST: i16 = 42;
    pub(crate) const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
    pub(crate) const INVALID_PRODUCER_EPOCH: i16 = 47;
    pub(crate) const INVALID_TXN_STATE: i16 = 48;
    pub(crate) const INVALID_PRODUCER_ID_MAPPING: i16 = 49;
    pub(crate) const INVALID_TRANSACTION_TIMEOUT: i16 = 50;
    pub(crate) const FETCH_SESSION_ID_NOT_FOUND: i16 = 70;
    pub(crate) const FENCED_LEADER_EPOCH: i16 = 74;
    pub(crate) const UNKNOWN_LEADER_EPOCH: i16 = 75;
    pub(crate) const UNSUPPORTED_COMPRESSION_TYPE: i16 = 76;
    pub(crate) const INVALID_RECORD: i16 = 87;
    pub(crate) const PRODUCER_FENCED: i16 = 90;
    pub(crate) const UNKNOWN_TOPIC_ID: i16 = 100;
}

/// The APIs this fake broker implements, in ApiVersions order.
pub(crate) const IMPLEMENTED: [ApiKey; 10] = [
    ApiKey::Produce,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::Metadata,
    ApiKey::FindCoordinator,
    ApiKey::ApiVersions,
    ApiKey::CreateTopics,
    ApiKey::InitProducerId,
    ApiKey::AddPartitionsToTxn,
    ApiKey::EndTxn,
];

/// The version range we accept for an API: what kafka-protocol can both decode (request) and
/// encode (response). Its floors already follow Kafka 4's KIP-896 removals (Produce 3, Fetch 4,
/// ...). This is narrower than `ApiKey::valid_versions` where kafka-protocol 0.18 lags: its
/// InitProducerId request stops at v5 while the key claims v6.
fn range(key: ApiKey) -> Option<(i16, i16)> {
    use kafka_protocol::messages as m;
    use kafka_protocol::protocol::Message;
    fn both<Req: Message, Resp: Message>() -> (i16, i16) {
        (
            Req::VERSIONS.min.max(Resp::VERSIONS.min),
            Req::VERSIONS.max.min(Resp::VERSIONS.max),
        )
    }
    Some(match key {
        ApiKey::Produce => both::<m::ProduceRequest, m::ProduceResponse>(),
        ApiKey::Fetch => both::<m::FetchRequest, m::FetchResponse>(),
        ApiKey::ListOffsets => both::<m::ListOffsetsRequest, m::ListOffsetsResponse>(),
        ApiKey::Metadata => both::<m::MetadataRequest, m::MetadataResponse>(),
        ApiKey::FindCoordinator => both::<m::FindCoordinatorRequest, m::FindCoordinatorResponse>(),
        ApiKey::ApiVersions => both::<m::ApiVersionsRequest, m::ApiVersionsResponse>(),
        ApiKey::CreateTopics => both::<m::CreateTopicsRequest, m::CreateTopicsResponse>(),
        ApiKey::InitProducerId => both::<m::InitProducerIdRequest, m::InitProducerIdResponse>(),
        // v4+ is the broker-to-broker batched form (KIP-890 part 1); clients use v0-3.
        ApiKey::AddPartitionsToTxn => {
            let (min, max) = both::<m::AddPartitionsToTxnRequest, m::AddPartitionsToTxnResponse>();
            (min, max.min(3))
        }
        ApiKey::EndTxn => both::<m::EndTxnRequest, m::EndTxnResponse>(),
        _ => return None,
    })
}

/// Lowest version we accept (Produce: 3, as Kafka 4).
pub(crate) fn min_version(key: ApiKey) -> i16 {
    let min = range(key).map(|r| r.0).unwrap_or(0);
    if key == ApiKey::Produce {
        min.max(3)
    } else {
        min
    }
}

/// Highest version we accept, `None` for an API we do not implement.
pub(crate) fn max_version(key: ApiKey) -> Option<i16> {
    range(key).map(|r| r.1)
}

/// Handles one request normally.
pub(crate) async fn handle(shared: &Shared, req: &ControlRequest) -> ResponseKind {
    let v = req.version();
    let node = req.node;
    match &req.request {
        RequestKind::Produce(r) => ResponseKind::Produce(api_00_produce::handle(shared, node, v, r)),
        RequestKind::Fetch(r) => ResponseKind::Fetch(api_01_fetch::handle(shared, node, v, r).await),
        RequestKind::ListOffsets(r) => {
            ResponseKind::ListOffsets(api_02_list_offsets::handle(shared, node, v, r))
        }
        RequestKind::Metadata(r) => ResponseKind::Metadata(api_03_metadata::handle(shared, v, r)),
        RequestKind::FindCoordinator(r) => {
            ResponseKind::FindCoordinator(api_10_find_coordinator::handle(shared, v, r))
        }
        RequestKind::ApiVersions(r) => ResponseKind::ApiVersions(api_18_api_versions::handle(v, r)),
        RequestKind::CreateTopics(r) => {
            ResponseKind::CreateTopics(api_19_create_topics::handle(shared, v, r))
        }
        RequestKind::InitProducerId(r) => {
            ResponseKind::InitProducerId(api_22_init_producer_id::handle(shared, v, r))
        }
        RequestKind::AddPartitionsToTxn(r) => {
            ResponseKind::AddPartitionsToTxn(api_24_add_partitions_to_txn::handle(shared, r))
        }
        RequestKind::EndTxn(r) => ResponseKind::EndTxn(api_26_end_txn::handle(shared, v, r)),
        // conn.rs closes the connection before dispatching an API we do not implement.
        other => unreachable!("dispatch of unimplemented api {other:?}"),
    }
}

/// Host and port of a node, for responses that carry endpoints.
pub(crate) fn endpoint(shared: &Shared, node: i32) -> (StrBytes, i32) {
    match shared.node(node) {
        Some(n) => (
            StrBytes::from_string(n.addr.ip().to_string()),
            i32::from(n.addr.port()),
        ),
        None => (StrBytes::default(), -1),
    }
}

/// Looks up a partition for a data-plane request on `node`. `Err` carries the partition error:
/// unknown or hidden topic / partition, or this node is not the leader.
pub(crate) fn leader_partition<'a>(
    state: &'a mut State,
    node: i32,
    topic: &str,
    partition: i32,
) -> Result<&'a mut Partition, i16> {
    let t = match state.topics.get_mut(topic) {
        Some(t) if !t.hidden => t,
        _ => return Err(code::UNKNOWN_TOPIC_OR_PARTITION),
    };
    let p = usize::try_from(partition)
        .ok()
        .and_then(|i| t.partitions.get_mut(i))
        .ok_or(code::UNKNOWN_TOPIC_OR_PARTITION)?;
    if p.leader != node {
        return Err(code::NOT_LEADER_OR_FOLLOWER);
    }
    Ok(p)
}

/// Kafka's check of a request's `current_leader_epoch` (-1 means "don't check").
pub(crate) fn check_leader_epoch(p: &Partition, requested: i32) -> Result<(), i16> {
    if requested < 0 || requested == p.leader_epoch {
        Ok(())
    } else if requested < p.leader_epoch {
        Err(code::FENCED_LEADER_EPOCH)
    } else {
        Err(code::UNKNOWN_LEADER_EPOCH)
    }
}
