//! The HTTP surface of Loopwise Connect: OAuth 2.0 endpoints, school
//! resolution, and the server-rendered login, school picker and consent pages.
//!
//! Handlers are thin: they parse a request into core values, ask `oauth-core`
//! for a decision, call `oauth-storage`, and render the answer. No OAuth rule
//! is decided here. Every response about a school is computed from the school
//! resolved from the request's host, never from anything the client names.
//!
//! This crate may depend on `oauth-core`, `oauth-storage` and actix-web; it
//! must never log a token, code, verifier, secret, password, cookie or email.

pub mod admin_api;
mod admin_pages;
mod authorize;
mod client_auth;
mod client_metadata;
mod connected;
mod cors;
mod host;
mod lifecycle;
mod login;
mod oidc;
mod pages;
mod registration;
mod respond;
mod security;
mod token;

use std::sync::Arc;

use actix_web::web;
use chrono::Duration;
use oauth_storage::Store;

pub use client_metadata::ClientMetadataFetch;
pub use host::{ForwardedHeaders, TrustedProxies, TrustedProxyError};
pub use security::SecurityError;

/// What the HTTP layer needs to know about the deployment. Built and
/// validated by the binary from its configuration file and environment.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The platform host (with port when not the default), e.g.
    /// `connect.loopwise.com`. It serves the platform issuer, not a school.
    pub platform_host: String,
    /// The domain under which every school has `{subdomain}.{base_domain}`.
    pub base_domain: String,
    /// Peers whose forwarding headers are believed.
    pub trusted_proxies: TrustedProxies,
    /// Which forwarding headers those proxies set.
    pub forwarded_headers: ForwardedHeaders,
    /// How long an authorization code lives (at most ten minutes).
    pub code_lifetime: Duration,
    /// How long a refresh token lives.
    pub refresh_token_lifetime: Duration,
    /// How long a login session lives.
    pub session_lifetime: Duration,
    /// How long after a rotation a client may retry with the rotated refresh
    /// token (zero: never; at most a minute).
    pub refresh_retry_window: Duration,
    /// Dynamic client registration (RFC 7591), when enabled.
    pub dynamic_registration: Option<DynamicRegistration>,
    /// Whether clients described by Client ID Metadata Documents are registered.
    pub client_metadata_documents: bool,
    /// Fetching Client ID Metadata Documents by URL, when allowed.
    pub client_metadata_fetch: Option<ClientMetadataFetch>,
}

/// What dynamic client registration creates: public platform applications of
/// one audience, with scopes bounded by that audience's ceiling.
#[derive(Debug, Clone)]
pub struct DynamicRegistration {
    /// The audience of every registered application.
    pub audience: oauth_core::Audience,
    /// The scopes they may have (a registration may ask for fewer).
    pub scopes: oauth_core::ScopeSet,
    /// Registrations allowed per client address per minute.
    pub per_minute: u32,
}

/// Password checks that may run at once in one process.
const PASSWORD_CHECKS_AT_ONCE: usize = 4;

/// Shared state of every worker.
#[derive(Clone)]
pub struct AppState {
    store: Store,
    config: Arc<HttpConfig>,
    pages: Arc<pages::Pages>,
    signer: Arc<oidc::Signer>,
    registration_limiter: Option<Arc<registration::RegistrationLimiter>>,
    metadata_fetcher: Option<Arc<client_metadata::MetadataFetcher>>,
    /// Failed and successful logins per client address.
    login_limiter: Arc<login::LoginLimiter>,
    /// Password checks running at once: each takes tens of megabytes for
    /// Argon2id, so a flood of logins must queue, not exhaust memory.
    password_permits: Arc<tokio::sync::Semaphore>,
    /// An Argon2id hash of a random password, verified against when an email is
    /// unknown so that a failed login takes as long whether or not it exists.
    decoy_password_hash: Arc<str>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Builds the state from a store and configuration.
    pub fn new(store: Store, config: HttpConfig) -> Result<Self, security::SecurityError> {
        let registration_limiter = config
            .dynamic_registration
            .as_ref()
            .map(|d| registration::RegistrationLimiter::new(d.per_minute));
        let metadata_fetcher = config
            .client_metadata_fetch
            .as_ref()
            .and_then(client_metadata::MetadataFetcher::new)
            .map(Arc::new);
        Ok(Self {
            store,
            config: Arc::new(config),
            pages: Arc::new(pages::Pages::new()),
            signer: Arc::new(oidc::Signer::default()),
            registration_limiter,
            metadata_fetcher,
            login_limiter: login::LoginLimiter::new(),
            password_permits: Arc::new(tokio::sync::Semaphore::new(PASSWORD_CHECKS_AT_ONCE)),
            decoy_password_hash: security::decoy_password_hash()?.into(),
        })
    }
}

/// Registers every route. The binary wraps it in an `App` with its state.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // Malformed query strings (admin API paging) get an OAuth-style JSON error.
    cfg.app_data(web::QueryConfig::default().error_handler(|error, _| {
        let response = respond::json_error(
            actix_web::http::StatusCode::BAD_REQUEST,
            oauth_core::ErrorCode::InvalidRequest,
            "the query string is malformed",
        );
        actix_web::error::InternalError::from_response(error, response).into()
    }));
    admin_api::configure(cfg);
    admin_pages::configure(cfg);
    cfg.route("/healthz", web::get().to(health))
        .route(
            "/.well-known/oauth-authorization-server",
            web::get().to(oidc::discovery),
        )
        .route(
            "/.well-known/openid-configuration",
            web::get().to(oidc::discovery),
        )
        .route(
            "/.well-known/oauth-protected-resource",
            web::get().to(oidc::protected_resource),
        )
        .route(
            "/.well-known/oauth-protected-resource/{path:.*}",
            web::get().to(oidc::protected_resource),
        )
        .route("/oauth/jwks", web::get().to(oidc::jwks))
        .route(
            "/api/oauth/register",
            web::post().to(registration::register),
        )
        .service(
            web::resource("/oauth/userinfo")
                .route(web::get().to(oidc::userinfo))
                .route(web::post().to(oidc::userinfo))
                .route(web::method(actix_web::http::Method::OPTIONS).to(cors::preflight)),
        )
        .service(
            web::resource("/oauth/authorize")
                .route(web::get().to(authorize::authorize))
                .default_service(web::to(|| respond::method_not_allowed("GET"))),
        )
        .service(
            web::resource("/oauth/consent")
                .route(web::post().to(authorize::consent))
                .default_service(web::to(|| respond::method_not_allowed("POST"))),
        )
        .service(
            web::resource("/oauth/login")
                .route(web::get().to(login::login_page))
                .route(web::post().to(login::login_submit)),
        )
        .service(web::resource("/oauth/logout").route(web::post().to(login::logout)))
        .service(web::resource("/oauth/connected-apps").route(web::get().to(connected::page)))
        .service(
            web::resource("/oauth/connected-apps/revoke").route(web::post().to(connected::revoke)),
        )
        .service(
            web::resource("/api/oauth/token")
                .route(web::post().to(token::token))
                .route(web::method(actix_web::http::Method::OPTIONS).to(cors::preflight))
                .default_service(web::to(|| respond::method_not_allowed("POST"))),
        )
        .service(
            web::resource("/api/oauth/revoke")
                .route(web::post().to(lifecycle::revoke))
                .route(web::method(actix_web::http::Method::OPTIONS).to(cors::preflight))
                .default_service(web::to(|| respond::method_not_allowed("POST"))),
        )
        .service(
            web::resource("/api/oauth/introspect")
                .route(web::post().to(lifecycle::introspect))
                .default_service(web::to(|| respond::method_not_allowed("POST"))),
        );
}

async fn health() -> &'static str {
    "ok"
}
