//! The token lifecycle over real HTTP: replay and reuse detection under
//! concurrency, narrowing refreshes, revocation, introspection, connected apps,
//! the admin grants API and the audit log. Named cases refer to the design
//! documents' list of inputs that broke other servers.

#![expect(
    clippy::unwrap_used,
    reason = "a failed step should fail the test loudly"
)]

mod common;

use common::*;
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;

const CALLBACK: &str = "http://127.0.0.1/callback";

/// Exchanges a fresh code of `demo-dashboard` (scopes `scope`) for tokens.
async fn dashboard_tokens(server: &Server, scope: &str) -> Value {
    let browser = server.browser();
    server
        .login(&browser, Host::Demo, "student@demo.test")
        .await;
    let params = with(
        good_request("demo-dashboard", DASHBOARD_REDIRECT),
        "scope",
        scope,
    );
    let code = server
        .approve(&browser, &authorize_url(server, Host::Demo, &params))
        .await
        .get("code")
        .unwrap();
    let response = exchange(server, &code).await;
    assert_eq!(response.status(), StatusCode::OK);
    json(response).await
}

async fn exchange(server: &Server, code: &str) -> reqwest::Response {
    dashboard_token_request(
        server,
        Host::Demo,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", DASHBOARD_REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

async fn refresh(server: &Server, token: &str, scope: Option<&str>) -> reqwest::Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    dashboard_token_request(server, Host::Demo, &form).await
}

fn s(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap().to_owned()
}

async fn error_of(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    (
        status,
        json(response).await["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// Registers a confidential client of `school` with a known secret.
fn confidential(server: &Server, school: &str, client_id: &str, introspect: bool) {
    let mut args = vec![
        "app-register",
        "--school",
        school,
        "--name",
        client_id,
        "--client-id",
        client_id,
        "--type",
        "confidential",
        "--secret-stdin",
        "--redirect-uri",
        CALLBACK,
    ];
    if introspect {
        args.push("--introspect");
    }
    let output = server.cli_with_stdin(&args, "second-secret\n");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn c17_a_replayed_code_fails_and_revokes_the_first_exchange() {
    let server = Server::start().await;
    let browser = server.browser();
    server
        .login(&browser, Host::Demo, "student@demo.test")
        .await;
    let url = authorize_url(
        &server,
        Host::Demo,
        &good_request("demo-dashboard", DASHBOARD_REDIRECT),
    );
    let code = server.approve(&browser, &url).await.get("code").unwrap();
    let first = exchange(&server, &code).await;
    assert_eq!(first.status(), StatusCode::OK);
    let tokens = json(first).await;
    assert_eq!(
        introspect(&server, &s(&tokens, "access_token")).await["active"],
        true
    );
    assert_eq!(
        error_of(exchange(&server, &code).await).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    assert_eq!(
        introspect(&server, &s(&tokens, "access_token")).await,
        serde_json::json!({"active": false})
    );
    assert_eq!(
        error_of(refresh(&server, &s(&tokens, "refresh_token"), None).await)
            .await
            .1,
        "invalid_grant"
    );

    // Sixteen exchanges of one code at once: exactly one wins.
    let code = server.approve(&browser, &url).await.get("code").unwrap();
    let racing: Vec<_> = (0..16).map(|_| exchange(&server, &code)).collect();
    let statuses: Vec<StatusCode> = futures_statuses(racing).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(statuses
        .iter()
        .all(|s| *s == StatusCode::OK || *s == StatusCode::BAD_REQUEST));
}

async fn futures_statuses(
    requests: Vec<impl std::future::Future<Output = reqwest::Response>>,
) -> Vec<StatusCode> {
    join_all(requests)
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect()
}

#[tokio::test]
async fn c18_and_c19_codes_and_refresh_tokens_of_another_client_or_school_are_invalid_grant() {
    let server = Server::start().await;
    let browser = server.browser();
    server
        .login(&browser, Host::Demo, "student@demo.test")
        .await;
    // A code of demo-quiz redeemed by demo-dashboard with its valid secret.
    let quiz_code = server
        .approve(
            &browser,
            &authorize_url(&server, Host::Demo, &good_request("demo-quiz", CALLBACK)),
        )
        .await
        .get("code")
        .unwrap();
    let response = dashboard_token_request(
        &server,
        Host::Demo,
        &[
            ("grant_type", "authorization_code"),
            ("code", &quiz_code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    let stolen = error_of(response).await;
    let unknown = error_of(exchange(&server, "lwc_ac_does-not-exist").await).await;
    assert_eq!(stolen, (StatusCode::BAD_REQUEST, "invalid_grant".into()));
    assert_eq!(
        stolen, unknown,
        "a foreign code is answered like an unknown one"
    );

    // A platform application's code and refresh token of school demo, at other's host.
    let owner = server.browser();
    server.login(&owner, Host::Demo, "owner@demo.test").await;
    let code_at_demo = server
        .approve(
            &owner,
            &authorize_url(&server, Host::Demo, &good_request("claude-code", CALLBACK)),
        )
        .await
        .get("code")
        .unwrap();
    let at = |host: Host, form: Vec<(&'static str, String)>| {
        let api = server.api();
        let url = server.url(host, "/api/oauth/token");
        async move { api.post(url).form(&form).send().await.unwrap() }
    };
    let code_form = |code: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", CALLBACK.to_owned()),
            ("code_verifier", VERIFIER.to_owned()),
            ("client_id", "claude-code".to_owned()),
        ]
    };
    assert_eq!(
        error_of(at(Host::Other, code_form(&code_at_demo)).await).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    // Not spent by that: it still works at its own school.
    let tokens = json(at(Host::Demo, code_form(&code_at_demo)).await).await;
    let refresh_form = vec![
        ("grant_type", "refresh_token".to_owned()),
        ("refresh_token", s(&tokens, "refresh_token")),
        ("client_id", "claude-code".to_owned()),
    ];
    assert_eq!(
        error_of(at(Host::Other, refresh_form.clone()).await).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    assert_eq!(
        error_of(at(Host::Platform, refresh_form.clone()).await).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    // The refresh token of claude-code presented by demo-dashboard.
    assert_eq!(
        error_of(refresh(&server, &s(&tokens, "refresh_token"), None).await)
            .await
            .1,
        "invalid_grant"
    );
    assert_eq!(at(Host::Demo, refresh_form).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn c20_sixteen_concurrent_refreshes_one_wins_and_the_family_is_revoked() {
    let server = Server::start().await;
    let tokens = dashboard_tokens(&server, "openid courses:read").await;
    let rt = s(&tokens, "refresh_token");
    let racing: Vec<_> = (0..16).map(|_| refresh(&server, &rt, None)).collect();
    let responses = join_all(racing).await;
    let mut winners = Vec::new();
    for response in responses {
        match response.status() {
            StatusCode::OK => winners.push(json(response).await),
            status => assert_eq!(
                (status, json(response).await["error"].clone()),
                (StatusCode::BAD_REQUEST, Value::from("invalid_grant"))
            ),
        }
    }
    assert_eq!(winners.len(), 1);
    // The losers were reuse: every token of the grant, the winner's included, is revoked.
    assert_eq!(
        introspect(&server, &s(&winners[0], "access_token")).await["active"],
        false
    );
    assert_eq!(
        introspect(&server, &s(&tokens, "access_token")).await["active"],
        false
    );
    assert_eq!(
        error_of(refresh(&server, &s(&winners[0], "refresh_token"), None).await)
            .await
            .1,
        "invalid_grant"
    );
}

#[tokio::test]
async fn c21_a_refresh_narrows_and_never_widens() {
    let server = Server::start().await;
    let tokens = dashboard_tokens(&server, "openid courses:read").await;
    let rt = s(&tokens, "refresh_token");
    for wider in ["openid courses:read profile", "courses:read admin:read"] {
        assert_eq!(
            error_of(refresh(&server, &rt, Some(wider)).await).await,
            (StatusCode::BAD_REQUEST, "invalid_scope".into())
        );
    }
    // Nothing was issued or spent: the same token still refreshes, keeping the scopes.
    let kept = json(refresh(&server, &rt, None).await).await;
    assert_eq!(kept["scope"], "openid courses:read");
    let narrower =
        json(refresh(&server, &s(&kept, "refresh_token"), Some("courses:read")).await).await;
    assert_eq!(narrower["scope"], "courses:read");
    assert_eq!(
        introspect(&server, &s(&narrower, "access_token")).await["scope"],
        "courses:read"
    );
    // The narrowing applied to that access token only; the grant keeps both.
    let again = json(refresh(&server, &s(&narrower, "refresh_token"), None).await).await;
    assert_eq!(again["scope"], "openid courses:read");
}

async fn revoke(server: &Server, form: &[(&str, &str)], secret: &str) -> reqwest::Response {
    server
        .api()
        .post(server.url(Host::Demo, "/api/oauth/revoke"))
        .basic_auth("demo-dashboard", Some(secret))
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn c28_revocation_answers_200_whatever_the_token() {
    let server = Server::start().await;
    let tokens = dashboard_tokens(&server, "openid").await;
    let at = s(&tokens, "access_token");
    assert_eq!(
        revoke(&server, &[("token", &at)], DASHBOARD_SECRET)
            .await
            .status(),
        StatusCode::OK
    );
    let rotated = json(refresh(&server, &s(&tokens, "refresh_token"), None).await).await;
    let _ = rotated;
    for form in [
        vec![("token", "not-a-token")],
        vec![("token", at.as_str())],
        vec![("token", tokens["refresh_token"].as_str().unwrap())],
        vec![("token", "not-a-token"), ("token_type_hint", "bogus")],
        vec![("token", at.as_str()), ("token_type_hint", "refresh_token")],
    ] {
        let response = revoke(&server, &form, DASHBOARD_SECRET).await;
        assert_eq!(response.status(), StatusCode::OK, "{form:?}");
        assert!(response.text().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn c29_revocation_with_a_wrong_secret_is_invalid_client() {
    let server = Server::start().await;
    let response = revoke(&server, &[("token", "whatever")], "wrong-secret").await;
    assert!(response.headers().get("www-authenticate").is_some());
    assert_eq!(
        error_of(response).await,
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
}

#[tokio::test]
async fn c30_another_client_cannot_revoke_a_token() {
    let server = Server::start().await;
    confidential(&server, "demo", "second-client", false);
    let tokens = dashboard_tokens(&server, "openid").await;
    for token in [s(&tokens, "access_token"), s(&tokens, "refresh_token")] {
        let response = server
            .api()
            .post(server.url(Host::Demo, "/api/oauth/revoke"))
            .basic_auth("second-client", Some("second-secret"))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(
        introspect(&server, &s(&tokens, "access_token")).await["active"],
        true
    );
    assert_eq!(
        refresh(&server, &s(&tokens, "refresh_token"), None)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn c31_introspection_without_the_right_or_across_schools_is_inactive() {
    let server = Server::start().await;
    confidential(&server, "demo", "no-rights", false);
    confidential(&server, "other", "other-rs", true);
    let tokens = dashboard_tokens(&server, "openid courses:read").await;
    let at = s(&tokens, "access_token");
    let ask = |host: Host, client: &'static str| {
        let api = server.api();
        let url = server.url(host, "/api/oauth/introspect");
        let at = at.clone();
        async move {
            json(
                api.post(url)
                    .basic_auth(client, Some("second-secret"))
                    .form(&[("token", at.as_str())])
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    assert_eq!(
        ask(Host::Demo, "no-rights").await,
        serde_json::json!({"active": false})
    );
    assert_eq!(
        ask(Host::Other, "other-rs").await,
        serde_json::json!({"active": false})
    );
    // The school's own resource server sees the token.
    let active = introspect(&server, &at).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["scope"], "openid courses:read");
    assert_eq!(active["client_id"], "demo-dashboard");
    assert_eq!(active["school_id"], tokens["school_id"]);
    for key in ["sub", "exp", "iat", "aud"] {
        assert!(!active[key].is_null(), "{key} missing");
    }
}

#[tokio::test]
async fn c32_forged_consent_gives_no_code() {
    let server = Server::start().await;
    let browser = server.browser();
    server
        .login(&browser, Host::Demo, "student@demo.test")
        .await;
    let url = authorize_url(&server, Host::Demo, &good_request("demo-quiz", CALLBACK));
    let page = browser
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let inputs = hidden_inputs(&page);
    let without_csrf: Vec<_> = inputs
        .iter()
        .filter(|(k, _)| k != "csrf_token")
        .cloned()
        .chain([("decision".to_owned(), "approve".to_owned())])
        .collect();
    let response = browser
        .post(server.url(Host::Demo, "/oauth/consent"))
        .form(&without_csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get("location").is_none());

    // Another session's token.
    let other = server.browser();
    server.login(&other, Host::Demo, "owner@demo.test").await;
    let other_page = other.get(&url).send().await.unwrap().text().await.unwrap();
    let foreign_csrf = value_of(&hidden_inputs(&other_page), "csrf_token").unwrap();
    let mut forged: Vec<_> = inputs
        .iter()
        .filter(|(k, _)| k != "csrf_token")
        .cloned()
        .collect();
    forged.push(("csrf_token".into(), foreign_csrf));
    forged.push(("decision".into(), "approve".into()));
    let response = browser
        .post(server.url(Host::Demo, "/oauth/consent"))
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Approval by GET.
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&inputs)
        .append_pair("decision", "approve")
        .finish();
    let response = browser
        .get(server.url(Host::Demo, &format!("/oauth/consent?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn c33_asking_for_more_scopes_shows_consent_again() {
    let server = Server::start().await;
    let browser = server.browser();
    server
        .login(&browser, Host::Demo, "student@demo.test")
        .await;
    let first = authorize_url(
        &server,
        Host::Demo,
        &with(
            good_request("demo-dashboard", DASHBOARD_REDIRECT),
            "scope",
            "openid",
        ),
    );
    server.approve(&browser, &first).await;
    // The same scopes again: no page, straight back with a code.
    let again = browser.get(&first).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::FOUND);
    assert!(Redirect::from_response(&again).get("code").is_some());
    // More scopes: the consent page, listing the new one.
    let wider = authorize_url(
        &server,
        Host::Demo,
        &with(
            good_request("demo-dashboard", DASHBOARD_REDIRECT),
            "scope",
            "openid courses:read",
        ),
    );
    let response = browser.get(&wider).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("courses:read"), "the new scope is listed");
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_family() {
    let server = Server::start().await;
    let tokens = dashboard_tokens(&server, "openid").await;
    let response = revoke(
        &server,
        &[
            ("token", tokens["refresh_token"].as_str().unwrap()),
            ("token_type_hint", "refresh_token"),
        ],
        DASHBOARD_SECRET,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        introspect(&server, &s(&tokens, "access_token")).await["active"],
        false
    );
    assert_eq!(
        error_of(refresh(&server, &s(&tokens, "refresh_token"), None).await)
            .await
            .1,
        "invalid_grant"
    );
}

#[tokio::test]
async fn a_user_revokes_an_app_on_the_connected_apps_page() {
    let server = Server::start().await;
    let tokens = dashboard_tokens(&server, "openid courses:read").await;
    let browser = server.browser();
    server
        .login(&browser, Host::Demo, "student@demo.test")
        .await;
    let page = browser
        .get(server.url(Host::Demo, "/oauth/connected-apps"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Demo Dashboard"));
    let inputs = hidden_inputs(&html);
    let response = browser
        .post(server.url(Host::Demo, "/oauth/connected-apps/revoke"))
        .form(&inputs)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        introspect(&server, &s(&tokens, "access_token")).await["active"],
        false
    );
    assert_eq!(
        error_of(refresh(&server, &s(&tokens, "refresh_token"), None).await)
            .await
            .1,
        "invalid_grant"
    );
    let after = browser
        .get(server.url(Host::Demo, "/oauth/connected-apps"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!after.contains("Demo Dashboard"));
    // Without the page's CSRF token nothing is revoked.
    let forged = browser
        .post(server.url(Host::Demo, "/oauth/connected-apps/revoke"))
        .form(&[("grant_id", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn school_admins_list_and_revoke_grants_and_read_the_audit_log() {
    let server = Server::start().await;
    let tokens = dashboard_tokens(&server, "openid courses:read").await;
    let (owner, csrf) = admin_browser(&server, Host::Demo, "owner@demo.test").await;
    let grants = json(
        owner
            .get(server.url(Host::Demo, "/api/admin/grants?client_id=demo-dashboard"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let grant = &grants["grants"][0];
    assert_eq!(grant["user_email"], "student@demo.test");
    let grant_id = s(grant, "id");

    // Strangers get nothing: a student of demo, and a manager of other.
    let (student, student_csrf) = admin_browser(&server, Host::Demo, "student@demo.test").await;
    assert!(student_csrf.is_empty());
    assert_eq!(
        student
            .get(server.url(Host::Demo, "/api/admin/grants"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let (multi, _) = admin_browser(&server, Host::Other, "multi@demo.test").await;
    let foreign = multi
        .post(server.url(Host::Other, &format!("/api/admin/grants/{grant_id}/revoke")))
        .send()
        .await
        .unwrap();
    assert_ne!(foreign.status(), StatusCode::OK);
    let (multi_at_demo, _) = admin_browser(&server, Host::Demo, "multi@demo.test").await;
    assert_eq!(
        multi_at_demo
            .get(server.url(Host::Demo, "/api/admin/audit"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        server
            .api()
            .get(server.url(Host::Demo, "/api/admin/grants"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        introspect(&server, &s(&tokens, "access_token")).await["active"],
        true
    );

    // A write without the CSRF header is refused; with it, the grant goes.
    let revoke_url = server.url(Host::Demo, &format!("/api/admin/grants/{grant_id}/revoke"));
    assert_eq!(
        owner.post(&revoke_url).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let revoked = owner
        .post(&revoke_url)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(
        introspect(&server, &s(&tokens, "access_token")).await["active"],
        false
    );

    // All grants of one application at once.
    let second = dashboard_tokens(&server, "openid").await;
    let all = owner
        .post(server.url(
            Host::Demo,
            "/api/admin/applications/demo-dashboard/revoke-grants",
        ))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(json(all).await["revoked"], 1);
    assert_eq!(
        introspect(&server, &s(&second, "access_token")).await["active"],
        false
    );

    let audit = json(
        owner
            .get(server.url(Host::Demo, "/api/admin/audit?limit=3"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let kinds: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["grant.revoked", "tokens.issued", "authorization.granted"]
    );
    let next = audit["next"].as_i64().unwrap();
    let older = json(
        owner
            .get(server.url(
                Host::Demo,
                &format!("/api/admin/audit?before={next}&limit=50"),
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let older_kinds: Vec<&str> = older["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(older_kinds.contains(&"grant.revoked") && older_kinds.contains(&"tokens.issued"));
    let text = serde_json::to_string(&older).unwrap();
    assert!(
        !text.contains("lwc_at_") && !text.contains("lwc_rt_"),
        "no token in the audit log"
    );
}
