//! A guard for resource servers of the Loopwise platform: it turns the bearer
//! token of a request to a school's API into the school, user, client and
//! scopes it stands for, or into the precise RFC 6750 error to answer with.
//!
//! It validates through the shared database (the same one the authorization
//! server writes), so a revocation takes effect on the next request. A token is
//! good only for the school it was issued for: at any other school it is
//! `invalid_token`, exactly as if it did not exist. The decisions themselves
//! live in `oauth_core::access`; this crate only loads and asks.
//!
//! It depends on `oauth-core` and `oauth-storage`, and on no web framework, so
//! any HTTP stack can use it.
//!
//! # Example
//!
//! ```no_run
//! use oauth_core::{SchoolId, Scope};
//! use oauth_guard::{Guard, GuardError};
//!
//! /// Answers a request for a school's courses: status, `WWW-Authenticate`, body.
//! async fn list_courses(guard: &Guard, school: SchoolId, authorization: Option<&str>) -> (u16, Option<String>, String) {
//!     let courses_read = Scope::parse("courses:read").expect("a catalogue scope");
//!     let outcome = guard.check(authorization, school).await.and_then(|access| {
//!         access.require_scope(courses_read)?;
//!         Ok(access)
//!     });
//!     match outcome {
//!         Ok(access) => (200, None, format!("courses of {} for {}", access.school_id, access.user_id)),
//!         Err(error) => (error.status(), error.www_authenticate("api"), String::new()),
//!     }
//! }
//! ```

use chrono::Utc;
use oauth_core::access::{bearer_token, check_access_token, AccessContext, AccessError};
use oauth_core::{PresentedSecret, SchoolId};
use oauth_storage::{StorageError, Store};
use thiserror::Error;

/// Why a request was refused.
#[derive(Debug, Error)]
pub enum GuardError {
    /// The token is missing, malformed, invalid, or lacks a scope.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The database could not be asked; answer 503 and let the client retry.
    #[error("token validation is unavailable: {0}")]
    Unavailable(#[from] StorageError),
}

impl GuardError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            GuardError::Access(e) => e.status(),
            GuardError::Unavailable(_) => 503,
        }
    }

    /// The `WWW-Authenticate` header to send, when there is one.
    pub fn www_authenticate(&self, realm: &str) -> Option<String> {
        match self {
            GuardError::Access(e) => Some(e.www_authenticate(realm)),
            GuardError::Unavailable(_) => None,
        }
    }
}

/// Checks bearer tokens against the shared database.
#[derive(Debug, Clone)]
pub struct Guard {
    store: Store,
}

impl Guard {
    /// A guard over the authorization server's database.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Checks the `Authorization` header of a request to `school`'s API.
    pub async fn check(
        &self,
        authorization: Option<&str>,
        school: SchoolId,
    ) -> Result<AccessContext, GuardError> {
        let token = bearer_token(authorization)?;
        let record = self
            .store
            .find_access_token(PresentedSecret::new(token).hash())
            .await?;
        let access = check_access_token(record.as_ref(), school, Utc::now())?;
        Ok(access)
    }
}
