//! The client's address, as far as it is known: only the rate limiter's input (which keeps a
//! keyed hash of it), never logged.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};

use super::origin::carries_secret;
use super::state::{AppState, ClientHeader};

/// The client's address, as far as it is known; used only as the rate limiter's input
/// (which keeps a keyed hash of it) and never logged.
///
/// - Behind a CDN (`[proxy] client_address_header`, e.g. CloudFront's
///   `CloudFront-Viewer-Address`): that header, when the request also carries the origin
///   secret in `X-Origin-Verify` (or no secret is configured).
/// - Under Lambda: the request context's `sourceIp` (set by AWS, not by the client), which
///   `crate::lambda` hands over as a [`RuntimeClientAddr`].
/// - Behind a trusted reverse proxy (`trust_forwarded_for`): the last `X-Forwarded-For`
///   entry, the one the proxy itself appended; earlier entries are whatever the client sent.
/// - Otherwise: the TCP peer, when the server was started with connect info. A loopback peer
///   is a local proxy or the operator's own tools, whose many clients would otherwise share
///   one allowance, so it counts as unknown.
/// - Unknown (tests through `oneshot`, `kelisim serve`): only the global ceiling applies.
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(client) = &state.client_header
            && let Some(ip) = cdn_client_addr(client, &parts.headers)
        {
            return Ok(Self(Some(ip)));
        }
        Ok(Self(client_addr(
            &parts.extensions,
            &parts.headers,
            state.trust_forwarded_for,
        )))
    }
}

/// A client address the hosting runtime vouches for, put in the request's extensions by a layer
/// of that host's glue, never taken from anything the client sent: under Lambda, the request
/// context's `sourceIp` (see `crate::lambda`).
#[derive(Clone, Copy, Debug)]
pub struct RuntimeClientAddr(pub IpAddr);

fn client_addr(
    extensions: &Extensions,
    headers: &HeaderMap,
    trust_forwarded: bool,
) -> Option<IpAddr> {
    if let Some(RuntimeClientAddr(ip)) = extensions.get::<RuntimeClientAddr>() {
        return Some(*ip);
    }
    if trust_forwarded && let Some(ip) = forwarded_for(headers) {
        return Some(ip);
    }
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip().to_canonical())
        .filter(|ip| !ip.is_loopback())
}

/// The viewer's address from the CDN's header (`IP`, `IP:port`, `[IPv6]:port`, or an
/// unbracketed IPv6 address with its port after the last colon, as CloudFront writes it),
/// if the origin secret matches.
fn cdn_client_addr(client: &ClientHeader, headers: &HeaderMap) -> Option<IpAddr> {
    if let Some(secret) = &client.secret
        && !carries_secret(headers, secret)
    {
        return None;
    }
    let value = headers.get(&client.name)?.to_str().ok()?.trim();
    let ip = value
        .parse::<IpAddr>()
        .ok()
        .or_else(|| value.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            let (host, port) = value.rsplit_once(':')?;
            port.parse::<u16>().ok()?;
            host.parse::<IpAddr>().ok()
        })?;
    Some(ip.to_canonical())
}

/// The last entry of the last `X-Forwarded-For` header, if it is an address.
fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let last = headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()?
        .to_str()
        .ok()?;
    let entry = last.rsplit(',').next()?.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}
