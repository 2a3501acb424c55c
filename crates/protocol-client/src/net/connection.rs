//! One TCP connection to one broker.
//!
//! ```text
//!  send(req) ──encode──▶ [writer lock: take correlation id, register oneshot, write frame]
//!                                                   │
//!                                                 socket
//!                                                   │
//!  reader task ──read size──▶ read frame ──correlation id──▶ pending[id].send(frame bytes)
//!      │                                                            │
//!      └── EOF / I/O error / bad size ──▶ poison: fail every pending request, refuse new ones
//!                                                                   ▼
//!  send(req) ◀── decode body (in the caller: a bad body fails only its own request)
//! ```
//!
//! Several requests may be in flight at once; Kafka answers a connection's requests in order,
//! and the correlation id ties each answer to its request. When the stream dies every pending
//! request fails at once ([`ConnectionError::Lost`], possibly persisted) and later sends fail
//! without writing ([`ConnectionError::NotSent`], safe to retry) — "poison on death", after
//! rskafka's messenger. A request that outlives `request.timeout.ms` closes the connection, as the
//! Java client's NetworkClient does, so a late answer can never be matched to the wrong request.
//!
//! Every request written and every answer matched is counted in the client core's
//! [`NetworkMetrics`] (per API: requests, write-to-answer latency; bytes each way). The send
//! instant rides in the pending map entry, so measuring adds no lock and no allocation.

use crate::config::ClientConfig;
use crate::error::Outcome;
use crate::metrics::NetworkMetrics;
use crate::protocol::KafkaRequest;
use crate::versions;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, Message, StrBytes};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// Largest response frame accepted. Fetch answers are bounded by `fetch.max.bytes` (50 MiB by
/// default); anything near this is a corrupt or hostile length, and poisons the connection.
pub const MAX_RESPONSE_FRAME: usize = 256 << 20;

/// Errors of one connection.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// TCP connect failed or timed out: nothing was sent.
    #[error("cannot connect to {addr}: {detail}")]
    Connect {
        /// Broker address.
        addr: String,
        /// Why.
        detail: String,
    },
    /// The connection was already dead; this request was not written.
    #[error("request not sent to {addr}: connection is dead ({cause})")]
    NotSent {
        /// Broker address.
        addr: String,
        /// What killed the connection.
        cause: Arc<str>,
    },
    /// The request was written (maybe partly) and the connection died before its answer.
    #[error("connection to {addr} lost with the request in flight ({cause})")]
    Lost {
        /// Broker address.
        addr: String,
        /// What killed the connection.
        cause: Arc<str>,
    },
    /// No answer within the request timeout; the connection was closed.
    #[error("{api} to {addr} got no answer within {millis} ms; connection closed")]
    Timeout {
        /// Broker address.
        addr: String,
        /// API name.
        api: &'static str,
        /// The timeout.
        millis: u64,
    },
    /// The request couldn't be encoded (a bug or an invalid field value); nothing was sent.
    #[error("cannot encode {api} v{version}: {detail}")]
    Encode {
        /// API name.
        api: &'static str,
        /// Version tried.
        version: i16,
        /// Codec's message.
        detail: String,
    },
    /// The answer arrived but its body couldn't be decoded.
    #[error("cannot decode {api} v{version} response from {addr}: {detail}")]
    Decode {
        /// Broker address.
        addr: String,
        /// API name.
        api: &'static str,
        /// Version.
        version: i16,
        /// Codec's message.
        detail: String,
    },
    /// The broker doesn't support any version of the API that we can encode.
    #[error("broker {addr} supports no version of {api} that kaflow can speak (broker: {broker})")]
    UnsupportedVersion {
        /// Broker address.
        addr: String,
        /// API name.
        api: &'static str,
        /// The broker's advertised range, or "none".
        broker: String,
    },
    /// ApiVersions at connection setup failed.
    #[error("ApiVersions handshake with {addr} failed: {detail}")]
    Handshake {
        /// Broker address.
        addr: String,
        /// Why.
        detail: String,
    },
}

impl ConnectionError {
    /// Whether a request that failed this way may have reached the broker.
    pub fn outcome(&self) -> Outcome {
        match self {
            ConnectionError::Connect { .. } | ConnectionError::NotSent { .. } => Outcome::Retriable,
            ConnectionError::Handshake { .. } => Outcome::Retriable,
            ConnectionError::Lost { .. }
            | ConnectionError::Timeout { .. }
            | ConnectionError::Decode { .. } => Outcome::PossiblyPersisted,
            ConnectionError::Encode { .. } | ConnectionError::UnsupportedVersion { .. } => Outcome::Fatal,
        }
    }
}

type Reply = oneshot::Sender<Result<Bytes, Arc<str>>>;

/// A request waiting for its answer: where to hand it, and what to measure when it comes.
#[derive(Debug)]
struct Waiter {
    reply: Reply,
    api: i16,
    sent: Instant,
}

/// Pending requests, or the reason the connection is dead.
#[derive(Debug)]
enum Pending {
    Open(HashMap<i32, Waiter>),
    Poisoned(Arc<str>),
}

#[derive(Debug)]
struct Writer {
    half: OwnedWriteHalf,
    next_correlation: i32,
}

#[derive(Debug)]
struct Inner {
    addr: String,
    client_id: StrBytes,
    request_timeout: Duration,
    writer: tokio::sync::Mutex<Writer>,
    pending: Mutex<Pending>,
    /// Negotiated version per API key (absent: the broker doesn't serve it).
    versions: std::sync::OnceLock<HashMap<i16, (i16, i16)>>,
    reader: Mutex<Option<tokio::task::JoinHandle<()>>>,
    metrics: Arc<NetworkMetrics>,
}

impl Inner {
    /// Marks the connection dead and fails every pending request. Idempotent.
    fn poison(&self, cause: &str) {
        let drained = {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            match std::mem::replace(&mut *p, Pending::Poisoned(Arc::from(cause))) {
                Pending::Open(map) => map,
                old @ Pending::Poisoned(_) => {
                    *p = old;
                    return;
                }
            }
        };
        tracing::debug!(addr = %self.addr, cause, pending = drained.len(), "connection poisoned");
        let cause: Arc<str> = Arc::from(cause);
        for (_, w) in drained {
            let _ = w.reply.send(Err(Arc::clone(&cause)));
        }
        if let Some(h) = self.reader.lock().unwrap_or_else(|e| e.into_inner()).take() {
            h.abort();
        }
    }

    fn poisoned(&self) -> Option<Arc<str>> {
        match &*self.pending.lock().unwrap_or_else(|e| e.into_inner()) {
            Pending::Poisoned(c) => Some(Arc::clone(c)),
            Pending::Open(_) => None,
        }
    }
}

/// A live connection (cheap to clone; all clones share the socket).
#[derive(Debug, Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(h) = self.reader.get_mut().ok().and_then(|r| r.take()) {
            h.abort();
        }
    }
}

impl Connection {
    /// Connects to `addr` and negotiates API versions; requests are counted in `metrics`.
    pub async fn connect(
        addr: &str,
        cfg: &ClientConfig,
        metrics: Arc<NetworkMetrics>,
    ) -> Result<Self, ConnectionError> {
        let connect_err = |detail: String| ConnectionError::Connect {
            addr: addr.to_string(),
            detail,
        };
        let stream = tokio::time::timeout(cfg.connection_setup_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| {
                connect_err(format!(
                    "no connection within {} ms",
                    cfg.connection_setup_timeout.as_millis()
                ))
            })?
            .map_err(|e| connect_err(e.to_string()))?;
        stream.set_nodelay(true).map_err(|e| connect_err(e.to_string()))?;
        let conn = Self::from_stream(stream, addr, cfg, metrics);
        conn.handshake().await?;
        Ok(conn)
    }

    /// Wraps an established stream (no handshake). Used by `connect` and by tests.
    pub fn from_stream(
        stream: TcpStream,
        addr: &str,
        cfg: &ClientConfig,
        metrics: Arc<NetworkMetrics>,
    ) -> Self {
        let (read, write) = stream.into_split();
        let inner = Arc::new(Inner {
            addr: addr.to_string(),
            client_id: StrBytes::from_string(cfg.client_id.clone()),
            request_timeout: cfg.request_timeout,
            writer: tokio::sync::Mutex::new(Writer {
                half: write,
                next_correlation: 0,
            }),
            pending: Mutex::new(Pending::Open(HashMap::new())),
            versions: std::sync::OnceLock::new(),
            reader: Mutex::new(None),
            metrics,
        });
        let task = tokio::spawn(read_loop(read, Arc::downgrade(&inner)));
        *inner.reader.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
        Self { inner }
    }

    /// ApiVersions: learn what the broker serves (KIP-511: a broker that doesn't know our
    /// ApiVersions version answers UNSUPPORTED_VERSION in v0 with its own range; retry with it).
    async fn handshake(&self) -> Result<(), ConnectionError> {
        let hs = |detail: String| ConnectionError::Handshake {
            addr: self.inner.addr.clone(),
            detail,
        };
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("kaflow"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let mut version = ApiVersionsRequest::VERSIONS.max;
        let mut resp = self.send_at(&req, version).await;
        if let Ok(r) = &resp {
            if r.error_code == 35 {
                let broker_max = r
                    .api_keys
                    .iter()
                    .find(|k| k.api_key == ApiKey::ApiVersions as i16)
                    .map(|k| k.max_version)
                    .unwrap_or(0);
                version = broker_max.min(ApiVersionsRequest::VERSIONS.max);
                resp = self.send_at(&req, version).await;
            }
        }
        let resp: ApiVersionsResponse = resp.map_err(|e| hs(e.to_string()))?;
        if resp.error_code != 0 {
            return Err(hs(format!("error code {}", resp.error_code)));
        }
        let table = resp
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        let _ = self.inner.versions.set(table);
        Ok(())
    }

    /// The broker address.
    pub fn addr(&self) -> &str {
        &self.inner.addr
    }

    /// Whether the stream has died (every later request fails with `NotSent`).
    pub fn is_dead(&self) -> bool {
        self.inner.poisoned().is_some()
    }

    /// Closes the connection: pending requests fail with `Lost`.
    pub fn close(&self, why: &str) {
        self.inner.poison(why);
    }

    /// The version `R` goes out at: the highest both sides support.
    pub fn version<R: KafkaRequest>(&self) -> Result<i16, ConnectionError> {
        let unsupported = |broker: String| ConnectionError::UnsupportedVersion {
            addr: self.inner.addr.clone(),
            api: R::NAME,
            broker,
        };
        let Some(table) = self.inner.versions.get() else {
            // Before the handshake only ApiVersions itself is sent, at an explicit version.
            return Err(unsupported("not negotiated yet".into()));
        };
        let (min, max) = *table
            .get(&(R::KEY as i16))
            .ok_or_else(|| unsupported("none".into()))?;
        versions::negotiate(R::KEY, min, max).ok_or_else(|| unsupported(format!("v{min}..=v{max}")))
    }

    /// Sends `req` at the negotiated version and waits for its answer.
    pub async fn send<R: KafkaRequest>(&self, req: &R) -> Result<R::Response, ConnectionError> {
        let v = self.version::<R>()?;
        self.send_at(req, v).await
    }

    /// Sends `req` at `version` and waits for its answer (at most `request.timeout.ms`).
    pub async fn send_at<R: KafkaRequest>(
        &self,
        req: &R,
        version: i16,
    ) -> Result<R::Response, ConnectionError> {
        self.send_at_with_timeout(req, version, self.inner.request_timeout)
            .await
    }

    /// Sends `req` at `version`, waiting at most `timeout` for the answer. When the timeout
    /// passes the connection is closed (see the module docs).
    pub async fn send_at_with_timeout<R: KafkaRequest>(
        &self,
        req: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response, ConnectionError> {
        self.begin(req, version, timeout).await?.wait().await
    }

    /// Writes `req` and returns once it is on the wire, with a handle for its answer. Requests
    /// begun one after another on a connection are written (and answered) in that order, which
    /// is what keeps a partition's pipelined produce batches in sequence.
    pub async fn begin<R: KafkaRequest>(
        &self,
        req: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<PendingResponse<R>, ConnectionError> {
        let frame = self.encode(req, version)?;
        let (tx, rx) = oneshot::channel();
        self.write(frame, Some(tx)).await?;
        Ok(PendingResponse {
            conn: self.clone(),
            rx,
            version,
            timeout,
            _req: std::marker::PhantomData,
        })
    }

    /// Sends a request that gets no answer (Produce with acks=0).
    pub async fn send_no_response<R: KafkaRequest>(
        &self,
        req: &R,
        version: i16,
    ) -> Result<(), ConnectionError> {
        let frame = self.encode(req, version)?;
        self.write(frame, None).await
    }

    fn encode<R: KafkaRequest>(&self, req: &R, version: i16) -> Result<BytesMut, ConnectionError> {
        let enc = |detail: String| ConnectionError::Encode {
            api: R::NAME,
            version,
            detail,
        };
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY as i16)
            .with_request_api_version(version)
            .with_client_id(Some(self.inner.client_id.clone()));
        let header_version = R::KEY.request_header_version(version);
        let size = 4
            + header
                .compute_size(header_version)
                .map_err(|e| enc(e.to_string()))?
            + req.compute_size(version).map_err(|e| enc(e.to_string()))?;
        let mut buf = BytesMut::with_capacity(size);
        buf.put_i32(0); // frame length, patched below
        header
            .encode(&mut buf, header_version)
            .map_err(|e| enc(e.to_string()))?;
        req.encode(&mut buf, version).map_err(|e| enc(e.to_string()))?;
        let len = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&len.to_be_bytes());
        Ok(buf)
    }

    /// Writes one frame. The correlation id is assigned and the reply registered under the
    /// writer lock, so ids go out in the order the broker will answer them.
    async fn write(&self, mut frame: BytesMut, reply: Option<Reply>) -> Result<(), ConnectionError> {
        let mut w = self.inner.writer.lock().await;
        let id = w.next_correlation;
        w.next_correlation = w.next_correlation.wrapping_add(1);
        // The correlation id sits right after size (4), api key (2) and version (2).
        frame[8..12].copy_from_slice(&id.to_be_bytes());
        let api = i16::from_be_bytes([frame[4], frame[5]]);
        {
            let mut p = self.inner.pending.lock().unwrap_or_else(|e| e.into_inner());
            match &mut *p {
                Pending::Poisoned(cause) => {
                    return Err(ConnectionError::NotSent {
                        addr: self.inner.addr.clone(),
                        cause: Arc::clone(cause),
                    })
                }
                Pending::Open(map) => {
                    if let Some(reply) = reply {
                        let sent = Instant::now();
                        map.insert(id, Waiter { reply, api, sent });
                    }
                }
            }
        }
        if let Err(e) = w.half.write_all(&frame).await {
            let cause = format!("write failed: {e}");
            drop(w);
            self.inner.poison(&cause);
            return Err(ConnectionError::Lost {
                addr: self.inner.addr.clone(),
                cause: Arc::from(cause),
            });
        }
        self.inner.metrics.record_sent(api, frame.len());
        Ok(())
    }

    fn decode<R: KafkaRequest>(&self, raw: Bytes, version: i16) -> Result<R::Response, ConnectionError> {
        decode_frame::<R>(&self.inner.addr, raw, version)
    }
}

/// Decodes a raw response frame body (header + message, the bytes after the size) as the
/// answer to API `key` at `version`, as a connection would. For fuzzing and tests: whatever the
/// bytes, the result is a value or an error, never a panic.
pub fn decode_response_frame(key: ApiKey, version: i16, frame: Bytes) -> Result<(), ConnectionError> {
    let range = crate::versions::codec_versions(key);
    macro_rules! by_key {
        ($($api:ident => $req:ty),* $(,)?) => {
            match key {
                $(ApiKey::$api if (range.min..=range.max).contains(&version) =>
                {
                    decode_frame::<$req>("", frame, version).map(drop)
                })*
                _ => Err(ConnectionError::Decode {
                    addr: String::new(),
                    api: "unknown",
                    version,
                    detail: format!("{key:?} v{version} is not something kaflow speaks"),
                }),
            }
        };
    }
    use kafka_protocol::messages::*;
    by_key! {
        Produce => ProduceRequest,
        Fetch => FetchRequest,
        ListOffsets => ListOffsetsRequest,
        Metadata => MetadataRequest,
        OffsetCommit => OffsetCommitRequest,
        OffsetFetch => OffsetFetchRequest,
        FindCoordinator => FindCoordinatorRequest,
        JoinGroup => JoinGroupRequest,
        Heartbeat => HeartbeatRequest,
        LeaveGroup => LeaveGroupRequest,
        SyncGroup => SyncGroupRequest,
        ApiVersions => ApiVersionsRequest,
        CreateTopics => CreateTopicsRequest,
        DeleteTopics => DeleteTopicsRequest,
        InitProducerId => InitProducerIdRequest,
        AddPartitionsToTxn => AddPartitionsToTxnRequest,
        AddOffsetsToTxn => AddOffsetsToTxnRequest,
        EndTxn => EndTxnRequest,
        TxnOffsetCommit => TxnOffsetCommitRequest,
        DescribeConfigs => DescribeConfigsRequest,
        IncrementalAlterConfigs => IncrementalAlterConfigsRequest,
        DescribeCluster => DescribeClusterRequest,
        CreatePartitions => CreatePartitionsRequest,
        DeleteRecords => DeleteRecordsRequest,
        DeleteGroups => DeleteGroupsRequest,
        OffsetDelete => OffsetDeleteRequest,
    }
}

/// The APIs [`decode_response_frame`] knows: every response kaflow decodes.
pub const DECODED_APIS: &[ApiKey] = &[
    ApiKey::Produce,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::Metadata,
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
    ApiKey::FindCoordinator,
    ApiKey::JoinGroup,
    ApiKey::Heartbeat,
    ApiKey::LeaveGroup,
    ApiKey::SyncGroup,
    ApiKey::ApiVersions,
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
    ApiKey::InitProducerId,
    ApiKey::AddPartitionsToTxn,
    ApiKey::AddOffsetsToTxn,
    ApiKey::EndTxn,
    ApiKey::TxnOffsetCommit,
    ApiKey::DescribeConfigs,
    ApiKey::IncrementalAlterConfigs,
    ApiKey::DescribeCluster,
    ApiKey::CreatePartitions,
    ApiKey::DeleteRecords,
    ApiKey::DeleteGroups,
    ApiKey::OffsetDelete,
];

/// Decodes a response frame body (header, then message) as the answer to `R` at `version`.
fn decode_frame<R: KafkaRequest>(
    addr: &str,
    mut raw: Bytes,
    version: i16,
) -> Result<R::Response, ConnectionError> {
    let dec = |detail: String| ConnectionError::Decode {
        addr: addr.to_string(),
        api: R::NAME,
        version,
        detail,
    };
    ResponseHeader::decode(&mut raw, R::KEY.response_header_version(version))
        .map_err(|e| dec(e.to_string()))?;
    let body = raw.clone();
    match bounded_decode::<R>(&mut raw, version) {
        Ok(r) => Ok(r),
        // KIP-511: a broker that doesn't know our ApiVersions version answers
        // UNSUPPORTED_VERSION encoded as v0, whatever version we asked with.
        Err(_) if R::KEY == ApiKey::ApiVersions && version > 0 => {
            bounded_decode::<R>(&mut body.clone(), 0).map_err(dec)
        }
        Err(e) => Err(dec(e)),
    }
}

/// kafka-protocol's decode, after the bounds check that keeps it from allocating what a
/// hostile count asks for (invariant I11; see protocol::bounds).
fn bounded_decode<R: KafkaRequest>(body: &mut Bytes, version: i16) -> Result<R::Response, String> {
    let shape = crate::protocol::response_shape(R::KEY)
        .ok_or_else(|| format!("no wire shape for {} responses", R::NAME))?;
    crate::protocol::bounds::check(shape, version, body).map_err(|e| e.to_string())?;
    R::Response::decode(body, version).map_err(|e| e.to_string())
}

/// The answer to a request already written (see [`Connection::begin`]).
#[derive(Debug)]
pub struct PendingResponse<R: KafkaRequest> {
    conn: Connection,
    rx: oneshot::Receiver<Result<Bytes, Arc<str>>>,
    version: i16,
    timeout: Duration,
    _req: std::marker::PhantomData<fn() -> R>,
}

impl<R: KafkaRequest> PendingResponse<R> {
    /// Waits for the answer, at most the request timeout; on timeout the connection is closed.
    pub async fn wait(self) -> Result<R::Response, ConnectionError> {
        let inner = &self.conn.inner;
        let raw = match tokio::time::timeout(self.timeout, self.rx).await {
            Err(_) => {
                let e = ConnectionError::Timeout {
                    addr: inner.addr.clone(),
                    api: R::NAME,
                    millis: self.timeout.as_millis() as u64,
                };
                inner.poison(&e.to_string());
                return Err(e);
            }
            Ok(Err(_)) | Ok(Ok(Err(_))) => {
                let cause = inner.poisoned().unwrap_or_else(|| Arc::from("reader stopped"));
                return Err(ConnectionError::Lost {
                    addr: inner.addr.clone(),
                    cause,
                });
            }
            Ok(Ok(Ok(raw))) => raw,
        };
        self.conn.decode::<R>(raw, self.version)
    }

    /// The broker address.
    pub fn addr(&self) -> &str {
        self.conn.addr()
    }
}

/// Reads frames until the stream ends or misbehaves, handing each to its waiting request.
async fn read_loop(read: OwnedReadHalf, inner: std::sync::Weak<Inner>) {
    let mut reader = BufReader::with_capacity(64 * 1024, read);
    let cause = loop {
        let len = match reader.read_i32().await {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                break "broker closed the connection".into()
            }
            Err(e) => break format!("read failed: {e}"),
        };
        if len < 4 || len as usize > MAX_RESPONSE_FRAME {
            break format!("invalid response frame length {len}");
        }
        let mut buf = BytesMut::zeroed(len as usize);
        if let Err(e) = reader.read_exact(&mut buf).await {
            break format!("read failed mid-frame: {e}");
        }
        let frame = buf.freeze();
        let correlation = (&frame[..4]).get_i32();
        let Some(inner) = inner.upgrade() else { return };
        let waiter = match &mut *inner.pending.lock().unwrap_or_else(|e| e.into_inner()) {
            Pending::Open(map) => map.remove(&correlation),
            Pending::Poisoned(_) => return,
        };
        match waiter {
            Some(w) => {
                // The frame and its 4-byte size prefix.
                inner
                    .metrics
                    .record_response(w.api, frame.len() + 4, w.sent.elapsed());
                let _ = w.reply.send(Ok(frame));
            }
            // Kafka answers in order, so an id nobody waits for is out of sync with us: we can't
            // trust which answer belongs to which request any more.
            None => break format!("response with unexpected correlation id {correlation}"),
        }
    };
    if let Some(inner) = inner.upgrade() {
        inner.poison(&cause);
    }
}

#[cfg(test)]
mod tests {
    //! Connection behaviour against a scripted peer on loopback: a real socket, our own frames.
    use super::*;
    use kafka_protocol::messages::ApiVersionsRequest;
    use tokio::net::TcpListener;

    fn cfg(timeout_ms: u64) -> ClientConfig {
        let mut c = ClientConfig::new("127.0.0.1:1").expect("config");
        c.request_timeout = Duration::from_millis(timeout_ms);
        c
    }

    /// A peer that accepts one connection; `script` drives it.
    async fn peer<F, Fut>(script: F) -> (Connection, tokio::task::JoinHandle<()>)
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        peer_with(2_000, Arc::default(), script).await
    }

    /// [`peer`] with a request timeout and the connection's metrics.
    async fn peer_with<F, Fut>(
        timeout_ms: u64,
        metrics: Arc<NetworkMetrics>,
        script: F,
    ) -> (Connection, tokio::task::JoinHandle<()>)
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let task = tokio::spawn(async move {
            let (s, _) = listener.accept().await.expect("accept");
            script(s).await;
        });
        let stream = TcpStream::connect(&addr).await.expect("connect");
        (
            Connection::from_stream(stream, &addr, &cfg(timeout_ms), metrics),
            task,
        )
    }

    /// Reads one request frame; returns its correlation id.
    async fn read_request(s: &mut TcpStream) -> Option<i32> {
        let len = s.read_i32().await.ok()?;
        let mut buf = vec![0u8; len as usize];
        s.read_exact(&mut buf).await.ok()?;
        Some(i32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]))
    }

    /// An ApiVersions v0 answer: header (correlation id), error 0, one api key entry.
    fn api_versions_v0(correlation: i32) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&correlation.to_be_bytes());
        body.extend_from_slice(&0i16.to_be_bytes());
        body.extend_from_slice(&1i32.to_be_bytes());
        body.extend_from_slice(&18i16.to_be_bytes());
        body.extend_from_slice(&0i16.to_be_bytes());
        body.extend_from_slice(&4i16.to_be_bytes());
        let mut frame = (body.len() as i32).to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        frame
    }

    fn req() -> ApiVersionsRequest {
        ApiVersionsRequest::default()
    }

    #[tokio::test]
    async fn pipelined_requests_are_answered_in_order() {
        let (conn, peer) = peer(|mut s| async move {
            let mut ids = Vec::new();
            for _ in 0..5 {
                ids.push(read_request(&mut s).await.expect("request"));
            }
            // All five were written before any answer: they were pipelined.
            for id in ids {
                s.write_all(&api_versions_v0(id)).await.expect("write");
            }
        })
        .await;
        let sends = (0..5).map(|_| {
            let c = conn.clone();
            async move { c.send_at(&req(), 0).await }
        });
        for r in futures_join_all(sends).await {
            assert_eq!(r.expect("answer").api_keys.len(), 1);
        }
        peer.await.expect("peer");
    }

    #[tokio::test]
    async fn requests_and_answers_are_measured_per_api() {
        let metrics = Arc::new(NetworkMetrics::default());
        let (conn, peer) = peer_with(300, Arc::clone(&metrics), |mut s| async move {
            let first = read_request(&mut s).await.expect("request");
            tokio::time::sleep(Duration::from_millis(20)).await;
            s.write_all(&api_versions_v0(first)).await.expect("write");
            // The second stays unanswered until the client gives up.
            read_request(&mut s).await.expect("request");
            let _ = read_request(&mut s).await;
        })
        .await;
        conn.send_at(&req(), 0).await.expect("answer");
        assert!(conn.send_at(&req(), 0).await.is_err());
        let s = metrics.snapshot();
        assert_eq!(s.apis.len(), 1);
        let api = &s.apis[0];
        assert_eq!((api.api.as_str(), api.requests), ("ApiVersions", 2));
        // Only the answered one has a latency, and it includes the peer's 20 ms pause.
        assert_eq!(api.latency_micros.count, 1);
        assert!(api.latency_micros.max >= 20_000, "{:?}", api.latency_micros);
        assert!(s.outgoing_bytes > 0 && s.incoming_bytes == api_versions_v0(0).len() as u64);
        drop(conn);
        peer.await.expect("peer");
    }

    #[tokio::test]
    async fn i10_dead_stream_fails_every_pending_request() {
        let (conn, peer) = peer(|mut s| async move {
            for _ in 0..3 {
                read_request(&mut s).await.expect("request");
            }
            // Hang up with three requests pending.
        })
        .await;
        let sends = (0..3).map(|_| {
            let c = conn.clone();
            async move { c.send_at(&req(), 0).await }
        });
        let results = futures_join_all(sends).await;
        peer.await.expect("peer");
        for r in &results {
            assert!(matches!(r, Err(ConnectionError::Lost { .. })), "{r:?}");
            assert_eq!(r.as_ref().unwrap_err().outcome(), Outcome::PossiblyPersisted);
        }
        assert!(conn.is_dead());
        let later = conn.send_at(&req(), 0).await;
        assert!(matches!(later, Err(ConnectionError::NotSent { .. })), "{later:?}");
        assert_eq!(later.unwrap_err().outcome(), Outcome::Retriable);
    }

    #[tokio::test]
    async fn i11_negative_frame_length_poisons_the_connection() {
        let (conn, peer) = peer(|mut s| async move {
            read_request(&mut s).await.expect("request");
            s.write_all(&(-5i32).to_be_bytes()).await.expect("write");
            // Keep the socket open: the poison must come from the bad length, not EOF.
            let _ = read_request(&mut s).await;
        })
        .await;
        let r = conn.send_at(&req(), 0).await;
        match r {
            Err(ConnectionError::Lost { cause, .. }) => assert!(cause.contains("frame length -5"), "{cause}"),
            other => panic!("expected Lost, got {other:?}"),
        }
        assert!(conn.is_dead());
        drop(conn);
        peer.await.expect("peer");
    }

    #[tokio::test]
    async fn i11_garbage_body_fails_only_its_own_request() {
        let (conn, peer) = peer(|mut s| async move {
            let first = read_request(&mut s).await.expect("request");
            let second = read_request(&mut s).await.expect("request");
            // First answer: right correlation id, body cut short (a lying array count).
            let mut body = first.to_be_bytes().to_vec();
            body.extend_from_slice(&0i16.to_be_bytes());
            body.extend_from_slice(&1_000_000i32.to_be_bytes());
            let mut frame = (body.len() as i32).to_be_bytes().to_vec();
            frame.extend_from_slice(&body);
            s.write_all(&frame).await.expect("write");
            s.write_all(&api_versions_v0(second)).await.expect("write");
            let _ = read_request(&mut s).await;
        })
        .await;
        let c1 = conn.clone();
        let c2 = conn.clone();
        let first = tokio::spawn(async move { c1.send_at(&req(), 0).await });
        // Make sure the first is written first.
        tokio::task::yield_now().await;
        let second = tokio::spawn(async move { c2.send_at(&req(), 0).await });
        let (first, second) = (first.await.expect("join"), second.await.expect("join"));
        let ok_count = [&first, &second].iter().filter(|r| r.is_ok()).count();
        let decode_count = [&first, &second]
            .iter()
            .filter(|r| matches!(r, Err(ConnectionError::Decode { .. })))
            .count();
        assert_eq!((ok_count, decode_count), (1, 1), "{first:?} / {second:?}");
        assert!(!conn.is_dead(), "a bad body must not poison the connection");
        drop(conn);
        peer.await.expect("peer");
    }

    #[tokio::test]
    async fn unanswered_request_times_out_and_closes_the_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let peer = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            read_request(&mut s).await.expect("request");
            // Silent; then observe the client closing the connection.
            let mut byte = [0u8; 1];
            s.read(&mut byte).await.map(|n| n == 0).unwrap_or(true)
        });
        let stream = TcpStream::connect(&addr).await.expect("connect");
        let conn = Connection::from_stream(stream, &addr, &cfg(200), Arc::default());
        let r = conn.send_at(&req(), 0).await;
        assert!(matches!(r, Err(ConnectionError::Timeout { .. })), "{r:?}");
        assert_eq!(r.unwrap_err().outcome(), Outcome::PossiblyPersisted);
        assert!(conn.is_dead());
        drop(conn);
        assert!(
            peer.await.expect("peer"),
            "client did not close the connection after the timeout"
        );
    }

    #[tokio::test]
    async fn unexpected_correlation_id_poisons() {
        let (conn, peer) = peer(|mut s| async move {
            let id = read_request(&mut s).await.expect("request");
            s.write_all(&api_versions_v0(id + 100)).await.expect("write");
            let _ = read_request(&mut s).await;
        })
        .await;
        let r = conn.send_at(&req(), 0).await;
        match r {
            Err(ConnectionError::Lost { cause, .. }) => assert!(cause.contains("correlation"), "{cause}"),
            other => panic!("expected Lost, got {other:?}"),
        }
        drop(conn);
        peer.await.expect("peer");
    }

    /// Polls futures concurrently on this task, keeping their order (no extra dependency).
    async fn futures_join_all<F: std::future::Future>(futs: impl IntoIterator<Item = F>) -> Vec<F::Output> {
        let handles: Vec<_> = futs.into_iter().map(Box::pin).collect();
        let mut out: Vec<Option<F::Output>> = handles.iter().map(|_| None).collect();
        let mut handles: Vec<_> = handles.into_iter().map(Some).collect();
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (i, h) in handles.iter_mut().enumerate() {
                if let Some(f) = h {
                    match f.as_mut().poll(cx) {
                        std::task::Poll::Ready(v) => {
                            out[i] = Some(v);
                            *h = None;
                        }
                        std::task::Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        out.into_iter().map(|o| o.expect("completed")).collect()
    }
}
