//! The resource-server guard against tokens issued by the real server, reading
//! the same database as a service of the platform would.

#![expect(
    clippy::unwrap_used,
    reason = "a failed step should fail the test loudly"
)]

mod common;

use common::*;
use oauth_core::access::AccessError;
use oauth_core::{SchoolId, Scope};
use oauth_guard::{Guard, GuardError};
use oauth_storage::{Store, StoreOptions};

async fn token_for(
    server: &Server,
    host: Host,
    user: &str,
    app: &str,
    scope: &str,
) -> (String, SchoolId) {
    let browser = server.browser();
    server.login(&browser, host, user).await;
    let params = with(
        good_request(app, "http://127.0.0.1/callback"),
        "scope",
        scope,
    );
    let code = server
        .approve(&browser, &authorize_url(server, host, &params))
        .await
        .get("code")
        .unwrap();
    let response =
        public_token_request(server, host, app, &code, "http://127.0.0.1/callback").await;
    let body = json(response).await;
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["school_id"].as_str().unwrap().parse().unwrap(),
    )
}

fn access_error(result: Result<oauth_core::access::AccessContext, GuardError>) -> AccessError {
    match result {
        Err(GuardError::Access(e)) => e,
        other => panic!("expected an access error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_guard_admits_a_token_only_at_its_school_and_for_its_scopes() {
    let server = Server::start().await;
    let (token, demo) = token_for(
        &server,
        Host::Demo,
        "student@demo.test",
        "demo-quiz",
        "openid courses:read",
    )
    .await;
    let (other_token, other) = token_for(
        &server,
        Host::Other,
        "multi@demo.test",
        "claude-code",
        "openid",
    )
    .await;
    assert_ne!(demo, other);

    let guard = Guard::new(Store::open(server.database_url(), &StoreOptions::default()).unwrap());
    let header = format!("Bearer {token}");
    let access = guard.check(Some(&header), demo).await.unwrap();
    assert_eq!(access.school_id, demo);
    assert_eq!(access.client_id.as_str(), "demo-quiz");
    access
        .require_scope(Scope::parse("courses:read").unwrap())
        .unwrap();

    let missing = access
        .require_scope(Scope::parse("courses:write").unwrap())
        .unwrap_err();
    assert_eq!(missing.status(), 403);
    assert!(missing
        .www_authenticate("api")
        .contains(r#"error="insufficient_scope""#));
    assert!(missing
        .www_authenticate("api")
        .contains(r#"scope="courses:write""#));

    // The same token at another school is no token at all.
    assert_eq!(
        access_error(guard.check(Some(&header), other).await),
        AccessError::InvalidToken
    );
    assert_eq!(
        access_error(
            guard
                .check(Some(&format!("Bearer {other_token}")), demo)
                .await
        ),
        AccessError::InvalidToken
    );
    assert_eq!(
        access_error(guard.check(Some("Bearer lwc_at_not-a-token"), demo).await),
        AccessError::InvalidToken
    );

    let missing_header = access_error(guard.check(None, demo).await);
    assert_eq!(missing_header.status(), 401);
    assert_eq!(
        missing_header.www_authenticate("api"),
        r#"Bearer realm="api""#
    );
    assert_eq!(
        access_error(guard.check(Some("Basic abc"), demo).await).status(),
        400
    );
}
