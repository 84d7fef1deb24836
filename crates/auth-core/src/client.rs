//! Who is calling: the client's address and `User-Agent`, as sessions, abuse limits, logs
//! and audit records see them.
//!
//! The address is the peer of the connection, or — only when that peer is one of the
//! configured trusted proxies — the right-most address of `X-Forwarded-For` that is not a
//! trusted proxy itself (each proxy appends the address it received the request from, so
//! everything left of the first untrusted hop was written by the client and proves
//! nothing; ASVS 5.0 4.1.3). IPv4-mapped IPv6 addresses are read as IPv4, so one client
//! cannot appear under two spellings.
//!
//! The HTTP edge determines the [`ClientInfo`] of each request and runs the handler inside
//! [`ClientInfo::scope`]; the service reads it with [`ClientInfo::current`]. An application
//! that calls the service directly can do the same, and without a scope the client is
//! unknown (no address, no agent).

use std::future::Future;
use std::net::IpAddr;

use http::HeaderMap;
use http::header::USER_AGENT;
use ipnet::IpNet;

use crate::session::{MAX_USER_AGENT_CHARS, truncate_chars};

tokio::task_local! {
    static CLIENT: ClientInfo;
}

/// The client of the request being served.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's address, when known.
    pub ip: Option<IpAddr>,
    /// The request's `User-Agent`, at most [`MAX_USER_AGENT_CHARS`] characters.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// A client with this address and agent (the agent is truncated).
    pub fn new(ip: Option<IpAddr>, user_agent: Option<&str>) -> Self {
        Self {
            ip: ip.map(|ip| ip.to_canonical()),
            user_agent: user_agent.map(|ua| truncate_chars(ua, MAX_USER_AGENT_CHARS)),
        }
    }

    /// The client of a request: its peer address through `trusted` proxies, and its
    /// `User-Agent` (verbatim up to [`MAX_USER_AGENT_CHARS`] characters).
    pub fn from_request(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Self {
        let ip = peer.map(|peer| client_ip(peer, headers, trusted));
        let user_agent = headers
            .get(USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        Self::new(ip, user_agent.as_deref())
    }

    /// Runs `future` with this as the current client.
    pub fn scope<F: Future>(self, future: F) -> impl Future<Output = F::Output> {
        CLIENT.scope(self, future)
    }

    /// The client of the current scope; unknown outside one.
    pub fn current() -> Self {
        CLIENT.try_with(Clone::clone).unwrap_or_default()
    }

    /// The address as text, for sessions and logs.
    pub fn ip_text(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }
}

/// The client address of a request from `peer` (see the module docs).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    // Every X-Forwarded-For header, in order, as one list of hops.
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("").split(','))
        .map(str::trim)
        .filter(|hop| !hop.is_empty())
        .collect::<Vec<_>>();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            // A trusted proxy wrote something that is not an address: the nearest
            // address we can vouch for is the proxy that wrote it.
            return client;
        };
        client = ip;
        if !is_trusted(&ip) {
            return ip;
        }
    }
    client
}

/// One hop of `X-Forwarded-For`: an address, optionally with a port (`1.2.3.4:80`,
/// `[::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(socket) = hop.parse::<std::net::SocketAddr>() {
        return Some(socket.ip().to_canonical());
    }
    None
}

/// Parses `MYAUTH_TRUSTED_PROXIES`-style text: comma-separated CIDRs or single addresses.
///
/// # Errors
///
/// The first entry that is neither.
pub fn parse_proxies(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{entry:?} is not an address or a CIDR block"))
        })
        .collect()
}

/// The key an address counts under for per-client limits: the address itself for IPv4,
/// its /64 network for IPv6 (one subscriber usually holds a whole /64, so counting single
/// IPv6 addresses would let one client rotate through 2^64 of them).
pub fn limit_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            format!(
                "{:x}:{:x}:{:x}:{:x}::/64",
                segments[0], segments[1], segments[2], segments[3]
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in xff {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = parse_proxies("10.0.0.0/8").unwrap();
        assert_eq!(
            client_ip(ip("203.0.113.7"), &headers(&["1.2.3.4"]), &trusted),
            ip("203.0.113.7")
        );
        assert_eq!(
            client_ip(ip("203.0.113.7"), &headers(&["1.2.3.4"]), &[]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn through_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let trusted = parse_proxies("10.0.0.0/8, 192.0.2.1").unwrap();
        // The client forged the first entry; 198.51.100.9 is what our proxy saw.
        let forwarded = headers(&["6.6.6.6, 198.51.100.9", "10.1.1.1"]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &forwarded, &trusted),
            ip("198.51.100.9")
        );
        assert_eq!(
            client_ip(ip("192.0.2.1"), &headers(&["198.51.100.9:4711"]), &trusted),
            ip("198.51.100.9")
        );
        // Only trusted hops: the left-most of them.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &headers(&["10.9.9.9"]), &trusted),
            ip("10.9.9.9")
        );
        // No header: the proxy itself.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &HeaderMap::new(), &trusted),
            ip("10.0.0.2")
        );
        // Garbage written where an address should be stops at the proxy that wrote it.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &headers(&["unknown"]), &trusted),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn one_address_has_one_spelling() {
        let mapped = ip("::ffff:198.51.100.9");
        assert_eq!(
            client_ip(mapped, &HeaderMap::new(), &[]),
            ip("198.51.100.9")
        );
        let trusted = parse_proxies("127.0.0.1").unwrap();
        assert_eq!(
            client_ip(
                ip("::ffff:127.0.0.1"),
                &headers(&["::ffff:1.2.3.4"]),
                &trusted
            ),
            ip("1.2.3.4")
        );
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        assert_eq!(
            limit_key(ip("2001:db8:1:2:aaaa::1")),
            limit_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        );
        assert_ne!(
            limit_key(ip("2001:db8:1:2::1")),
            limit_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(limit_key(ip("198.51.100.9")), "198.51.100.9");
        assert_eq!(limit_key(ip("::ffff:198.51.100.9")), "198.51.100.9");
    }

    #[test]
    fn proxies_parse_as_cidrs_or_addresses() {
        assert_eq!(parse_proxies(" 10.0.0.0/8 ,::1,").unwrap().len(), 2);
        assert!(parse_proxies("10.0.0.0/33").is_err());
        assert!(parse_proxies("localhost").is_err());
    }

    #[test]
    fn agents_are_kept_verbatim_up_to_the_bound() {
        let mut h = HeaderMap::new();
        h.insert(USER_AGENT, HeaderValue::from_str(&"a".repeat(300)).unwrap());
        let client = ClientInfo::from_request(None, &h, &[]);
        assert_eq!(
            client.user_agent.map(|ua| ua.len()),
            Some(MAX_USER_AGENT_CHARS)
        );
        assert_eq!(client.ip, None);
    }

    #[tokio::test]
    async fn the_current_client_is_the_one_of_its_scope() {
        assert_eq!(ClientInfo::current(), ClientInfo::default());
        let client = ClientInfo::new(Some(ip("192.0.2.5")), Some("test"));
        let seen = client.clone().scope(async { ClientInfo::current() }).await;
        assert_eq!(seen, client);
    }
}
