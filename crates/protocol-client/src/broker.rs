//! One broker: its address and a lazily opened connection per traffic class.
//!
//! Produce, fetch, group and admin traffic use separate connections (as franz-go does), so a
//! slow produce queue never delays a heartbeat and a long fetch wait never delays a produce.
//! A dead connection is replaced on next use; failed connects back off exponentially with
//! jitter (`reconnect.backoff.ms` .. `reconnect.backoff.max.ms`).

use crate::config::{backoff, ClientConfig};
use crate::metrics::NetworkMetrics;
use crate::net::{Connection, ConnectionError};
use std::sync::Arc;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Traffic classes, each with its own connection to a broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Traffic {
    /// Produce requests.
    Produce = 0,
    /// Fetch requests (long polls).
    Fetch = 1,
    /// Group coordination: join, sync, heartbeat, commits.
    Group = 2,
    /// Metadata, admin, InitProducerId, offsets lookups.
    Admin = 3,
}

#[derive(Debug, Default)]
struct Slot {
    conn: Option<Connection>,
    failures: u32,
    retry_at: Option<Instant>,
}

/// A broker of the cluster (or a bootstrap seed, whose id is negative).
#[derive(Debug)]
pub struct Broker {
    id: i32,
    addr: String,
    cfg: Arc<ClientConfig>,
    metrics: Arc<NetworkMetrics>,
    slots: [Mutex<Slot>; 4],
}

impl Broker {
    /// A handle for broker `id` at `addr`; nothing connects until first use. Its connections
    /// count their requests in `metrics` (the client core's).
    pub fn new(id: i32, addr: String, cfg: Arc<ClientConfig>, metrics: Arc<NetworkMetrics>) -> Self {
        Self {
            id,
            addr,
            cfg,
            metrics,
            slots: Default::default(),
        }
    }

    /// The node id (negative for a bootstrap seed).
    pub fn id(&self) -> i32 {
        self.id
    }

    /// `host:port`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The live connection for `traffic`, connecting (after any backoff) if needed.
    pub async fn connection(&self, traffic: Traffic) -> Result<Connection, ConnectionError> {
        let mut slot = self.slots[traffic as usize].lock().await;
        if let Some(c) = &slot.conn {
            if !c.is_dead() {
                return Ok(c.clone());
            }
            slot.conn = None;
        }
        if let Some(at) = slot.retry_at {
            tokio::time::sleep_until(at).await;
        }
        match Connection::connect(&self.addr, &self.cfg, Arc::clone(&self.metrics)).await {
            Ok(c) => {
                slot.failures = 0;
                slot.retry_at = None;
                slot.conn = Some(c.clone());
                Ok(c)
            }
            Err(e) => {
                let wait = backoff(
                    self.cfg.reconnect_backoff,
                    self.cfg.reconnect_backoff_max,
                    slot.failures,
                );
                slot.failures = slot.failures.saturating_add(1);
                slot.retry_at = Some(Instant::now() + wait);
                tracing::debug!(broker = self.id, addr = %self.addr, error = %e, ?wait, "connect failed");
                Err(e)
            }
        }
    }

    /// Closes every connection to this broker (pending requests fail as lost).
    pub async fn close(&self, why: &str) {
        for s in &self.slots {
            if let Some(c) = s.lock().await.conn.take() {
                c.close(why);
            }
        }
    }
}
