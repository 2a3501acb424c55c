//! One client connection: read a frame, decode the header and body, consult the controls,
//! dispatch to a handler, write the response; then the next frame.
//!
//! Like a real broker (whose socket server mutes a connection until its response is sent), a
//! connection handles one request at a time, so responses leave in request order even when a
//! control delays one.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Decodable, Encodable};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::control::{Action, ControlRequest};
use crate::handlers;

/// Kafka's default `socket.request.max.bytes` (100 MiB).
pub(crate) const MAX_REQUEST_BYTES: i32 = 104_857_600;

/// Why a connection was closed by the broker side.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    /// Socket error.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The 4-byte size prefix is negative or larger than `socket.request.max.bytes`.
    #[error("invalid request size {0}")]
    FrameSize(i32),
    /// The frame is too short to hold a request header.
    #[error("request frame of {0} bytes is too short for a header")]
    ShortFrame(usize),
    /// Unknown API key.
    #[error("unknown api key {0}")]
    UnknownApiKey(i16),
    /// An API the fake broker does not implement, or a version it does not advertise.
    #[error("unsupported api {key:?} v{version}")]
    Unsupported {
        /// API key.
        key: ApiKey,
        /// Requested version.
        version: i16,
    },
    /// kafka-protocol could not decode the header or body.
    #[error("cannot decode {what}: {msg}")]
    Decode {
        /// Which part.
        what: &'static str,
        /// kafka-protocol's message.
        msg: String,
    },
    /// kafka-protocol could not encode a response (e.g. a synthetic response sets a field the
    /// negotiated version lacks).
    #[error("cannot encode {key:?} v{version} response: {msg}")]
    Encode {
        /// API key.
        key: ApiKey,
        /// Version.
        version: i16,
        /// kafka-protocol's message.
        msg: String,
    },
}

/// How a connection ended.
enum End {
    /// The client closed it.
    Client,
    /// A fault (control action or node stop) closed it.
    Fault,
}

pub(crate) async fn serve(
    shared: Arc<crate::cluster::Shared>,
    node: i32,
    mut stream: TcpStream,
    mut shutdown: watch::Receiver<bool>,
) {
    let result = tokio::select! {
        biased;
        _ = shutdown.changed() => Ok(End::Fault),
        r = serve_inner(&shared, node, &mut stream) => r,
    };
    match result {
        Ok(End::Client) => tracing::debug!(node, "fake broker: client closed connection"),
        Ok(End::Fault) => {
            shared.closed_by_fault.fetch_add(1, Ordering::SeqCst);
            tracing::debug!(node, "fake broker: connection closed by fault");
        }
        Err(e) => tracing::warn!(node, error = %e, "fake broker: closing connection"),
    }
    let _ = stream.shutdown().await;
}

async fn read_frame(stream: &mut TcpStream) -> Result<Option<Bytes>, ConnError> {
    let mut size = [0u8; 4];
    match stream.read_exact(&mut size).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let size = i32::from_be_bytes(size);
    if !(0..=MAX_REQUEST_BYTES).contains(&size) {
        return Err(ConnError::FrameSize(size));
    }
    let mut buf = vec![0u8; size as usize];
    match stream.read_exact(&mut buf).await {
        Ok(_) => Ok(Some(Bytes::from(buf))),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn serve_inner(
    shared: &crate::cluster::Shared,
    node: i32,
    stream: &mut TcpStream,
) -> Result<End, ConnError> {
    loop {
        let Some(mut frame) = read_frame(stream).await? else {
            return Ok(End::Client);
        };
        if frame.len() < 8 {
            return Err(ConnError::ShortFrame(frame.len()));
        }
        let raw_key = (&frame[0..2]).get_i16();
        let version = (&frame[2..4]).get_i16();
        let key = ApiKey::try_from(raw_key).map_err(|_| ConnError::UnknownApiKey(raw_key))?;
        let header = RequestHeader::decode(&mut frame, key.request_header_version(version)).map_err(|e| {
            ConnError::Decode {
                what: "request header",
                msg: e.to_string(),
            }
        })?;
        let correlation_id = header.correlation_id;

        // KIP-511: an ApiVersions request newer than we know is answered, as v0, with
        // UNSUPPORTED_VERSION and our ApiVersions range, so the client can retry with one we do.
        if key == ApiKey::ApiVersions && version > handlers::max_version(key).unwrap_or(0) {
            shared.count_request(key);
            let resp = ResponseKind::ApiVersions(handlers::api_18_api_versions::unsupported_version());
            write_response(stream, key, 0, correlation_id, &resp).await?;
            continue;
        }
        match handlers::max_version(key) {
            Some(max) if version >= handlers::min_version(key) && version <= max => {}
            // A real broker closes the connection on an unsupported version of any other API.
            _ => return Err(ConnError::Unsupported { key, version }),
        }
        let request = RequestKind::decode(key, &mut frame, version).map_err(|e| ConnError::Decode {
            what: "request body",
            msg: e.to_string(),
        })?;
        let seq = shared.count_request(key);
        let req = ControlRequest {
            node,
            header,
            request,
            seq,
        };

        let action = shared.consult(key, &req);
        let response = match action {
            Action::Pass => handlers::handle(shared, &req).await,
            Action::Respond(r) => r,
            Action::RespondWith(f) => f(&req),
            Action::HandleThenRespond(f) => {
                let real = handlers::handle(shared, &req).await;
                f(&req, real)
            }
            Action::Drop => return Ok(End::Fault),
            Action::HandleThenDrop => {
                let _ = handlers::handle(shared, &req).await;
                return Ok(End::Fault);
            }
            Action::Delay(d) => {
                tokio::time::sleep(d).await;
                handlers::handle(shared, &req).await
            }
            Action::Silence => return hang(stream).await,
            Action::Garbage(bytes) => {
                stream.write_all(&bytes).await?;
                continue;
            }
        };
        if let (RequestKind::Produce(p), ResponseKind::Produce(r)) = (&req.request, &response) {
            if p.acks == 0 {
                // No response for acks=0. Kafka closes the connection when such a produce failed:
                // it is the only way to tell the client.
                let failed = r
                    .responses
                    .iter()
                    .flat_map(|t| &t.partition_responses)
                    .any(|p| p.error_code != 0);
                if failed {
                    return Ok(End::Fault);
                }
                continue;
            }
        }
        write_response(stream, key, version, correlation_id, &response).await?;
    }
}

/// After `Action::Silence`: read and discard until the client closes.
async fn hang(stream: &mut TcpStream) -> Result<End, ConnError> {
    let mut buf = [0u8; 4096];
    loop {
        if stream.read(&mut buf).await? == 0 {
            return Ok(End::Client);
        }
    }
}

async fn write_response(
    stream: &mut TcpStream,
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    resp: &ResponseKind,
) -> Result<(), ConnError> {
    let enc = |msg: String| ConnError::Encode { key, version, msg };
    let mut body = BytesMut::with_capacity(256);
    body.put_i32(0); // size, patched below
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut body, key.response_header_version(version))
        .map_err(|e| enc(e.to_string()))?;
    resp.encode(&mut body, version).map_err(|e| enc(e.to_string()))?;
    let size = (body.len() - 4) as i32;
    body[..4].copy_from_slice(&size.to_be_bytes());
    stream.write_all(&body).await?;
    Ok(())
}
