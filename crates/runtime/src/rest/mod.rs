//! Kafka Connect's REST API on the worker's `listeners` (default `http://:8083`), so Connect's
//! tools (UIs, CLIs, Terraform providers, operators) manage kaflow unchanged.
//!
//! ```text
//!  TCP accept (server.rs, one tokio task per connection, HTTP/1.1 via hyper)
//!    ─▶ body read with a size limit, JSON parsed (request.rs)
//!    ─▶ auth.rs: HTTP Basic credentials when rest.basic.auth.credentials.file is set (401)
//!    ─▶ metrics.rs (GET /metrics, Prometheus text) | loggers.rs (/admin/loggers, KIP-495)
//!    ─▶ routes.rs: method + path ─▶ a herder call under the worker lock
//!    ─▶ entities.rs: ConnectorInfo / ConnectorStatus / ConfigInfos as Connect's JSON
//!    ─▶ error.rs: every failure as {"error_code": N, "message": "..."} with Connect's codes
//! ```
//!
//! Requests are served one herder call at a time (the worker lock), as Connect's herder thread
//! serialises them; reads are short, so status polling doesn't wait behind the pipeline.

pub mod auth;
pub mod entities;
pub mod error;
pub mod listeners;
pub mod loggers;
pub mod metrics;
pub mod routes;
pub mod server;

pub use auth::BasicAuth;
pub use error::RestError;
pub use listeners::Listener;
pub use loggers::{LogLevels, LoggerLevel};
pub use server::{RestOptions, RestServer, SharedWorker};
