//! Sending a webhook's message: one POST of a JSON body with the Standard Webhooks headers, to a
//! destination that is not on this machine or the organisation's own network unless the operator
//! allows it (so a webhook cannot be turned on the server's neighbours), following no redirect,
//! within a time limit. What the receiver answered is returned for the delivery's record; the
//! signature is made by the caller (`steward-auth`).

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// How long a receiver has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a receiver's answer is kept.
const KEPT: usize = 1000;

/// Why a message could not be sent; the receiver's own refusal is an answer, not this.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    #[error("not a web address: {0}")]
    BadUrl(String),
    #[error("{0}: only http and https addresses are sent to")]
    Scheme(String),
    #[error(
        "{host} is {addr}, on this machine or a private network: refused (allow private destinations in the configuration to send there)"
    )]
    Private { host: String, addr: IpAddr },
    #[error("{0}: the name does not resolve")]
    Unresolved(String),
    #[error("{0}")]
    Failed(String),
}

/// Whether an address is on the public internet: not loopback, private (RFC 1918, unique local),
/// link-local, shared (carrier-grade NAT), unspecified, multicast, broadcast or documentation.
pub fn is_public(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0)
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// Where `url` would be sent, checked: its scheme, and every address its host resolves to
/// public unless `allow_private`. The host and the addresses to connect to.
pub fn destination(
    url: &str,
    allow_private: bool,
) -> Result<(url::Url, Vec<SocketAddr>), SendError> {
    let parsed = url::Url::parse(url).map_err(|e| SendError::BadUrl(format!("{url}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(SendError::Scheme(url.to_owned()));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| SendError::BadUrl(format!("{url}: no host")))?
        .to_owned();
    let port = parsed
        .port_or_known_default()
        .ok_or_else(|| SendError::BadUrl(format!("{url}: no port")))?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = (bare, port)
        .to_socket_addrs()
        .map_err(|_| SendError::Unresolved(host.clone()))?
        .collect();
    if addrs.is_empty() {
        return Err(SendError::Unresolved(host));
    }
    if !allow_private && let Some(addr) = addrs.iter().find(|a| !is_public(a.ip())) {
        return Err(SendError::Private {
            host,
            addr: addr.ip(),
        });
    }
    Ok((parsed, addrs))
}

/// Sends `body` to `url` with `headers`, connecting only to the addresses checked (so a name
/// that resolves differently a moment later cannot redirect it). The status and the first
/// thousand characters of the answer.
pub fn send(
    url: &str,
    allow_private: bool,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Result<(u16, String), SendError> {
    let (parsed, addrs) = destination(url, allow_private)?;
    let host = parsed.host_str().unwrap_or_default().to_owned();
    let client = reqwest::blocking::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .resolve_to_addrs(&host, &addrs)
        .build()
        .map_err(|e| SendError::Failed(e.to_string()))?;
    let mut request = client
        .post(parsed)
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request
        .send()
        .map_err(|e| SendError::Failed(crate::http::shown(&e.to_string())))?;
    let status = response.status().as_u16();
    let text = response.text().unwrap_or_default();
    Ok((status, text.chars().take(KEPT).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            let addr: IpAddr = private.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
            assert!(!is_public(addr), "{private}");
        }
        for public in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            let addr: IpAddr = public.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
            assert!(is_public(addr), "{public}");
        }
    }

    #[test]
    fn loopback_and_other_schemes_are_refused_unless_allowed() {
        assert!(matches!(
            destination("http://127.0.0.1:9/hook", false),
            Err(SendError::Private { .. })
        ));
        assert!(matches!(
            destination("http://localhost:9/hook", false),
            Err(SendError::Private { .. })
        ));
        assert!(destination("http://127.0.0.1:9/hook", true).is_ok());
        assert!(matches!(
            destination("file:///etc/passwd", true),
            Err(SendError::Scheme(_))
        ));
        assert!(matches!(
            destination("not a url", true),
            Err(SendError::BadUrl(_))
        ));
    }
}
