//! The connected-apps page: people see which applications may act for them in
//! this school, and revoke any of them. Revocation takes effect on the next
//! request of the application.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use chrono::Utc;
use minijinja::context;
use oauth_core::audit::Actor;
use oauth_core::{GrantId, ServedAt};
use oauth_storage::AuditMeta;

use crate::authorize::host_error_page;
use crate::host::resolve;
use crate::i18n::{scope_message_id, Msg};
use crate::login;
use crate::pages::Ui;
use crate::respond::redirect;
use crate::security::constant_time_eq;
use crate::AppState;

const PATH: &str = "/oauth/connected-apps";

/// `GET /oauth/connected-apps`.
pub async fn page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let ui = Ui::from_request(&req).returning_to(PATH);
    let resolved = match resolve(&req, &state).await {
        Ok(resolved) => resolved,
        Err(e) => return host_error_page(&state, &ui, e),
    };
    let ServedAt::School(school) = resolved.served_at else {
        return state.pages.error(
            &ui,
            StatusCode::NOT_FOUND,
            resolved.display_name(),
            Msg::new("error-connected-elsewhere-title"),
            Msg::new("error-connected-elsewhere-message"),
            None,
        );
    };
    let logged_in = match login::current(&req, &state, &resolved).await {
        Ok(Some(logged_in)) => logged_in,
        Ok(None) => {
            return redirect(
                StatusCode::FOUND,
                &format!("/oauth/login?return_to={}", urlencode(PATH)),
            )
        }
        Err(e) => return crate::authorize::unavailable(&state, &ui, resolved.display_name(), &e),
    };
    let grants = match state
        .store
        .list_user_grants(logged_in.user.id, school)
        .await
    {
        Ok(grants) => grants,
        Err(e) => return crate::authorize::unavailable(&state, &ui, resolved.display_name(), &e),
    };
    let notice = req
        .query_string()
        .contains("revoked=1")
        .then(|| state.pages.text_of(&ui, "connected-revoked"));
    let grants: Vec<_> = grants
        .iter()
        .map(|g| {
            context! {
                id => g.id.to_string(),
                name => &g.application_name,
                scopes => g.scopes.iter().map(|s| state.pages.text_of(&ui, &scope_message_id(s))).collect::<Vec<_>>(),
                created => g.created_at.format("%Y-%m-%d").to_string(),
            }
        })
        .collect();
    state.pages.render(
        &ui,
        StatusCode::OK,
        "connected.html",
        context! {
            school_name => resolved.display_name(),
            title => state.pages.text_of(&ui, "connected-title"),
            user_email => &logged_in.user.email,
            grants,
            notice,
            csrf_token => &logged_in.csrf_token,
        },
    )
}

/// `POST /oauth/connected-apps/revoke`: a person revokes one of their grants.
pub async fn revoke(req: HttpRequest, state: web::Data<AppState>, body: Bytes) -> HttpResponse {
    let ui = Ui::from_request(&req).returning_to(PATH);
    let resolved = match resolve(&req, &state).await {
        Ok(resolved) => resolved,
        Err(e) => return host_error_page(&state, &ui, e),
    };
    let school_name = resolved.display_name().to_owned();
    let nothing_revoked = |status: StatusCode, reason: &'static str| {
        state.pages.error(
            &ui,
            status,
            &school_name,
            Msg::new("error-revoke-title"),
            Msg::new(reason),
            None,
        )
    };
    let ServedAt::School(school) = resolved.served_at else {
        return nothing_revoked(StatusCode::NOT_FOUND, "error-revoke-not-here");
    };
    let logged_in = match login::current(&req, &state, &resolved).await {
        Ok(Some(logged_in)) => logged_in,
        Ok(None) => return redirect(StatusCode::SEE_OTHER, PATH),
        Err(e) => return crate::authorize::unavailable(&state, &ui, &school_name, &e),
    };
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if !field("csrf_token").is_some_and(|sent| constant_time_eq(sent, &logged_in.csrf_token)) {
        return nothing_revoked(StatusCode::FORBIDDEN, "error-revoke-forged");
    }
    let Some(grant) = field("grant_id").and_then(|g| g.parse::<GrantId>().ok()) else {
        return nothing_revoked(StatusCode::BAD_REQUEST, "error-revoke-unnamed");
    };
    let meta = AuditMeta {
        actor: Actor::User(logged_in.user.id),
        client_ip: resolved.client_ip.clone(),
    };
    match state
        .store
        .revoke_grant(grant, school, Some(logged_in.user.id), meta, Utc::now())
        .await
    {
        Ok(true) => {
            tracing::info!(grant.id = %grant, user.id = %logged_in.user.id, "user revoked a grant");
            redirect(StatusCode::SEE_OTHER, &format!("{PATH}?revoked=1"))
        }
        Ok(false) => nothing_revoked(StatusCode::NOT_FOUND, "error-revoke-not-found"),
        Err(e) => crate::authorize::unavailable(&state, &ui, &school_name, &e),
    }
}

fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
