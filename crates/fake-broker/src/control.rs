//! Fault injection: controls intercept requests by API key and pick an [`Action`].

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ApiKey, ProduceResponse, RequestHeader, RequestKind, ResponseKind};

use crate::cluster::Shared;

/// One decoded request, as shown to a control function.
#[derive(Debug)]
pub struct ControlRequest {
    /// Node (broker id) that received the request.
    pub node: i32,
    /// The decoded request header (api key, version, correlation id, client id).
    pub header: RequestHeader,
    /// The decoded request body.
    pub request: RequestKind,
    /// 0-based index of this request among all requests of its API key the cluster has received
    /// (across nodes): the first Produce has `seq == 0`.
    pub seq: usize,
}

impl ControlRequest {
    /// The request's API version.
    pub fn version(&self) -> i16 {
        self.header.request_api_version
    }
}

/// Builds a response from the intercepted request.
pub type RespondFn = Box<dyn FnOnce(&ControlRequest) -> ResponseKind + Send>;
/// Rewrites the response the broker produced after handling the request normally.
pub type RewriteFn = Box<dyn FnOnce(&ControlRequest, ResponseKind) -> ResponseKind + Send>;

/// What to do with an intercepted request.
///
/// Responses on one connection always leave in request order, as Kafka guarantees: like a real
/// broker, a connection handles one request at a time, so `Delay` and `Silence` hold back every
/// later request on that connection too.
// One Action per request: the size of `Respond` costs nothing, and unboxed it keeps
// `Action::Respond(ResponseKind::Produce(..))` simple to write.
#[allow(clippy::large_enum_variant)]
pub enum Action {
    /// Handle normally (and let older controls for the same key have a look first).
    Pass,
    /// Send this response instead of handling the request (nothing is appended).
    Respond(ResponseKind),
    /// Like [`Action::Respond`], built from the request (see [`Action::produce_error`]).
    RespondWith(RespondFn),
    /// Handle normally (append to the log!), then send the rewritten response
    /// (see [`Action::produce_error_after_append`]).
    HandleThenRespond(RewriteFn),
    /// Close the connection without handling: the request is lost before the write.
    Drop,
    /// Handle (append to the log!) then close the connection without responding: the response
    /// is lost after the write.
    HandleThenDrop,
    /// Wait, then handle normally. The connection serves nothing else meanwhile.
    Delay(Duration),
    /// Never answer this request and keep the connection open. Later requests on the connection
    /// are read and discarded (an answer to them would break response ordering), so the
    /// connection is hung until the client closes it or the node stops.
    Silence,
    /// Write these bytes to the socket verbatim instead of a response (include your own 4-byte
    /// size prefix if you want one), then keep serving the connection.
    Garbage(Bytes),
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Pass => f.write_str("Pass"),
            Action::Respond(r) => f.debug_tuple("Respond").field(r).finish(),
            Action::RespondWith(_) => f.write_str("RespondWith(..)"),
            Action::HandleThenRespond(_) => f.write_str("HandleThenRespond(..)"),
            Action::Drop => f.write_str("Drop"),
            Action::HandleThenDrop => f.write_str("HandleThenDrop"),
            Action::Delay(d) => f.debug_tuple("Delay").field(d).finish(),
            Action::Silence => f.write_str("Silence"),
            Action::Garbage(b) => f.debug_tuple("Garbage").field(b).finish(),
        }
    }
}

impl Action {
    /// Answers every partition of a Produce request with `code` without appending anything
    /// (base offset -1, log start offset -1). Answers a non-Produce request with an empty
    /// ProduceResponse, which the client will reject: use it on `ApiKey::Produce` controls.
    pub fn produce_error(code: i16) -> Action {
        Action::RespondWith(Box::new(move |req| {
            ResponseKind::Produce(produce_error_response(req, code))
        }))
    }

    /// Appends normally, then answers every partition with `code` (e.g. 20,
    /// NOT_ENOUGH_REPLICAS_AFTER_APPEND, or 7, REQUEST_TIMED_OUT): the write happened but the
    /// client is told it failed.
    pub fn produce_error_after_append(code: i16) -> Action {
        Action::HandleThenRespond(Box::new(move |req, _| {
            ResponseKind::Produce(produce_error_response(req, code))
        }))
    }
}

/// A ProduceResponse answering every partition of `req` with `code`.
pub fn produce_error_response(req: &ControlRequest, code: i16) -> ProduceResponse {
    let RequestKind::Produce(p) = &req.request else {
        return ProduceResponse::default();
    };
    let responses = p
        .topic_data
        .iter()
        .map(|t| {
            let mut r = TopicProduceResponse::default().with_partition_responses(
                t.partition_data
                    .iter()
                    .map(|pd| {
                        PartitionProduceResponse::default()
                            .with_index(pd.index)
                            .with_error_code(code)
                            .with_base_offset(-1)
                    })
                    .collect(),
            );
            // Only the field valid for the version is encoded.
            r.name = t.name.clone();
            r.topic_id = t.topic_id;
            r
        })
        .collect();
    ProduceResponse::default().with_responses(responses)
}

pub(crate) type ControlFn = Box<dyn FnMut(&ControlRequest) -> Action + Send>;

pub(crate) struct ControlEntry {
    pub(crate) id: u64,
    pub(crate) key: ApiKey,
    pub(crate) f: Arc<Mutex<ControlFn>>,
    pub(crate) hits: Arc<AtomicUsize>,
}

/// Keeps a control installed; dropping it (or [`ControlHandle::remove`]) removes the control.
#[must_use = "dropping a ControlHandle removes the control at once"]
pub struct ControlHandle {
    pub(crate) shared: Arc<Shared>,
    pub(crate) id: u64,
    pub(crate) hits: Arc<AtomicUsize>,
    pub(crate) keep: bool,
}

impl fmt::Debug for ControlHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ControlHandle")
            .field("id", &self.id)
            .field("hits", &self.hits())
            .finish()
    }
}

impl ControlHandle {
    /// How many times the control returned something other than [`Action::Pass`].
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Removes the control now (same as dropping the handle).
    pub fn remove(self) {}

    /// Keeps the control installed for the cluster's lifetime.
    pub fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for ControlHandle {
    fn drop(&mut self) {
        if !self.keep {
            self.shared.remove_control(self.id);
        }
    }
}
