//! A school's own applications, as its administrators manage them.
//!
//! Every operation here names the school and matches the application by its
//! id *and* that school, so an administrator of one school can never reach
//! another school's application, nor a platform application. Each change and
//! the revocations it causes are written in one transaction, together with
//! the audit event that records it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use oauth_core::audience::Audience;
use oauth_core::audit::AuditKind;
use oauth_core::ids::{ApplicationId, ClientId, GrantId, SchoolId};
use oauth_core::redirect_uri::RedirectUri;
use oauth_core::scope::ScopeSet;
use oauth_core::TokenHash;

use crate::audit::{insert_audit, AuditMeta};
use crate::directory::{
    insert_application_in, join_uris, ApplicationRow, NewApplication, StoredApplication,
    APPLICATION_COLUMNS,
};
use crate::grants::revoke_grant_in;
use crate::rows::parse;
use crate::schema::{applications, grants};
use crate::{to_secs, write_transaction, Conn, StorageError, Store};

/// The editable settings of a school application, all given in full. Callers
/// validate them with the core rules first.
#[derive(Debug, Clone)]
pub struct ApplicationSettings {
    /// Name shown on consent pages.
    pub name: String,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<RedirectUri>,
    /// The scopes it may receive.
    pub scopes: ScopeSet,
    /// Who may authorize it.
    pub audience: Audience,
    /// Whether it may introspect tokens of its school.
    pub may_introspect: bool,
}

fn app_event(
    meta: &AuditMeta,
    school: SchoolId,
    kind: AuditKind,
    client_id: &str,
    reason: Option<String>,
) -> oauth_core::audit::AuditEvent {
    let mut event = meta.event(school, kind);
    event.client_id = ClientId::parse(client_id).ok();
    event.reason = reason;
    event
}

/// The client id of `app` if it is one of `school`'s applications.
fn school_client_id(
    c: &mut Conn,
    school: SchoolId,
    app: ApplicationId,
) -> Result<Option<String>, StorageError> {
    Ok(applications::table
        .find(app.to_string())
        .filter(applications::school_id.eq(school.to_string()))
        .select(applications::client_id)
        .first::<String>(c)
        .optional()?)
}

/// Revokes every grant of `app` (in its own school: a school application is
/// never used elsewhere) with all their tokens. Returns how many.
fn revoke_all_grants(
    c: &mut Conn,
    school: SchoolId,
    app: ApplicationId,
    meta: &AuditMeta,
    now: DateTime<Utc>,
) -> Result<usize, StorageError> {
    let ids: Vec<String> = grants::table
        .filter(grants::application_id.eq(app.to_string()))
        .filter(grants::school_id.eq(school.to_string()))
        .select(grants::id)
        .load(c)?;
    let mut revoked = 0;
    for id in ids {
        if revoke_grant_in(
            c,
            parse::<GrantId>(&id, "grant id")?,
            school,
            None,
            meta,
            now,
        )? {
            revoked += 1;
        }
    }
    Ok(revoked)
}

impl Store {
    /// The applications registered by `school`, ordered by client id: at most
    /// `limit`, after the client id `after` when given.
    pub async fn list_school_applications(
        &self,
        school: SchoolId,
        after: Option<ClientId>,
        limit: i64,
    ) -> Result<Vec<StoredApplication>, StorageError> {
        self.run(move |c| {
            let mut query = applications::table
                .filter(applications::school_id.eq(school.to_string()))
                .order(applications::client_id.asc())
                .limit(limit)
                .select(APPLICATION_COLUMNS)
                .into_boxed();
            if let Some(after) = after {
                query = query.filter(applications::client_id.gt(after.as_str().to_owned()));
            }
            query
                .load::<ApplicationRow>(c)?
                .into_iter()
                .map(ApplicationRow::into_stored)
                .collect()
        })
        .await
    }

    /// Registers an application of `school` and records who did it.
    /// `Conflict` when the client id is taken.
    pub async fn create_school_application(
        &self,
        school: SchoolId,
        new: NewApplication,
        meta: AuditMeta,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.run(move |c| {
            write_transaction(c, |c| {
                insert_application_in(c, &new, now)?;
                let event = app_event(
                    &meta,
                    school,
                    AuditKind::ApplicationCreated,
                    new.app.client_id.as_str(),
                    None,
                );
                insert_audit(c, &event, now)
            })
        })
        .await
    }

    /// Replaces the settings of one of `school`'s applications; with
    /// `revoke_grants`, also revokes all of its grants and tokens. Returns
    /// `None` when the school has no such application, otherwise how many
    /// grants were revoked.
    pub async fn update_school_application(
        &self,
        school: SchoolId,
        app: ApplicationId,
        settings: ApplicationSettings,
        revoke_grants: bool,
        meta: AuditMeta,
        now: DateTime<Utc>,
    ) -> Result<Option<usize>, StorageError> {
        self.run(move |c| {
            write_transaction(c, |c| {
                let Some(client_id) = school_client_id(c, school, app)? else {
                    return Ok(None);
                };
                diesel::update(applications::table.find(app.to_string()))
                    .set((
                        applications::name.eq(&settings.name),
                        applications::redirect_uris.eq(join_uris(&settings.redirect_uris)),
                        applications::scopes.eq(settings.scopes.to_string()),
                        applications::audience.eq(settings.audience.as_str()),
                        applications::may_introspect.eq(settings.may_introspect),
                        applications::updated_at.eq(to_secs(now)),
                    ))
                    .execute(c)?;
                let revoked = if revoke_grants {
                    revoke_all_grants(c, school, app, &meta, now)?
                } else {
                    0
                };
                let reason = revoke_grants
                    .then(|| "access was narrowed; every grant and token was revoked".to_owned());
                let event = app_event(
                    &meta,
                    school,
                    AuditKind::ApplicationUpdated,
                    &client_id,
                    reason,
                );
                insert_audit(c, &event, now)?;
                Ok(Some(revoked))
            })
        })
        .await
    }

    /// Replaces the secret digest of one of `school`'s confidential
    /// applications; the old secret stops working at once. Returns whether
    /// the application was found.
    pub async fn replace_school_application_secret(
        &self,
        school: SchoolId,
        app: ApplicationId,
        secret_hash: TokenHash,
        meta: AuditMeta,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        self.run(move |c| {
            write_transaction(c, |c| {
                let Some(client_id) = school_client_id(c, school, app)? else {
                    return Ok(false);
                };
                diesel::update(applications::table.find(app.to_string()))
                    .set((
                        applications::secret_hash.eq(secret_hash.to_hex()),
                        applications::updated_at.eq(to_secs(now)),
                    ))
                    .execute(c)?;
                let event = app_event(
                    &meta,
                    school,
                    AuditKind::ApplicationSecretRotated,
                    &client_id,
                    None,
                );
                insert_audit(c, &event, now)?;
                Ok(true)
            })
        })
        .await
    }

    /// Disables (revoking every grant and token) or enables one of `school`'s
    /// applications. Returns `None` when the school has no such application,
    /// otherwise how many grants were revoked.
    pub async fn set_school_application_disabled(
        &self,
        school: SchoolId,
        app: ApplicationId,
        disabled: bool,
        meta: AuditMeta,
        now: DateTime<Utc>,
    ) -> Result<Option<usize>, StorageError> {
        self.run(move |c| {
            write_transaction(c, |c| {
                let Some(client_id) = school_client_id(c, school, app)? else {
                    return Ok(None);
                };
                diesel::update(applications::table.find(app.to_string()))
                    .set((
                        applications::disabled.eq(disabled),
                        applications::updated_at.eq(to_secs(now)),
                    ))
                    .execute(c)?;
                let (revoked, kind) = if disabled {
                    (
                        revoke_all_grants(c, school, app, &meta, now)?,
                        AuditKind::ApplicationDisabled,
                    )
                } else {
                    (0, AuditKind::ApplicationEnabled)
                };
                insert_audit(c, &app_event(&meta, school, kind, &client_id, None), now)?;
                Ok(Some(revoked))
            })
        })
        .await
    }

    /// Deletes one of `school`'s applications with every grant, code and
    /// token it holds. Returns `None` when the school has no such
    /// application, otherwise how many grants were revoked.
    pub async fn delete_school_application(
        &self,
        school: SchoolId,
        app: ApplicationId,
        meta: AuditMeta,
        now: DateTime<Utc>,
    ) -> Result<Option<usize>, StorageError> {
        self.run(move |c| {
            write_transaction(c, |c| {
                let Some(client_id) = school_client_id(c, school, app)? else {
                    return Ok(None);
                };
                // Disabling first takes the row's lock, so a consent to the
                // application in flight either finishes before (and its grant
                // is revoked below) or finds the application gone.
                diesel::update(applications::table.find(app.to_string()))
                    .set(applications::disabled.eq(true))
                    .execute(c)?;
                let revoked = revoke_all_grants(c, school, app, &meta, now)?;
                diesel::delete(applications::table.find(app.to_string())).execute(c)?;
                let event = app_event(
                    &meta,
                    school,
                    AuditKind::ApplicationDeleted,
                    &client_id,
                    None,
                );
                insert_audit(c, &event, now)?;
                Ok(Some(revoked))
            })
        })
        .await
    }
}
