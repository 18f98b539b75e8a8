//! Signing keys for ID tokens, and the resources schools register.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use oauth_core::SchoolId;

use crate::schema::{school_resources, signing_keys};
use crate::{to_secs, unique_violation, write_transaction, StorageError, Store};

/// The key that signs ID tokens now. The PEM is kept out of `Debug`.
#[derive(Clone)]
pub struct ActiveSigningKey {
    /// Its key id, published in the JWKS and put in every token's header.
    pub kid: String,
    /// `RS256`.
    pub algorithm: String,
    private_key_pem: String,
}

impl ActiveSigningKey {
    /// The PKCS#8 PEM of the private key, for the signer.
    pub fn expose_private_key_pem(&self) -> &str {
        &self.private_key_pem
    }
}

impl std::fmt::Debug for ActiveSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveSigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// A published key's id, public JWK and dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedKey {
    /// Key id.
    pub kid: String,
    /// The public JWK as JSON.
    pub public_jwk: String,
    /// When it was created.
    pub created_at: i64,
    /// When a newer key took over, if one did.
    pub retired_at: Option<i64>,
}

impl Store {
    /// Stores a new signing key and makes it the active one; the previous
    /// active key is retired (still published, no longer signing).
    pub async fn insert_signing_key(
        &self,
        kid: String,
        algorithm: &'static str,
        private_key_pem: String,
        public_jwk: String,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.run(move |c| {
            write_transaction(c, |c| {
                diesel::update(signing_keys::table.filter(signing_keys::retired_at.is_null()))
                    .set(signing_keys::retired_at.eq(to_secs(now)))
                    .execute(c)?;
                diesel::insert_into(signing_keys::table)
                    .values((
                        signing_keys::kid.eq(&kid),
                        signing_keys::algorithm.eq(algorithm),
                        signing_keys::private_key_pem.eq(&private_key_pem),
                        signing_keys::public_jwk.eq(&public_jwk),
                        signing_keys::created_at.eq(to_secs(now)),
                    ))
                    .execute(c)
                    .map_err(|e| unique_violation(e, "kid"))?;
                Ok(())
            })
        })
        .await
    }

    /// The key to sign with at `now`: the newest key that has been published
    /// for at least `published_for` (so relying parties that cached the key set
    /// already know it), or, when none has been published that long, the one
    /// published longest. A key retired by a rotation keeps signing
    /// until its successor has been published long enough.
    pub async fn find_signing_key(
        &self,
        now: DateTime<Utc>,
        published_for: Duration,
    ) -> Result<Option<ActiveSigningKey>, StorageError> {
        self.run(move |c| {
            let select = (
                signing_keys::kid,
                signing_keys::algorithm,
                signing_keys::private_key_pem,
            );
            let settled: Option<(String, String, String)> = signing_keys::table
                .filter(signing_keys::created_at.le(to_secs(now - published_for)))
                .order(signing_keys::created_at.desc())
                .select(select)
                .first(c)
                .optional()?;
            let row = match settled {
                Some(row) => Some(row),
                None => signing_keys::table
                    .order(signing_keys::created_at.asc())
                    .select(select)
                    .first(c)
                    .optional()?,
            };
            Ok(
                row.map(|(kid, algorithm, private_key_pem)| ActiveSigningKey {
                    kid,
                    algorithm,
                    private_key_pem,
                }),
            )
        })
        .await
    }

    /// The key that signs now, if there is one.
    pub async fn find_active_signing_key(&self) -> Result<Option<ActiveSigningKey>, StorageError> {
        self.run(move |c| {
            let row: Option<(String, String, String)> = signing_keys::table
                .filter(signing_keys::retired_at.is_null())
                .order(signing_keys::created_at.desc())
                .select((
                    signing_keys::kid,
                    signing_keys::algorithm,
                    signing_keys::private_key_pem,
                ))
                .first(c)
                .optional()?;
            Ok(
                row.map(|(kid, algorithm, private_key_pem)| ActiveSigningKey {
                    kid,
                    algorithm,
                    private_key_pem,
                }),
            )
        })
        .await
    }

    /// The keys to publish: the active one, and those retired less than
    /// `grace` ago (tokens they signed may still be checked).
    pub async fn list_published_keys(
        &self,
        now: DateTime<Utc>,
        grace: Duration,
    ) -> Result<Vec<PublishedKey>, StorageError> {
        self.run(move |c| {
            let rows: Vec<(String, String, i64, Option<i64>)> = signing_keys::table
                .filter(
                    signing_keys::retired_at
                        .is_null()
                        .or(signing_keys::retired_at.gt(to_secs(now - grace))),
                )
                .order(signing_keys::created_at.desc())
                .select((
                    signing_keys::kid,
                    signing_keys::public_jwk,
                    signing_keys::created_at,
                    signing_keys::retired_at,
                ))
                .load(c)?;
            Ok(rows
                .into_iter()
                .map(|(kid, public_jwk, created_at, retired_at)| PublishedKey {
                    kid,
                    public_jwk,
                    created_at,
                    retired_at,
                })
                .collect())
        })
        .await
    }

    /// Registers a protected resource (RFC 8707) of a school; registering it
    /// again renames it.
    pub async fn upsert_school_resource(
        &self,
        school: SchoolId,
        resource: String,
        name: String,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.run(move |c| {
            // Update, else insert, as in `upsert_membership`: portable, and a
            // racing insert of the same resource ends as a rename.
            let key = (school.to_string(), resource);
            let rename = |c: &mut crate::Conn| {
                diesel::update(school_resources::table.find(key.clone()))
                    .set(school_resources::name.eq(&name))
                    .execute(c)
            };
            if rename(c)? == 1 {
                return Ok(());
            }
            let inserted = diesel::insert_into(school_resources::table)
                .values((
                    school_resources::school_id.eq(&key.0),
                    school_resources::resource.eq(&key.1),
                    school_resources::name.eq(&name),
                    school_resources::created_at.eq(to_secs(now)),
                ))
                .execute(c);
            match inserted {
                Ok(_) => Ok(()),
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => {
                    rename(c)?;
                    Ok(())
                }
                Err(other) => Err(other.into()),
            }
        })
        .await
    }

    /// A school's registered resources: (resource URI, name).
    pub async fn list_school_resources(
        &self,
        school: SchoolId,
    ) -> Result<Vec<(String, String)>, StorageError> {
        self.run(move |c| {
            Ok(school_resources::table
                .filter(school_resources::school_id.eq(school.to_string()))
                .order(school_resources::resource.asc())
                .select((school_resources::resource, school_resources::name))
                .load(c)?)
        })
        .await
    }
}
