//! Proof Key for Code Exchange (RFC 7636), S256 only.
//!
//! `plain` is refused and a missing method is not read as `plain`: a client that
//! sends its verifier's own value as the challenge protects nothing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;

/// Why a PKCE parameter is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PkceError {
    /// RFC 7636 §4.4.1: the server requires PKCE.
    #[error("code_challenge is required")]
    ChallengeMissing,
    /// The method was left out; this server does not default to `plain`.
    #[error("code_challenge_method is required and must be S256")]
    MethodMissing,
    /// `plain` offers no protection against an intercepted code.
    #[error("code_challenge_method plain is not allowed; use S256")]
    PlainRefused,
    /// Neither `S256` nor `plain`.
    #[error("unsupported code_challenge_method; use S256")]
    UnsupportedMethod,
    /// An S256 challenge is a SHA-256 digest: 43 base64url characters.
    #[error("code_challenge must be 43 base64url characters")]
    MalformedChallenge,
    /// RFC 7636 §4.1: 43 to 128 unreserved characters.
    #[error("code_verifier must be 43 to 128 unreserved characters")]
    MalformedVerifier,
}

/// An S256 code challenge from an authorization request.
///
/// ```
/// use oauth_core::{CodeChallenge, CodeVerifier};
/// let challenge = CodeChallenge::parse(Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), Some("S256")).unwrap();
/// let verifier = CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
/// assert!(challenge.is_satisfied_by(&verifier));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// Validates the `code_challenge` and `code_challenge_method` parameters.
    pub fn parse(challenge: Option<&str>, method: Option<&str>) -> Result<Self, PkceError> {
        let challenge = challenge.ok_or(PkceError::ChallengeMissing)?;
        match method {
            None => return Err(PkceError::MethodMissing),
            Some("S256") => {}
            Some("plain") => return Err(PkceError::PlainRefused),
            Some(_) => return Err(PkceError::UnsupportedMethod),
        }
        Self::from_stored(challenge).ok_or(PkceError::MalformedChallenge)
    }

    /// Wraps a challenge loaded from storage, checking its shape again.
    pub fn from_stored(challenge: &str) -> Option<Self> {
        let well_formed = challenge.len() == 43
            && challenge
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && URL_SAFE_NO_PAD
                .decode(challenge)
                .is_ok_and(|digest| digest.len() == 32);
        well_formed.then(|| Self(challenge.to_owned()))
    }

    /// The challenge as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `BASE64URL(SHA256(verifier))` equals this challenge, compared in
    /// constant time (RFC 7636 §4.6).
    pub fn is_satisfied_by(&self, verifier: &CodeVerifier) -> bool {
        let digest = Sha256::digest(verifier.0.as_bytes());
        let computed = URL_SAFE_NO_PAD.encode(digest);
        computed.as_bytes().ct_eq(self.0.as_bytes()).into()
    }

    /// The S256 challenge of a verifier; for clients and tests.
    pub fn s256_of(verifier: &CodeVerifier) -> Self {
        Self(URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.0.as_bytes())))
    }
}

/// A code verifier from a token request. Secret: redacted in `Debug`, not `Clone`.
pub struct CodeVerifier(String);

impl CodeVerifier {
    /// Validates a verifier: 43 to 128 characters of `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
    pub fn parse(verifier: &str) -> Result<Self, PkceError> {
        let well_formed = (43..=128).contains(&verifier.len())
            && verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if well_formed {
            Ok(Self(verifier.to_owned()))
        } else {
            Err(PkceError::MalformedVerifier)
        }
    }
}

impl std::fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeVerifier(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const RFC_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const RFC_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b() {
        let challenge = CodeChallenge::parse(Some(RFC_CHALLENGE), Some("S256")).unwrap();
        assert!(challenge.is_satisfied_by(&CodeVerifier::parse(RFC_VERIFIER).unwrap()));
    }

    #[test]
    fn method_rules() {
        assert_eq!(
            CodeChallenge::parse(Some(RFC_CHALLENGE), None),
            Err(PkceError::MethodMissing)
        );
        assert_eq!(
            CodeChallenge::parse(Some(RFC_CHALLENGE), Some("plain")),
            Err(PkceError::PlainRefused)
        );
        assert_eq!(
            CodeChallenge::parse(Some(RFC_CHALLENGE), Some("s256")),
            Err(PkceError::UnsupportedMethod)
        );
        assert_eq!(
            CodeChallenge::parse(None, Some("S256")),
            Err(PkceError::ChallengeMissing)
        );
        assert_eq!(
            CodeChallenge::parse(Some("short"), Some("S256")),
            Err(PkceError::MalformedChallenge)
        );
        assert_eq!(
            CodeChallenge::parse(Some(&format!("{RFC_CHALLENGE}A")), Some("S256")),
            Err(PkceError::MalformedChallenge)
        );
        assert_eq!(
            CodeChallenge::parse(Some(&RFC_CHALLENGE.replace('-', "+")), Some("S256")),
            Err(PkceError::MalformedChallenge)
        );
    }

    #[test]
    fn verifier_shape() {
        let ok = "a".repeat(43);
        assert!(CodeVerifier::parse(&ok).is_ok());
        assert!(CodeVerifier::parse(&"a".repeat(128)).is_ok());
        for bad in [
            "a".repeat(42),
            "a".repeat(129),
            format!("{ok}+"),
            format!("{ok}/"),
            format!("{ok}="),
            format!("{ok} "),
            format!("{ok}é"),
        ] {
            assert_eq!(
                CodeVerifier::parse(&bad).err(),
                Some(PkceError::MalformedVerifier),
                "{bad}"
            );
        }
    }

    #[test]
    fn verifier_debug_is_redacted() {
        let verifier = CodeVerifier::parse(RFC_VERIFIER).unwrap();
        assert_eq!(format!("{verifier:?}"), "CodeVerifier(<redacted>)");
    }

    proptest! {
        #[test]
        fn a_verifier_matches_only_its_own_challenge(a in "[A-Za-z0-9._~-]{43,128}", b in "[A-Za-z0-9._~-]{43,128}") {
            let va = CodeVerifier::parse(&a).unwrap();
            let vb = CodeVerifier::parse(&b).unwrap();
            let challenge = CodeChallenge::s256_of(&va);
            prop_assert!(CodeChallenge::from_stored(challenge.as_str()).is_some());
            prop_assert!(challenge.is_satisfied_by(&va));
            prop_assert_eq!(challenge.is_satisfied_by(&vb), a == b);
        }
    }
}
