//! The fake broker tested against itself with a raw TCP client. Every fault test asserts that
//! its fault fired (control hit counters, connection counters, the log).

mod support;

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, CreateTopicsRequest, FetchRequest,
    InitProducerIdRequest, ListOffsetsRequest, MetadataRequest, MetadataResponse, ProduceRequest, ProducerId,
    RequestKind, ResponseHeader, TransactionalId,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use kafka_protocol::records::RecordBatchDecoder;
use kaflow_fake_broker::{Action, FakeCluster};
use support::{batch, produce, topic_name, Conn};

const OOOSN: i16 = 45;

async fn produce_one(
    conn: &mut Conn,
    version: i16,
    topic: &str,
    partition: i32,
    b: Bytes,
) -> PartitionProduceResponse {
    let resp = conn.call(version, &produce(topic, partition, b, -1)).await;
    resp.responses[0].partition_responses[0].clone()
}

async fn metadata(conn: &mut Conn, version: i16, topics: Option<&[&str]>) -> MetadataResponse {
    let req = MetadataRequest::default().with_topics(topics.map(|ts| {
        ts.iter()
            .map(|t| MetadataRequestTopic::default().with_name(Some(topic_name(t))))
            .collect()
    }));
    conn.call(version, &req).await
}

fn fetch_req(topic: &str, partition: i32, offset: i64) -> FetchRequest {
    FetchRequest::default()
        .with_max_wait_ms(0)
        .with_max_bytes(1 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(topic_name(topic))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1 << 20)])])
}

#[tokio::test]
async fn api_versions_round_trip_and_kip511() {
    let c = FakeCluster::start(1).await;
    let mut conn = Conn::connect(&c.bootstrap()).await;
    for v in 0..=4 {
        let mut req = ApiVersionsRequest::default();
        if v >= 3 {
            req = req
                .with_client_software_name(StrBytes::from_static_str("kaflow"))
                .with_client_software_version(StrBytes::from_static_str("0.1.0"));
        }
        let resp = conn.call(v, &req).await;
        assert_eq!(resp.error_code, 0, "v{v}");
        let produce = resp
            .api_keys
            .iter()
            .find(|k| k.api_key == ApiKey::Produce as i16)
            .expect("produce");
        assert_eq!(produce.min_version, 3);
        assert_eq!(produce.max_version, ApiKey::Produce.valid_versions().max);
        assert_eq!(resp.api_keys.len(), 10, "only implemented APIs are advertised");
        let ipi = resp
            .api_keys
            .iter()
            .find(|k| k.api_key == ApiKey::InitProducerId as i16)
            .unwrap();
        assert_eq!((ipi.min_version, ipi.max_version), (0, 5));
    }
    // v3+ validates the client software name.
    let bad = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("-bad name"))
        .with_client_software_version(StrBytes::from_static_str("1"));
    assert_eq!(conn.call(3, &bad).await.error_code, 42);

    // KIP-511: a version above ours gets UNSUPPORTED_VERSION as a v0 response with our range.
    let mut raw = BytesMut::new();
    raw.put_i32(0);
    raw.put_i16(ApiKey::ApiVersions as i16);
    raw.put_i16(99);
    raw.put_i32(777); // correlation id
    raw.put_i16(-1); // null client id
    raw.put_u8(0); // header tagged fields (v2 header)
    raw.put_u8(1); // body: whatever a v99 carries; ignored
    let n = (raw.len() - 4) as i32;
    raw[..4].copy_from_slice(&n.to_be_bytes());
    tokio::io::AsyncWriteExt::write_all(&mut conn.stream, &raw)
        .await
        .unwrap();
    let mut frame = conn.read_frame().await.unwrap().unwrap();
    let h = ResponseHeader::decode(&mut frame, 0).unwrap();
    assert_eq!(h.correlation_id, 777);
    let resp = ApiVersionsResponse::decode(&mut frame, 0).unwrap();
    assert_eq!(resp.error_code, 35);
    assert_eq!(resp.api_keys.len(), 1);
    assert_eq!(resp.api_keys[0].max_version, 4);
    // The connection is still usable.
    assert_eq!(conn.call(0, &ApiVersionsRequest::default()).await.error_code, 0);
}

/// Every implemented API at every advertised version encodes and decodes (catches fields set
/// outside their versions, which kafka-protocol refuses to encode).
#[tokio::test]
async fn every_api_version_round_trips() {
    let c = FakeCluster::start(2).await;
    c.create_topic("t", 2);
    let mut n1 = Conn::connect(&c.node_addr(1)).await;
    let mut n2 = Conn::connect(&c.node_addr(2)).await;
    let topic_id = metadata(&mut n1, 12, Some(&["t"])).await.topics[0].topic_id;
    assert!(!topic_id.is_nil());

    for v in 0..=13 {
        let m = metadata(&mut n1, v, None).await;
        assert_eq!(m.topics.len(), 1, "metadata v{v}");
        assert_eq!(m.brokers.len(), 2);
    }
    let mut seq = 0;
    for v in 3..=ApiKey::Produce.valid_versions().max {
        let mut req = produce("t", 0, batch(-1, -1, 0, 2), -1);
        let mut req_wrong = produce("t", 1, batch(-1, -1, 0, 1), -1); // partition 1 is led by node 2
        if v >= 13 {
            req.topic_data[0].topic_id = topic_id;
            req_wrong.topic_data[0].topic_id = topic_id;
        }
        let r = n1.call(v, &req).await;
        assert_eq!(
            r.responses[0].partition_responses[0].error_code, 0,
            "produce v{v}"
        );
        assert_eq!(r.responses[0].partition_responses[0].base_offset, seq);
        seq += 2;
        let r = n1.call(v, &req_wrong).await;
        let pr = &r.responses[0].partition_responses[0];
        assert_eq!(pr.error_code, 6, "produce v{v} to a follower");
        if v >= 10 {
            assert_eq!(pr.current_leader.leader_id.0, 2);
            assert_eq!(r.node_endpoints.len(), 1);
        }
    }
    for v in 4..=ApiKey::Fetch.valid_versions().max {
        let mut req = fetch_req("t", 0, 0);
        if v >= 13 {
            req.topics[0].topic_id = topic_id;
        }
        let r = n1.call(v, &req).await;
        let p = &r.responses[0].partitions[0];
        assert_eq!(p.error_code, 0, "fetch v{v}");
        assert_eq!(p.high_watermark, seq);
        assert!(!p.records.as_ref().unwrap().is_empty());
    }
    for v in 1..=ApiKey::ListOffsets.valid_versions().max {
        let req = ListOffsetsRequest::default()
            .with_replica_id((-1).into())
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(topic_name("t"))
                .with_partitions(vec![ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(-1)])]);
        let r = n1.call(v, &req).await;
        assert_eq!(r.topics[0].partitions[0].offset, seq, "list offsets v{v}");
    }
    for v in 0..=ApiKey::FindCoordinator.valid_versions().max {
        let mut req = FindCoordinatorRequest::default();
        if v < 4 {
            req.key = StrBytes::from_static_str("group-a");
        } else {
            req.coordinator_keys = vec![StrBytes::from_static_str("group-a")];
        }
        let r = n2.call(v, &req).await;
        if v < 4 {
            assert_eq!(r.error_code, 0, "find coordinator v{v}");
            assert!(r.node_id.0 == 1 || r.node_id.0 == 2);
        } else {
            assert_eq!(r.coordinators[0].error_code, 0);
            assert!(r.coordinators[0].port > 0);
        }
    }
    for v in 2..=ApiKey::CreateTopics.valid_versions().max {
        let name = format!("created-{v}");
        let req = CreateTopicsRequest::default()
            .with_timeout_ms(1000)
            .with_topics(vec![CreatableTopic::default()
                .with_name(topic_name(&name))
                .with_num_partitions(3)
                .with_replication_factor(1)]);
        let r = n2.call(v, &req).await;
        assert_eq!(r.topics[0].error_code, 0, "create topics v{v}");
        assert_eq!(c.batches(&name, 2).len(), 0);
        let again = n2.call(v, &req).await;
        assert_eq!(again.topics[0].error_code, 36);
    }
    let mut last = -1;
    for v in 0..=5 {
        // kafka-protocol 0.18 cannot encode an InitProducerId v6 request; we advertise 0-5.
        let req = InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(60_000);
        let r = n2.call(v, &req).await;
        assert_eq!(r.error_code, 0, "init producer id v{v}");
        assert!(r.producer_id.0 > last);
        assert_eq!(r.producer_epoch, 0);
        last = r.producer_id.0;
    }
}

#[tokio::test]
async fn metadata_lists_nodes_and_leaders() {
    let c = FakeCluster::start(3).await;
    c.create_topic("orders", 4);
    let mut conn = Conn::connect(c.bootstrap().split(',').nth(1).unwrap()).await;
    let m = metadata(&mut conn, 12, Some(&["orders"])).await;
    let mut brokers: Vec<_> = m
        .brokers
        .iter()
        .map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port)))
        .collect();
    brokers.sort();
    assert_eq!(
        brokers,
        vec![(1, c.node_addr(1)), (2, c.node_addr(2)), (3, c.node_addr(3))]
    );
    assert_eq!(m.controller_id.0, 1);
    assert_eq!(
        m.cluster_id.as_ref().map(|s| s.as_str()),
        Some("kaflow-fake-cluster")
    );
    let t = &m.topics[0];
    assert_eq!(t.error_code, 0);
    let leaders: Vec<_> = t
        .partitions
        .iter()
        .map(|p| (p.partition_index, p.leader_id.0, p.leader_epoch))
        .collect();
    assert_eq!(leaders, vec![(0, 1, 0), (1, 2, 0), (2, 3, 0), (3, 1, 0)]);
    // Unknown topic named: error, not auto-created.
    let m = metadata(&mut conn, 12, Some(&["nope"])).await;
    assert_eq!(m.topics[0].error_code, 3);
    // By topic id (v12), and an unknown id.
    let id = t.topic_id;
    let req = MetadataRequest::default().with_topics(Some(vec![
        MetadataRequestTopic::default().with_name(None).with_topic_id(id),
        MetadataRequestTopic::default()
            .with_name(None)
            .with_topic_id(uuid::Uuid::from_u128(7)),
    ]));
    let m = conn.call(12, &req).await;
    assert_eq!(m.topics[0].name.as_ref().unwrap().0.as_str(), "orders");
    assert_eq!(m.topics[1].error_code, 100);
}

#[tokio::test]
async fn idempotent_produce_dedup_gap_and_fetch() {
    let c = FakeCluster::start(1).await;
    c.create_topic("t", 1);
    let mut conn = Conn::connect(&c.bootstrap()).await;
    let v = 11;
    let b0 = batch(42, 0, 0, 3);
    let r = produce_one(&mut conn, v, "t", 0, b0.clone()).await;
    assert_eq!(
        (
            r.error_code,
            r.base_offset,
            r.log_start_offset,
            r.log_append_time_ms
        ),
        (0, 0, 0, -1)
    );
    let b1 = batch(42, 0, 3, 2);
    let r = produce_one(&mut conn, v, "t", 0, b1.clone()).await;
    assert_eq!((r.error_code, r.base_offset), (0, 3));

    // Same bytes again: a duplicate of one of the last 5 batches → success, original offset.
    let r = produce_one(&mut conn, v, "t", 0, b0.clone()).await;
    assert_eq!(
        (r.error_code, r.base_offset),
        (0, 0),
        "duplicate answers the original offset"
    );
    assert_eq!(
        r.log_append_time_ms, 1_700_000_000_002,
        "Kafka returns the original batch's max timestamp"
    );
    let r = produce_one(&mut conn, v, "t", 0, b1).await;
    assert_eq!((r.error_code, r.base_offset), (0, 3));
    assert_eq!(c.log_end_offset("t", 0), 5, "duplicates are not appended");

    // A gap: next expected sequence is 5.
    let r = produce_one(&mut conn, v, "t", 0, batch(42, 0, 7, 1)).await;
    assert_eq!((r.error_code, r.base_offset, r.log_start_offset), (OOOSN, -1, 0));
    // Overlapping but not identical to a stored batch: also out of order.
    let r = produce_one(&mut conn, v, "t", 0, batch(42, 0, 1, 2)).await;
    assert_eq!(r.error_code, OOOSN);
    assert_eq!(c.log_end_offset("t", 0), 5);

    // The log: offsets rewritten, header fields parsed.
    let log = c.batches("t", 0);
    assert_eq!(log.len(), 2);
    assert_eq!(
        log.iter()
            .map(|b| (
                b.base_offset,
                b.last_offset,
                b.producer_id,
                b.producer_epoch,
                b.base_sequence,
                b.record_count
            ))
            .collect::<Vec<_>>(),
        vec![(0, 2, 42, 0, 0, 3), (3, 4, 42, 0, 3, 2)]
    );
    assert_eq!(&log[1].bytes[..8], &3i64.to_be_bytes());
    assert_eq!(&log[1].bytes[12..16], &0i32.to_be_bytes(), "leader epoch stamped");
    assert_eq!(
        &log[1].bytes[16..],
        &batch(42, 0, 3, 2)[16..],
        "only base offset and leader epoch change"
    );

    // Fetch from offset 4 returns the batch holding it; records decode with their offsets.
    let f = conn.call(12, &fetch_req("t", 0, 4)).await;
    let p = &f.responses[0].partitions[0];
    assert_eq!((p.error_code, p.high_watermark, p.log_start_offset), (0, 5, 0));
    let mut records = p.records.clone().unwrap();
    let sets = RecordBatchDecoder::decode_all(&mut records).unwrap();
    let offsets: Vec<i64> = sets
        .iter()
        .flat_map(|s| s.records.iter().map(|r| r.offset))
        .collect();
    assert_eq!(offsets, vec![3, 4]);
    let f = conn.call(12, &fetch_req("t", 0, 0)).await;
    let mut records = f.responses[0].partitions[0].records.clone().unwrap();
    assert_eq!(RecordBatchDecoder::decode_all(&mut records).unwrap().len(), 2);
    // Out of range.
    let f = conn.call(12, &fetch_req("t", 0, 6)).await;
    assert_eq!(f.responses[0].partitions[0].error_code, 1);
}

#[tokio::test]
async fn producer_epoch_rules() {
    let c = FakeCluster::start(1).await;
    c.create_topic("t", 1);
    let mut conn = Conn::connect(&c.bootstrap()).await;
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, batch(7, 3, 0, 2))
            .await
            .error_code,
        0
    );
    // New epoch must start at 0.
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, batch(7, 4, 2, 1))
            .await
            .error_code,
        OOOSN
    );
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, batch(7, 4, 0, 1))
            .await
            .error_code,
        0
    );
    // Older epoch is fenced.
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, batch(7, 3, 2, 1))
            .await
            .error_code,
        47
    );
    // A batch of the old epoch is no longer a duplicate either.
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, batch(7, 3, 0, 2))
            .await
            .error_code,
        47
    );
    // Non-idempotent batches are appended as they come.
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, batch(-1, -1, 0, 1))
            .await
            .base_offset,
        3
    );
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, batch(-1, -1, 0, 1))
            .await
            .base_offset,
        4
    );
}

#[tokio::test]
async fn sequence_wraps_from_max_to_zero() {
    let c = FakeCluster::start(1).await;
    c.create_topic("t", 1);
    let mut conn = Conn::connect(&c.bootstrap()).await;
    // A producer the partition has no state for may start anywhere.
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, batch(9, 0, i32::MAX - 2, 3))
            .await
            .error_code,
        0
    );
    // i32::MIN is not the successor of i32::MAX (and a negative sequence is an invalid record).
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, batch(9, 0, i32::MIN, 1))
            .await
            .error_code,
        87
    );
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, batch(9, 0, 1, 1))
            .await
            .error_code,
        OOOSN
    );
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, batch(9, 0, 0, 2))
            .await
            .error_code,
        0
    );
    assert_eq!(c.log_end_offset("t", 0), 5);
}

#[tokio::test]
async fn produce_validation_errors() {
    let c = FakeCluster::start(1).await;
    c.create_topic("t", 1);
    let mut conn = Conn::connect(&c.bootstrap()).await;
    // Two batches in one partition.
    let mut two = BytesMut::from(&batch(-1, -1, 0, 1)[..]);
    two.extend_from_slice(&batch(-1, -1, 0, 1));
    let r = produce_one(&mut conn, 9, "t", 0, two.freeze()).await;
    assert_eq!((r.error_code, r.log_start_offset), (87, -1));
    // CRC mismatch.
    let mut bad = BytesMut::from(&batch(-1, -1, 0, 1)[..]);
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, bad.freeze()).await.error_code,
        2
    );
    // Empty records.
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, Bytes::new()).await.error_code,
        87
    );
    // Unknown partition, bad acks.
    assert_eq!(
        produce_one(&mut conn, 9, "t", 5, batch(-1, -1, 0, 1))
            .await
            .error_code,
        3
    );
    let r = conn.call(9, &produce("t", 0, batch(-1, -1, 0, 1), 2)).await;
    assert_eq!(r.responses[0].partition_responses[0].error_code, 21);
    assert_eq!(c.log_end_offset("t", 0), 0);
}

#[tokio::test]
async fn handle_then_drop_appends_without_response() {
    let c = FakeCluster::start(1).await;
    c.create_topic("t", 1);
    let ctl = c.control(ApiKey::Produce, |req| {
        if req.seq == 0 {
            Action::HandleThenDrop
        } else {
            Action::Pass
        }
    });
    let mut conn = Conn::connect(&c.bootstrap()).await;
    let b = batch(5, 0, 0, 4);
    conn.send(9, &produce("t", 0, b.clone(), -1)).await;
    assert!(
        conn.closed_within(Duration::from_secs(5)).await,
        "connection closed, no response"
    );
    assert_eq!(ctl.hits(), 1);
    assert_eq!(c.connections_closed_by_fault(), 1);
    assert_eq!(c.log_end_offset("t", 0), 4, "the write happened");
    // The client retries the identical batch on a new connection: deduplicated.
    let mut conn = Conn::connect(&c.bootstrap()).await;
    let r = produce_one(&mut conn, 9, "t", 0, b).await;
    assert_eq!((r.error_code, r.base_offset), (0, 0));
    assert_eq!(c.log_end_offset("t", 0), 4);
    assert_eq!(c.request_count(ApiKey::Produce), 2);
    assert_eq!(c.connections_accepted(), 2);
}

#[tokio::test]
async fn drop_loses_the_request_before_the_write() {
    let c = FakeCluster::start(1).await;
    c.create_topic("t", 1);
    let ctl = c.control(ApiKey::Produce, |_| Action::Drop);
    let mut conn = Conn::connect(&c.bootstrap()).await;
    conn.send(9, &produce("t", 0, batch(5, 0, 0, 1), -1)).await;
    assert!(conn.closed_within(Duration::from_secs(5)).await);
    assert_eq!((ctl.hits(), c.log_end_offset("t", 0)), (1, 0));
    ctl.remove();
    let mut conn = Conn::connect(&c.bootstrap()).await;
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, batch(5, 0, 0, 1))
            .await
            .error_code,
        0
    );
}

#[tokio::test]
async fn produce_error_on_chosen_request_and_error_after_append() {
    let c = FakeCluster::start(1).await;
    c.create_topic("t", 2);
    let ctl = c.control(ApiKey::Produce, |req| {
        if req.seq == 1 {
            Action::produce_error(OOOSN)
        } else {
            Action::Pass
        }
    });
    let mut conn = Conn::connect(&c.bootstrap()).await;
    // Partition 1 is led by node 1 too (single node).
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, batch(1, 0, 0, 1))
            .await
            .error_code,
        0
    );
    let r = produce_one(&mut conn, 9, "t", 0, batch(1, 0, 1, 1)).await;
    assert_eq!((r.error_code, r.base_offset), (OOOSN, -1));
    assert_eq!(c.log_end_offset("t", 0), 1, "nothing appended");
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, batch(1, 0, 1, 1))
            .await
            .error_code,
        0
    );
    assert_eq!(ctl.hits(), 1);
    drop(ctl);

    let ctl = c.control(ApiKey::Produce, |_| Action::produce_error_after_append(20));
    let r = produce_one(&mut conn, 9, "t", 1, batch(1, 0, 0, 2)).await;
    assert_eq!(r.error_code, 20);
    assert_eq!(
        c.log_end_offset("t", 1),
        2,
        "appended although the client was told otherwise"
    );
    drop(ctl);
    let r = produce_one(&mut conn, 9, "t", 1, batch(1, 0, 0, 2)).await;
    assert_eq!((r.error_code, r.base_offset), (0, 0), "the retry is a duplicate");
}

#[tokio::test]
async fn newest_control_first_and_respond() {
    let c = FakeCluster::start(1).await;
    let older = c.control(ApiKey::Metadata, |_| Action::Drop);
    let newer = c.control(ApiKey::Metadata, |req| {
        let RequestKind::Metadata(_) = &req.request else {
            panic!("wrong kind")
        };
        Action::Respond(kafka_protocol::messages::ResponseKind::Metadata(
            MetadataResponse::default().with_controller_id(99.into()),
        ))
    });
    let mut conn = Conn::connect(&c.bootstrap()).await;
    assert_eq!(metadata(&mut conn, 9, None).await.controller_id.0, 99);
    assert_eq!((newer.hits(), older.hits()), (1, 0));
    newer.remove();
    conn.send(9, &MetadataRequest::default()).await;
    assert!(conn.closed_within(Duration::from_secs(5)).await);
    assert_eq!(older.hits(), 1);
}

#[tokio::test]
async fn silence_never_answers_and_keeps_the_connection() {
    let c = FakeCluster::start(1).await;
    c.create_topic("t", 1);
    let ctl = c.control(ApiKey::Produce, |_| Action::Silence);
    let mut conn = Conn::connect(&c.bootstrap()).await;
    conn.send(9, &produce("t", 0, batch(1, 0, 0, 1), -1)).await;
    // A later request on the same connection is not answered either (ordering).
    conn.send(0, &ApiVersionsRequest::default()).await;
    assert!(conn.silent_for(Duration::from_millis(300)).await);
    assert_eq!(ctl.hits(), 1);
    assert_eq!(c.log_end_offset("t", 0), 0);
    assert_eq!(c.connections_closed_by_fault(), 0);
    // Other connections are served.
    let mut other = Conn::connect(&c.bootstrap()).await;
    assert_eq!(other.call(0, &ApiVersionsRequest::default()).await.error_code, 0);
}

#[tokio::test]
async fn delay_keeps_responses_in_order() {
    let c = FakeCluster::start(1).await;
    c.create_topic("t", 1);
    let ctl = c.control(ApiKey::Produce, |req| {
        if req.seq == 0 {
            Action::Delay(Duration::from_millis(200))
        } else {
            Action::Pass
        }
    });
    let mut conn = Conn::connect(&c.bootstrap()).await;
    let started = std::time::Instant::now();
    let c1 = conn.send(9, &produce("t", 0, batch(1, 0, 0, 1), -1)).await;
    let c2 = conn
        .send(9, &produce("t", 0, batch(1, 0, 1, 1)[..].to_vec().into(), -1))
        .await;
    let r1 = conn.recv::<ProduceRequest>(9, c1).await;
    let r2 = conn.recv::<ProduceRequest>(9, c2).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(r1.responses[0].partition_responses[0].base_offset, 0);
    assert_eq!(r2.responses[0].partition_responses[0].base_offset, 1);
    assert_eq!(ctl.hits(), 1);
}

#[tokio::test]
async fn garbage_is_written_verbatim() {
    let c = FakeCluster::start(1).await;
    let ctl = c.control(ApiKey::Metadata, |_| {
        Action::Garbage(Bytes::from_static(&[0xff, 0xff, 0xff, 0xfe, 1, 2, 3]))
    });
    let mut conn = Conn::connect(&c.bootstrap()).await;
    conn.send(9, &MetadataRequest::default()).await;
    let mut got = [0u8; 7];
    tokio::time::timeout(
        Duration::from_secs(5),
        tokio::io::AsyncReadExt::read_exact(&mut conn.stream, &mut got),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(got, [0xff, 0xff, 0xff, 0xfe, 1, 2, 3]);
    assert_eq!(ctl.hits(), 1);
}

#[tokio::test]
async fn hidden_topic_is_missing_then_back() {
    let c = FakeCluster::start(1).await;
    c.create_topic("t", 1);
    c.create_topic("u", 1);
    let mut conn = Conn::connect(&c.bootstrap()).await;
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, batch(3, 0, 0, 1))
            .await
            .error_code,
        0
    );
    c.hide_topic("t", true);
    let all = metadata(&mut conn, 12, None).await;
    assert_eq!(
        all.topics
            .iter()
            .map(|t| t.name.as_ref().unwrap().0.as_str())
            .collect::<Vec<_>>(),
        vec!["u"]
    );
    assert_eq!(
        metadata(&mut conn, 12, Some(&["t"])).await.topics[0].error_code,
        3
    );
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, batch(3, 0, 1, 1))
            .await
            .error_code,
        3
    );
    assert_eq!(
        conn.call(12, &fetch_req("t", 0, 0)).await.responses[0].partitions[0].error_code,
        3
    );
    c.hide_topic("t", false);
    assert_eq!(
        metadata(&mut conn, 12, Some(&["t"])).await.topics[0].error_code,
        0
    );
    // Producer state survived.
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, batch(3, 0, 2, 1))
            .await
            .error_code,
        OOOSN
    );
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, batch(3, 0, 1, 1))
            .await
            .base_offset,
        1
    );
}

#[tokio::test]
async fn set_leader_makes_old_leader_answer_not_leader() {
    let c = FakeCluster::start(2).await;
    c.create_topic("t", 1);
    assert_eq!(c.leader("t", 0), (1, 0));
    let mut n1 = Conn::connect(&c.node_addr(1)).await;
    let mut n2 = Conn::connect(&c.node_addr(2)).await;
    assert_eq!(
        produce_one(&mut n1, 12, "t", 0, batch(8, 0, 0, 2))
            .await
            .error_code,
        0
    );
    c.set_leader("t", 0, 2);
    let r = n1.call(12, &produce("t", 0, batch(8, 0, 2, 1), -1)).await;
    let pr = &r.responses[0].partition_responses[0];
    assert_eq!(pr.error_code, 6);
    assert_eq!(
        (pr.current_leader.leader_id.0, pr.current_leader.leader_epoch),
        (2, 1)
    );
    assert_eq!(
        r.node_endpoints[0].port.to_string(),
        c.node_addr(2).rsplit(':').next().unwrap()
    );
    // The new leader has the log and producer state, and stamps epoch 1.
    let pr = produce_one(&mut n2, 12, "t", 0, batch(8, 0, 2, 1)).await;
    assert_eq!((pr.error_code, pr.base_offset), (0, 2));
    assert_eq!(c.batches("t", 0)[1].partition_leader_epoch, 1);
    let m = metadata(&mut n1, 12, Some(&["t"])).await;
    assert_eq!(
        (
            m.topics[0].partitions[0].leader_id.0,
            m.topics[0].partitions[0].leader_epoch
        ),
        (2, 1)
    );
    // Fetch with a stale epoch is fenced.
    let mut req = fetch_req("t", 0, 0);
    req.topics[0].partitions[0].current_leader_epoch = 0;
    assert_eq!(n2.call(12, &req).await.responses[0].partitions[0].error_code, 74);
    assert_eq!(
        n1.call(12, &fetch_req("t", 0, 0)).await.responses[0].partitions[0].error_code,
        6
    );
}

/// Kafka ≥ 2.5 (KIP-360) accepts any sequence from a producer it has no state for, so after
/// retention the next batch (seq > 0) is appended, not answered UNKNOWN_PRODUCER_ID.
#[tokio::test]
async fn apply_retention_forgets_producer_state() {
    let c = FakeCluster::start(1).await;
    c.create_topic("t", 1);
    let mut conn = Conn::connect(&c.bootstrap()).await;
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, batch(11, 0, 0, 5))
            .await
            .error_code,
        0
    );
    c.apply_retention("t", 0);
    assert_eq!(c.log_start_offset("t", 0), 5);
    assert!(c.batches("t", 0).is_empty());
    let r = produce_one(&mut conn, 9, "t", 0, batch(11, 0, 5, 2)).await;
    assert_eq!((r.error_code, r.base_offset, r.log_start_offset), (0, 5, 5));
    // Even a gap is accepted for an unknown producer; afterwards the state is known again.
    c.apply_retention("t", 0);
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, batch(11, 0, 100, 1))
            .await
            .error_code,
        0
    );
    let r = produce_one(&mut conn, 9, "t", 0, batch(11, 0, 200, 1)).await;
    assert_eq!((r.error_code, r.log_start_offset), (OOOSN, 7));
    // To test a client's UNKNOWN_PRODUCER_ID path, inject it.
    let ctl = c.control(ApiKey::Produce, |_| Action::produce_error(59));
    assert_eq!(
        produce_one(&mut conn, 9, "t", 0, batch(11, 0, 101, 1))
            .await
            .error_code,
        59
    );
    assert_eq!(ctl.hits(), 1);
    // Fetch below the log start is out of range; ListOffsets earliest says where it is.
    assert_eq!(
        conn.call(12, &fetch_req("t", 0, 0)).await.responses[0].partitions[0].error_code,
        1
    );
    let req = ListOffsetsRequest::default()
        .with_replica_id((-1).into())
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(topic_name("t"))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(-2)])]);
    assert_eq!(conn.call(7, &req).await.topics[0].partitions[0].offset, 7);
}

#[tokio::test]
async fn acks_zero_gets_no_response() {
    let c = FakeCluster::start(1).await;
    c.create_topic("t", 1);
    let mut conn = Conn::connect(&c.bootstrap()).await;
    conn.send(9, &produce("t", 0, batch(-1, -1, 0, 1), 0)).await;
    // The next response on the connection is the ApiVersions one.
    assert_eq!(conn.call(0, &ApiVersionsRequest::default()).await.error_code, 0);
    assert_eq!(c.log_end_offset("t", 0), 1);
    // A failed acks=0 produce closes the connection.
    conn.send(9, &produce("t", 3, batch(-1, -1, 0, 1), 0)).await;
    assert!(conn.closed_within(Duration::from_secs(5)).await);
    assert_eq!(c.connections_closed_by_fault(), 1);
}

#[tokio::test]
async fn malformed_requests_close_the_connection() {
    let c = FakeCluster::start(1).await;
    for raw in [
        vec![0xff, 0xff, 0xff, 0xf0],                                      // negative size
        vec![0, 0, 0, 4, 0, 3, 0, 9],                                      // too short for a header
        vec![0, 0, 0, 10, 0x7f, 0x7f, 0, 0, 0, 0, 0, 1, 0xff, 0xff],       // unknown api key
        vec![0, 0, 0, 10, 0, 3, 0, 99, 0, 0, 0, 1, 0xff, 0xff],            // Metadata v99
        vec![0, 0, 0, 10, 0, 8, 0, 2, 0, 0, 0, 1, 0xff, 0xff],             // OffsetCommit: not implemented
        vec![0, 0, 0, 12, 0, 3, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0x7f, 0xff], // Metadata v1, truncated body
    ] {
        let mut conn = Conn::connect(&c.bootstrap()).await;
        tokio::io::AsyncWriteExt::write_all(&mut conn.stream, &raw)
            .await
            .unwrap();
        assert!(conn.closed_within(Duration::from_secs(5)).await, "{raw:?}");
    }
    // The node still serves.
    let mut conn = Conn::connect(&c.bootstrap()).await;
    assert_eq!(conn.call(0, &ApiVersionsRequest::default()).await.error_code, 0);
}

#[tokio::test]
async fn stop_and_start_node() {
    let c = FakeCluster::start(2).await;
    let mut conn = Conn::connect(&c.node_addr(2)).await;
    assert_eq!(conn.call(0, &ApiVersionsRequest::default()).await.error_code, 0);
    c.stop_node(2);
    assert!(conn.closed_within(Duration::from_secs(5)).await);
    assert_eq!(c.connections_closed_by_fault(), 1);
    assert!(
        tokio::net::TcpStream::connect(c.node_addr(2)).await.is_err(),
        "listener closed"
    );
    // Coordinator moves to the running node.
    let mut n1 = Conn::connect(&c.node_addr(1)).await;
    for key in ["a", "b", "c", "d"] {
        let r = n1
            .call(
                3,
                &FindCoordinatorRequest::default().with_key(StrBytes::from_static_str(key)),
            )
            .await;
        assert_eq!(r.node_id.0, 1);
    }
    c.start_node(2);
    let mut conn = Conn::connect(&c.node_addr(2)).await;
    assert_eq!(conn.call(0, &ApiVersionsRequest::default()).await.error_code, 0);
    // Stop and start in the same tick: the port comes back too.
    c.stop_node(1);
    c.start_node(1);
    let mut ok = false;
    for _ in 0..50 {
        if let Ok(s) = tokio::net::TcpStream::connect(c.node_addr(1)).await {
            drop(s);
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "node 1 is back on its port");
}

#[tokio::test]
async fn init_producer_id_rules() {
    let c = FakeCluster::start(1).await;
    let mut conn = Conn::connect(&c.bootstrap()).await;
    let idem = || {
        InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(60_000)
    };
    let first = conn.call(4, &idem()).await;
    assert_eq!(first.error_code, 0);
    // An idempotent producer asking with its id and epoch (KIP-360 shape) gets a NEW id, epoch 0,
    // as Kafka's TransactionCoordinator does for a null transactional id.
    let again = conn
        .call(
            4,
            &idem()
                .with_producer_id(first.producer_id)
                .with_producer_epoch(first.producer_epoch),
        )
        .await;
    assert_ne!(again.producer_id, first.producer_id);
    assert_eq!(again.producer_epoch, 0);
    // Transactional: same id, epoch bumps; a stale id/epoch is fenced.
    let txn = || {
        InitProducerIdRequest::default()
            .with_transactional_id(Some(TransactionalId(StrBytes::from_static_str("tx-1"))))
            .with_transaction_timeout_ms(60_000)
    };
    let t0 = conn.call(4, &txn()).await;
    let t1 = conn
        .call(
            4,
            &txn()
                .with_producer_id(t0.producer_id)
                .with_producer_epoch(t0.producer_epoch),
        )
        .await;
    assert_eq!(
        (t1.error_code, t1.producer_id, t1.producer_epoch),
        (0, t0.producer_id, 1)
    );
    let stale = conn
        .call(4, &txn().with_producer_id(t0.producer_id).with_producer_epoch(0))
        .await;
    assert_eq!(stale.error_code, 90);
    let empty = conn
        .call(
            4,
            &InitProducerIdRequest::default()
                .with_transactional_id(Some(TransactionalId(StrBytes::default()))),
        )
        .await;
    assert_eq!(empty.error_code, 42);
    let _ = ProducerId(0);
}

#[tokio::test]
async fn create_topics_validation() {
    let c = FakeCluster::start(2).await;
    let mut conn = Conn::connect(&c.node_addr(2)).await;
    let topic = |name: &str, p: i32, rf: i16| {
        CreatableTopic::default()
            .with_name(topic_name(name))
            .with_num_partitions(p)
            .with_replication_factor(rf)
    };
    let r = conn
        .call(
            7,
            &CreateTopicsRequest::default().with_topics(vec![
                topic("ok", -1, -1),
                topic("rf", 1, 3),
                topic("bad name!", 1, 1),
                topic("zero", 0, 1),
                topic("dup", 1, 1),
                topic("dup", 1, 1),
            ]),
        )
        .await;
    let codes: Vec<_> = r
        .topics
        .iter()
        .map(|t| (t.name.0.as_str().to_string(), t.error_code))
        .collect();
    assert_eq!(
        codes,
        vec![
            ("ok".into(), 0),
            ("rf".into(), 38),
            ("bad name!".into(), 17),
            ("zero".into(), 37),
            ("dup".into(), 42),
            ("dup".into(), 42)
        ]
    );
    assert_eq!(r.topics[0].num_partitions, 1);
    assert!(!r.topics[0].topic_id.is_nil());
    assert_eq!(c.log_end_offset("ok", 0), 0);
    // validate_only creates nothing.
    let r = conn
        .call(
            7,
            &CreateTopicsRequest::default()
                .with_validate_only(true)
                .with_topics(vec![topic("v", 2, 1)]),
        )
        .await;
    assert_eq!(r.topics[0].error_code, 0);
    assert_eq!(
        metadata(&mut conn, 12, Some(&["v"])).await.topics[0].error_code,
        3
    );
}

#[tokio::test]
async fn fetch_long_polls_until_data_arrives() {
    let c = FakeCluster::start(1).await;
    c.create_topic("t", 1);
    let addr = c.bootstrap();
    let mut consumer = Conn::connect(&addr).await;
    let mut req = fetch_req("t", 0, 0);
    req.max_wait_ms = 5000;
    req.min_bytes = 1;
    let corr = consumer.send(12, &req).await;
    let producer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut p = Conn::connect(&addr).await;
        produce_one(&mut p, 9, "t", 0, batch(-1, -1, 0, 2)).await
    });
    let started = std::time::Instant::now();
    let r = consumer.recv::<FetchRequest>(12, corr).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "woken by the append, not the timeout"
    );
    assert_eq!(r.responses[0].partitions[0].high_watermark, 2);
    assert!(!r.responses[0].partitions[0].records.as_ref().unwrap().is_empty());
    assert_eq!(producer.await.unwrap().error_code, 0);
}

/// Hostile client bytes: mutated copies of valid requests never panic the broker; each either
/// gets an answer or closes its own connection, and the node keeps serving.
#[tokio::test]
async fn mutated_requests_never_panic() {
    let c = FakeCluster::start(1).await;
    c.create_topic("t", 1);
    let mut valid = Vec::new();
    for (key, version, body) in [
        (0i16, 9i16, {
            let mut b = BytesMut::new();
            kafka_protocol::protocol::Encodable::encode(&produce("t", 0, batch(4, 0, 0, 3), -1), &mut b, 9)
                .unwrap();
            b
        }),
        (3, 12, {
            let mut b = BytesMut::new();
            kafka_protocol::protocol::Encodable::encode(&MetadataRequest::default(), &mut b, 12).unwrap();
            b
        }),
        (1, 12, {
            let mut b = BytesMut::new();
            kafka_protocol::protocol::Encodable::encode(&fetch_req("t", 0, 0), &mut b, 12).unwrap();
            b
        }),
    ] {
        let mut f = BytesMut::new();
        f.put_i16(key);
        f.put_i16(version);
        f.put_i32(1);
        f.put_i16(-1);
        f.put_u8(0);
        f.extend_from_slice(&body);
        valid.push(f.freeze());
    }
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for i in 0..150 {
        let base = &valid[i % valid.len()];
        let mut m = base.to_vec();
        for _ in 0..(1 + next() % 4) {
            let pos = (next() as usize) % m.len();
            m[pos] = next() as u8;
        }
        if next() % 5 == 0 {
            m.truncate((next() as usize) % m.len());
        }
        let mut frame = BytesMut::new();
        frame.put_i32(m.len() as i32);
        frame.extend_from_slice(&m);
        let mut conn = Conn::connect(&c.bootstrap()).await;
        tokio::io::AsyncWriteExt::write_all(&mut conn.stream, &frame)
            .await
            .unwrap();
        tokio::io::AsyncWriteExt::shutdown(&mut conn.stream)
            .await
            .unwrap();
        // Answer or close, within the timeout; either is fine.
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            tokio::io::AsyncReadExt::read_to_end(&mut conn.stream, &mut sink),
        )
        .await;
    }
    assert_eq!(c.connection_panics(), 0);
    let mut conn = Conn::connect(&c.bootstrap()).await;
    assert_eq!(conn.call(0, &ApiVersionsRequest::default()).await.error_code, 0);
}

#[tokio::test]
async fn a_panicking_control_is_counted_and_only_kills_its_connection() {
    let c = FakeCluster::start(1).await;
    let ctl = c.control(ApiKey::Metadata, |req| {
        assert!(req.seq > 0, "deliberate test panic");
        Action::Pass
    });
    let mut conn = Conn::connect(&c.bootstrap()).await;
    conn.send(12, &MetadataRequest::default()).await;
    assert!(conn.closed_within(Duration::from_secs(5)).await);
    let mut conn = Conn::connect(&c.bootstrap()).await;
    assert_eq!(metadata(&mut conn, 12, None).await.error_code, 0);
    for _ in 0..100 {
        if c.connection_panics() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(c.connection_panics(), 1);
    assert_eq!(ctl.hits(), 0);
}
