//! `X-Forwarded-For` behind trusted proxies, and the trusted-proxy list itself.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use auth_core::{ClientInfo, client_ip, limit_key, parse_proxies};
use http::{HeaderMap, HeaderValue};

/// Target `forwarded_for`: the input's first line as a trusted-proxy list (the default
/// one when it does not parse), its second as the peer address (loopback when it does not
/// parse), every further line as one `X-Forwarded-For` header. An untrusted peer is the
/// client whatever the headers say; otherwise the client is the peer or an address one of
/// the headers names, and every address has a limit key.
pub(crate) fn forwarded_for(data: &[u8]) {
    let mut lines = data.split(|&b| b == b'\n');
    let proxies = std::str::from_utf8(lines.next().unwrap_or_default()).unwrap_or("");
    let trusted = match parse_proxies(proxies) {
        Ok(trusted) => trusted,
        Err(message) => {
            assert!(!message.is_empty());
            match parse_proxies("127.0.0.1, 10.0.0.0/8, ::1, fd00::/8") {
                Ok(trusted) => trusted,
                Err(message) => panic!("{message}"),
            }
        }
    };
    let peer = std::str::from_utf8(lines.next().unwrap_or_default())
        .ok()
        .and_then(|text| text.trim().parse::<IpAddr>().ok())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append("x-forwarded-for", value);
        }
    }
    let client = client_ip(peer, &headers, &trusted);
    let canonical = peer.to_canonical();
    if !trusted.iter().any(|net| net.contains(&canonical)) {
        assert_eq!(client, canonical, "an untrusted peer's header was believed");
    } else if client != canonical {
        let named = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|hop| {
                let hop = hop.trim();
                hop.parse::<IpAddr>()
                    .ok()
                    .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
            })
            .any(|ip| ip.to_canonical() == client);
        assert!(named, "client {client} appears in no header");
    }
    assert!(!limit_key(client).is_empty());
    let info = ClientInfo::from_request(Some(peer), &headers, &trusted);
    assert_eq!(info.ip_text(), Some(client.to_string()));
}
