//! Access tokens at a resource server (RFC 6750): is this bearer token good for
//! this school, and does it carry the scope an operation needs?

use std::fmt;

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::error::ErrorCode;
use crate::ids::{ApplicationId, ClientId, SchoolId, UserId};
use crate::scope::{Scope, ScopeSet};
use crate::token::{is_unexpired, Binding};

/// A stored access token, as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenRecord {
    /// The school whose data it reaches.
    pub school_id: SchoolId,
    /// Obtained at the platform host (with the school picked there).
    pub via_platform: bool,
    /// The user it acts for.
    pub user_id: UserId,
    /// The application it was issued to.
    pub application_id: ApplicationId,
    /// That application's public id.
    pub client_id: ClientId,
    /// What it may do.
    pub scopes: ScopeSet,
    /// The resource (RFC 8707) it is for, if one was named.
    pub resource: Option<String>,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Revoked (directly, with its grant, or by reuse detection).
    pub revoked: bool,
}

/// Why a request to a resource server is refused (RFC 6750 §3.1).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AccessError {
    /// No bearer token was sent. RFC 6750 §3.1: no error code is returned.
    #[error("a bearer token is required")]
    MissingToken,
    /// More than one token, or an `Authorization` header that is not Bearer.
    #[error("the request carries a malformed or duplicated bearer token")]
    MalformedRequest,
    /// Unknown, expired, revoked, or issued for another school. These are one
    /// variant on purpose: the answer must not tell them apart.
    #[error("the access token is invalid, expired or revoked")]
    InvalidToken,
    /// The token lacks a scope the operation needs.
    #[error("the access token lacks the scope `{0}`")]
    InsufficientScope(Scope),
}

impl AccessError {
    /// The RFC 6750 §3.1 code, if any.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self {
            AccessError::MissingToken => None,
            AccessError::MalformedRequest => Some(ErrorCode::InvalidRequest),
            AccessError::InvalidToken => Some(ErrorCode::InvalidToken),
            AccessError::InsufficientScope(_) => Some(ErrorCode::InsufficientScope),
        }
    }

    /// The HTTP status RFC 6750 §3.1 gives it.
    pub fn status(&self) -> u16 {
        match self {
            AccessError::MalformedRequest => 400,
            AccessError::MissingToken | AccessError::InvalidToken => 401,
            AccessError::InsufficientScope(_) => 403,
        }
    }

    /// The `WWW-Authenticate` challenge (RFC 6750 §3) for `realm`.
    ///
    /// ```
    /// use oauth_core::access::AccessError;
    /// use oauth_core::Scope;
    /// let error = AccessError::InsufficientScope(Scope::parse("courses:read").unwrap());
    /// assert_eq!(
    ///     error.www_authenticate("demo"),
    ///     r#"Bearer realm="demo", error="insufficient_scope", error_description="the access token lacks the scope `courses:read`", scope="courses:read""#
    /// );
    /// ```
    pub fn www_authenticate(&self, realm: &str) -> String {
        let mut challenge = format!("Bearer realm=\"{}\"", quoted(realm));
        if let Some(code) = self.error_code() {
            challenge.push_str(&format!(
                ", error=\"{code}\", error_description=\"{}\"",
                quoted(&self.to_string())
            ));
        }
        if let AccessError::InsufficientScope(scope) = self {
            challenge.push_str(&format!(", scope=\"{scope}\""));
        }
        challenge
    }
}

/// Keeps a value inside a quoted-string (RFC 9110 §5.6.4) by dropping quotes and
/// backslashes, which none of our values need.
fn quoted(value: &str) -> String {
    value
        .chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .collect()
}

/// What a resource server learns from a good token.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessContext {
    /// The school the token is for; always the school of the request.
    pub school_id: SchoolId,
    /// The user.
    pub user_id: UserId,
    /// The application acting for the user.
    pub client_id: ClientId,
    /// What it may do.
    pub scopes: ScopeSet,
    /// The resource (RFC 8707) it is bound to, if any: a resource server
    /// refuses a token bound to another resource.
    pub resource: Option<String>,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for AccessContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessContext")
            .field("school_id", &self.school_id)
            .field("user_id", &self.user_id)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl AccessContext {
    /// Succeeds when the token carries `scope`; otherwise `insufficient_scope`.
    pub fn require_scope(&self, scope: Scope) -> Result<(), AccessError> {
        if self.scopes.contains(scope) {
            Ok(())
        } else {
            Err(AccessError::InsufficientScope(scope))
        }
    }
}

impl AccessTokenRecord {
    /// The issuer and school it belongs to.
    pub fn binding(&self) -> Binding {
        Binding {
            school_id: self.school_id,
            via_platform: self.via_platform,
        }
    }
}

/// Whether a token may be used at the OAuth server's own endpoints (userinfo)
/// at `served_at`: live, and obtained at this issuer.
pub fn check_issuer_token(
    token: Option<&AccessTokenRecord>,
    served_at: crate::ids::ServedAt,
    now: DateTime<Utc>,
) -> Result<AccessContext, AccessError> {
    match token {
        Some(t) if t.binding().is_usable_at(served_at) => {
            check_access_token(Some(t), t.school_id, now)
        }
        _ => Err(AccessError::InvalidToken),
    }
}

/// Decides whether a token (as loaded by its digest, `None` if unknown) is good
/// for a request to `school` at `now`. A token of another school is refused
/// exactly like an unknown one.
pub fn check_access_token(
    token: Option<&AccessTokenRecord>,
    school: SchoolId,
    now: DateTime<Utc>,
) -> Result<AccessContext, AccessError> {
    match token {
        Some(t) if t.school_id == school && !t.revoked && is_unexpired(t.expires_at, now) => {
            Ok(AccessContext {
                school_id: t.school_id,
                user_id: t.user_id,
                client_id: t.client_id.clone(),
                scopes: t.scopes.clone(),
                resource: t.resource.clone(),
                expires_at: t.expires_at,
            })
        }
        _ => Err(AccessError::InvalidToken),
    }
}

/// Extracts the token from an `Authorization` header value (RFC 6750 §2.1).
pub fn bearer_token(authorization: Option<&str>) -> Result<&str, AccessError> {
    let header = authorization.ok_or(AccessError::MissingToken)?;
    let (scheme, token) = header
        .split_once(' ')
        .ok_or(AccessError::MalformedRequest)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return Err(AccessError::MalformedRequest);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn school(n: u128) -> SchoolId {
        SchoolId::from_uuid(Uuid::from_u128(n))
    }

    fn record() -> AccessTokenRecord {
        AccessTokenRecord {
            school_id: school(1),
            via_platform: false,
            user_id: UserId::from_uuid(Uuid::from_u128(2)),
            application_id: ApplicationId::from_uuid(Uuid::from_u128(3)),
            client_id: ClientId::parse("app").unwrap(),
            scopes: ScopeSet::parse_request("courses:read").unwrap(),
            resource: None,
            issued_at: t(0),
            expires_at: t(100),
            revoked: false,
        }
    }

    #[test]
    fn token_checks() {
        assert!(check_access_token(Some(&record()), school(1), t(99)).is_ok());
        assert_eq!(
            check_access_token(Some(&record()), school(1), t(100)),
            Err(AccessError::InvalidToken)
        );
        assert_eq!(
            check_access_token(Some(&record()), school(2), t(0)),
            Err(AccessError::InvalidToken)
        );
        let revoked = AccessTokenRecord {
            revoked: true,
            ..record()
        };
        assert_eq!(
            check_access_token(Some(&revoked), school(1), t(0)),
            Err(AccessError::InvalidToken)
        );
        assert_eq!(
            check_access_token(None, school(1), t(0)),
            Err(AccessError::InvalidToken)
        );
    }

    #[test]
    fn scopes_are_required_one_by_one() {
        let context = check_access_token(Some(&record()), school(1), t(0)).unwrap();
        assert!(context
            .require_scope(Scope::parse("courses:read").unwrap())
            .is_ok());
        let missing = Scope::parse("courses:write").unwrap();
        assert_eq!(
            context.require_scope(missing),
            Err(AccessError::InsufficientScope(missing))
        );
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some("bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(None), Err(AccessError::MissingToken));
        assert_eq!(
            bearer_token(Some("Basic abc")),
            Err(AccessError::MalformedRequest)
        );
        assert_eq!(
            bearer_token(Some("Bearer")),
            Err(AccessError::MalformedRequest)
        );
        assert_eq!(
            bearer_token(Some("Bearer a b")),
            Err(AccessError::MalformedRequest)
        );
    }

    #[test]
    fn challenges() {
        assert_eq!(
            AccessError::MissingToken.www_authenticate("x"),
            r#"Bearer realm="x""#
        );
        assert!(AccessError::InvalidToken
            .www_authenticate("x")
            .contains(r#"error="invalid_token""#));
        assert_eq!(
            AccessError::InsufficientScope(Scope::parse("openid").unwrap()).status(),
            403
        );
    }
}
