//! Secrets: tokens, codes, client secrets and passwords.
//!
//! Every secret lives in a type whose `Debug` prints a redacted marker, that has
//! no `Display` and no `Clone`, and whose value comes out only through
//! `expose_secret`. Server-generated secrets carry 256 bits of randomness and a
//! readable prefix, and are stored as their SHA-256 digest ([`TokenHash`]): a
//! fast digest is right for high-entropy values, and a slow password hash would
//! only cap throughput.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a server-generated secret is for; decides its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A bearer access token.
    AccessToken,
    /// A refresh token.
    RefreshToken,
    /// An authorization code.
    AuthorizationCode,
    /// A confidential client's secret.
    ClientSecret,
    /// A browser login session.
    Session,
}

impl TokenKind {
    /// The readable prefix that lets secret scanners find leaked values.
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::AccessToken => "lwc_at_",
            TokenKind::RefreshToken => "lwc_rt_",
            TokenKind::AuthorizationCode => "lwc_ac_",
            TokenKind::ClientSecret => "lwc_cs_",
            TokenKind::Session => "lwc_ss_",
        }
    }
}

/// A secret the server has just generated, before it is handed out once.
///
/// ```
/// use oauth_core::{PlainToken, TokenKind};
/// let token = PlainToken::from_random_bytes(TokenKind::AccessToken, [7; 32]);
/// assert!(token.expose_secret().starts_with("lwc_at_"));
/// assert_eq!(format!("{token:?}"), "PlainToken(AccessToken, <redacted>)");
/// ```
pub struct PlainToken {
    kind: TokenKind,
    value: String,
}

impl PlainToken {
    /// Builds a token from 32 bytes that the caller drew from a secure source.
    pub fn from_random_bytes(kind: TokenKind, bytes: [u8; 32]) -> Self {
        Self {
            kind,
            value: format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(bytes)),
        }
    }

    /// The value, to be sent to its holder exactly once.
    pub fn expose_secret(&self) -> &str {
        &self.value
    }

    /// The digest that is stored instead of the value.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.value)
    }

    /// What the token is for.
    pub fn kind(&self) -> TokenKind {
        self.kind
    }
}

impl fmt::Debug for PlainToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlainToken({:?}, <redacted>)", self.kind)
    }
}

/// A secret as a client or browser presented it: a code, token, client secret,
/// session cookie or password. Nothing about it is trusted yet.
pub struct PresentedSecret(String);

impl PresentedSecret {
    /// Wraps a presented value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value, for the few places (password verification) that need it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The digest to look the secret up by.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }

    /// Whether this secret's digest equals `stored`, compared in constant time.
    pub fn matches_hash(&self, stored: &TokenHash) -> bool {
        self.hash().0.ct_eq(&stored.0).into()
    }
}

impl fmt::Debug for PresentedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PresentedSecret(<redacted>)")
    }
}

/// The SHA-256 digest of a secret: what storage holds and looks up by.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Digests a secret value.
    pub fn of(value: &str) -> Self {
        Self(Sha256::digest(value.as_bytes()).into())
    }

    /// Lower-case hex, for storage.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses the stored hex form.
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(out))
    }
}

impl fmt::Debug for TokenHash {
    // A digest is not secret, but printing a short form keeps logs readable.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}…)", &self.to_hex()[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let presented = PresentedSecret::new("hunter2");
        assert_eq!(format!("{presented:?}"), "PresentedSecret(<redacted>)");
        let token = PlainToken::from_random_bytes(TokenKind::RefreshToken, [1; 32]);
        assert!(!format!("{token:?}").contains(token.expose_secret()));
    }

    #[test]
    fn prefixes_and_length() {
        let token = PlainToken::from_random_bytes(TokenKind::AuthorizationCode, [0xff; 32]);
        assert!(token.expose_secret().starts_with("lwc_ac_"));
        assert_eq!(token.expose_secret().len(), "lwc_ac_".len() + 43);
    }

    #[test]
    fn hashes_match_only_their_secret() {
        let token = PlainToken::from_random_bytes(TokenKind::AccessToken, [3; 32]);
        let stored = token.hash();
        assert!(PresentedSecret::new(token.expose_secret()).matches_hash(&stored));
        assert!(!PresentedSecret::new("lwc_at_other").matches_hash(&stored));
        assert_eq!(TokenHash::from_hex(&stored.to_hex()), Some(stored));
        assert_eq!(TokenHash::from_hex("zz"), None);
    }
}
