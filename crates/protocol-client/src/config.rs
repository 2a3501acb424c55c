//! Client configuration under the Java client's key names, so a Connect worker's `producer.*` /
//! `consumer.*` / `admin.*` overrides carry over unchanged.
//!
//! Keys this client doesn't know are kept (a worker file holds many) and can be listed with
//! [`Properties::unused`] so callers can warn about them.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

/// A configuration key with a missing or invalid value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value {value:?} for configuration {key}: {reason}")]
pub struct ConfigError {
    /// The Kafka configuration key, e.g. `linger.ms`.
    pub key: String,
    /// The value given (empty when missing).
    pub value: String,
    /// Why it was refused.
    pub reason: String,
}

impl ConfigError {
    /// A refusal of `value` for `key`.
    pub fn new(key: &str, value: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            key: key.to_string(),
            value: value.into(),
            reason: reason.into(),
        }
    }
}

/// Kafka-style `key=value` properties with typed getters that name the key on error.
#[derive(Debug, Default)]
pub struct Properties {
    map: BTreeMap<String, String>,
    used: Mutex<std::collections::BTreeSet<String>>,
}

impl Clone for Properties {
    fn clone(&self) -> Self {
        Self {
            map: self.map.clone(),
            used: Mutex::new(self.used.lock().map(|u| u.clone()).unwrap_or_default()),
        }
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Properties {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        Self {
            map: iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
            used: Mutex::default(),
        }
    }
}

impl Properties {
    /// Empty properties.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`, returning self (builder style).
    pub fn with(mut self, key: &str, value: impl ToString) -> Self {
        self.set(key, value);
        self
    }

    /// Sets `key` to `value`.
    pub fn set(&mut self, key: &str, value: impl ToString) {
        self.map.insert(key.to_string(), value.to_string());
    }

    /// The raw value of `key`, marking it used.
    pub fn get(&self, key: &str) -> Option<&str> {
        if let Ok(mut u) = self.used.lock() {
            u.insert(key.to_string());
        }
        self.map.get(key).map(|s| s.trim())
    }

    /// Parses `key` as `T`, or returns `default` when absent.
    pub fn parse_or<T: FromStr>(&self, key: &str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<T>()
                .map_err(|e| ConfigError::new(key, v, e.to_string())),
        }
    }

    /// Parses `key` as an integer in `range`, or `default` when absent.
    pub fn int_in<T>(
        &self,
        key: &str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + std::fmt::Display + Copy,
        T::Err: std::fmt::Display,
    {
        let v = self.parse_or(key, default)?;
        if !range.contains(&v) {
            return Err(ConfigError::new(
                key,
                v.to_string(),
                format!("must be between {} and {}", range.start(), range.end()),
            ));
        }
        Ok(v)
    }

    /// A duration in milliseconds (`*.ms` keys), at least `min_ms`.
    pub fn millis(&self, key: &str, default_ms: u64, min_ms: u64) -> Result<Duration, ConfigError> {
        let v: u64 = self.int_in(key, default_ms, min_ms..=u64::MAX / 2)?;
        Ok(Duration::from_millis(v))
    }

    /// A boolean (`true`/`false`, case-insensitive, like Java's ConfigDef).
    pub fn boolean(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ConfigError::new(key, v, "must be true or false")),
        }
    }

    /// Keys present but never read: typos, or settings for another component.
    pub fn unused(&self) -> Vec<String> {
        let used = self.used.lock().map(|u| u.clone()).unwrap_or_default();
        self.map.keys().filter(|k| !used.contains(*k)).cloned().collect()
    }

    /// All entries.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Settings shared by every client (producer, consumer, admin), with the Java client's names
/// and defaults.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `bootstrap.servers`: `host:port` seeds, tried in order until one answers.
    pub bootstrap_servers: Vec<String>,
    /// `client.id` sent in every request header.
    pub client_id: String,
    /// `request.timeout.ms` (30000): how long to wait for any one response. When it passes the
    /// connection is closed, as the Java client does, so a late answer can't be misread.
    pub request_timeout: Duration,
    /// `socket.connection.setup.timeout.ms` (10000).
    pub connection_setup_timeout: Duration,
    /// `reconnect.backoff.ms` (50) and `reconnect.backoff.max.ms` (1000): exponential backoff
    /// with ±20% jitter between connection attempts to one broker.
    pub reconnect_backoff: Duration,
    /// See `reconnect_backoff`.
    pub reconnect_backoff_max: Duration,
    /// `retry.backoff.ms` (100) and `retry.backoff.max.ms` (1000): backoff between retries.
    pub retry_backoff: Duration,
    /// See `retry_backoff`.
    pub retry_backoff_max: Duration,
    /// `metadata.max.age.ms` (300000): refresh metadata at least this often.
    pub metadata_max_age: Duration,
}

impl ClientConfig {
    /// Reads the shared keys; `bootstrap.servers` is required.
    pub fn from_properties(p: &Properties) -> Result<Self, ConfigError> {
        let servers = p.get("bootstrap.servers").unwrap_or_default();
        let bootstrap_servers: Vec<String> = servers
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        if bootstrap_servers.is_empty() {
            return Err(ConfigError::new(
                "bootstrap.servers",
                servers,
                "at least one host:port is required",
            ));
        }
        for s in &bootstrap_servers {
            let ok = s
                .rsplit_once(':')
                .is_some_and(|(h, port)| !h.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
            if !ok {
                return Err(ConfigError::new(
                    "bootstrap.servers",
                    s.as_str(),
                    "expected host:port",
                ));
            }
        }
        Ok(Self {
            bootstrap_servers,
            client_id: p.get("client.id").unwrap_or("kaflow").to_string(),
            request_timeout: p.millis("request.timeout.ms", 30_000, 1)?,
            connection_setup_timeout: p.millis("socket.connection.setup.timeout.ms", 10_000, 1)?,
            reconnect_backoff: p.millis("reconnect.backoff.ms", 50, 0)?,
            reconnect_backoff_max: p.millis("reconnect.backoff.max.ms", 1_000, 0)?,
            retry_backoff: p.millis("retry.backoff.ms", 100, 0)?,
            retry_backoff_max: p.millis("retry.backoff.max.ms", 1_000, 0)?,
            metadata_max_age: p.millis("metadata.max.age.ms", 300_000, 0)?,
        })
    }

    /// A config for `bootstrap` with every other key at its default.
    pub fn new(bootstrap: &str) -> Result<Self, ConfigError> {
        Self::from_properties(&Properties::new().with("bootstrap.servers", bootstrap))
    }
}

/// Exponential backoff with ±20% jitter, as the Java client's `ExponentialBackoff` (KIP-580).
pub fn backoff(base: Duration, max: Duration, attempt: u32) -> Duration {
    use rand::Rng;
    let exp = base.as_secs_f64() * 2f64.powi(attempt.min(30) as i32);
    let capped = exp.min(max.as_secs_f64().max(base.as_secs_f64()));
    let jitter = rand::rng().random_range(0.8..=1.2);
    Duration::from_secs_f64(capped * jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_is_required_and_checked() {
        let e = ClientConfig::from_properties(&Properties::new()).unwrap_err();
        assert_eq!(e.key, "bootstrap.servers");
        let e = ClientConfig::new("localhost").unwrap_err();
        assert!(e.to_string().contains("host:port"), "{e}");
        let c = ClientConfig::new("a:1, b:2").unwrap();
        assert_eq!(c.bootstrap_servers, vec!["a:1", "b:2"]);
        assert_eq!(c.request_timeout, Duration::from_secs(30));
    }

    #[test]
    fn invalid_numbers_name_the_key() {
        let p = Properties::new()
            .with("bootstrap.servers", "h:1")
            .with("request.timeout.ms", "soon");
        let e = ClientConfig::from_properties(&p).unwrap_err();
        assert_eq!(e.key, "request.timeout.ms");
        assert_eq!(e.value, "soon");
    }

    #[test]
    fn unused_keys_are_reported() {
        let p = Properties::new()
            .with("bootstrap.servers", "h:1")
            .with("lingr.ms", "5");
        ClientConfig::from_properties(&p).unwrap();
        assert_eq!(p.unused(), vec!["lingr.ms".to_string()]);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let b = Duration::from_millis(100);
        let m = Duration::from_millis(1000);
        assert!(backoff(b, m, 0) <= Duration::from_millis(120));
        assert!(backoff(b, m, 10) <= Duration::from_millis(1200));
        assert!(backoff(b, m, 10) >= Duration::from_millis(800));
    }
}
