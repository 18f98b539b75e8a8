//! Defences found by attacking the server: an audience gate that outlives
//! consent, login throttling, reserved hosts, and forwarding headers behind a
//! trusted proxy.

mod common;

use common::*;
use reqwest::StatusCode;

const CALLBACK: &str = "http://127.0.0.1/callback";

#[tokio::test]
async fn a_demoted_admin_can_no_longer_refresh_an_org_admin_application() {
    let server = Server::start().await;
    let browser = server.browser();
    server.login(&browser, Host::Other, "multi@demo.test").await;
    let params = with(
        good_request("claude-code", CALLBACK),
        "scope",
        "openid courses:read",
    );
    let code = server
        .approve(&browser, &authorize_url(&server, Host::Other, &params))
        .await
        .get("code")
        .unwrap();
    let token_url = server.url(Host::Other, "/api/oauth/token");
    let tokens = json(
        server
            .api()
            .post(&token_url)
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", CALLBACK),
                ("code_verifier", VERIFIER),
                ("client_id", "claude-code"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let output = server.cli(&["member-set", "multi@demo.test", "other", "student"]);
    assert!(output.status.success());
    let refresh = server
        .api()
        .post(&token_url)
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("client_id", "claude-code"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(refresh).await["error"], "invalid_grant");
}

#[tokio::test]
async fn password_guessing_is_throttled_per_account() {
    let server = Server::start().await;
    let browser = server.browser();
    let page = browser
        .get(server.url(Host::Demo, "/oauth/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut csrf = value_of(&hidden_inputs(&page), "csrf_token").unwrap();
    let mut statuses = Vec::new();
    for _ in 0..25 {
        let response = browser
            .post(server.url(Host::Demo, "/oauth/login"))
            .form(&[
                ("email", "owner@demo.test"),
                ("password", "wrong-guess"),
                ("csrf_token", &csrf),
                ("return_to", "/oauth/authorize"),
            ])
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
        // Every answer is a fresh form with a fresh CSRF token.
        csrf = value_of(
            &hidden_inputs(&response.text().await.unwrap()),
            "csrf_token",
        )
        .unwrap();
    }
    assert!(statuses.contains(&StatusCode::UNAUTHORIZED));
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS));
    // Another account from the same address is not locked out by it.
    server
        .login(&browser, Host::Demo, "student@demo.test")
        .await;
}

#[tokio::test]
async fn a_school_cannot_take_the_platform_host_or_another_schools_address() {
    let server = Server::start().await;
    let platform = server.host(Host::Platform);
    let other = server.host(Host::Other);
    for domain in [platform.as_str(), other.as_str(), "https://x/", "bad host"] {
        let output = server.cli_with_env(
            &["school-add-domain", "demo", domain],
            &[
                ("CONNECT_PLATFORM_HOST", &platform),
                ("CONNECT_BASE_DOMAIN", &format!("localhost:{}", server.port)),
            ],
        );
        assert!(!output.status.success(), "{domain} was accepted");
    }
    let metadata = json(
        server
            .api()
            .get(server.url(Host::Other, "/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(metadata["issuer"], server.issuer(Host::Other));
}

#[tokio::test]
async fn behind_a_trusted_proxy_only_the_nearest_forwarded_host_counts() {
    let server = Server::start_with(&[("CONNECT_TRUSTED_PROXIES", "[\"127.0.0.1\"]")]).await;
    let api = server.api();
    let issuer_for = |forwarded: String| {
        let api = api.clone();
        let url = format!(
            "http://127.0.0.1:{}/.well-known/openid-configuration",
            server.port
        );
        async move {
            let response = api
                .get(url)
                .header("x-forwarded-host", forwarded)
                .header("x-forwarded-proto", "https")
                .send()
                .await
                .unwrap();
            json(response).await["issuer"].clone()
        }
    };
    // A client's own value comes first; the proxy appends the real host last.
    let forged = format!("{}, {}", server.host(Host::Other), server.host(Host::Demo));
    assert_eq!(
        issuer_for(forged).await,
        format!("https://{}", server.host(Host::Demo))
    );
    // The RFC 7239 header is not read unless configured.
    let response = api
        .get(format!(
            "http://127.0.0.1:{}/.well-known/openid-configuration",
            server.port
        ))
        .header("forwarded", format!("host={}", server.host(Host::Other)))
        .header("host", server.host(Host::Demo))
        .send()
        .await
        .unwrap();
    assert_eq!(json(response).await["issuer"], server.issuer(Host::Demo));
}

#[tokio::test]
async fn cross_origin_calls_only_for_registered_client_origins() {
    let server = Server::start().await;
    let api = server.api();
    let preflight = |path: &'static str, origin: &'static str| {
        let api = api.clone();
        let url = server.url(Host::Demo, path);
        async move {
            api.request(reqwest::Method::OPTIONS, url)
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .send()
                .await
                .unwrap()
        }
    };
    // demo-quiz, a public client, registered http://127.0.0.1/callback.
    let allowed = preflight("/api/oauth/token", "http://127.0.0.1").await;
    assert_eq!(allowed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://127.0.0.1"
    );
    for path in ["/api/oauth/revoke", "/oauth/userinfo"] {
        assert!(preflight(path, "http://127.0.0.1")
            .await
            .headers()
            .contains_key("access-control-allow-origin"));
    }
    let stranger = preflight("/api/oauth/token", "https://evil.example").await;
    assert!(!stranger
        .headers()
        .contains_key("access-control-allow-origin"));
    let introspect = preflight("/api/oauth/introspect", "http://127.0.0.1").await;
    assert!(!introspect
        .headers()
        .contains_key("access-control-allow-origin"));

    // The request itself: headers only for the calling client's own origin.
    let code = {
        let browser = server.browser();
        server
            .login(&browser, Host::Demo, "student@demo.test")
            .await;
        server
            .approve(
                &browser,
                &authorize_url(&server, Host::Demo, &good_request("demo-quiz", CALLBACK)),
            )
            .await
            .get("code")
            .unwrap()
    };
    let response = api
        .post(server.url(Host::Demo, "/api/oauth/token"))
        .header("origin", "http://127.0.0.1")
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
            ("client_id", "demo-quiz"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://127.0.0.1"
    );
    // demo-dashboard's origin is http://127.0.0.1:9000, so this origin gets nothing.
    let other = dashboard_token_request(
        &server,
        Host::Demo,
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
    )
    .await;
    assert!(!other.headers().contains_key("access-control-allow-origin"));
    let metadata = api
        .get(server.url(Host::Demo, "/.well-known/openid-configuration"))
        .header("origin", "http://127.0.0.1")
        .send()
        .await
        .unwrap();
    assert!(!metadata
        .headers()
        .contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn a_code_is_redeemed_only_at_the_issuer_that_issued_it() {
    let server = Server::start().await;
    let browser = server.browser();
    server
        .login(&browser, Host::DemoSubdomain, "student@demo.test")
        .await;
    let url = authorize_url(
        &server,
        Host::DemoSubdomain,
        &good_request("demo-dashboard", DASHBOARD_REDIRECT),
    );
    let code = server.approve(&browser, &url).await.get("code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", DASHBOARD_REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    // Another host of the same school is another issuer.
    let elsewhere = dashboard_token_request(&server, Host::Demo, &form).await;
    assert_eq!(json(elsewhere).await["error"], "invalid_grant");
    let here = json(dashboard_token_request(&server, Host::DemoSubdomain, &form).await).await;
    assert!(here["access_token"].is_string());
}

#[tokio::test]
async fn request_objects_introspection_by_public_clients_and_doubled_bearer_headers_are_refused() {
    let server = Server::start().await;
    let api = server.api();
    for (name, error) in [
        ("request", "request_not_supported"),
        ("request_uri", "request_uri_not_supported"),
    ] {
        let params = with(
            good_request("demo-quiz", CALLBACK),
            name,
            "eyJhbGciOiJub25lIn0.e30.",
        );
        let response = api
            .get(authorize_url(&server, Host::Demo, &params))
            .send()
            .await
            .unwrap();
        assert_eq!(
            Redirect::from_response(&response).get("error").as_deref(),
            Some(error)
        );
    }
    let introspect = api
        .post(server.url(Host::Demo, "/api/oauth/introspect"))
        .form(&[("token", "x"), ("client_id", "demo-quiz")])
        .send()
        .await
        .unwrap();
    assert_eq!(introspect.status(), StatusCode::UNAUTHORIZED);
    let doubled = api
        .get(server.url(Host::Demo, "/oauth/userinfo"))
        .header("authorization", "Bearer a")
        .header("authorization", "Bearer b")
        .send()
        .await
        .unwrap();
    assert_eq!(doubled.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn self_registered_clients_are_labelled_and_cannot_use_misleading_names() {
    let server = Server::start().await;
    let register = |name: &'static str| {
        let api = server.api();
        let url = server.url(Host::Platform, "/api/oauth/register");
        async move {
            api.post(url)
                .json(&serde_json::json!({"client_name": name, "redirect_uris": [CALLBACK]}))
                .send()
                .await
                .unwrap()
        }
    };
    let refused = register("Claude\u{202E}edoC").await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let registered = json(register("Claude Code").await).await;
    let client_id = registered["client_id"].as_str().unwrap().to_owned();
    let browser = server.browser();
    server.login(&browser, Host::Demo, "owner@demo.test").await;
    let page = browser
        .get(authorize_url(
            &server,
            Host::Demo,
            &with(good_request(&client_id, CALLBACK), "scope", "openid"),
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("not reviewed by Loopwise"), "{page}");
}

/// PostgreSQL refuses text containing a NUL character, which SQLite stores.
/// Whatever the backend, such input is the client's mistake: it gets a 4xx or
/// is treated as matching nothing, never a server error.
#[tokio::test]
async fn nul_characters_in_input_are_the_clients_mistake_on_every_backend() {
    let server = Server::start().await;
    let not_a_server_error = |what: &str, status: StatusCode| {
        assert!(
            !status.is_server_error(),
            "{what} answered {status} on {:?}",
            server.backend()
        );
    };
    let browser = server.browser();
    let page = browser
        .get(server.url(Host::Demo, "/oauth/login"))
        .send()
        .await
        .unwrap();
    let csrf = value_of(&hidden_inputs(&page.text().await.unwrap()), "csrf_token").unwrap();
    let login = browser
        .post(server.url(Host::Demo, "/oauth/login"))
        .form(&[
            ("email", "student\0@demo.test"),
            ("password", PASSWORD),
            ("csrf_token", &csrf),
            ("return_to", "/oauth/authorize"),
        ])
        .send()
        .await
        .unwrap();
    not_a_server_error("a login with NUL in the email", login.status());

    let authorize = browser
        .get(authorize_url(
            &server,
            Host::Demo,
            &good_request("demo-\0dashboard", DASHBOARD_REDIRECT),
        ))
        .send()
        .await
        .unwrap();
    not_a_server_error("a client id with NUL", authorize.status());

    server
        .login(&browser, Host::Demo, "student@demo.test")
        .await;
    let params = with(
        with(
            good_request("demo-dashboard", DASHBOARD_REDIRECT),
            "nonce",
            "n\0nce",
        ),
        "state",
        "st\0te",
    );
    let consent = browser
        .get(authorize_url(&server, Host::Demo, &params))
        .send()
        .await
        .unwrap();
    not_a_server_error("an authorization request with NUL", consent.status());
    if consent.status() == StatusCode::OK {
        let inputs = hidden_inputs(&consent.text().await.unwrap());
        let mut form = inputs.clone();
        form.push(("decision".into(), "approve".into()));
        let approved = browser
            .post(server.url(Host::Demo, "/oauth/consent"))
            .form(&form)
            .send()
            .await
            .unwrap();
        not_a_server_error("approving a request with NUL", approved.status());
    }

    let token = server
        .api()
        .post(server.url(Host::Demo, "/api/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "lwc_ac_\0"),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
            ("client_id", "demo-\0quiz"),
        ])
        .send()
        .await
        .unwrap();
    not_a_server_error("a token request with NUL", token.status());

    let registration = server
        .api()
        .post(server.url(Host::Platform, "/api/oauth/register"))
        .json(&serde_json::json!({"client_name": "Qu\u{0}iz", "redirect_uris": [CALLBACK]}))
        .send()
        .await
        .unwrap();
    not_a_server_error("a registration with NUL", registration.status());
}
