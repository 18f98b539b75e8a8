//! The inputs that broke other OAuth servers (`cases/bad-inputs.md` in the
//! design documents), each as a named test against the real server, with the
//! answer chosen there.

#![expect(
    clippy::unwrap_used,
    reason = "a failed step should fail the test loudly"
)]

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::*;
use reqwest::{Client, Response, StatusCode};

/// Asserts an HTML error page: 4xx, no redirect.
async fn assert_error_page(response: Response) {
    let status = response.status();
    assert!(
        status.is_client_error(),
        "expected a 4xx page, got {status}"
    );
    assert!(
        response.headers().get("location").is_none(),
        "an error page must not redirect"
    );
    let content_type = response
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
}

/// Asserts a redirect to `redirect_uri` with `error` and the issuer of `host`.
async fn assert_redirected_error(
    server: &Server,
    host: Host,
    response: Response,
    redirect_uri: &str,
    error: &str,
) {
    assert_eq!(response.status(), StatusCode::FOUND);
    let redirect = Redirect::from_response(&response);
    assert!(
        redirect.location.starts_with(&format!("{redirect_uri}?")),
        "{}",
        redirect.location
    );
    assert_eq!(
        redirect.get("error").as_deref(),
        Some(error),
        "{}",
        redirect.location
    );
    assert_eq!(redirect.get("state").as_deref(), Some("state-123"));
    assert_eq!(redirect.get("iss"), Some(server.issuer(host)));
    assert!(redirect.get("code").is_none());
}

/// Asserts the request was accepted: the user is sent to log in.
fn assert_accepted(response: &Response) {
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(location.starts_with("/oauth/login?"), "{location}");
}

async fn get(client: &Client, url: String) -> Response {
    client.get(url).send().await.unwrap()
}

/// A logged-in student's browser at school demo's host.
async fn student(server: &Server) -> Client {
    let browser = server.browser();
    server
        .login(&browser, Host::Demo, "student@demo.test")
        .await;
    browser
}

/// A code for `client_id` to `redirect_uri` with the RFC 7636 challenge.
async fn code_for(
    server: &Server,
    browser: &Client,
    client_id: &str,
    redirect_uri: &str,
) -> String {
    let url = authorize_url(server, Host::Demo, &good_request(client_id, redirect_uri));
    server
        .approve(browser, &url)
        .await
        .get("code")
        .expect("a code")
}

async fn quiz_token(server: &Server, form: &[(&str, &str)]) -> Response {
    let mut form = form.to_vec();
    form.push(("client_id", "demo-quiz"));
    server
        .api()
        .post(server.url(Host::Demo, "/api/oauth/token"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn assert_token_error(response: Response, status: StatusCode, error: &str) {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
    let body = json(response).await;
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string());
}

const QUIZ: &str = "http://127.0.0.1/callback";

// Redirect URIs.

#[tokio::test]
async fn c01_matching_is_never_a_prefix_test() {
    let server = Server::start().await;
    let client_id = server.register_demo_app(&["https://app.example/cb"]);
    let api = server.api();
    for requested in [
        "https://app.example.attacker.example/cb",
        "https://app.examplex/cb",
        "https://app.example./cb",
        "https://app.example:8443/cb",
    ] {
        let url = authorize_url(&server, Host::Demo, &good_request(&client_id, requested));
        assert_error_page(get(&api, url).await).await;
    }
    assert_accepted(
        &get(
            &api,
            authorize_url(
                &server,
                Host::Demo,
                &good_request(&client_id, "https://app.example/cb"),
            ),
        )
        .await,
    );
}

#[tokio::test]
async fn c02_dot_segments_are_refused_at_authorize_and_registration() {
    let server = Server::start().await;
    let client_id = server.register_demo_app(&["https://app.example/cb"]);
    let api = server.api();
    let variants = [
        "https://app.example/cb/../steal",
        "https://app.example/cb/%2e%2e/steal",
        "https://app.example/cb/..;/steal",
    ];
    for requested in variants {
        assert_error_page(
            get(
                &api,
                authorize_url(&server, Host::Demo, &good_request(&client_id, requested)),
            )
            .await,
        )
        .await;
    }
    for uri in variants {
        let output = server.cli(&[
            "app-register",
            "--school",
            "demo",
            "--name",
            "Dots",
            "--client-id",
            "dots",
            "--redirect-uri",
            uri,
        ]);
        assert!(!output.status.success(), "{uri} was registered");
    }
    assert_error_page(
        get(
            &api,
            authorize_url(&server, Host::Demo, &good_request("dots", variants[0])),
        )
        .await,
    )
    .await;
}

#[tokio::test]
async fn c03_queries_match_exactly_and_a_registered_query_is_kept() {
    let server = Server::start().await;
    let plain = server.register_demo_app(&["https://app.example/cb"]);
    let with_query = server.register_demo_app(&["https://app.example/cb?a=1"]);
    let api = server.api();
    assert_error_page(
        get(
            &api,
            authorize_url(
                &server,
                Host::Demo,
                &good_request(&plain, "https://app.example/cb?x=1"),
            ),
        )
        .await,
    )
    .await;
    assert_error_page(
        get(
            &api,
            authorize_url(
                &server,
                Host::Demo,
                &good_request(&with_query, "https://app.example/cb?a=2"),
            ),
        )
        .await,
    )
    .await;
    let browser = student(&server).await;
    let redirect = server
        .approve(
            &browser,
            &authorize_url(
                &server,
                Host::Demo,
                &good_request(&with_query, "https://app.example/cb?a=1"),
            ),
        )
        .await;
    assert!(
        redirect
            .location
            .starts_with("https://app.example/cb?a=1&code="),
        "{}",
        redirect.location
    );
    assert_eq!(redirect.get("a").as_deref(), Some("1"));
    assert_eq!(redirect.get("state").as_deref(), Some("state-123"));
}

#[tokio::test]
async fn c04_loopback_port_is_free_and_the_token_request_repeats_it() {
    let server = Server::start().await;
    let browser = student(&server).await;
    let requested = "http://127.0.0.1:51004/callback";
    let url = authorize_url(&server, Host::Demo, &good_request("demo-quiz", requested));
    let redirect = server.approve(&browser, &url).await;
    assert!(
        redirect
            .location
            .starts_with("http://127.0.0.1:51004/callback?code="),
        "{}",
        redirect.location
    );
    let code = redirect.get("code").unwrap();
    let response = quiz_token(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", QUIZ),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_token_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;

    let code = code_for(&server, &browser, "demo-quiz", requested).await;
    let response = quiz_token(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", requested),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn c05_loopback_spellings_are_not_interchangeable() {
    let server = Server::start().await;
    let api = server.api();
    for requested in [
        "http://localhost:51004/callback",
        "http://[::1]:51004/callback",
    ] {
        assert_error_page(
            get(
                &api,
                authorize_url(&server, Host::Demo, &good_request("demo-quiz", requested)),
            )
            .await,
        )
        .await;
    }
}

#[tokio::test]
async fn c06_only_loopback_http_gets_port_freedom() {
    let server = Server::start().await;
    let client_id = server.register_demo_app(&["https://app.example/cb"]);
    let url = authorize_url(
        &server,
        Host::Demo,
        &good_request(&client_id, "https://app.example:1234/cb"),
    );
    assert_error_page(get(&server.api(), url).await).await;
}

#[tokio::test]
async fn c07_scheme_and_host_compare_case_insensitively_the_path_exactly() {
    let server = Server::start().await;
    let client_id = server.register_demo_app(&["https://App.Example/cb"]);
    let api = server.api();
    assert_accepted(
        &get(
            &api,
            authorize_url(
                &server,
                Host::Demo,
                &good_request(&client_id, "https://app.example/cb"),
            ),
        )
        .await,
    );
    assert_error_page(
        get(
            &api,
            authorize_url(
                &server,
                Host::Demo,
                &good_request(&client_id, "https://app.example/CB"),
            ),
        )
        .await,
    )
    .await;
}

#[tokio::test]
async fn c08_registration_refuses_dangerous_uris_and_stores_nothing() {
    let server = Server::start().await;
    let bad = [
        "javascript:alert(1)",
        "data:text/html,x",
        "vbscript:x",
        "file:///etc/passwd",
        "http://app.example/cb",
        "https://app.example/cb#frag",
        "https://app.example/cb#",
        "https://*.app.example/cb",
    ];
    for uri in bad {
        let output = server.cli(&[
            "app-register",
            "--school",
            "demo",
            "--name",
            "Bad",
            "--client-id",
            "bad-app",
            "--redirect-uri",
            uri,
        ]);
        assert!(!output.status.success(), "{uri} was registered");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("is not allowed"), "{stderr}");
    }
    // Also as one of several: a registration is all or nothing.
    let output = server.cli(&[
        "app-register",
        "--school",
        "demo",
        "--name",
        "Bad",
        "--client-id",
        "bad-app",
        "--redirect-uri",
        "https://ok.example/cb",
        "--redirect-uri",
        bad[0],
    ]);
    assert!(!output.status.success());
    let url = authorize_url(
        &server,
        Host::Demo,
        &good_request("bad-app", "https://ok.example/cb"),
    );
    assert_error_page(get(&server.api(), url).await).await;
}

#[tokio::test]
async fn c09_nothing_is_redirected_before_client_and_redirect_uri_are_valid() {
    let server = Server::start().await;
    let api = server.api();
    let bad_scope = with(
        good_request("demo-quiz", "https://attacker.example/cb"),
        "scope",
        "bogus",
    );
    assert_error_page(get(&api, authorize_url(&server, Host::Demo, &bad_scope)).await).await;
    let unknown = good_request("no-such-client", "https://app.example/cb");
    assert_error_page(get(&api, authorize_url(&server, Host::Demo, &unknown)).await).await;
    let no_client = without(good_request("demo-quiz", QUIZ), "client_id");
    assert_error_page(get(&api, authorize_url(&server, Host::Demo, &no_client)).await).await;
    let no_redirect = without(good_request("demo-quiz", QUIZ), "redirect_uri");
    assert_error_page(get(&api, authorize_url(&server, Host::Demo, &no_redirect)).await).await;
}

// PKCE.

#[tokio::test]
async fn c10_plain_or_missing_method_is_invalid_request() {
    let server = Server::start().await;
    let api = server.api();
    let plain = with(
        good_request("demo-quiz", QUIZ),
        "code_challenge_method",
        "plain",
    );
    assert_redirected_error(
        &server,
        Host::Demo,
        get(&api, authorize_url(&server, Host::Demo, &plain)).await,
        QUIZ,
        "invalid_request",
    )
    .await;
    let missing = without(good_request("demo-quiz", QUIZ), "code_challenge_method");
    assert_redirected_error(
        &server,
        Host::Demo,
        get(&api, authorize_url(&server, Host::Demo, &missing)).await,
        QUIZ,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn c11_a_challenge_is_required() {
    let server = Server::start().await;
    let missing = without(good_request("demo-quiz", QUIZ), "code_challenge");
    let response = get(&server.api(), authorize_url(&server, Host::Demo, &missing)).await;
    assert_redirected_error(&server, Host::Demo, response, QUIZ, "invalid_request").await;
}

#[tokio::test]
async fn c12_a_challenge_is_43_base64url_characters() {
    let server = Server::start().await;
    let api = server.api();
    let too_short = &CHALLENGE[..42];
    let too_long = format!("{CHALLENGE}A");
    let plus = CHALLENGE.replace('-', "+");
    let padded = format!("{}=", &CHALLENGE[..42]);
    for challenge in [too_short, too_long.as_str(), plus.as_str(), padded.as_str()] {
        let params = with(good_request("demo-quiz", QUIZ), "code_challenge", challenge);
        let response = get(&api, authorize_url(&server, Host::Demo, &params)).await;
        assert_redirected_error(&server, Host::Demo, response, QUIZ, "invalid_request").await;
    }
}

#[tokio::test]
async fn c13_a_missing_verifier_is_invalid_grant_and_spends_the_code() {
    let server = Server::start().await;
    let browser = student(&server).await;
    let code = code_for(&server, &browser, "demo-quiz", QUIZ).await;
    let response = quiz_token(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", QUIZ),
        ],
    )
    .await;
    assert_token_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let response = quiz_token(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", QUIZ),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_token_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn c14_a_malformed_verifier_is_invalid_grant_and_spends_the_code() {
    let server = Server::start().await;
    let browser = student(&server).await;
    let base = "a".repeat(43);
    let variants = [
        "a".repeat(42),
        "a".repeat(129),
        format!("{base}+"),
        format!("{base}/"),
        format!("{base}="),
        format!("{base} "),
        format!("{base}é"),
    ];
    for verifier in &variants {
        let code = code_for(&server, &browser, "demo-quiz", QUIZ).await;
        let response = quiz_token(
            &server,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", QUIZ),
                ("code_verifier", verifier),
            ],
        )
        .await;
        assert_token_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
        let response = quiz_token(
            &server,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", QUIZ),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
        assert_token_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    }
}

#[tokio::test]
async fn c15_one_failed_verifier_check_spends_the_code() {
    let server = Server::start().await;
    let browser = student(&server).await;
    let code = code_for(&server, &browser, "demo-quiz", QUIZ).await;
    let wrong = "b".repeat(43);
    for verifier in [wrong.as_str(), VERIFIER] {
        let response = quiz_token(
            &server,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", QUIZ),
                ("code_verifier", verifier),
            ],
        )
        .await;
        assert_token_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    }
}

#[tokio::test]
async fn c16_the_rfc7636_appendix_b_pair_is_accepted() {
    let server = Server::start().await;
    let browser = student(&server).await;
    let code = code_for(&server, &browser, "demo-quiz", QUIZ).await;
    let response = quiz_token(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", QUIZ),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json(response).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["school_subdomain"], "demo");
}

// Client authentication and request format.

/// Registers a confidential client with the secret `Abcd+1234`.
fn plus_secret_client(server: &Server) -> String {
    let args = [
        "app-register",
        "--school",
        "demo",
        "--name",
        "Plus",
        "--client-id",
        "plus-client",
        "--type",
        "confidential",
        "--secret-stdin",
        "--redirect-uri",
        "http://127.0.0.1/cb",
    ];
    let output = server.cli_with_stdin(&args, "Abcd+1234\n");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    "plus-client".into()
}

#[tokio::test]
async fn c23_basic_credentials_are_form_decoded_after_base64() {
    let server = Server::start().await;
    let client_id = plus_secret_client(&server);
    let browser = student(&server).await;
    let token_url = server.url(Host::Demo, "/api/oauth/token");
    let exchange = |code: String, credentials: &'static str| {
        let api = server.api();
        let token_url = token_url.clone();
        async move {
            api.post(token_url)
                .header(
                    "authorization",
                    format!("Basic {}", STANDARD.encode(credentials)),
                )
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", "http://127.0.0.1/cb"),
                    ("code_verifier", VERIFIER),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let code = code_for(&server, &browser, &client_id, "http://127.0.0.1/cb").await;
    assert_eq!(
        exchange(code, "plus-client:Abcd%2B1234").await.status(),
        StatusCode::OK
    );
    // Unencoded, the `+` is a space after form decoding: a different secret.
    let code = code_for(&server, &browser, &client_id, "http://127.0.0.1/cb").await;
    let response = exchange(code, "plus-client:Abcd+1234").await;
    assert!(response.headers().get("www-authenticate").is_some());
    assert_token_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn c24_two_authentication_methods_at_once_are_invalid_request() {
    let server = Server::start().await;
    let code = dashboard_code(&server, Host::Demo).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", DASHBOARD_REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_secret", DASHBOARD_SECRET),
    ];
    assert_token_error(
        dashboard_token_request(&server, Host::Demo, &form).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn c25_the_token_endpoint_takes_form_encoding_only() {
    let server = Server::start().await;
    let code = dashboard_code(&server, Host::Demo).await;
    let body = format!("grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fcallback&code_verifier={VERIFIER}");
    let api = server.api();
    let url = server.url(Host::Demo, "/api/oauth/token");
    let send = |content_type: Option<&'static str>, body: String| {
        let mut request = api
            .post(&url)
            .basic_auth("demo-dashboard", Some(DASHBOARD_SECRET))
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send()
    };
    let json_body =
        serde_json::json!({"grant_type": "authorization_code", "code": code}).to_string();
    assert_token_error(
        send(Some("application/json"), json_body).await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert_token_error(
        send(Some("multipart/form-data; boundary=x"), body.clone())
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert_token_error(
        send(None, body.clone()).await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    let accepted = send(
        Some("application/x-www-form-urlencoded; charset=UTF-8"),
        body,
    )
    .await
    .unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);
}

#[tokio::test]
async fn c26_repeated_parameters_are_invalid_request() {
    let server = Server::start().await;
    let api = server.api();
    // At authorize: a page for client_id and redirect_uri, a redirect for the rest.
    for name in ["client_id", "redirect_uri"] {
        let value = if name == "client_id" {
            "demo-quiz"
        } else {
            QUIZ
        };
        let mut params = good_request("demo-quiz", QUIZ);
        params.push((name, value));
        assert_error_page(get(&api, authorize_url(&server, Host::Demo, &params)).await).await;
    }
    for name in ["scope", "code_challenge", "response_type"] {
        let mut params = good_request("demo-quiz", QUIZ);
        let value = match params.iter().find(|(k, _)| *k == name) {
            Some((_, v)) => *v,
            None => {
                params.push((name, "openid"));
                "openid"
            }
        };
        params.push((name, value));
        let response = get(&api, authorize_url(&server, Host::Demo, &params)).await;
        assert_redirected_error(&server, Host::Demo, response, QUIZ, "invalid_request").await;
    }
    let mut params = good_request("demo-quiz", QUIZ);
    params.push(("state", "state-123"));
    let response = get(&api, authorize_url(&server, Host::Demo, &params)).await;
    let redirect = Redirect::from_response(&response);
    assert_eq!(redirect.get("error").as_deref(), Some("invalid_request"));

    // At the token endpoint.
    let code = dashboard_code(&server, Host::Demo).await;
    let base = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", DASHBOARD_REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    for (name, value) in [
        ("scope", "openid"),
        ("code", code.as_str()),
        ("client_id", "demo-dashboard"),
        ("redirect_uri", DASHBOARD_REDIRECT),
        ("state", "x"),
    ] {
        let mut form = base.to_vec();
        form.push((name, value));
        if !base.iter().any(|(k, _)| *k == name) {
            form.push((name, value));
        }
        let response = dashboard_token_request(&server, Host::Demo, &form).await;
        assert_token_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    // None of those spent the code.
    assert_eq!(
        dashboard_token_request(&server, Host::Demo, &base)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn c27_other_methods_at_the_token_endpoint_are_405() {
    let server = Server::start().await;
    let api = server.api();
    let url = server.url(Host::Demo, "/api/oauth/token");
    for response in [
        api.get(&url).send().await.unwrap(),
        api.put(&url).send().await.unwrap(),
    ] {
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers().get("allow").unwrap(), "POST");
        let body = response.text().await.unwrap();
        assert!(!body.contains("access_token"));
    }
}

// Mix-up.

#[tokio::test]
async fn c34_every_redirect_carries_the_issuer_of_its_host() {
    let server = Server::start().await;
    for host in [Host::Demo, Host::DemoSubdomain] {
        let browser = server.browser();
        server.login(&browser, host, "student@demo.test").await;
        let success = server
            .approve(
                &browser,
                &authorize_url(&server, host, &good_request("demo-quiz", QUIZ)),
            )
            .await;
        assert_eq!(success.get("iss"), Some(server.issuer(host)));
        let denied = {
            let response = browser
                .get(authorize_url(
                    &server,
                    host,
                    &with(
                        good_request("demo-quiz", QUIZ),
                        "scope",
                        "openid profile email",
                    ),
                ))
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::FOUND,
                "an unknown-to-the-app scope is an error redirect"
            );
            Redirect::from_response(&response)
        };
        assert_eq!(denied.get("error").as_deref(), Some("invalid_scope"));
        assert_eq!(denied.get("iss"), Some(server.issuer(host)));
    }
}
