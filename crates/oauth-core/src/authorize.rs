//! Validation of authorization requests (RFC 6749 §4.1.1, RFC 7636 §4.3,
//! RFC 9207, and the rules of the product specification §5).
//!
//! Validation has two stages, because the answer's transport depends on it.
//! Until the client and its redirect URI are known to be good, every problem is
//! shown on an error page and nothing is redirected, so that a forged request
//! cannot bounce a user to an attacker's URI (RFC 6749 §4.1.2.1). After that,
//! problems are redirected to the client with `error`, `state` and `iss`.

use thiserror::Error;

use crate::application::Application;
use crate::audience::{check_audience, AudienceDenied, Role};
use crate::error::ErrorCode;
use crate::ids::{ClientId, SchoolId, ServedAt};
use crate::params::{DuplicateParameter, Params};
use crate::pkce::{CodeChallenge, PkceError};
use crate::resource::{parse_resource, ResourceError};
use crate::scope::{decide_requested_scopes, ScopeError, ScopeSet};

/// The longest `state` and `nonce` accepted; they are echoed and stored.
pub const MAX_ECHOED_LEN: usize = 1024;

/// A problem shown to the user on an error page, never redirected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PageError {
    /// `client_id` or `redirect_uri` was sent more than once.
    #[error("the parameter `{}` was sent more than once", .0 .0)]
    Duplicate(DuplicateParameter),
    /// No `client_id`.
    #[error("the request does not say which application is asking (client_id is missing)")]
    ClientIdMissing,
    /// No enabled application with this id is usable at this host.
    #[error("the application asking for access is not known here")]
    UnknownClient,
    /// No `redirect_uri`.
    #[error("the request does not say where to return to (redirect_uri is missing)")]
    RedirectUriMissing,
    /// The `redirect_uri` is not one the application registered.
    #[error("the address to return to is not registered for this application")]
    RedirectUriNotRegistered,
}

impl PageError {
    /// The RFC 6749 error code shown on the page.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            PageError::UnknownClient => ErrorCode::InvalidClient,
            _ => ErrorCode::InvalidRequest,
        }
    }
}

/// A problem reported to the client by redirect.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RequestRejection {
    /// A parameter was sent more than once.
    #[error(transparent)]
    Duplicate(#[from] DuplicateParameter),
    /// No `response_type`.
    #[error("response_type is required")]
    ResponseTypeMissing,
    /// Only the code flow exists here.
    #[error("only response_type=code is supported")]
    UnsupportedResponseType,
    /// Only `query` responses are sent.
    #[error("only response_mode=query is supported")]
    UnsupportedResponseMode,
    /// PKCE parameters are missing or wrong.
    #[error(transparent)]
    Pkce(#[from] PkceError),
    /// A scope is unknown or not allowed.
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// `state` or `nonce` longer than [`MAX_ECHOED_LEN`].
    #[error("the parameter `{0}` is too long")]
    TooLong(&'static str),
    /// `nonce` holds control characters. It is stored and put into the ID
    /// token as it is, and no conforming client sends them (a NUL, for one,
    /// cannot even be stored in PostgreSQL's text).
    #[error("the parameter `{0}` contains control characters")]
    ControlCharacters(&'static str),
    /// The user is outside the application's audience in the contextual school.
    #[error(transparent)]
    Audience(#[from] AudienceDenied),
    /// The user pressed Deny.
    #[error("the user denied the request")]
    ConsentDenied,
    /// `prompt` has an unknown value, or `none` with another.
    #[error("prompt must be none, or any of login, consent and select_account")]
    InvalidPrompt,
    /// `max_age` is not a non-negative integer.
    #[error("max_age must be a non-negative number of seconds")]
    InvalidMaxAge,
    /// `resource` is malformed or not registered for the school.
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// `prompt=none` and nobody is logged in (or the login is too old).
    #[error("the user must log in")]
    LoginRequired,
    /// `prompt=none` and the user has not consented to these scopes.
    #[error("the user must consent")]
    ConsentRequired,
    /// `prompt=none` and the user must pick a school.
    #[error("the user must choose a school")]
    InteractionRequired,
    /// A `request` object (JAR), which this server does not accept.
    #[error("request objects are not supported")]
    RequestObject,
    /// A `request_uri`, which this server does not accept.
    #[error("request_uri is not supported")]
    RequestUri,
}

impl RequestRejection {
    /// RFC 6749 §4.1.2.1 error codes.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            RequestRejection::Duplicate(_)
            | RequestRejection::ResponseTypeMissing
            | RequestRejection::UnsupportedResponseMode
            | RequestRejection::Pkce(_)
            | RequestRejection::TooLong(_)
            | RequestRejection::ControlCharacters(_) => ErrorCode::InvalidRequest,
            RequestRejection::UnsupportedResponseType => ErrorCode::UnsupportedResponseType,
            RequestRejection::Scope(e) => e.error_code(),
            RequestRejection::Audience(e) => e.error_code(),
            RequestRejection::ConsentDenied => ErrorCode::AccessDenied,
            RequestRejection::InvalidPrompt | RequestRejection::InvalidMaxAge => {
                ErrorCode::InvalidRequest
            }
            RequestRejection::Resource(_) => ErrorCode::InvalidTarget,
            RequestRejection::LoginRequired => ErrorCode::LoginRequired,
            RequestRejection::ConsentRequired => ErrorCode::ConsentRequired,
            RequestRejection::InteractionRequired => ErrorCode::InteractionRequired,
            RequestRejection::RequestObject => ErrorCode::RequestNotSupported,
            RequestRejection::RequestUri => ErrorCode::RequestUriNotSupported,
        }
    }
}

/// Where an error or a code is sent: a redirect URI that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectTarget {
    /// The requested URI, which matched a registered one.
    pub redirect_uri: String,
    /// The client's `state`, echoed unchanged.
    pub state: Option<String>,
}

/// Why an authorization request was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthorizeError {
    /// Shown on a page.
    #[error(transparent)]
    Page(#[from] PageError),
    /// Redirected to the client.
    #[error("{rejection}")]
    Redirect {
        /// Where to send the error.
        target: RedirectTarget,
        /// What went wrong.
        rejection: RequestRejection,
    },
}

/// A valid authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// The application asking.
    pub client_id: ClientId,
    /// Where the answer goes.
    pub target: RedirectTarget,
    /// The scopes asked for (the application's allowed set when omitted).
    pub scopes: ScopeSet,
    /// The PKCE challenge.
    pub code_challenge: CodeChallenge,
    /// OpenID Connect `nonce`, echoed into the ID token.
    pub nonce: Option<String>,
    /// OpenID Connect `prompt`.
    pub prompt: Prompt,
    /// OpenID Connect `max_age`: the longest time since login, in seconds.
    pub max_age: Option<i64>,
    /// RFC 8707 `resource`, checked for syntax; whether the school has it
    /// registered is checked once the school is known ([`crate::resource::decide_resource`]).
    pub resource: Option<String>,
}

/// The OpenID Connect `prompt` values this server acts on (Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// Show nothing; fail with `login_required`, `consent_required` or
    /// `interaction_required` where a page would be needed.
    pub none: bool,
    /// Ask for the password again.
    pub login: bool,
    /// Show the consent page even when an earlier consent covers the request.
    pub consent: bool,
}

impl Prompt {
    /// Parses a `prompt` value. `select_account` is accepted and has no effect
    /// beyond the school picker, which is always shown on the platform host.
    pub fn parse(value: Option<&str>) -> Result<Self, RequestRejection> {
        let mut prompt = Prompt::default();
        for word in value
            .unwrap_or_default()
            .split(' ')
            .filter(|w| !w.is_empty())
        {
            match word {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => {}
                _ => return Err(RequestRejection::InvalidPrompt),
            }
        }
        let others =
            prompt.login || prompt.consent || value.is_some_and(|v| v.contains("select_account"));
        if prompt.none && others {
            return Err(RequestRejection::InvalidPrompt);
        }
        Ok(prompt)
    }
}

/// Whether the user must enter their password again before this request goes
/// on: `prompt=login`, or a login older than `max_age`.
pub fn needs_fresh_login(
    request: &AuthorizationRequest,
    auth_time: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    request.prompt.login
        || request
            .max_age
            .is_some_and(|max| (now - auth_time).num_seconds() > max)
}

/// Reads `client_id` from a request, as the first step: the caller then loads
/// the application and passes it to [`validate`].
pub fn unverified_client_id(params: &Params) -> Result<ClientId, PageError> {
    let raw = params.single("client_id").map_err(PageError::Duplicate)?;
    let raw = raw.ok_or(PageError::ClientIdMissing)?;
    ClientId::parse(raw).map_err(|_| PageError::UnknownClient)
}

/// Validates an authorization request for `app` (as loaded by its client id,
/// `None` when there is none) at the host that served it.
pub fn validate(
    params: &Params,
    app: Option<&Application>,
    served_at: ServedAt,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let client_id = unverified_client_id(params)?;
    let app = app
        .filter(|app| app.client_id == client_id && app.is_usable_at(served_at))
        .ok_or(PageError::UnknownClient)?;
    let requested_uri = params
        .single("redirect_uri")
        .map_err(PageError::Duplicate)?;
    let requested_uri = requested_uri.ok_or(PageError::RedirectUriMissing)?;
    app.registered_redirect(requested_uri)
        .ok_or(PageError::RedirectUriNotRegistered)?;

    // From here on, errors go back to the client. A duplicated `state` cannot be
    // echoed, so the error is sent without one.
    let state = params.single("state").ok().flatten().map(str::to_owned);
    let target = RedirectTarget {
        redirect_uri: requested_uri.to_owned(),
        state,
    };
    let reject = |rejection: RequestRejection| AuthorizeError::Redirect {
        target: target.clone(),
        rejection,
    };

    if let Some(duplicate) = params.first_duplicate() {
        return Err(reject(duplicate.into()));
    }
    if target
        .state
        .as_ref()
        .is_some_and(|s| s.len() > MAX_ECHOED_LEN)
    {
        // Too long to echo: the error goes back without it.
        return Err(AuthorizeError::Redirect {
            target: RedirectTarget {
                state: None,
                ..target.clone()
            },
            rejection: RequestRejection::TooLong("state"),
        });
    }
    // Metadata says request objects are not supported; say so instead of
    // silently ignoring what they might contain.
    if params.has("request") {
        return Err(reject(RequestRejection::RequestObject));
    }
    if params.has("request_uri") {
        return Err(reject(RequestRejection::RequestUri));
    }
    match params.single("response_type").ok().flatten() {
        None => return Err(reject(RequestRejection::ResponseTypeMissing)),
        Some("code") => {}
        Some(_) => return Err(reject(RequestRejection::UnsupportedResponseType)),
    }
    match params.single("response_mode").ok().flatten() {
        None | Some("query") => {}
        Some(_) => return Err(reject(RequestRejection::UnsupportedResponseMode)),
    }
    let code_challenge = CodeChallenge::parse(
        params.single("code_challenge").ok().flatten(),
        params.single("code_challenge_method").ok().flatten(),
    )
    .map_err(|e| reject(e.into()))?;
    let scopes =
        decide_requested_scopes(params.single("scope").ok().flatten(), &app.allowed_scopes())
            .map_err(|e| reject(e.into()))?;
    let nonce = params.single("nonce").ok().flatten().map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_ECHOED_LEN) {
        return Err(reject(RequestRejection::TooLong("nonce")));
    }
    if nonce
        .as_ref()
        .is_some_and(|n| n.chars().any(char::is_control))
    {
        return Err(reject(RequestRejection::ControlCharacters("nonce")));
    }
    let prompt = Prompt::parse(params.single("prompt").ok().flatten()).map_err(reject)?;
    let max_age = match params.single("max_age").ok().flatten() {
        None => None,
        Some(raw) => Some(
            raw.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| raw.parse::<u32>().ok())
                .flatten()
                .map(i64::from)
                .ok_or(())
                .map_err(|_| reject(RequestRejection::InvalidMaxAge))?,
        ),
    };
    let resource = params
        .single("resource")
        .ok()
        .flatten()
        .map(parse_resource)
        .transpose()
        .map_err(|e| reject(e.into()))?;
    Ok(AuthorizationRequest {
        client_id,
        target,
        scopes,
        code_challenge,
        nonce,
        prompt,
        max_age,
        resource,
    })
}

/// The audience gate for a validated request, against the user's role in the
/// contextual school alone.
pub fn check_user(
    app: &Application,
    role_in_school: Option<Role>,
    is_staff: bool,
) -> Result<(), RequestRejection> {
    check_audience(app.audience, role_in_school, is_staff).map_err(RequestRejection::from)
}

/// The school an authorization is for, before any picker: the application's
/// own school for a school application; the host's school for a platform
/// application at a school host (whatever the browser picked); on the platform
/// host, the school the user `picked`, if any. `None` means the user must pick.
///
/// The pick is only a proposal: the audience gate then runs on it, so a
/// tampered pick of a school the user may not act in is refused.
pub fn contextual_school(
    app: &Application,
    served_at: ServedAt,
    picked: Option<SchoolId>,
) -> Option<SchoolId> {
    app.contextual_school(served_at).or(match served_at {
        ServedAt::Platform => picked,
        ServedAt::School(_) => None,
    })
}

/// The schools a user may pick on the platform host: those where they pass the
/// application's audience, from their `memberships`.
pub fn eligible_schools(
    app: &Application,
    memberships: &[(SchoolId, Role)],
    is_staff: bool,
) -> Vec<SchoolId> {
    memberships
        .iter()
        .filter(|(_, role)| app.audience.admits(Some(*role), is_staff))
        .map(|(school, _)| *school)
        .collect()
}

/// Whether the client's identity is assured without the user (RFC 8252 §8.6):
/// it authenticates with a secret, or its code goes to an `https` address whose
/// host vouches for it. Codes for loopback and private-scheme redirects could go
/// to any program on the device, so those requests always need the user.
pub fn is_client_identity_assured(app: &Application, redirect_uri: &str) -> bool {
    app.client_type == crate::application::ClientType::Confidential
        || redirect_uri
            .get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
}

/// Whether the user must be asked: there is no earlier consent, this request
/// asks for scopes the earlier consent did not cover, or the client's identity
/// is not assured (see [`is_client_identity_assured`]).
pub fn needs_consent(
    previously_granted: Option<&ScopeSet>,
    requested: &ScopeSet,
    client_is_assured: bool,
) -> bool {
    !client_is_assured || previously_granted.is_none_or(|granted| !requested.is_within(granted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::{ClientType, Registration};
    use crate::audience::Audience;
    use crate::ids::{ApplicationId, SchoolId};
    use crate::redirect_uri::RedirectUri;
    use uuid::Uuid;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn school(n: u128) -> SchoolId {
        SchoolId::from_uuid(Uuid::from_u128(n))
    }

    fn app() -> Application {
        Application {
            id: ApplicationId::from_uuid(Uuid::from_u128(9)),
            client_id: ClientId::parse("quiz").unwrap(),
            name: "Quiz".into(),
            registration: Registration::School(school(1)),
            audience: Audience::Member,
            client_type: ClientType::Public,
            redirect_uris: vec![RedirectUri::register("https://app.example/cb").unwrap()],
            scopes: ScopeSet::parse_config("openid courses:read").unwrap(),
            disabled: false,
        }
    }

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("client_id", "quiz"),
            ("redirect_uri", "https://app.example/cb"),
            ("response_type", "code"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("state", "xyz"),
        ]
    }

    fn run(pairs: Vec<(&str, &str)>) -> Result<AuthorizationRequest, AuthorizeError> {
        validate(
            &Params::from_pairs(pairs),
            Some(&app()),
            ServedAt::School(school(1)),
        )
    }

    fn with(name: &'static str, value: &'static str) -> Vec<(&'static str, &'static str)> {
        let mut pairs: Vec<_> = base().into_iter().filter(|(n, _)| *n != name).collect();
        pairs.push((name, value));
        pairs
    }

    fn without(name: &str) -> Vec<(&'static str, &'static str)> {
        base().into_iter().filter(|(n, _)| *n != name).collect()
    }

    fn redirected(pairs: Vec<(&str, &str)>) -> ErrorCode {
        match run(pairs) {
            Err(AuthorizeError::Redirect { rejection, target }) => {
                assert_eq!(target.redirect_uri, "https://app.example/cb");
                rejection.error_code()
            }
            other => panic!("expected a redirect, got {other:?}"),
        }
    }

    #[test]
    fn a_good_request_passes_with_default_scopes() {
        let request = run(base()).unwrap();
        assert_eq!(request.scopes, app().allowed_scopes());
        assert_eq!(request.target.state.as_deref(), Some("xyz"));
    }

    #[test]
    fn page_errors_come_before_anything_is_redirected() {
        let page = |pairs| match run(pairs) {
            Err(AuthorizeError::Page(e)) => e,
            other => panic!("expected a page, got {other:?}"),
        };
        assert_eq!(page(without("client_id")), PageError::ClientIdMissing);
        assert_eq!(page(with("client_id", "nobody")), PageError::UnknownClient);
        assert_eq!(page(without("redirect_uri")), PageError::RedirectUriMissing);
        let mut bad_scope_and_uri = with("redirect_uri", "https://evil.example/cb");
        bad_scope_and_uri.push(("scope", "bogus"));
        assert_eq!(page(bad_scope_and_uri), PageError::RedirectUriNotRegistered);
        let mut twice = base();
        twice.push(("client_id", "quiz"));
        assert!(matches!(page(twice), PageError::Duplicate(_)));
        let mut twice = base();
        twice.push(("redirect_uri", "https://app.example/cb"));
        assert!(matches!(page(twice), PageError::Duplicate(_)));
    }

    #[test]
    fn a_school_app_is_unknown_at_another_school_and_at_the_platform_host() {
        for served_at in [ServedAt::School(school(2)), ServedAt::Platform] {
            let result = validate(&Params::from_pairs(base()), Some(&app()), served_at);
            assert_eq!(result, Err(AuthorizeError::Page(PageError::UnknownClient)));
        }
    }

    #[test]
    fn redirected_errors() {
        use ErrorCode::*;
        assert_eq!(
            redirected(with("code_challenge_method", "plain")),
            InvalidRequest
        );
        assert_eq!(redirected(without("code_challenge_method")), InvalidRequest);
        assert_eq!(redirected(without("code_challenge")), InvalidRequest);
        assert_eq!(redirected(with("code_challenge", "abc")), InvalidRequest);
        assert_eq!(redirected(without("response_type")), InvalidRequest);
        assert_eq!(
            redirected(with("response_type", "token")),
            UnsupportedResponseType
        );
        assert_eq!(
            redirected(with("response_mode", "fragment")),
            InvalidRequest
        );
        assert_eq!(redirected(with("scope", "bogus")), InvalidScope);
        assert_eq!(redirected(with("scope", "courses:write")), InvalidScope);
        assert_eq!(redirected(with("nonce", "n\0nce")), InvalidRequest);
        assert_eq!(redirected(with("nonce", "n\u{7}")), InvalidRequest);
        for name in ["scope", "state", "response_type", "code_challenge"] {
            let mut twice = base();
            twice.push((name, "x"));
            twice.push((name, "x"));
            assert_eq!(redirected(twice), InvalidRequest, "{name}");
        }
    }

    #[test]
    fn consent_is_needed_for_new_scopes_only() {
        let granted = ScopeSet::parse_request("openid courses:read").unwrap();
        let narrower = ScopeSet::parse_request("openid").unwrap();
        let wider = ScopeSet::parse_request("openid courses:read profile").unwrap();
        assert!(needs_consent(None, &narrower, true));
        assert!(!needs_consent(Some(&granted), &narrower, true));
        assert!(needs_consent(Some(&granted), &wider, true));
        assert!(needs_consent(Some(&granted), &narrower, false));
        let public = app();
        assert!(!is_client_identity_assured(
            &public,
            "http://127.0.0.1:5000/cb"
        ));
        assert!(!is_client_identity_assured(&public, "cursor://x/cb"));
        assert!(is_client_identity_assured(
            &public,
            "https://app.example/cb"
        ));
    }
}
