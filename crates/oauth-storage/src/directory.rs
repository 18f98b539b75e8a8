//! Schools, their domains, users, memberships, applications and login sessions.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use oauth_core::application::{Application, ClientType, Registration};
use oauth_core::audience::{Audience, Role};
use oauth_core::ids::{ApplicationId, ClientId, SchoolId, Subdomain, UserId};
use oauth_core::redirect_uri::RedirectUri;
use oauth_core::scope::ScopeSet;
use oauth_core::TokenHash;
use uuid::Uuid;

use crate::rows::{hash, parse, scopes};
use crate::schema::{applications, memberships, school_domains, schools, sessions, users};
use crate::{
    from_secs, is_storable, to_secs, unique_violation, write_transaction, Conn, StorageError, Store,
};

/// A school.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct School {
    /// Its id.
    pub id: SchoolId,
    /// Its subdomain under the platform's base domain.
    pub subdomain: Subdomain,
    /// Its name as people know it.
    pub display_name: String,
}

/// What it takes to create a school.
#[derive(Debug, Clone)]
pub struct NewSchool {
    /// The id to create it with.
    pub id: SchoolId,
    /// Its subdomain.
    pub subdomain: Subdomain,
    /// Its name.
    pub display_name: String,
}

/// A user. The password hash is kept out of `Debug`.
#[derive(Clone)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Lower-cased email address.
    pub email: String,
    /// Name shown to applications with `profile`.
    pub display_name: String,
    /// Platform operator.
    pub is_staff: bool,
    password_hash: String,
}

impl User {
    /// The Argon2id PHC string to verify a password against.
    pub fn password_hash(&self) -> &str {
        &self.password_hash
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("is_staff", &self.is_staff)
            .finish_non_exhaustive()
    }
}

/// What it takes to create a user.
#[derive(Clone)]
pub struct NewUser {
    /// The id to create it with.
    pub id: UserId,
    /// Email address; stored lower-cased.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// An Argon2id PHC string, never a plain password.
    pub password_hash: String,
    /// Platform operator.
    pub is_staff: bool,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// An application with what only storage knows about it.
#[derive(Debug, Clone)]
pub struct StoredApplication {
    /// The application as the rules see it.
    pub app: Application,
    /// The digest of its client secret, for confidential clients.
    pub secret_hash: Option<TokenHash>,
    /// Whether it may call the introspection endpoint in its school.
    pub may_introspect: bool,
    /// Whether it registered itself (dynamic registration or a client metadata
    /// document) instead of being registered by an operator or a school.
    pub self_registered: bool,
    /// The user who registered it, if a person did.
    pub created_by: Option<UserId>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// What it takes to register an application. Callers validate it with the core
/// rules first; storage only writes it.
#[derive(Debug, Clone)]
pub struct NewApplication {
    /// The application.
    pub app: Application,
    /// Digest of its secret (confidential clients).
    pub secret_hash: Option<TokenHash>,
    /// May introspect tokens of its school.
    pub may_introspect: bool,
    /// The user who registered it, if any.
    pub created_by: Option<UserId>,
    /// It registered itself.
    pub self_registered: bool,
}

/// A browser session that is still valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// Who is logged in.
    pub user_id: UserId,
    /// When they entered their password.
    pub auth_time: DateTime<Utc>,
}

type SchoolColumns = (schools::id, schools::subdomain, schools::display_name);
const SCHOOL_COLUMNS: SchoolColumns = (schools::id, schools::subdomain, schools::display_name);

type UserColumns = (
    users::id,
    users::email,
    users::display_name,
    users::password_hash,
    users::is_staff,
);
const USER_COLUMNS: UserColumns = (
    users::id,
    users::email,
    users::display_name,
    users::password_hash,
    users::is_staff,
);

#[derive(Queryable)]
struct SchoolRow {
    id: String,
    subdomain: String,
    display_name: String,
}

impl SchoolRow {
    fn into_school(self) -> Result<School, StorageError> {
        Ok(School {
            id: parse(&self.id, "school id")?,
            subdomain: Subdomain::parse(&self.subdomain)
                .map_err(|_| StorageError::Corrupt("subdomain".into()))?,
            display_name: self.display_name,
        })
    }
}

#[derive(Queryable)]
struct UserRow {
    id: String,
    email: String,
    display_name: String,
    password_hash: String,
    is_staff: bool,
}

impl UserRow {
    fn into_user(self) -> Result<User, StorageError> {
        Ok(User {
            id: parse(&self.id, "user id")?,
            email: self.email,
            display_name: self.display_name,
            is_staff: self.is_staff,
            password_hash: self.password_hash,
        })
    }
}

pub(crate) type ApplicationColumns = (
    applications::id,
    applications::client_id,
    applications::secret_hash,
    applications::name,
    applications::school_id,
    applications::audience,
    applications::client_type,
    applications::redirect_uris,
    applications::scopes,
    applications::may_introspect,
    applications::disabled,
    applications::self_registered,
    applications::created_by,
    applications::created_at,
    applications::updated_at,
);

pub(crate) const APPLICATION_COLUMNS: ApplicationColumns = (
    applications::id,
    applications::client_id,
    applications::secret_hash,
    applications::name,
    applications::school_id,
    applications::audience,
    applications::client_type,
    applications::redirect_uris,
    applications::scopes,
    applications::may_introspect,
    applications::disabled,
    applications::self_registered,
    applications::created_by,
    applications::created_at,
    applications::updated_at,
);

#[derive(Queryable)]
pub(crate) struct ApplicationRow {
    id: String,
    client_id: String,
    secret_hash: Option<String>,
    name: String,
    school_id: Option<String>,
    audience: String,
    client_type: String,
    redirect_uris: String,
    scopes: String,
    may_introspect: bool,
    disabled: bool,
    self_registered: bool,
    created_by: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl ApplicationRow {
    pub(crate) fn into_stored(self) -> Result<StoredApplication, StorageError> {
        let registration = match &self.school_id {
            Some(school) => Registration::School(parse(school, "school id")?),
            None => Registration::Platform,
        };
        let redirect_uris = self
            .redirect_uris
            .lines()
            .filter(|l| !l.is_empty())
            .map(|uri| {
                RedirectUri::register(uri).map_err(|_| StorageError::Corrupt("redirect URI".into()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let app = Application {
            id: parse(&self.id, "application id")?,
            client_id: ClientId::parse(&self.client_id)
                .map_err(|_| StorageError::Corrupt("client id".into()))?,
            name: self.name,
            registration,
            audience: parse::<Audience>(&self.audience, "audience")?,
            client_type: parse::<ClientType>(&self.client_type, "client type")?,
            redirect_uris,
            scopes: scopes(&self.scopes)?,
            disabled: self.disabled,
        };
        Ok(StoredApplication {
            app,
            secret_hash: self.secret_hash.as_deref().map(hash).transpose()?,
            may_introspect: self.may_introspect,
            self_registered: self.self_registered,
            created_by: self
                .created_by
                .as_deref()
                .map(|u| parse(u, "user id"))
                .transpose()?,
            created_at: from_secs(self.created_at)?,
            updated_at: from_secs(self.updated_at)?,
        })
    }
}

/// Redirect URIs are stored one per line; registration refuses URIs with
/// whitespace, so the separator cannot occur inside one.
pub(crate) fn join_uris(uris: &[RedirectUri]) -> String {
    uris.iter()
        .map(RedirectUri::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

impl Store {
    /// Creates a school, or returns `Conflict` when its subdomain is taken.
    pub async fn insert_school(
        &self,
        school: NewSchool,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.run(move |c| {
            diesel::insert_into(schools::table)
                .values((
                    schools::id.eq(school.id.to_string()),
                    schools::subdomain.eq(school.subdomain.as_str()),
                    schools::display_name.eq(&school.display_name),
                    schools::created_at.eq(to_secs(now)),
                ))
                .execute(c)
                .map_err(|e| unique_violation(e, "subdomain"))?;
            Ok(())
        })
        .await
    }

    /// Finds a school by subdomain.
    pub async fn find_school_by_subdomain(
        &self,
        subdomain: &str,
    ) -> Result<Option<School>, StorageError> {
        let subdomain = subdomain.to_owned();
        self.run(move |c| {
            schools::table
                .filter(schools::subdomain.eq(subdomain))
                .select(SCHOOL_COLUMNS)
                .first::<SchoolRow>(c)
                .optional()?
                .map(SchoolRow::into_school)
                .transpose()
        })
        .await
    }

    /// Finds a school by id.
    pub async fn find_school(&self, id: SchoolId) -> Result<Option<School>, StorageError> {
        self.run(move |c| {
            schools::table
                .find(id.to_string())
                .select(SCHOOL_COLUMNS)
                .first::<SchoolRow>(c)
                .optional()?
                .map(SchoolRow::into_school)
                .transpose()
        })
        .await
    }

    /// Finds the school a custom domain (host, with port when not default) belongs to.
    pub async fn find_school_by_domain(
        &self,
        domain: &str,
    ) -> Result<Option<School>, StorageError> {
        let domain = domain.to_ascii_lowercase();
        self.run(move |c| {
            school_domains::table
                .inner_join(schools::table)
                .filter(school_domains::domain.eq(domain))
                .select(SCHOOL_COLUMNS)
                .first::<SchoolRow>(c)
                .optional()?
                .map(SchoolRow::into_school)
                .transpose()
        })
        .await
    }

    /// Adds a custom domain to a school; `Conflict` if another school has it.
    /// Adding a domain the school already has is not an error.
    pub async fn insert_school_domain(
        &self,
        school: SchoolId,
        domain: &str,
    ) -> Result<(), StorageError> {
        let domain = domain.to_ascii_lowercase();
        self.run(move |c| {
            let existing: Option<String> = school_domains::table
                .find(&domain)
                .select(school_domains::school_id)
                .first(c)
                .optional()?;
            match existing {
                Some(owner) if owner == school.to_string() => Ok(()),
                Some(_) => Err(StorageError::Conflict("domain")),
                None => {
                    diesel::insert_into(school_domains::table)
                        .values((
                            school_domains::domain.eq(&domain),
                            school_domains::school_id.eq(school.to_string()),
                        ))
                        .execute(c)
                        .map_err(|e| unique_violation(e, "domain"))?;
                    Ok(())
                }
            }
        })
        .await
    }

    /// Creates a user; `Conflict` when the email is taken.
    pub async fn insert_user(&self, user: NewUser, now: DateTime<Utc>) -> Result<(), StorageError> {
        self.run(move |c| {
            diesel::insert_into(users::table)
                .values((
                    users::id.eq(user.id.to_string()),
                    users::email.eq(user.email.to_lowercase()),
                    users::display_name.eq(&user.display_name),
                    users::password_hash.eq(&user.password_hash),
                    users::is_staff.eq(user.is_staff),
                    users::created_at.eq(to_secs(now)),
                ))
                .execute(c)
                .map_err(|e| unique_violation(e, "email"))?;
            Ok(())
        })
        .await
    }

    /// Finds a user by email, case-insensitively.
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StorageError> {
        let email = email.trim().to_lowercase();
        if !is_storable(&email) {
            return Ok(None);
        }
        self.run(move |c| {
            users::table
                .filter(users::email.eq(email))
                .select(USER_COLUMNS)
                .first::<UserRow>(c)
                .optional()?
                .map(UserRow::into_user)
                .transpose()
        })
        .await
    }

    /// Finds a user by id.
    pub async fn find_user(&self, id: UserId) -> Result<Option<User>, StorageError> {
        self.run(move |c| {
            users::table
                .find(id.to_string())
                .select(USER_COLUMNS)
                .first::<UserRow>(c)
                .optional()?
                .map(UserRow::into_user)
                .transpose()
        })
        .await
    }

    /// Marks a user as platform staff, or not. Returns whether the user exists.
    pub async fn update_user_staff(
        &self,
        user: UserId,
        is_staff: bool,
    ) -> Result<bool, StorageError> {
        self.run(move |c| {
            let updated = diesel::update(users::table.find(user.to_string()))
                .set(users::is_staff.eq(is_staff))
                .execute(c)?;
            Ok(updated == 1)
        })
        .await
    }

    /// Sets a user's role in a school, replacing any earlier role there.
    pub async fn upsert_membership(
        &self,
        user: UserId,
        school: SchoolId,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.run(move |c| {
            // Update first, insert when there was nothing to update: both
            // backends run this the same way (`ON CONFLICT` is dialect). If a
            // racing writer inserted meanwhile, its row is updated instead.
            let key = (user.to_string(), school.to_string());
            let set_role = |c: &mut crate::Conn| {
                diesel::update(memberships::table.find(key.clone()))
                    .set(memberships::role.eq(role.as_str()))
                    .execute(c)
            };
            if set_role(c)? == 1 {
                return Ok(());
            }
            let inserted = diesel::insert_into(memberships::table)
                .values((
                    memberships::user_id.eq(&key.0),
                    memberships::school_id.eq(&key.1),
                    memberships::role.eq(role.as_str()),
                    memberships::created_at.eq(to_secs(now)),
                ))
                .execute(c);
            match inserted {
                Ok(_) => Ok(()),
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => {
                    set_role(c)?;
                    Ok(())
                }
                Err(other) => Err(other.into()),
            }
        })
        .await
    }

    /// The user's role in one school, if they have one.
    pub async fn find_role(
        &self,
        user: UserId,
        school: SchoolId,
    ) -> Result<Option<Role>, StorageError> {
        self.run(move |c| {
            memberships::table
                .find((user.to_string(), school.to_string()))
                .select(memberships::role)
                .first::<String>(c)
                .optional()?
                .map(|role| parse::<Role>(&role, "role"))
                .transpose()
        })
        .await
    }

    /// Replaces the name, redirect URIs and scopes of an application (a client
    /// metadata document that changed). Returns whether it exists.
    pub async fn update_application_metadata(
        &self,
        client_id: &ClientId,
        name: String,
        redirect_uris: Vec<RedirectUri>,
        scopes: ScopeSet,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let client_id = client_id.as_str().to_owned();
        self.run(move |c| {
            let updated =
                diesel::update(applications::table.filter(applications::client_id.eq(client_id)))
                    .set((
                        applications::name.eq(name),
                        applications::redirect_uris.eq(join_uris(&redirect_uris)),
                        applications::scopes.eq(scopes.to_string()),
                        applications::updated_at.eq(to_secs(now)),
                        applications::disabled.eq(false),
                    ))
                    .execute(c)?;
            Ok(updated == 1)
        })
        .await
    }

    /// The redirect URIs of the enabled public applications usable at a host:
    /// the platform's, and the school's when `school` is given.
    pub async fn list_public_redirect_uris(
        &self,
        school: Option<SchoolId>,
    ) -> Result<Vec<RedirectUri>, StorageError> {
        self.run(move |c| {
            let mut query = applications::table
                .filter(applications::client_type.eq(ClientType::Public.as_str()))
                .filter(applications::disabled.eq(false))
                .select(applications::redirect_uris)
                .into_boxed();
            query = match school {
                Some(school) => query.filter(
                    applications::school_id
                        .is_null()
                        .or(applications::school_id.eq(school.to_string())),
                ),
                None => query.filter(applications::school_id.is_null()),
            };
            let lists: Vec<String> = query.load(c)?;
            Ok(lists
                .iter()
                .flat_map(|list| list.lines())
                .filter_map(|uri| RedirectUri::register(uri).ok())
                .collect())
        })
        .await
    }

    /// Disables (or enables) an application; a disabled one is unknown
    /// everywhere. Returns whether it exists.
    pub async fn set_application_disabled(
        &self,
        client_id: &ClientId,
        disabled: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let client_id = client_id.as_str().to_owned();
        self.run(move |c| {
            let updated =
                diesel::update(applications::table.filter(applications::client_id.eq(client_id)))
                    .set((
                        applications::disabled.eq(disabled),
                        applications::updated_at.eq(to_secs(now)),
                    ))
                    .execute(c)?;
            Ok(updated == 1)
        })
        .await
    }

    /// Registers an application; `Conflict` when the client id is taken.
    pub async fn insert_application(
        &self,
        new: NewApplication,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.run(move |c| insert_application_in(c, &new, now)).await
    }

    /// Finds an application by its public client id, enabled or not.
    pub async fn find_application(
        &self,
        client_id: &ClientId,
    ) -> Result<Option<StoredApplication>, StorageError> {
        let client_id = client_id.as_str().to_owned();
        self.run(move |c| {
            applications::table
                .filter(applications::client_id.eq(client_id))
                .select(APPLICATION_COLUMNS)
                .first::<ApplicationRow>(c)
                .optional()?
                .map(ApplicationRow::into_stored)
                .transpose()
        })
        .await
    }

    /// Finds an application by its internal id.
    pub async fn find_application_by_id(
        &self,
        id: ApplicationId,
    ) -> Result<Option<StoredApplication>, StorageError> {
        self.run(move |c| {
            applications::table
                .find(id.to_string())
                .select(APPLICATION_COLUMNS)
                .first::<ApplicationRow>(c)
                .optional()?
                .map(ApplicationRow::into_stored)
                .transpose()
        })
        .await
    }

    /// Starts a browser session bound to one host.
    pub async fn insert_session(
        &self,
        session_hash: TokenHash,
        user: UserId,
        host: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let host = host.to_owned();
        self.run(move |c| {
            diesel::insert_into(sessions::table)
                .values((
                    sessions::id.eq(Uuid::new_v4().to_string()),
                    sessions::session_hash.eq(session_hash.to_hex()),
                    sessions::user_id.eq(user.to_string()),
                    sessions::host.eq(host),
                    sessions::auth_time.eq(to_secs(now)),
                    sessions::expires_at.eq(to_secs(expires_at)),
                ))
                .execute(c)?;
            Ok(())
        })
        .await
    }

    /// The live session with this digest at this host, if any.
    pub async fn find_session(
        &self,
        session_hash: TokenHash,
        host: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StorageError> {
        let host = host.to_owned();
        self.run(move |c| {
            let row: Option<(String, i64)> = sessions::table
                .filter(sessions::session_hash.eq(session_hash.to_hex()))
                .filter(sessions::host.eq(host))
                .filter(sessions::expires_at.gt(to_secs(now)))
                .select((sessions::user_id, sessions::auth_time))
                .first(c)
                .optional()?;
            row.map(|(user, auth_time)| {
                Ok(Session {
                    user_id: parse(&user, "user id")?,
                    auth_time: from_secs(auth_time)?,
                })
            })
            .transpose()
        })
        .await
    }

    /// Ends a session.
    pub async fn delete_session(&self, session_hash: TokenHash) -> Result<(), StorageError> {
        self.run(move |c| {
            diesel::delete(
                sessions::table.filter(sessions::session_hash.eq(session_hash.to_hex())),
            )
            .execute(c)?;
            Ok(())
        })
        .await
    }
}

impl Store {
    /// Every school the user has a role in, with that role, by school name.
    pub async fn list_memberships(
        &self,
        user: UserId,
    ) -> Result<Vec<(School, Role)>, StorageError> {
        self.run(move |c| {
            let rows: Vec<(String, String, String, String)> = memberships::table
                .inner_join(schools::table)
                .filter(memberships::user_id.eq(user.to_string()))
                .order(schools::display_name.asc())
                .select((
                    schools::id,
                    schools::subdomain,
                    schools::display_name,
                    memberships::role,
                ))
                .load(c)?;
            rows.into_iter()
                .map(|(id, subdomain, display_name, role)| {
                    let school = SchoolRow {
                        id,
                        subdomain,
                        display_name,
                    }
                    .into_school()?;
                    Ok((school, parse::<Role>(&role, "role")?))
                })
                .collect()
        })
        .await
    }
}

/// A school with its custom domains, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchoolListing {
    /// The school.
    pub school: School,
    /// Its custom domains, sorted.
    pub domains: Vec<String>,
}

impl Store {
    /// Every school with its custom domains, by subdomain.
    pub async fn list_schools(&self) -> Result<Vec<SchoolListing>, StorageError> {
        self.run(move |c| {
            let rows: Vec<SchoolRow> = schools::table
                .order(schools::subdomain.asc())
                .select(SCHOOL_COLUMNS)
                .load(c)?;
            let domains: Vec<(String, String)> = school_domains::table
                .order(school_domains::domain.asc())
                .select((school_domains::school_id, school_domains::domain))
                .load(c)?;
            rows.into_iter()
                .map(|row| {
                    let id = row.id.clone();
                    Ok(SchoolListing {
                        school: row.into_school()?,
                        domains: domains
                            .iter()
                            .filter(|(s, _)| *s == id)
                            .map(|(_, d)| d.clone())
                            .collect(),
                    })
                })
                .collect()
        })
        .await
    }

    /// Removes a custom domain from a school. Returns whether it had it.
    pub async fn delete_school_domain(
        &self,
        school: SchoolId,
        domain: &str,
    ) -> Result<bool, StorageError> {
        let domain = domain.to_ascii_lowercase();
        self.run(move |c| {
            let deleted = diesel::delete(
                school_domains::table
                    .filter(school_domains::domain.eq(domain))
                    .filter(school_domains::school_id.eq(school.to_string())),
            )
            .execute(c)?;
            Ok(deleted == 1)
        })
        .await
    }

    /// Replaces a user's password hash and ends their sessions. Returns whether
    /// the user exists.
    pub async fn update_user_password(
        &self,
        user: UserId,
        password_hash: String,
    ) -> Result<bool, StorageError> {
        self.run(move |c| {
            write_transaction(c, |c| {
                let updated = diesel::update(users::table.find(user.to_string()))
                    .set(users::password_hash.eq(password_hash))
                    .execute(c)?;
                diesel::delete(sessions::table.filter(sessions::user_id.eq(user.to_string())))
                    .execute(c)?;
                Ok(updated == 1)
            })
        })
        .await
    }

    /// Takes a user's role in a school away. Returns whether they had one.
    pub async fn delete_membership(
        &self,
        user: UserId,
        school: SchoolId,
    ) -> Result<bool, StorageError> {
        self.run(move |c| {
            let deleted =
                diesel::delete(memberships::table.find((user.to_string(), school.to_string())))
                    .execute(c)?;
            Ok(deleted == 1)
        })
        .await
    }

    /// Applications of one school, or the platform's when `school` is `None`,
    /// by client id.
    pub async fn list_applications(
        &self,
        school: Option<SchoolId>,
    ) -> Result<Vec<StoredApplication>, StorageError> {
        self.run(move |c| {
            let query = applications::table
                .order(applications::client_id.asc())
                .select(APPLICATION_COLUMNS)
                .into_boxed();
            let query = match school {
                Some(school) => query.filter(applications::school_id.eq(school.to_string())),
                None => query.filter(applications::school_id.is_null()),
            };
            query
                .load::<ApplicationRow>(c)?
                .into_iter()
                .map(ApplicationRow::into_stored)
                .collect()
        })
        .await
    }
}

/// Writes a new application row; `Conflict` when the client id is taken.
pub(crate) fn insert_application_in(
    c: &mut Conn,
    new: &NewApplication,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let app = &new.app;
    let school_id = match app.registration {
        Registration::School(school) => Some(school.to_string()),
        Registration::Platform => None,
    };
    diesel::insert_into(applications::table)
        .values((
            applications::id.eq(app.id.to_string()),
            applications::client_id.eq(app.client_id.as_str()),
            applications::secret_hash.eq(new.secret_hash.as_ref().map(TokenHash::to_hex)),
            applications::name.eq(&app.name),
            applications::school_id.eq(school_id),
            applications::audience.eq(app.audience.as_str()),
            applications::client_type.eq(app.client_type.as_str()),
            applications::redirect_uris.eq(join_uris(&app.redirect_uris)),
            applications::scopes.eq(app.scopes.to_string()),
            applications::may_introspect.eq(new.may_introspect),
            applications::created_by.eq(new.created_by.map(|u| u.to_string())),
            applications::created_at.eq(to_secs(now)),
            applications::updated_at.eq(to_secs(now)),
            applications::disabled.eq(app.disabled),
            applications::self_registered.eq(new.self_registered),
        ))
        .execute(c)
        .map_err(|e| unique_violation(e, "client_id"))?;
    Ok(())
}
