//! Finding a group's coordinator (FindCoordinator, key type GROUP) and keeping a connection to it.
//!
//! ```text
//!  connection() ──known?──yes──▶ own Broker handle ──▶ Traffic::Group connection
//!        │ no
//!        ▼
//!  FindCoordinator(key=group) to any broker, batched form (coordinator_keys) from v4 (KIP-699)
//!        │ COORDINATOR_NOT_AVAILABLE / connection errors ──▶ backoff, ask again
//!        ▼
//!  Broker::new(node id, host:port) ── a handle of our own, not the Cluster's: a JoinGroup may
//!  wait minutes for the other members, and a broker serves one request per connection at a
//!  time, so two members sharing a connection would wait for each other.
//! ```
//! A request answered NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE calls [`Coordinator::mark_unknown`],
//! as the Java client's `markCoordinatorUnknown` does, and the next use finds it again.

use crate::broker::{Broker, Traffic};
use crate::cluster::Cluster;
use crate::config::backoff;
use crate::error::{BrokerError, Error, Outcome, Result};
use crate::net::Connection;
use kafka_protocol::messages::FindCoordinatorRequest;
use kafka_protocol::protocol::StrBytes;
use std::sync::Arc;
use tokio::time::Instant;

/// FindCoordinator key type of a consumer / Connect group (1 would be a transaction).
const KEY_TYPE_GROUP: i8 = 0;

/// The coordinator of one group, found on demand.
#[derive(Debug)]
pub struct Coordinator {
    cluster: Arc<Cluster>,
    group: String,
    current: tokio::sync::Mutex<Option<Arc<Broker>>>,
}

impl Coordinator {
    /// A coordinator handle for `group`; nothing is looked up until first use.
    pub fn new(cluster: Arc<Cluster>, group: &str) -> Self {
        Self {
            cluster,
            group: group.to_string(),
            current: tokio::sync::Mutex::new(None),
        }
    }

    /// The group id.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The cluster core.
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    /// The coordinator's node id and a group connection to it, looking it up (with backoff,
    /// until `deadline` if one is given) when unknown.
    pub async fn connection(&self, deadline: Option<Instant>) -> Result<(i32, Connection)> {
        let mut attempt = 0u32;
        loop {
            let broker = {
                let mut cur = self.current.lock().await;
                match &*cur {
                    Some(b) => Ok(Arc::clone(b)),
                    None => match self.find_once().await {
                        Ok(b) => {
                            *cur = Some(Arc::clone(&b));
                            Ok(b)
                        }
                        Err(e) => Err(e),
                    },
                }
            };
            let err = match broker {
                Ok(b) => match b.connection(Traffic::Group).await {
                    Ok(c) => return Ok((b.id(), c)),
                    Err(e) => {
                        // The coordinator may have died: look it up again.
                        self.mark_unknown().await;
                        Error::from(e)
                    }
                },
                Err(e) => e,
            };
            if err.outcome() == Outcome::Fatal {
                return Err(err);
            }
            attempt += 1;
            let cfg = self.cluster.config();
            let wait = backoff(cfg.retry_backoff, cfg.retry_backoff_max, attempt);
            if deadline.is_some_and(|d| Instant::now() + wait >= d) {
                return Err(err);
            }
            tracing::debug!(group = %self.group, error = %err, attempt, "coordinator lookup failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// Forgets the coordinator and closes our connection to it (its pending requests fail), so
    /// the next use asks FindCoordinator again.
    pub async fn mark_unknown(&self) {
        if let Some(b) = self.current.lock().await.take() {
            tracing::debug!(group = %self.group, node = b.id(), "coordinator marked unknown");
            b.close("group coordinator moved").await;
        }
    }

    async fn find_once(&self) -> Result<Arc<Broker>> {
        let (asked, conn) = self.cluster.any_connection(Traffic::Group).await?;
        let version = conn.version::<FindCoordinatorRequest>()?;
        let key = StrBytes::from_string(self.group.clone());
        let mut req = FindCoordinatorRequest::default().with_key_type(KEY_TYPE_GROUP);
        // v4+ looks up a batch of keys (KIP-699); older versions one `key`.
        if version >= 4 {
            req.coordinator_keys = vec![key];
        } else {
            req.key = key;
        }
        let resp = conn.send_at(&req, version).await?;
        let (code, message, node, host, port) = if version >= 4 {
            let c = resp
                .coordinators
                .iter()
                .find(|c| c.key.as_str() == self.group)
                .ok_or_else(|| Error::InvalidResponse {
                    api: "FindCoordinator",
                    broker: asked,
                    detail: format!("no coordinator entry for group {}", self.group),
                })?;
            (
                c.error_code,
                c.error_message.clone(),
                c.node_id.0,
                c.host.clone(),
                c.port,
            )
        } else {
            (
                resp.error_code,
                resp.error_message.clone(),
                resp.node_id.0,
                resp.host.clone(),
                resp.port,
            )
        };
        if code != 0 {
            return Err(BrokerError {
                error: super::response_error(code),
                api: "FindCoordinator",
                broker: asked,
                message: message.map(|m| m.to_string()),
            }
            .into());
        }
        if node < 0 || port <= 0 {
            return Err(Error::InvalidResponse {
                api: "FindCoordinator",
                broker: asked,
                detail: format!("coordinator node {node} at {host}:{port}"),
            });
        }
        tracing::debug!(group = %self.group, node, %host, port, "found group coordinator");
        Ok(Arc::new(Broker::new(
            node,
            format!("{host}:{port}"),
            Arc::new(self.cluster.config().clone()),
            Arc::clone(self.cluster.metrics()),
        )))
    }
}
