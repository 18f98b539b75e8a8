//! OpenID Connect and discovery: issuer metadata (RFC 8414, OIDC Discovery),
//! the JWKS, ID token signing, userinfo, and protected resource metadata
//! (RFC 9728).

use std::time::{Duration as StdDuration, Instant};

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::web;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use oauth_core::access::{bearer_token, check_issuer_token, AccessError};
use oauth_core::id_token::{IdTokenClaims, ID_TOKEN_LIFETIME};
use oauth_core::metadata;
use oauth_core::{ErrorCode, PresentedSecret, Scope, ServedAt};
use oauth_storage::{StorageError, Store};
use serde_json::{json, Value};
use tokio::sync::RwLock;

use crate::host::{resolve, HostError, Resolved};
use crate::respond::json_error;
use crate::AppState;

/// How long a retired key stays published: longer than any token it signed.
const RETIRED_KEY_GRACE: Duration = Duration::hours(24);
/// How long the key set may be cached by relying parties.
const JWKS_MAX_AGE_SECONDS: u32 = 300;
/// How often a worker checks which key is active (a rotation elsewhere is
/// picked up within this time; the old key stays published meanwhile).
const KEY_CACHE_TTL: StdDuration = StdDuration::from_secs(60);

/// Signs ID tokens with the active key, caching the parsed key.
#[derive(Default)]
pub struct Signer {
    cached: RwLock<Option<(String, EncodingKey, Instant)>>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

/// Why an ID token could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// No key has been created (`loopwise-connect signing-key-rotate`).
    #[error("no signing key exists")]
    NoKey,
    /// The stored key could not be read.
    #[error("the signing key is unreadable: {0}")]
    BadKey(String),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Signer {
    async fn key(&self, store: &Store) -> Result<(String, EncodingKey), SignError> {
        if let Some((kid, key, at)) = self.cached.read().await.as_ref() {
            if at.elapsed() < KEY_CACHE_TTL {
                return Ok((kid.clone(), key.clone()));
            }
        }
        // A new key signs only once it has been published as long as the key
        // set may be cached, so no relying party meets an unknown `kid`.
        let active = store
            .find_signing_key(
                Utc::now(),
                Duration::seconds(i64::from(JWKS_MAX_AGE_SECONDS)),
            )
            .await?
            .ok_or(SignError::NoKey)?;
        let key = EncodingKey::from_rsa_pem(active.expose_private_key_pem().as_bytes())
            .map_err(|e| SignError::BadKey(e.to_string()))?;
        *self.cached.write().await = Some((active.kid.clone(), key.clone(), Instant::now()));
        Ok((active.kid, key))
    }

    /// Signs the claims as a compact JWS with RS256 and the key's `kid`.
    pub async fn sign(&self, store: &Store, claims: &IdTokenClaims) -> Result<String, SignError> {
        let (kid, key) = self.key(store).await?;
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid);
        let mut body = json!({
            "iss": claims.iss,
            "sub": claims.sub.to_string(),
            "aud": claims.aud.as_str(),
            "exp": claims.exp,
            "iat": claims.iat,
            "auth_time": claims.auth_time,
            "school_id": claims.school_id.to_string(),
        });
        if let Some(nonce) = &claims.nonce {
            body["nonce"] = Value::from(nonce.as_str());
        }
        jsonwebtoken::encode(&header, &body, &key).map_err(|e| SignError::BadKey(e.to_string()))
    }
}

fn cacheable_json(body: &Value, max_age_seconds: u32) -> HttpResponse {
    let mut response = HttpResponse::Ok().json(body);
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age_seconds}")) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

async fn resolved_or_404(req: &HttpRequest, state: &AppState) -> Result<Resolved, HttpResponse> {
    match resolve(req, state).await {
        Ok(resolved) => Ok(resolved),
        Err(HostError::Unknown) => Err(json_error(
            StatusCode::NOT_FOUND,
            ErrorCode::InvalidRequest,
            "this host is not a school on Loopwise",
        )),
        Err(HostError::Storage(e)) => {
            tracing::error!(error = %e, "storage failed while resolving the host");
            Err(json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TemporarilyUnavailable,
                "try again",
            ))
        }
    }
}

/// The metadata of the issuer at this host.
pub fn issuer_metadata(state: &AppState, resolved: &Resolved) -> Value {
    let issuer = resolved.issuer();
    let mut body = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/api/oauth/token"),
        "revocation_endpoint": format!("{issuer}/api/oauth/revoke"),
        "introspection_endpoint": format!("{issuer}/api/oauth/introspect"),
        "userinfo_endpoint": format!("{issuer}/oauth/userinfo"),
        "jwks_uri": format!("{issuer}/oauth/jwks"),
        "scopes_supported": metadata::scopes_supported(),
        "response_types_supported": metadata::RESPONSE_TYPES,
        "response_modes_supported": metadata::RESPONSE_MODES,
        "grant_types_supported": metadata::GRANT_TYPES,
        "code_challenge_methods_supported": metadata::CODE_CHALLENGE_METHODS,
        "token_endpoint_auth_methods_supported": metadata::TOKEN_ENDPOINT_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": metadata::TOKEN_ENDPOINT_AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": metadata::INTROSPECTION_AUTH_METHODS,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": metadata::ID_TOKEN_SIGNING_ALGS,
        "claims_supported": metadata::CLAIMS,
        "prompt_values_supported": metadata::PROMPT_VALUES,
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
        "client_id_metadata_document_supported": state.config.client_metadata_documents
            || state.config.client_metadata_fetch.is_some(),
    });
    // No client can introspect at the platform host, so it offers no endpoint.
    if resolved.served_at == ServedAt::Platform {
        if let Some(map) = body.as_object_mut() {
            map.remove("introspection_endpoint");
            map.remove("introspection_endpoint_auth_methods_supported");
        }
    }
    if state.config.dynamic_registration.is_some() {
        body["registration_endpoint"] = Value::from(format!("{issuer}/api/oauth/register"));
    }
    body
}

/// `GET /.well-known/oauth-authorization-server` and
/// `GET /.well-known/openid-configuration`.
pub async fn discovery(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match resolved_or_404(&req, &state).await {
        Ok(resolved) => cacheable_json(&issuer_metadata(&state, &resolved), 300),
        Err(response) => response,
    }
}

/// `GET /oauth/jwks`: the active key and those retired within the grace period.
pub async fn jwks(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Err(response) = resolved_or_404(&req, &state).await {
        return response;
    }
    match state
        .store
        .list_published_keys(Utc::now(), RETIRED_KEY_GRACE.max(ID_TOKEN_LIFETIME))
        .await
    {
        Ok(keys) => {
            let keys: Vec<Value> = keys
                .iter()
                .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
                .collect();
            cacheable_json(&json!({ "keys": keys }), JWKS_MAX_AGE_SECONDS)
        }
        Err(e) => {
            tracing::error!(error = %e, "keys could not be listed");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TemporarilyUnavailable,
                "try again",
            )
        }
    }
}

fn bearer_error(error: &AccessError, realm: &str) -> HttpResponse {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut response = HttpResponse::build(status).finish();
    if let Ok(value) = HeaderValue::from_str(&error.www_authenticate(realm)) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET` and `POST /oauth/userinfo` (OpenID Connect Core §5.3), with the access
/// token in the `Authorization` header.
pub async fn userinfo(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let resolved = match resolved_or_404(&req, &state).await {
        Ok(resolved) => resolved,
        Err(response) => return response,
    };
    let realm = resolved.issuer();
    // RFC 6750 §2: one way, one token. Two headers, or one that is not text,
    // make a malformed request.
    let mut values = req.headers().get_all(header::AUTHORIZATION);
    let header = match (values.next(), values.next()) {
        (Some(_), Some(_)) => Some("malformed"),
        (Some(value), None) => Some(value.to_str().unwrap_or("malformed")),
        (None, _) => None,
    };
    let token = match bearer_token(header) {
        Ok(token) => token,
        Err(e) => return bearer_error(&e, &realm),
    };
    let record = match state
        .store
        .find_access_token(PresentedSecret::new(token).hash())
        .await
    {
        Ok(record) => record,
        Err(e) => {
            tracing::error!(error = %e, "token lookup failed at userinfo");
            return json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TemporarilyUnavailable,
                "try again",
            );
        }
    };
    let record_app = record.as_ref().map(|r| r.application_id);
    let access = match check_issuer_token(record.as_ref(), resolved.served_at, Utc::now()) {
        Ok(access) => access,
        Err(e) => return bearer_error(&e, &realm),
    };
    let openid = Scope::parse("openid").ok();
    if let Some(openid) = openid {
        if let Err(e) = access.require_scope(openid) {
            return bearer_error(&e, &realm);
        }
    }
    let Some(record_app) = record_app else {
        return bearer_error(&AccessError::InvalidToken, &realm);
    };
    let user = match state.store.find_user(access.user_id).await {
        Ok(Some(user)) => user,
        Ok(None) => return bearer_error(&AccessError::InvalidToken, &realm),
        Err(e) => {
            tracing::error!(error = %e, "user lookup failed at userinfo");
            return json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TemporarilyUnavailable,
                "try again",
            );
        }
    };
    let mut body = json!({ "sub": user.id.to_string(), "school_id": access.school_id.to_string() });
    if Scope::parse("profile").is_ok_and(|s| access.scopes.contains(s)) {
        body["name"] = Value::from(user.display_name.clone());
    }
    if Scope::parse("email").is_ok_and(|s| access.scopes.contains(s)) {
        body["email"] = Value::from(user.email.clone());
    }
    let mut response = HttpResponse::Ok().json(body);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Single-page apps call userinfo from their own origin (the product
    // specification §8): headers only for the token's own client.
    match state.store.find_application_by_id(record_app).await {
        Ok(Some(owner)) => crate::cors::allow_for_client(&req, &owner.app, response),
        _ => response,
    }
}

/// `GET /.well-known/oauth-protected-resource[/path]` (RFC 9728): metadata of a
/// resource registered by this host's school, pointing at this issuer.
pub async fn protected_resource(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let resolved = match resolved_or_404(&req, &state).await {
        Ok(resolved) => resolved,
        Err(response) => return response,
    };
    let not_found = || {
        json_error(
            StatusCode::NOT_FOUND,
            ErrorCode::InvalidRequest,
            "no such protected resource here",
        )
    };
    let ServedAt::School(school) = resolved.served_at else {
        return not_found();
    };
    let suffix = req
        .path()
        .trim_start_matches("/.well-known/oauth-protected-resource");
    let resources = match state.store.list_school_resources(school).await {
        Ok(resources) => resources,
        Err(e) => {
            tracing::error!(error = %e, "resources could not be listed");
            return json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TemporarilyUnavailable,
                "try again",
            );
        }
    };
    // Only resources served at this very host (behind the school's frontend):
    // RFC 9728 §3.3 has the metadata's `resource` equal the URL it describes.
    let issuer = resolved.issuer();
    let wanted = format!("{issuer}{}", if suffix.is_empty() { "/" } else { suffix });
    let chosen = resources
        .iter()
        .find(|(uri, _)| *uri == wanted || (suffix.is_empty() && *uri == issuer));
    let Some((resource, name)) = chosen else {
        return not_found();
    };
    // The resource scopes a token for it can carry (never admin ones).
    let resource_scopes: Vec<&str> = metadata::scopes_supported()
        .into_iter()
        .filter(|s| s.contains(':') && !s.starts_with("admin:"))
        .collect();
    cacheable_json(
        &json!({
            "resource": resource,
            "resource_name": name,
            "authorization_servers": [resolved.issuer()],
            "scopes_supported": resource_scopes,
            "bearer_methods_supported": ["header"],
        }),
        300,
    )
}
