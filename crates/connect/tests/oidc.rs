//! OpenID Connect and discovery over real HTTP: metadata per issuer, ID tokens
//! checked against the published keys, userinfo, prompt and max_age, resource
//! indicators, protected resource metadata and dynamic registration.

#![expect(
    clippy::unwrap_used,
    reason = "a failed step should fail the test loudly"
)]

mod common;

use common::*;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{json, Value};

const CALLBACK: &str = "http://127.0.0.1/callback";

async fn get_json(server: &Server, host: Host, path: &str) -> Value {
    let response = server
        .api()
        .get(server.url(host, path))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    json(response).await
}

#[tokio::test]
async fn every_host_is_an_issuer_with_metadata_that_matches_its_behaviour() {
    let server = Server::start().await;
    for host in [Host::Demo, Host::DemoSubdomain, Host::Other, Host::Platform] {
        let issuer = server.issuer(host);
        for path in [
            "/.well-known/oauth-authorization-server",
            "/.well-known/openid-configuration",
        ] {
            let metadata = get_json(&server, host, path).await;
            assert_eq!(metadata["issuer"], issuer.as_str());
            assert_eq!(
                metadata["authorization_endpoint"],
                format!("{issuer}/oauth/authorize")
            );
            assert_eq!(
                metadata["token_endpoint"],
                format!("{issuer}/api/oauth/token")
            );
            assert_eq!(metadata["jwks_uri"], format!("{issuer}/oauth/jwks"));
            assert_eq!(
                metadata["registration_endpoint"],
                format!("{issuer}/api/oauth/register")
            );
            assert_eq!(
                metadata["code_challenge_methods_supported"],
                json!(["S256"])
            );
            assert_eq!(metadata["response_types_supported"], json!(["code"]));
            assert_eq!(
                metadata["authorization_response_iss_parameter_supported"],
                true
            );
            assert_eq!(metadata["client_id_metadata_document_supported"], true);
            assert_eq!(
                metadata["token_endpoint_auth_methods_supported"],
                json!(["none", "client_secret_basic", "client_secret_post"])
            );
            assert_eq!(
                metadata["id_token_signing_alg_values_supported"],
                json!(["RS256"])
            );
            let scopes = metadata["scopes_supported"].as_array().unwrap();
            assert!(scopes.contains(&json!("openid")) && !scopes.contains(&json!("account:read")));
        }
    }
    let unknown = server
        .api()
        .get(server.url(Host::Unknown, "/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

/// Runs a flow for demo-dashboard with `extra` parameters; returns the token response.
async fn dashboard_flow(server: &Server, host: Host, extra: &[(&str, &str)]) -> Value {
    let browser = server.browser();
    server.login(&browser, host, "student@demo.test").await;
    let mut params = good_request("demo-dashboard", DASHBOARD_REDIRECT);
    params.extend_from_slice(extra);
    let redirect = server
        .approve(&browser, &authorize_url(server, host, &params))
        .await;
    assert_eq!(redirect.get("iss"), Some(server.issuer(host)));
    let code = redirect.get("code").unwrap();
    let response = dashboard_token_request(
        server,
        host,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", DASHBOARD_REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    json(response).await
}

/// Verifies an ID token with the issuer's published keys.
async fn verify_id_token(server: &Server, host: Host, id_token: &str, audience: &str) -> Value {
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let kid = header.kid.unwrap();
    let jwks = get_json(server, host, "/oauth/jwks").await;
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the signing key is published");
    let decoding =
        DecodingKey::from_rsa_components(key["n"].as_str().unwrap(), key["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[server.issuer(host)]);
    jsonwebtoken::decode::<Value>(id_token, &decoding, &validation)
        .unwrap()
        .claims
}

#[tokio::test]
async fn id_tokens_are_signed_with_published_keys_and_carry_the_flow() {
    let server = Server::start().await;
    let tokens = dashboard_flow(
        &server,
        Host::DemoSubdomain,
        &[("scope", "openid profile email"), ("nonce", "n-0S6_WzA2Mj")],
    )
    .await;
    let claims = verify_id_token(
        &server,
        Host::DemoSubdomain,
        tokens["id_token"].as_str().unwrap(),
        "demo-dashboard",
    )
    .await;
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["school_id"], tokens["school_id"]);
    assert!(claims["auth_time"].as_i64().unwrap() <= claims["iat"].as_i64().unwrap());
    assert!(claims["sub"].is_string());

    // Without openid there is no ID token.
    let plain = dashboard_flow(&server, Host::Demo, &[("scope", "courses:read")]).await;
    assert!(plain.get("id_token").is_none());

    // A rotated key: both are published, and the earlier token still verifies.
    let output = server.cli(&["signing-key-rotate"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let jwks = get_json(&server, Host::Demo, "/oauth/jwks").await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    verify_id_token(
        &server,
        Host::DemoSubdomain,
        tokens["id_token"].as_str().unwrap(),
        "demo-dashboard",
    )
    .await;
}

async fn userinfo(server: &Server, host: Host, token: &str, post: bool) -> reqwest::Response {
    let url = server.url(host, "/oauth/userinfo");
    let api = server.api();
    let request = if post { api.post(url) } else { api.get(url) };
    request.bearer_auth(token).send().await.unwrap()
}

#[tokio::test]
async fn userinfo_answers_by_scope_and_only_at_its_issuer() {
    let server = Server::start().await;
    let full = dashboard_flow(&server, Host::Demo, &[("scope", "openid profile email")]).await;
    let token = full["access_token"].as_str().unwrap();
    for post in [false, true] {
        let response = userinfo(&server, Host::Demo, token, post).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body = json(response).await;
        assert_eq!(body["email"], "student@demo.test");
        assert_eq!(body["name"], "Sam Student");
        assert!(body["sub"].is_string());
    }
    let narrow = dashboard_flow(&server, Host::Demo, &[("scope", "openid")]).await;
    let body = json(
        userinfo(
            &server,
            Host::Demo,
            narrow["access_token"].as_str().unwrap(),
            false,
        )
        .await,
    )
    .await;
    assert!(body.get("email").is_none() && body.get("name").is_none());

    let no_openid = dashboard_flow(&server, Host::Demo, &[("scope", "courses:read")]).await;
    let response = userinfo(
        &server,
        Host::Demo,
        no_openid["access_token"].as_str().unwrap(),
        false,
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));

    for (host, token) in [
        (Host::Other, token),
        (Host::Platform, token),
        (Host::Demo, "lwc_at_nonsense"),
    ] {
        let response = userinfo(&server, host, token, false).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{host:?}");
        assert!(response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token"));
    }
}

#[tokio::test]
async fn prompt_and_max_age() {
    let server = Server::start().await;
    let api = server.api();
    // A confidential client: once consented, it may be answered without a page.
    let base = good_request("demo-dashboard", DASHBOARD_REDIRECT);
    // No session: prompt=none answers login_required instead of a login page.
    let none = authorize_url(&server, Host::Demo, &with(base.clone(), "prompt", "none"));
    let redirect = Redirect::from_response(&api.get(&none).send().await.unwrap());
    assert_eq!(redirect.get("error").as_deref(), Some("login_required"));
    assert_eq!(redirect.get("iss"), Some(server.issuer(Host::Demo)));

    let browser = server.browser();
    server
        .login(&browser, Host::Demo, "student@demo.test")
        .await;
    // Logged in, not yet consented: consent_required.
    let redirect = Redirect::from_response(&browser.get(&none).send().await.unwrap());
    assert_eq!(redirect.get("error").as_deref(), Some("consent_required"));
    // After consent, prompt=none goes straight through.
    server
        .approve(&browser, &authorize_url(&server, Host::Demo, &base))
        .await;
    let redirect = Redirect::from_response(&browser.get(&none).send().await.unwrap());
    assert!(redirect.get("code").is_some());
    // A public client on a loopback address is never answered without the
    // person (RFC 8252 §8.6): any program on the device could be listening.
    let quiz = good_request("demo-quiz", CALLBACK);
    server
        .approve(&browser, &authorize_url(&server, Host::Demo, &quiz))
        .await;
    let again = browser
        .get(authorize_url(&server, Host::Demo, &quiz))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK, "the consent page again");
    let quiz_none = authorize_url(&server, Host::Demo, &with(quiz, "prompt", "none"));
    let redirect = Redirect::from_response(&browser.get(&quiz_none).send().await.unwrap());
    assert_eq!(redirect.get("error").as_deref(), Some("consent_required"));
    // prompt=consent shows the page anyway.
    let consent = browser
        .get(authorize_url(
            &server,
            Host::Demo,
            &with(base.clone(), "prompt", "consent"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(consent.status(), StatusCode::OK);
    // prompt=login and an exceeded max_age send the user to log in again.
    for (name, value) in [("prompt", "login"), ("max_age", "0")] {
        let url = authorize_url(&server, Host::Demo, &with(base.clone(), name, value));
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let response = browser.get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with("/oauth/login?"), "{name}: {location}");
        if name == "prompt" {
            assert!(
                !location.contains("prompt%253Dlogin"),
                "the login is not asked for twice"
            );
        }
    }
    // Bad values are invalid_request.
    for (name, value) in [
        ("prompt", "none login"),
        ("prompt", "sometimes"),
        ("max_age", "-1"),
    ] {
        let response = browser
            .get(authorize_url(
                &server,
                Host::Demo,
                &with(base.clone(), name, value),
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(
            Redirect::from_response(&response).get("error").as_deref(),
            Some("invalid_request"),
            "{name}={value}"
        );
    }
}

#[tokio::test]
async fn resource_indicators_bind_the_audience() {
    let server = Server::start().await;
    let mcp = format!("http://localhost:{}/mcp", server.port + 1);
    let tokens = dashboard_flow(
        &server,
        Host::Demo,
        &[("scope", "courses:read"), ("resource", &mcp)],
    )
    .await;
    assert_eq!(
        introspect(&server, tokens["access_token"].as_str().unwrap()).await["aud"],
        mcp.as_str()
    );
    // A refresh keeps it, and may repeat it but not change it.
    let rt = tokens["refresh_token"].as_str().unwrap();
    let other = format!("http://localhost:{}/api/courses", server.port + 1);
    let changed = dashboard_token_request(
        &server,
        Host::Demo,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("resource", &other),
        ],
    )
    .await;
    assert_eq!(changed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(changed).await["error"], "invalid_target");
    let kept = json(
        dashboard_token_request(
            &server,
            Host::Demo,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("resource", &mcp),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(
        introspect(&server, kept["access_token"].as_str().unwrap()).await["aud"],
        mcp.as_str()
    );

    // An unknown resource is invalid_target at authorization.
    let browser = server.browser();
    server
        .login(&browser, Host::Demo, "student@demo.test")
        .await;
    let unknown = with(
        good_request("demo-dashboard", DASHBOARD_REDIRECT),
        "resource",
        "https://elsewhere.example/mcp",
    );
    let response = browser
        .get(authorize_url(&server, Host::Demo, &unknown))
        .send()
        .await
        .unwrap();
    assert_eq!(
        Redirect::from_response(&response).get("error").as_deref(),
        Some("invalid_target")
    );
}

#[tokio::test]
async fn protected_resource_metadata_points_at_the_school_issuer() {
    let server = Server::start().await;
    // A resource behind the school's own host: the server describes it.
    let api_resource = format!("{}/api/graphql", server.issuer(Host::Demo));
    let output = server.cli(&["resource-add", "demo", &api_resource, "--name", "GraphQL"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata = get_json(
        &server,
        Host::Demo,
        "/.well-known/oauth-protected-resource/api/graphql",
    )
    .await;
    assert_eq!(metadata["resource"], api_resource.as_str());
    assert_eq!(
        metadata["authorization_servers"],
        json!([server.issuer(Host::Demo)])
    );
    let scopes = metadata["scopes_supported"].as_array().unwrap();
    assert!(!scopes.contains(&json!("admin:write")));
    // Resources on other hosts describe themselves: the reference server's MCP
    // endpoint, and not the authorization server, answers for /mcp.
    let here = server
        .api()
        .get(server.url(Host::Demo, "/.well-known/oauth-protected-resource/mcp"))
        .send()
        .await
        .unwrap();
    assert_eq!(here.status(), StatusCode::NOT_FOUND);
    let rs = server
        .api()
        .get(format!(
            "http://127.0.0.1:{}/.well-known/oauth-protected-resource/mcp",
            server.port + 1
        ))
        .send()
        .await
        .unwrap();
    let rs = json(rs).await;
    assert_eq!(
        rs["resource"],
        format!("http://localhost:{}/mcp", server.port + 1)
    );
    assert_eq!(
        rs["authorization_servers"],
        json!([server.issuer(Host::Demo)])
    );
    let none = server
        .api()
        .get(server.url(
            Host::Other,
            "/.well-known/oauth-protected-resource/api/graphql",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn dynamic_registration_creates_public_platform_clients() {
    let server = Server::start().await;
    let register = |body: Value| {
        let api = server.api();
        let url = server.url(Host::Platform, "/api/oauth/register");
        async move { api.post(url).json(&body).send().await.unwrap() }
    };
    let metadata = json!({
        "client_name": "Cursor (test)",
        "redirect_uris": ["cursor://anysphere.cursor-retrieval/oauth/callback", CALLBACK],
        "application_type": "native",
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "openid courses:read",
    });
    let response = register(metadata.clone()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let registered = json(response).await;
    for key in [
        "redirect_uris",
        "client_name",
        "grant_types",
        "response_types",
        "application_type",
        "token_endpoint_auth_method",
    ] {
        assert_eq!(registered[key], metadata[key], "{key} is echoed");
    }
    let client_id = registered["client_id"].as_str().unwrap().to_owned();

    // The new client works at a school host for an owner.
    let browser = server.browser();
    server.login(&browser, Host::Demo, "owner@demo.test").await;
    let params = with(
        good_request(&client_id, CALLBACK),
        "scope",
        "openid courses:read",
    );
    let code = server
        .approve(&browser, &authorize_url(&server, Host::Demo, &params))
        .await
        .get("code")
        .unwrap();
    let response = public_token_request(&server, Host::Demo, &client_id, &code, CALLBACK).await;
    assert_eq!(response.status(), StatusCode::OK);

    // Refusals.
    let bad_uri =
        register(json!({"redirect_uris": ["https://ok.example/cb", "javascript:alert(1)"]})).await;
    assert_eq!(bad_uri.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(bad_uri).await["error"], "invalid_redirect_uri");
    let confidential = register(
        json!({"redirect_uris": [CALLBACK], "token_endpoint_auth_method": "client_secret_basic"}),
    )
    .await;
    assert_eq!(json(confidential).await["error"], "invalid_client_metadata");
    let admin = register(json!({"redirect_uris": [CALLBACK], "scope": "admin:read"})).await;
    assert_eq!(json(admin).await["error"], "invalid_client_metadata");
    let not_json = server
        .api()
        .post(server.url(Host::Platform, "/api/oauth/register"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_reference_resource_server_checks_school_resource_and_scope() {
    let server = Server::start().await;
    let rs = format!("http://127.0.0.1:{}", server.port + 1);
    let api_resource = format!("http://localhost:{}/api/courses", server.port + 1);
    let mcp_resource = format!("http://localhost:{}/mcp", server.port + 1);
    let api = server.api();
    let call = |token: Option<String>| {
        let request = api.get(format!("{rs}/api/courses"));
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        request.send()
    };
    let anonymous = call(None).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let challenge = anonymous.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains("resource_metadata=") && challenge.contains("scope=\"courses:read\""),
        "{challenge}"
    );

    let for_api = dashboard_flow(
        &server,
        Host::Demo,
        &[("scope", "courses:read"), ("resource", &api_resource)],
    )
    .await;
    let ok = call(Some(for_api["access_token"].as_str().unwrap().to_owned()))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(json(ok).await["school_id"], for_api["school_id"]);

    let for_mcp = dashboard_flow(
        &server,
        Host::Demo,
        &[("scope", "courses:read"), ("resource", &mcp_resource)],
    )
    .await;
    let wrong_resource = call(Some(for_mcp["access_token"].as_str().unwrap().to_owned()))
        .await
        .unwrap();
    assert_eq!(wrong_resource.status(), StatusCode::UNAUTHORIZED);

    let without_scope = dashboard_flow(&server, Host::Demo, &[("scope", "openid")]).await;
    let forbidden = call(Some(
        without_scope["access_token"].as_str().unwrap().to_owned(),
    ))
    .await
    .unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    assert!(forbidden.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
}
