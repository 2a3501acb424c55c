//! A deliberately tiny, independent Kafka wire helper for harness tests: one request at a time
//! on a fresh TCP connection, messages encoded by kafka-protocol. It checks the broker and the
//! harness without relying on kaflow-client, so it can also serve as an oracle for it.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
};
// The `Request` trait (request → response type) needs kafka-protocol's client and broker
// features together; this dev-only crate turns on `broker`, the product crates never do.
use kafka_protocol::protocol::{Decodable, Encodable, Message, Request, StrBytes};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Errors of the raw wire helper.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    #[error("i/o with {addr}: {source}")]
    Io {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
    #[error("codec: {0}")]
    Codec(String),
    #[error("response correlation id {got}, expected {want}")]
    Correlation { got: i32, want: i32 },
    #[error("broker {addr} does not support API key {api_key}")]
    Unsupported { addr: String, api_key: i16 },
}

const TIMEOUT: Duration = Duration::from_secs(30);

/// One connection to one broker, requests sent one at a time.
#[derive(Debug)]
pub struct RawConnection {
    addr: String,
    stream: TcpStream,
    next_correlation: i32,
    /// Broker's supported range per API key, from ApiVersions at connect.
    pub broker_versions: BTreeMap<i16, (i16, i16)>,
}

impl RawConnection {
    /// Connects and negotiates versions with ApiVersions (the version we ask with is the highest
    /// kafka-protocol knows; a broker answering UNSUPPORTED_VERSION makes us retry at v0 as
    /// KIP-511 describes).
    pub async fn connect(addr: &str) -> Result<Self, WireError> {
        let stream = tokio::time::timeout(TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| WireError::Timeout(TIMEOUT, format!("connect to {addr}")))?
            .map_err(|source| WireError::Io {
                addr: addr.to_string(),
                source,
            })?;
        let mut conn = Self {
            addr: addr.to_string(),
            stream,
            next_correlation: 1,
            broker_versions: BTreeMap::new(),
        };
        let resp = conn.api_versions().await?;
        conn.broker_versions = resp
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        Ok(conn)
    }

    /// Sends ApiVersions at the highest version we know; the broker answers v0-framed
    /// UNSUPPORTED_VERSION (35) with its own range if it doesn't know ours.
    pub async fn api_versions(&mut self) -> Result<ApiVersionsResponse, WireError> {
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("kaflow-test-support"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let version = ApiVersionsRequest::VERSIONS.max;
        let resp: ApiVersionsResponse = self.send_at(req, version).await?;
        if resp.error_code == 35 {
            return self.send_at(ApiVersionsRequest::default(), 0).await;
        }
        Ok(resp)
    }

    /// The highest version both this codec and the broker support for `R`.
    pub fn version_for<R: Request>(&self) -> Result<i16, WireError> {
        let (bmin, bmax) =
            self.broker_versions
                .get(&R::KEY)
                .copied()
                .ok_or_else(|| WireError::Unsupported {
                    addr: self.addr.clone(),
                    api_key: R::KEY,
                })?;
        let v = bmax.min(R::VERSIONS.max);
        if v < bmin.max(R::VERSIONS.min) {
            return Err(WireError::Unsupported {
                addr: self.addr.clone(),
                api_key: R::KEY,
            });
        }
        Ok(v)
    }

    /// Sends `req` at the negotiated version and decodes the response.
    pub async fn send<R: Request>(&mut self, req: R) -> Result<R::Response, WireError> {
        let v = self.version_for::<R>()?;
        self.send_at(req, v).await
    }

    /// Sends `req` at exactly `version`.
    pub async fn send_at<R: Request>(&mut self, req: R, version: i16) -> Result<R::Response, WireError> {
        let api_key =
            ApiKey::try_from(R::KEY).map_err(|_| WireError::Codec(format!("api key {}", R::KEY)))?;
        let correlation = self.next_correlation;
        self.next_correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(correlation)
            .with_client_id(Some(StrBytes::from_static_str("kaflow-test-support")));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, R::header_version(version))
            .map_err(|e| WireError::Codec(e.to_string()))?;
        req.encode(&mut body, version)
            .map_err(|e| WireError::Codec(e.to_string()))?;
        let mut frame = BytesMut::with_capacity(4 + body.len());
        frame.put_i32(body.len() as i32);
        frame.extend_from_slice(&body);
        let addr = self.addr.clone();
        let io = |source| WireError::Io {
            addr: addr.clone(),
            source,
        };
        let fut = async {
            self.stream.write_all(&frame).await.map_err(io)?;
            let len = self.stream.read_i32().await.map_err(io)?;
            if !(0..=100 << 20).contains(&len) {
                return Err(WireError::Codec(format!("response frame length {len}")));
            }
            let mut buf = vec![0u8; len as usize];
            self.stream.read_exact(&mut buf).await.map_err(io)?;
            Ok(Bytes::from(buf))
        };
        let mut buf = tokio::time::timeout(TIMEOUT, fut)
            .await
            .map_err(|_| WireError::Timeout(TIMEOUT, format!("{api_key:?} v{version} to {}", self.addr)))??;
        let rh = ResponseHeader::decode(&mut buf, api_key.response_header_version(version))
            .map_err(|e| WireError::Codec(e.to_string()))?;
        if rh.correlation_id != correlation {
            return Err(WireError::Correlation {
                got: rh.correlation_id,
                want: correlation,
            });
        }
        let resp = R::Response::decode(&mut buf, version).map_err(|e| WireError::Codec(e.to_string()))?;
        if buf.has_remaining() {
            return Err(WireError::Codec(format!(
                "{} trailing bytes after {api_key:?} v{version} response",
                buf.remaining()
            )));
        }
        Ok(resp)
    }
}
