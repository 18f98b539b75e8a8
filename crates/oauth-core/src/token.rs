//! The decisions behind the token endpoint (RFC 6749 §4.1.3, §6; RFC 7636 §4.6).
//!
//! The HTTP layer loads the stored code or refresh token, asks here whether this
//! client may redeem it at this host, consumes it atomically in storage, and
//! asks here again whether the request proves what it must.

use chrono::{DateTime, Duration, Utc};
use thiserror::Error;

use crate::application::Application;
use crate::audience::{check_audience, AudienceDenied, Role};
use crate::error::ErrorCode;
use crate::ids::{ApplicationId, SchoolId, ServedAt, UserId};
use crate::pkce::{CodeChallenge, CodeVerifier, PkceError};
use crate::resource::ResourceError;
use crate::scope::{ScopeError, ScopeSet};

/// Access tokens live two hours.
pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::seconds(7200);
/// Codes live five minutes unless configured otherwise.
pub const DEFAULT_CODE_LIFETIME: Duration = Duration::seconds(300);
/// Codes never live longer than ten minutes (RFC 6749 §4.1.2).
pub const MAX_CODE_LIFETIME: Duration = Duration::seconds(600);
/// Refresh tokens live thirty days unless configured otherwise.
pub const DEFAULT_REFRESH_TOKEN_LIFETIME: Duration = Duration::days(30);

/// Which issuer a code or token belongs to: always one school, and either that
/// school's hosts or the platform host, where it was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Binding {
    /// The school whose data the token reaches.
    pub school_id: SchoolId,
    /// Obtained at the platform host (with the school picked there).
    pub via_platform: bool,
}

impl Binding {
    /// The binding of a flow at `served_at` for `school`.
    pub fn new(served_at: ServedAt, school_id: SchoolId) -> Self {
        Self {
            school_id,
            via_platform: served_at == ServedAt::Platform,
        }
    }

    /// Whether a credential with this binding may be used at `served_at`: at the
    /// hosts of its own school when it was obtained there, and at the platform
    /// host when it was obtained there. Anywhere else it is as if it did not exist.
    pub fn is_usable_at(&self, served_at: ServedAt) -> bool {
        match served_at {
            ServedAt::School(school) => !self.via_platform && school == self.school_id,
            ServedAt::Platform => self.via_platform,
        }
    }
}

/// Whether a credential is live at `now`: usable strictly before its expiry.
pub fn is_unexpired(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now < expires_at
}

/// Why a code or refresh token was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GrantRejection {
    /// Unknown, issued to another client, or bound to another school or issuer.
    /// These are deliberately one variant: the answer must not tell them apart.
    #[error("the grant is invalid")]
    NotFound,
    /// Past its expiry.
    #[error("the grant has expired")]
    Expired,
    /// Revoked by a user, an admin, or reuse detection.
    #[error("the grant has been revoked")]
    Revoked,
    /// A code presented a second time.
    #[error("the authorization code has already been used")]
    CodeReused,
    /// A refresh token presented after it was rotated.
    #[error("the refresh token has already been used")]
    RefreshTokenReused,
    /// `redirect_uri` differs from the authorization request's.
    #[error("redirect_uri does not match the authorization request")]
    RedirectUriMismatch,
    /// No `code_verifier`.
    #[error("code_verifier is required")]
    VerifierMissing,
    /// The verifier is not 43 to 128 unreserved characters.
    #[error(transparent)]
    VerifierMalformed(PkceError),
    /// The verifier does not hash to the challenge.
    #[error("code_verifier does not match the code_challenge")]
    VerifierMismatch,
    /// The refresh asked for more than the grant holds.
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// The request named another resource than the grant's (RFC 8707).
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// The user no longer belongs to the application's audience in the
    /// token's school (a role was taken away after consent).
    #[error("the user may no longer use this application in this school")]
    AudienceDenied(AudienceDenied),
}

impl GrantRejection {
    /// RFC 6749 §5.2: `invalid_grant` for everything wrong with the grant itself,
    /// `invalid_scope` when a refresh asks for more than was granted.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            GrantRejection::Scope(e) => e.error_code(),
            GrantRejection::Resource(_) => ErrorCode::InvalidTarget,
            _ => ErrorCode::InvalidGrant,
        }
    }
}

/// A stored authorization code, as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    /// Whose code it is.
    pub application_id: ApplicationId,
    /// Which issuer and school.
    pub binding: Binding,
    /// The redirect URI of the authorization request, exactly as sent.
    pub redirect_uri: String,
    /// The PKCE challenge of the authorization request.
    pub challenge: CodeChallenge,
    /// The issuer (`scheme://host`) the code was issued at; codes from before
    /// this was recorded have none.
    pub issuer: Option<String>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Whether `app` may redeem a code or token of `owner` with `binding` at
/// `served_at`. When this is false the code is neither consumed nor revealed.
pub fn may_redeem(
    app: &Application,
    owner: ApplicationId,
    binding: Binding,
    served_at: ServedAt,
) -> bool {
    app.id == owner && app.is_usable_at(served_at) && binding.is_usable_at(served_at)
}

/// Whether a code may be redeemed at `issuer`: a flow never changes issuer
/// midway, even between two hosts of the same school, so the ID token's `iss`
/// is the `iss` the client received with the code (RFC 9207).
pub fn is_same_issuer(code: &CodeRecord, issuer: &str) -> bool {
    code.issuer.as_deref().is_none_or(|own| own == issuer)
}

/// Checks a code exchange once the code has been consumed. Any failure here
/// still spends the code (RFC 6749 §4.1.2: a code is single-use whatever the
/// outcome), so a failed guess of the verifier cannot be retried.
pub fn check_code_exchange(
    code: &CodeRecord,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), GrantRejection> {
    if !is_unexpired(code.expires_at, now) {
        return Err(GrantRejection::Expired);
    }
    if redirect_uri != Some(code.redirect_uri.as_str()) {
        return Err(GrantRejection::RedirectUriMismatch);
    }
    let verifier = verifier.ok_or(GrantRejection::VerifierMissing)?;
    let verifier = CodeVerifier::parse(verifier).map_err(GrantRejection::VerifierMalformed)?;
    if !code.challenge.is_satisfied_by(&verifier) {
        return Err(GrantRejection::VerifierMismatch);
    }
    Ok(())
}

/// A stored refresh token, as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// Whose token it is.
    pub application_id: ApplicationId,
    /// Which issuer and school.
    pub binding: Binding,
    /// The user it acts for.
    pub user_id: UserId,
    /// The scopes of the grant it carries.
    pub scopes: ScopeSet,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// The resource (RFC 8707) its tokens are for, if any.
    pub resource: Option<String>,
    /// When it was exchanged for a newer token, if it was.
    pub rotated_at: Option<DateTime<Utc>>,
    /// Whether the refresh token that replaced it is still live (neither
    /// rotated nor revoked): only then may a retry replace it.
    pub successor_live: bool,
    /// Revoked.
    pub revoked: bool,
}

/// How a refresh token that may be exchanged is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshUse {
    /// The normal case: it is rotated now.
    Rotate,
    /// It was rotated moments ago and the client retries (its answer was lost):
    /// the pair issued by that rotation is revoked and a new pair issued.
    Retry,
}

/// The longest refresh retry window that may be configured.
pub const MAX_REFRESH_RETRY_WINDOW: Duration = Duration::seconds(60);

/// Whether a refresh token can be exchanged at `now`, and how.
///
/// A rotated token is reuse, unless a retry window is configured (at most
/// [`MAX_REFRESH_RETRY_WINDOW`]), the rotation happened less than that window
/// ago, and the token that replaced it has not been used or revoked: then the
/// client is retrying a refresh whose answer it never received.
pub fn check_refresh_state(
    token: &RefreshRecord,
    now: DateTime<Utc>,
    retry_window: Duration,
) -> Result<RefreshUse, GrantRejection> {
    if let Some(rotated_at) = token.rotated_at {
        let window = retry_window.min(MAX_REFRESH_RETRY_WINDOW);
        let is_retry = window > Duration::zero()
            && !token.revoked
            && token.successor_live
            && now < rotated_at + window;
        return if is_retry {
            Ok(RefreshUse::Retry)
        } else {
            Err(GrantRejection::RefreshTokenReused)
        };
    }
    if token.revoked {
        return Err(GrantRejection::Revoked);
    }
    if !is_unexpired(token.expires_at, now) {
        return Err(GrantRejection::Expired);
    }
    Ok(RefreshUse::Rotate)
}

/// Decides a refresh (RFC 6749 §6) for a token this client may redeem here:
/// the scopes of the new access token, which lie within the grant, within what
/// was asked for, and within what the application may receive today.
///
/// A rotated token is [`GrantRejection::RefreshTokenReused`]; the caller must
/// then revoke the token's family.
pub fn check_refresh(
    token: &RefreshRecord,
    app: &Application,
    user: (Option<Role>, bool),
    requested_scope: Option<&str>,
    now: DateTime<Utc>,
    retry_window: Duration,
) -> Result<(ScopeSet, RefreshUse), GrantRejection> {
    let how = check_refresh_state(token, now, retry_window)?;
    // The audience gate holds for as long as access lasts, not only at consent.
    let (role, is_staff) = user;
    check_audience(app.audience, role, is_staff).map_err(GrantRejection::AudienceDenied)?;
    // An empty `scope` counts as omitted (RFC 6749 §3.1), as at authorization.
    let narrowed = match requested_scope.map(ScopeSet::parse_request).transpose()? {
        Some(requested) if !requested.is_empty() => token.scopes.narrow_to(&requested)?,
        _ => token.scopes.clone(),
    };
    Ok((scopes_to_issue(&narrowed, app), how))
}

/// The scopes a token is issued with: what was granted, clipped once more by
/// what the application may receive now (its ceiling is checked at issuance too).
pub fn scopes_to_issue(granted: &ScopeSet, app: &Application) -> ScopeSet {
    granted.intersection(&app.allowed_scopes())
}

/// The lifetime of codes, clamped to at most [`MAX_CODE_LIFETIME`].
pub fn code_lifetime(configured_seconds: u32) -> Duration {
    Duration::seconds(i64::from(configured_seconds)).min(MAX_CODE_LIFETIME)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::{ClientType, Registration};
    use crate::audience::Audience;
    use crate::ids::ClientId;
    use proptest::prelude::*;
    use uuid::Uuid;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn school(n: u128) -> SchoolId {
        SchoolId::from_uuid(Uuid::from_u128(n))
    }

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn app(registration: Registration, scopes: &str) -> Application {
        Application {
            id: ApplicationId::from_uuid(Uuid::from_u128(5)),
            client_id: ClientId::parse("app").unwrap(),
            name: "App".into(),
            registration,
            audience: Audience::OrgAdmin,
            client_type: ClientType::Public,
            redirect_uris: vec![],
            scopes: ScopeSet::parse_config(scopes).unwrap(),
            disabled: false,
        }
    }

    fn code() -> CodeRecord {
        CodeRecord {
            application_id: ApplicationId::from_uuid(Uuid::from_u128(5)),
            binding: Binding {
                school_id: school(1),
                via_platform: false,
            },
            redirect_uri: "http://127.0.0.1:4000/cb".into(),
            challenge: CodeChallenge::from_stored(CHALLENGE).unwrap(),
            issuer: Some("http://demo.example".into()),
            expires_at: t(300),
        }
    }

    #[test]
    fn code_exchange_table() {
        use GrantRejection::*;
        let uri = Some("http://127.0.0.1:4000/cb");
        type Case<'a> = (
            Option<&'a str>,
            Option<&'a str>,
            i64,
            Result<(), GrantRejection>,
        );
        let cases: &[Case] = &[
            (uri, Some(VERIFIER), 299, Ok(())),
            (uri, Some(VERIFIER), 300, Err(Expired)),
            (uri, Some(VERIFIER), 301, Err(Expired)),
            (
                Some("http://127.0.0.1:4001/cb"),
                Some(VERIFIER),
                0,
                Err(RedirectUriMismatch),
            ),
            (None, Some(VERIFIER), 0, Err(RedirectUriMismatch)),
            (uri, None, 0, Err(VerifierMissing)),
            (
                uri,
                Some(&VERIFIER[..42]),
                0,
                Err(VerifierMalformed(PkceError::MalformedVerifier)),
            ),
            (
                uri,
                Some("a-wrong-verifier-that-is-long-enough-to-be-well-formed"),
                0,
                Err(VerifierMismatch),
            ),
        ];
        for (redirect, verifier, at, expected) in cases {
            assert_eq!(
                &check_code_exchange(&code(), *redirect, *verifier, t(*at)),
                expected,
                "{redirect:?} {verifier:?} {at}"
            );
        }
    }

    #[test]
    fn a_code_is_redeemed_only_at_its_issuer() {
        assert!(is_same_issuer(&code(), "http://demo.example"));
        assert!(!is_same_issuer(&code(), "http://demo.other-host.example"));
        assert!(is_same_issuer(
            &CodeRecord {
                issuer: None,
                ..code()
            },
            "http://anything"
        ));
    }

    #[test]
    fn bindings_keep_schools_and_issuers_apart() {
        let at_school = Binding::new(ServedAt::School(school(1)), school(1));
        assert!(at_school.is_usable_at(ServedAt::School(school(1))));
        assert!(!at_school.is_usable_at(ServedAt::School(school(2))));
        assert!(!at_school.is_usable_at(ServedAt::Platform));
        let via_platform = Binding::new(ServedAt::Platform, school(1));
        assert!(via_platform.is_usable_at(ServedAt::Platform));
        assert!(!via_platform.is_usable_at(ServedAt::School(school(1))));
    }

    #[test]
    fn another_client_or_school_cannot_redeem() {
        let owner = ApplicationId::from_uuid(Uuid::from_u128(5));
        let binding = Binding::new(ServedAt::School(school(1)), school(1));
        let mine = app(Registration::School(school(1)), "openid");
        assert!(may_redeem(
            &mine,
            owner,
            binding,
            ServedAt::School(school(1))
        ));
        assert!(!may_redeem(
            &mine,
            owner,
            binding,
            ServedAt::School(school(2))
        ));
        let mut other = mine.clone();
        other.id = ApplicationId::from_uuid(Uuid::from_u128(6));
        assert!(!may_redeem(
            &other,
            owner,
            binding,
            ServedAt::School(school(1))
        ));
        let platform = app(Registration::Platform, "openid");
        assert!(!may_redeem(
            &platform,
            owner,
            binding,
            ServedAt::School(school(2))
        ));
    }

    /// The user of the test tokens: a manager, who passes every audience but staff.
    const ADMIN: (Option<Role>, bool) = (Some(Role::Manager), false);

    fn refresh(scopes: &str) -> RefreshRecord {
        RefreshRecord {
            application_id: ApplicationId::from_uuid(Uuid::from_u128(5)),
            binding: Binding::new(ServedAt::School(school(1)), school(1)),
            user_id: UserId::from_uuid(Uuid::from_u128(8)),
            scopes: ScopeSet::parse_request(scopes).unwrap(),
            expires_at: t(100),
            resource: None,
            rotated_at: None,
            successor_live: false,
            revoked: false,
        }
    }

    #[test]
    fn refresh_table() {
        let application = app(Registration::Platform, "openid courses:*");
        let set = |s: &str| ScopeSet::parse_request(s).unwrap();
        let off = Duration::zero();
        let rotate = |s: &str| Ok((set(s), RefreshUse::Rotate));
        let grant = refresh("courses:read");
        let check = |token: &RefreshRecord, scope: Option<&str>, at: i64| {
            check_refresh(token, &application, ADMIN, scope, t(at), off)
        };
        assert_eq!(check(&grant, None, 99), rotate("courses:read"));
        assert_eq!(check(&grant, None, 100), Err(GrantRejection::Expired));
        let widened = check(&grant, Some("courses:read courses:write"), 0);
        assert!(matches!(
            widened,
            Err(GrantRejection::Scope(ScopeError::Widening(_)))
        ));
        let admin = check(&grant, Some("courses:read admin:read"), 0);
        assert!(matches!(admin, Err(GrantRejection::Scope(_))));
        let wide = refresh("openid courses:read");
        assert_eq!(
            check(&wide, Some("courses:read"), 0),
            rotate("courses:read")
        );
        let rotated = RefreshRecord {
            rotated_at: Some(t(0)),
            ..refresh("openid")
        };
        assert_eq!(
            check(&rotated, None, 0),
            Err(GrantRejection::RefreshTokenReused)
        );
        let revoked = RefreshRecord {
            revoked: true,
            ..refresh("openid")
        };
        assert_eq!(check(&revoked, None, 0), Err(GrantRejection::Revoked));
    }

    #[test]
    fn a_refresh_checks_the_audience_again_and_treats_an_empty_scope_as_omitted() {
        let org_admin_app = app(Registration::Platform, "openid courses:*");
        let grant = refresh("openid courses:read");
        let demoted = (Some(Role::Student), false);
        let refused = check_refresh(
            &grant,
            &org_admin_app,
            demoted,
            None,
            t(0),
            Duration::zero(),
        );
        assert_eq!(
            refused,
            Err(GrantRejection::AudienceDenied(
                AudienceDenied::NotSchoolAdmin
            ))
        );
        assert_eq!(refused.unwrap_err().error_code(), ErrorCode::InvalidGrant);
        let (kept, _) = check_refresh(
            &grant,
            &org_admin_app,
            ADMIN,
            Some(" "),
            t(0),
            Duration::zero(),
        )
        .unwrap();
        assert_eq!(kept, grant.scopes);
    }

    #[test]
    fn the_retry_window() {
        let window = Duration::seconds(30);
        let rotated = RefreshRecord {
            rotated_at: Some(t(10)),
            successor_live: true,
            ..refresh("openid")
        };
        assert_eq!(
            check_refresh_state(&rotated, t(39), window),
            Ok(RefreshUse::Retry)
        );
        assert_eq!(
            check_refresh_state(&rotated, t(40), window),
            Err(GrantRejection::RefreshTokenReused)
        );
        assert_eq!(
            check_refresh_state(&rotated, t(11), Duration::zero()),
            Err(GrantRejection::RefreshTokenReused)
        );
        let successor_used = RefreshRecord {
            successor_live: false,
            ..rotated.clone()
        };
        assert_eq!(
            check_refresh_state(&successor_used, t(11), window),
            Err(GrantRejection::RefreshTokenReused)
        );
        // A configured window above the maximum is held to it.
        let long = RefreshRecord {
            rotated_at: Some(t(0)),
            ..rotated
        };
        assert_eq!(
            check_refresh_state(&long, t(61), Duration::seconds(600)),
            Err(GrantRejection::RefreshTokenReused)
        );
    }

    #[test]
    fn a_ceiling_that_shrank_clips_refreshed_tokens() {
        let shrunk = app(Registration::Platform, "openid");
        let grant = refresh("openid courses:read");
        let issued = check_refresh(&grant, &shrunk, ADMIN, None, t(0), Duration::zero());
        assert_eq!(
            issued,
            Ok((
                ScopeSet::parse_request("openid").unwrap(),
                RefreshUse::Rotate
            ))
        );
    }

    #[test]
    fn code_lifetime_is_clamped() {
        assert_eq!(code_lifetime(60), Duration::seconds(60));
        assert_eq!(code_lifetime(6000), MAX_CODE_LIFETIME);
    }

    proptest! {
        #[test]
        fn expiry_boundary(expiry in -1000i64..1000, now in -1000i64..1000) {
            prop_assert_eq!(is_unexpired(t(expiry), t(now)), now < expiry);
        }

        #[test]
        fn a_refresh_never_widens(held in prop::collection::vec(0usize..14, 0..6), asked in prop::collection::vec(0usize..14, 0..6)) {
            let names: Vec<&str> = crate::scope::Scope::all().map(|s| s.as_str()).collect();
            let held: ScopeSet = held.iter().map(|&i| crate::scope::Scope::parse(names[i]).unwrap()).collect();
            let asked: ScopeSet = asked.iter().map(|&i| crate::scope::Scope::parse(names[i]).unwrap()).collect();
            let application = app(Registration::Platform, "openid profile email courses:* students:* pages:*");
            let token = RefreshRecord { scopes: held.clone(), ..refresh("openid") };
            if let Ok((issued, _)) = check_refresh(&token, &application, ADMIN, Some(&asked.to_string()), t(0), Duration::zero()) {
                prop_assert!(issued.is_within(&held));
                prop_assert!(issued.is_within(&application.allowed_scopes()));
            }
        }
    }
}
