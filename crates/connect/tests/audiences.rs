//! Audiences, contextual schools and the school picker, over real HTTP: a
//! table of who may authorize which application at which host, and the
//! tampering a browser could try.

#![expect(
    clippy::unwrap_used,
    reason = "a failed step should fail the test loudly"
)]

mod common;

use common::*;
use reqwest::{Client, StatusCode};

const CALLBACK: &str = "http://127.0.0.1/callback";

/// What happened to one authorization attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// Tokens were issued for the school with this subdomain.
    Granted(&'static str),
    /// The audience gate refused: a page, and `access_denied` for the client.
    Denied,
    /// The client is not usable at this host: an error page, no redirect.
    UnknownClient,
}

use Outcome::{Denied, Granted, UnknownClient};

const USERS: [&str; 6] = [
    "owner@demo.test",
    "student@demo.test",
    "multi@demo.test",
    "ta@demo.test",
    "nobody@demo.test",
    "staff@demo.test",
];

/// Adds the users and applications the table needs to the demo.
fn prepare(server: &Server) {
    for (email, name) in [
        ("ta@demo.test", "Tess TA"),
        ("nobody@demo.test", "Nora Nobody"),
        ("staff@demo.test", "Stan Staff"),
    ] {
        let output = server.cli_with_stdin(&["user-create", email, name], &format!("{PASSWORD}\n"));
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let run = |args: &[&str]| {
        let output = server.cli(args);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    run(&["member-set", "ta@demo.test", "demo", "ta"]);
    run(&["user-set-staff", "staff@demo.test", "true"]);
    run(&[
        "app-register",
        "--school",
        "demo",
        "--client-id",
        "school-admin-app",
        "--name",
        "School Admin App",
        "--audience",
        "org-admin",
        "--scopes",
        "openid courses:* admin:read",
        "--redirect-uri",
        CALLBACK,
    ]);
    run(&[
        "app-register",
        "--platform",
        "--client-id",
        "platform-member-app",
        "--name",
        "Member App",
        "--audience",
        "member",
        "--scopes",
        "openid profile",
        "--redirect-uri",
        CALLBACK,
    ]);
    run(&[
        "app-register",
        "--platform",
        "--client-id",
        "staff-tool",
        "--name",
        "Staff Tool",
        "--audience",
        "staff",
        "--scopes",
        "openid admin:read",
        "--redirect-uri",
        CALLBACK,
    ]);
}

/// The picker's choice for a school name, when a picker is shown.
fn pick_value(html: &str, school_name: &str) -> Option<String> {
    html.split("name=\"school_id\" value=\"")
        .skip(1)
        .find_map(|tail| {
            let (value, rest) = tail.split_once('"')?;
            rest.split('<')
                .next()
                .unwrap_or_default()
                .contains(school_name)
                .then(|| value.to_owned())
        })
}

/// How many schools a picker page offers (0 on other pages).
fn picker_options(html: &str) -> usize {
    html.matches("name=\"school_id\" value=\"").count()
}

/// A page of the flow: the HTML of a consent or picker page, or the outcome a
/// refusal page stands for.
/// A redirect with a code (consent given before) comes back as `Ok(Err(..))`.
async fn classify(response: reqwest::Response) -> Result<Result<String, Redirect>, Outcome> {
    match response.status() {
        StatusCode::OK => Ok(Ok(response.text().await.unwrap())),
        StatusCode::FOUND => Ok(Err(Redirect::from_response(&response))),
        StatusCode::FORBIDDEN => {
            let html = response.text().await.unwrap();
            assert!(
                html.contains("error=access_denied"),
                "a denied page links back with access_denied"
            );
            assert!(html.contains("state=state-123"));
            Err(Denied)
        }
        StatusCode::BAD_REQUEST => {
            assert!(response.headers().get("location").is_none());
            Err(UnknownClient)
        }
        other => panic!("unexpected status {other}"),
    }
}

/// One attempt by `user` to authorize `app` at `host`; at a picker, picks
/// `pick` (a school's display name).
async fn attempt(
    server: &Server,
    app: &str,
    user: &str,
    host: Host,
    pick: Option<&str>,
) -> Outcome {
    let browser = server.browser();
    server.login(&browser, host, user).await;
    let url = authorize_url(
        server,
        host,
        &with(good_request(app, CALLBACK), "scope", "openid"),
    );
    let mut step = match classify(browser.get(&url).send().await.unwrap()).await {
        Ok(step) => step,
        Err(outcome) => return outcome,
    };
    if let Ok(html) = &step {
        // The named school when offered; otherwise the only one offered.
        let only = || {
            (picker_options(html) == 1)
                .then(|| pick_value(html, "School"))
                .flatten()
        };
        let choice = pick.and_then(|name| pick_value(html, name)).or_else(only);
        if let Some(value) = choice {
            let mut params: Vec<(String, String)> = hidden_inputs(html);
            params.push(("school_id".into(), value));
            let query = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&params)
                .finish();
            let response = browser
                .get(server.url(host, &format!("/oauth/authorize?{query}")))
                .send()
                .await
                .unwrap();
            step = match classify(response).await {
                Ok(step) => step,
                Err(outcome) => return outcome,
            };
        }
    }
    let redirect = match step {
        Err(redirect) => redirect,
        Ok(html) => {
            assert!(
                pick_value(&html, "School").is_none(),
                "an unexpected picker for {app} / {user} at {host:?}"
            );
            server
                .submit_consent(
                    &browser,
                    &server.issuer(host),
                    hidden_inputs(&html),
                    "approve",
                )
                .await
        }
    };
    assert_eq!(redirect.get("iss"), Some(server.issuer(host)));
    let code = redirect.get("code").unwrap();
    let response = public_token_request(server, host, app, &code, CALLBACK).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json(response).await;
    match body["school_subdomain"].as_str().unwrap() {
        "demo" => Granted("demo"),
        "other" => Granted("other"),
        other => panic!("tokens for an unexpected school {other}"),
    }
}

/// Runs one application's rows: for each host, the outcome per user in the
/// order of [`USERS`].
async fn check_table(app: &str, rows: &[(Host, Option<&str>, [Outcome; 6])]) {
    let server = Server::start().await;
    prepare(&server);
    for (host, pick, expected) in rows {
        for (user, expected) in USERS.iter().zip(expected) {
            let outcome = attempt(&server, app, user, *host, *pick).await;
            assert_eq!(&outcome, expected, "{app} / {user} at {host:?}");
        }
    }
}

#[tokio::test]
async fn school_member_app() {
    let u = UnknownClient;
    check_table(
        "demo-quiz",
        &[
            (
                Host::Demo,
                None,
                [
                    Granted("demo"),
                    Granted("demo"),
                    Granted("demo"),
                    Granted("demo"),
                    Denied,
                    Denied,
                ],
            ),
            (
                Host::Other,
                None,
                [
                    u.clone(),
                    u.clone(),
                    u.clone(),
                    u.clone(),
                    u.clone(),
                    u.clone(),
                ],
            ),
            (
                Host::Platform,
                None,
                [u.clone(), u.clone(), u.clone(), u.clone(), u.clone(), u],
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn school_org_admin_app() {
    let u = UnknownClient;
    check_table(
        "school-admin-app",
        &[
            (
                Host::DemoSubdomain,
                None,
                [Granted("demo"), Denied, Denied, Denied, Denied, Denied],
            ),
            (
                Host::Other,
                None,
                [
                    u.clone(),
                    u.clone(),
                    u.clone(),
                    u.clone(),
                    u.clone(),
                    u.clone(),
                ],
            ),
            (
                Host::Platform,
                None,
                [u.clone(), u.clone(), u.clone(), u.clone(), u.clone(), u],
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn platform_org_admin_app() {
    check_table(
        "claude-code",
        &[
            (
                Host::Demo,
                None,
                [Granted("demo"), Denied, Denied, Denied, Denied, Denied],
            ),
            (
                Host::Other,
                None,
                [Denied, Denied, Granted("other"), Denied, Denied, Denied],
            ),
            // The picker offers the eligible schools (here one each); none is a refusal.
            (
                Host::Platform,
                None,
                [
                    Granted("demo"),
                    Denied,
                    Granted("other"),
                    Denied,
                    Denied,
                    Denied,
                ],
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn platform_member_app() {
    check_table(
        "platform-member-app",
        &[
            (
                Host::Demo,
                None,
                [
                    Granted("demo"),
                    Granted("demo"),
                    Granted("demo"),
                    Granted("demo"),
                    Denied,
                    Denied,
                ],
            ),
            (
                Host::Other,
                None,
                [Denied, Denied, Granted("other"), Denied, Denied, Denied],
            ),
            // multi@demo.test belongs to both schools and picks Other School.
            (
                Host::Platform,
                Some("Other School"),
                [
                    Granted("demo"),
                    Granted("demo"),
                    Granted("other"),
                    Granted("demo"),
                    Denied,
                    Denied,
                ],
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn platform_staff_app() {
    check_table(
        "staff-tool",
        &[
            (
                Host::Demo,
                None,
                [Denied, Denied, Denied, Denied, Denied, Granted("demo")],
            ),
            (
                Host::Other,
                None,
                [Denied, Denied, Denied, Denied, Denied, Granted("other")],
            ),
            // Staff pick among the schools they belong to; this one belongs to none.
            (
                Host::Platform,
                None,
                [Denied, Denied, Denied, Denied, Denied, Denied],
            ),
        ],
    )
    .await;
}

/// The school id of school demo, read from a token response.
async fn demo_school_id(server: &Server) -> String {
    let code = dashboard_code(server, Host::Demo).await;
    let response = dashboard_token_request(
        server,
        Host::Demo,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", DASHBOARD_REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    json(response).await["school_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn multi_at_platform(server: &Server) -> Client {
    let browser = server.browser();
    server
        .login(&browser, Host::Platform, "multi@demo.test")
        .await;
    browser
}

#[tokio::test]
async fn a_tampered_pick_is_refused_in_the_url_and_in_the_consent_form() {
    let server = Server::start().await;
    let demo_id = demo_school_id(&server).await;
    let browser = multi_at_platform(&server).await;
    let base = with(
        good_request("claude-code", CALLBACK),
        "scope",
        "openid courses:read",
    );

    // multi@demo.test is only a student of demo: naming demo in the URL fails.
    let tampered = with(base.clone(), "school_id", &demo_id);
    let response = browser
        .get(authorize_url(&server, Host::Platform, &tampered))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("error=access_denied"));

    // The picker offers other alone; its consent page, edited to say demo.
    let response = browser
        .get(authorize_url(&server, Host::Platform, &base))
        .send()
        .await
        .unwrap();
    let picker = response.text().await.unwrap();
    assert_eq!(picker_options(&picker), 1);
    assert!(
        pick_value(&picker, "Demo School").is_none(),
        "demo is not offered to a student of demo"
    );
    let other_id = pick_value(&picker, "Other School").unwrap();
    let picked = with(base.clone(), "school_id", &other_id);
    let response = browser
        .get(authorize_url(&server, Host::Platform, &picked))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut inputs = hidden_inputs(&response.text().await.unwrap());
    assert!(
        inputs.iter().any(|(k, _)| k == "school_id"),
        "the consent form carries the picked school"
    );
    for (name, value) in &mut inputs {
        if name == "school_id" {
            *value = demo_id.clone();
        }
    }
    inputs.push(("decision".into(), "approve".into()));
    let response = browser
        .post(server.url(Host::Platform, "/oauth/consent"))
        .form(&inputs)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response.headers().get("location").is_none(),
        "no code for a tampered school"
    );
}

#[tokio::test]
async fn a_pick_means_nothing_at_a_school_host() {
    let server = Server::start().await;
    let demo_id = demo_school_id(&server).await;
    // multi@demo.test manages other; at other's host a pick of demo is ignored.
    let browser = server.browser();
    server.login(&browser, Host::Other, "multi@demo.test").await;
    let params = with(
        with(good_request("claude-code", CALLBACK), "scope", "openid"),
        "school_id",
        &demo_id,
    );
    let redirect = server
        .approve(&browser, &authorize_url(&server, Host::Other, &params))
        .await;
    let code = redirect.get("code").unwrap();
    let response = public_token_request(&server, Host::Other, "claude-code", &code, CALLBACK).await;
    assert_eq!(json(response).await["school_subdomain"], "other");
}

#[tokio::test]
async fn a_drifted_platform_scope_list_never_yields_admin_scopes() {
    let server = Server::start().await;
    // Someone edits claude-code's stored scopes in the database directly.
    server.execute_sql("UPDATE applications SET scopes = 'openid courses:read admin:read admin:write' WHERE client_id = 'claude-code'");
    let browser = server.browser();
    server.login(&browser, Host::Demo, "owner@demo.test").await;
    // Asking for admin:read is refused at authorization...
    let asked = with(
        good_request("claude-code", CALLBACK),
        "scope",
        "openid admin:read",
    );
    let response = browser
        .get(authorize_url(&server, Host::Demo, &asked))
        .send()
        .await
        .unwrap();
    assert_eq!(
        Redirect::from_response(&response).get("error").as_deref(),
        Some("invalid_scope")
    );
    // ...and the default set is clipped to the ceiling.
    let redirect = server
        .approve(
            &browser,
            &authorize_url(&server, Host::Demo, &good_request("claude-code", CALLBACK)),
        )
        .await;
    let code = redirect.get("code").unwrap();
    let response = public_token_request(&server, Host::Demo, "claude-code", &code, CALLBACK).await;
    assert_eq!(json(response).await["scope"], "openid courses:read");
}
