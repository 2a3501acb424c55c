//! `listeners` (`http://host:port`, comma separated; an empty host means every interface) and
//! the worker id Connect derives from `rest.advertised.*`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// One REST listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// The address to bind.
    pub addr: SocketAddr,
}

impl Listener {
    /// Parses one `listeners` entry. Only `http` is served; `https` is refused by name.
    pub fn parse(entry: &str) -> Result<Self, String> {
        let entry = entry.trim();
        let rest = match entry.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some((scheme, _)) => {
                return Err(format!(
                    "listeners: {entry}: protocol {scheme} is not supported (kaflow serves http)"
                ))
            }
            None => return Err(format!("listeners: {entry}: expected http://host:port")),
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("listeners: {entry}: no port"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| format!("listeners: {entry}: bad port {port:?}"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ip: IpAddr = match host {
            "" | "0.0.0.0" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
            h => h
                .parse()
                .map_err(|_| format!("listeners: {entry}: host {h:?} is not an IP address or localhost"))?,
        };
        Ok(Self {
            addr: SocketAddr::new(ip, port),
        })
    }
}

/// The worker id (`host:port`) statuses report: `rest.advertised.host.name` and
/// `rest.advertised.port` when set, else the bound address (loopback for a wildcard bind).
pub fn worker_id(bound: SocketAddr, advertised_host: Option<&str>, advertised_port: Option<i64>) -> String {
    let host = match advertised_host {
        Some(h) if !h.is_empty() => h.to_string(),
        _ if bound.ip().is_unspecified() => "127.0.0.1".to_string(),
        _ => bound.ip().to_string(),
    };
    let port = advertised_port
        .filter(|p| *p > 0)
        .map_or(bound.port(), |p| p as u16);
    format!("{host}:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_connects_listener_forms() {
        assert_eq!(
            Listener::parse("http://:8083").unwrap().addr,
            "0.0.0.0:8083".parse().unwrap()
        );
        assert_eq!(
            Listener::parse("HTTP://127.0.0.1:0").unwrap().addr,
            "127.0.0.1:0".parse().unwrap()
        );
        assert_eq!(
            Listener::parse("http://[::1]:9000/").unwrap().addr,
            "[::1]:9000".parse().unwrap()
        );
        assert!(Listener::parse("https://:8443").unwrap_err().contains("https"));
        assert!(Listener::parse("http://:port").unwrap_err().contains("bad port"));
        assert!(Listener::parse(":8083").is_err());
    }

    #[test]
    fn worker_id_prefers_advertised_values() {
        let bound: SocketAddr = "0.0.0.0:8083".parse().unwrap();
        assert_eq!(worker_id(bound, None, None), "127.0.0.1:8083");
        assert_eq!(
            worker_id(bound, Some("connect-1"), Some(18083)),
            "connect-1:18083"
        );
    }
}
