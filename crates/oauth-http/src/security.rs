//! Randomness, CSRF tokens and password hashing for the HTTP layer.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use oauth_core::password::{hash_password, PasswordError};
use oauth_core::{PlainToken, PresentedSecret, TokenKind};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;

/// A failure of the operating system's randomness or of the password hasher.
#[derive(Debug, Error)]
pub enum SecurityError {
    /// The system's random source failed.
    #[error("the system random source failed")]
    Random,
    /// The password hasher failed.
    #[error(transparent)]
    Hash(#[from] PasswordError),
}

/// Draws a new secret of `kind` with 256 bits from the operating system.
pub fn new_token(kind: TokenKind) -> Result<PlainToken, SecurityError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| SecurityError::Random)?;
    Ok(PlainToken::from_random_bytes(kind, bytes))
}

/// A random value for the login form's double-submit cookie.
pub fn new_nonce() -> Result<String, SecurityError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| SecurityError::Random)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The CSRF token of a session: derived from the session's secret, so it is
/// unknowable to other sites and differs for every session.
pub fn csrf_token_for(session_secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(format!(
        "loopwise-connect csrf\n{session_secret}"
    )))
}

/// Compares two strings in constant time.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Sixteen random bytes for a password salt.
pub fn new_salt() -> Result<[u8; 16], SecurityError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| SecurityError::Random)?;
    Ok(salt)
}

/// A hash of a random password, to spend the same time on unknown emails.
pub fn decoy_password_hash() -> Result<String, SecurityError> {
    hash_password(&PresentedSecret::new(new_nonce()?), &new_salt()?).map_err(SecurityError::Hash)
}
