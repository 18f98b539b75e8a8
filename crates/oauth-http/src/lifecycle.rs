//! Token revocation (RFC 7009) and introspection (RFC 7662).
//!
//! Both authenticate the calling client exactly as the token endpoint does.
//! Revocation answers 200 whatever the token was, so it reveals nothing;
//! introspection tells only allowed resource servers of a school about that
//! school's tokens, and everyone else learns `{"active": false}`.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use chrono::Utc;
use oauth_core::introspection::{
    introspection_school, is_access_token_active, is_refresh_token_active,
};
use oauth_core::params::Params;
use oauth_core::token::may_redeem;
use oauth_core::{ErrorCode, PresentedSecret};
use oauth_storage::StoredApplication;
use serde_json::json;

use crate::client_auth::authenticate;
use crate::host::{resolve, HostError, Resolved};
use crate::respond::{json_error, json_no_store, oauth_json_error};
use crate::token::{client_meta, is_form_encoded, server_error};
use crate::AppState;

/// Parses, checks and authenticates a revocation or introspection request.
async fn authenticated(
    req: &HttpRequest,
    state: &AppState,
    body: &Bytes,
) -> Result<(Resolved, StoredApplication, Params), HttpResponse> {
    let resolved = match resolve(req, state).await {
        Ok(resolved) => resolved,
        Err(HostError::Unknown) => {
            return Err(json_error(
                StatusCode::NOT_FOUND,
                ErrorCode::InvalidRequest,
                "this host is not a school on Loopwise",
            ))
        }
        Err(HostError::Storage(e)) => return Err(server_error(&e)),
    };
    if !is_form_encoded(req) {
        return Err(oauth_json_error(
            ErrorCode::InvalidRequest,
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let params = Params::from_pairs(form_urlencoded::parse(body).into_owned());
    if let Some(duplicate) = params.first_duplicate() {
        return Err(oauth_json_error(
            ErrorCode::InvalidRequest,
            &duplicate.to_string(),
        ));
    }
    let client = authenticate(state, req.headers(), &params, resolved.served_at)
        .await
        .map_err(|failure| oauth_json_error(failure.code, failure.description))?;
    if params.single("token").ok().flatten().is_none() {
        return Err(oauth_json_error(
            ErrorCode::InvalidRequest,
            "token is required",
        ));
    }
    Ok((resolved, client, params))
}

/// `POST /api/oauth/revoke` (RFC 7009 §2).
pub async fn revoke(req: HttpRequest, state: web::Data<AppState>, body: Bytes) -> HttpResponse {
    let (resolved, client, params) = match authenticated(&req, &state, &body).await {
        Ok(parts) => parts,
        Err(response) => return response,
    };
    let token = PresentedSecret::new(params.single("token").ok().flatten().unwrap_or_default());
    let hash = token.hash();
    let now = Utc::now();
    // `token_type_hint` only decides which kind is looked up first (§2.1).
    let refresh_first = params.single("token_type_hint").ok().flatten() == Some("refresh_token");
    let outcome = async {
        let access = state.store.find_access_token(hash.clone()).await?;
        let refresh = state.store.find_refresh_token(hash.clone()).await?;
        let revoke_access = access.filter(|t| {
            may_redeem(
                &client.app,
                t.application_id,
                t.binding(),
                resolved.served_at,
            )
        });
        let revoke_refresh = refresh
            .filter(|t| may_redeem(&client.app, t.application_id, t.binding, resolved.served_at));
        let meta = client_meta(&client, &resolved);
        match (
            refresh_first,
            revoke_access.is_some(),
            revoke_refresh.is_some(),
        ) {
            (_, _, true) if refresh_first || revoke_access.is_none() => {
                state
                    .store
                    .revoke_refresh_family(hash.clone(), meta, now)
                    .await
            }
            (_, true, _) => {
                state
                    .store
                    .revoke_access_token(hash.clone(), meta, now)
                    .await
            }
            _ => Ok(()),
        }
    }
    .await;
    match outcome {
        Ok(()) => {
            tracing::info!(client.id = %client.app.client_id, "revocation request answered");
            let mut response = HttpResponse::Ok().finish();
            response.headers_mut().insert(
                actix_web::http::header::CACHE_CONTROL,
                actix_web::http::header::HeaderValue::from_static("no-store"),
            );
            crate::cors::allow_for_client(&req, &client.app, response)
        }
        Err(e) => server_error(&e),
    }
}

/// `POST /api/oauth/introspect` (RFC 7662 §2).
pub async fn introspect(req: HttpRequest, state: web::Data<AppState>, body: Bytes) -> HttpResponse {
    let (resolved, client, params) = match authenticated(&req, &state, &body).await {
        Ok(parts) => parts,
        Err(response) => return response,
    };
    // Introspection is for confidential clients (the product specification §9);
    // a public client cannot authenticate here at all.
    if client.app.client_type == oauth_core::ClientType::Public {
        return oauth_json_error(ErrorCode::InvalidClient, "client authentication failed");
    }
    let inactive = || json_no_store(&json!({ "active": false }));
    let Some(school) = introspection_school(&client.app, client.may_introspect, resolved.served_at)
    else {
        tracing::info!(client.id = %client.app.client_id, "introspection by a client without the right");
        return inactive();
    };
    let token = PresentedSecret::new(params.single("token").ok().flatten().unwrap_or_default());
    let hash = token.hash();
    let now = Utc::now();
    match state.store.find_access_token(hash.clone()).await {
        Ok(Some(access)) if is_access_token_active(&access, school, now) => {
            return json_no_store(&json!({
                "active": true,
                "token_type": "Bearer",
                "scope": access.scopes.to_string(),
                "client_id": access.client_id.as_str(),
                "sub": access.user_id.to_string(),
                "exp": access.expires_at.timestamp(),
                "iat": access.issued_at.timestamp(),
                "school_id": access.school_id.to_string(),
                // RFC 8707: the audience is the resource the token was bound
                // to; a token bound to none is for the client's own use.
                "aud": access.resource.as_deref().unwrap_or(access.client_id.as_str()),
            }));
        }
        Ok(Some(_)) => return inactive(),
        Ok(None) => {}
        Err(e) => return server_error(&e),
    }
    let refresh = match state.store.find_refresh_token(hash).await {
        Ok(Some(refresh)) if is_refresh_token_active(&refresh, school, now) => refresh,
        Ok(_) => return inactive(),
        Err(e) => return server_error(&e),
    };
    match state
        .store
        .find_application_by_id(refresh.application_id)
        .await
    {
        Ok(Some(owner)) => json_no_store(&json!({
            "active": true,
            "token_type": "refresh_token",
            "scope": refresh.scopes.to_string(),
            "client_id": owner.app.client_id.as_str(),
            "exp": refresh.expires_at.timestamp(),
            "school_id": refresh.binding.school_id.to_string(),
            "aud": owner.app.client_id.as_str(),
        })),
        Ok(None) => inactive(),
        Err(e) => server_error(&e),
    }
}
