//! The one place that turns errors into HTTP responses for each surface: JSON
//! for the token endpoint (RFC 6749 §5.2), redirects to the client for
//! authorization errors (RFC 6749 §4.1.2.1 with RFC 9207 `iss`), and HTML
//! pages for what must not be redirected.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use oauth_core::redirect_uri::RedirectUri;
use oauth_core::ErrorCode;
use serde_json::json;

/// Headers every page and token response carries.
fn harden(response: &mut HttpResponse) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// An HTML page.
pub fn html(status: StatusCode, body: String) -> HttpResponse {
    let mut response = HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body);
    harden(&mut response);
    let headers = response.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"),
    );
    response
}

/// A JSON error of the token endpoint (RFC 6749 §5.2). `invalid_client` gets
/// 401 and a `WWW-Authenticate: Basic` challenge; the rest 400.
pub fn oauth_json_error(code: ErrorCode, description: &str) -> HttpResponse {
    let status = match code {
        ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    json_error(status, code, description)
}

/// A JSON error with an explicit status.
pub fn json_error(status: StatusCode, code: ErrorCode, description: &str) -> HttpResponse {
    let mut response = HttpResponse::build(status)
        .json(json!({ "error": code.as_str(), "error_description": description }));
    harden(&mut response);
    if code == ErrorCode::InvalidClient {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"loopwise-connect\", charset=\"UTF-8\""),
        );
    }
    response
}

/// A successful JSON body that must not be cached (tokens).
pub fn json_no_store(body: &serde_json::Value) -> HttpResponse {
    let mut response = HttpResponse::Ok().json(body);
    harden(&mut response);
    response
}

/// A JSON body with `status`, never stored by caches.
pub fn json_with_status(status: StatusCode, body: &serde_json::Value) -> HttpResponse {
    let mut response = HttpResponse::build(status).json(body);
    harden(&mut response);
    response
}

/// A redirect to a validated redirect URI carrying `params`, `state` and `iss`.
pub fn redirect_to_client(
    status: StatusCode,
    redirect_uri: &str,
    params: &[(&str, &str)],
    state: Option<&str>,
    issuer: &str,
) -> HttpResponse {
    let mut all: Vec<(&str, &str)> = params.to_vec();
    if let Some(state) = state {
        all.push(("state", state));
    }
    all.push(("iss", issuer));
    let location = RedirectUri::with_params(redirect_uri, &all);
    redirect(status, &location)
}

/// The URL a client error redirect goes to; also used for "return to the app" links.
pub fn client_error_url(
    redirect_uri: &str,
    code: ErrorCode,
    description: &str,
    state: Option<&str>,
    issuer: &str,
) -> String {
    let mut all = vec![("error", code.as_str()), ("error_description", description)];
    if let Some(state) = state {
        all.push(("state", state));
    }
    all.push(("iss", issuer));
    RedirectUri::with_params(redirect_uri, &all)
}

/// A plain redirect.
pub fn redirect(status: StatusCode, location: &str) -> HttpResponse {
    let mut response = HttpResponse::build(status).finish();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    harden(&mut response);
    response
}

/// 405 with the `Allow` header (RFC 9110 §15.5.6).
pub async fn method_not_allowed(allow: &'static str) -> HttpResponse {
    let mut response = json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::InvalidRequest,
        &format!("this endpoint accepts {allow} only"),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}
