//! The school administration API over real HTTP against the demo: owners
//! manage their school's applications, and nobody else gets anywhere, whether
//! by session or bearer token. Every route of the OpenAPI document is checked
//! to exist and to refuse strangers.

#![expect(
    clippy::unwrap_used,
    reason = "helpers outside the tests fail loudly on a broken fixture"
)]

mod common;

use common::*;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

const APP_REDIRECT: &str = "http://127.0.0.1:9100/callback";

fn s(value: &Value, key: &str) -> String {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {value}"))
        .to_owned()
}

/// A write from an admin session: JSON body and the CSRF header.
async fn write(
    client: &Client,
    csrf: &str,
    method: Method,
    url: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = client.request(method, url).header("x-csrf-token", csrf);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn create(server: &Server, owner: &Client, csrf: &str, body: Value) -> reqwest::Response {
    write(
        owner,
        csrf,
        Method::POST,
        &server.url(Host::Demo, "/api/admin/applications"),
        Some(body),
    )
    .await
}

/// Runs the authorization code flow for `client_id` as `email` and returns the
/// token response.
async fn flow(
    server: &Server,
    email: &str,
    client_id: &str,
    secret: Option<&str>,
    scope: &str,
) -> Value {
    let browser = server.browser();
    server.login(&browser, Host::Demo, email).await;
    let params = with(good_request(client_id, APP_REDIRECT), "scope", scope);
    let redirect = server
        .approve(&browser, &authorize_url(server, Host::Demo, &params))
        .await;
    let code = redirect.get("code").expect("a code");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", APP_REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", client_id),
    ];
    let mut request = server
        .api()
        .post(server.url(Host::Demo, "/api/oauth/token"));
    if let Some(secret) = secret {
        request = request.basic_auth(client_id, Some(secret));
    }
    let response = request.form(&form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    json(response).await
}

async fn refresh(server: &Server, client_id: &str, secret: &str, token: &str) -> StatusCode {
    server
        .api()
        .post(server.url(Host::Demo, "/api/oauth/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn an_owner_creates_an_app_a_student_uses_it_and_rotation_and_deletion_cut_it_off() {
    let server = Server::start().await;
    let (owner, csrf) = admin_browser(&server, Host::Demo, "owner@demo.test").await;
    let created = create(
        &server,
        &owner,
        &csrf,
        json!({
            "name": "Homework Helper",
            "redirect_uris": [APP_REDIRECT],
            "scope": "openid courses:read",
            "client_type": "confidential",
        }),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.headers()["cache-control"], "no-store");
    let created = json(created).await;
    let app = &created["application"];
    let client_id = s(app, "client_id");
    let secret = s(&created, "client_secret");
    assert!(secret.starts_with("lwc_cs_"));
    assert_eq!(app["audience"], "member");
    assert_eq!(app["has_secret"], true);
    assert!(app["created_by"].is_string());

    // The secret is shown once: never in a later read.
    let shown = owner
        .get(server.url(Host::Demo, &format!("/api/admin/applications/{client_id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!shown.contains(&secret) && !shown.contains("client_secret"));

    let tokens = flow(
        &server,
        "student@demo.test",
        &client_id,
        Some(&secret),
        "openid courses:read",
    )
    .await;
    let access = s(&tokens, "access_token");
    let refresh_token = s(&tokens, "refresh_token");
    assert_eq!(introspect(&server, &access).await["active"], true);

    // Rotation: the old secret stops at once, the new one works.
    let rotated = write(
        &owner,
        &csrf,
        Method::POST,
        &server.url(
            Host::Demo,
            &format!("/api/admin/applications/{client_id}/rotate-secret"),
        ),
        None,
    )
    .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let new_secret = s(&json(rotated).await, "client_secret");
    assert_ne!(new_secret, secret);
    assert_eq!(
        refresh(&server, &client_id, &secret, &refresh_token).await,
        StatusCode::UNAUTHORIZED
    );
    let refreshed = server
        .api()
        .post(server.url(Host::Demo, "/api/oauth/token"))
        .basic_auth(&client_id, Some(&new_secret))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::OK);
    let refreshed = json(refreshed).await;
    let live = s(&refreshed, "access_token");
    assert_eq!(introspect(&server, &live).await["active"], true);

    // Deleting the application makes its live tokens inactive.
    let deleted = write(
        &owner,
        &csrf,
        Method::DELETE,
        &server.url(Host::Demo, &format!("/api/admin/applications/{client_id}")),
        None,
    )
    .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    assert_eq!(json(deleted).await["revoked_grants"], 1);
    assert_eq!(introspect(&server, &live).await["active"], false);
    assert_eq!(
        refresh(
            &server,
            &client_id,
            &new_secret,
            &s(&refreshed, "refresh_token")
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    let gone = owner
        .get(server.url(Host::Demo, &format!("/api/admin/applications/{client_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);

    let audit = json(
        owner
            .get(server.url(Host::Demo, "/api/admin/audit?limit=50"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let kinds: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["client_id"] == client_id.as_str())
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "application.created",
        "application.secret_rotated",
        "application.deleted",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    assert!(!audit.to_string().contains(&new_secret));
}

/// Every operation of the OpenAPI document, with sample path values.
async fn documented_operations(server: &Server) -> Vec<(Method, String)> {
    let response = server
        .api()
        .get(server.url(Host::Demo, "/api/admin/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let doc = json(response).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut operations = vec![];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            assert!(
                operation["security"].is_array(),
                "{method} {path} documents no security"
            );
            let concrete = path
                .replace("{client_id}", "demo-dashboard")
                .replace("{id}", "00000000-0000-4000-8000-000000000000");
            operations.push((method.to_uppercase().parse().unwrap(), concrete));
        }
    }
    operations
}

#[tokio::test]
async fn the_document_matches_the_routes_and_strangers_get_403_on_every_one() {
    let server = Server::start().await;
    let operations = documented_operations(&server).await;
    assert!(operations.len() >= 13, "{operations:?}");
    let (student, _) = admin_browser(&server, Host::Demo, "student@demo.test").await;
    // A manager of school other with no role at all in demo.
    let created = server.cli_with_stdin(
        &["user-create", "manager@other.test", "Manager of Other"],
        &format!("{PASSWORD}\n"),
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let role = server.cli(&["member-set", "manager@other.test", "other", "manager"]);
    assert!(
        role.status.success(),
        "{}",
        String::from_utf8_lossy(&role.stderr)
    );
    let (manager_of_other, _) = admin_browser(&server, Host::Demo, "manager@other.test").await;
    // And the same manager at their own school, aiming at demo's ids.
    let (at_home, home_csrf) = admin_browser(&server, Host::Other, "manager@other.test").await;
    assert!(
        !home_csrf.is_empty(),
        "a manager of other administers other"
    );
    for (method, path) in &operations {
        let url = server.url(Host::Demo, path);
        // Without credentials every route answers 401: it exists and is guarded.
        let anonymous = server
            .api()
            .request(method.clone(), &url)
            .send()
            .await
            .unwrap();
        assert_eq!(
            anonymous.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
        assert_eq!(json(anonymous).await["error"], "login_required");
        for stranger in [&student, &manager_of_other] {
            let response = stranger
                .request(method.clone(), &url)
                .header("x-csrf-token", "irrelevant")
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
            assert_eq!(json(response).await["error"], "access_denied");
        }
        // At other's host, demo's application and grants do not exist.
        if path.contains("demo-dashboard") || path.contains("/grants/") {
            let response = at_home
                .request(method.clone(), server.url(Host::Other, path))
                .header("x-csrf-token", &home_csrf)
                .json(&json!({"name": "taken over"}))
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::NOT_FOUND,
                "{method} {path} at other"
            );
        }
    }
    // A method the document does not list for a path is not routed.
    let undocumented = server
        .api()
        .put(server.url(Host::Demo, "/api/admin/applications"))
        .send()
        .await
        .unwrap();
    assert!(matches!(
        undocumented.status(),
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
    ));
}

#[tokio::test]
async fn bearer_tokens_need_admin_scopes_of_this_school() {
    let server = Server::start().await;
    let (owner, csrf) = admin_browser(&server, Host::Demo, "owner@demo.test").await;

    // A token without admin scopes: insufficient_scope, with the challenge.
    let member_app = json(
        create(
            &server,
            &owner,
            &csrf,
            json!({
                "name": "Reading List",
                "redirect_uris": [APP_REDIRECT],
                "scope": "openid courses:read",
                "client_type": "public",
            }),
        )
        .await,
    )
    .await;
    let student = flow(
        &server,
        "student@demo.test",
        &s(&member_app["application"], "client_id"),
        None,
        "openid courses:read",
    )
    .await;
    let response = server
        .api()
        .get(server.url(Host::Demo, "/api/admin/applications"))
        .bearer_auth(s(&student, "access_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"admin:read\""), "{challenge}");
    assert_eq!(json(response).await["error"], "insufficient_scope");

    // An org_admin application with admin:read only.
    let created = json(
        create(
            &server,
            &owner,
            &csrf,
            json!({
                "name": "School Reports",
                "redirect_uris": [APP_REDIRECT],
                "scope": "openid admin:read",
                "audience": "org_admin",
                "client_type": "public",
            }),
        )
        .await,
    )
    .await;
    let client_id = s(&created["application"], "client_id");
    assert!(created["client_secret"].is_null());
    let tokens = flow(
        &server,
        "owner@demo.test",
        &client_id,
        None,
        "openid admin:read",
    )
    .await;
    let token = s(&tokens, "access_token");
    let listed = server
        .api()
        .get(server.url(Host::Demo, "/api/admin/applications"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let listed = json(listed).await;
    assert!(listed["applications"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["client_id"] == client_id.as_str()));
    let refused = server
        .api()
        .post(server.url(Host::Demo, "/api/admin/applications"))
        .bearer_auth(&token)
        .json(&json!({"name": "x", "redirect_uris": [APP_REDIRECT], "scope": "openid"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("scope=\"admin:write\""));

    // The same token at another school is unknown there.
    let elsewhere = server
        .api()
        .get(server.url(Host::Other, "/api/admin/applications"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(elsewhere).await["error"], "invalid_token");

    // Demoting the owner revokes the org_admin grant and its token at once,
    // everywhere: at introspection as at the admin API.
    let demoted = server.cli(&["member-set", "owner@demo.test", "demo", "student"]);
    assert!(
        demoted.status.success(),
        "{}",
        String::from_utf8_lossy(&demoted.stderr)
    );
    assert!(String::from_utf8_lossy(&demoted.stdout)
        .contains("1 grant it no longer allows was revoked"));
    assert_eq!(introspect(&server, &token).await["active"], false);
    let after = server
        .api()
        .get(server.url(Host::Demo, "/api/admin/applications"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(after).await["error"], "invalid_token");
    // The member grant of the student app is kept: a student may still use it.
    assert_eq!(
        introspect(&server, &s(&student, "access_token")).await["active"],
        true
    );
    // Removing the student from the school takes that one too.
    let removed = server.cli(&["member-revoke", "student@demo.test", "demo"]);
    assert!(removed.status.success());
    assert_eq!(
        introspect(&server, &s(&student, "access_token")).await["active"],
        false
    );
}

#[tokio::test]
async fn the_core_rules_refuse_bad_applications_with_nothing_written() {
    let server = Server::start().await;
    let (owner, csrf) = admin_browser(&server, Host::Demo, "owner@demo.test").await;
    let count = || async {
        json(
            owner
                .get(server.url(Host::Demo, "/api/admin/applications"))
                .send()
                .await
                .unwrap(),
        )
        .await["applications"]
            .as_array()
            .unwrap()
            .len()
    };
    let before = count().await;
    let cases = [
        (
            json!({"name": "A", "redirect_uris": ["http://evil.example/cb"], "scope": "openid"}),
            "invalid_redirect_uri",
        ),
        (
            json!({"name": "A", "redirect_uris": ["https://app.example/cb#frag"], "scope": "openid"}),
            "invalid_redirect_uri",
        ),
        (
            json!({"name": "A", "redirect_uris": [], "scope": "openid"}),
            "invalid_redirect_uri",
        ),
        (
            json!({"name": "A", "redirect_uris": [APP_REDIRECT], "scope": "openid admin:read"}),
            "invalid_scope",
        ),
        (
            json!({"name": "A", "redirect_uris": [APP_REDIRECT], "scope": "account:read"}),
            "invalid_scope",
        ),
        (
            json!({"name": "A", "redirect_uris": [APP_REDIRECT], "scope": "courses:delete"}),
            "invalid_scope",
        ),
        (
            json!({"name": "A", "redirect_uris": [APP_REDIRECT], "scope": "openid", "audience": "staff"}),
            "invalid_client_metadata",
        ),
        (
            json!({"name": "", "redirect_uris": [APP_REDIRECT], "scope": "openid"}),
            "invalid_client_metadata",
        ),
        (
            json!({"name": "A\u{202E}", "redirect_uris": [APP_REDIRECT], "scope": "openid"}),
            "invalid_client_metadata",
        ),
        (
            json!({"name": "A", "redirect_uris": [APP_REDIRECT], "scope": "openid", "client_type": "hybrid"}),
            "invalid_client_metadata",
        ),
        (
            json!({"name": "A", "redirect_uris": [APP_REDIRECT], "scope": "openid", "school_id": "x"}),
            "invalid_request",
        ),
        (json!({"name": "A"}), "invalid_request"),
        (
            json!({"name": "\u{200B}\u{3164}", "redirect_uris": [APP_REDIRECT], "scope": "openid"}),
            "invalid_client_metadata",
        ),
        (
            json!({"name": "A", "redirect_uris": [APP_REDIRECT, APP_REDIRECT], "scope": "openid"}),
            "invalid_redirect_uri",
        ),
        (
            json!({"name": "A", "redirect_uris": (0..11).map(|i| format!("https://app.example/cb{i}")).collect::<Vec<_>>(), "scope": "openid"}),
            "invalid_redirect_uri",
        ),
        (
            json!({"name": "A", "redirect_uris": [APP_REDIRECT], "scope": ""}),
            "invalid_scope",
        ),
    ];
    for (body, error) in cases {
        let response = create(&server, &owner, &csrf, body.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let answer = json(response).await;
        assert_eq!(answer["error"], error, "{body}: {answer}");
        assert!(answer["error_description"].as_str().unwrap().len() > 5);
    }
    let garbled = owner
        .post(server.url(Host::Demo, "/api/admin/applications"))
        .header("x-csrf-token", &csrf)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbled.status(), StatusCode::BAD_REQUEST);
    assert_eq!(count().await, before);

    // The wording is the authorization endpoint's own rule text.
    let refused = json(
        create(
            &server,
            &owner,
            &csrf,
            json!({"name": "A", "redirect_uris": ["http://evil.example/cb"], "scope": "openid"}),
        )
        .await,
    )
    .await;
    let description = s(&refused, "error_description");
    assert!(
        description.contains("http://evil.example/cb"),
        "{description}"
    );
}

#[tokio::test]
async fn lists_page_in_a_stable_order_and_updates_that_narrow_access_revoke_grants() {
    let server = Server::start().await;
    let (owner, csrf) = admin_browser(&server, Host::Demo, "owner@demo.test").await;
    let mut created = vec![];
    for name in ["One", "Two", "Three"] {
        let response = create(
            &server,
            &owner,
            &csrf,
            json!({"name": name, "redirect_uris": [APP_REDIRECT], "scope": "openid courses:read", "client_type": "public"}),
        )
        .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        created.push(s(&json(response).await["application"], "client_id"));
    }
    let mut seen = vec![];
    let mut after: Option<String> = None;
    loop {
        let query = match &after {
            Some(after) => format!("?limit=2&after={after}"),
            None => "?limit=2".to_owned(),
        };
        let page = json(
            owner
                .get(server.url(Host::Demo, &format!("/api/admin/applications{query}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        seen.extend(
            page["applications"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| s(a, "client_id")),
        );
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "pages overlap or are out of order");
    for id in &created {
        assert!(seen.contains(id));
    }
    // Platform applications are not the school's to manage.
    assert!(!seen.iter().any(|id| id == "claude-code"));
    let platform = write(
        &owner,
        &csrf,
        Method::DELETE,
        &server.url(Host::Demo, "/api/admin/applications/claude-code"),
        None,
    )
    .await;
    assert_eq!(platform.status(), StatusCode::NOT_FOUND);

    let client_id = &created[0];
    let url = server.url(Host::Demo, &format!("/api/admin/applications/{client_id}"));
    let tokens = flow(
        &server,
        "student@demo.test",
        client_id,
        None,
        "openid courses:read",
    )
    .await;
    let access = s(&tokens, "access_token");

    // Widening keeps the grant; narrowing revokes it.
    let widened = write(
        &owner,
        &csrf,
        Method::PATCH,
        &url,
        Some(json!({"scope": "openid courses:read courses:write", "name": "One, renamed"})),
    )
    .await;
    assert_eq!(widened.status(), StatusCode::OK);
    let widened = json(widened).await;
    assert_eq!(widened["revoked_grants"], 0);
    assert_eq!(widened["application"]["name"], "One, renamed");
    assert_eq!(introspect(&server, &access).await["active"], true);
    let refused = write(
        &owner,
        &csrf,
        Method::PATCH,
        &url,
        Some(json!({"redirect_uris": ["javascript:alert(1)"]})),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let narrowed = write(
        &owner,
        &csrf,
        Method::PATCH,
        &url,
        Some(json!({"audience": "org_admin"})),
    )
    .await;
    assert_eq!(json(narrowed).await["revoked_grants"], 1);
    assert_eq!(introspect(&server, &access).await["active"], false);

    // Disabling revokes and hides the app from the authorization endpoint;
    // enabling brings the app (not the grants) back.
    let second = &created[1];
    let tokens = flow(&server, "student@demo.test", second, None, "openid").await;
    let disabled = write(
        &owner,
        &csrf,
        Method::POST,
        &server.url(
            Host::Demo,
            &format!("/api/admin/applications/{second}/disable"),
        ),
        None,
    )
    .await;
    let disabled = json(disabled).await;
    assert_eq!(disabled["revoked_grants"], 1);
    assert_eq!(disabled["application"]["disabled"], true);
    assert_eq!(
        introspect(&server, &s(&tokens, "access_token")).await["active"],
        false
    );
    let browser = server.browser();
    server
        .login(&browser, Host::Demo, "student@demo.test")
        .await;
    let page = browser
        .get(authorize_url(
            &server,
            Host::Demo,
            &good_request(second, APP_REDIRECT),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    let enabled = write(
        &owner,
        &csrf,
        Method::POST,
        &server.url(
            Host::Demo,
            &format!("/api/admin/applications/{second}/enable"),
        ),
        None,
    )
    .await;
    assert_eq!(json(enabled).await["application"]["disabled"], false);
    flow(&server, "student@demo.test", second, None, "openid").await;

    // A public client has no secret to rotate.
    let rotate = write(
        &owner,
        &csrf,
        Method::POST,
        &server.url(
            Host::Demo,
            &format!("/api/admin/applications/{second}/rotate-secret"),
        ),
        None,
    )
    .await;
    assert_eq!(rotate.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn grant_pages_go_on_after_the_grant_they_stopped_at_is_revoked() {
    let server = Server::start().await;
    let (owner, csrf) = admin_browser(&server, Host::Demo, "owner@demo.test").await;
    for name in ["First", "Second", "Third"] {
        let created = json(
            create(
                &server,
                &owner,
                &csrf,
                json!({"name": name, "redirect_uris": [APP_REDIRECT], "scope": "openid", "client_type": "public"}),
            )
            .await,
        )
        .await;
        let client_id = s(&created["application"], "client_id");
        flow(&server, "student@demo.test", &client_id, None, "openid").await;
    }
    let page = |query: String| {
        let owner = owner.clone();
        let url = server.url(Host::Demo, &format!("/api/admin/grants?limit=1{query}"));
        async move { json(owner.get(url).send().await.unwrap()).await }
    };
    // Grants made within one second are ordered by id; find what each page holds.
    let first = page(String::new()).await;
    let second = page(format!("&after={}", s(&first, "next"))).await;
    let seen = [
        s(&first["grants"][0], "application_name"),
        s(&second["grants"][0], "application_name"),
    ];
    let remaining = ["First", "Second", "Third"]
        .into_iter()
        .find(|name| !seen.iter().any(|seen| seen == name))
        .unwrap();
    // Revoke the grant the cursor was taken from; the next page still follows it.
    let anchor = s(&second["grants"][0], "id");
    let revoked = write(
        &owner,
        &csrf,
        Method::POST,
        &server.url(Host::Demo, &format!("/api/admin/grants/{anchor}/revoke")),
        None,
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    let third = page(format!("&after={}", s(&second, "next"))).await;
    assert_eq!(
        third["grants"][0]["application_name"], remaining,
        "paging restarted"
    );
    let bad = owner
        .get(server.url(Host::Demo, "/api/admin/grants?after=not-a-cursor"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}
