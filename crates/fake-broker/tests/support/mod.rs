//! A minimal raw TCP Kafka client for testing the fake broker against itself, built on
//! kafka-protocol's codecs (`client` feature) and `RecordBatchEncoder`.

#![allow(dead_code)]

use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ApiKey, ProduceRequest, RequestHeader, ResponseHeader, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct Conn {
    pub stream: TcpStream,
    next_correlation: i32,
}

impl Conn {
    pub async fn connect(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr).await.expect("connect to fake broker");
        Conn {
            stream,
            next_correlation: 1,
        }
    }

    /// Writes one request; returns its correlation id.
    pub async fn send<R: Request>(&mut self, version: i16, req: &R) -> i32 {
        let correlation = self.next_correlation;
        self.next_correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(correlation)
            .with_client_id(Some(StrBytes::from_static_str("fake-broker-test")));
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        header
            .encode(&mut buf, R::header_version(version))
            .expect("encode header");
        req.encode(&mut buf, version)
            .unwrap_or_else(|e| panic!("encode request key {} v{version}: {e}", R::KEY));
        let len = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&len.to_be_bytes());
        self.stream.write_all(&buf).await.expect("write request");
        correlation
    }

    /// Reads one response frame and decodes it as `R`'s response of `version`.
    pub async fn recv<R: Request>(&mut self, version: i16, correlation: i32) -> R::Response {
        let mut frame = self
            .read_frame()
            .await
            .expect("read")
            .expect("a response, not EOF");
        let header = ResponseHeader::decode(&mut frame, R::Response::header_version(version))
            .expect("decode response header");
        assert_eq!(
            header.correlation_id, correlation,
            "responses must come back in order"
        );
        let resp = R::Response::decode(&mut frame, version).expect("decode response");
        assert!(
            !frame.has_remaining(),
            "{} trailing bytes in response",
            frame.remaining()
        );
        resp
    }

    pub async fn call<R: Request>(&mut self, version: i16, req: &R) -> R::Response {
        let c = self.send(version, req).await;
        self.recv::<R>(version, c).await
    }

    /// One size-prefixed frame; `Ok(None)` on a clean EOF.
    pub async fn read_frame(&mut self) -> std::io::Result<Option<Bytes>> {
        let mut size = [0u8; 4];
        match self.stream.read_exact(&mut size).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(None),
            Err(e) => return Err(e),
        }
        let mut buf = vec![0u8; i32::from_be_bytes(size) as usize];
        self.stream.read_exact(&mut buf).await?;
        Ok(Some(Bytes::from(buf)))
    }

    /// Waits up to `d` for the connection to be closed by the broker (true) or for data (false).
    pub async fn closed_within(&mut self, d: Duration) -> bool {
        let mut b = [0u8; 1];
        match tokio::time::timeout(d, self.stream.read(&mut b)).await {
            Ok(Ok(0)) | Ok(Err(_)) => true,
            Ok(Ok(_)) => false,
            Err(_) => panic!("connection neither closed nor answered within {d:?}"),
        }
    }

    /// True when nothing arrives (and the connection stays open) for `d`.
    pub async fn silent_for(&mut self, d: Duration) -> bool {
        let mut b = [0u8; 1];
        tokio::time::timeout(d, self.stream.read(&mut b)).await.is_err()
    }
}

/// One v2 batch of `n` records, uncompressed, idempotent when `producer_id >= 0`.
pub fn batch(producer_id: i64, epoch: i16, base_sequence: i32, n: usize) -> Bytes {
    // Non-idempotent batches carry base sequence -1; the encoder derives it from the first record
    // and splits when `offset - sequence` changes, so number the records from -1.
    let base_sequence = if producer_id >= 0 { base_sequence } else { -1 };
    let records: Vec<Record> = (0..n)
        .map(|i| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: base_sequence.wrapping_add(i as i32),
            timestamp: 1_700_000_000_000 + i as i64,
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from(format!("value-{base_sequence}-{i}"))),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode batch");
    let out = buf.freeze();
    // Pitfall from the style guide: the encoder silently splits; make sure it did not.
    let declared = (&out[8..12]).get_i32() as usize + 12;
    assert_eq!(declared, out.len(), "encoder produced more than one batch");
    out
}

pub fn produce(topic: &str, partition: i32, records: Bytes, acks: i16) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])])
}

pub fn topic_name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

pub fn max_version(key: ApiKey) -> i16 {
    key.valid_versions().max
}
