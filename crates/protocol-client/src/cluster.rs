//! The shared core of every client: configuration, broker handles and the metadata cache.
//!
//! ```text
//!  Cluster::connect ──Metadata via seeds (in order, until one answers)──▶ brokers + topics
//!        │
//!        ├─ broker(id) ──▶ Broker (lazy connections per traffic class)
//!        ├─ refresh(topics) ──one refresh at a time; merged into the cache (metadata.rs rules)
//!        └─ background task: refresh every metadata.max.age.ms while the Cluster lives
//! ```

use crate::broker::{Broker, Traffic};
use crate::config::ClientConfig;
use crate::error::{BrokerError, Error, Result};
use crate::metadata::Metadata;
use crate::metrics::NetworkMetrics;
use crate::net::Connection;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};

/// Shared client core (cheap to share through `Arc`).
#[derive(Debug)]
pub struct Cluster {
    cfg: Arc<ClientConfig>,
    seeds: Vec<Arc<Broker>>,
    brokers: RwLock<HashMap<i32, Arc<Broker>>>,
    metadata: RwLock<Arc<Metadata>>,
    /// Topics whose metadata this client keeps fresh.
    interest: Mutex<BTreeSet<String>>,
    refresh_lock: tokio::sync::Mutex<()>,
    refresh_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Requests of every connection of this core (producers, consumers and admins on it).
    metrics: Arc<NetworkMetrics>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(t) = self.refresh_task.get_mut().ok().and_then(|t| t.take()) {
            t.abort();
        }
    }
}

impl Cluster {
    /// Bootstraps: asks the seeds, in order, for metadata until one answers.
    pub async fn connect(cfg: ClientConfig) -> Result<Arc<Self>> {
        let cfg = Arc::new(cfg);
        let metrics = Arc::new(NetworkMetrics::default());
        let seeds = cfg
            .bootstrap_servers
            .iter()
            .enumerate()
            .map(|(i, a)| {
                Arc::new(Broker::new(
                    -1 - i as i32,
                    a.clone(),
                    Arc::clone(&cfg),
                    Arc::clone(&metrics),
                ))
            })
            .collect();
        let cluster = Arc::new(Self {
            cfg,
            seeds,
            brokers: RwLock::default(),
            metadata: RwLock::default(),
            interest: Mutex::default(),
            refresh_lock: tokio::sync::Mutex::new(()),
            refresh_task: Mutex::default(),
            metrics,
        });
        cluster.refresh(&[]).await?;
        let weak = Arc::downgrade(&cluster);
        let every = cluster.cfg.metadata_max_age;
        if !every.is_zero() {
            let task = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let Some(c) = weak.upgrade() else { return };
                    if let Err(e) = c.refresh(&[]).await {
                        tracing::warn!(error = %e, "periodic metadata refresh failed");
                    }
                }
            });
            *cluster.refresh_task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
        }
        Ok(cluster)
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// Request counts and latencies of this core's connections.
    pub fn metrics(&self) -> &Arc<NetworkMetrics> {
        &self.metrics
    }

    /// The current metadata snapshot.
    pub fn metadata(&self) -> Arc<Metadata> {
        Arc::clone(&self.metadata.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Handle for broker `id` (known from metadata).
    pub fn broker(&self, id: i32) -> Result<Arc<Broker>> {
        if let Some(b) = self.brokers.read().unwrap_or_else(|e| e.into_inner()).get(&id) {
            return Ok(Arc::clone(b));
        }
        let md = self.metadata();
        let addr = md.brokers.get(&id).ok_or_else(|| Error::InvalidResponse {
            api: "Metadata",
            broker: id,
            detail: format!("broker {id} is not in the cluster metadata"),
        })?;
        let mut map = self.brokers.write().unwrap_or_else(|e| e.into_inner());
        let b = map.entry(id).or_insert_with(|| {
            Arc::new(Broker::new(
                id,
                addr.addr(),
                Arc::clone(&self.cfg),
                Arc::clone(&self.metrics),
            ))
        });
        Ok(Arc::clone(b))
    }

    /// Any reachable broker's connection for `traffic`: known brokers first, then the seeds.
    pub async fn any_connection(&self, traffic: Traffic) -> Result<(i32, Connection)> {
        let mut candidates: Vec<Arc<Broker>> = Vec::new();
        for id in self.metadata().brokers.keys() {
            if let Ok(b) = self.broker(*id) {
                candidates.push(b);
            }
        }
        // Start at a random broker so load (and a dead broker's cost) spreads.
        if !candidates.is_empty() {
            let k = rand::random_range(0..candidates.len());
            candidates.rotate_left(k);
        }
        candidates.extend(self.seeds.iter().cloned());
        let mut last = None;
        for b in candidates {
            match b.connection(traffic).await {
                Ok(c) => return Ok((b.id(), c)),
                Err(e) => last = Some(Error::from(e)),
            }
        }
        Err(Error::Bootstrap {
            servers: self.cfg.bootstrap_servers.join(","),
            last: Arc::new(last.unwrap_or(Error::Closed)),
        })
    }

    /// Keeps `topic`'s metadata fresh from now on.
    pub fn add_interest(&self, topic: &str) -> bool {
        self.interest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(topic.to_string())
    }

    /// Refreshes metadata for `topics` plus every topic of interest (an empty list and no
    /// interest asks for brokers only). Concurrent callers share one request in flight.
    /// Returns per-topic error codes of the answer.
    pub async fn refresh(&self, topics: &[&str]) -> Result<HashMap<String, i16>> {
        for t in topics {
            self.add_interest(t);
        }
        let _guard = self.refresh_lock.lock().await;
        let wanted: Vec<String> = self
            .interest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect();
        let req = MetadataRequest::default()
            .with_topics(Some(
                wanted
                    .iter()
                    .map(|t| {
                        MetadataRequestTopic::default()
                            .with_name(Some(TopicName(StrBytes::from_string(t.clone()))))
                    })
                    .collect(),
            ))
            // Producers may auto-create topics where the broker allows it, like the Java client.
            .with_allow_auto_topic_creation(true);
        let mut last = None;
        for attempt in 0..3 {
            let (broker, conn) = self.any_connection(Traffic::Admin).await?;
            match conn.send(&req).await {
                Ok(resp) => {
                    let (next, errors) = self.metadata().merged(&resp);
                    if next.brokers.is_empty() {
                        last = Some(Error::InvalidResponse {
                            api: "Metadata",
                            broker,
                            detail: "no brokers in the answer".into(),
                        });
                        continue;
                    }
                    *self.metadata.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
                    return Ok(errors);
                }
                Err(e) => {
                    tracing::debug!(broker, attempt, error = %e, "metadata request failed");
                    last = Some(e.into());
                }
            }
        }
        Err(last.unwrap_or(Error::Closed))
    }

    /// Waits until `topic` has metadata with a leader for every partition, refreshing with
    /// backoff, for at most `limit`.
    pub async fn await_topic(&self, topic: &str, limit: std::time::Duration) -> Result<Arc<Metadata>> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut attempt = 0;
        loop {
            let errors = self.refresh(&[topic]).await?;
            let md = self.metadata();
            if let Some(t) = md.topics.get(topic) {
                if t.missing_since.is_none()
                    && !t.partitions.is_empty()
                    && t.partitions.iter().all(|p| p.leader >= 0)
                {
                    return Ok(md);
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return match errors.get(topic) {
                    Some(&code) => Err(BrokerError {
                        error: ResponseError::try_from_code(code).unwrap_or(ResponseError::Unknown(code)),
                        api: "Metadata",
                        broker: -1,
                        message: Some(format!("topic {topic}")),
                    }
                    .into()),
                    None => Err(Error::Timeout {
                        what: format!("leaders for every partition of {topic}"),
                        millis: limit.as_millis() as u64,
                    }),
                };
            }
            attempt += 1;
            tokio::time::sleep(crate::config::backoff(
                self.cfg.retry_backoff,
                self.cfg.retry_backoff_max,
                attempt,
            ))
            .await;
        }
    }
}
