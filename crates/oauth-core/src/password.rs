//! Password hashing with Argon2id (RFC 9106), for passwords people choose.
//!
//! The salt is an argument so that this module stays free of IO; callers draw
//! it from the operating system.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use thiserror::Error;

use crate::secret::PresentedSecret;

/// The shortest password accepted when one is set.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Why a password could not be hashed.
#[derive(Debug, Error)]
pub enum PasswordError {
    /// Shorter than [`MIN_PASSWORD_LEN`].
    #[error("a password needs at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
    /// The hasher refused its input.
    #[error("password hashing failed")]
    Hashing,
}

/// Hashes a password with Argon2id's default parameters into a PHC string.
///
/// ```
/// use oauth_core::password::{hash_password, verify_password};
/// use oauth_core::PresentedSecret;
/// let hash = hash_password(&PresentedSecret::new("correct horse"), &[7; 16]).unwrap();
/// assert!(verify_password(&PresentedSecret::new("correct horse"), &hash));
/// assert!(!verify_password(&PresentedSecret::new("wrong horse"), &hash));
/// ```
pub fn hash_password(password: &PresentedSecret, salt: &[u8; 16]) -> Result<String, PasswordError> {
    if password.expose_secret().chars().count() < MIN_PASSWORD_LEN {
        return Err(PasswordError::TooShort);
    }
    let salt = SaltString::encode_b64(salt).map_err(|_| PasswordError::Hashing)?;
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| PasswordError::Hashing)
}

/// Whether `password` matches the PHC string `hash`; a malformed hash never does.
pub fn verify_password(password: &PresentedSecret, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_passwords_are_refused() {
        assert!(matches!(
            hash_password(&PresentedSecret::new("short"), &[1; 16]),
            Err(PasswordError::TooShort)
        ));
    }

    #[test]
    fn malformed_hashes_never_match() {
        assert!(!verify_password(
            &PresentedSecret::new("anything-at-all"),
            "not a phc string"
        ));
    }
}
