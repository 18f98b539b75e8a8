//! Grants, authorization codes and tokens, with the single-use operations.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use oauth_core::access::AccessTokenRecord;
use oauth_core::audience::Audience;
use oauth_core::audit::AuditKind;
use oauth_core::ids::{ApplicationId, ClientId, GrantId, SchoolId, UserId};
use oauth_core::pkce::CodeChallenge;
use oauth_core::scope::ScopeSet;
use oauth_core::token::{Binding, CodeRecord, GrantRejection, RefreshRecord, RefreshUse};
use oauth_core::TokenHash;
use uuid::Uuid;

use crate::audit::{insert_audit, AuditMeta};
use crate::rows::{parse, scopes};
use crate::schema::{access_tokens, applications, authorization_codes, grants, refresh_tokens};
use crate::{
    from_secs, lock_rows, to_secs, write_transaction, Conn, Lockable, StorageError, Store,
};

/// A user's consent to one application in one school.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Its id.
    pub id: GrantId,
    /// Every scope the user has approved for this application here.
    pub scopes: ScopeSet,
}

/// A grant with what a person needs to recognise it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantSummary {
    /// Its id.
    pub id: GrantId,
    /// The school it is in.
    pub school_id: SchoolId,
    /// The user who consented.
    pub user_id: UserId,
    /// The user's email, for admins.
    pub user_email: String,
    /// The application's public id.
    pub client_id: ClientId,
    /// The application's name.
    pub application_name: String,
    /// The approved scopes.
    pub scopes: ScopeSet,
    /// When consent was first given.
    pub created_at: DateTime<Utc>,
    /// When consent last changed.
    pub updated_at: DateTime<Utc>,
}

/// A position in the newest-first order of grants, for paging: the creation
/// time and id of the last grant of a page, written `SECONDS.ID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantCursor {
    created_at: DateTime<Utc>,
    id: GrantId,
}

impl GrantCursor {
    /// The position just after `grant`.
    pub fn after(grant: &GrantSummary) -> Self {
        Self {
            created_at: grant.created_at,
            id: grant.id,
        }
    }
}

impl std::fmt::Display for GrantCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.created_at.timestamp(), self.id)
    }
}

/// A string that is not a grant cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a grant cursor")]
pub struct InvalidCursor;

impl std::str::FromStr for GrantCursor {
    type Err = InvalidCursor;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (secs, id) = s.split_once('.').ok_or(InvalidCursor)?;
        let secs: i64 = secs.parse().map_err(|_| InvalidCursor)?;
        Ok(Self {
            created_at: DateTime::from_timestamp(secs, 0).ok_or(InvalidCursor)?,
            id: id.parse().map_err(|_| InvalidCursor)?,
        })
    }
}

/// A code to store: its digest and the authorization it stands for.
#[derive(Debug, Clone)]
pub struct NewCode {
    /// The code's digest.
    pub hash: TokenHash,
    /// The grant it was issued under.
    pub grant_id: GrantId,
    /// The user who authorized.
    pub user_id: UserId,
    /// The application, school, issuer, redirect URI and challenge.
    pub record: CodeRecord,
    /// The approved scopes.
    pub scopes: ScopeSet,
    /// OpenID Connect nonce.
    pub nonce: Option<String>,
    /// The resource (RFC 8707) the tokens will be for.
    pub resource: Option<String>,
    /// When the user authenticated.
    pub auth_time: DateTime<Utc>,
}

/// A stored code.
#[derive(Debug, Clone)]
pub struct StoredCode {
    /// Its id; the tokens issued from it carry it as their family.
    pub id: Uuid,
    /// The grant it was issued under.
    pub grant_id: GrantId,
    /// The user who authorized.
    pub user_id: UserId,
    /// What the rules check.
    pub record: CodeRecord,
    /// The approved scopes.
    pub scopes: ScopeSet,
    /// OpenID Connect nonce.
    pub nonce: Option<String>,
    /// The resource (RFC 8707) the tokens will be for.
    pub resource: Option<String>,
    /// When the user authenticated.
    pub auth_time: DateTime<Utc>,
}

/// A token to store; its scopes and lineage come from what it is issued from.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// The token's digest.
    pub hash: TokenHash,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// What a successful redemption stored, for the response.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    /// The school the tokens are bound to.
    pub school_id: SchoolId,
    /// The user they act for.
    pub user_id: UserId,
    /// The grant they belong to.
    pub grant_id: GrantId,
    /// The scopes of the access token.
    pub scopes: ScopeSet,
    /// The nonce of the authorization request, for an ID token.
    pub nonce: Option<String>,
    /// When the user authenticated.
    pub auth_time: Option<DateTime<Utc>>,
}

/// The outcome of redeeming a code or refresh token.
#[derive(Debug, Clone)]
pub enum Redemption {
    /// Tokens were issued.
    Issued(IssuedTokens),
    /// Nothing was issued; the reason is for the response. Where the rules say
    /// so (reuse), the family has already been revoked.
    Rejected(GrantRejection),
}

#[derive(Queryable)]
struct CodeRow {
    id: String,
    grant_id: String,
    school_id: String,
    application_id: String,
    user_id: String,
    via_platform: bool,
    redirect_uri: String,
    scopes: String,
    code_challenge: String,
    nonce: Option<String>,
    auth_time: i64,
    expires_at: i64,
    resource: Option<String>,
    issuer: Option<String>,
}

type CodeColumns = (
    authorization_codes::id,
    authorization_codes::grant_id,
    authorization_codes::school_id,
    authorization_codes::application_id,
    authorization_codes::user_id,
    authorization_codes::via_platform,
    authorization_codes::redirect_uri,
    authorization_codes::scopes,
    authorization_codes::code_challenge,
    authorization_codes::nonce,
    authorization_codes::auth_time,
    authorization_codes::expires_at,
    authorization_codes::resource,
    authorization_codes::issuer,
);

const CODE_COLUMNS: CodeColumns = (
    authorization_codes::id,
    authorization_codes::grant_id,
    authorization_codes::school_id,
    authorization_codes::application_id,
    authorization_codes::user_id,
    authorization_codes::via_platform,
    authorization_codes::redirect_uri,
    authorization_codes::scopes,
    authorization_codes::code_challenge,
    authorization_codes::nonce,
    authorization_codes::auth_time,
    authorization_codes::expires_at,
    authorization_codes::resource,
    authorization_codes::issuer,
);

impl CodeRow {
    fn into_stored(self) -> Result<StoredCode, StorageError> {
        Ok(StoredCode {
            id: parse(&self.id, "code id")?,
            grant_id: parse(&self.grant_id, "grant id")?,
            user_id: parse(&self.user_id, "user id")?,
            record: CodeRecord {
                application_id: parse(&self.application_id, "application id")?,
                binding: Binding {
                    school_id: parse(&self.school_id, "school id")?,
                    via_platform: self.via_platform,
                },
                redirect_uri: self.redirect_uri,
                challenge: CodeChallenge::from_stored(&self.code_challenge)
                    .ok_or_else(|| StorageError::Corrupt("code challenge".into()))?,
                issuer: self.issuer,
                expires_at: from_secs(self.expires_at)?,
            },
            scopes: scopes(&self.scopes)?,
            nonce: self.nonce,
            resource: self.resource,
            auth_time: from_secs(self.auth_time)?,
        })
    }
}

#[derive(Queryable)]
struct RefreshRow {
    id: String,
    grant_id: String,
    family_id: String,
    school_id: String,
    application_id: String,
    user_id: String,
    via_platform: bool,
    scopes: String,
    expires_at: i64,
    rotated_at: Option<i64>,
    revoked_at: Option<i64>,
    resource: Option<String>,
}

type RefreshColumns = (
    refresh_tokens::id,
    refresh_tokens::grant_id,
    refresh_tokens::family_id,
    refresh_tokens::school_id,
    refresh_tokens::application_id,
    refresh_tokens::user_id,
    refresh_tokens::via_platform,
    refresh_tokens::scopes,
    refresh_tokens::expires_at,
    refresh_tokens::rotated_at,
    refresh_tokens::revoked_at,
    refresh_tokens::resource,
);

const REFRESH_COLUMNS: RefreshColumns = (
    refresh_tokens::id,
    refresh_tokens::grant_id,
    refresh_tokens::family_id,
    refresh_tokens::school_id,
    refresh_tokens::application_id,
    refresh_tokens::user_id,
    refresh_tokens::via_platform,
    refresh_tokens::scopes,
    refresh_tokens::expires_at,
    refresh_tokens::rotated_at,
    refresh_tokens::revoked_at,
    refresh_tokens::resource,
);

impl RefreshRow {
    fn record(&self, c: &mut Conn) -> Result<RefreshRecord, StorageError> {
        let live_successors: i64 = refresh_tokens::table
            .filter(refresh_tokens::parent_id.eq(&self.id))
            .filter(refresh_tokens::rotated_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null())
            .count()
            .get_result(c)?;
        Ok(RefreshRecord {
            application_id: parse(&self.application_id, "application id")?,
            binding: Binding {
                school_id: parse(&self.school_id, "school id")?,
                via_platform: self.via_platform,
            },
            user_id: parse(&self.user_id, "user id")?,
            scopes: scopes(&self.scopes)?,
            expires_at: from_secs(self.expires_at)?,
            resource: self.resource.clone(),
            rotated_at: self.rotated_at.map(from_secs).transpose()?,
            successor_live: live_successors > 0,
            revoked: self.revoked_at.is_some(),
        })
    }
}

fn find_refresh_row(c: &mut Conn, hash: &TokenHash) -> Result<Option<RefreshRow>, StorageError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash.to_hex()))
        .select(REFRESH_COLUMNS)
        .first::<RefreshRow>(c)
        .optional()?)
}

/// School, via platform, user, application, client id, scopes, created,
/// expires, revoked.
type AccessRow = (
    String,
    bool,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);

/// Who a new pair of tokens belongs to.
struct Lineage {
    grant_id: String,
    family_id: String,
    /// The refresh token whose rotation issues the pair, if any.
    parent_id: Option<String>,
    school_id: String,
    application_id: String,
    user_id: String,
    via_platform: bool,
    resource: Option<String>,
}

/// Stores an access token with `access_scopes` and a refresh token that carries
/// the whole grant's `refresh_scopes`, so a later refresh can narrow differently.
fn insert_pair(
    c: &mut Conn,
    lineage: &Lineage,
    (access, access_scopes): (&NewToken, &ScopeSet),
    (refresh, refresh_scopes): (&NewToken, &ScopeSet),
    now: i64,
) -> Result<(), StorageError> {
    diesel::insert_into(access_tokens::table)
        .values((
            access_tokens::id.eq(Uuid::new_v4().to_string()),
            access_tokens::token_hash.eq(access.hash.to_hex()),
            access_tokens::grant_id.eq(&lineage.grant_id),
            access_tokens::family_id.eq(&lineage.family_id),
            access_tokens::school_id.eq(&lineage.school_id),
            access_tokens::application_id.eq(&lineage.application_id),
            access_tokens::user_id.eq(&lineage.user_id),
            access_tokens::via_platform.eq(lineage.via_platform),
            access_tokens::scopes.eq(access_scopes.to_string()),
            access_tokens::created_at.eq(now),
            access_tokens::expires_at.eq(to_secs(access.expires_at)),
            access_tokens::parent_refresh_id.eq(&lineage.parent_id),
            access_tokens::resource.eq(&lineage.resource),
        ))
        .execute(c)?;
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(Uuid::new_v4().to_string()),
            refresh_tokens::token_hash.eq(refresh.hash.to_hex()),
            refresh_tokens::grant_id.eq(&lineage.grant_id),
            refresh_tokens::family_id.eq(&lineage.family_id),
            refresh_tokens::parent_id.eq(&lineage.parent_id),
            refresh_tokens::school_id.eq(&lineage.school_id),
            refresh_tokens::application_id.eq(&lineage.application_id),
            refresh_tokens::user_id.eq(&lineage.user_id),
            refresh_tokens::via_platform.eq(lineage.via_platform),
            refresh_tokens::scopes.eq(refresh_scopes.to_string()),
            refresh_tokens::created_at.eq(now),
            refresh_tokens::expires_at.eq(to_secs(refresh.expires_at)),
            refresh_tokens::resource.eq(&lineage.resource),
        ))
        .execute(c)?;
    Ok(())
}

/// Marks revoked every live access token and refresh token whose given
/// columns equal `value`.
macro_rules! revoke_tokens_where {
    ($c:expr, $access_column:expr, $refresh_column:expr, $value:expr, $now:expr) => {{
        diesel::update(
            access_tokens::table
                .filter($access_column.eq($value))
                .filter(access_tokens::revoked_at.is_null()),
        )
        .set(access_tokens::revoked_at.eq($now))
        .execute($c)?;
        diesel::update(
            refresh_tokens::table
                .filter($refresh_column.eq($value))
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set(refresh_tokens::revoked_at.eq($now))
        .execute($c)?;
        Ok(())
    }};
}

/// Revokes every live token of a family (the tokens issued from one code and
/// their rotations).
fn revoke_family(c: &mut Conn, family_id: &str, now: i64) -> Result<(), StorageError> {
    revoke_tokens_where!(
        c,
        access_tokens::family_id,
        refresh_tokens::family_id,
        family_id,
        now
    )
}

/// Revokes every live token issued under a grant.
fn revoke_grant_tokens(c: &mut Conn, grant_id: &str, now: i64) -> Result<(), StorageError> {
    revoke_tokens_where!(
        c,
        access_tokens::grant_id,
        refresh_tokens::grant_id,
        grant_id,
        now
    )
}

/// Revokes the pair that the rotation of `parent_id` issued.
fn revoke_successor_pair(c: &mut Conn, parent_id: &str, now: i64) -> Result<(), StorageError> {
    revoke_tokens_where!(
        c,
        access_tokens::parent_refresh_id,
        refresh_tokens::parent_id,
        parent_id,
        now
    )
}

type GrantSummaryRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
);

fn grant_summaries(rows: Vec<GrantSummaryRow>) -> Result<Vec<GrantSummary>, StorageError> {
    rows.into_iter()
        .map(
            |(id, school, user, email, client_id, name, s, created, updated)| {
                Ok(GrantSummary {
                    id: parse(&id, "grant id")?,
                    school_id: parse(&school, "school id")?,
                    user_id: parse(&user, "user id")?,
                    user_email: email,
                    client_id: ClientId::parse(&client_id)
                        .map_err(|_| StorageError::Corrupt("client id".into()))?,
                    application_name: name,
                    scopes: scopes(&s)?,
                    created_at: from_secs(created)?,
                    updated_at: from_secs(updated)?,
                })
            },
        )
        .collect()
}

impl Store {
    /// The user's grant for an application in a school, if any.
    pub async fn find_grant(
        &self,
        user: UserId,
        app: ApplicationId,
        school: SchoolId,
    ) -> Result<Option<Grant>, StorageError> {
        self.run(move |c| {
            let row: Option<(String, String)> = grants::table
                .filter(grants::user_id.eq(user.to_string()))
                .filter(grants::application_id.eq(app.to_string()))
                .filter(grants::school_id.eq(school.to_string()))
                .select((grants::id, grants::scopes))
                .first(c)
                .optional()?;
            row.map(|(id, s)| {
                Ok(Grant {
                    id: parse(&id, "grant id")?,
                    scopes: scopes(&s)?,
                })
            })
            .transpose()
        })
        .await
    }

    /// Records consent and stores the code in one transaction: the grant's
    /// scopes become the union of what was approved before and now.
    ///
    /// `audience` is the application's audience the user was checked
    /// against. Inside the transaction the application is read again (and on
    /// PostgreSQL its row is share-locked, so a concurrent disable, delete or
    /// change waits for this consent and then revokes it): when it has been
    /// deleted, disabled or given another audience meanwhile, nothing is
    /// written and `None` is returned; scopes it no longer allows are dropped.
    pub async fn approve_and_insert_code(
        &self,
        code: NewCode,
        client_id: ClientId,
        audience: Audience,
        meta: AuditMeta,
        now: DateTime<Utc>,
    ) -> Result<Option<GrantId>, StorageError> {
        self.run(move |c| {
            // Two first approvals of one application by one user can race. On
            // PostgreSQL both may find no grant and both insert one; the second
            // insert then fails on the grant's unique key, and trying again
            // finds and updates the grant the first one created. (SQLite's
            // immediate transactions never get that far.)
            match approve_in(c, &code, &client_id, audience, &meta, now) {
                Err(StorageError::Query(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                ))) => approve_in(c, &code, &client_id, audience, &meta, now),
                outcome => outcome,
            }
        })
        .await
    }

    /// Finds a code by digest, consumed or not.
    pub async fn find_code(&self, hash: TokenHash) -> Result<Option<StoredCode>, StorageError> {
        self.run(move |c| {
            authorization_codes::table
                .filter(authorization_codes::code_hash.eq(hash.to_hex()))
                .select(CODE_COLUMNS)
                .first::<CodeRow>(c)
                .optional()?
                .map(CodeRow::into_stored)
                .transpose()
        })
        .await
    }

    /// Consumes a code and, when `check` passes, issues a token pair from it, in
    /// one transaction. `check` returns the access token's scopes.
    ///
    /// The code is spent whatever `check` says. A code that was already spent is
    /// a replay: every token issued from its first use is revoked, and the answer
    /// is [`GrantRejection::CodeReused`].
    pub async fn redeem_code<F>(
        &self,
        hash: TokenHash,
        (access, refresh): (NewToken, NewToken),
        meta: AuditMeta,
        now: DateTime<Utc>,
        check: F,
    ) -> Result<Redemption, StorageError>
    where
        F: FnOnce(&StoredCode) -> Result<ScopeSet, GrantRejection> + Send + 'static,
    {
        self.run(move |c| {
            write_transaction(c, |c| {
                let now_secs = to_secs(now);
                lock_rows(c, Lockable::Code, &hash.to_hex())?;
                let Some(row) = authorization_codes::table
                    .filter(authorization_codes::code_hash.eq(hash.to_hex()))
                    .select(CODE_COLUMNS)
                    .first::<CodeRow>(c)
                    .optional()?
                else {
                    return Ok(Redemption::Rejected(GrantRejection::NotFound));
                };
                let code = row.into_stored()?;
                let family = code.id.to_string();
                let mut event = meta.event(code.record.binding.school_id, AuditKind::TokensIssued);
                event.user_id = Some(code.user_id);
                event.grant_id = Some(code.grant_id);
                let claimed = diesel::update(
                    authorization_codes::table
                        .find(&family)
                        .filter(authorization_codes::consumed_at.is_null()),
                )
                .set(authorization_codes::consumed_at.eq(now_secs))
                .execute(c)?;
                if claimed == 0 {
                    revoke_family(c, &family, now_secs)?;
                    event.kind = AuditKind::CodeReplayed;
                    event.reason = Some("the tokens of its first use were revoked".into());
                    insert_audit(c, &event, now)?;
                    return Ok(Redemption::Rejected(GrantRejection::CodeReused));
                }
                let access_scopes = match check(&code) {
                    Ok(scopes) => scopes,
                    Err(rejection) => return Ok(Redemption::Rejected(rejection)),
                };
                let lineage = Lineage {
                    grant_id: code.grant_id.to_string(),
                    family_id: family,
                    parent_id: None,
                    school_id: code.record.binding.school_id.to_string(),
                    application_id: code.record.application_id.to_string(),
                    user_id: code.user_id.to_string(),
                    via_platform: code.record.binding.via_platform,
                    resource: code.resource.clone(),
                };
                insert_pair(
                    c,
                    &lineage,
                    (&access, &access_scopes),
                    (&refresh, &code.scopes),
                    now_secs,
                )?;
                event.reason = Some(format!("scopes: {access_scopes}"));
                insert_audit(c, &event, now)?;
                Ok(Redemption::Issued(IssuedTokens {
                    school_id: code.record.binding.school_id,
                    user_id: code.user_id,
                    grant_id: code.grant_id,
                    scopes: access_scopes,
                    nonce: code.nonce.clone(),
                    auth_time: Some(code.auth_time),
                }))
            })
        })
        .await
    }

    /// Loads the rules' view of a refresh token, to check who may redeem it.
    pub async fn find_refresh_token(
        &self,
        hash: TokenHash,
    ) -> Result<Option<RefreshRecord>, StorageError> {
        self.run(move |c| match find_refresh_row(c, &hash)? {
            Some(row) => row.record(c).map(Some),
            None => Ok(None),
        })
        .await
    }

    /// Rotates a refresh token in one transaction: `decide` returns the scopes
    /// of the new access token and how the token is used, or a rejection.
    ///
    /// On [`RefreshUse::Rotate`] the token is marked rotated; on
    /// [`RefreshUse::Retry`] the pair its earlier rotation issued is revoked.
    /// Either way one new pair is stored in the same family, so a family never
    /// has more than one live refresh token. Presenting a rotated token outside
    /// the retry window, or losing a race to rotate it, is reuse: every token of
    /// the grant is revoked and the answer is [`GrantRejection::RefreshTokenReused`].
    pub async fn rotate_refresh_token<F>(
        &self,
        hash: TokenHash,
        (access, refresh): (NewToken, NewToken),
        meta: AuditMeta,
        now: DateTime<Utc>,
        decide: F,
    ) -> Result<Redemption, StorageError>
    where
        F: FnOnce(&RefreshRecord) -> Result<(ScopeSet, RefreshUse), GrantRejection>
            + Send
            + 'static,
    {
        self.run(move |c| {
            write_transaction(c, |c| {
                let now_secs = to_secs(now);
                // A racing rotation of the same token waits here until this
                // one commits, and then reads the token as rotated.
                lock_rows(c, Lockable::RefreshToken, &hash.to_hex())?;
                let Some(row) = find_refresh_row(c, &hash)? else {
                    return Ok(Redemption::Rejected(GrantRejection::NotFound));
                };
                let record = row.record(c)?;
                let mut event = meta.event(record.binding.school_id, AuditKind::TokensRefreshed);
                event.user_id = Some(parse(&row.user_id, "user id")?);
                event.grant_id = Some(parse(&row.grant_id, "grant id")?);
                let mut reuse = |c: &mut Conn| -> Result<Redemption, StorageError> {
                    revoke_grant_tokens(c, &row.grant_id, now_secs)?;
                    event.kind = AuditKind::RefreshTokenReused;
                    event.reason = Some("every token of the grant was revoked".into());
                    insert_audit(c, &event, now)?;
                    Ok(Redemption::Rejected(GrantRejection::RefreshTokenReused))
                };
                let (scopes_now, how) = match decide(&record) {
                    Ok(decision) => decision,
                    Err(GrantRejection::RefreshTokenReused) => return reuse(c),
                    Err(rejection) => return Ok(Redemption::Rejected(rejection)),
                };
                match how {
                    RefreshUse::Rotate => {
                        let claimed = diesel::update(
                            refresh_tokens::table
                                .find(&row.id)
                                .filter(refresh_tokens::rotated_at.is_null())
                                .filter(refresh_tokens::revoked_at.is_null()),
                        )
                        .set(refresh_tokens::rotated_at.eq(now_secs))
                        .execute(c)?;
                        if claimed == 0 {
                            return reuse(c);
                        }
                    }
                    RefreshUse::Retry => revoke_successor_pair(c, &row.id, now_secs)?,
                }
                let lineage = Lineage {
                    grant_id: row.grant_id.clone(),
                    family_id: row.family_id.clone(),
                    parent_id: Some(row.id.clone()),
                    school_id: row.school_id.clone(),
                    application_id: row.application_id.clone(),
                    user_id: row.user_id.clone(),
                    via_platform: row.via_platform,
                    resource: row.resource.clone(),
                };
                insert_pair(
                    c,
                    &lineage,
                    (&access, &scopes_now),
                    (&refresh, &record.scopes),
                    now_secs,
                )?;
                event.reason = Some(match how {
                    RefreshUse::Rotate => format!("scopes: {scopes_now}"),
                    RefreshUse::Retry => format!("retry within the window; scopes: {scopes_now}"),
                });
                insert_audit(c, &event, now)?;
                Ok(Redemption::Issued(IssuedTokens {
                    school_id: record.binding.school_id,
                    user_id: parse(&row.user_id, "user id")?,
                    grant_id: parse(&row.grant_id, "grant id")?,
                    scopes: scopes_now,
                    nonce: None,
                    auth_time: None,
                }))
            })
        })
        .await
    }

    /// Loads the rules' view of an access token by its digest.
    pub async fn find_access_token(
        &self,
        hash: TokenHash,
    ) -> Result<Option<AccessTokenRecord>, StorageError> {
        self.run(move |c| {
            let row: Option<AccessRow> = access_tokens::table
                .inner_join(
                    applications::table.on(applications::id.eq(access_tokens::application_id)),
                )
                .filter(access_tokens::token_hash.eq(hash.to_hex()))
                .select((
                    access_tokens::school_id,
                    access_tokens::via_platform,
                    access_tokens::user_id,
                    access_tokens::application_id,
                    applications::client_id,
                    access_tokens::scopes,
                    access_tokens::created_at,
                    access_tokens::expires_at,
                    access_tokens::revoked_at,
                    access_tokens::resource,
                ))
                .first(c)
                .optional()?;
            row.map(
                |(
                    school,
                    via_platform,
                    user,
                    app,
                    client_id,
                    token_scopes,
                    created,
                    expires,
                    revoked,
                    resource,
                )| {
                    Ok(AccessTokenRecord {
                        school_id: parse(&school, "school id")?,
                        via_platform,
                        user_id: parse(&user, "user id")?,
                        application_id: parse(&app, "application id")?,
                        client_id: ClientId::parse(&client_id)
                            .map_err(|_| StorageError::Corrupt("client id".into()))?,
                        scopes: scopes(&token_scopes)?,
                        resource,
                        issued_at: from_secs(created)?,
                        expires_at: from_secs(expires)?,
                        revoked: revoked.is_some(),
                    })
                },
            )
            .transpose()
        })
        .await
    }

    /// Whether an access token with this digest is live: unrevoked and
    /// unexpired.
    pub async fn is_access_token_active(
        &self,
        hash: TokenHash,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        self.run(move |c| {
            let count: i64 = access_tokens::table
                .filter(access_tokens::token_hash.eq(hash.to_hex()))
                .filter(access_tokens::revoked_at.is_null())
                .filter(access_tokens::expires_at.gt(to_secs(now)))
                .count()
                .get_result(c)?;
            Ok(count > 0)
        })
        .await
    }

    /// Revokes one access token (RFC 7009). The caller has checked that the
    /// revoking client owns it. Already revoked tokens are left as they are.
    pub async fn revoke_access_token(
        &self,
        hash: TokenHash,
        meta: AuditMeta,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.run(move |c| {
            write_transaction(c, |c| {
                let row: Option<(String, String, String)> = access_tokens::table
                    .filter(access_tokens::token_hash.eq(hash.to_hex()))
                    .filter(access_tokens::revoked_at.is_null())
                    .select((
                        access_tokens::school_id,
                        access_tokens::user_id,
                        access_tokens::grant_id,
                    ))
                    .first(c)
                    .optional()?;
                let Some((school, user, grant)) = row else {
                    return Ok(());
                };
                diesel::update(
                    access_tokens::table.filter(access_tokens::token_hash.eq(hash.to_hex())),
                )
                .set(access_tokens::revoked_at.eq(to_secs(now)))
                .execute(c)?;
                let mut event = meta.event(parse(&school, "school id")?, AuditKind::TokenRevoked);
                event.user_id = Some(parse(&user, "user id")?);
                event.grant_id = Some(parse(&grant, "grant id")?);
                event.reason = Some("access token revoked by its client".into());
                insert_audit(c, &event, now)
            })
        })
        .await
    }

    /// Revokes a refresh token and its whole family (RFC 7009 §2.1). The caller
    /// has checked that the revoking client owns it.
    pub async fn revoke_refresh_family(
        &self,
        hash: TokenHash,
        meta: AuditMeta,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.run(move |c| {
            write_transaction(c, |c| {
                let Some(row) = find_refresh_row(c, &hash)? else {
                    return Ok(());
                };
                revoke_family(c, &row.family_id, to_secs(now))?;
                let mut event =
                    meta.event(parse(&row.school_id, "school id")?, AuditKind::TokenRevoked);
                event.user_id = Some(parse(&row.user_id, "user id")?);
                event.grant_id = Some(parse(&row.grant_id, "grant id")?);
                event.reason = Some("refresh token and its family revoked by its client".into());
                insert_audit(c, &event, now)
            })
        })
        .await
    }

    /// A user's grants in one school, newest first.
    pub async fn list_user_grants(
        &self,
        user: UserId,
        school: SchoolId,
    ) -> Result<Vec<GrantSummary>, StorageError> {
        self.list_grants(Some(user), school, None, None, 500).await
    }

    /// Grants of a school, newest first, optionally of one application; at most
    /// `limit`, after the cursor `after` when paging. The cursor is a position
    /// in the order, not a row: paging goes on where it stopped even when the
    /// grant it was taken from has been revoked meanwhile.
    pub async fn list_grants(
        &self,
        user: Option<UserId>,
        school: SchoolId,
        app: Option<ApplicationId>,
        after: Option<GrantCursor>,
        limit: i64,
    ) -> Result<Vec<GrantSummary>, StorageError> {
        use crate::schema::users;
        self.run(move |c| {
            let mut query = grants::table
                .inner_join(applications::table.on(applications::id.eq(grants::application_id)))
                .inner_join(users::table.on(users::id.eq(grants::user_id)))
                .filter(grants::school_id.eq(school.to_string()))
                .order((grants::created_at.desc(), grants::id.desc()))
                .limit(limit)
                .into_boxed();
            if let Some(user) = user {
                query = query.filter(grants::user_id.eq(user.to_string()));
            }
            if let Some(app) = app {
                query = query.filter(grants::application_id.eq(app.to_string()));
            }
            if let Some(after) = after {
                let (created, id) = (to_secs(after.created_at), after.id.to_string());
                query = query.filter(
                    grants::created_at
                        .lt(created)
                        .or(grants::created_at.eq(created).and(grants::id.lt(id))),
                );
            }
            let rows: Vec<GrantSummaryRow> = query
                .select((
                    grants::id,
                    grants::school_id,
                    grants::user_id,
                    users::email,
                    applications::client_id,
                    applications::name,
                    grants::scopes,
                    grants::created_at,
                    grants::updated_at,
                ))
                .load(c)?;
            grant_summaries(rows)
        })
        .await
    }

    /// The grants a user holds in a school, each with the audience of its
    /// application, for deciding which a change of role must revoke.
    pub async fn user_grant_audiences(
        &self,
        user: UserId,
        school: SchoolId,
    ) -> Result<Vec<(GrantId, Audience)>, StorageError> {
        self.run(move |c| {
            let rows: Vec<(String, String)> = grants::table
                .inner_join(applications::table.on(applications::id.eq(grants::application_id)))
                .filter(grants::user_id.eq(user.to_string()))
                .filter(grants::school_id.eq(school.to_string()))
                .select((grants::id, applications::audience))
                .load(c)?;
            rows.iter()
                .map(|(id, audience)| Ok((parse(id, "grant id")?, parse(audience, "audience")?)))
                .collect()
        })
        .await
    }

    /// Revokes a grant of `school` with every token issued from it. `user`, when
    /// given, must be the grant's user (people revoke only their own). Returns
    /// whether a grant was revoked.
    pub async fn revoke_grant(
        &self,
        grant: GrantId,
        school: SchoolId,
        user: Option<UserId>,
        meta: AuditMeta,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        self.run(move |c| {
            write_transaction(c, |c| revoke_grant_in(c, grant, school, user, &meta, now))
        })
        .await
    }

    /// Revokes every grant of an application in `school`. Returns how many.
    pub async fn revoke_application_grants(
        &self,
        app: ApplicationId,
        school: SchoolId,
        meta: AuditMeta,
        now: DateTime<Utc>,
    ) -> Result<usize, StorageError> {
        self.run(move |c| {
            write_transaction(c, |c| {
                let ids: Vec<String> = grants::table
                    .filter(grants::application_id.eq(app.to_string()))
                    .filter(grants::school_id.eq(school.to_string()))
                    .select(grants::id)
                    .load(c)?;
                let mut revoked = 0;
                for id in ids {
                    if revoke_grant_in(c, parse(&id, "grant id")?, school, None, &meta, now)? {
                        revoked += 1;
                    }
                }
                Ok(revoked)
            })
        })
        .await
    }

    /// Deletes codes, tokens and sessions that expired more than `retention`
    /// before `now`, at most `batch` rows of each kind. Returns how many rows
    /// were deleted; run it again while it returns a full batch.
    pub async fn prune_expired(
        &self,
        now: DateTime<Utc>,
        retention: Duration,
        batch: i64,
    ) -> Result<usize, StorageError> {
        use crate::schema::sessions;
        self.run(move |c| {
            let cutoff = to_secs(now - retention);
            let mut deleted = 0;
            let codes: Vec<String> = authorization_codes::table
                .filter(authorization_codes::expires_at.lt(cutoff))
                .select(authorization_codes::id)
                .limit(batch)
                .load(c)?;
            deleted += diesel::delete(
                authorization_codes::table.filter(authorization_codes::id.eq_any(codes)),
            )
            .execute(c)?;
            let access: Vec<String> = access_tokens::table
                .filter(access_tokens::expires_at.lt(cutoff))
                .select(access_tokens::id)
                .limit(batch)
                .load(c)?;
            deleted +=
                diesel::delete(access_tokens::table.filter(access_tokens::id.eq_any(access)))
                    .execute(c)?;
            let refresh: Vec<String> = refresh_tokens::table
                .filter(refresh_tokens::expires_at.lt(cutoff))
                .select(refresh_tokens::id)
                .limit(batch)
                .load(c)?;
            deleted +=
                diesel::delete(refresh_tokens::table.filter(refresh_tokens::id.eq_any(refresh)))
                    .execute(c)?;
            let old_sessions: Vec<String> = sessions::table
                .filter(sessions::expires_at.lt(cutoff))
                .select(sessions::id)
                .limit(batch)
                .load(c)?;
            deleted += diesel::delete(sessions::table.filter(sessions::id.eq_any(old_sessions)))
                .execute(c)?;
            Ok(deleted)
        })
        .await
    }
}

pub(crate) fn revoke_grant_in(
    c: &mut Conn,
    grant: GrantId,
    school: SchoolId,
    user: Option<UserId>,
    meta: &AuditMeta,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let row: Option<(String, String)> = grants::table
        .find(grant.to_string())
        .filter(grants::school_id.eq(school.to_string()))
        .inner_join(applications::table.on(applications::id.eq(grants::application_id)))
        .select((grants::user_id, applications::client_id))
        .first(c)
        .optional()?;
    let Some((owner, client_id)) = row else {
        return Ok(false);
    };
    let owner: UserId = parse(&owner, "user id")?;
    if user.is_some_and(|u| u != owner) {
        return Ok(false);
    }
    revoke_grant_tokens(c, &grant.to_string(), to_secs(now))?;
    diesel::delete(grants::table.find(grant.to_string())).execute(c)?;
    let mut event = meta.event(school, AuditKind::GrantRevoked);
    event.user_id = Some(owner);
    event.client_id = ClientId::parse(&client_id).ok();
    event.grant_id = Some(grant);
    event.reason = Some("the grant and every token issued from it were revoked".into());
    insert_audit(c, &event, now)?;
    Ok(true)
}

impl Store {
    /// Revokes every grant of an application in every school, with all their
    /// tokens (an application being disabled). Returns how many.
    pub async fn revoke_all_application_grants(
        &self,
        app: ApplicationId,
        meta: AuditMeta,
        now: DateTime<Utc>,
    ) -> Result<usize, StorageError> {
        self.run(move |c| {
            write_transaction(c, |c| {
                let rows: Vec<(String, String)> = grants::table
                    .filter(grants::application_id.eq(app.to_string()))
                    .select((grants::id, grants::school_id))
                    .load(c)?;
                let mut revoked = 0;
                for (id, school) in rows {
                    if revoke_grant_in(
                        c,
                        parse(&id, "grant id")?,
                        parse(&school, "school id")?,
                        None,
                        &meta,
                        now,
                    )? {
                        revoked += 1;
                    }
                }
                Ok(revoked)
            })
        })
        .await
    }
}

/// Records consent and stores the code, in one write transaction.
fn approve_in(
    c: &mut Conn,
    code: &NewCode,
    client_id: &ClientId,
    audience: Audience,
    meta: &AuditMeta,
    now: DateTime<Utc>,
) -> Result<Option<GrantId>, StorageError> {
    write_transaction(c, |c| {
        let user = code.user_id.to_string();
        let app = code.record.application_id.to_string();
        let school = code.record.binding.school_id.to_string();
        lock_rows(c, Lockable::Application, &app)?;
        let current: Option<(bool, String, String)> = applications::table
            .find(&app)
            .select((
                applications::disabled,
                applications::audience,
                applications::scopes,
            ))
            .first(c)
            .optional()?;
        let allowed = match current {
            Some((false, stored_audience, allowed)) if stored_audience == audience.as_str() => {
                scopes(&allowed)?
            }
            _ => return Ok(None),
        };
        let approved = code.scopes.intersection(&allowed);
        let code = &NewCode {
            scopes: approved,
            ..code.clone()
        };
        let existing: Option<(String, String)> = grants::table
            .filter(grants::user_id.eq(&user))
            .filter(grants::application_id.eq(&app))
            .filter(grants::school_id.eq(&school))
            .select((grants::id, grants::scopes))
            .first(c)
            .optional()?;
        let grant_id = match existing {
            Some((id, held)) => {
                let union = scopes(&held)?.union(&code.scopes);
                diesel::update(grants::table.find(&id))
                    .set((
                        grants::scopes.eq(union.to_string()),
                        grants::updated_at.eq(to_secs(now)),
                    ))
                    .execute(c)?;
                id
            }
            None => {
                let id = code.grant_id.to_string();
                diesel::insert_into(grants::table)
                    .values((
                        grants::id.eq(&id),
                        grants::user_id.eq(&user),
                        grants::application_id.eq(&app),
                        grants::school_id.eq(&school),
                        grants::scopes.eq(code.scopes.to_string()),
                        grants::created_at.eq(to_secs(now)),
                        grants::updated_at.eq(to_secs(now)),
                    ))
                    .execute(c)?;
                id
            }
        };
        diesel::insert_into(authorization_codes::table)
            .values((
                authorization_codes::id.eq(Uuid::new_v4().to_string()),
                authorization_codes::code_hash.eq(code.hash.to_hex()),
                authorization_codes::grant_id.eq(&grant_id),
                authorization_codes::school_id.eq(&school),
                authorization_codes::application_id.eq(&app),
                authorization_codes::user_id.eq(&user),
                authorization_codes::via_platform.eq(code.record.binding.via_platform),
                authorization_codes::redirect_uri.eq(&code.record.redirect_uri),
                authorization_codes::scopes.eq(code.scopes.to_string()),
                authorization_codes::code_challenge.eq(code.record.challenge.as_str()),
                authorization_codes::nonce.eq(&code.nonce),
                authorization_codes::resource.eq(&code.resource),
                authorization_codes::issuer.eq(&code.record.issuer),
                authorization_codes::auth_time.eq(to_secs(code.auth_time)),
                authorization_codes::created_at.eq(to_secs(now)),
                authorization_codes::expires_at.eq(to_secs(code.record.expires_at)),
            ))
            .execute(c)?;
        let grant_id: GrantId = parse(&grant_id, "grant id")?;
        let mut event = meta.event(
            code.record.binding.school_id,
            AuditKind::AuthorizationGranted,
        );
        event.user_id = Some(code.user_id);
        event.client_id = Some(client_id.clone());
        event.grant_id = Some(grant_id);
        event.reason = Some(format!("scopes: {}", code.scopes));
        insert_audit(c, &event, now)?;
        Ok(Some(grant_id))
    })
}
