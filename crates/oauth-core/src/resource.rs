//! Resource indicators (RFC 8707): which protected resource a token is for.
//!
//! A school registers its resources (its MCP endpoint, its API). A request may
//! name one with `resource`; the token's audience is then that resource, and a
//! refresh may keep it but never change it.

use thiserror::Error;

/// Why a `resource` parameter is refused: `invalid_target` (RFC 8707 §2).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResourceError {
    /// Not an absolute URI, or it has a fragment (RFC 8707 §2).
    #[error("resource must be an absolute URI without a fragment")]
    Malformed,
    /// Not one of the school's registered resources.
    #[error("resource is not a registered resource of this school")]
    Unknown,
    /// A token request or refresh naming another resource than the grant's.
    #[error("resource differs from the one this grant was issued for")]
    Mismatch,
}

/// Checks the syntax of a `resource` value.
pub fn parse_resource(raw: &str) -> Result<String, ResourceError> {
    let (scheme, rest) = raw.split_once("://").ok_or(ResourceError::Malformed)?;
    let well_formed = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !raw.contains('#')
        && raw.len() <= 2000
        && raw.bytes().all(|b| b.is_ascii_graphic());
    if well_formed {
        Ok(raw.to_owned())
    } else {
        Err(ResourceError::Malformed)
    }
}

/// Decides the resource of an authorization: none, or one of `registered`.
pub fn decide_resource(
    requested: Option<&str>,
    registered: &[String],
) -> Result<Option<String>, ResourceError> {
    match requested {
        None => Ok(None),
        Some(raw) => {
            let resource = parse_resource(raw)?;
            if registered.contains(&resource) {
                Ok(Some(resource))
            } else {
                Err(ResourceError::Unknown)
            }
        }
    }
}

/// The resource of tokens issued from a grant bound to `granted`: a request may
/// repeat it or leave it out, never name another.
pub fn keep_resource(
    requested: Option<&str>,
    granted: Option<&str>,
) -> Result<Option<String>, ResourceError> {
    match (requested, granted) {
        (None, granted) => Ok(granted.map(str::to_owned)),
        (Some(requested), Some(granted)) if requested == granted => Ok(Some(granted.to_owned())),
        (Some(_), _) => Err(ResourceError::Mismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources() {
        let registered = vec!["https://demo.example/mcp".to_owned()];
        assert_eq!(decide_resource(None, &registered), Ok(None));
        assert_eq!(
            decide_resource(Some("https://demo.example/mcp"), &registered),
            Ok(Some(registered[0].clone()))
        );
        assert_eq!(
            decide_resource(Some("https://demo.example/other"), &registered),
            Err(ResourceError::Unknown)
        );
        assert_eq!(
            decide_resource(Some("https://demo.example/mcp#x"), &registered),
            Err(ResourceError::Malformed)
        );
        assert_eq!(
            decide_resource(Some("mcp"), &registered),
            Err(ResourceError::Malformed)
        );
        assert_eq!(keep_resource(None, Some("r://x")), Ok(Some("r://x".into())));
        assert_eq!(
            keep_resource(Some("r://x"), Some("r://x")),
            Ok(Some("r://x".into()))
        );
        assert_eq!(
            keep_resource(Some("r://y"), Some("r://x")),
            Err(ResourceError::Mismatch)
        );
        assert_eq!(
            keep_resource(Some("r://y"), None),
            Err(ResourceError::Mismatch)
        );
    }
}
