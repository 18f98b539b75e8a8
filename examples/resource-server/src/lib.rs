//! A reference resource server that other teams can copy: a school's MCP
//! endpoint and a read-only JSON API, both behind the `oauth-guard` crate.
//!
//! It shows the parts a protected resource of the Loopwise platform needs:
//! - protected resource metadata (RFC 9728) naming the school's issuer;
//! - `401` with `WWW-Authenticate: Bearer resource_metadata="…", scope="…"`
//!   when a token is missing or invalid, so MCP clients can discover where to
//!   authorize, and `403 insufficient_scope` when a scope is missing;
//! - tokens accepted only for this school, and only when bound to this
//!   resource (RFC 8707) or to no resource at all.
//!
//! It is not part of the authorization server; the demo runs it beside the
//! server so that real MCP clients have something to connect to. Courses are
//! fixed sample data.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use oauth_core::access::{AccessContext, AccessError};
use oauth_core::{SchoolId, Scope};
use oauth_guard::{Guard, GuardError};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{tool, tool_handler, tool_router, ServerHandler};
use serde_json::{json, Value};

/// Where the resource server runs and whom it trusts.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The school whose data this server holds.
    pub school_id: SchoolId,
    /// The school's display name, for the MCP server's description.
    pub school_name: String,
    /// The school's issuer (`http://localhost:8080`): the authorization server.
    pub issuer: String,
    /// This server's public origin (`http://localhost:8081`), no trailing slash.
    pub origin: String,
    /// The platform issuer (`http://127.0.0.1:8080`), when `/platform/mcp`
    /// should send platform applications there (with the school picker)
    /// instead of to the school's issuer.
    pub platform_issuer: Option<String>,
}

impl Settings {
    fn mcp_resource(&self) -> String {
        format!("{}/mcp", self.origin)
    }

    fn api_resource(&self) -> String {
        format!("{}/api/courses", self.origin)
    }

    fn resource(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }
}

#[derive(Clone)]
struct AppState {
    guard: Guard,
    settings: Arc<Settings>,
}

/// The courses of the sample school.
fn sample_courses() -> Value {
    json!([
        { "id": "c-101", "title": "Introduction to Programming", "students": 42 },
        { "id": "c-201", "title": "Data Structures", "students": 31 },
        { "id": "c-301", "title": "Web Security", "students": 18 }
    ])
}

/// The MCP server: one tool that lists the school's courses.
#[derive(Debug, Clone)]
pub struct CoursesMcp {
    #[expect(
        dead_code,
        reason = "read by the code the tool_handler macro generates"
    )]
    tool_router: ToolRouter<Self>,
    school_name: String,
}

#[tool_router]
impl CoursesMcp {
    fn new(school_name: String) -> Self {
        Self {
            tool_router: Self::tool_router(),
            school_name,
        }
    }

    #[tool(description = "List the courses of the school this token is for")]
    async fn list_courses(&self) -> String {
        sample_courses().to_string()
    }
}

#[tool_handler]
impl ServerHandler for CoursesMcp {
    fn get_info(&self) -> ServerConfig {
        let mut config = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
        config.instructions = Some(format!("Courses of {}.", self.school_name));
        config
    }
}

/// The `WWW-Authenticate` challenge of this server for `resource_path`.
fn challenge(settings: &Settings, resource_path: &str, error: &AccessError) -> String {
    let metadata = format!(
        "{}/.well-known/oauth-protected-resource{resource_path}",
        settings.origin
    );
    let base = error.www_authenticate(&settings.origin);
    let scope = match error {
        AccessError::InsufficientScope(_) => String::new(),
        _ => ", scope=\"courses:read\"".to_owned(),
    };
    format!("{base}, resource_metadata=\"{metadata}\"{scope}")
}

fn refusal(settings: &Settings, resource_path: &str, error: &GuardError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut response = (status, Json(json!({ "error": error.to_string() }))).into_response();
    if let GuardError::Access(access) = error {
        if let Ok(value) = HeaderValue::from_str(&challenge(settings, resource_path, access)) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
    }
    response
}

/// The `Authorization` header of a request, owned, so no borrow of the request
/// is held across an await.
fn authorization_of(request: &Request) -> Option<String> {
    let mut values = request.headers().get_all(header::AUTHORIZATION).iter();
    match (values.next(), values.next()) {
        // RFC 6750 §2: two headers, or one that is not text, are malformed; a
        // value the bearer parser refuses stands in for them.
        (Some(_), Some(_)) => Some("malformed".to_owned()),
        (Some(value), None) => Some(value.to_str().unwrap_or("malformed").to_owned()),
        (None, _) => None,
    }
}

/// Checks the token of a request to `resource`: this school, this resource
/// (or none), and `courses:read`.
async fn authorize(
    state: &AppState,
    authorization: Option<String>,
    resource: &str,
) -> Result<AccessContext, GuardError> {
    let access = state
        .guard
        .check(authorization.as_deref(), state.settings.school_id)
        .await?;
    if access
        .resource
        .as_deref()
        .is_some_and(|bound| bound != resource)
    {
        return Err(GuardError::Access(AccessError::InvalidToken));
    }
    let courses_read =
        Scope::parse("courses:read").map_err(|_| GuardError::Access(AccessError::InvalidToken))?;
    access.require_scope(courses_read)?;
    Ok(access)
}

/// The MCP endpoint at `path` (a resource of its own), behind the guard.
async fn guard_mcp(
    State((state, path)): State<(AppState, &'static str)>,
    request: Request,
    next: Next,
) -> Response {
    match authorize(
        &state,
        authorization_of(&request),
        &state.settings.resource(path),
    )
    .await
    {
        Ok(_) => next.run(request).await,
        Err(error) => refusal(&state.settings, path, &error),
    }
}

async fn courses(State(state): State<AppState>, request: Request) -> Response {
    match authorize(
        &state,
        authorization_of(&request),
        &state.settings.api_resource(),
    )
    .await
    {
        Ok(access) => {
            Json(json!({ "school_id": access.school_id.to_string(), "courses": sample_courses() }))
                .into_response()
        }
        Err(error) => refusal(&state.settings, "/api/courses", &error),
    }
}

fn metadata(state: &AppState, resource: String, name: &str) -> Json<Value> {
    metadata_at(&state.settings.issuer, resource, name)
}

fn metadata_at(issuer: &str, resource: String, name: &str) -> Json<Value> {
    Json(json!({
        "resource": resource,
        "resource_name": name,
        "authorization_servers": [issuer],
        "scopes_supported": ["courses:read"],
        "bearer_methods_supported": ["header"],
    }))
}

/// The router: `/mcp`, `/api/courses` and their protected resource metadata.
pub fn router(store: oauth_storage::Store, settings: Settings) -> Router {
    let state = AppState {
        guard: Guard::new(store),
        settings: Arc::new(settings),
    };
    let school_name = state.settings.school_name.clone();
    let mcp_service = move || {
        let school_name = school_name.clone();
        let service: StreamableHttpService<CoursesMcp, LocalSessionManager> =
            StreamableHttpService::new(
                move || Ok(CoursesMcp::new(school_name.clone())),
                Default::default(),
                StreamableHttpServerConfig::default(),
            );
        service
    };
    let mut protected_mcp = Router::new()
        .nest_service("/mcp", mcp_service())
        .route_layer(middleware::from_fn_with_state(
            (state.clone(), "/mcp"),
            guard_mcp,
        ));
    if let Some(platform_issuer) = state.settings.platform_issuer.clone() {
        let resource = state.settings.resource("/platform/mcp");
        protected_mcp = protected_mcp
            .merge(
                Router::new()
                    .nest_service("/platform/mcp", mcp_service())
                    .route_layer(middleware::from_fn_with_state(
                        (state.clone(), "/platform/mcp"),
                        guard_mcp,
                    )),
            )
            .route(
                "/.well-known/oauth-protected-resource/platform/mcp",
                get(move || {
                    let (issuer, resource) = (platform_issuer.clone(), resource.clone());
                    async move { metadata_at(&issuer, resource, "Courses MCP (platform sign-in)") }
                }),
            );
    }
    Router::new()
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get(|State(s): State<AppState>| async move {
                metadata(&s, s.settings.mcp_resource(), "Courses MCP")
            }),
        )
        .route(
            "/.well-known/oauth-protected-resource/api/courses",
            get(|State(s): State<AppState>| async move {
                metadata(&s, s.settings.api_resource(), "Courses API")
            }),
        )
        .route("/api/courses", get(courses))
        .with_state(state)
        .merge(protected_mcp)
}

/// Serves the router on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: oauth_storage::Store,
    settings: Settings,
) -> std::io::Result<()> {
    axum::serve(listener, router(store, settings)).await
}
