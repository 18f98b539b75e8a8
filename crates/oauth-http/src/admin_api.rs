//! The school administration API under `/api/admin/`: grants and the audit log
//! of the school whose host the request was made to.
//!
//! Only owners and managers of that school may call it, authorized by their
//! login session at that host; writes also need the session's CSRF token in
//! the `X-CSRF-Token` header. A right in one school never reaches another: the
//! school is always the host's, never a parameter.

use actix_web::http::StatusCode;
use actix_web::web::{self, Path, Query};
use actix_web::{HttpRequest, HttpResponse};
use chrono::Utc;
use oauth_core::audit::Actor;
use oauth_core::{ClientId, ErrorCode, GrantId, SchoolId, ServedAt};
use oauth_storage::{AuditMeta, GrantSummary, StorageError};
use serde::Deserialize;
use serde_json::json;

use crate::host::{resolve, HostError, Resolved};
use crate::login::{self, LoggedIn};
use crate::respond::{json_error, json_no_store};
use crate::security::constant_time_eq;
use crate::AppState;

const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 200;

fn unavailable(error: &StorageError) -> HttpResponse {
    tracing::error!(error = %error, "storage failed in the admin API");
    json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::TemporarilyUnavailable,
        "try again in a moment",
    )
}

/// An authorized administrator of the host's school.
struct Admin {
    resolved: Resolved,
    logged_in: LoggedIn,
    school: SchoolId,
}

impl Admin {
    fn meta(&self) -> AuditMeta {
        AuditMeta {
            actor: Actor::User(self.logged_in.user.id),
            client_ip: self.resolved.client_ip.clone(),
        }
    }
}

async fn admin(req: &HttpRequest, state: &AppState, write: bool) -> Result<Admin, HttpResponse> {
    let resolved = match resolve(req, state).await {
        Ok(resolved) => resolved,
        Err(HostError::Unknown) => {
            return Err(json_error(
                StatusCode::NOT_FOUND,
                ErrorCode::InvalidRequest,
                "this host is not a school on Loopwise",
            ))
        }
        Err(HostError::Storage(e)) => return Err(unavailable(&e)),
    };
    let ServedAt::School(school) = resolved.served_at else {
        return Err(json_error(
            StatusCode::NOT_FOUND,
            ErrorCode::InvalidRequest,
            "administration is served at a school's host",
        ));
    };
    let logged_in = match login::current(req, state, &resolved).await {
        Ok(Some(logged_in)) => logged_in,
        Ok(None) => {
            return Err(json_error(
                StatusCode::UNAUTHORIZED,
                ErrorCode::LoginRequired,
                "log in at this school first",
            ))
        }
        Err(e) => return Err(unavailable(&e)),
    };
    let role = state
        .store
        .find_role(logged_in.user.id, school)
        .await
        .map_err(|e| unavailable(&e))?;
    if !role.is_some_and(oauth_core::Role::is_school_admin) {
        tracing::info!(user.id = %logged_in.user.id, school.id = %school, "admin API refused a non-admin");
        return Err(json_error(
            StatusCode::FORBIDDEN,
            ErrorCode::AccessDenied,
            "only owners and managers of this school may do this",
        ));
    }
    if write {
        let sent = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !constant_time_eq(sent, &logged_in.csrf_token) {
            return Err(json_error(
                StatusCode::FORBIDDEN,
                ErrorCode::AccessDenied,
                "the X-CSRF-Token header is missing or wrong",
            ));
        }
    }
    Ok(Admin {
        resolved,
        logged_in,
        school,
    })
}

/// `GET /api/admin/session`: who is administering which school, and the CSRF
/// token that writes must carry. Only same-origin pages can read it.
pub async fn session(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match admin(&req, &state, false).await {
        Ok(admin) => json_no_store(&json!({
            "user_id": admin.logged_in.user.id.to_string(),
            "email": admin.logged_in.user.email,
            "school_id": admin.school.to_string(),
            "csrf_token": admin.logged_in.csrf_token,
        })),
        Err(response) => response,
    }
}

fn grant_json(g: &GrantSummary) -> serde_json::Value {
    json!({
        "id": g.id.to_string(),
        "user_id": g.user_id.to_string(),
        "user_email": g.user_email,
        "client_id": g.client_id.as_str(),
        "application_name": g.application_name,
        "scope": g.scopes.to_string(),
        "created_at": g.created_at.to_rfc3339(),
        "updated_at": g.updated_at.to_rfc3339(),
    })
}

fn page_size(limit: Option<i64>) -> i64 {
    limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}

/// Query of `GET /api/admin/grants`.
#[derive(Debug, Deserialize)]
pub struct GrantQuery {
    client_id: Option<String>,
    after: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/admin/grants`: the school's grants, newest first.
pub async fn list_grants(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Query<GrantQuery>,
) -> HttpResponse {
    let admin = match admin(&req, &state, false).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let app = match &query.client_id {
        Some(raw) => match ClientId::parse(raw).ok() {
            Some(client_id) => match state.store.find_application(&client_id).await {
                Ok(Some(stored)) => Some(stored.app.id),
                Ok(None) => return json_no_store(&json!({ "grants": [], "next": null })),
                Err(e) => return unavailable(&e),
            },
            None => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::InvalidRequest,
                    "client_id is malformed",
                )
            }
        },
        None => None,
    };
    let after = match query.after.as_deref().map(str::parse::<GrantId>) {
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidRequest,
                "after is not a grant id",
            )
        }
        None => None,
    };
    let limit = page_size(query.limit);
    match state
        .store
        .list_grants(None, admin.school, app, after, limit)
        .await
    {
        Ok(grants) => {
            let next = (i64::try_from(grants.len()).unwrap_or(i64::MAX) == limit)
                .then(|| grants.last().map(|g| g.id.to_string()))
                .flatten();
            json_no_store(
                &json!({ "grants": grants.iter().map(grant_json).collect::<Vec<_>>(), "next": next }),
            )
        }
        Err(e) => unavailable(&e),
    }
}

/// `POST /api/admin/grants/{id}/revoke`.
pub async fn revoke_grant(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: Path<String>,
) -> HttpResponse {
    let admin = match admin(&req, &state, true).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let Ok(grant) = id.parse::<GrantId>() else {
        return json_error(
            StatusCode::NOT_FOUND,
            ErrorCode::InvalidRequest,
            "no such grant in this school",
        );
    };
    match state
        .store
        .revoke_grant(grant, admin.school, None, admin.meta(), Utc::now())
        .await
    {
        Ok(true) => {
            tracing::info!(grant.id = %grant, user.id = %admin.logged_in.user.id, "admin revoked a grant");
            json_no_store(&json!({ "revoked": 1 }))
        }
        Ok(false) => json_error(
            StatusCode::NOT_FOUND,
            ErrorCode::InvalidRequest,
            "no such grant in this school",
        ),
        Err(e) => unavailable(&e),
    }
}

/// `POST /api/admin/applications/{client_id}/revoke-grants`: every grant of one
/// application in this school.
pub async fn revoke_application_grants(
    req: HttpRequest,
    state: web::Data<AppState>,
    client_id: Path<String>,
) -> HttpResponse {
    let admin = match admin(&req, &state, true).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let not_found = || {
        json_error(
            StatusCode::NOT_FOUND,
            ErrorCode::InvalidRequest,
            "no such application in this school",
        )
    };
    let Ok(client_id) = ClientId::parse(&client_id) else {
        return not_found();
    };
    let app = match state.store.find_application(&client_id).await {
        Ok(Some(stored))
            if stored.app.is_usable_at(admin.resolved.served_at) || stored.app.disabled =>
        {
            stored.app
        }
        Ok(_) => return not_found(),
        Err(e) => return unavailable(&e),
    };
    if !matches!(app.registration, oauth_core::Registration::Platform)
        && app.registration != oauth_core::Registration::School(admin.school)
    {
        return not_found();
    }
    match state
        .store
        .revoke_application_grants(app.id, admin.school, admin.meta(), Utc::now())
        .await
    {
        Ok(count) => json_no_store(&json!({ "revoked": count })),
        Err(e) => unavailable(&e),
    }
}

/// Query of `GET /api/admin/audit`.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
    limit: Option<i64>,
}

/// `GET /api/admin/audit`: the school's audit log, newest first.
pub async fn audit(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Query<AuditQuery>,
) -> HttpResponse {
    let admin = match admin(&req, &state, false).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let limit = page_size(query.limit);
    match state
        .store
        .list_audit_events(admin.school, query.before, limit)
        .await
    {
        Ok(events) => {
            let next = (i64::try_from(events.len()).unwrap_or(i64::MAX) == limit)
                .then(|| events.last().map(|e| e.seq))
                .flatten();
            let events: Vec<_> = events
                .iter()
                .map(|e| {
                    json!({
                        "seq": e.seq,
                        "occurred_at": e.occurred_at.to_rfc3339(),
                        "kind": e.kind,
                        "outcome": e.outcome,
                        "reason": e.reason,
                        "actor": e.actor,
                        "user_id": e.user_id.map(|u| u.to_string()),
                        "client_id": e.client_id.as_ref().map(ClientId::as_str),
                        "grant_id": e.grant_id.map(|g| g.to_string()),
                        "client_ip": e.client_ip,
                    })
                })
                .collect();
            json_no_store(&json!({ "events": events, "next": next }))
        }
        Err(e) => unavailable(&e),
    }
}
