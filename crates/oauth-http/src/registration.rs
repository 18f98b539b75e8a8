//! Dynamic client registration (RFC 7591), off unless configured.
//!
//! It creates public platform applications of the configured audience, with
//! scopes bounded by the configured set (itself held to the audience ceiling)
//! and redirect URIs checked by the same rules as every other registration.
//! Requests are size-limited and rate-limited per client address.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use oauth_admin::{AdminError, ApplicationSpec, Operator};
use oauth_core::{ClientType, ErrorCode, Registration, ScopeSet};
use serde::Deserialize;
use serde_json::json;

use crate::host::{resolve, HostError};
use crate::respond::json_error;
use crate::{AppState, DynamicRegistration};

/// The largest registration request accepted.
const MAX_BODY: usize = 16 * 1024;

/// Per-address limits on registrations.
pub struct RegistrationLimiter(DefaultKeyedRateLimiter<IpAddr>);

impl std::fmt::Debug for RegistrationLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RegistrationLimiter")
    }
}

impl RegistrationLimiter {
    /// A limiter allowing `per_minute` registrations per address.
    pub fn new(per_minute: u32) -> Arc<Self> {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Arc::new(Self(RateLimiter::keyed(Quota::per_minute(per_minute))))
    }
}

/// The client metadata this server reads (RFC 7591 §2); others are ignored.
#[derive(Debug, Deserialize)]
struct ClientMetadata {
    redirect_uris: Option<Vec<String>>,
    client_name: Option<String>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    application_type: Option<String>,
    scope: Option<String>,
}

fn metadata_error(description: &str) -> HttpResponse {
    json_error(
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidClientMetadata,
        description,
    )
}

/// `POST /api/oauth/register`.
pub async fn register(req: HttpRequest, state: web::Data<AppState>, body: Bytes) -> HttpResponse {
    let (Some(settings), Some(limiter)) = (
        &state.config.dynamic_registration,
        &state.registration_limiter,
    ) else {
        return json_error(
            StatusCode::NOT_FOUND,
            ErrorCode::InvalidRequest,
            "dynamic client registration is not enabled",
        );
    };
    let resolved = match resolve(&req, &state).await {
        Ok(resolved) => resolved,
        Err(HostError::Unknown) => {
            return json_error(
                StatusCode::NOT_FOUND,
                ErrorCode::InvalidRequest,
                "this host is not a school on Loopwise",
            )
        }
        Err(HostError::Storage(e)) => {
            tracing::error!(error = %e, "storage failed at registration");
            return json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TemporarilyUnavailable,
                "try again",
            );
        }
    };
    let address = resolved
        .client_ip
        .as_deref()
        .and_then(|ip| ip.parse::<IpAddr>().ok());
    if let Some(address) = address {
        if limiter.0.check_key(&address).is_err() {
            return json_error(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TemporarilyUnavailable,
                "too many registrations; try again later",
            );
        }
    }
    let is_json = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return json_error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "the body must be application/json",
        );
    }
    if body.len() > MAX_BODY {
        return metadata_error("the registration is too large");
    }
    let Ok(metadata) = serde_json::from_slice::<ClientMetadata>(&body) else {
        return metadata_error("the body is not valid client metadata");
    };
    match register_client(&state, settings, metadata).await {
        Ok(response) => response,
        Err(response) => response,
    }
}

async fn register_client(
    state: &AppState,
    settings: &DynamicRegistration,
    metadata: ClientMetadata,
) -> Result<HttpResponse, HttpResponse> {
    let redirect_uris = metadata.redirect_uris.unwrap_or_default();
    if redirect_uris.is_empty()
        || redirect_uris.len() > oauth_core::redirect_uri::MAX_PER_APPLICATION
    {
        return Err(json_error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRedirectUri,
            "give 1 to 10 redirect_uris",
        ));
    }
    match metadata.token_endpoint_auth_method.as_deref() {
        None | Some("none") => {}
        Some(_) => {
            return Err(metadata_error(
                "only public clients may register: token_endpoint_auth_method must be none",
            ))
        }
    }
    let grant_types = metadata
        .grant_types
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    if grant_types
        .iter()
        .any(|g| !oauth_core::metadata::GRANT_TYPES.contains(&g.as_str()))
    {
        return Err(metadata_error(
            "grant_types may be authorization_code and refresh_token",
        ));
    }
    let response_types = metadata
        .response_types
        .unwrap_or_else(|| vec!["code".into()]);
    if response_types
        .iter()
        .any(|r| !oauth_core::metadata::RESPONSE_TYPES.contains(&r.as_str()))
    {
        return Err(metadata_error("response_types may only be code"));
    }
    let application_type = metadata.application_type.unwrap_or_else(|| "web".into());
    if application_type != "web" && application_type != "native" {
        return Err(metadata_error("application_type must be web or native"));
    }
    let scopes = match metadata.scope.as_deref() {
        None => settings.scopes.clone(),
        Some(raw) => match ScopeSet::parse_request(raw) {
            Ok(asked) if asked.is_within(&settings.scopes) => asked,
            _ => {
                return Err(json_error(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::InvalidClientMetadata,
                    "scope asks for scopes this server does not give to registered clients",
                ))
            }
        },
    };
    let name = metadata
        .client_name
        .unwrap_or_else(|| "Unnamed application".into());
    let spec = ApplicationSpec {
        client_id: None,
        name,
        registration: Registration::Platform,
        audience: settings.audience,
        client_type: ClientType::Public,
        redirect_uris: redirect_uris.clone(),
        scopes: scopes.to_string(),
        secret: None,
        may_introspect: false,
    };
    let registered = match Operator::new(state.store.clone())
        .register_self_registered(spec)
        .await
    {
        Ok(registered) => registered,
        Err(AdminError::InvalidRedirectUri { uri, reason }) => {
            return Err(json_error(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidRedirectUri,
                &format!("redirect URI `{uri}` is not allowed: {reason}"),
            ));
        }
        Err(AdminError::Storage(e)) => {
            tracing::error!(error = %e, "registration could not be stored");
            return Err(json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TemporarilyUnavailable,
                "try again",
            ));
        }
        Err(other) => return Err(metadata_error(&other.to_string())),
    };
    tracing::info!(client.id = %registered.app.client_id, "client registered dynamically");
    let app = &registered.app;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "client_id": app.client_id.as_str(),
            "client_id_issued_at": chrono::Utc::now().timestamp(),
            "client_name": app.name,
            "redirect_uris": redirect_uris,
            "grant_types": grant_types,
            "response_types": response_types,
            "token_endpoint_auth_method": "none",
            "application_type": application_type,
            "scope": app.scopes.to_string(),
        })))
}
