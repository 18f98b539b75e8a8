//! The token endpoint (RFC 6749 §3.2, §4.1.3, §6; RFC 7636 §4.5).

use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use chrono::Utc;
use oauth_core::audit::Actor;
use oauth_core::id_token::id_token_claims;
use oauth_core::params::Params;
use oauth_core::resource::keep_resource;
use oauth_core::token::{
    check_code_exchange, check_refresh, is_same_issuer, may_redeem, scopes_to_issue,
    GrantRejection, ACCESS_TOKEN_LIFETIME,
};
use oauth_core::{ErrorCode, PresentedSecret, Scope, TokenKind};
use oauth_storage::{
    AuditMeta, IssuedTokens, NewToken, Redemption, StorageError, StoredApplication,
};
use serde_json::json;

use crate::client_auth::authenticate;
use crate::host::{resolve, HostError, Resolved};
use crate::respond::{json_error, json_no_store, oauth_json_error};
use crate::security::new_token;
use crate::AppState;

pub(crate) fn server_error(error: &StorageError) -> HttpResponse {
    tracing::error!(error = %error, "storage failed at the token endpoint");
    oauth_json_error(
        ErrorCode::TemporarilyUnavailable,
        "the server could not process the request; try again",
    )
}

/// Whether the body is `application/x-www-form-urlencoded`, parameters such as
/// `charset` allowed (RFC 6749 §4.1.3 requires this format).
pub(crate) fn is_form_encoded(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The description sent for a refused grant. Unknown, foreign and other
/// clients' codes share one text, so the answer reveals nothing.
fn grant_error(rejection: &GrantRejection) -> HttpResponse {
    let description = match rejection {
        GrantRejection::NotFound => "the authorization grant is invalid".to_owned(),
        other => other.to_string(),
    };
    oauth_json_error(rejection.error_code(), &description)
}

/// `POST /api/oauth/token`.
pub async fn token(req: HttpRequest, state: web::Data<AppState>, body: Bytes) -> HttpResponse {
    let resolved = match resolve(&req, &state).await {
        Ok(resolved) => resolved,
        Err(HostError::Unknown) => {
            return json_error(
                actix_web::http::StatusCode::NOT_FOUND,
                ErrorCode::InvalidRequest,
                "this host is not a school on Loopwise",
            )
        }
        Err(HostError::Storage(e)) => return server_error(&e),
    };
    if !is_form_encoded(&req) {
        return oauth_json_error(
            ErrorCode::InvalidRequest,
            "the body must be application/x-www-form-urlencoded",
        );
    }
    let params = Params::from_pairs(form_urlencoded::parse(&body).into_owned());
    if let Some(duplicate) = params.first_duplicate() {
        return oauth_json_error(ErrorCode::InvalidRequest, &duplicate.to_string());
    }
    let client = match authenticate(&state, req.headers(), &params, resolved.served_at).await {
        Ok(client) => client,
        Err(failure) => {
            tracing::info!(host = %resolved.host, reason = failure.description, "client authentication failed");
            return oauth_json_error(failure.code, failure.description);
        }
    };
    let response = match params.single("grant_type").ok().flatten() {
        None => oauth_json_error(ErrorCode::InvalidRequest, "grant_type is required"),
        Some("authorization_code") => exchange_code(&state, &resolved, &client, &params).await,
        Some("refresh_token") => refresh(&state, &resolved, &client, &params).await,
        Some(_) => oauth_json_error(
            ErrorCode::UnsupportedGrantType,
            "supported grant types are authorization_code and refresh_token",
        ),
    };
    crate::cors::allow_for_client(&req, &client.app, response)
}

/// The audit context of a client's request.
pub fn client_meta(client: &StoredApplication, resolved: &Resolved) -> AuditMeta {
    AuditMeta {
        actor: Actor::Client(client.app.client_id.clone()),
        client_ip: resolved.client_ip.clone(),
    }
}

struct FreshPair {
    access: oauth_core::PlainToken,
    refresh: oauth_core::PlainToken,
}

impl FreshPair {
    /// The digests and expiries storage keeps for the pair.
    fn to_store(&self, state: &AppState, now: chrono::DateTime<Utc>) -> (NewToken, NewToken) {
        (
            NewToken {
                hash: self.access.hash(),
                expires_at: now + ACCESS_TOKEN_LIFETIME,
            },
            NewToken {
                hash: self.refresh.hash(),
                expires_at: now + state.config.refresh_token_lifetime,
            },
        )
    }
}

fn fresh_pair() -> Option<FreshPair> {
    Some(FreshPair {
        access: new_token(TokenKind::AccessToken).ok()?,
        refresh: new_token(TokenKind::RefreshToken).ok()?,
    })
}

async fn exchange_code(
    state: &AppState,
    resolved: &Resolved,
    client: &StoredApplication,
    params: &Params,
) -> HttpResponse {
    let Some(code) = params.single("code").ok().flatten() else {
        return oauth_json_error(ErrorCode::InvalidRequest, "code is required");
    };
    let code_hash = PresentedSecret::new(code).hash();
    let stored = match state.store.find_code(code_hash.clone()).await {
        Ok(stored) => stored,
        Err(e) => return server_error(&e),
    };
    // A code of another client, school or issuer is answered exactly like an
    // unknown one, and is not spent.
    let issuer = resolved.issuer();
    let Some(stored) = stored.filter(|c| {
        may_redeem(
            &client.app,
            c.record.application_id,
            c.record.binding,
            resolved.served_at,
        ) && is_same_issuer(&c.record, &issuer)
    }) else {
        tracing::info!(client.id = %client.app.client_id, "unknown or foreign authorization code presented");
        return grant_error(&GrantRejection::NotFound);
    };
    let Some(pair) = fresh_pair() else {
        return oauth_json_error(
            ErrorCode::TemporarilyUnavailable,
            "the server could not issue tokens; try again",
        );
    };
    let now = Utc::now();
    let requested_resource = params.single("resource").ok().flatten().map(str::to_owned);
    let redirect_uri = params
        .single("redirect_uri")
        .ok()
        .flatten()
        .map(str::to_owned);
    let verifier = params
        .single("code_verifier")
        .ok()
        .flatten()
        .map(str::to_owned);
    let app = client.app.clone();
    let outcome = state
        .store
        .redeem_code(
            code_hash,
            pair.to_store(state, now),
            client_meta(client, resolved),
            now,
            move |code| {
                check_code_exchange(
                    &code.record,
                    redirect_uri.as_deref(),
                    verifier.as_deref(),
                    now,
                )?;
                keep_resource(requested_resource.as_deref(), code.resource.as_deref())?;
                Ok(scopes_to_issue(&code.scopes, &app))
            },
        )
        .await;
    match outcome {
        Ok(Redemption::Issued(issued)) => {
            tracing::info!(client.id = %client.app.client_id, school.id = %issued.school_id, grant.id = %issued.grant_id, "tokens issued for a code");
            token_response(state, resolved, client, &pair, &issued).await
        }
        Ok(Redemption::Rejected(rejection)) => {
            if rejection == GrantRejection::CodeReused {
                tracing::warn!(client.id = %client.app.client_id, grant.id = %stored.grant_id, "authorization code replayed; its tokens were revoked");
            } else {
                tracing::info!(client.id = %client.app.client_id, reason = %rejection, "code exchange refused");
            }
            grant_error(&rejection)
        }
        Err(e) => server_error(&e),
    }
}

async fn refresh(
    state: &AppState,
    resolved: &Resolved,
    client: &StoredApplication,
    params: &Params,
) -> HttpResponse {
    let Some(token) = params.single("refresh_token").ok().flatten() else {
        return oauth_json_error(ErrorCode::InvalidRequest, "refresh_token is required");
    };
    let token_hash = PresentedSecret::new(token).hash();
    let record = match state.store.find_refresh_token(token_hash.clone()).await {
        Ok(record) => record,
        Err(e) => return server_error(&e),
    };
    let Some(record) =
        record.filter(|r| may_redeem(&client.app, r.application_id, r.binding, resolved.served_at))
    else {
        tracing::info!(client.id = %client.app.client_id, "unknown or foreign refresh token presented");
        return grant_error(&GrantRejection::NotFound);
    };
    // The user's standing in the token's school now, for the audience gate.
    let role = match state
        .store
        .find_role(record.user_id, record.binding.school_id)
        .await
    {
        Ok(role) => role,
        Err(e) => return server_error(&e),
    };
    let is_staff = match state.store.find_user(record.user_id).await {
        Ok(user) => user.is_some_and(|u| u.is_staff),
        Err(e) => return server_error(&e),
    };
    let Some(pair) = fresh_pair() else {
        return oauth_json_error(
            ErrorCode::TemporarilyUnavailable,
            "the server could not issue tokens; try again",
        );
    };
    let now = Utc::now();
    let scope = params.single("scope").ok().flatten().map(str::to_owned);
    let retry_window = state.config.refresh_retry_window;
    let requested_resource = params.single("resource").ok().flatten().map(str::to_owned);
    let app = client.app.clone();
    let outcome = state
        .store
        .rotate_refresh_token(
            token_hash,
            pair.to_store(state, now),
            client_meta(client, resolved),
            now,
            move |record| {
                let decision = check_refresh(
                    record,
                    &app,
                    (role, is_staff),
                    scope.as_deref(),
                    now,
                    retry_window,
                )?;
                keep_resource(requested_resource.as_deref(), record.resource.as_deref())?;
                Ok(decision)
            },
        )
        .await;
    match outcome {
        Ok(Redemption::Issued(issued)) => {
            tracing::info!(client.id = %client.app.client_id, school.id = %issued.school_id, grant.id = %issued.grant_id, "refresh token rotated");
            token_response(state, resolved, client, &pair, &issued).await
        }
        Ok(Redemption::Rejected(rejection)) => {
            if rejection == GrantRejection::RefreshTokenReused {
                tracing::warn!(client.id = %client.app.client_id, "refresh token reused; every token of its grant was revoked");
            } else {
                tracing::info!(client.id = %client.app.client_id, reason = %rejection, "refresh refused");
            }
            grant_error(&rejection)
        }
        Err(e) => server_error(&e),
    }
}

async fn token_response(
    state: &AppState,
    resolved: &Resolved,
    client: &StoredApplication,
    pair: &FreshPair,
    issued: &IssuedTokens,
) -> HttpResponse {
    let school = match state.store.find_school(issued.school_id).await {
        Ok(Some(school)) => school,
        Ok(None) => {
            return oauth_json_error(
                ErrorCode::InvalidGrant,
                "the school of this grant no longer exists",
            )
        }
        Err(e) => return server_error(&e),
    };
    let mut body = json!({
        "access_token": pair.access.expose_secret(),
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME.num_seconds(),
        "refresh_token": pair.refresh.expose_secret(),
        "scope": issued.scopes.to_string(),
        "school_id": issued.school_id.to_string(),
        "school_subdomain": school.subdomain.as_str(),
    });
    // An ID token answers a login, so it comes with a code exchange that
    // granted `openid` (OpenID Connect Core §3.1.3.3); refreshes do without.
    let openid = Scope::parse("openid").is_ok_and(|s| issued.scopes.contains(s));
    if let (true, Some(auth_time)) = (openid, issued.auth_time) {
        let claims = id_token_claims(
            &resolved.issuer(),
            issued.user_id,
            &client.app.client_id,
            issued.school_id,
            auth_time,
            issued.nonce.as_deref(),
            Utc::now(),
        );
        match state.signer.sign(&state.store, &claims).await {
            Ok(id_token) => body["id_token"] = serde_json::Value::from(id_token),
            Err(e) => {
                tracing::error!(error = %e, "the ID token could not be signed");
                return oauth_json_error(
                    ErrorCode::TemporarilyUnavailable,
                    "the server could not sign the ID token",
                );
            }
        }
    }
    json_no_store(&body)
}
