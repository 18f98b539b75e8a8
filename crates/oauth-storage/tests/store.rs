//! Storage behaviour on a real database: round trips, and the single-use
//! operations under real concurrency.
//!
//! Each test gets a fresh database from `oauth_storage::scratch`: a SQLite file
//! by default, or a new PostgreSQL database when `LOOPWISE_TEST_POSTGRES_URL`
//! names a server (`scripts/with-postgres.sh` sets it), so the same bodies
//! check both backends.

#![expect(
    clippy::unwrap_used,
    reason = "a broken fixture should fail the test loudly"
)]

use chrono::{DateTime, Duration, Utc};
use oauth_core::application::{Application, ClientType, Registration};
use oauth_core::audience::{Audience, Role};
use oauth_core::audit::Actor;
use oauth_core::ids::{ApplicationId, ClientId, GrantId, SchoolId, Subdomain, UserId};
use oauth_core::pkce::CodeChallenge;
use oauth_core::redirect_uri::RedirectUri;
use oauth_core::scope::ScopeSet;
use oauth_core::token::{Binding, CodeRecord, GrantRejection};
use oauth_core::{ServedAt, TokenHash};
use oauth_storage::scratch::ScratchDatabase;
use oauth_storage::{
    ApplicationSettings, AuditMeta, NewApplication, NewCode, NewSchool, NewToken, NewUser,
    Redemption, Store, StoreOptions,
};
use uuid::Uuid;

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

struct Fixture {
    store: Store,
    school: SchoolId,
    user: UserId,
    app: ApplicationId,
    /// Declared last so that the pool closes before the database is dropped.
    _database: Option<ScratchDatabase>,
}

async fn fixture() -> Fixture {
    let database = ScratchDatabase::new().unwrap();
    let store = Store::open(database.url(), &StoreOptions::default()).unwrap();
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
                self_registered: false,
            },
            now(),
        )
        .await
        .unwrap();
    Fixture {
        _database: Some(database),
        store,
        school,
        user,
        app,
    }
}

fn meta() -> AuditMeta {
    AuditMeta {
        actor: Actor::Client(ClientId::parse("quiz").unwrap()),
        client_ip: None,
    }
}

fn token(n: u8) -> NewToken {
    NewToken {
        hash: TokenHash::of(&format!("token-{n}")),
        expires_at: now() + Duration::hours(2),
    }
}

fn new_code(f: &Fixture, code: &str, scopes: &str) -> NewCode {
    NewCode {
        hash: TokenHash::of(code),
        grant_id: GrantId::from_uuid(Uuid::new_v4()),
        user_id: f.user,
        record: CodeRecord {
            application_id: f.app,
            binding: Binding::new(ServedAt::School(f.school), f.school),
            redirect_uri: "http://127.0.0.1:5000/cb".into(),
            challenge: CodeChallenge::from_stored(CHALLENGE).unwrap(),
            issuer: None,
            expires_at: now() + Duration::minutes(5),
        },
        scopes: ScopeSet::parse_request(scopes).unwrap(),
        nonce: None,
        resource: None,
        auth_time: now(),
    }
}

fn admin_meta() -> AuditMeta {
    AuditMeta {
        actor: Actor::Operator,
        client_ip: None,
    }
}

#[tokio::test]
async fn consent_to_an_application_changed_meanwhile_writes_nothing() {
    let f = fixture().await;
    let quiz = ClientId::parse("quiz").unwrap();
    // The audience the user was checked against is no longer the app's.
    let stale = f
        .store
        .approve_and_insert_code(
            new_code(&f, "c1", "openid"),
            quiz.clone(),
            Audience::OrgAdmin,
            meta(),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(stale, None);
    assert!(f
        .store
        .find_code(TokenHash::of("c1"))
        .await
        .unwrap()
        .is_none());

    // Scopes the application lost are dropped from the grant and the code.
    f.store
        .update_school_application(
            f.school,
            f.app,
            ApplicationSettings {
                name: "Quiz".into(),
                redirect_uris: vec![RedirectUri::register("http://127.0.0.1/cb").unwrap()],
                scopes: ScopeSet::parse_config("openid").unwrap(),
                audience: Audience::Member,
                may_introspect: false,
            },
            true,
            admin_meta(),
            now(),
        )
        .await
        .unwrap()
        .expect("the school's own application");
    let granted = f
        .store
        .approve_and_insert_code(
            new_code(&f, "c2", "openid courses:read"),
            quiz.clone(),
            Audience::Member,
            meta(),
            now(),
        )
        .await
        .unwrap();
    assert!(granted.is_some());
    let stored = f
        .store
        .find_code(TokenHash::of("c2"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.scopes, ScopeSet::parse_request("openid").unwrap());

    // Disabled: nothing is granted any more.
    f.store
        .set_school_application_disabled(f.school, f.app, true, admin_meta(), now())
        .await
        .unwrap()
        .expect("the school's own application");
    let refused = f
        .store
        .approve_and_insert_code(
            new_code(&f, "c3", "openid"),
            quiz,
            Audience::Member,
            meta(),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(refused, None);
    assert!(f
        .store
        .find_code(TokenHash::of("c3"))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn school_application_operations_never_reach_another_school() {
    let f = fixture().await;
    let elsewhere = SchoolId::from_uuid(Uuid::new_v4());
    f.store
        .insert_school(
            NewSchool {
                id: elsewhere,
                subdomain: Subdomain::parse("elsewhere").unwrap(),
                display_name: "Elsewhere".into(),
            },
            now(),
        )
        .await
        .unwrap();
    let grant = issue_code(&f, "held").await;
    let settings = ApplicationSettings {
        name: "Taken over".into(),
        redirect_uris: vec![RedirectUri::register("https://evil.example/cb").unwrap()],
        scopes: ScopeSet::parse_config("openid").unwrap(),
        audience: Audience::Member,
        may_introspect: true,
    };
    let store = &f.store;
    assert_eq!(
        store
            .update_school_application(elsewhere, f.app, settings, true, admin_meta(), now())
            .await
            .unwrap(),
        None
    );
    assert!(!store
        .replace_school_application_secret(
            elsewhere,
            f.app,
            TokenHash::of("x"),
            admin_meta(),
            now()
        )
        .await
        .unwrap());
    assert_eq!(
        store
            .set_school_application_disabled(elsewhere, f.app, true, admin_meta(), now())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .delete_school_application(elsewhere, f.app, admin_meta(), now())
            .await
            .unwrap(),
        None
    );
    assert!(store
        .list_school_applications(elsewhere, None, 50)
        .await
        .unwrap()
        .is_empty());
    let app = store
        .find_application(&ClientId::parse("quiz").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.app.name, "Quiz");
    assert!(!app.app.disabled && !app.may_introspect);
    assert_eq!(
        store
            .list_grants(None, f.school, None, None, 10)
            .await
            .unwrap()
            .iter()
            .map(|g| g.id)
            .collect::<Vec<_>>(),
        vec![grant]
    );

    // At its own school, deletion takes the grant and the code with it.
    assert_eq!(
        store
            .delete_school_application(f.school, f.app, admin_meta(), now())
            .await
            .unwrap(),
        Some(1)
    );
    assert!(store
        .find_code(TokenHash::of("held"))
        .await
        .unwrap()
        .is_none());
}

async fn issue_code(f: &Fixture, code: &str) -> GrantId {
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
                    issuer: None,
                    expires_at: now() + Duration::minutes(5),
                },
                scopes: ScopeSet::parse_request("openid courses:read").unwrap(),
                nonce: None,
                resource: None,
                auth_time: now(),
            },
            ClientId::parse("quiz").unwrap(),
            Audience::Member,
            meta(),
            now(),
        )
        .await
        .unwrap()
        .expect("the application is enabled and unchanged")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_first_approvals_share_one_grant() {
    let f = fixture().await;
    let mut handles = Vec::new();
    for n in 0..8 {
        let (store, school, user, app) = (f.store.clone(), f.school, f.user, f.app);
        handles.push(tokio::spawn(async move {
            let fixture = Fixture {
                store,
                school,
                user,
                app,
                _database: None,
            };
            issue_code(&fixture, &format!("first-approval-{n}")).await
        }));
    }
    let mut grants = Vec::new();
    for handle in handles {
        grants.push(handle.await.unwrap());
    }
    assert!(grants.iter().all(|g| *g == grants[0]), "{grants:?}");
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
            (token(1), token(2)),
            meta(),
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
            (token(3), token(4)),
            meta(),
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
        .redeem_code(
            TokenHash::of("code-2"),
            (token(1), token(2)),
            meta(),
            now(),
            |_| Err(GrantRejection::VerifierMismatch),
        )
        .await
        .unwrap();
    assert!(matches!(
        failed,
        Redemption::Rejected(GrantRejection::VerifierMismatch)
    ));
    let retry = f
        .store
        .redeem_code(
            TokenHash::of("code-2"),
            (token(3), token(4)),
            meta(),
            now(),
            |c| Ok(c.scopes.clone()),
        )
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
                    (token(100 + 2 * n), token(101 + 2 * n)),
                    meta(),
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
        .redeem_code(
            TokenHash::of("code-3"),
            (token(1), token(2)),
            meta(),
            now(),
            |c| Ok(c.scopes.clone()),
        )
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
                    (token(10 + 2 * n), token(11 + 2 * n)),
                    meta(),
                    now(),
                    |r| {
                        oauth_core::token::check_refresh_state(r, now(), Duration::zero())
                            .map(|how| (r.scopes.clone(), how))
                    },
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

fn refresh_with(
    store: &Store,
    presented: &str,
    issued: u32,
    at: DateTime<Utc>,
    window: Duration,
) -> impl std::future::Future<Output = Redemption> {
    let store = store.clone();
    let presented = TokenHash::of(presented);
    let access = NewToken {
        hash: TokenHash::of(&format!("at-{issued}")),
        expires_at: at + Duration::hours(2),
    };
    let refresh = NewToken {
        hash: TokenHash::of(&format!("rt-{issued}")),
        expires_at: at + Duration::days(30),
    };
    async move {
        store
            .rotate_refresh_token(presented, (access, refresh), meta(), at, move |r| {
                oauth_core::token::check_refresh_state(r, at, window)
                    .map(|how| (r.scopes.clone(), how))
            })
            .await
            .unwrap()
    }
}

async fn live_refresh_tokens(store: &Store, issued: u32, at: DateTime<Utc>) -> usize {
    let mut live = 0;
    for n in 0..issued {
        if let Some(r) = store
            .find_refresh_token(TokenHash::of(&format!("rt-{n}")))
            .await
            .unwrap()
        {
            if r.rotated_at.is_none() && !r.revoked && r.expires_at > at {
                live += 1;
            }
        }
    }
    live
}

/// Issues the first pair as `rt-0`/`at-0` from a fresh code.
async fn first_pair(f: &Fixture) {
    issue_code(f, "code-family").await;
    let first = f
        .store
        .redeem_code(
            TokenHash::of("code-family"),
            (
                NewToken {
                    hash: TokenHash::of("at-0"),
                    expires_at: now() + Duration::hours(2),
                },
                NewToken {
                    hash: TokenHash::of("rt-0"),
                    expires_at: now() + Duration::days(30),
                },
            ),
            meta(),
            now(),
            |c| Ok(c.scopes.clone()),
        )
        .await
        .unwrap();
    assert!(matches!(first, Redemption::Issued(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_family_never_has_two_live_refresh_tokens_with_the_retry_window_on() {
    let f = fixture().await;
    first_pair(&f).await;
    let window = Duration::seconds(30);
    // Sixteen concurrent presentations of the same token: with the window on,
    // the later ones are retries, each replacing the pair before it.
    let racing: Vec<_> = (1..=16)
        .map(|n| tokio::spawn(refresh_with(&f.store, "rt-0", n, now(), window)))
        .collect();
    let mut issued = 0;
    for handle in racing {
        if matches!(handle.await.unwrap(), Redemption::Issued(_)) {
            issued += 1;
        }
    }
    assert!(issued >= 1);
    assert_eq!(live_refresh_tokens(&f.store, 17, now()).await, 1);

    // Random sequences of presentations of any earlier token, at times inside
    // and outside the window: after every step at most one token is live.
    let mut seed: u64 = 0x5eed;
    let mut next = 17;
    let mut clock = now();
    for _ in 0..120 {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let pick = u32::try_from((seed >> 33) % u64::from(next)).unwrap();
        clock += Duration::seconds(i64::try_from((seed >> 20) % 50).unwrap());
        refresh_with(&f.store, &format!("rt-{pick}"), next, clock, window).await;
        next += 1;
        assert!(live_refresh_tokens(&f.store, next, clock).await <= 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_the_window_off_one_refresh_wins_and_reuse_kills_the_family() {
    let f = fixture().await;
    first_pair(&f).await;
    let racing: Vec<_> = (1..=16)
        .map(|n| tokio::spawn(refresh_with(&f.store, "rt-0", n, now(), Duration::zero())))
        .collect();
    let mut issued = 0;
    for handle in racing {
        if matches!(handle.await.unwrap(), Redemption::Issued(_)) {
            issued += 1;
        }
    }
    assert_eq!(issued, 1);
    assert_eq!(live_refresh_tokens(&f.store, 17, now()).await, 0);
}

#[tokio::test]
async fn a_retry_inside_the_window_replaces_the_lost_pair() {
    let f = fixture().await;
    first_pair(&f).await;
    let window = Duration::seconds(30);
    assert!(matches!(
        refresh_with(&f.store, "rt-0", 1, now(), window).await,
        Redemption::Issued(_)
    ));
    // The answer was lost; the client retries with rt-0 ten seconds later.
    let later = now() + Duration::seconds(10);
    assert!(matches!(
        refresh_with(&f.store, "rt-0", 2, later, window).await,
        Redemption::Issued(_)
    ));
    assert!(!f
        .store
        .is_access_token_active(TokenHash::of("at-1"), later)
        .await
        .unwrap());
    assert!(
        f.store
            .find_refresh_token(TokenHash::of("rt-1"))
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert!(f
        .store
        .is_access_token_active(TokenHash::of("at-2"), later)
        .await
        .unwrap());
    // Outside the window the same presentation is reuse.
    let too_late = now() + Duration::seconds(45);
    let reused = refresh_with(&f.store, "rt-0", 3, too_late, window).await;
    assert!(matches!(
        reused,
        Redemption::Rejected(GrantRejection::RefreshTokenReused)
    ));
    assert!(!f
        .store
        .is_access_token_active(TokenHash::of("at-2"), too_late)
        .await
        .unwrap());
}

/// C22: a code or token used one second before its expiry is accepted; at its
/// expiry second and after, refused (the clock is injected).
#[tokio::test]
async fn c22_expiry_is_checked_at_the_boundary_second() {
    let f = fixture().await;
    let code_expiry = now() + Duration::minutes(5);
    let exchange = |code: &'static str, at: DateTime<Utc>| {
        let store = f.store.clone();
        async move {
            store
                .redeem_code(
                    TokenHash::of(code),
                    (token(1), token(2)),
                    meta(),
                    at,
                    move |c| {
                        oauth_core::token::check_code_exchange(
                            &c.record,
                            Some("http://127.0.0.1:5000/cb"),
                            Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                            at,
                        )?;
                        Ok(c.scopes.clone())
                    },
                )
                .await
                .unwrap()
        }
    };
    issue_code(&f, "code-before").await;
    assert!(matches!(
        exchange("code-before", code_expiry - Duration::seconds(1)).await,
        Redemption::Issued(_)
    ));
    issue_code(&f, "code-at").await;
    assert!(matches!(
        exchange("code-at", code_expiry).await,
        Redemption::Rejected(GrantRejection::Expired)
    ));
    issue_code(&f, "code-after").await;
    assert!(matches!(
        exchange("code-after", code_expiry + Duration::seconds(1)).await,
        Redemption::Rejected(GrantRejection::Expired)
    ));

    // The refresh token from the first exchange (token-2) expires two hours on.
    let refresh_expiry = now() + Duration::hours(2);
    let refresh_at = |at: DateTime<Utc>| {
        let store = f.store.clone();
        async move {
            store
                .rotate_refresh_token(
                    TokenHash::of("token-2"),
                    (token(3), token(4)),
                    meta(),
                    at,
                    move |r| {
                        oauth_core::token::check_refresh_state(r, at, Duration::zero())
                            .map(|how| (r.scopes.clone(), how))
                    },
                )
                .await
                .unwrap()
        }
    };
    assert!(matches!(
        refresh_at(refresh_expiry).await,
        Redemption::Rejected(GrantRejection::Expired)
    ));
    assert!(matches!(
        refresh_at(refresh_expiry - Duration::seconds(1)).await,
        Redemption::Issued(_)
    ));
}

#[tokio::test]
async fn pruning_deletes_only_what_expired_before_the_retention_window() {
    let f = fixture().await;
    first_pair(&f).await;
    let retention = Duration::days(1);
    // Nothing has expired yet.
    assert_eq!(
        f.store.prune_expired(now(), retention, 100).await.unwrap(),
        0
    );
    // A year on, the code, both tokens are past expiry and retention.
    let later = now() + Duration::days(365);
    let deleted = f.store.prune_expired(later, retention, 100).await.unwrap();
    assert_eq!(deleted, 3);
    assert!(f
        .store
        .find_refresh_token(TokenHash::of("rt-0"))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn audit_events_are_written_with_the_change_and_listed_newest_first() {
    let f = fixture().await;
    first_pair(&f).await;
    refresh_with(&f.store, "rt-0", 1, now(), Duration::zero()).await;
    refresh_with(&f.store, "rt-0", 2, now(), Duration::zero()).await;
    let events = f.store.list_audit_events(f.school, None, 10).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "refresh_token.reused",
            "tokens.refreshed",
            "tokens.issued",
            "authorization.granted"
        ]
    );
    assert_eq!(events[0].outcome, "failure");
    let older = f
        .store
        .list_audit_events(f.school, Some(events[1].seq), 10)
        .await
        .unwrap();
    assert_eq!(older.len(), 2);
    let other_school = SchoolId::from_uuid(Uuid::new_v4());
    assert!(f
        .store
        .list_audit_events(other_school, None, 10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_new_signing_key_signs_only_once_it_has_been_published_long_enough() {
    let f = fixture().await;
    let published_for = Duration::seconds(300);
    let insert = |kid: &'static str, at: DateTime<Utc>| {
        let store = f.store.clone();
        async move {
            store
                .insert_signing_key(kid.into(), "RS256", format!("pem-{kid}"), "{}".into(), at)
                .await
                .unwrap()
        }
    };
    insert("first", now()).await;
    let signing = |at: DateTime<Utc>| {
        let store = f.store.clone();
        async move {
            store
                .find_signing_key(at, published_for)
                .await
                .unwrap()
                .unwrap()
                .kid
        }
    };
    // The very first key signs at once.
    assert_eq!(signing(now() + Duration::seconds(1)).await, "first");
    insert("second", now() + Duration::seconds(10)).await;
    // Right after a rotation the earlier key goes on signing...
    assert_eq!(signing(now() + Duration::seconds(20)).await, "first");
    // ...until the new one has been published for the cache lifetime.
    assert_eq!(signing(now() + Duration::seconds(310)).await, "second");
}
