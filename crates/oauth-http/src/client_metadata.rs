//! Fetching Client ID Metadata Documents: a `client_id` that is an https URL
//! on the operator's allow-list names a public client described by the JSON
//! document at that URL.
//!
//! The fetch is deliberately narrow: only allow-listed URLs, no redirects, a
//! short timeout, a size cap, JSON only. A fetched document is checked by the
//! core rules and registered like any platform client, and kept for a few
//! minutes before it is fetched again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;
use oauth_admin::Operator;
use oauth_core::client_metadata::{
    client_id_origin, is_allowed_by, is_url_client_id, loopback_client_id_origin,
};
use oauth_core::{Audience, ClientId, ScopeSet};
use oauth_storage::{StorageError, StoredApplication};

use crate::AppState;

/// The largest document accepted.
const MAX_DOCUMENT_BYTES: usize = 16 * 1024;
/// How long a fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a fetched document is used before it is fetched again.
const CACHE_FOR: Duration = Duration::from_secs(300);

/// Which documents may be fetched, and what their clients get.
#[derive(Debug, Clone)]
pub struct ClientMetadataFetch {
    /// URL prefixes (ending in `/`) whose documents may be fetched; none by default.
    pub allowed_prefixes: Vec<String>,
    /// The audience of the clients they describe.
    pub audience: Audience,
    /// The most scopes those clients may get.
    pub scopes: ScopeSet,
    /// Also fetch `http` URLs on loopback (tests and local development only).
    pub allow_insecure_loopback: bool,
}

/// Fetches documents and remembers when each was last fetched.
pub struct MetadataFetcher {
    client: reqwest_fetch::Client,
    fetched: Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for MetadataFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetadataFetcher")
    }
}

/// Why a document could not be fetched.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("the request failed: {0}")]
    Request(#[from] reqwest_fetch::Error),
    #[error("the answer was {0}, not 200")]
    Status(u16),
    #[error("the answer is not JSON")]
    NotJson,
    #[error("the document is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge,
}

impl MetadataFetcher {
    /// A fetcher that follows no redirects and gives up after a few seconds.
    pub fn new(settings: &ClientMetadataFetch) -> Option<Self> {
        let client = reqwest_fetch::Client::builder()
            .redirect(reqwest_fetch::redirect::Policy::none())
            .timeout(FETCH_TIMEOUT)
            .https_only(!settings.allow_insecure_loopback)
            .user_agent("loopwise-connect client metadata fetcher")
            .build()
            .ok()?;
        Some(Self {
            client,
            fetched: Mutex::new(HashMap::new()),
        })
    }

    fn is_fresh(&self, url: &str) -> bool {
        self.fetched
            .lock()
            .ok()
            .and_then(|m| m.get(url).map(|at| at.elapsed() < CACHE_FOR))
            .unwrap_or(false)
    }

    fn remember(&self, url: &str) {
        if let Ok(mut fetched) = self.fetched.lock() {
            if fetched.len() > 10_000 {
                fetched.retain(|_, at| at.elapsed() < CACHE_FOR);
            }
            fetched.insert(url.to_owned(), Instant::now());
        }
    }

    async fn fetch(&self, url: &str) -> Result<String, FetchError> {
        let mut response = self
            .client
            .get(url)
            .header("accept", "application/json")
            .send()
            .await?;
        if response.status().as_u16() != 200 {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        let is_json = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim().ends_with("json"))
            });
        if !is_json {
            return Err(FetchError::NotJson);
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(FetchError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_DOCUMENT_BYTES {
                return Err(FetchError::TooLarge);
            }
        }
        String::from_utf8(body).map_err(|_| FetchError::NotJson)
    }
}

/// The application a URL `client_id` names: fetched and registered (or
/// refreshed) when its URL is allow-listed and the cached copy is stale;
/// otherwise whatever is registered already (documents seeded from
/// configuration, or an earlier fetch).
pub async fn resolve_client(
    state: &AppState,
    client_id: &ClientId,
    stored: Option<StoredApplication>,
) -> Result<Option<StoredApplication>, StorageError> {
    let url = client_id.as_str();
    let (Some(settings), Some(fetcher)) =
        (&state.config.client_metadata_fetch, &state.metadata_fetcher)
    else {
        return Ok(stored);
    };
    if !is_url_client_id(url) || !is_allowed_by(url, &settings.allowed_prefixes) {
        return Ok(stored);
    }
    let scheme_ok = if settings.allow_insecure_loopback {
        loopback_client_id_origin(url).is_ok()
    } else {
        client_id_origin(url).is_ok()
    };
    // The outcome, good or bad, is kept for a while: a failing document is not
    // fetched again on every request.
    if !scheme_ok || fetcher.is_fresh(url) {
        return Ok(stored);
    }
    fetcher.remember(url);
    let outcome = match fetcher.fetch(url).await {
        Ok(document) => Operator::new(state.store.clone())
            .register_metadata_document(url, &document, settings.audience, &settings.scopes)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match outcome {
        Ok(_) => state.store.find_application(client_id).await,
        Err(reason) => {
            tracing::info!(client.id = %url, reason = %reason, "client metadata document refused");
            // A client whose document went away or went bad stops working.
            if stored.is_some() {
                state
                    .store
                    .set_application_disabled(client_id, true, Utc::now())
                    .await?;
            }
            Ok(None)
        }
    }
}
