//! Redirect URIs: what may be registered, and when a requested URI matches.
//!
//! Matching is exact (RFC 6749 §3.1.2.3, RFC 9700 §4.1.3): scheme and host
//! compare case-insensitively, everything else byte for byte, with no other
//! normalisation. The one freedom is the port of a loopback `http` URI, which
//! native apps pick at run time (RFC 8252 §7.3); the three loopback spellings
//! (`127.0.0.1`, `[::1]`, `localhost`) each match only themselves.

use std::fmt;

use thiserror::Error;

/// The loopback host spellings that get port freedom over `http`.
const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "[::1]", "localhost"];

/// Schemes that can run code or read files where a browser lands on them.
const FORBIDDEN_SCHEMES: [&str; 4] = ["javascript", "data", "file", "vbscript"];

/// The longest redirect URI we accept.
pub const MAX_LEN: usize = 2000;

/// A URI split into the parts the rules look at. Parts borrow from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parts<'a> {
    scheme: &'a str,
    /// `Some` when the URI has an authority (`//…`).
    authority: Option<Authority<'a>>,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Authority<'a> {
    has_userinfo: bool,
    host: &'a str,
    port: Option<&'a str>,
}

/// Splits a URI-reference into its RFC 3986 §3 components. Returns `None` when
/// the string is not an absolute URI made only of characters URIs may hold.
fn split(uri: &str) -> Option<Parts<'_>> {
    if uri.is_empty()
        || uri.len() > MAX_LEN
        || !uri.bytes().all(is_uri_byte)
        || !has_valid_percent_escapes(uri)
    {
        return None;
    }
    let (scheme, rest) = uri.split_once(':')?;
    let mut chars = scheme.chars();
    let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return None;
    }
    let (rest, fragment) = match rest.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (rest, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let (authority, path) = match rest.strip_prefix("//") {
        Some(after) => {
            let end = after.find('/').unwrap_or(after.len());
            let (authority, path) = after.split_at(end);
            (Some(split_authority(authority)?), path)
        }
        None => (None, rest),
    };
    Some(Parts {
        scheme,
        authority,
        path,
        query,
        fragment,
    })
}

fn split_authority(authority: &str) -> Option<Authority<'_>> {
    let (has_userinfo, host_port) = match authority.rsplit_once('@') {
        Some((_, host_port)) => (true, host_port),
        None => (false, authority),
    };
    let (host, port) = if host_port.starts_with('[') {
        let close = host_port.find(']')?;
        let (host, after) = host_port.split_at(close + 1);
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    if let Some(port) = port {
        // RFC 3986 allows any digits; a port that is not 1 to 65535 is no address.
        let number = port
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| port.parse::<u16>().ok())
            .flatten();
        if number.is_none_or(|n| n == 0) {
            return None;
        }
    }
    Some(Authority {
        has_userinfo,
        host,
        port,
    })
}

/// RFC 3986 §2: unreserved, reserved (gen-delims and sub-delims) and `%`.
fn is_uri_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

fn has_valid_percent_escapes(uri: &str) -> bool {
    let bytes = uri.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

/// Whether a path segment is `.` or `..`, also when written with `%2e`.
fn is_dot_segment(segment: &str) -> bool {
    // `..;x` is read as `..` by servers that strip path parameters.
    let name = segment.split(';').next().unwrap_or(segment);
    let decoded = name.to_ascii_lowercase().replace("%2e", ".");
    decoded == "." || decoded == ".."
}

/// Why a URI may not be registered as a redirect URI.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RedirectUriError {
    /// Not an absolute URI of permitted characters, or too long.
    #[error("the redirect URI is not a valid absolute URI")]
    Malformed,
    /// `javascript:`, `data:`, `file:`, `vbscript:`.
    #[error("the redirect URI uses a forbidden scheme")]
    ForbiddenScheme,
    /// RFC 6749 §3.1.2: "The endpoint URI MUST NOT include a fragment component."
    #[error("the redirect URI must not have a fragment")]
    Fragment,
    /// Wildcards would turn matching into pattern matching.
    #[error("the redirect URI must not contain wildcards")]
    Wildcard,
    /// `user:pass@host` hides the real host from people reading the URI.
    #[error("the redirect URI must not contain user information")]
    Userinfo,
    /// Plain `http` is allowed only for loopback hosts (RFC 8252 §7.3).
    #[error("the redirect URI must use https unless its host is loopback")]
    InsecureHttp,
    /// `http` and `https` need a host.
    #[error("the redirect URI has no host")]
    MissingHost,
    /// `.` and `..` segments are resolved differently by different parsers.
    #[error("the redirect URI must not contain dot segments")]
    DotSegment,
    /// `;` path parameters are read as separators by some servers.
    #[error("the redirect URI must not contain path parameters")]
    PathParameter,
}

/// A redirect URI that passed the registration rules.
///
/// ```
/// use oauth_core::RedirectUri;
/// let registered = RedirectUri::register("http://127.0.0.1/callback").unwrap();
/// assert!(registered.matches("http://127.0.0.1:51004/callback"));
/// assert!(!registered.matches("http://localhost:51004/callback"));
/// assert!(RedirectUri::register("https://app.example/cb#frag").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// Applies the registration rules and wraps the URI, unchanged.
    pub fn register(uri: &str) -> Result<Self, RedirectUriError> {
        if uri.contains('*') {
            return Err(RedirectUriError::Wildcard);
        }
        if uri.contains('#') {
            return Err(RedirectUriError::Fragment);
        }
        let parts = split(uri).ok_or(RedirectUriError::Malformed)?;
        let scheme = parts.scheme.to_ascii_lowercase();
        if FORBIDDEN_SCHEMES.contains(&scheme.as_str()) {
            return Err(RedirectUriError::ForbiddenScheme);
        }
        if let Some(authority) = &parts.authority {
            if authority.has_userinfo {
                return Err(RedirectUriError::Userinfo);
            }
        }
        if scheme == "http" || scheme == "https" {
            let authority = parts
                .authority
                .as_ref()
                .ok_or(RedirectUriError::MissingHost)?;
            if authority.host.is_empty() {
                return Err(RedirectUriError::MissingHost);
            }
            if scheme == "http" && !is_loopback_host(authority.host) {
                return Err(RedirectUriError::InsecureHttp);
            }
        }
        if parts.path.split('/').any(is_dot_segment) {
            return Err(RedirectUriError::DotSegment);
        }
        if parts.path.contains(';') {
            return Err(RedirectUriError::PathParameter);
        }
        Ok(Self(uri.to_owned()))
    }

    /// The URI exactly as registered.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this URI is `http` on a loopback host, where the port is free.
    pub fn is_loopback(&self) -> bool {
        split(&self.0).is_some_and(|p| is_loopback_http(&p))
    }

    /// The web origin (`scheme://host[:port]`, scheme and host lower-cased) of
    /// an `http` or `https` redirect URI, for CORS; `None` for other schemes.
    pub fn web_origin(&self) -> Option<String> {
        let parts = split(&self.0)?;
        let scheme = parts.scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return None;
        }
        let authority = parts.authority?;
        let host = authority.host.to_ascii_lowercase();
        Some(match authority.port {
            Some(port) => format!("{scheme}://{host}:{port}"),
            None => format!("{scheme}://{host}"),
        })
    }

    /// Whether `requested`, as sent in an authorization request, is this
    /// registered URI under the exact-match rule.
    pub fn matches(&self, requested: &str) -> bool {
        let (Some(registered), Some(requested)) = (split(&self.0), split(requested)) else {
            return false;
        };
        if requested.fragment.is_some()
            || !registered.scheme.eq_ignore_ascii_case(requested.scheme)
            || registered.path != requested.path
            || registered.query != requested.query
        {
            return false;
        }
        match (&registered.authority, &requested.authority) {
            (None, None) => true,
            (Some(reg), Some(req)) => {
                !req.has_userinfo
                    && reg.host.eq_ignore_ascii_case(req.host)
                    && (reg.port == req.port || is_loopback_http(&registered))
            }
            _ => false,
        }
    }

    /// Builds the URI a response is redirected to: this requested URI with the
    /// given parameters appended to its query, keeping any registered query
    /// (RFC 6749 §3.1.2).
    pub fn with_params(requested: &str, params: &[(&str, &str)]) -> String {
        let mut out = requested.to_owned();
        let mut separator = if requested.contains('?') { '&' } else { '?' };
        if requested.ends_with('?') || requested.ends_with('&') {
            separator = '\0';
        }
        for (name, value) in params {
            if separator != '\0' {
                out.push(separator);
            }
            separator = '&';
            out.push_str(&percent_encode(name));
            out.push('=');
            out.push_str(&percent_encode(value));
        }
        out
    }
}

/// Finds the registered URI that `requested` matches, if any.
pub fn find_match<'a>(registered: &'a [RedirectUri], requested: &str) -> Option<&'a RedirectUri> {
    registered.iter().find(|uri| uri.matches(requested))
}

fn is_loopback_host(host: &str) -> bool {
    LOOPBACK_HOSTS.iter().any(|l| l.eq_ignore_ascii_case(host))
}

fn is_loopback_http(parts: &Parts<'_>) -> bool {
    parts.scheme.eq_ignore_ascii_case("http")
        && parts
            .authority
            .as_ref()
            .is_some_and(|a| is_loopback_host(a.host))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl fmt::Debug for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedirectUri({})", self.0)
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The most redirect URIs one application may register, however it is
/// registered (by the operator, a school admin, or dynamic registration).
pub const MAX_PER_APPLICATION: usize = 10;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reg(s: &str) -> RedirectUri {
        RedirectUri::register(s).unwrap()
    }

    #[test]
    fn registration_table() {
        use RedirectUriError::*;
        let cases: &[(&str, Result<(), RedirectUriError>)] = &[
            ("https://app.example/cb", Ok(())),
            ("https://app.example/cb?a=1", Ok(())),
            ("http://127.0.0.1/callback", Ok(())),
            ("http://[::1]:8000/callback", Ok(())),
            ("http://localhost/callback", Ok(())),
            ("cursor://anysphere.cursor-retrieval/oauth/callback", Ok(())),
            ("com.example.app:/cb", Ok(())),
            ("javascript:alert(1)", Err(ForbiddenScheme)),
            ("JavaScript:alert(1)", Err(ForbiddenScheme)),
            ("data:text/html,x", Err(ForbiddenScheme)),
            ("vbscript:x", Err(ForbiddenScheme)),
            ("file:///etc/passwd", Err(ForbiddenScheme)),
            ("http://app.example/cb", Err(InsecureHttp)),
            ("https://app.example/cb#frag", Err(Fragment)),
            ("https://app.example/cb#", Err(Fragment)),
            ("https://*.app.example/cb", Err(Wildcard)),
            ("https://user:pw@app.example/cb", Err(Userinfo)),
            ("https://app.example/cb/../steal", Err(DotSegment)),
            ("https://app.example/cb/%2e%2e/steal", Err(DotSegment)),
            ("https://app.example/cb/%2E./steal", Err(DotSegment)),
            ("https://app.example/./cb", Err(DotSegment)),
            ("https://app.example/cb/..;/steal", Err(DotSegment)),
            ("https://app.example/cb;x=1", Err(PathParameter)),
            ("https:///cb", Err(MissingHost)),
            ("https:cb", Err(MissingHost)),
            ("https://app.example/c b", Err(Malformed)),
            ("https://app.example/c\\b", Err(Malformed)),
            ("https://app.example/%zz", Err(Malformed)),
            ("https://app.example:/cb", Err(Malformed)),
            ("https://app.example:99999/cb", Err(Malformed)),
            ("https://app.example:0/cb", Err(Malformed)),
            ("/relative", Err(Malformed)),
            ("", Err(Malformed)),
        ];
        for (uri, expected) in cases {
            assert_eq!(&RedirectUri::register(uri).map(|_| ()), expected, "{uri}");
        }
    }

    #[test]
    fn matching_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("https://app.example/cb", "https://app.example/cb", true),
            (
                "https://app.example/cb",
                "https://app.example.attacker.example/cb",
                false,
            ),
            ("https://app.example/cb", "https://app.examplex/cb", false),
            ("https://app.example/cb", "https://app.example./cb", false),
            (
                "https://app.example/cb",
                "https://app.example:8443/cb",
                false,
            ),
            (
                "https://app.example/cb",
                "https://app.example:443/cb",
                false,
            ),
            (
                "https://app.example/cb",
                "https://app.example/cb/../steal",
                false,
            ),
            (
                "https://app.example/cb",
                "https://app.example/cb/%2e%2e/steal",
                false,
            ),
            (
                "https://app.example/cb",
                "https://app.example/cb/..;/steal",
                false,
            ),
            (
                "https://app.example/cb",
                "https://app.example/cb?x=1",
                false,
            ),
            ("https://app.example/cb", "https://app.example/cb?", false),
            ("https://app.example/cb", "https://app.example/cb#x", false),
            ("https://app.example/cb", "https://app.example/cb/", false),
            (
                "https://app.example/cb",
                "https://evil@app.example/cb",
                false,
            ),
            (
                "https://app.example/cb?a=1",
                "https://app.example/cb?a=2",
                false,
            ),
            (
                "https://app.example/cb?a=1",
                "https://app.example/cb?a=1",
                true,
            ),
            (
                "http://127.0.0.1/callback",
                "http://127.0.0.1:51004/callback",
                true,
            ),
            (
                "http://127.0.0.1:9000/callback",
                "http://127.0.0.1:51004/callback",
                true,
            ),
            (
                "http://127.0.0.1:9000/callback",
                "http://127.0.0.1/callback",
                true,
            ),
            (
                "http://127.0.0.1/callback",
                "http://localhost:51004/callback",
                false,
            ),
            (
                "http://127.0.0.1/callback",
                "http://[::1]:51004/callback",
                false,
            ),
            (
                "http://localhost/callback",
                "http://127.0.0.1/callback",
                false,
            ),
            ("http://[::1]/callback", "http://[::1]:1234/callback", true),
            (
                "http://127.0.0.1/callback",
                "http://127.0.0.1:65536/callback",
                false,
            ),
            (
                "http://127.0.0.1/callback",
                "http://127.0.0.1:0/callback",
                false,
            ),
            (
                "https://app.example/cb",
                "https://app.example:1234/cb",
                false,
            ),
            ("https://App.Example/cb", "https://app.example/cb", true),
            ("https://App.Example/cb", "HTTPS://APP.EXAMPLE/cb", true),
            ("https://App.Example/cb", "https://app.example/CB", false),
            ("cursor://cb/x", "cursor://cb/x", true),
            ("cursor://cb/x", "Cursor://cb/x", true),
            ("com.example.app:/cb", "com.example.app:/cb", true),
            ("com.example.app:/cb", "com.example.app://cb", false),
        ];
        for (registered, requested, expected) in cases {
            assert_eq!(
                reg(registered).matches(requested),
                *expected,
                "{registered} vs {requested}"
            );
        }
    }

    #[test]
    fn web_origins() {
        assert_eq!(
            reg("https://App.Example:8443/cb?x=1")
                .web_origin()
                .as_deref(),
            Some("https://app.example:8443")
        );
        assert_eq!(
            reg("http://127.0.0.1/cb").web_origin().as_deref(),
            Some("http://127.0.0.1")
        );
        assert_eq!(reg("cursor://x/cb").web_origin(), None);
    }

    #[test]
    fn parameters_are_appended_keeping_a_registered_query() {
        assert_eq!(
            RedirectUri::with_params(
                "https://app.example/cb?a=1",
                &[("code", "x y"), ("state", "s")]
            ),
            "https://app.example/cb?a=1&code=x%20y&state=s"
        );
        assert_eq!(
            RedirectUri::with_params("http://127.0.0.1:5/cb", &[("iss", "http://h:1")]),
            "http://127.0.0.1:5/cb?iss=http%3A%2F%2Fh%3A1"
        );
    }

    fn label() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9]{0,7}"
    }

    prop_compose! {
        fn https_uri()(host in label(), tld in label(), path in prop::collection::vec(label(), 0..3), query in prop::option::of("[a-z]=[a-z0-9]{1,4}")) -> String {
            let mut uri = format!("https://{host}.{tld}/{}", path.join("/"));
            if let Some(q) = query { uri.push('?'); uri.push_str(&q); }
            uri
        }
    }

    proptest! {
        #[test]
        fn a_registered_uri_matches_itself(uri in https_uri()) {
            prop_assert!(reg(&uri).matches(&uri));
        }

        #[test]
        fn changing_host_path_or_query_never_matches(uri in https_uri(), extra in "[a-zA-Z0-9._~-]{1,4}", which in 0..4u8) {
            let registered = reg(&uri);
            let changed = match which {
                0 => uri.replacen("https://", &format!("https://{extra}"), 1),
                1 => uri.replacen(".", &format!("{extra}."), 1),
                2 => format!("{}{}", uri.split('?').next().unwrap_or(&uri), extra) + &uri.find('?').map(|i| uri[i..].to_owned()).unwrap_or_default(),
                _ => match uri.split_once('?') {
                    Some((base, q)) => format!("{base}?{q}{extra}"),
                    None => format!("{uri}?{extra}"),
                },
            };
            prop_assume!(!changed.eq_ignore_ascii_case(&uri));
            prop_assert!(!registered.matches(&changed), "{} matched {}", uri, changed);
        }

        #[test]
        fn changing_the_scheme_never_matches(uri in https_uri(), scheme in "[a-z][a-z0-9+.-]{0,6}") {
            prop_assume!(scheme != "https");
            let changed = uri.replacen("https", &scheme, 1);
            prop_assert!(!reg(&uri).matches(&changed));
        }

        #[test]
        fn the_port_is_free_only_for_loopback_http(port in 1u16.., path in label(), which in 0..3usize) {
            let host = LOOPBACK_HOSTS[which];
            let loopback = reg(&format!("http://{host}/{path}"));
            let same_spelling = format!("http://{host}:{port}/{path}");
            prop_assert!(loopback.matches(&same_spelling));
            for other in LOOPBACK_HOSTS.iter().filter(|h| **h != host) {
                let other_spelling = format!("http://{other}:{port}/{path}");
                prop_assert!(!loopback.matches(&other_spelling));
            }
            let https = reg(&format!("https://{host}/{path}"));
            let https_with_port = format!("https://{host}:{port}/{path}");
            prop_assert!(!https.matches(&https_with_port));
        }
    }
}
