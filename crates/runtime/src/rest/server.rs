//! The HTTP side: bind the listeners, one tokio task per connection (HTTP/1.1 keep-alive via
//! hyper), read the body with a size limit, parse the JSON, call [`routes::route`], write
//! Connect's JSON or error body. A bad request only ever costs its own connection.

use super::auth::BasicAuth;
use super::error::RestError;
use super::listeners::Listener;
use super::loggers::{self, LogLevels};
use super::metrics;
use super::routes::{self, Method, Request, Response};
use crate::herder::Herder;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The worker the API manages, shared with the process's main loop.
pub type SharedWorker = Arc<tokio::sync::Mutex<dyn Herder>>;

/// Largest request body accepted (a connector config is a few kB; this leaves room for big
/// transform chains while a 10 MB body is refused with 413).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// What the server offers besides the worker's resources.
#[derive(Clone, Default)]
pub struct RestOptions {
    /// The process's log levels, for `/admin/loggers` (404 without).
    pub loggers: Option<Arc<dyn LogLevels>>,
    /// HTTP Basic credentials every request must carry, when set.
    pub auth: Option<BasicAuth>,
}

impl std::fmt::Debug for RestOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestOptions")
            .field("loggers", &self.loggers.is_some())
            .field("auth", &self.auth)
            .finish()
    }
}

struct Shared {
    worker: SharedWorker,
    options: RestOptions,
}

/// A running REST server; dropping it (or [`RestServer::shutdown`]) stops accepting.
#[derive(Debug)]
pub struct RestServer {
    bound: Vec<SocketAddr>,
    accept: Vec<JoinHandle<()>>,
}

impl RestServer {
    /// Binds every listener and starts serving `worker`. Fails, naming the listener, if one
    /// can't be bound (as Connect fails to start).
    pub async fn start(
        listeners: &[Listener],
        worker: SharedWorker,
        options: RestOptions,
    ) -> Result<Self, String> {
        let shared = Arc::new(Shared { worker, options });
        let mut bound = Vec::new();
        let mut accept = Vec::new();
        for l in listeners {
            let tcp = TcpListener::bind(l.addr)
                .await
                .map_err(|e| format!("REST listener {}: cannot bind: {e}", l.addr))?;
            let addr = tcp
                .local_addr()
                .map_err(|e| format!("REST listener {}: {e}", l.addr))?;
            tracing::info!("REST API listening on http://{addr}/");
            bound.push(addr);
            accept.push(tokio::spawn(accept_loop(tcp, Arc::clone(&shared))));
        }
        Ok(Self { bound, accept })
    }

    /// The addresses actually bound (port 0 resolved).
    pub fn bound(&self) -> &[SocketAddr] {
        &self.bound
    }

    /// Stops accepting connections.
    pub fn shutdown(&mut self) {
        for a in self.accept.drain(..) {
            a.abort();
        }
    }
}

impl Drop for RestServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn accept_loop(tcp: TcpListener, shared: Arc<Shared>) {
    loop {
        let (stream, peer) = match tcp.accept().await {
            Ok(s) => s,
            Err(e) => {
                // EMFILE and friends: keep serving the connections we have, try again.
                tracing::warn!(error = %e, "REST accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(handle(&shared, req).await) }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, error = %e, "REST connection ended with an error");
            }
        });
    }
}

async fn handle(shared: &Shared, req: hyper::Request<hyper::body::Incoming>) -> hyper::Response<Full<Bytes>> {
    let started = std::time::Instant::now();
    let method_name = req.method().to_string();
    let path = req.uri().path().to_string();
    if let Some(auth) = &shared.options.auth {
        if let Err(e) = auth.check(req.headers().get(AUTHORIZATION).map(HeaderValue::as_bytes)) {
            // Logged by path and reason (which names the user, never the password).
            tracing::warn!(method = %method_name, path = %path, reason = %e, "REST request refused: 401");
            let mut out = render(error_response(RestError::new(401, e.to_string())));
            out.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"kaflow\""),
            );
            return out;
        }
    }
    if req.method() == hyper::Method::GET && path == "/metrics" {
        let text = metrics::render(&*shared.worker.lock().await);
        let mut out = hyper::Response::new(Full::new(Bytes::from(text)));
        out.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(metrics::CONTENT_TYPE));
        return out;
    }
    let response = match parse(req).await {
        Ok(r) => match loggers::route(shared.options.loggers.as_deref(), &r) {
            Some(Ok((status, body))) => Ok(Response {
                status,
                body,
                location: None,
            }),
            Some(Err(e)) => Err(e),
            None => routes::route(&shared.worker, r).await,
        },
        Err(e) => Err(e),
    };
    let response = response.unwrap_or_else(error_response);
    tracing::debug!(
        method = %method_name,
        path = %path,
        status = response.status,
        ms = started.elapsed().as_millis() as u64,
        "REST request"
    );
    render(response)
}

fn error_response(e: RestError) -> Response {
    Response {
        status: e.status,
        body: Some(e.body()),
        location: None,
    }
}

fn render(r: Response) -> hyper::Response<Full<Bytes>> {
    let body = r
        .body
        .map(|b| Bytes::from(serde_json::to_vec(&b).unwrap_or_default()))
        .unwrap_or_default();
    let has_body = !body.is_empty();
    let mut out = hyper::Response::new(Full::new(body));
    *out.status_mut() =
        hyper::StatusCode::from_u16(r.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    if has_body {
        out.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    if let Some(loc) = r.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        out.headers_mut().insert(LOCATION, loc);
    }
    out
}

async fn parse(req: hyper::Request<hyper::body::Incoming>) -> Result<Request, RestError> {
    let method = match *req.method() {
        hyper::Method::GET => Method::Get,
        hyper::Method::POST => Method::Post,
        hyper::Method::PUT => Method::Put,
        hyper::Method::PATCH => Method::Patch,
        hyper::Method::DELETE => Method::Delete,
        _ => Method::Other,
    };
    let segments: Vec<String> = req
        .uri()
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let query = req.uri().query().map(parse_query).unwrap_or_default();
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    let bytes = Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                RestError::new(413, format!("request body is larger than {MAX_BODY_BYTES} bytes"))
            } else {
                RestError::bad_request(format!("cannot read the request body: {e}"))
            }
        })?
        .to_bytes();
    let body = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        // Connect's resources consume application/json only (Jersey answers 415 otherwise).
        match content_type.as_deref() {
            Some(ct) if ct.starts_with("application/json") => {}
            _ => return Err(RestError::new(415, "HTTP 415 Unsupported Media Type")),
        }
        // Connect answers a body Jackson can't parse with 500 and the parser's message
        // (ConnectExceptionMapper maps exceptions that aren't Connect's own to 500).
        Some(
            serde_json::from_slice(&bytes)
                .map_err(|e| RestError::new(500, format!("Cannot parse the JSON body: {e}")))?,
        )
    };
    Ok(Request {
        method,
        segments,
        query,
        body,
    })
}

fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

/// `%XX` decoding; bytes that aren't UTF-8 become U+FFFD (such a name matches no connector).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_keeps_bad_escapes_and_replaces_bad_utf8() {
        assert_eq!(percent_decode("a%2Fb"), "a/b");
        assert_eq!(percent_decode("caf%C3%A9"), "café");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%FF"), "\u{fffd}");
    }

    #[test]
    fn query_keeps_repeated_keys_in_order() {
        assert_eq!(
            parse_query("expand=status&expand=info&x"),
            vec![
                ("expand".to_string(), "status".to_string()),
                ("expand".to_string(), "info".to_string()),
                ("x".to_string(), String::new())
            ]
        );
    }
}
