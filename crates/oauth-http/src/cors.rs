//! Cross-origin calls from single-page applications (the product
//! specification §8): only the token, revocation and userinfo endpoints answer
//! them, and only for origins that clients registered.
//!
//! A preflight carries no client credentials, so it is allowed for an origin
//! that some public client usable at this host registered as a redirect URI.
//! The request itself gets CORS headers only when its origin is one of the
//! calling client's own redirect origins. No other endpoint sends CORS headers.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::web;
use actix_web::{HttpRequest, HttpResponse};
use oauth_core::{Application, ServedAt};

use crate::host::resolve;
use crate::AppState;

/// The request's `Origin`, if it sent one.
pub fn origin_of(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(|o| o.to_ascii_lowercase())
}

/// Whether `origin` is the origin of one of `app`'s redirect URIs.
pub fn is_client_origin(app: &Application, origin: &str) -> bool {
    app.redirect_uris
        .iter()
        .any(|uri| uri.web_origin().as_deref() == Some(origin))
}

/// Adds the CORS headers for `origin` to a response.
pub fn allow(response: &mut HttpResponse, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// Adds CORS headers when the request's origin belongs to `app`.
pub fn allow_for_client(
    req: &HttpRequest,
    app: &Application,
    mut response: HttpResponse,
) -> HttpResponse {
    if let Some(origin) = origin_of(req) {
        if is_client_origin(app, &origin) {
            allow(&mut response, &origin);
        }
    }
    response
}

/// `OPTIONS` on the token, revocation and userinfo endpoints.
pub async fn preflight(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let refused = || HttpResponse::build(StatusCode::FORBIDDEN).finish();
    let Some(origin) = origin_of(&req) else {
        return refused();
    };
    let Ok(resolved) = resolve(&req, &state).await else {
        return refused();
    };
    let school = match resolved.served_at {
        ServedAt::School(school) => Some(school),
        ServedAt::Platform => None,
    };
    let registered = match state.store.list_public_redirect_uris(school).await {
        Ok(uris) => uris,
        Err(e) => {
            tracing::error!(error = %e, "redirect URIs could not be listed for a preflight");
            return HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE).finish();
        }
    };
    if !registered
        .iter()
        .any(|uri| uri.web_origin().as_deref() == Some(origin.as_str()))
    {
        return refused();
    }
    let methods = if req.path() == "/oauth/userinfo" {
        "GET, POST"
    } else {
        "POST"
    };
    let mut response = HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, methods))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "authorization, content-type",
        ))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
        .finish();
    allow(&mut response, &origin);
    response
}
