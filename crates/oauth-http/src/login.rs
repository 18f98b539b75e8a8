//! Logging in and out with email and password, and reading the session.
//!
//! A session is a random secret in an HttpOnly, SameSite=Lax cookie (Secure
//! over https), stored as a digest and bound to the host it was created at: a
//! session of one school's host is no session at another's.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use chrono::Utc;
use minijinja::context;
use oauth_core::{PresentedSecret, TokenKind};
use oauth_storage::{Session, User};

use crate::host::{resolve, Resolved};
use crate::i18n::Msg;
use crate::pages::Ui;
use crate::respond::redirect;
use crate::security::{constant_time_eq, csrf_token_for, new_nonce, new_token};
use crate::{authorize, AppState};
use oauth_core::password::verify_password;

/// Login attempts allowed per client address per minute.
const LOGINS_PER_ADDRESS_PER_MINUTE: u32 = 120;
/// Login attempts allowed per client address and account per minute.
const LOGINS_PER_ACCOUNT_PER_MINUTE: u32 = 20;
/// Above this many tracked keys, idle ones are forgotten.
const MAX_TRACKED_KEYS: usize = 100_000;

/// Per-address and per-account limits on login attempts, against password
/// guessing. Counters live in this process: a deployment of N processes
/// allows N times as much, which is fine for slowing guessing down.
pub struct LoginLimiter {
    by_address: governor::DefaultKeyedRateLimiter<std::net::IpAddr>,
    by_account: governor::DefaultKeyedRateLimiter<(std::net::IpAddr, String)>,
}

impl std::fmt::Debug for LoginLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginLimiter")
    }
}

impl LoginLimiter {
    /// The limiter every worker shares.
    pub fn new() -> std::sync::Arc<Self> {
        let quota = |n: u32| {
            governor::Quota::per_minute(
                std::num::NonZeroU32::new(n).unwrap_or(std::num::NonZeroU32::MIN),
            )
        };
        std::sync::Arc::new(Self {
            by_address: governor::RateLimiter::keyed(quota(LOGINS_PER_ADDRESS_PER_MINUTE)),
            by_account: governor::RateLimiter::keyed(quota(LOGINS_PER_ACCOUNT_PER_MINUTE)),
        })
    }

    fn allows(&self, address: Option<&str>, email: &str) -> bool {
        let Some(ip) = address.and_then(|ip| ip.parse::<std::net::IpAddr>().ok()) else {
            return true;
        };
        if self.by_account.len() > MAX_TRACKED_KEYS {
            self.by_account.retain_recent();
            self.by_address.retain_recent();
        }
        self.by_address.check_key(&ip).is_ok()
            && self
                .by_account
                .check_key(&(ip, email.to_lowercase()))
                .is_ok()
    }
}

/// Over https, cookies carry the `__Host-` prefix, so a sibling subdomain
/// (another school's frontend) cannot set or overwrite them.
fn session_cookie(resolved: &Resolved) -> &'static str {
    if resolved.is_https() {
        "__Host-lwc_session"
    } else {
        "lwc_session"
    }
}

fn login_csrf_cookie(resolved: &Resolved) -> &'static str {
    if resolved.is_https() {
        "__Host-lwc_login_csrf"
    } else {
        "lwc_login_csrf"
    }
}

/// A logged-in user at this host.
pub struct LoggedIn {
    pub session: Session,
    pub user: User,
    /// The session's CSRF token for forms.
    pub csrf_token: String,
}

/// The user logged in at this host, if any.
pub async fn current(
    req: &HttpRequest,
    state: &AppState,
    resolved: &Resolved,
) -> Result<Option<LoggedIn>, oauth_storage::StorageError> {
    let Some(cookie) = req.cookie(session_cookie(resolved)) else {
        return Ok(None);
    };
    let secret = PresentedSecret::new(cookie.value());
    let Some(session) = state
        .store
        .find_session(secret.hash(), &resolved.host, Utc::now())
        .await?
    else {
        return Ok(None);
    };
    let Some(user) = state.store.find_user(session.user_id).await? else {
        return Ok(None);
    };
    Ok(Some(LoggedIn {
        session,
        user,
        csrf_token: csrf_token_for(secret.expose_secret()),
    }))
}

/// Only the authorization endpoint is a place to return to after logging in,
/// so the login form cannot be used as an open redirect.
fn safe_return_to(return_to: Option<&str>) -> String {
    const HOME: &str = "/oauth/connected-apps";
    match return_to {
        Some(path)
            if !path.chars().any(char::is_control)
                && (path == "/oauth/authorize"
                    || path.starts_with("/oauth/authorize?")
                    || path == HOME
                    || is_admin_page(path)) =>
        {
            path.to_owned()
        }
        _ => HOME.to_owned(),
    }
}

/// The administration pages are a place to return to: a path under `/admin`
/// made of plain path characters, with no empty, `.` or `..` segment and no
/// percent-encoding, so it stays on this host and under `/admin`.
fn is_admin_page(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/admin") else {
        return false;
    };
    let segments_ok = rest.is_empty()
        || rest.strip_prefix('/').is_some_and(|rest| {
            rest.split('/')
                .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
        });
    segments_ok
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b))
}

/// The fields of a form post, in order, repeated names kept.
pub(crate) fn form_pairs(body: &Bytes) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The first value of a form field.
pub(crate) fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn cookie<'c>(name: &'c str, value: String, resolved: &Resolved, path: &'c str) -> Cookie<'c> {
    Cookie::build(name, value)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(resolved.is_https())
        .path(path)
        .finish()
}

/// The login page's own address for `return_to`, where the language switch
/// goes back to.
fn login_path(return_to: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("return_to", return_to)
        .finish();
    format!("/oauth/login?{query}")
}

fn render_login(
    state: &AppState,
    ui: &Ui,
    resolved: &Resolved,
    status: StatusCode,
    return_to: &str,
    email: &str,
    error: Option<&str>,
) -> HttpResponse {
    let ui = ui.clone().returning_to(login_path(return_to));
    let Ok(nonce) = new_nonce() else {
        return state.pages.error(
            &ui,
            StatusCode::SERVICE_UNAVAILABLE,
            resolved.display_name(),
            Msg::new("error-try-again-title"),
            Msg::new("error-login-start-message"),
            None,
        );
    };
    let mut response = state.pages.render(
        &ui,
        status,
        "login.html",
        context! {
            school_name => resolved.display_name(),
            title => state.pages.text(&ui, &Msg::new("login-title").arg("school", resolved.display_name())),
            csrf_token => &nonce,
            return_to,
            email,
            error => error.map(|id| state.pages.text_of(&ui, id)),
        },
    );
    let _ = response.add_cookie(&cookie(login_csrf_cookie(resolved), nonce, resolved, "/"));
    response
}

/// `GET /oauth/login`: the login form.
pub async fn login_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let ui = Ui::from_request(&req);
    let resolved = match resolve(&req, &state).await {
        Ok(resolved) => resolved,
        Err(e) => return authorize::host_error_page(&state, &ui, e),
    };
    let query: Vec<(String, String)> = form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let return_to = safe_return_to(field(&query, "return_to"));
    render_login(&state, &ui, &resolved, StatusCode::OK, &return_to, "", None)
}

/// `POST /oauth/login`: checks the password and starts a session.
pub async fn login_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Bytes,
) -> HttpResponse {
    let ui = Ui::from_request(&req);
    let resolved = match resolve(&req, &state).await {
        Ok(resolved) => resolved,
        Err(e) => return authorize::host_error_page(&state, &ui, e),
    };
    let pairs = form_pairs(&body);
    let return_to = safe_return_to(field(&pairs, "return_to"));
    let email = field(&pairs, "email").unwrap_or_default().trim().to_owned();
    let password = PresentedSecret::new(field(&pairs, "password").unwrap_or_default());

    let csrf_ok = match (
        req.cookie(login_csrf_cookie(&resolved)),
        field(&pairs, "csrf_token"),
    ) {
        (Some(cookie), Some(sent)) => constant_time_eq(cookie.value(), sent),
        _ => false,
    };
    if !csrf_ok {
        return render_login(
            &state,
            &ui,
            &resolved,
            StatusCode::FORBIDDEN,
            &return_to,
            &email,
            Some("login-error-expired"),
        );
    }

    if !state
        .login_limiter
        .allows(resolved.client_ip.as_deref(), &email)
    {
        tracing::info!(host = %resolved.host, "login attempts throttled");
        return render_login(
            &state,
            &ui,
            &resolved,
            StatusCode::TOO_MANY_REQUESTS,
            &return_to,
            &email,
            Some("login-error-throttled"),
        );
    }

    let user = match state.store.find_user_by_email(&email).await {
        Ok(user) => user,
        Err(e) => {
            tracing::error!(error = %e, "user lookup failed");
            return render_login(
                &state,
                &ui,
                &resolved,
                StatusCode::SERVICE_UNAVAILABLE,
                &return_to,
                &email,
                Some("login-error-unavailable"),
            );
        }
    };
    // Verify against a decoy hash when the email is unknown, so that both
    // failures take the same time.
    let hash = user.as_ref().map_or_else(
        || state.decoy_password_hash.to_string(),
        |u| u.password_hash().to_owned(),
    );
    // The permit is held for the check; without one the request waits.
    let verified = match state.password_permits.clone().acquire_owned().await {
        Ok(permit) => web::block(move || {
            let verified = verify_password(&password, &hash);
            drop(permit);
            verified
        })
        .await
        .unwrap_or(false),
        Err(_) => false,
    };
    let user = match user {
        Some(user) if verified => user,
        _ => {
            tracing::info!(host = %resolved.host, "login failed");
            return render_login(
                &state,
                &ui,
                &resolved,
                StatusCode::UNAUTHORIZED,
                &return_to,
                &email,
                Some("login-error-incorrect"),
            );
        }
    };

    let Ok(secret) = new_token(TokenKind::Session) else {
        return render_login(
            &state,
            &ui,
            &resolved,
            StatusCode::SERVICE_UNAVAILABLE,
            &return_to,
            &email,
            Some("login-error-unavailable"),
        );
    };
    let now = Utc::now();
    if let Err(e) = state
        .store
        .insert_session(
            secret.hash(),
            user.id,
            &resolved.host,
            now,
            now + state.config.session_lifetime,
        )
        .await
    {
        tracing::error!(error = %e, "session could not be stored");
        return render_login(
            &state,
            &ui,
            &resolved,
            StatusCode::SERVICE_UNAVAILABLE,
            &return_to,
            &email,
            Some("login-error-unavailable"),
        );
    }
    tracing::info!(user.id = %user.id, host = %resolved.host, "user logged in");
    let mut response = redirect(StatusCode::SEE_OTHER, &return_to);
    let _ = response.add_cookie(&cookie(
        session_cookie(&resolved),
        secret.expose_secret().to_owned(),
        &resolved,
        "/",
    ));
    let mut expired = cookie(login_csrf_cookie(&resolved), String::new(), &resolved, "/");
    expired.make_removal();
    let _ = response.add_cookie(&expired);
    response
}

/// `POST /oauth/logout`: ends the session at this host.
pub async fn logout(req: HttpRequest, state: web::Data<AppState>, body: Bytes) -> HttpResponse {
    let ui = Ui::from_request(&req);
    let resolved = match resolve(&req, &state).await {
        Ok(resolved) => resolved,
        Err(e) => return authorize::host_error_page(&state, &ui, e),
    };
    let pairs = form_pairs(&body);
    if let Some(cookie) = req.cookie(session_cookie(&resolved)) {
        let secret = PresentedSecret::new(cookie.value());
        let sent = field(&pairs, "csrf_token").unwrap_or_default();
        if !constant_time_eq(&csrf_token_for(secret.expose_secret()), sent) {
            return state.pages.error(
                &ui,
                StatusCode::FORBIDDEN,
                resolved.display_name(),
                Msg::new("logout-refused-title"),
                Msg::new("logout-refused-message"),
                None,
            );
        }
        if let Err(e) = state.store.delete_session(secret.hash()).await {
            tracing::error!(error = %e, "session could not be deleted");
        }
    }
    let mut response = state.pages.error(
        &ui,
        StatusCode::OK,
        resolved.display_name(),
        Msg::new("logout-title"),
        Msg::new("logout-message"),
        None,
    );
    let mut expired = cookie(session_cookie(&resolved), String::new(), &resolved, "/");
    expired.make_removal();
    let _ = response.add_cookie(&expired);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_returns_only_to_the_authorization_endpoint_home_or_admin_pages() {
        for kept in [
            "/oauth/authorize?client_id=x",
            "/oauth/connected-apps",
            "/admin",
            "/admin/applications",
            "/admin/applications/lwc_0123abcd",
        ] {
            assert_eq!(safe_return_to(Some(kept)), kept);
        }
        for refused in [
            "https://evil.example/",
            "//evil.example/admin",
            "/admin/../oauth/logout",
            "/admin/./applications",
            "/admin/.%2e/api/admin/session",
            "/admin/%2e%2e/x",
            "/admin//evil.example",
            "/administrator",
            "/admin/applications?next=//evil.example",
            "/admin\\evil",
            "/admin/a\nb",
        ] {
            assert_eq!(
                safe_return_to(Some(refused)),
                "/oauth/connected-apps",
                "{refused}"
            );
        }
    }
}
