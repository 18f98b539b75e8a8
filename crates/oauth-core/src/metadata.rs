//! What every issuer advertises in its metadata (RFC 8414, OpenID Connect
//! Discovery). These lists are the ones the endpoints enforce: nothing is
//! advertised that is refused, nothing refused that is advertised.

use crate::scope::{Scope, ScopeKind};

/// `response_types_supported`: the code flow only.
pub const RESPONSE_TYPES: &[&str] = &["code"];
/// `response_modes_supported`: the query string only.
pub const RESPONSE_MODES: &[&str] = &["query"];
/// `grant_types_supported` at the token endpoint.
pub const GRANT_TYPES: &[&str] = &["authorization_code", "refresh_token"];
/// `code_challenge_methods_supported`: S256 only (`plain` is refused).
pub const CODE_CHALLENGE_METHODS: &[&str] = &["S256"];
/// How clients authenticate at the token and revocation endpoints.
pub const TOKEN_ENDPOINT_AUTH_METHODS: &[&str] =
    &["none", "client_secret_basic", "client_secret_post"];
/// How resource servers authenticate at the introspection endpoint.
pub const INTROSPECTION_AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post"];
/// `id_token_signing_alg_values_supported`.
pub const ID_TOKEN_SIGNING_ALGS: &[&str] = &["RS256"];
/// `prompt_values_supported`.
pub const PROMPT_VALUES: &[&str] = &["none", "login", "consent", "select_account"];
/// `claims_supported`: in ID tokens and at userinfo.
pub const CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "school_id",
    "name",
    "email",
];

/// `scopes_supported`: every scope that can be granted (the reserved
/// `account:*` scopes are not yet).
pub fn scopes_supported() -> Vec<&'static str> {
    Scope::all()
        .filter(|s| s.kind() != ScopeKind::Reserved)
        .map(Scope::as_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pkce::CodeChallenge;

    #[test]
    fn advertised_scopes_parse_and_reserved_are_left_out() {
        let scopes = scopes_supported();
        assert!(scopes.contains(&"openid") && scopes.contains(&"courses:write"));
        assert!(!scopes.iter().any(|s| s.starts_with("account:")));
    }

    #[test]
    fn only_the_advertised_challenge_method_is_accepted() {
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        for method in ["S256", "plain", "s256"] {
            let accepted = CodeChallenge::parse(Some(challenge), Some(method)).is_ok();
            assert_eq!(
                accepted,
                CODE_CHALLENGE_METHODS.contains(&method),
                "{method}"
            );
        }
    }
}
