//! Whose request this is: the socket's peer address, or, for a connection from a trusted
//! proxy (`--trusted-proxy`), the client it names in `X-Forwarded-For`. Every per-address
//! limit counts this address, so behind nginx it counts real clients, not nginx.

use crate::AppState;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

/// The proxies whose connections carry other clients' requests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Proxies at these networks.
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self(nets)
    }

    /// A network (`10.0.0.0/8`) or one address (`127.0.0.1`), as `--trusted-proxy` takes it.
    pub fn parse_net(text: &str) -> Result<IpNet, String> {
        let text = text.trim();
        text.parse::<IpNet>()
            .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| {
                format!("\"{text}\" is not an address or a network: give one like 127.0.0.1 or 10.0.0.0/8")
            })
    }

    /// Whether `ip` is a trusted proxy's.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client's address for a request that came from `peer` with `headers`: `peer`
    /// itself unless it is a trusted proxy; else the right-most entry of
    /// `X-Forwarded-For` that is not a trusted proxy (each proxy appends who it heard
    /// from, so the entries left of that are the client's own words, which anyone can
    /// write), or the left-most if all are trusted.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        let mut client = peer;
        for entry in entries.iter().rev() {
            let Some(ip) = parse_entry(entry) else {
                // Not an address: what the last trusted hop heard from cannot be named.
                return client;
            };
            client = ip;
            if !self.contains(ip) {
                return ip;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: an address, perhaps with a port (`1.2.3.4:5678`, `[::1]:80`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(canonical)
}

/// An IPv4 address mapped into IPv6 (`::ffff:1.2.3.4`, as a dual-stack socket reports it)
/// as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The client's address, as [`TrustedProxies::client`] finds it (`None` where the
/// request came with no socket address: tests that call the app directly).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip());
        Ok(Self(peer.map(|p| {
            state
                .settings
                .connections
                .trusted_proxies
                .client(p, &parts.headers)
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::new(
            nets.iter()
                .map(|n| TrustedProxies::parse_net(n).unwrap())
                .collect(),
        )
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says_it_forwards() {
        let t = proxies(&["127.0.0.1"]);
        assert_eq!(
            t.client(ip("203.0.113.7"), &headers(&["198.51.100.1"])),
            ip("203.0.113.7")
        );
        assert_eq!(
            TrustedProxies::default().client(ip("127.0.0.1"), &headers(&["198.51.100.1"])),
            ip("127.0.0.1"),
            "no proxy is trusted unless named"
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_right_most_untrusted_entry_is_the_client() {
        let t = proxies(&["127.0.0.1", "10.0.0.0/8"]);
        // nginx appends who it heard from: the client's own entries to the left are words.
        let h = headers(&["6.6.6.6, 198.51.100.9"]);
        assert_eq!(t.client(ip("127.0.0.1"), &h), ip("198.51.100.9"));
        // Two proxies in a row, the header split over two lines.
        let h = headers(&["6.6.6.6, 198.51.100.9", "10.1.2.3"]);
        assert_eq!(t.client(ip("127.0.0.1"), &h), ip("198.51.100.9"));
        // Ports and mapped addresses name the address they carry.
        let h = headers(&["[::ffff:198.51.100.4]:5000"]);
        assert_eq!(t.client(ip("::ffff:127.0.0.1"), &h), ip("198.51.100.4"));
    }

    #[test]
    fn a_trusted_proxy_with_nothing_to_say_is_the_client_and_garbage_names_the_last_hop() {
        let t = proxies(&["127.0.0.1", "10.0.0.0/8"]);
        assert_eq!(t.client(ip("127.0.0.1"), &headers(&[])), ip("127.0.0.1"));
        assert_eq!(
            t.client(ip("127.0.0.1"), &headers(&["not-an-address, 10.9.9.9"])),
            ip("10.9.9.9")
        );
        assert_eq!(
            t.client(ip("127.0.0.1"), &headers(&["10.0.0.2, 10.0.0.3"])),
            ip("10.0.0.2"),
            "all trusted: the left-most"
        );
    }

    #[test]
    fn a_network_or_an_address_is_taken_and_anything_else_says_what_to_give() {
        assert!(TrustedProxies::parse_net("10.0.0.0/8").is_ok());
        assert!(TrustedProxies::parse_net("::1").is_ok());
        let e = TrustedProxies::parse_net("nginx").unwrap_err();
        assert!(e.contains("127.0.0.1 or 10.0.0.0/8"), "{e}");
    }
}
