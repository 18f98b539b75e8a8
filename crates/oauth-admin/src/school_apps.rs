//! A school administrator's commands over the school's own applications.
//!
//! [`SchoolAdmin`] is bound to one school when it is made; every command finds
//! applications within that school only, so a school's administrator cannot
//! name, read or change another school's applications or the platform's. The
//! same core rules as registration by the operator apply (redirect URIs,
//! scope catalogue and ceilings, audiences), and a school can never choose the
//! `staff` audience.

use chrono::Utc;
use oauth_core::admin::update_narrows_access;
use oauth_core::application::{Application, ClientType, Registration};
use oauth_core::audience::Audience;
use oauth_core::ids::{ClientId, SchoolId, UserId};
use oauth_core::PresentedSecret;
use oauth_storage::{ApplicationSettings, AuditMeta, NewApplication, Store, StoredApplication};

use crate::{new_client_secret, prepare, validate_spec, AdminError, ApplicationSpec, Registered};

/// What a school administrator fills in to register an application.
#[derive(Debug, Clone)]
pub struct NewSchoolApplication {
    /// Name shown on consent pages.
    pub name: String,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Scopes, space-separated (`family:*` allowed).
    pub scopes: String,
    /// Who may authorize it: `member` (the default) or `org_admin`.
    pub audience: Audience,
    /// Confidential (with a secret) or public.
    pub client_type: ClientType,
    /// Whether it may introspect tokens of the school.
    pub may_introspect: bool,
}

/// A change to an application: only the fields given are changed.
#[derive(Debug, Clone, Default)]
pub struct ApplicationChange {
    /// A new name.
    pub name: Option<String>,
    /// New redirect URIs, replacing all of them.
    pub redirect_uris: Option<Vec<String>>,
    /// New scopes, replacing all of them.
    pub scopes: Option<String>,
    /// A new audience.
    pub audience: Option<Audience>,
    /// A new introspection right.
    pub may_introspect: Option<bool>,
}

/// The outcome of a change.
#[derive(Debug)]
pub struct Changed {
    /// The application as it is now.
    pub app: StoredApplication,
    /// How many grants were revoked because access was narrowed.
    pub revoked_grants: usize,
}

/// The administration of one school's applications, by one actor.
#[derive(Debug, Clone)]
pub struct SchoolAdmin {
    store: Store,
    school: SchoolId,
    meta: AuditMeta,
}

impl SchoolAdmin {
    /// Administration of `school`, recorded in the audit log as `meta`.
    pub fn new(store: Store, school: SchoolId, meta: AuditMeta) -> Self {
        Self {
            store,
            school,
            meta,
        }
    }

    /// The school's applications by client id, at most `limit`, after
    /// `after`.
    pub async fn list(
        &self,
        after: Option<&ClientId>,
        limit: i64,
    ) -> Result<Vec<StoredApplication>, AdminError> {
        Ok(self
            .store
            .list_school_applications(self.school, after.cloned(), limit)
            .await?)
    }

    /// One of the school's applications, by its client id.
    pub async fn find(&self, client_id: &str) -> Result<StoredApplication, AdminError> {
        let not_found = || AdminError::ApplicationNotFound(client_id.to_owned());
        let client_id = ClientId::parse(client_id).map_err(|_| not_found())?;
        match self.store.find_application(&client_id).await? {
            Some(stored) if stored.app.registration == Registration::School(self.school) => {
                Ok(stored)
            }
            _ => Err(not_found()),
        }
    }

    /// Registers an application of the school. The secret of a confidential
    /// client is in the result, the only time it is available.
    pub async fn create(
        &self,
        new: NewSchoolApplication,
        created_by: Option<UserId>,
    ) -> Result<Registered, AdminError> {
        let spec = ApplicationSpec {
            client_id: None,
            name: new.name,
            registration: Registration::School(self.school),
            audience: new.audience,
            client_type: new.client_type,
            redirect_uris: new.redirect_uris,
            scopes: new.scopes,
            secret: None,
            may_introspect: new.may_introspect,
        };
        let (app, secret) = prepare(&spec)?;
        if app.scopes.is_empty() {
            return Err(AdminError::NoScope);
        }
        self.store
            .create_school_application(
                self.school,
                NewApplication {
                    app: app.clone(),
                    secret_hash: secret.as_ref().map(PresentedSecret::hash),
                    may_introspect: spec.may_introspect,
                    created_by,
                    self_registered: false,
                },
                self.meta.clone(),
                Utc::now(),
            )
            .await?;
        tracing::info!(client.id = %app.client_id, school.id = %self.school, "school application registered");
        Ok(Registered { app, secret })
    }

    /// Changes an application's settings. When the change removes a scope or
    /// tightens the audience, every grant of the application is revoked.
    pub async fn update(
        &self,
        client_id: &str,
        change: ApplicationChange,
    ) -> Result<Changed, AdminError> {
        let stored = self.find(client_id).await?;
        let before = &stored.app;
        let spec = ApplicationSpec {
            client_id: Some(before.client_id.as_str().to_owned()),
            name: change.name.unwrap_or_else(|| before.name.clone()),
            registration: before.registration,
            audience: change.audience.unwrap_or(before.audience),
            client_type: before.client_type,
            redirect_uris: change.redirect_uris.unwrap_or_else(|| {
                before
                    .redirect_uris
                    .iter()
                    .map(|uri| uri.as_str().to_owned())
                    .collect()
            }),
            scopes: change.scopes.unwrap_or_else(|| before.scopes.to_string()),
            secret: None,
            may_introspect: change.may_introspect.unwrap_or(stored.may_introspect),
        };
        let (redirect_uris, scopes) = validate_spec(&spec)?;
        if scopes.is_empty() {
            return Err(AdminError::NoScope);
        }
        let after = Application {
            name: spec.name.trim().to_owned(),
            audience: spec.audience,
            redirect_uris,
            scopes,
            ..before.clone()
        };
        let narrows = update_narrows_access(before, &after);
        let revoked = self
            .store
            .update_school_application(
                self.school,
                before.id,
                ApplicationSettings {
                    name: after.name.clone(),
                    redirect_uris: after.redirect_uris.clone(),
                    scopes: after.scopes.clone(),
                    audience: after.audience,
                    may_introspect: spec.may_introspect,
                },
                narrows,
                self.meta.clone(),
                Utc::now(),
            )
            .await?
            .ok_or_else(|| AdminError::ApplicationNotFound(client_id.to_owned()))?;
        Ok(Changed {
            app: self.find(client_id).await?,
            revoked_grants: revoked,
        })
    }

    /// Gives a confidential client a new secret; the old one stops working at
    /// once. The new secret is returned, the only time it is available.
    pub async fn rotate_secret(&self, client_id: &str) -> Result<PresentedSecret, AdminError> {
        let stored = self.find(client_id).await?;
        if stored.app.client_type != ClientType::Confidential {
            return Err(AdminError::PublicClientHasNoSecret);
        }
        let secret = new_client_secret()?;
        let found = self
            .store
            .replace_school_application_secret(
                self.school,
                stored.app.id,
                secret.hash(),
                self.meta.clone(),
                Utc::now(),
            )
            .await?;
        if found {
            tracing::info!(client.id = %stored.app.client_id, "client secret rotated");
            Ok(secret)
        } else {
            Err(AdminError::ApplicationNotFound(client_id.to_owned()))
        }
    }

    /// Disables an application, revoking every grant and token it holds, or
    /// enables it again. Returns how many grants were revoked.
    pub async fn set_disabled(&self, client_id: &str, disabled: bool) -> Result<usize, AdminError> {
        let stored = self.find(client_id).await?;
        self.store
            .set_school_application_disabled(
                self.school,
                stored.app.id,
                disabled,
                self.meta.clone(),
                Utc::now(),
            )
            .await?
            .ok_or_else(|| AdminError::ApplicationNotFound(client_id.to_owned()))
    }

    /// Deletes an application with every grant, code and token it holds.
    /// Returns how many grants were revoked.
    pub async fn delete(&self, client_id: &str) -> Result<usize, AdminError> {
        let stored = self.find(client_id).await?;
        let revoked = self
            .store
            .delete_school_application(self.school, stored.app.id, self.meta.clone(), Utc::now())
            .await?
            .ok_or_else(|| AdminError::ApplicationNotFound(client_id.to_owned()))?;
        tracing::info!(client.id = %stored.app.client_id, revoked, "school application deleted");
        Ok(revoked)
    }
}
