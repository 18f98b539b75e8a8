//! The authorization endpoint and the consent form (RFC 6749 §4.1.1–§4.1.2).
//!
//! One function drives both: the `GET` shows the login, picker or consent page
//! as needed, and the consent `POST` re-validates the whole request, the
//! session, the picked school and the audience gate before a code is issued,
//! so nothing the browser sends back is trusted on its own.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use chrono::Utc;
use minijinja::context;
use oauth_core::audit::{Actor, AuditEvent, AuditKind};
use oauth_core::authorize::{
    check_user, contextual_school, eligible_schools, is_client_identity_assured, needs_consent,
    unverified_client_id, validate, AuthorizationRequest, AuthorizeError, PageError,
};
use oauth_core::authorize::{needs_fresh_login, RequestRejection};
use oauth_core::params::Params;
use oauth_core::redirect_uri::RedirectUri;
use oauth_core::resource::decide_resource;
use oauth_core::token::{Binding, CodeRecord};
use oauth_core::{
    Application, ErrorCode, GrantId, Registration, Role, SchoolId, Scope, ScopeSet, ServedAt,
    TokenKind,
};
use oauth_storage::{AuditMeta, NewCode, School, StorageError, StoredApplication};
use uuid::Uuid;

use crate::host::{resolve, HostError, Resolved};
use crate::i18n::{audience_message, page_error_message, scope_group_id, scope_message_id, Msg};
use crate::login::{self, LoggedIn};
use crate::pages::Ui;
use crate::respond::{client_error_url, redirect, redirect_to_client};
use crate::security::{constant_time_eq, new_token};
use crate::AppState;

/// The page for a host that is neither a school nor the platform.
pub fn host_error_page(state: &AppState, ui: &Ui, error: HostError) -> HttpResponse {
    match error {
        HostError::Unknown => state.pages.error(
            ui,
            StatusCode::NOT_FOUND,
            "Loopwise",
            Msg::new("error-unknown-host-title"),
            Msg::new("error-unknown-host-message"),
            None,
        ),
        HostError::Storage(e) => unavailable(state, ui, "Loopwise", &e),
    }
}

pub(crate) fn unavailable(
    state: &AppState,
    ui: &Ui,
    school_name: &str,
    error: &StorageError,
) -> HttpResponse {
    tracing::error!(error = %error, "storage failed during authorization");
    state.pages.error(
        ui,
        StatusCode::SERVICE_UNAVAILABLE,
        school_name,
        Msg::new("error-unavailable-title"),
        Msg::new("error-unavailable-message"),
        Some(ErrorCode::TemporarilyUnavailable),
    )
}

/// What the browser asked for.
enum Step {
    /// `GET /oauth/authorize`: show what comes next.
    Show,
    /// `POST /oauth/consent`: the user decided.
    Decide {
        csrf_token: Option<String>,
        approve: bool,
    },
}

/// `GET /oauth/authorize`.
pub async fn authorize(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let ui = Ui::from_request(&req);
    let resolved = match resolve(&req, &state).await {
        Ok(resolved) => resolved,
        Err(e) => return host_error_page(&state, &ui, e),
    };
    let params =
        Params::from_pairs(form_urlencoded::parse(req.query_string().as_bytes()).into_owned());
    drive(&req, &state, &ui, &resolved, params, Step::Show).await
}

/// `POST /oauth/consent`: the consent form, carrying the original request.
pub async fn consent(req: HttpRequest, state: web::Data<AppState>, body: Bytes) -> HttpResponse {
    let ui = Ui::from_request(&req);
    let resolved = match resolve(&req, &state).await {
        Ok(resolved) => resolved,
        Err(e) => return host_error_page(&state, &ui, e),
    };
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let repeated = ["csrf_token", "decision"]
        .iter()
        .any(|name| pairs.iter().filter(|(k, _)| k == name).count() > 1);
    if repeated {
        return state.pages.error(
            &ui,
            StatusCode::BAD_REQUEST,
            resolved.display_name(),
            Msg::new("error-consent-repeated-title"),
            Msg::new("error-consent-repeated-message"),
            Some(ErrorCode::InvalidRequest),
        );
    }
    let mut take = |name: &str| {
        let value = pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone());
        pairs.retain(|(k, _)| k != name);
        value
    };
    let csrf_token = take("csrf_token");
    let approve = take("decision").as_deref() == Some("approve");
    // A page shown in answer to the form switches language by showing the
    // request again.
    let again = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    let ui = ui.returning_to(format!("/oauth/authorize?{again}"));
    drive(
        &req,
        &state,
        &ui,
        &resolved,
        Params::from_pairs(pairs),
        Step::Decide {
            csrf_token,
            approve,
        },
    )
    .await
}

async fn drive(
    req: &HttpRequest,
    state: &AppState,
    ui: &Ui,
    resolved: &Resolved,
    params: Params,
    step: Step,
) -> HttpResponse {
    let school_name = resolved.display_name();
    let page = |e: PageError| {
        tracing::info!(host = %resolved.host, reason = %e, "authorization request refused on a page");
        state.pages.error(
            ui,
            StatusCode::BAD_REQUEST,
            school_name,
            Msg::new("error-request-title"),
            page_error_message(&e),
            Some(e.error_code()),
        )
    };

    // The client and its redirect URI first: until both are good, nothing is redirected.
    let client_id = match unverified_client_id(&params) {
        Ok(client_id) => client_id,
        Err(e) => return page(e),
    };
    let stored = match state.store.find_application(&client_id).await {
        Ok(stored) => stored,
        Err(e) => return unavailable(state, ui, school_name, &e),
    };
    // A URL client_id may name a client metadata document to fetch.
    let stored = match crate::client_metadata::resolve_client(state, &client_id, stored).await {
        Ok(stored) => stored,
        Err(e) => return unavailable(state, ui, school_name, &e),
    };
    let request = match validate(&params, stored.as_ref().map(|s| &s.app), resolved.served_at) {
        Ok(request) => request,
        Err(AuthorizeError::Page(e)) => return page(e),
        Err(AuthorizeError::Redirect { target, rejection }) => {
            tracing::info!(client.id = %client_id, reason = %rejection, "authorization request refused");
            let url = client_error_url(
                &target.redirect_uri,
                rejection.error_code(),
                &rejection.to_string(),
                target.state.as_deref(),
                &resolved.issuer(),
            );
            return redirect(StatusCode::FOUND, &url);
        }
    };
    let Some(stored) = stored else {
        return page(PageError::UnknownClient);
    };
    let app = stored.app.clone();
    let deny_url = |code: ErrorCode, description: &str| {
        client_error_url(
            &request.target.redirect_uri,
            code,
            description,
            request.target.state.as_deref(),
            &resolved.issuer(),
        )
    };

    let reject_to_client = |rejection: RequestRejection| {
        tracing::info!(client.id = %app.client_id, reason = %rejection, "authorization refused");
        redirect(
            StatusCode::FOUND,
            &deny_url(rejection.error_code(), &rejection.to_string()),
        )
    };
    let log_in_again = || {
        let return_to = format!(
            "/oauth/authorize?{}",
            without_prompt_login(req.query_string())
        );
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("return_to", &return_to)
            .finish();
        redirect(StatusCode::FOUND, &format!("/oauth/login?{query}"))
    };
    let is_show = matches!(step, Step::Show);
    let logged_in = match login::current(req, state, resolved).await {
        Ok(Some(logged_in))
            if is_show && needs_fresh_login(&request, logged_in.session.auth_time, Utc::now()) =>
        {
            if request.prompt.none {
                return reject_to_client(RequestRejection::LoginRequired);
            }
            return log_in_again();
        }
        Ok(Some(logged_in)) => logged_in,
        Ok(None) if is_show && request.prompt.none => {
            return reject_to_client(RequestRejection::LoginRequired);
        }
        Ok(None) if is_show => return log_in_again(),
        Ok(None) => {
            return state.pages.error(
                ui,
                StatusCode::FORBIDDEN,
                school_name,
                Msg::new("error-session-ended-title"),
                Msg::new("error-session-ended-message"),
                None,
            );
        }
        Err(e) => return unavailable(state, ui, school_name, &e),
    };

    let school =
        match resolve_school(state, ui, resolved, &app, &logged_in, &params, &request).await {
            Ok(school) => school,
            Err(response) => return response,
        };

    let role = match state.store.find_role(logged_in.user.id, school.id).await {
        Ok(role) => role,
        Err(e) => return unavailable(state, ui, school_name, &e),
    };
    if let Err(rejection) = check_user(&app, role, logged_in.user.is_staff) {
        if request.prompt.none {
            audit_refusal(
                state,
                resolved,
                &logged_in,
                &app,
                school.id,
                &rejection.to_string(),
            )
            .await;
            return reject_to_client(rejection);
        }
        tracing::info!(client.id = %app.client_id, school.id = %school.id, user.id = %logged_in.user.id, reason = %rejection, "audience gate refused the user");
        audit_refusal(
            state,
            resolved,
            &logged_in,
            &app,
            school.id,
            &rejection.to_string(),
        )
        .await;
        let message = match &rejection {
            RequestRejection::Audience(denied) => audience_message(*denied, &school.display_name),
            _ => Msg::new("denied-not-member").arg("school", &school.display_name),
        };
        return state.pages.render(
            ui,
            StatusCode::FORBIDDEN,
            "denied.html",
            context! {
                school_name => school.display_name,
                title => state.pages.text(ui, &Msg::new("denied-title").arg("app", &app.name)),
                message => state.pages.text(ui, &message),
                user_email => logged_in.user.email,
                back_url => deny_url(rejection.error_code(), &rejection.to_string()),
                app_name => app.name,
            },
        );
    }

    let registered = match state.store.list_school_resources(school.id).await {
        Ok(resources) => resources
            .into_iter()
            .map(|(uri, _)| uri)
            .collect::<Vec<_>>(),
        Err(e) => return unavailable(state, ui, school_name, &e),
    };
    // From here on the request carries the resource as decided for this school.
    let request = match decide_resource(request.resource.as_deref(), &registered) {
        Ok(resource) => AuthorizationRequest {
            resource,
            ..request.clone()
        },
        Err(e) => return reject_to_client(e.into()),
    };

    match step {
        Step::Show => {
            let grant = match state
                .store
                .find_grant(logged_in.user.id, app.id, school.id)
                .await
            {
                Ok(grant) => grant,
                Err(e) => return unavailable(state, ui, school_name, &e),
            };
            if request.prompt.consent
                || needs_consent(
                    grant.as_ref().map(|g| &g.scopes),
                    &request.scopes,
                    is_client_identity_assured(&app, &request.target.redirect_uri),
                )
            {
                if request.prompt.none {
                    return reject_to_client(RequestRejection::ConsentRequired);
                }
                consent_page(
                    state, ui, resolved, &stored, &logged_in, &school, &params, &request,
                )
            } else {
                issue_code(
                    state,
                    ui,
                    resolved,
                    &app,
                    &logged_in,
                    &school,
                    &request,
                    StatusCode::FOUND,
                )
                .await
            }
        }
        Step::Decide {
            csrf_token,
            approve,
        } => {
            let csrf_ok = csrf_token
                .as_deref()
                .is_some_and(|sent| constant_time_eq(sent, &logged_in.csrf_token));
            if !csrf_ok {
                tracing::info!(client.id = %app.client_id, "consent without a valid CSRF token refused");
                return state.pages.error(
                    ui,
                    StatusCode::FORBIDDEN,
                    school_name,
                    Msg::new("error-consent-forged-title"),
                    Msg::new("error-consent-forged-message"),
                    None,
                );
            }
            if approve {
                issue_code(
                    state,
                    ui,
                    resolved,
                    &app,
                    &logged_in,
                    &school,
                    &request,
                    StatusCode::SEE_OTHER,
                )
                .await
            } else {
                tracing::info!(client.id = %app.client_id, school.id = %school.id, "user denied consent");
                audit_refusal(
                    state,
                    resolved,
                    &logged_in,
                    &app,
                    school.id,
                    "the user denied consent",
                )
                .await;
                redirect(
                    StatusCode::SEE_OTHER,
                    &deny_url(ErrorCode::AccessDenied, "the user denied the request"),
                )
            }
        }
    }
}

/// The audit context of a logged-in user's request.
fn user_meta(logged_in: &LoggedIn, resolved: &Resolved) -> AuditMeta {
    AuditMeta {
        actor: Actor::User(logged_in.user.id),
        client_ip: resolved.client_ip.clone(),
    }
}

/// Records a refused authorization. A failure to record is logged, never shown.
async fn audit_refusal(
    state: &AppState,
    resolved: &Resolved,
    logged_in: &LoggedIn,
    app: &Application,
    school: SchoolId,
    reason: &str,
) {
    let event = AuditEvent {
        school_id: school,
        kind: AuditKind::AuthorizationRefused,
        reason: Some(reason.to_owned()),
        actor: Actor::User(logged_in.user.id),
        user_id: Some(logged_in.user.id),
        client_id: Some(app.client_id.clone()),
        grant_id: None,
        client_ip: resolved.client_ip.clone(),
    };
    if let Err(e) = state.store.insert_audit_event(event, Utc::now()).await {
        tracing::error!(error = %e, "audit event could not be written");
    }
}

/// The query of an authorization request without `prompt=login`, to return to
/// once the user has logged in again (so the login is not asked for twice).
fn without_prompt_login(query: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name == "prompt" {
            let kept: Vec<&str> = value
                .split(' ')
                .filter(|w| !w.is_empty() && *w != "login")
                .collect();
            if !kept.is_empty() {
                out.append_pair("prompt", &kept.join(" "));
            }
        } else {
            out.append_pair(&name, &value);
        }
    }
    out.finish()
}

/// The school this authorization is for: the application's or the host's, or,
/// on the platform host, the one the user picks among those where they pass the
/// application's audience. A pick arrives as `school_id` and is checked like
/// anything else the browser sends: the audience gate runs on it afterwards.
async fn resolve_school(
    state: &AppState,
    ui: &Ui,
    resolved: &Resolved,
    app: &Application,
    logged_in: &LoggedIn,
    params: &Params,
    request: &AuthorizationRequest,
) -> Result<School, HttpResponse> {
    let school_name = resolved.display_name();
    let unknown_school = || {
        state.pages.error(
            ui,
            StatusCode::BAD_REQUEST,
            school_name,
            Msg::new("error-unknown-school-title"),
            Msg::new("error-unknown-school-message"),
            Some(ErrorCode::InvalidRequest),
        )
    };
    let picked = match params.single("school_id") {
        Ok(Some(raw)) => Some(raw.parse::<SchoolId>().map_err(|_| unknown_school())?),
        _ => None,
    };
    if let Some(id) = contextual_school(app, resolved.served_at, picked) {
        return match state.store.find_school(id).await {
            Ok(Some(school)) => Ok(school),
            Ok(None) => Err(unknown_school()),
            Err(e) => Err(unavailable(state, ui, school_name, &e)),
        };
    }
    // TODO: staff applications at the platform host offer only the schools the
    // staff member has a role in; offering every school needs a decision on
    // which schools platform staff may act in, which the specification leaves open.
    let memberships = state
        .store
        .list_memberships(logged_in.user.id)
        .await
        .map_err(|e| unavailable(state, ui, school_name, &e))?;
    let roles: Vec<(SchoolId, Role)> = memberships
        .iter()
        .map(|(school, role)| (school.id, *role))
        .collect();
    let eligible_ids = eligible_schools(app, &roles, logged_in.user.is_staff);
    let eligible: Vec<School> = memberships
        .into_iter()
        .map(|(school, _)| school)
        .filter(|s| eligible_ids.contains(&s.id))
        .collect();
    if request.prompt.none {
        // No page may be shown: the user would have to pick (or be told why not).
        let rejection = if eligible.is_empty() {
            RequestRejection::Audience(oauth_core::AudienceDenied::NotMember)
        } else {
            RequestRejection::InteractionRequired
        };
        let url = client_error_url(
            &request.target.redirect_uri,
            rejection.error_code(),
            &rejection.to_string(),
            request.target.state.as_deref(),
            &resolved.issuer(),
        );
        return Err(redirect(StatusCode::FOUND, &url));
    }
    match eligible.as_slice() {
        [] => Err(state.pages.render(
            ui,
            StatusCode::FORBIDDEN,
            "denied.html",
            context! {
                school_name,
                title => state.pages.text(ui, &Msg::new("denied-title").arg("app", &app.name)),
                message => state.pages.text_of(ui, "denied-no-school"),
                user_email => &logged_in.user.email,
                back_url => client_error_url(&request.target.redirect_uri, ErrorCode::AccessDenied, "the user has no school where this application is allowed", request.target.state.as_deref(), &resolved.issuer()),
                app_name => &app.name,
            },
        )),
        // Even a single eligible school is shown, so the person sees which
        // school they are about to connect.
        several => {
            let schools: Vec<_> = several.iter().map(|s| context! { id => s.id.to_string(), name => &s.display_name }).collect();
            let forwarded: Vec<(&str, &str)> = params.pairs().filter(|(k, _)| *k != "school_id").collect();
            Err(state.pages.render(
                ui,
                StatusCode::OK,
                "picker.html",
                context! { school_name, title => state.pages.text_of(ui, "picker-title"), app_name => &app.name, schools, params => forwarded },
            ))
        }
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "the consent page shows a little of everything the request carries"
)]
fn consent_page(
    state: &AppState,
    ui: &Ui,
    resolved: &Resolved,
    stored: &StoredApplication,
    logged_in: &LoggedIn,
    school: &School,
    params: &Params,
    request: &AuthorizationRequest,
) -> HttpResponse {
    let mut forwarded: Vec<(String, String)> = params
        .pairs()
        .filter(|(k, _)| *k != "school_id")
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    if resolved.served_at == ServedAt::Platform {
        forwarded.push(("school_id".into(), school.id.to_string()));
    }
    let scope_groups: Vec<_> = scope_groups(&request.scopes)
        .into_iter()
        .map(|(group, scopes)| {
            let scopes: Vec<_> = scopes
                .into_iter()
                .map(|scope| {
                    context! {
                        name => scope.as_str(),
                        description => state.pages.text_of(ui, &scope_message_id(scope)),
                        access => scope.as_str().rsplit_once(':').map(|(_, action)| action),
                    }
                })
                .collect();
            context! { heading => state.pages.text_of(ui, &group), scopes }
        })
        .collect();
    let redirect_host = site_of(&request.target.redirect_uri);
    let app = &stored.app;
    // A client identified by a URL describes itself in a document there; the
    // person sees whose site that is (the MCP authorization profile asks for it).
    let client_id = app.client_id.as_str();
    let client_site = (client_id.starts_with("https://") || client_id.starts_with("http://"))
        .then(|| site_of(client_id));
    // Whatever listens on a loopback address of this device receives the code,
    // and any program can register such an address as its own: the warning
    // covers every application whose redirect URIs are all loopback.
    let loopback =
        RedirectUri::register(&request.target.redirect_uri).is_ok_and(|uri| uri.is_loopback());
    // Applications that registered themselves are not presented as reviewed.
    let registered_by = match (app.registration, stored.self_registered) {
        (Registration::School(_), _) => {
            Msg::new("consent-registered-school").arg("school", &school.display_name)
        }
        (Registration::Platform, false) => Msg::new("consent-registered-platform"),
        (Registration::Platform, true) => Msg::new("consent-registered-self"),
    };
    state.pages.render(
        ui,
        StatusCode::OK,
        "consent.html",
        context! {
            school_name => &school.display_name,
            title => state.pages.text(ui, &Msg::new("consent-title").arg("app", &app.name).arg("school", &school.display_name)),
            app_name => &app.name,
            registered_by => state.pages.text(ui, &registered_by),
            self_registered => stored.self_registered,
            context_school => &school.display_name,
            user_email => &logged_in.user.email,
            scope_groups,
            redirect_host,
            client_site,
            loopback,
            params => forwarded,
            csrf_token => &logged_in.csrf_token,
        },
    )
}

/// The requested scopes grouped for the consent page: identity scopes first,
/// then each family in catalogue order, reading before writing.
fn scope_groups(scopes: &ScopeSet) -> Vec<(String, Vec<Scope>)> {
    let mut groups: Vec<(String, Vec<Scope>)> = Vec::new();
    for scope in Scope::all().filter(|s| scopes.contains(*s)) {
        let group = scope_group_id(scope);
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, members)) => members.push(scope),
            None => groups.push((group, vec![scope])),
        }
    }
    groups
}

/// The scheme and host of a URI, for people to judge whose site it is.
fn site_of(uri: &str) -> String {
    match uri.split_once("://") {
        Some((scheme, rest)) => format!(
            "{scheme}://{}",
            rest.split(['/', '?']).next().unwrap_or(rest)
        ),
        None => uri.split(['/', '?']).next().unwrap_or(uri).to_owned(),
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "a code binds the request, the user, the school and the host it was asked at"
)]
async fn issue_code(
    state: &AppState,
    ui: &Ui,
    resolved: &Resolved,
    app: &Application,
    logged_in: &LoggedIn,
    school: &School,
    request: &AuthorizationRequest,
    status: StatusCode,
) -> HttpResponse {
    let Ok(code) = new_token(TokenKind::AuthorizationCode) else {
        return state.pages.error(
            ui,
            StatusCode::SERVICE_UNAVAILABLE,
            &school.display_name,
            Msg::new("error-try-again-title"),
            Msg::new("error-unavailable-message"),
            None,
        );
    };
    let now = Utc::now();
    let new_code = NewCode {
        hash: code.hash(),
        grant_id: GrantId::from_uuid(Uuid::new_v4()),
        user_id: logged_in.user.id,
        record: CodeRecord {
            application_id: app.id,
            binding: Binding::new(resolved.served_at, school.id),
            redirect_uri: request.target.redirect_uri.clone(),
            challenge: request.code_challenge.clone(),
            issuer: Some(resolved.issuer()),
            expires_at: now + state.config.code_lifetime,
        },
        scopes: request.scopes.clone(),
        nonce: request.nonce.clone(),
        resource: request.resource.clone(),
        auth_time: logged_in.session.auth_time,
    };
    let meta = user_meta(logged_in, resolved);
    match state
        .store
        .approve_and_insert_code(new_code, app.client_id.clone(), app.audience, meta, now)
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) => {
            tracing::info!(client.id = %app.client_id, "consent refused: the application changed meanwhile");
            return state.pages.error(
                ui,
                StatusCode::CONFLICT,
                &school.display_name,
                Msg::new("error-request-title"),
                Msg::new("error-app-changed"),
                None,
            );
        }
        Err(e) => return unavailable(state, ui, &school.display_name, &e),
    }
    tracing::info!(client.id = %app.client_id, school.id = %school.id, user.id = %logged_in.user.id, "authorization code issued");
    redirect_to_client(
        status,
        &request.target.redirect_uri,
        &[("code", code.expose_secret())],
        request.target.state.as_deref(),
        &resolved.issuer(),
    )
}
