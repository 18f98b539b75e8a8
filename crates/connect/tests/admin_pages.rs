//! The administration pages over real HTTP, driven like a browser without
//! JavaScript: forms, CSRF tokens, redirects and the one-time secret.

#![expect(
    clippy::unwrap_used,
    reason = "helpers outside the tests fail loudly on a broken fixture"
)]

mod common;

use common::*;
use reqwest::{Client, StatusCode};

async fn page(browser: &Client, url: &str) -> (StatusCode, String) {
    let response = browser.get(url).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

fn csrf_of(html: &str) -> String {
    value_of(&hidden_inputs(html), "csrf_token").expect("a CSRF field")
}

#[tokio::test]
async fn an_owner_creates_an_app_sees_the_secret_once_and_revokes_a_grant() {
    let server = Server::start().await;
    let browser = server.browser();

    // Not logged in: sent to the login form, and back here afterwards.
    let response = browser
        .get(server.url(Host::Demo, "/admin/applications"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        "/oauth/login?return_to=%2Fadmin%2Fapplications"
    );
    server.login(&browser, Host::Demo, "owner@demo.test").await;

    let (status, form) = page(&browser, &server.url(Host::Demo, "/admin/applications/new")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        form.contains("<legend>Courses</legend>"),
        "scopes are grouped by family"
    );
    assert!(form.contains(r#"name="audience" value="org_admin""#));
    let csrf = csrf_of(&form);

    // A rule violation re-shows the form with the core's wording and the values.
    let refused = browser
        .post(server.url(Host::Demo, "/admin/applications"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "Grade Sync"),
            ("redirect_uris", "http://grades.example/cb"),
            ("audience", "member"),
            ("client_type", "confidential"),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("grades.example") && refused.contains("is not allowed"));
    assert!(refused.contains(r#"role="alert""#));
    assert!(refused.contains(r#"value="Grade Sync""#));

    // Without the CSRF token nothing is created.
    let forged = browser
        .post(server.url(Host::Demo, "/admin/applications"))
        .form(&[
            ("name", "Forged"),
            ("redirect_uris", "https://forged.example/cb"),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    let created = browser
        .post(server.url(Host::Demo, "/admin/applications"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "Grade Sync"),
            (
                "redirect_uris",
                "https://grades.example/cb\nhttp://127.0.0.1:9100/callback",
            ),
            ("audience", "org_admin"),
            ("client_type", "confidential"),
            ("scope", "openid"),
            ("scope", "courses:read"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::OK);
    assert_eq!(created.headers()["cache-control"], "no-store");
    let created = created.text().await.unwrap();
    let secret = created
        .split("lwc_cs_")
        .nth(1)
        .map(|rest| format!("lwc_cs_{}", rest.split('<').next().unwrap()))
        .expect("the secret is shown");
    let client_id = created
        .split(r#"<code id="client-id">"#)
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();

    // Never again: not on the list, not on the application's page.
    for path in [
        "/admin/applications".to_owned(),
        format!("/admin/applications/{client_id}"),
    ] {
        let (status, html) = page(&browser, &server.url(Host::Demo, &path)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Grade Sync"));
        assert!(!html.contains(&secret), "{path} shows the secret");
    }

    // The owner authorizes the new app (org_admin), then revokes that grant
    // from the grants page.
    let redirect = server
        .approve(
            &browser,
            &authorize_url(
                &server,
                Host::Demo,
                &good_request(&client_id, "http://127.0.0.1:9100/callback"),
            ),
        )
        .await;
    assert!(redirect.get("code").is_some());
    let (_, grants) = page(&browser, &server.url(Host::Demo, "/admin/grants")).await;
    assert!(grants.contains("Grade Sync"));
    let grant_id = grants
        .split(r#"action="/admin/grants/"#)
        .find(|chunk| chunk.contains("Revoke Grade Sync"))
        .map(|chunk| chunk.split('/').next().unwrap().to_owned())
        .expect("a revoke button for the new grant");
    let revoked = browser
        .post(server.url(Host::Demo, &format!("/admin/grants/{grant_id}/revoke")))
        .form(&[("csrf_token", csrf_of(&grants).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    let (_, after) = page(
        &browser,
        &server.url(Host::Demo, "/admin/grants?notice=revoked"),
    )
    .await;
    assert!(after.contains("were revoked"));
    assert!(!after.contains(&grant_id));

    // Delete needs the confirmation box.
    let app_page = page(
        &browser,
        &server.url(Host::Demo, &format!("/admin/applications/{client_id}")),
    )
    .await
    .1;
    let delete_url = server.url(
        Host::Demo,
        &format!("/admin/applications/{client_id}/delete"),
    );
    let unconfirmed = browser
        .post(&delete_url)
        .form(&[("csrf_token", csrf_of(&app_page).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(unconfirmed.status(), StatusCode::BAD_REQUEST);
    let deleted = browser
        .post(&delete_url)
        .form(&[
            ("csrf_token", csrf_of(&app_page).as_str()),
            ("confirm", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    let (status, _) = page(
        &browser,
        &server.url(Host::Demo, &format!("/admin/applications/{client_id}")),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, audit) = page(&browser, &server.url(Host::Demo, "/admin/audit")).await;
    assert!(audit.contains("application.deleted"));
    assert!(!audit.contains(&secret));
}

#[tokio::test]
async fn students_and_admins_of_other_schools_are_refused() {
    let server = Server::start().await;
    for email in ["student@demo.test", "multi@demo.test"] {
        let browser = server.browser();
        server.login(&browser, Host::Demo, email).await;
        for path in [
            "/admin/applications",
            "/admin/applications/new",
            "/admin/applications/demo-dashboard",
            "/admin/grants",
            "/admin/audit",
        ] {
            let (status, _) = page(&browser, &server.url(Host::Demo, path)).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{email} {path}");
        }
        let post = browser
            .post(server.url(Host::Demo, "/admin/applications/demo-dashboard/disable"))
            .form(&[("csrf_token", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(post.status(), StatusCode::FORBIDDEN, "{email}");
    }
    // The platform host has no administration pages.
    let browser = server.browser();
    let (status, _) = page(&browser, &server.url(Host::Platform, "/admin/applications")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // An owner of demo cannot reach another school's or the platform's apps.
    server.login(&browser, Host::Demo, "owner@demo.test").await;
    let (status, _) = page(
        &browser,
        &server.url(Host::Demo, "/admin/applications/claude-code"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
