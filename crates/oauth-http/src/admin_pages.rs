//! The school administration pages under `/admin`: server-rendered HTML forms
//! over the same operations as the admin API (`oauth_admin::SchoolAdmin` and
//! the grant and audit queries), for owners and managers logged in at the
//! school's host.
//!
//! The pages work without JavaScript: every action is a form post carrying the
//! session's CSRF token, answered with a redirect (or, for a new secret, a page
//! that shows it once and is never stored by caches).

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes, Path, Query};
use actix_web::{HttpRequest, HttpResponse};
use chrono::Utc;
use minijinja::{context, Value};
use oauth_admin::{AdminError, ApplicationChange, NewSchoolApplication, SchoolAdmin};
use oauth_core::admin::{authorize_admin, AdminAction, AdminCredential};
use oauth_core::audit::Actor;
use oauth_core::scope::ScopeKind;
use oauth_core::{Audience, ClientType, GrantId, SchoolId, Scope, ServedAt};
use oauth_storage::{AuditMeta, GrantCursor, StoredApplication};
use serde::Deserialize;

use crate::authorize::{host_error_page, unavailable};
use crate::host::{resolve, Resolved};
use crate::i18n::{admin_refusal_message, scope_message_id, Msg};
use crate::login::{self, field, form_pairs, LoggedIn};
use crate::pages::Ui;
use crate::respond::redirect;
use crate::security::constant_time_eq;
use crate::AppState;

const PAGE: i64 = 50;

/// Registers the pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(home))
        .route("/admin/applications", web::get().to(applications))
        .route("/admin/applications", web::post().to(create))
        .route("/admin/applications/new", web::get().to(new_form))
        .route("/admin/applications/{client_id}", web::get().to(show))
        .route("/admin/applications/{client_id}", web::post().to(update))
        .route(
            "/admin/applications/{client_id}/{action}",
            web::post().to(act),
        )
        .route("/admin/grants", web::get().to(grants))
        .route("/admin/grants/{id}/revoke", web::post().to(revoke_grant))
        .route("/admin/audit", web::get().to(audit));
}

/// An owner or manager of the host's school, logged in there.
struct PageAdmin {
    resolved: Resolved,
    school: SchoolId,
    logged_in: LoggedIn,
    ui: Ui,
}

impl PageAdmin {
    fn school_name(&self) -> &str {
        self.resolved.display_name()
    }

    fn applications(&self, state: &AppState) -> SchoolAdmin {
        SchoolAdmin::new(state.store.clone(), self.school, self.meta())
    }

    fn meta(&self) -> AuditMeta {
        AuditMeta {
            actor: Actor::User(self.logged_in.user.id),
            client_ip: self.resolved.client_ip.clone(),
        }
    }

    /// What every admin page shows around its content.
    fn frame(&self, title: &str, section: &str) -> Value {
        context! {
            school_name => self.school_name(),
            title,
            section,
            user_email => &self.logged_in.user.email,
            csrf_token => &self.logged_in.csrf_token,
        }
    }

    fn render(
        &self,
        state: &AppState,
        status: StatusCode,
        name: &str,
        values: Value,
    ) -> HttpResponse {
        state.pages.render(&self.ui, status, name, values)
    }

    fn error(&self, state: &AppState, status: StatusCode, message: &str) -> HttpResponse {
        let frame = self.frame("Something is wrong", "");
        self.render(
            state,
            status,
            "admin_error.html",
            context! { message, ..frame },
        )
    }
}

/// Checks the host, the session and the role; for a post, the CSRF token too.
async fn page_admin(
    req: &HttpRequest,
    state: &AppState,
    post: Option<&[(String, String)]>,
) -> Result<PageAdmin, HttpResponse> {
    // TODO: the administration pages are written in English only; their
    // texts are still in their templates and should move into the message
    // catalogues, as the pages people authorize with already have.
    let ui = Ui::in_english(req);
    let resolved = resolve(req, state)
        .await
        .map_err(|e| host_error_page(state, &ui, e))?;
    let ServedAt::School(school) = resolved.served_at else {
        return Err(state.pages.error(
            &ui,
            StatusCode::NOT_FOUND,
            resolved.display_name(),
            Msg::new("error-admin-elsewhere-title"),
            Msg::new("error-admin-elsewhere-message"),
            None,
        ));
    };
    let logged_in = match login::current(req, state, &resolved).await {
        Ok(Some(logged_in)) => logged_in,
        Ok(None) => {
            let here = req.path();
            let back: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
            return Err(redirect(
                StatusCode::SEE_OTHER,
                &format!("/oauth/login?return_to={back}"),
            ));
        }
        Err(e) => return Err(unavailable(state, &ui, resolved.display_name(), &e)),
    };
    let role = state
        .store
        .find_role(logged_in.user.id, school)
        .await
        .map_err(|e| unavailable(state, &ui, resolved.display_name(), &e))?;
    let (action, csrf_valid) = match post {
        Some(pairs) => (
            AdminAction::Write,
            field(pairs, "csrf_token")
                .is_some_and(|sent| constant_time_eq(sent, &logged_in.csrf_token)),
        ),
        None => (AdminAction::Read, false),
    };
    if let Err(refused) = authorize_admin(role, AdminCredential::Session { csrf_valid }, action) {
        return Err(state.pages.error(
            &ui,
            StatusCode::FORBIDDEN,
            resolved.display_name(),
            Msg::new("error-admin-refused-title"),
            admin_refusal_message(&refused),
            None,
        ));
    }
    Ok(PageAdmin {
        resolved,
        school,
        logged_in,
        ui,
    })
}

/// Answers with the refusal page when the admin check fails.
macro_rules! admin_or_return {
    ($req:expr, $state:expr, $post:expr) => {
        match page_admin(&$req, &$state, $post).await {
            Ok(admin) => admin,
            Err(response) => return response,
        }
    };
}

/// `GET /admin`.
async fn home() -> HttpResponse {
    redirect(StatusCode::SEE_OTHER, "/admin/applications")
}

fn app_row(stored: &StoredApplication) -> Value {
    let app = &stored.app;
    context! {
        client_id => app.client_id.as_str(),
        name => &app.name,
        audience => app.audience.as_str(),
        client_type => app.client_type.as_str(),
        scopes => app.scopes.to_string(),
        redirect_uris => app.redirect_uris.iter().map(|u| u.as_str().to_owned()).collect::<Vec<_>>(),
        disabled => app.disabled,
        self_registered => stored.self_registered,
        may_introspect => stored.may_introspect,
        created_at => stored.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        updated_at => stored.updated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

/// Paging by client id.
#[derive(Debug, Deserialize)]
struct AfterQuery {
    after: Option<String>,
    notice: Option<String>,
}

fn notice_text(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "updated" => Some("Changes saved."),
        "updated-revoked" => Some(
            "Changes saved. Access was narrowed, so every grant of the application was revoked.",
        ),
        "disabled" => Some("The application is disabled; its grants and tokens were revoked."),
        "enabled" => Some("The application is enabled again."),
        "deleted" => Some("The application was deleted with all its grants and tokens."),
        "revoked" => Some("The grant and its tokens were revoked."),
        "revoked-all" => Some("Every grant of the application was revoked."),
        _ => None,
    }
}

/// `GET /admin/applications`.
async fn applications(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Query<AfterQuery>,
) -> HttpResponse {
    let admin = admin_or_return!(req, state, None);
    let after = query
        .after
        .as_deref()
        .and_then(|a| oauth_core::ClientId::parse(a).ok());
    let apps = match admin.applications(&state).list(after.as_ref(), PAGE).await {
        Ok(apps) => apps,
        Err(e) => return admin_failure(&admin, &state, &e),
    };
    let next = (apps.len() == usize::try_from(PAGE).unwrap_or(usize::MAX))
        .then(|| apps.last().map(|a| a.app.client_id.as_str().to_owned()))
        .flatten();
    let frame = admin.frame("Applications", "applications");
    admin.render(
        &state,
        StatusCode::OK,
        "admin_apps.html",
        context! {
            apps => apps.iter().map(app_row).collect::<Vec<_>>(),
            next,
            notice => notice_text(query.notice.as_deref()),
            ..frame
        },
    )
}

/// The scope checkboxes, grouped by family, with the checked ones marked.
fn scope_groups(state: &AppState, ui: &Ui, checked: &[String]) -> Vec<Value> {
    let mut groups: Vec<(String, Vec<Value>)> = vec![];
    for scope in Scope::all().filter(|s| s.kind() != ScopeKind::Reserved) {
        let family = match scope.kind() {
            ScopeKind::Identity => "Sign-in and identity".to_owned(),
            ScopeKind::Admin => "School administration (org_admin audience only)".to_owned(),
            _ => {
                let family = scope.family();
                let mut title = family.to_owned();
                if let Some(first) = title.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                title
            }
        };
        let entry = context! {
            name => scope.as_str(),
            description => state.pages.text_of(ui, &scope_message_id(scope)),
            checked => checked.iter().any(|c| c == scope.as_str()),
        };
        match groups.iter_mut().find(|(f, _)| *f == family) {
            Some((_, scopes)) => scopes.push(entry),
            None => groups.push((family, vec![entry])),
        }
    }
    groups
        .into_iter()
        .map(|(family, scopes)| context! { family, scopes })
        .collect()
}

/// What the application form holds, as typed.
#[derive(Debug, Default)]
struct FormValues {
    name: String,
    redirect_uris: String,
    scopes: Vec<String>,
    audience: String,
    client_type: String,
    may_introspect: bool,
}

impl FormValues {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        Self {
            name: field(pairs, "name").unwrap_or_default().to_owned(),
            redirect_uris: field(pairs, "redirect_uris").unwrap_or_default().to_owned(),
            scopes: pairs
                .iter()
                .filter(|(k, _)| k == "scope")
                .map(|(_, v)| v.clone())
                .collect(),
            audience: field(pairs, "audience").unwrap_or("member").to_owned(),
            client_type: field(pairs, "client_type")
                .unwrap_or("confidential")
                .to_owned(),
            may_introspect: field(pairs, "may_introspect").is_some(),
        }
    }

    fn from_app(stored: &StoredApplication) -> Self {
        let app = &stored.app;
        Self {
            name: app.name.clone(),
            redirect_uris: app
                .redirect_uris
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            scopes: app.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            audience: app.audience.as_str().to_owned(),
            client_type: app.client_type.as_str().to_owned(),
            may_introspect: stored.may_introspect,
        }
    }

    fn uris(&self) -> Vec<String> {
        self.redirect_uris
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn context(&self, state: &AppState, ui: &Ui) -> Value {
        context! {
            name => &self.name,
            redirect_uris => &self.redirect_uris,
            audience => &self.audience,
            client_type => &self.client_type,
            may_introspect => self.may_introspect,
            groups => scope_groups(state, ui, &self.scopes),
        }
    }
}

fn form_page(
    admin: &PageAdmin,
    state: &AppState,
    status: StatusCode,
    values: &FormValues,
    app: Option<&StoredApplication>,
    error: Option<String>,
    notice: Option<&str>,
) -> HttpResponse {
    let title = match app {
        Some(stored) => format!("Application: {}", stored.app.name),
        None => "New application".to_owned(),
    };
    let frame = admin.frame(&title, "applications");
    admin.render(
        state,
        status,
        "admin_app.html",
        context! {
            form => values.context(state, &admin.ui),
            app => app.map(app_row),
            error,
            notice,
            ..frame
        },
    )
}

/// `GET /admin/applications/new`.
async fn new_form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let admin = admin_or_return!(req, state, None);
    let values = FormValues {
        audience: "member".into(),
        client_type: "confidential".into(),
        scopes: vec!["openid".into()],
        ..FormValues::default()
    };
    form_page(&admin, &state, StatusCode::OK, &values, None, None, None)
}

/// A failure that is not the form's fault.
fn admin_failure(admin: &PageAdmin, state: &AppState, error: &AdminError) -> HttpResponse {
    match error {
        AdminError::ApplicationNotFound(_) => admin.error(
            state,
            StatusCode::NOT_FOUND,
            "There is no such application in this school.",
        ),
        AdminError::Storage(e) => unavailable(state, &admin.ui, admin.school_name(), e),
        other => admin.error(state, StatusCode::BAD_REQUEST, &other.to_string()),
    }
}

/// Whether an error is about what was typed into the form.
fn is_form_error(error: &AdminError) -> bool {
    !matches!(
        error,
        AdminError::Storage(_) | AdminError::Random | AdminError::ApplicationNotFound(_)
    )
}

fn secret_page(
    admin: &PageAdmin,
    state: &AppState,
    stored: &StoredApplication,
    secret: Option<&str>,
    created: bool,
) -> HttpResponse {
    let frame = admin.frame(
        if created {
            "Application created"
        } else {
            "New client secret"
        },
        "applications",
    );
    admin.render(
        state,
        StatusCode::OK,
        "admin_secret.html",
        context! { app => app_row(stored), secret, created, ..frame },
    )
}

/// `POST /admin/applications`: creates an application and shows its secret.
async fn create(req: HttpRequest, state: web::Data<AppState>, body: Bytes) -> HttpResponse {
    let pairs = form_pairs(&body);
    let admin = admin_or_return!(req, state, Some(&pairs));
    let values = FormValues::from_pairs(&pairs);
    let refuse = |message: String| {
        form_page(
            &admin,
            &state,
            StatusCode::BAD_REQUEST,
            &values,
            None,
            Some(message),
            None,
        )
    };
    let Ok(audience) = values.audience.parse::<Audience>() else {
        return refuse("Choose who may authorize the application.".into());
    };
    let Ok(client_type) = values.client_type.parse::<ClientType>() else {
        return refuse("Choose confidential or public.".into());
    };
    let apps = admin.applications(&state);
    let registered = match apps
        .create(
            NewSchoolApplication {
                name: values.name.clone(),
                redirect_uris: values.uris(),
                scopes: values.scopes.join(" "),
                audience,
                client_type,
                may_introspect: values.may_introspect,
            },
            Some(admin.logged_in.user.id),
        )
        .await
    {
        Ok(registered) => registered,
        Err(e) if is_form_error(&e) => return refuse(e.to_string()),
        Err(e) => return admin_failure(&admin, &state, &e),
    };
    match apps.find(registered.app.client_id.as_str()).await {
        Ok(stored) => secret_page(
            &admin,
            &state,
            &stored,
            registered.secret.as_ref().map(|s| s.expose_secret()),
            true,
        ),
        Err(e) => admin_failure(&admin, &state, &e),
    }
}

/// `GET /admin/applications/{client_id}`: details, the edit form and actions.
async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    client_id: Path<String>,
    query: Query<AfterQuery>,
) -> HttpResponse {
    let admin = admin_or_return!(req, state, None);
    match admin.applications(&state).find(&client_id).await {
        Ok(stored) => form_page(
            &admin,
            &state,
            StatusCode::OK,
            &FormValues::from_app(&stored),
            Some(&stored),
            None,
            notice_text(query.notice.as_deref()),
        ),
        Err(e) => admin_failure(&admin, &state, &e),
    }
}

/// `POST /admin/applications/{client_id}`: saves the edit form.
async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    client_id: Path<String>,
    body: Bytes,
) -> HttpResponse {
    let pairs = form_pairs(&body);
    let admin = admin_or_return!(req, state, Some(&pairs));
    let apps = admin.applications(&state);
    let stored = match apps.find(&client_id).await {
        Ok(stored) => stored,
        Err(e) => return admin_failure(&admin, &state, &e),
    };
    let values = FormValues::from_pairs(&pairs);
    let Ok(audience) = values.audience.parse::<Audience>() else {
        return form_page(
            &admin,
            &state,
            StatusCode::BAD_REQUEST,
            &values,
            Some(&stored),
            Some("Choose who may authorize the application.".into()),
            None,
        );
    };
    let change = ApplicationChange {
        name: Some(values.name.clone()),
        redirect_uris: Some(values.uris()),
        scopes: Some(values.scopes.join(" ")),
        audience: Some(audience),
        may_introspect: Some(values.may_introspect),
    };
    match apps.update(&client_id, change).await {
        Ok(changed) => {
            let notice = if changed.revoked_grants > 0 {
                "updated-revoked"
            } else {
                "updated"
            };
            redirect(
                StatusCode::SEE_OTHER,
                &format!("{}?notice={notice}", app_path(&client_id)),
            )
        }
        Err(e) if is_form_error(&e) => form_page(
            &admin,
            &state,
            StatusCode::BAD_REQUEST,
            &values,
            Some(&stored),
            Some(e.to_string()),
            None,
        ),
        Err(e) => admin_failure(&admin, &state, &e),
    }
}

fn app_path(client_id: &str) -> String {
    let encoded: String = form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    format!("/admin/applications/{encoded}")
}

/// `POST /admin/applications/{client_id}/{action}`: `rotate-secret`,
/// `disable`, `enable`, `delete` (with the `confirm` box ticked) and
/// `revoke-grants`.
async fn act(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: Path<(String, String)>,
    body: Bytes,
) -> HttpResponse {
    let pairs = form_pairs(&body);
    let admin = admin_or_return!(req, state, Some(&pairs));
    let (client_id, action) = path.into_inner();
    let apps = admin.applications(&state);
    let back = |notice: &str| {
        redirect(
            StatusCode::SEE_OTHER,
            &format!("{}?notice={notice}", app_path(&client_id)),
        )
    };
    match action.as_str() {
        "rotate-secret" => match apps.rotate_secret(&client_id).await {
            Ok(secret) => match apps.find(&client_id).await {
                Ok(stored) => {
                    secret_page(&admin, &state, &stored, Some(secret.expose_secret()), false)
                }
                Err(e) => admin_failure(&admin, &state, &e),
            },
            Err(e) => admin_failure(&admin, &state, &e),
        },
        "disable" | "enable" => match apps.set_disabled(&client_id, action == "disable").await {
            Ok(_) => back(if action == "disable" {
                "disabled"
            } else {
                "enabled"
            }),
            Err(e) => admin_failure(&admin, &state, &e),
        },
        "delete" => {
            if field(&pairs, "confirm").is_none() {
                return admin.error(
                    &state,
                    StatusCode::BAD_REQUEST,
                    "Tick the box to confirm the deletion; nothing was deleted.",
                );
            }
            match apps.delete(&client_id).await {
                Ok(_) => redirect(StatusCode::SEE_OTHER, "/admin/applications?notice=deleted"),
                Err(e) => admin_failure(&admin, &state, &e),
            }
        }
        "revoke-grants" => match apps.find(&client_id).await {
            Ok(stored) => match state
                .store
                .revoke_application_grants(stored.app.id, admin.school, admin.meta(), Utc::now())
                .await
            {
                Ok(_) => back("revoked-all"),
                Err(e) => unavailable(&state, &admin.ui, admin.school_name(), &e),
            },
            Err(e) => admin_failure(&admin, &state, &e),
        },
        _ => admin.error(&state, StatusCode::NOT_FOUND, "There is no such action."),
    }
}

/// Paging of grants.
#[derive(Debug, Deserialize)]
struct GrantPageQuery {
    after: Option<String>,
    notice: Option<String>,
}

/// `GET /admin/grants`: every grant in the school, newest first.
async fn grants(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Query<GrantPageQuery>,
) -> HttpResponse {
    let admin = admin_or_return!(req, state, None);
    let after = query
        .after
        .as_deref()
        .and_then(|a| a.parse::<GrantCursor>().ok());
    let grants = match state
        .store
        .list_grants(None, admin.school, None, after, PAGE)
        .await
    {
        Ok(grants) => grants,
        Err(e) => return unavailable(&state, &admin.ui, admin.school_name(), &e),
    };
    let next = (grants.len() == usize::try_from(PAGE).unwrap_or(usize::MAX))
        .then(|| grants.last().map(|g| GrantCursor::after(g).to_string()))
        .flatten();
    let rows: Vec<Value> = grants
        .iter()
        .map(|g| {
            context! {
                id => g.id.to_string(),
                user_email => &g.user_email,
                application_name => &g.application_name,
                client_id => g.client_id.as_str(),
                scopes => g.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                updated_at => g.updated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            }
        })
        .collect();
    let frame = admin.frame("Grants", "grants");
    admin.render(
        &state,
        StatusCode::OK,
        "admin_grants.html",
        context! { grants => rows, next, notice => notice_text(query.notice.as_deref()), ..frame },
    )
}

/// `POST /admin/grants/{id}/revoke`.
async fn revoke_grant(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: Path<String>,
    body: Bytes,
) -> HttpResponse {
    let pairs = form_pairs(&body);
    let admin = admin_or_return!(req, state, Some(&pairs));
    let Ok(grant) = id.parse::<GrantId>() else {
        return admin.error(&state, StatusCode::NOT_FOUND, "There is no such grant.");
    };
    match state
        .store
        .revoke_grant(grant, admin.school, None, admin.meta(), Utc::now())
        .await
    {
        Ok(true) => redirect(StatusCode::SEE_OTHER, "/admin/grants?notice=revoked"),
        Ok(false) => admin.error(
            &state,
            StatusCode::NOT_FOUND,
            "There is no such grant in this school.",
        ),
        Err(e) => unavailable(&state, &admin.ui, admin.school_name(), &e),
    }
}

/// Paging of the audit log.
#[derive(Debug, Deserialize)]
struct AuditPageQuery {
    before: Option<i64>,
}

/// `GET /admin/audit`: the school's audit log, newest first.
async fn audit(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Query<AuditPageQuery>,
) -> HttpResponse {
    let admin = admin_or_return!(req, state, None);
    let events = match state
        .store
        .list_audit_events(admin.school, query.before, PAGE)
        .await
    {
        Ok(events) => events,
        Err(e) => return unavailable(&state, &admin.ui, admin.school_name(), &e),
    };
    let next = (events.len() == usize::try_from(PAGE).unwrap_or(usize::MAX))
        .then(|| events.last().map(|e| e.seq))
        .flatten();
    let rows: Vec<Value> = events
        .iter()
        .map(|e| {
            context! {
                occurred_at => e.occurred_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                kind => &e.kind,
                outcome => &e.outcome,
                reason => &e.reason,
                actor => &e.actor,
                client_id => e.client_id.as_ref().map(|c| c.as_str().to_owned()),
                client_ip => &e.client_ip,
            }
        })
        .collect();
    let frame = admin.frame("Audit log", "audit");
    admin.render(
        &state,
        StatusCode::OK,
        "admin_audit.html",
        context! { events => rows, next, ..frame },
    )
}
