//! The main job, end to end against the real server: a third-party client,
//! written with the `oauth2` crate, completes the Authorization Code flow with
//! PKCE at a school and gets tokens bound to that school; then refreshes.

#![expect(
    clippy::unwrap_used,
    reason = "a failed step should fail the test loudly"
)]

mod common;

use common::{Host, Server, DASHBOARD_REDIRECT, DASHBOARD_SECRET};
use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, StandardErrorResponse, StandardRevocableToken, StandardTokenResponse,
    TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

/// The fields our token response adds to RFC 6749's.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SchoolFields {
    school_id: String,
    school_subdomain: String,
}

impl ExtraTokenFields for SchoolFields {}

type SchoolTokenResponse = StandardTokenResponse<SchoolFields, BasicTokenType>;

type SchoolClient = Client<
    BasicErrorResponse,
    SchoolTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

fn dashboard(server: &Server, host: Host) -> SchoolClient {
    Client::new(ClientId::new("demo-dashboard".into()))
        .set_client_secret(ClientSecret::new(DASHBOARD_SECRET.into()))
        .set_auth_uri(AuthUrl::new(server.url(host, "/oauth/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(server.url(host, "/api/oauth/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new(DASHBOARD_REDIRECT.into()).unwrap())
}

fn quiz(server: &Server, host: Host, redirect: &str) -> SchoolClient {
    Client::new(ClientId::new("demo-quiz".into()))
        .set_auth_uri(AuthUrl::new(server.url(host, "/oauth/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(server.url(host, "/api/oauth/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new(redirect.into()).unwrap())
}

/// Runs login and consent in the "browser" and returns the code, after checking
/// `state` and `iss` as a careful client would.
async fn authorize(
    server: &Server,
    host: Host,
    client: &SchoolClient,
    scopes: &[&str],
) -> (String, PkceCodeVerifier) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge);
    for scope in scopes {
        request = request.add_scope(Scope::new((*scope).into()));
    }
    let (url, csrf) = request.url();
    let browser = server.browser();
    server.login(&browser, host, "student@demo.test").await;
    let redirect = server.approve(&browser, url.as_str()).await;
    assert_eq!(
        redirect.get("state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(redirect.get("iss"), Some(server.issuer(host)));
    (redirect.get("code").expect("a code"), verifier)
}

#[tokio::test]
async fn confidential_client_gets_school_bound_tokens_and_refreshes() {
    let server = Server::start().await;
    let http = server.api();
    let client = dashboard(&server, Host::Demo);
    let (code, verifier) =
        authorize(&server, Host::Demo, &client, &["openid", "courses:read"]).await;

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    assert!(tokens.access_token().secret().starts_with("lwc_at_"));
    assert_eq!(tokens.expires_in().map(|d| d.as_secs()), Some(7200));
    assert_eq!(tokens.extra_fields().school_subdomain, "demo");
    assert!(!tokens.extra_fields().school_id.is_empty());
    let scopes: Vec<String> = tokens
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, ["openid", "courses:read"]);
    let first_refresh = tokens.refresh_token().unwrap().clone();
    assert!(first_refresh.secret().starts_with("lwc_rt_"));

    // Rotation: a new pair, the same school.
    let refreshed = client
        .exchange_refresh_token(&first_refresh)
        .request_async(&http)
        .await
        .unwrap();
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );
    assert_eq!(
        refreshed.extra_fields().school_id,
        tokens.extra_fields().school_id
    );
    let second_refresh = refreshed.refresh_token().unwrap().clone();
    assert_ne!(second_refresh.secret(), first_refresh.secret());

    // The rotated token no longer works, and presenting it revokes the family.
    let reused = client
        .exchange_refresh_token(&first_refresh)
        .request_async(&http)
        .await;
    assert_invalid_grant(reused);
    let after_reuse = client
        .exchange_refresh_token(&second_refresh)
        .request_async(&http)
        .await;
    assert_invalid_grant(after_reuse);
}

#[tokio::test]
async fn public_client_at_the_subdomain_host_with_a_loopback_port() {
    let server = Server::start().await;
    let http = server.api();
    // Registered as http://127.0.0.1/callback; native apps pick their port.
    let client = quiz(
        &server,
        Host::DemoSubdomain,
        "http://127.0.0.1:51004/callback",
    );
    let (code, verifier) = authorize(&server, Host::DemoSubdomain, &client, &["openid"]).await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(tokens.extra_fields().school_subdomain, "demo");
    let scopes: Vec<String> = tokens
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, ["openid"]);
    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(refreshed.extra_fields().school_subdomain, "demo");
}

#[tokio::test]
async fn failure_paths_through_the_client_library() {
    let server = Server::start().await;
    let http = server.api();
    let client = dashboard(&server, Host::Demo);

    // A wrong verifier spends the code; the right one then fails too.
    let (code, verifier) = authorize(&server, Host::Demo, &client, &["openid"]).await;
    let wrong =
        PkceCodeVerifier::new("a-wrong-verifier-that-is-long-enough-to-be-well-formed".into());
    assert_invalid_grant(
        client
            .exchange_code(AuthorizationCode::new(code.clone()))
            .set_pkce_verifier(wrong)
            .request_async(&http)
            .await,
    );
    assert_invalid_grant(
        client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await,
    );

    // A code is single-use.
    let (code, verifier) = authorize(&server, Host::Demo, &client, &["openid"]).await;
    let verifier_again = PkceCodeVerifier::new(verifier.secret().clone());
    client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    assert_invalid_grant(
        client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier_again)
            .request_async(&http)
            .await,
    );

    // The token request must repeat the authorization request's redirect_uri.
    let (code, verifier) = authorize(&server, Host::Demo, &client, &["openid"]).await;
    let elsewhere = client
        .clone()
        .set_redirect_uri(RedirectUrl::new("http://127.0.0.1:9001/callback".into()).unwrap());
    assert_invalid_grant(
        elsewhere
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await,
    );

    // A code of school demo is unknown at school other's host, where the client
    // itself does not exist either.
    let (code, verifier) = authorize(&server, Host::Demo, &client, &["openid"]).await;
    let at_other = dashboard(&server, Host::Other);
    match at_other
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
    {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(*e.error(), BasicErrorResponseType::InvalidClient)
        }
        other => panic!("expected invalid_client, got {other:?}"),
    }
}

#[tokio::test]
async fn refresh_tokens_of_one_school_are_unknown_at_another() {
    let server = Server::start().await;
    let http = server.api();
    let client = quiz(&server, Host::Demo, "http://127.0.0.1:4000/callback");
    let (code, verifier) = authorize(&server, Host::Demo, &client, &["openid"]).await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let refresh: RefreshToken = tokens.refresh_token().unwrap().clone();
    // The same client id at school other's host is no client at all.
    let elsewhere = quiz(&server, Host::Other, "http://127.0.0.1:4000/callback");
    assert!(elsewhere
        .exchange_refresh_token(&refresh)
        .request_async(&http)
        .await
        .is_err());
    // The token still works where it belongs.
    client
        .exchange_refresh_token(&refresh)
        .request_async(&http)
        .await
        .unwrap();
}

fn assert_invalid_grant<T: std::fmt::Debug, E: std::fmt::Debug + std::error::Error + 'static>(
    result: Result<T, RequestTokenError<E, StandardErrorResponse<BasicErrorResponseType>>>,
) {
    match result {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(*e.error(), BasicErrorResponseType::InvalidGrant, "{e:?}")
        }
        other => panic!("expected invalid_grant, got {other:?}"),
    }
}
