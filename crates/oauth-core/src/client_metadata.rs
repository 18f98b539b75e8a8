//! Client ID Metadata Documents: a `client_id` that is an `https` URL names a
//! public client described by the JSON document at that URL.
//!
//! These rules decide whether a document may describe the client its URL
//! names; fetching and caching happen outside the core.

use thiserror::Error;

use crate::redirect_uri::RedirectUri;

/// Why a client metadata document is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClientMetadataError {
    /// The client id is not an `https` URL with a path, or has a fragment.
    #[error("a URL client_id must be an https URL with a path and no fragment")]
    BadClientIdUrl,
    /// The document names another client id than its URL.
    #[error("the document's client_id differs from its URL")]
    ClientIdMismatch,
    /// A redirect URI is neither on the client id's origin nor loopback.
    #[error("redirect URI `{0}` is neither on the client_id's origin nor a loopback address")]
    ForeignRedirect(String),
}

/// Whether a client id is meant as a metadata document URL.
pub fn is_url_client_id(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// Whether a document URL is in the one form it can be fetched as: no dot
/// segments (also percent-encoded), no backslashes, no empty segments, no
/// fragment, no percent-encoded slashes. Anything an HTTP client would
/// normalise differently could otherwise escape an allow-listed prefix.
pub fn is_canonical_document_url(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let Some((_, path)) = rest.split_once('/') else {
        return false;
    };
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let lower = url.to_ascii_lowercase();
    url.bytes().all(|b| b.is_ascii_graphic())
        && !url.contains(['#', '\\'])
        && !lower.contains("%2e")
        && !lower.contains("%2f")
        && !lower.contains("%5c")
        && path
            .split('/')
            .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}

/// Whether an allow-list entry (a URL prefix ending in `/`) admits `url`.
/// Entries must end in `/`, so `https://a.example/x/` admits neither
/// `https://a.example/xy/…` nor `https://a.example.evil/…`.
pub fn is_allowed_by(url: &str, allowed_prefixes: &[String]) -> bool {
    is_canonical_document_url(url)
        && allowed_prefixes
            .iter()
            .any(|prefix| prefix.ends_with('/') && url.starts_with(prefix.as_str()))
}

/// The origin (`https://host[:port]`) of an `https` client id URL with a path.
pub fn client_id_origin(client_id: &str) -> Result<&str, ClientMetadataError> {
    origin_with_scheme(client_id, "https://")
}

/// As [`client_id_origin`], also admitting `http` URLs on loopback, for a
/// deployment that allows them (tests and local development only).
pub fn loopback_client_id_origin(client_id: &str) -> Result<&str, ClientMetadataError> {
    let on_loopback = [
        "http://127.0.0.1:",
        "http://127.0.0.1/",
        "http://localhost:",
        "http://[::1]:",
    ]
    .iter()
    .any(|p| client_id.starts_with(p));
    if on_loopback {
        origin_with_scheme(client_id, "http://")
    } else {
        client_id_origin(client_id)
    }
}

fn origin_with_scheme<'a>(
    client_id: &'a str,
    scheme: &str,
) -> Result<&'a str, ClientMetadataError> {
    let rest = client_id
        .strip_prefix(scheme)
        .ok_or(ClientMetadataError::BadClientIdUrl)?;
    let slash = rest.find('/').ok_or(ClientMetadataError::BadClientIdUrl)?;
    let well_formed = slash > 0
        && rest.len() > slash + 1
        && !client_id.contains('#')
        && !client_id.contains("/../")
        && !client_id.contains("/./")
        && client_id.bytes().all(|b| b.is_ascii_graphic());
    if well_formed {
        Ok(&client_id[..(scheme.len() + slash)])
    } else {
        Err(ClientMetadataError::BadClientIdUrl)
    }
}

/// Checks that a document fetched from (or seeded for) `url` may describe the
/// client `url` names: it names itself, and its redirects stay on its origin
/// or on the device (loopback).
pub fn check_document(
    url: &str,
    document_client_id: &str,
    redirects: &[RedirectUri],
) -> Result<(), ClientMetadataError> {
    let origin = loopback_client_id_origin(url)?;
    if document_client_id != url {
        return Err(ClientMetadataError::ClientIdMismatch);
    }
    for redirect in redirects {
        let on_origin = redirect
            .as_str()
            .strip_prefix(origin)
            .is_some_and(|rest| rest.starts_with('/') || rest.starts_with('?'));
        if !on_origin && !redirect.is_loopback() {
            return Err(ClientMetadataError::ForeignRedirect(
                redirect.as_str().to_owned(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uris(list: &[&str]) -> Vec<RedirectUri> {
        list.iter()
            .map(|u| RedirectUri::register(u).unwrap())
            .collect()
    }

    #[test]
    fn documents() {
        let url = "https://client.example/oauth/client.json";
        assert_eq!(client_id_origin(url), Ok("https://client.example"));
        assert!(check_document(
            url,
            url,
            &uris(&["https://client.example/cb", "http://127.0.0.1/cb"])
        )
        .is_ok());
        assert_eq!(
            check_document(url, url, &uris(&["https://client.example.evil/cb"])),
            Err(ClientMetadataError::ForeignRedirect(
                "https://client.example.evil/cb".into()
            ))
        );
        assert_eq!(
            check_document(url, "https://other.example/c.json", &[]),
            Err(ClientMetadataError::ClientIdMismatch)
        );
        assert!(is_allowed_by(
            url,
            &["https://client.example/oauth/".into()]
        ));
        assert!(!is_allowed_by(url, &["https://client.example/oau".into()]));
        assert!(!is_allowed_by(
            "https://client.example.evil/oauth/c.json",
            &["https://client.example".into()]
        ));
        assert!(loopback_client_id_origin("http://127.0.0.1:9/c.json").is_ok());
        let allowed = vec!["https://client.example/ok/".to_owned()];
        for escape in [
            "https://client.example/ok/%2e%2e/secret/doc.json",
            "https://client.example/ok/%2E%2E/secret/doc.json",
            "https://client.example/ok/../secret/doc.json",
            "https://client.example/ok/./doc.json",
            "https://client.example/ok//doc.json",
            "https://client.example/ok/..%2fsecret/doc.json",
            "https://client.example/ok\\..\\secret.json",
        ] {
            assert!(!is_allowed_by(escape, &allowed), "{escape}");
        }
        assert!(is_allowed_by(
            "https://client.example/ok/doc.json",
            &allowed
        ));
        assert!(client_id_origin("http://127.0.0.1:9/c.json").is_err());
        for bad in [
            "http://client.example/c.json",
            "https://client.example",
            "https://client.example/",
            "https://client.example/c#x",
        ] {
            assert_eq!(
                client_id_origin(bad),
                Err(ClientMetadataError::BadClientIdUrl),
                "{bad}"
            );
        }
    }
}
