//! Client authentication at the token endpoint (RFC 6749 §2.3.1).
//!
//! A client uses exactly one method per request: HTTP Basic
//! (`client_secret_basic`, whose id and secret are form-encoded before base64),
//! the body (`client_secret_post`), or none (public clients send `client_id`).

use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use oauth_core::params::Params;
use oauth_core::{ClientId, ErrorCode, PresentedSecret, ServedAt};
use oauth_storage::StoredApplication;

use crate::AppState;

/// A client authentication failure: the code and a description safe to send.
#[derive(Debug)]
pub struct AuthFailure {
    pub code: ErrorCode,
    pub description: &'static str,
}

fn invalid_request(description: &'static str) -> AuthFailure {
    AuthFailure {
        code: ErrorCode::InvalidRequest,
        description,
    }
}

const CLIENT_AUTH_FAILED: AuthFailure = AuthFailure {
    code: ErrorCode::InvalidClient,
    description: "client authentication failed",
};

/// The credentials a request carries, before they are checked.
struct Presented {
    unverified_client_id: String,
    secret: Option<PresentedSecret>,
}

fn form_decode(part: &str) -> String {
    // `application/x-www-form-urlencoded` decoding of one value (RFC 6749 §2.3.1).
    form_urlencoded::parse(format!("v={part}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn presented(headers: &HeaderMap, params: &Params) -> Result<Presented, AuthFailure> {
    let body_id = params
        .single("client_id")
        .map_err(|_| invalid_request("client_id was sent more than once"))?;
    let body_secret = params
        .single("client_secret")
        .map_err(|_| invalid_request("client_secret was sent more than once"))?;
    let Some(authorization) = headers.get(AUTHORIZATION) else {
        let id = body_id.ok_or(CLIENT_AUTH_FAILED)?;
        return Ok(Presented {
            unverified_client_id: id.to_owned(),
            secret: body_secret.map(PresentedSecret::new),
        });
    };
    let authorization = authorization.to_str().map_err(|_| CLIENT_AUTH_FAILED)?;
    let (scheme, encoded) = authorization.split_once(' ').ok_or(CLIENT_AUTH_FAILED)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(invalid_request(
            "only Basic client authentication is supported in the Authorization header",
        ));
    }
    if params.has("client_secret") {
        return Err(invalid_request(
            "use one client authentication method, not both Basic and client_secret",
        ));
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| CLIENT_AUTH_FAILED)?;
    let decoded = String::from_utf8(decoded).map_err(|_| CLIENT_AUTH_FAILED)?;
    let (id, secret) = decoded.split_once(':').ok_or(CLIENT_AUTH_FAILED)?;
    let (id, secret) = (form_decode(id), form_decode(secret));
    if body_id.is_some_and(|body_id| body_id != id) {
        return Err(invalid_request(
            "client_id in the body differs from the Authorization header",
        ));
    }
    let secret = (!secret.is_empty()).then(|| PresentedSecret::new(secret));
    Ok(Presented {
        unverified_client_id: id,
        secret,
    })
}

/// Authenticates the calling client for use at `served_at`.
///
/// Unknown, disabled and foreign clients, wrong secrets, missing secrets of
/// confidential clients and secrets sent by public clients all get the same
/// `invalid_client`, so the answer reveals nothing about which applies.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    served_at: ServedAt,
) -> Result<StoredApplication, AuthFailure> {
    let presented = presented(headers, params)?;
    let client_id =
        ClientId::parse(&presented.unverified_client_id).map_err(|_| CLIENT_AUTH_FAILED)?;
    let stored = match state.store.find_application(&client_id).await {
        Ok(Some(stored)) if stored.app.is_usable_at(served_at) => stored,
        Ok(_) => return Err(CLIENT_AUTH_FAILED),
        Err(e) => {
            tracing::error!(error = %e, "client lookup failed");
            return Err(AuthFailure {
                code: ErrorCode::ServerError,
                description: "the server could not process the request",
            });
        }
    };
    let authenticated = stored
        .app
        .is_authenticated_by(presented.secret.as_ref(), stored.secret_hash.as_ref());
    if authenticated {
        Ok(stored)
    } else {
        Err(CLIENT_AUTH_FAILED)
    }
}
