//! Who is asking: the address a request comes from, for the limits kept per client.
//!
//! It is the socket's peer, unless the peer is one of the operator's trusted proxies
//! (`TASKDECK_TRUSTED_PROXIES`): then it is the last address in `X-Forwarded-For` that
//! is not a trusted proxy. Everything left of that is whatever the client claimed, and
//! is never believed.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use ipnet::IpNet;
use thiserror::Error;

use crate::problem::{ApiError, Problem};

const FORWARDED_FOR: &str = "x-forwarded-for";

/// The networks whose peers may say, in `X-Forwarded-For`, whom they forward for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("`{0}` is not an IP address or CIDR network (e.g. 10.0.0.0/8, 192.0.2.7, fd00::/8)")]
pub struct TrustedProxiesError(String);

impl FromStr for TrustedProxies {
    type Err = TrustedProxiesError;

    /// A comma-separated list of networks; a bare address is a network of one.
    fn from_str(list: &str) -> Result<Self, Self::Err> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map(|network| network.trunc())
                    .map_err(|_| TrustedProxiesError(entry.to_owned()))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

/// `X-Forwarded-For` names a hop that is not an address, where it would decide.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("X-Forwarded-For names `{0}`, which is not an IP address")]
pub struct MalformedForwardedFor(String);

impl TrustedProxies {
    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(&address))
    }

    /// The client behind a request from `peer` with these headers.
    ///
    /// # Errors
    /// `MalformedForwardedFor` when, walking `X-Forwarded-For` from the right past the
    /// trusted proxies, the first hop that is not one is no address (or the header is
    /// not text). Entries further left are never read.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> Result<IpAddr, MalformedForwardedFor> {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return Ok(peer);
        }
        let mut hops = Vec::new();
        for value in headers.get_all(FORWARDED_FOR) {
            let text =
                value.to_str().map_err(|_| MalformedForwardedFor(String::from_utf8_lossy(value.as_bytes()).into()))?;
            hops.extend(text.split(',').map(str::trim));
        }
        let mut leftmost = peer;
        for hop in hops.into_iter().rev() {
            let address = parse_hop(hop).ok_or_else(|| MalformedForwardedFor(hop.chars().take(64).collect()))?;
            if !self.trusts(address) {
                return Ok(address);
            }
            leftmost = address;
        }
        // Every hop is a trusted proxy: the request began inside; the first hop sent it.
        Ok(leftmost)
    }
}

/// A hop as proxies write it: an address, some add a port (`192.0.2.7:4711`,
/// `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|socket| socket.ip()))
        .ok()
        .map(|address| address.to_canonical())
}

/// The address of the client a request comes from (see the module's description).
/// The router must be served with connect info and carry the `TrustedProxies` as an
/// extension; without them this answers 500, as a server set up wrongly should.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip())
            .ok_or_else(|| ApiError::internal(&MissingSetup("the peer address (serve with connect info)")))?;
        let proxies = parts
            .extensions
            .get::<Arc<TrustedProxies>>()
            .ok_or_else(|| ApiError::internal(&MissingSetup("the trusted proxies extension")))?;
        proxies.client(peer, &parts.headers).map(Self).map_err(|malformed| {
            Problem::typed(StatusCode::BAD_REQUEST, "malformed-forwarded-for", malformed.to_string()).into()
        })
    }
}

#[derive(Debug, Error)]
#[error("the server was set up without {0}")]
struct MissingSetup(&'static str);

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn proxies(list: &str) -> TrustedProxies {
        list.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(FORWARDED_FOR, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_list_of_networks_and_addresses_parses_and_anything_else_is_named() {
        let parsed = proxies(" 10.0.0.0/8, 192.0.2.7 ,fd00::/8,");
        assert!(parsed.trusts(ip("10.200.3.4")));
        assert!(parsed.trusts(ip("192.0.2.7")));
        assert!(!parsed.trusts(ip("192.0.2.8")));
        assert!(parsed.trusts(ip("fd00::1")));
        assert_eq!(proxies(""), TrustedProxies::default());
        assert_eq!(
            "10.0.0.0/8, proxy.internal".parse::<TrustedProxies>(),
            Err(TrustedProxiesError("proxy.internal".into()))
        );
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
    }

    #[test]
    fn without_a_trusted_peer_the_header_is_ignored() {
        let headers = forwarded(&["203.0.113.9"]);
        assert_eq!(TrustedProxies::default().client(ip("198.51.100.1"), &headers), Ok(ip("198.51.100.1")));
        assert_eq!(proxies("10.0.0.0/8").client(ip("198.51.100.1"), &headers), Ok(ip("198.51.100.1")));
        let garbage = forwarded(&["not an address"]);
        assert_eq!(proxies("10.0.0.0/8").client(ip("198.51.100.1"), &garbage), Ok(ip("198.51.100.1")));
    }

    #[test]
    fn behind_trusted_proxies_the_last_untrusted_hop_is_the_client() {
        let chain = proxies("10.0.0.0/8");
        // The client claimed 1.1.1.1; the outer proxy saw 203.0.113.9; an inner one 10.1.1.1.
        let headers = forwarded(&["1.1.1.1, 203.0.113.9", "10.1.1.1"]);
        assert_eq!(chain.client(ip("10.2.2.2"), &headers), Ok(ip("203.0.113.9")));
        assert_eq!(chain.client(ip("10.2.2.2"), &forwarded(&["10.1.1.1, 10.3.3.3"])), Ok(ip("10.1.1.1")));
        assert_eq!(chain.client(ip("10.2.2.2"), &HeaderMap::new()), Ok(ip("10.2.2.2")), "no header: the peer");
        assert_eq!(chain.client(ip("10.2.2.2"), &forwarded(&["[2001:db8::1]:4711"])), Ok(ip("2001:db8::1")));
        assert_eq!(chain.client(ip("10.2.2.2"), &forwarded(&["203.0.113.9:80"])), Ok(ip("203.0.113.9")));
    }

    #[test]
    fn garbage_left_of_the_client_is_never_read_and_garbage_in_its_place_is_an_error() {
        let chain = proxies("10.0.0.0/8");
        let spoofed = forwarded(&["<script>, 203.0.113.9"]);
        assert_eq!(chain.client(ip("10.2.2.2"), &spoofed), Ok(ip("203.0.113.9")));
        for garbage in ["unknown", "203.0.113.9, ", "999.1.1.1", "\u{1}"] {
            let Ok(value) = HeaderValue::from_str(garbage) else { continue };
            let mut headers = HeaderMap::new();
            headers.insert(FORWARDED_FOR, value);
            assert!(chain.client(ip("10.2.2.2"), &headers).is_err(), "{garbage:?}");
        }
        let mut binary = HeaderMap::new();
        binary.insert(FORWARDED_FOR, HeaderValue::from_bytes(b"\xff\xfe").unwrap());
        assert!(chain.client(ip("10.2.2.2"), &binary).is_err());
    }

    #[test]
    fn an_ipv4_peer_seen_through_an_ipv6_socket_is_the_ipv4_address() {
        let chain = proxies("10.0.0.0/8");
        let mapped = ip("::ffff:10.2.2.2");
        assert_eq!(chain.client(mapped, &forwarded(&["203.0.113.9"])), Ok(ip("203.0.113.9")));
        assert_eq!(
            TrustedProxies::default().client(ip("::ffff:198.51.100.1"), &HeaderMap::new()),
            Ok(ip("198.51.100.1"))
        );
    }
}
