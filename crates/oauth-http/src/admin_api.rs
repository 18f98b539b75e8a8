//! The school administration API under `/api/admin/`: the school's own
//! applications, its grants and its audit log, at the school's host.
//!
//! Only owners and managers of that school may call it, in one of two ways:
//! with their login session at that host (writes also need the session's CSRF
//! token in the `X-CSRF-Token` header), or with a bearer access token issued
//! at that school carrying `admin:read` or `admin:write`. A right in one
//! school never reaches another: the school is always the host's, never a
//! parameter. The rules themselves live in `oauth_core::admin` and
//! `oauth_admin::SchoolAdmin`; this module turns HTTP into calls to them.
//!
//! Every route is declared with its OpenAPI description next to it and
//! registered through [`routes`], which both the server and the document at
//! `/api/admin/openapi.json` use, so the two cannot drift apart.

use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes, Path, Query};
use actix_web::{delete, get, patch, post, HttpRequest, HttpResponse};
use chrono::Utc;
use oauth_admin::{AdminError, ApplicationChange, NewSchoolApplication, SchoolAdmin};
use oauth_core::access::{bearer_token, check_issuer_token, AccessError};
use oauth_core::admin::{authorize_admin, AdminAction, AdminCredential, AdminRefusal};
use oauth_core::audit::Actor;
use oauth_core::{Audience, ClientId, ClientType, ErrorCode, GrantId, PresentedSecret, SchoolId};
use oauth_core::{ServedAt, UserId};
use oauth_storage::{AuditMeta, GrantCursor, GrantSummary, StorageError, StoredApplication};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::AppExt;

use crate::host::{resolve, HostError, Resolved};
use crate::login;
use crate::respond::{json_error, json_no_store, json_with_status};
use crate::security::constant_time_eq;
use crate::AppState;

const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 200;

/// Registers every admin API route. The server and the OpenAPI document are
/// both built from this one list.
pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(session)
        .service(list_applications)
        .service(create_application)
        .service(show_application)
        .service(update_application)
        .service(delete_application)
        .service(rotate_secret)
        .service(disable_application)
        .service(enable_application)
        .service(revoke_application_grants)
        .service(list_grants)
        .service(revoke_grant)
        .service(audit);
}

/// Registers the admin API and its OpenAPI document on a plain actix-web
/// configuration.
pub fn configure(cfg: &mut web::ServiceConfig) {
    {
        let mut documented = ServiceConfig::new(cfg);
        routes(&mut documented);
    }
    cfg.route("/api/admin/openapi.json", web::get().to(openapi_json));
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Loopwise Connect school administration API",
        description = "Manage one school's applications, grants and audit log at the school's own host. \
            Authorize with the login session of an owner or manager (writes carry the session's \
            CSRF token in X-CSRF-Token) or with a bearer token of that school carrying admin:read \
            or admin:write.",
        license(name = "Apache-2.0")
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "applications", description = "The school's own OAuth applications"),
        (name = "grants", description = "Consents given by the school's users"),
        (name = "audit", description = "The school's security events"),
        (name = "session", description = "Who is administering")
    )
)]
struct AdminApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "lwc_session",
                "The login session at the school's host (named __Host-lwc_session over https); \
                 writes also need the X-CSRF-Token header from GET /api/admin/session.",
            ))),
        );
    }
}

/// The OpenAPI document of the admin API, as JSON.
pub fn openapi_document() -> &'static str {
    static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
        let (_, api) = actix_web::App::new()
            .into_utoipa_app()
            .openapi(AdminApiDoc::openapi())
            .configure(routes)
            .split_for_parts();
        api.to_pretty_json().unwrap_or_else(|e| {
            tracing::error!(error = %e, "the admin OpenAPI document could not be serialized");
            "{}".to_owned()
        })
    });
    &DOCUMENT
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(openapi_document())
}

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
    school: SchoolId,
    user_id: UserId,
    email: String,
    /// The session's CSRF token; `None` for a bearer token.
    csrf_token: Option<String>,
}

impl Admin {
    fn meta(&self) -> AuditMeta {
        AuditMeta {
            actor: Actor::User(self.user_id),
            client_ip: self.resolved.client_ip.clone(),
        }
    }

    fn applications(&self, state: &AppState) -> SchoolAdmin {
        SchoolAdmin::new(state.store.clone(), self.school, self.meta())
    }
}

/// An RFC 6750 error for a bearer token: the status, the challenge and the
/// same code and description in a JSON body.
fn bearer_refusal(error: &AccessError, realm: &str) -> HttpResponse {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    let code = error.error_code().unwrap_or(ErrorCode::InvalidToken);
    let mut response = json_error(status, code, &error.to_string());
    if let Ok(value) = HeaderValue::from_str(&error.www_authenticate(realm)) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

fn refusal(refused: &AdminRefusal, realm: &str) -> HttpResponse {
    match refused {
        AdminRefusal::InsufficientScope(scope) => {
            bearer_refusal(&AccessError::InsufficientScope(*scope), realm)
        }
        other => json_error(
            StatusCode::FORBIDDEN,
            other.error_code(),
            &other.to_string(),
        ),
    }
}

/// The `Authorization` header: `None` when absent, `Some("malformed")` when
/// repeated or not text (RFC 6750 §2: one way, one token).
fn authorization_header(req: &HttpRequest) -> Option<&str> {
    let mut values = req.headers().get_all(header::AUTHORIZATION);
    match (values.next(), values.next()) {
        (Some(_), Some(_)) => Some("malformed"),
        (Some(value), None) => Some(value.to_str().unwrap_or("malformed")),
        (None, _) => None,
    }
}

async fn admin(
    req: &HttpRequest,
    state: &AppState,
    action: AdminAction,
) -> Result<Admin, HttpResponse> {
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
    let realm = resolved.issuer();
    if let Some(authorization) = authorization_header(req) {
        let token = bearer_token(Some(authorization)).map_err(|e| bearer_refusal(&e, &realm))?;
        let record = state
            .store
            .find_access_token(PresentedSecret::new(token).hash())
            .await
            .map_err(|e| unavailable(&e))?;
        let access = check_issuer_token(record.as_ref(), resolved.served_at, Utc::now())
            .map_err(|e| bearer_refusal(&e, &realm))?;
        // A token bound to another resource (RFC 8707) is not for this API.
        if access.resource.is_some() {
            return Err(bearer_refusal(&AccessError::InvalidToken, &realm));
        }
        let role = state
            .store
            .find_role(access.user_id, school)
            .await
            .map_err(|e| unavailable(&e))?;
        authorize_admin(role, AdminCredential::Bearer(&access), action)
            .map_err(|refused| refusal(&refused, &realm))?;
        let email = match state.store.find_user(access.user_id).await {
            Ok(Some(user)) => user.email,
            Ok(None) => return Err(bearer_refusal(&AccessError::InvalidToken, &realm)),
            Err(e) => return Err(unavailable(&e)),
        };
        return Ok(Admin {
            resolved,
            school,
            user_id: access.user_id,
            email,
            csrf_token: None,
        });
    }
    let logged_in = match login::current(req, state, &resolved).await {
        Ok(Some(logged_in)) => logged_in,
        Ok(None) => {
            return Err(json_error(
                StatusCode::UNAUTHORIZED,
                ErrorCode::LoginRequired,
                "log in at this school first, or send a bearer token",
            ))
        }
        Err(e) => return Err(unavailable(&e)),
    };
    let role = state
        .store
        .find_role(logged_in.user.id, school)
        .await
        .map_err(|e| unavailable(&e))?;
    let sent = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let csrf_valid = constant_time_eq(sent, &logged_in.csrf_token);
    if let Err(refused) = authorize_admin(role, AdminCredential::Session { csrf_valid }, action) {
        tracing::info!(user.id = %logged_in.user.id, school.id = %school, reason = %refused, "admin API refused");
        return Err(refusal(&refused, &realm));
    }
    Ok(Admin {
        resolved,
        school,
        user_id: logged_in.user.id,
        email: logged_in.user.email,
        csrf_token: Some(logged_in.csrf_token),
    })
}

/// Runs `admin` and returns its refusal response on failure.
macro_rules! admin_or_return {
    ($req:expr, $state:expr, $action:expr) => {
        match admin(&$req, &$state, $action).await {
            Ok(admin) => admin,
            Err(response) => return response,
        }
    };
}

/// Maps a refused administrative command to a JSON error.
fn admin_error(error: &AdminError) -> HttpResponse {
    let (status, code) = match error {
        AdminError::InvalidRedirectUri { .. }
        | AdminError::NoRedirectUri
        | AdminError::TooManyRedirectUris
        | AdminError::RepeatedRedirectUri(_) => {
            (StatusCode::BAD_REQUEST, ErrorCode::InvalidRedirectUri)
        }
        AdminError::InvalidScope(e) => (StatusCode::BAD_REQUEST, e.error_code()),
        AdminError::NoScope => (StatusCode::BAD_REQUEST, ErrorCode::InvalidScope),
        AdminError::AudienceNotAllowed(_) | AdminError::InvalidName => {
            (StatusCode::BAD_REQUEST, ErrorCode::InvalidClientMetadata)
        }
        AdminError::ApplicationNotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::InvalidRequest),
        AdminError::Storage(StorageError::Conflict(_)) => {
            (StatusCode::CONFLICT, ErrorCode::InvalidRequest)
        }
        AdminError::Storage(e) => return unavailable(e),
        AdminError::Random => {
            tracing::error!("the system random source failed");
            return json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TemporarilyUnavailable,
                "try again in a moment",
            );
        }
        _ => (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest),
    };
    json_error(status, code, &error.to_string())
}

fn bad_request(description: &str) -> HttpResponse {
    json_error(
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidRequest,
        description,
    )
}

/// Reads a JSON body, or answers why it is not one this operation takes.
macro_rules! body_or_return {
    ($body:expr) => {
        match serde_json::from_slice(&$body) {
            Ok(body) => body,
            Err(e) => {
                return bad_request(&format!(
                    "the request body is not valid for this operation: {e}"
                ))
            }
        }
    };
}

fn page_size(limit: Option<i64>) -> i64 {
    limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}

/// An OAuth error answer.
#[derive(Debug, Serialize, ToSchema)]
struct ErrorBody {
    /// The OAuth error code (`invalid_request`, `invalid_scope`,
    /// `invalid_redirect_uri`, `invalid_client_metadata`, `access_denied`,
    /// `insufficient_scope`, `invalid_token`, `login_required`).
    error: String,
    /// What was wrong, for a person.
    error_description: String,
}

/// Who is administering which school.
#[derive(Debug, Serialize, ToSchema)]
struct SessionView {
    user_id: String,
    email: String,
    school_id: String,
    /// The token that writes from this session carry in `X-CSRF-Token`;
    /// `null` when authorized by a bearer token.
    csrf_token: Option<String>,
}

/// `GET /api/admin/session`: who is administering which school, and the CSRF
/// token that writes must carry. Only same-origin pages can read it.
#[utoipa::path(
    tag = "session",
    responses(
        (status = 200, description = "The administrator", body = SessionView),
        (status = 401, description = "Not logged in, or the token is invalid", body = ErrorBody),
        (status = 403, description = "Not an owner or manager of this school", body = ErrorBody)
    ),
    security(("session" = []), ("bearer" = ["admin:read"]))
)]
#[get("/api/admin/session")]
async fn session(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let admin = admin_or_return!(req, state, AdminAction::Read);
    json_no_store(&json_value(&SessionView {
        user_id: admin.user_id.to_string(),
        email: admin.email,
        school_id: admin.school.to_string(),
        csrf_token: admin.csrf_token,
    }))
}

fn json_value<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// An application of the school.
#[derive(Debug, Serialize, ToSchema)]
struct ApplicationView {
    client_id: String,
    name: String,
    /// `confidential` or `public`.
    client_type: String,
    /// `member` or `org_admin`.
    audience: String,
    redirect_uris: Vec<String>,
    /// The scopes it may receive, space-separated.
    scope: String,
    may_introspect: bool,
    disabled: bool,
    /// It registered itself (dynamic client registration).
    self_registered: bool,
    /// Whether it has a client secret (never shown again after creation or
    /// rotation).
    has_secret: bool,
    created_by: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<&StoredApplication> for ApplicationView {
    fn from(stored: &StoredApplication) -> Self {
        let app = &stored.app;
        Self {
            client_id: app.client_id.as_str().to_owned(),
            name: app.name.clone(),
            client_type: app.client_type.as_str().to_owned(),
            audience: app.audience.as_str().to_owned(),
            redirect_uris: app
                .redirect_uris
                .iter()
                .map(|u| u.as_str().to_owned())
                .collect(),
            scope: app.scopes.to_string(),
            may_introspect: stored.may_introspect,
            disabled: app.disabled,
            self_registered: stored.self_registered,
            has_secret: stored.secret_hash.is_some(),
            created_by: stored.created_by.map(|u| u.to_string()),
            created_at: stored.created_at.to_rfc3339(),
            updated_at: stored.updated_at.to_rfc3339(),
        }
    }
}

/// A page of applications.
#[derive(Debug, Serialize, ToSchema)]
struct ApplicationPage {
    applications: Vec<ApplicationView>,
    /// Pass as `after` for the next page; `null` on the last page.
    next: Option<String>,
}

/// Paging by client id.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ApplicationQuery {
    /// Start after this client id.
    after: Option<String>,
    /// At most this many (1 to 200, default 50).
    limit: Option<i64>,
}

/// `GET /api/admin/applications`: the school's applications by client id.
#[utoipa::path(
    tag = "applications",
    params(ApplicationQuery),
    responses(
        (status = 200, description = "A page of applications", body = ApplicationPage),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)
    ),
    security(("session" = []), ("bearer" = ["admin:read"]))
)]
#[get("/api/admin/applications")]
async fn list_applications(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Query<ApplicationQuery>,
) -> HttpResponse {
    let admin = admin_or_return!(req, state, AdminAction::Read);
    let after = match query.after.as_deref().map(ClientId::parse) {
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => return bad_request("after is not a client id"),
        None => None,
    };
    let limit = page_size(query.limit);
    match admin.applications(&state).list(after.as_ref(), limit).await {
        Ok(apps) => {
            let next = (i64::try_from(apps.len()).unwrap_or(i64::MAX) == limit)
                .then(|| apps.last().map(|a| a.app.client_id.as_str().to_owned()))
                .flatten();
            json_no_store(&json_value(&ApplicationPage {
                applications: apps.iter().map(ApplicationView::from).collect(),
                next,
            }))
        }
        Err(e) => admin_error(&e),
    }
}

/// A new application.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateApplication {
    /// Shown on consent pages (1 to 200 characters).
    name: String,
    /// Where codes may be sent: exact URIs; `http` only for loopback.
    redirect_uris: Vec<String>,
    /// Space-separated scopes (`family:*` allowed); `admin:*` only with the
    /// `org_admin` audience.
    scope: String,
    /// `member` (default) or `org_admin`.
    audience: Option<String>,
    /// `confidential` (default, gets a secret) or `public`.
    client_type: Option<String>,
    /// May call the introspection endpoint (default false).
    may_introspect: Option<bool>,
}

/// A created application, with its secret: the only time it is shown.
#[derive(Debug, Serialize, ToSchema)]
struct CreatedApplication {
    application: ApplicationView,
    /// The client secret of a confidential client; store it now.
    client_secret: Option<String>,
}

/// Reads an optional audience, or answers that it names none.
macro_rules! audience_or_return {
    ($raw:expr) => {
        match $raw.map(str::parse::<Audience>).transpose() {
            Ok(audience) => audience,
            Err(_) => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::InvalidClientMetadata,
                    "audience must be member or org_admin",
                )
            }
        }
    };
}

/// `POST /api/admin/applications`: registers an application of the school.
#[utoipa::path(
    tag = "applications",
    request_body = CreateApplication,
    responses(
        (status = 201, description = "Created; the secret is shown only now", body = CreatedApplication),
        (status = 400, description = "A rule refused it", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)
    ),
    security(("session" = []), ("bearer" = ["admin:write"]))
)]
#[post("/api/admin/applications")]
async fn create_application(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Bytes,
) -> HttpResponse {
    let admin = admin_or_return!(req, state, AdminAction::Write);
    let body: CreateApplication = body_or_return!(body);
    let audience = audience_or_return!(body.audience.as_deref()).unwrap_or(Audience::Member);
    let client_type = match body.client_type.as_deref().map(str::parse::<ClientType>) {
        Some(Ok(client_type)) => client_type,
        None => ClientType::Confidential,
        Some(Err(_)) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidClientMetadata,
                "client_type must be confidential or public",
            )
        }
    };
    let apps = admin.applications(&state);
    let registered = match apps
        .create(
            NewSchoolApplication {
                name: body.name,
                redirect_uris: body.redirect_uris,
                scopes: body.scope,
                audience,
                client_type,
                may_introspect: body.may_introspect.unwrap_or(false),
            },
            Some(admin.user_id),
        )
        .await
    {
        Ok(registered) => registered,
        Err(e) => return admin_error(&e),
    };
    match apps.find(registered.app.client_id.as_str()).await {
        Ok(stored) => json_with_status(
            StatusCode::CREATED,
            &json_value(&CreatedApplication {
                application: ApplicationView::from(&stored),
                client_secret: registered
                    .secret
                    .as_ref()
                    .map(|s| s.expose_secret().to_owned()),
            }),
        ),
        Err(e) => admin_error(&e),
    }
}

/// `GET /api/admin/applications/{client_id}`.
#[utoipa::path(
    tag = "applications",
    params(("client_id" = String, Path, description = "The application's client id")),
    responses(
        (status = 200, body = ApplicationView),
        (status = 404, description = "No such application in this school", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)
    ),
    security(("session" = []), ("bearer" = ["admin:read"]))
)]
#[get("/api/admin/applications/{client_id}")]
async fn show_application(
    req: HttpRequest,
    state: web::Data<AppState>,
    client_id: Path<String>,
) -> HttpResponse {
    let admin = admin_or_return!(req, state, AdminAction::Read);
    match admin.applications(&state).find(&client_id).await {
        Ok(stored) => json_no_store(&json_value(&ApplicationView::from(&stored))),
        Err(e) => admin_error(&e),
    }
}

/// A change: only the fields given are changed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateApplication {
    name: Option<String>,
    /// Replaces every redirect URI.
    redirect_uris: Option<Vec<String>>,
    /// Replaces every scope.
    scope: Option<String>,
    /// `member` or `org_admin`.
    audience: Option<String>,
    may_introspect: Option<bool>,
}

/// The application after a change.
#[derive(Debug, Serialize, ToSchema)]
struct ChangedApplication {
    application: ApplicationView,
    /// Grants revoked because the change removed a scope or tightened the
    /// audience (users consent again).
    revoked_grants: usize,
}

/// `PATCH /api/admin/applications/{client_id}`: changes the name, redirect
/// URIs, scopes, audience or introspection right. Removing a scope or
/// tightening the audience revokes every grant of the application.
#[utoipa::path(
    tag = "applications",
    params(("client_id" = String, Path, description = "The application's client id")),
    request_body = UpdateApplication,
    responses(
        (status = 200, body = ChangedApplication),
        (status = 400, description = "A rule refused it", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)
    ),
    security(("session" = []), ("bearer" = ["admin:write"]))
)]
#[patch("/api/admin/applications/{client_id}")]
async fn update_application(
    req: HttpRequest,
    state: web::Data<AppState>,
    client_id: Path<String>,
    body: Bytes,
) -> HttpResponse {
    let admin = admin_or_return!(req, state, AdminAction::Write);
    let body: UpdateApplication = body_or_return!(body);
    let audience = audience_or_return!(body.audience.as_deref());
    let change = ApplicationChange {
        name: body.name,
        redirect_uris: body.redirect_uris,
        scopes: body.scope,
        audience,
        may_introspect: body.may_introspect,
    };
    match admin.applications(&state).update(&client_id, change).await {
        Ok(changed) => json_no_store(&json_value(&ChangedApplication {
            application: ApplicationView::from(&changed.app),
            revoked_grants: changed.revoked_grants,
        })),
        Err(e) => admin_error(&e),
    }
}

/// What a removal or disabling revoked.
#[derive(Debug, Serialize, ToSchema)]
struct Revoked {
    /// Grants revoked, each with every token issued from it.
    revoked_grants: usize,
}

/// `DELETE /api/admin/applications/{client_id}`: deletes the application with
/// every grant, code and token it holds.
#[utoipa::path(
    tag = "applications",
    params(("client_id" = String, Path, description = "The application's client id")),
    responses(
        (status = 200, body = Revoked),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)
    ),
    security(("session" = []), ("bearer" = ["admin:write"]))
)]
#[delete("/api/admin/applications/{client_id}")]
async fn delete_application(
    req: HttpRequest,
    state: web::Data<AppState>,
    client_id: Path<String>,
) -> HttpResponse {
    let admin = admin_or_return!(req, state, AdminAction::Write);
    match admin.applications(&state).delete(&client_id).await {
        Ok(revoked_grants) => json_no_store(&json_value(&Revoked { revoked_grants })),
        Err(e) => admin_error(&e),
    }
}

/// A new client secret, shown once.
#[derive(Debug, Serialize, ToSchema)]
struct RotatedSecret {
    client_id: String,
    /// The new secret; the old one no longer works.
    client_secret: String,
}

/// `POST /api/admin/applications/{client_id}/rotate-secret`: a new secret for
/// a confidential client; the old one stops working at once.
#[utoipa::path(
    tag = "applications",
    params(("client_id" = String, Path, description = "The application's client id")),
    responses(
        (status = 200, body = RotatedSecret),
        (status = 400, description = "A public client has no secret", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)
    ),
    security(("session" = []), ("bearer" = ["admin:write"]))
)]
#[post("/api/admin/applications/{client_id}/rotate-secret")]
async fn rotate_secret(
    req: HttpRequest,
    state: web::Data<AppState>,
    client_id: Path<String>,
) -> HttpResponse {
    let admin = admin_or_return!(req, state, AdminAction::Write);
    match admin.applications(&state).rotate_secret(&client_id).await {
        Ok(secret) => json_no_store(&json_value(&RotatedSecret {
            client_id: client_id.into_inner(),
            client_secret: secret.expose_secret().to_owned(),
        })),
        Err(e) => admin_error(&e),
    }
}

async fn set_disabled(
    req: HttpRequest,
    state: web::Data<AppState>,
    client_id: Path<String>,
    disabled: bool,
) -> HttpResponse {
    let admin = admin_or_return!(req, state, AdminAction::Write);
    let apps = admin.applications(&state);
    match apps.set_disabled(&client_id, disabled).await {
        Ok(revoked_grants) => match apps.find(&client_id).await {
            Ok(stored) => json_no_store(&json_value(&ChangedApplication {
                application: ApplicationView::from(&stored),
                revoked_grants,
            })),
            Err(e) => admin_error(&e),
        },
        Err(e) => admin_error(&e),
    }
}

/// `POST /api/admin/applications/{client_id}/disable`: the application stops
/// working everywhere; every grant and token it holds is revoked.
#[utoipa::path(
    tag = "applications",
    params(("client_id" = String, Path, description = "The application's client id")),
    responses(
        (status = 200, body = ChangedApplication),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)
    ),
    security(("session" = []), ("bearer" = ["admin:write"]))
)]
#[post("/api/admin/applications/{client_id}/disable")]
async fn disable_application(
    req: HttpRequest,
    state: web::Data<AppState>,
    client_id: Path<String>,
) -> HttpResponse {
    set_disabled(req, state, client_id, true).await
}

/// `POST /api/admin/applications/{client_id}/enable`: a disabled application
/// works again (grants revoked when it was disabled stay revoked).
#[utoipa::path(
    tag = "applications",
    params(("client_id" = String, Path, description = "The application's client id")),
    responses(
        (status = 200, body = ChangedApplication),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)
    ),
    security(("session" = []), ("bearer" = ["admin:write"]))
)]
#[post("/api/admin/applications/{client_id}/enable")]
async fn enable_application(
    req: HttpRequest,
    state: web::Data<AppState>,
    client_id: Path<String>,
) -> HttpResponse {
    set_disabled(req, state, client_id, false).await
}

/// How many grants were revoked.
#[derive(Debug, Serialize, ToSchema)]
struct RevokedCount {
    revoked: usize,
}

/// `POST /api/admin/applications/{client_id}/revoke-grants`: every grant of
/// one application in this school, a platform application included.
#[utoipa::path(
    tag = "grants",
    params(("client_id" = String, Path, description = "The application's client id")),
    responses(
        (status = 200, body = RevokedCount),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)
    ),
    security(("session" = []), ("bearer" = ["admin:write"]))
)]
#[post("/api/admin/applications/{client_id}/revoke-grants")]
async fn revoke_application_grants(
    req: HttpRequest,
    state: web::Data<AppState>,
    client_id: Path<String>,
) -> HttpResponse {
    let admin = admin_or_return!(req, state, AdminAction::Write);
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
        Ok(revoked) => json_no_store(&json_value(&RevokedCount { revoked })),
        Err(e) => unavailable(&e),
    }
}

/// A grant: one user's consent to one application in this school.
#[derive(Debug, Serialize, ToSchema)]
struct GrantView {
    id: String,
    user_id: String,
    user_email: String,
    client_id: String,
    application_name: String,
    /// The approved scopes, space-separated.
    scope: String,
    created_at: String,
    updated_at: String,
}

impl From<&GrantSummary> for GrantView {
    fn from(g: &GrantSummary) -> Self {
        Self {
            id: g.id.to_string(),
            user_id: g.user_id.to_string(),
            user_email: g.user_email.clone(),
            client_id: g.client_id.as_str().to_owned(),
            application_name: g.application_name.clone(),
            scope: g.scopes.to_string(),
            created_at: g.created_at.to_rfc3339(),
            updated_at: g.updated_at.to_rfc3339(),
        }
    }
}

/// A page of grants.
#[derive(Debug, Serialize, ToSchema)]
struct GrantPage {
    grants: Vec<GrantView>,
    /// Pass as `after` for the next page; `null` on the last page.
    next: Option<String>,
}

/// Query of `GET /api/admin/grants`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct GrantQuery {
    /// Only grants of this application.
    client_id: Option<String>,
    /// The `next` of the previous page.
    after: Option<String>,
    /// At most this many (1 to 200, default 50).
    limit: Option<i64>,
}

/// `GET /api/admin/grants`: the school's grants, newest first.
#[utoipa::path(
    tag = "grants",
    params(GrantQuery),
    responses(
        (status = 200, body = GrantPage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)
    ),
    security(("session" = []), ("bearer" = ["admin:read"]))
)]
#[get("/api/admin/grants")]
async fn list_grants(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Query<GrantQuery>,
) -> HttpResponse {
    let admin = admin_or_return!(req, state, AdminAction::Read);
    let empty = || {
        json_no_store(&json_value(&GrantPage {
            grants: vec![],
            next: None,
        }))
    };
    let app = match &query.client_id {
        Some(raw) => match ClientId::parse(raw).ok() {
            Some(client_id) => match state.store.find_application(&client_id).await {
                Ok(Some(stored)) => Some(stored.app.id),
                Ok(None) => return empty(),
                Err(e) => return unavailable(&e),
            },
            None => return bad_request("client_id is malformed"),
        },
        None => None,
    };
    let after = match query.after.as_deref().map(str::parse::<GrantCursor>) {
        Some(Ok(cursor)) => Some(cursor),
        Some(Err(_)) => return bad_request("after is not a cursor from an earlier page"),
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
                .then(|| grants.last().map(|g| GrantCursor::after(g).to_string()))
                .flatten();
            json_no_store(&json_value(&GrantPage {
                grants: grants.iter().map(GrantView::from).collect(),
                next,
            }))
        }
        Err(e) => unavailable(&e),
    }
}

/// `POST /api/admin/grants/{id}/revoke`: one grant with every token issued
/// from it.
#[utoipa::path(
    tag = "grants",
    params(("id" = String, Path, description = "The grant's id")),
    responses(
        (status = 200, body = RevokedCount),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)
    ),
    security(("session" = []), ("bearer" = ["admin:write"]))
)]
#[post("/api/admin/grants/{id}/revoke")]
async fn revoke_grant(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: Path<String>,
) -> HttpResponse {
    let admin = admin_or_return!(req, state, AdminAction::Write);
    let not_found = || {
        json_error(
            StatusCode::NOT_FOUND,
            ErrorCode::InvalidRequest,
            "no such grant in this school",
        )
    };
    let Ok(grant) = id.parse::<GrantId>() else {
        return not_found();
    };
    match state
        .store
        .revoke_grant(grant, admin.school, None, admin.meta(), Utc::now())
        .await
    {
        Ok(true) => {
            tracing::info!(grant.id = %grant, user.id = %admin.user_id, "admin revoked a grant");
            json_no_store(&json_value(&RevokedCount { revoked: 1 }))
        }
        Ok(false) => not_found(),
        Err(e) => unavailable(&e),
    }
}

/// One security event.
#[derive(Debug, Serialize, ToSchema)]
struct AuditEventView {
    /// Its position in the log; pass as `before` to page.
    seq: i64,
    occurred_at: String,
    /// `authorization.granted`, `tokens.issued`, `grant.revoked`,
    /// `application.created`…
    kind: String,
    /// `success` or `failure`.
    outcome: String,
    reason: Option<String>,
    /// `user:<id>`, `client:<client_id>` or `operator`.
    actor: String,
    user_id: Option<String>,
    client_id: Option<String>,
    grant_id: Option<String>,
    client_ip: Option<String>,
}

/// A page of audit events.
#[derive(Debug, Serialize, ToSchema)]
struct AuditPage {
    events: Vec<AuditEventView>,
    /// Pass as `before` for the next page; `null` on the last page.
    next: Option<i64>,
}

/// Query of `GET /api/admin/audit`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Only events older than this sequence number.
    before: Option<i64>,
    /// At most this many (1 to 200, default 50).
    limit: Option<i64>,
}

/// `GET /api/admin/audit`: the school's audit log, newest first.
#[utoipa::path(
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, body = AuditPage),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)
    ),
    security(("session" = []), ("bearer" = ["admin:read"]))
)]
#[get("/api/admin/audit")]
async fn audit(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Query<AuditQuery>,
) -> HttpResponse {
    let admin = admin_or_return!(req, state, AdminAction::Read);
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
            let events = events
                .iter()
                .map(|e| AuditEventView {
                    seq: e.seq,
                    occurred_at: e.occurred_at.to_rfc3339(),
                    kind: e.kind.clone(),
                    outcome: e.outcome.clone(),
                    reason: e.reason.clone(),
                    actor: e.actor.clone(),
                    user_id: e.user_id.map(|u| u.to_string()),
                    client_id: e.client_id.as_ref().map(|c| c.as_str().to_owned()),
                    grant_id: e.grant_id.map(|g| g.to_string()),
                    client_ip: e.client_ip.clone(),
                })
                .collect();
            json_no_store(&json_value(&AuditPage { events, next }))
        }
        Err(e) => unavailable(&e),
    }
}
