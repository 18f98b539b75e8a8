//! Storage behaviour on a real SQLite file: round trips, and the single-use
//! operations under real concurrency.

#![expect(
    clippy::unwrap_used,
    reason = "a broken fixture should fail the test loudly"
)]

use chrono::{DateTime, Duration, Utc};
use oauth_core::application::{Application, ClientType, Registration};
use oauth_core::audience::{Audience, Role};
use oauth_core::ids::{ApplicationId, ClientId, GrantId, SchoolId, Subdomain, UserId};
use oauth_core::pkce::CodeChallenge;
use oauth_core::redirect_uri::RedirectUri;
use oauth_core::scope::ScopeSet;
use oauth_core::token::{Binding, CodeRecord, GrantRejection};
use oauth_core::{ServedAt, TokenHash};
use oauth_storage::{
    NewApplication, NewCode, NewSchool, NewToken, NewUser, Redemption, Store, StoreOptions,
};
use uuid::Uuid;

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    school: SchoolId,
    user: UserId,
    app: ApplicationId,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = Store::open(&url, &StoreOptions::default()).unwrap();
    let school = SchoolId::from_uuid(Uuid::new_v4());
    store
        .insert_school(
            NewSchool {
                id: school,
                subdomain: Subdomain::parse("demo").unwrap(),
                display_name: "Demo".into(),
            },
            now(),
        )
        .await
        .unwrap();
    let user = UserId::from_uuid(Uuid::new_v4());
    store
        .insert_user(
            NewUser {
                id: user,
                email: "Someone@Demo.Test".into(),
                display_name: "Someone".into(),
                password_hash: "not-a-real-hash".into(),
                is_staff: false,
            },
            now(),
        )
        .await
        .unwrap();
    store
        .upsert_membership(user, school, Role::Student, now())
        .await
        .unwrap();
    let app = ApplicationId::from_uuid(Uuid::new_v4());
    store
        .insert_application(
            NewApplication {
                app: Application {
                    id: app,
                    client_id: ClientId::parse("quiz").unwrap(),
                    name: "Quiz".into(),
                    registration: Registration::School(school),
                    audience: Audience::Member,
                    client_type: ClientType::Public,
                    redirect_uris: vec![
                        RedirectUri::register("http://127.0.0.1/cb").unwrap(),
                        RedirectUri::register("cursor://x/cb").unwrap(),
                    ],
                    scopes: ScopeSet::parse_config("openid courses:*").unwrap(),
                    disabled: false,
                },
                secret_hash: None,
                may_introspect: false,
                created_by: None,
            },
            now(),
        )
        .await
        .unwrap();
    Fixture {
        _dir: dir,
        store,
        school,
        user,
        app,
    }
}

fn token(n: u8) -> NewToken {
    NewToken {
        hash: TokenHash::of(&format!("token-{n}")),
        expires_at: now() + Duration::hours(2),
    }
}

async fn issue_code(f: &Fixture, code: &str) {
    f.store
        .approve_and_insert_code(
            NewCode {
                hash: TokenHash::of(code),
                grant_id: GrantId::from_uuid(Uuid::new_v4()),
                user_id: f.user,
                record: CodeRecord {
                    application_id: f.app,
                    binding: Binding::new(ServedAt::School(f.school), f.school),
                    redirect_uri: "http://127.0.0.1:5000/cb".into(),
                    challenge: CodeChallenge::from_stored(CHALLENGE).unwrap(),
                    expires_at: now() + Duration::minutes(5),
                },
                scopes: ScopeSet::parse_request("openid courses:read").unwrap(),
                nonce: None,
                auth_time: now(),
            },
            now(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn records_round_trip() {
    let f = fixture().await;
    let user = f
        .store
        .find_user_by_email("someone@demo.TEST")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.id, f.user);
    assert_eq!(
        f.store.find_role(f.user, f.school).await.unwrap(),
        Some(Role::Student)
    );
    f.store
        .upsert_membership(f.user, f.school, Role::Manager, now())
        .await
        .unwrap();
    assert_eq!(
        f.store.find_role(f.user, f.school).await.unwrap(),
        Some(Role::Manager)
    );
    let stored = f
        .store
        .find_application(&ClientId::parse("quiz").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.app.id, f.app);
    assert_eq!(stored.app.redirect_uris.len(), 2);
    assert_eq!(
        stored.app.scopes,
        ScopeSet::parse_request("openid courses:read courses:write").unwrap()
    );
    f.store
        .insert_school_domain(f.school, "Demo.Example")
        .await
        .unwrap();
    assert_eq!(
        f.store
            .find_school_by_domain("demo.example")
            .await
            .unwrap()
            .map(|s| s.id),
        Some(f.school)
    );
    let debug = format!("{user:?}");
    assert!(!debug.contains("not-a-real-hash"), "{debug}");
}

#[tokio::test]
async fn a_code_is_redeemed_once_and_replay_revokes_its_tokens() {
    let f = fixture().await;
    issue_code(&f, "code-1").await;
    let scopes = || Ok(ScopeSet::parse_request("openid").unwrap());
    let first = f
        .store
        .redeem_code(
            TokenHash::of("code-1"),
            token(1),
            token(2),
            now(),
            move |_| scopes(),
        )
        .await
        .unwrap();
    assert!(matches!(first, Redemption::Issued(_)));
    assert!(f
        .store
        .is_access_token_active(TokenHash::of("token-1"), now())
        .await
        .unwrap());
    let second = f
        .store
        .redeem_code(
            TokenHash::of("code-1"),
            token(3),
            token(4),
            now(),
            move |_| scopes(),
        )
        .await
        .unwrap();
    assert!(matches!(
        second,
        Redemption::Rejected(GrantRejection::CodeReused)
    ));
    assert!(!f
        .store
        .is_access_token_active(TokenHash::of("token-1"), now())
        .await
        .unwrap());
    let refresh = f
        .store
        .find_refresh_token(TokenHash::of("token-2"))
        .await
        .unwrap()
        .unwrap();
    assert!(refresh.revoked);
}

#[tokio::test]
async fn a_failed_check_still_spends_the_code() {
    let f = fixture().await;
    issue_code(&f, "code-2").await;
    let failed = f
        .store
        .redeem_code(TokenHash::of("code-2"), token(1), token(2), now(), |_| {
            Err(GrantRejection::VerifierMismatch)
        })
        .await
        .unwrap();
    assert!(matches!(
        failed,
        Redemption::Rejected(GrantRejection::VerifierMismatch)
    ));
    let retry = f
        .store
        .redeem_code(TokenHash::of("code-2"), token(3), token(4), now(), |c| {
            Ok(c.scopes.clone())
        })
        .await
        .unwrap();
    assert!(matches!(
        retry,
        Redemption::Rejected(GrantRejection::CodeReused)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_sixteen_racing_redemptions_exactly_one_wins() {
    let f = fixture().await;
    issue_code(&f, "code-race").await;
    let mut handles = Vec::new();
    for n in 0..16u8 {
        let store = f.store.clone();
        handles.push(tokio::spawn(async move {
            store
                .redeem_code(
                    TokenHash::of("code-race"),
                    token(100 + 2 * n),
                    token(101 + 2 * n),
                    now(),
                    |c| Ok(c.scopes.clone()),
                )
                .await
                .unwrap()
        }));
    }
    let mut issued = 0;
    for handle in handles {
        if matches!(handle.await.unwrap(), Redemption::Issued(_)) {
            issued += 1;
        }
    }
    assert_eq!(issued, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_sixteen_racing_rotations_exactly_one_wins_and_the_family_dies() {
    let f = fixture().await;
    issue_code(&f, "code-3").await;
    let first = f
        .store
        .redeem_code(TokenHash::of("code-3"), token(1), token(2), now(), |c| {
            Ok(c.scopes.clone())
        })
        .await
        .unwrap();
    assert!(matches!(first, Redemption::Issued(_)));
    let mut handles = Vec::new();
    for n in 0..16u8 {
        let store = f.store.clone();
        handles.push(tokio::spawn(async move {
            store
                .rotate_refresh_token(
                    TokenHash::of("token-2"),
                    token(10 + 2 * n),
                    token(11 + 2 * n),
                    now(),
                    |r| oauth_core::token::check_refresh_state(r, now()).map(|()| r.scopes.clone()),
                )
                .await
                .unwrap()
        }));
    }
    let mut issued = 0;
    for handle in handles {
        match handle.await.unwrap() {
            Redemption::Issued(_) => issued += 1,
            Redemption::Rejected(rejection) => {
                assert_eq!(rejection, GrantRejection::RefreshTokenReused)
            }
        }
    }
    assert_eq!(issued, 1);
    // The losers were reuse, so every token of the grant is revoked, the
    // winner's new pair included.
    for n in 0..16u8 {
        assert!(!f
            .store
            .is_access_token_active(TokenHash::of(&format!("token-{}", 10 + 2 * n)), now())
            .await
            .unwrap());
    }
}
