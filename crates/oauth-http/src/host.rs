//! Which school (or the platform) a request is for, from the host it was made
//! to, and the issuer that host speaks as.
//!
//! `X-Forwarded-Host`, `X-Forwarded-Proto` and `Forwarded` are honoured only
//! when the direct peer is a configured trusted proxy; from anyone else they
//! are ignored, so a client cannot talk its way into another school.

use std::net::IpAddr;

use actix_web::http::header::{HeaderMap, HOST};
use actix_web::HttpRequest;
use ipnet::IpNet;
use oauth_core::ServedAt;
use oauth_storage::School;
use thiserror::Error;

use crate::AppState;

/// The addresses whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

/// A trusted proxy entry that is neither an address nor a CIDR block.
#[derive(Debug, Error)]
#[error("`{0}` is not an IP address or CIDR block")]
pub struct TrustedProxyError(String);

impl TrustedProxies {
    /// Parses addresses (`10.0.0.1`) and blocks (`10.0.0.0/8`).
    pub fn parse(entries: &[String]) -> Result<Self, TrustedProxyError> {
        entries
            .iter()
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| TrustedProxyError(entry.clone()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    fn trusts(&self, peer: Option<IpAddr>) -> bool {
        peer.is_some_and(|ip| self.0.iter().any(|net| net.contains(&ip)))
    }
}

/// The school or platform a request was made to.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// School or platform.
    pub served_at: ServedAt,
    /// The school, when the host is a school's.
    pub school: Option<School>,
    /// The host, lower-cased, with its port when one was sent.
    pub host: String,
    /// `https` or `http`.
    pub scheme: &'static str,
    /// The client's address: the peer, or for a trusted proxy the nearest
    /// untrusted address in `X-Forwarded-For`.
    pub client_ip: Option<String>,
}

impl Resolved {
    /// The issuer identifier of this host (RFC 8414 §2): scheme and host, no path.
    pub fn issuer(&self) -> String {
        format!("{}://{}", self.scheme, self.host)
    }

    /// Whether cookies must carry `Secure`.
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    /// The name to frame pages with.
    pub fn display_name(&self) -> &str {
        self.school
            .as_ref()
            .map_or("Loopwise", |s| s.display_name.as_str())
    }
}

/// Why a host could not be resolved.
#[derive(Debug)]
pub enum HostError {
    /// No school, and not the platform.
    Unknown,
    /// Storage failed.
    Storage(oauth_storage::StorageError),
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Reads `host=` and `proto=` from the first element of a `Forwarded` header
/// (RFC 7239).
/// Reads `key=` from the last element of a `Forwarded` header (RFC 7239): the
/// element the nearest proxy, which is trusted, appended.
fn forwarded_pair(headers: &HeaderMap, key: &str) -> Option<String> {
    let last = header(headers, "forwarded")?.rsplit(',').next()?;
    last.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        k.eq_ignore_ascii_case(key)
            .then(|| v.trim_matches('"').to_owned())
    })
}

/// The last value of an `X-Forwarded-*` header: the one the nearest proxy set
/// or appended. Earlier values came from further away, possibly the client.
fn last_value(headers: &HeaderMap, name: &str) -> Option<String> {
    header(headers, name)
        .and_then(|v| v.rsplit(',').next())
        .map(|v| v.trim().to_owned())
}

/// Which forwarding headers the trusted proxies set. Only that family is read,
/// so a client cannot slip the other one past a proxy that forwards it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForwardedHeaders {
    /// `X-Forwarded-Host` and `X-Forwarded-Proto` (nginx, most load balancers).
    #[default]
    XForwarded,
    /// RFC 7239 `Forwarded`.
    Forwarded,
}

fn is_valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// Resolves the request's school from its host.
pub async fn resolve(req: &HttpRequest, state: &AppState) -> Result<Resolved, HostError> {
    let headers = req.headers();
    let trusted = state
        .config
        .trusted_proxies
        .trusts(req.peer_addr().map(|a| a.ip()));
    let forwarded = |key: &str, x_forwarded: &str| match state.config.forwarded_headers {
        ForwardedHeaders::Forwarded => forwarded_pair(headers, key),
        ForwardedHeaders::XForwarded => last_value(headers, x_forwarded),
    };
    let forwarded_host = trusted
        .then(|| forwarded("host", "x-forwarded-host"))
        .flatten();
    let forwarded_proto = trusted
        .then(|| forwarded("proto", "x-forwarded-proto"))
        .flatten();
    let host = forwarded_host
        .or_else(|| header(headers, HOST.as_str()).map(str::to_owned))
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()))
        .ok_or(HostError::Unknown)?
        .to_ascii_lowercase();
    if !is_valid_host(&host) {
        return Err(HostError::Unknown);
    }
    let scheme = match forwarded_proto.as_deref() {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    let client_ip = client_ip(req, &state.config.trusted_proxies, trusted);
    if host == state.config.platform_host {
        return Ok(Resolved {
            served_at: ServedAt::Platform,
            school: None,
            host,
            scheme,
            client_ip,
        });
    }
    let store = &state.store;
    let school = match store
        .find_school_by_domain(&host)
        .await
        .map_err(HostError::Storage)?
    {
        Some(school) => Some(school),
        None => match host.strip_suffix(&format!(".{}", state.config.base_domain)) {
            Some(label) if !label.contains('.') => store
                .find_school_by_subdomain(label)
                .await
                .map_err(HostError::Storage)?,
            _ => None,
        },
    };
    let school = school.ok_or(HostError::Unknown)?;
    Ok(Resolved {
        served_at: ServedAt::School(school.id),
        school: Some(school),
        host,
        scheme,
        client_ip,
    })
}

/// The client's address. Behind trusted proxies, `X-Forwarded-For` is read from
/// the right, skipping the proxies themselves, so a client cannot forge it.
fn client_ip(req: &HttpRequest, proxies: &TrustedProxies, peer_trusted: bool) -> Option<String> {
    let peer = req.peer_addr().map(|a| a.ip());
    if peer_trusted {
        if let Some(forwarded) = header(req.headers(), "x-forwarded-for") {
            let nearest_untrusted = forwarded
                .split(',')
                .rev()
                .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
                .find(|ip| !proxies.trusts(Some(*ip)));
            if let Some(ip) = nearest_untrusted {
                return Some(ip.to_string());
            }
        }
    }
    peer.map(|ip| ip.to_string())
}
