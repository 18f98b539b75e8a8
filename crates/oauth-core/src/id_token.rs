//! The claims of OpenID Connect ID tokens (Core §2). Signing happens outside
//! the core; this module decides what the token says.

use chrono::{DateTime, Duration, Utc};

use crate::ids::{ClientId, SchoolId, UserId};

/// ID tokens are short-lived: they prove a login, they do not grant access.
pub const ID_TOKEN_LIFETIME: Duration = Duration::seconds(3600);

/// What an ID token asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenClaims {
    /// The issuer of the flow: the school host's, or the platform's.
    pub iss: String,
    /// The user, stable across schools.
    pub sub: UserId,
    /// The client it is for.
    pub aud: ClientId,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// When the user entered their password.
    pub auth_time: i64,
    /// The `nonce` of the authorization request, if any.
    pub nonce: Option<String>,
    /// The school the authorization was for.
    pub school_id: SchoolId,
}

/// The claims of the ID token for a code exchange.
pub fn id_token_claims(
    issuer: &str,
    user: UserId,
    client: &ClientId,
    school: SchoolId,
    auth_time: DateTime<Utc>,
    nonce: Option<&str>,
    now: DateTime<Utc>,
) -> IdTokenClaims {
    IdTokenClaims {
        iss: issuer.to_owned(),
        sub: user,
        aud: client.clone(),
        exp: (now + ID_TOKEN_LIFETIME).timestamp(),
        iat: now.timestamp(),
        auth_time: auth_time.timestamp(),
        nonce: nonce.map(str::to_owned),
        school_id: school,
    }
}
