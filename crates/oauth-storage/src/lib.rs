//! Storage for Loopwise Connect: rows in and out, and the atomic single-use
//! operations the protocol depends on.
//!
//! This crate turns core values into rows and back with diesel. It depends on
//! `oauth-core` for the vocabulary and on nothing of the HTTP layer. Secrets
//! reach it already hashed; it never sees a plain token, code or password.
//! Consuming a code and rotating a refresh token each run in one write
//! transaction with a conditional update, so that of two racing requests
//! exactly one wins.
//!
//! Every public operation is `async` and runs its queries on tokio's blocking
//! pool, so a slow disk never stalls the HTTP workers.

mod audit;
mod directory;
mod grants;
mod keys;
mod rows;
mod schema;
mod school_apps;

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use thiserror::Error;

pub use audit::{AuditMeta, StoredAuditEvent};
pub use directory::{
    NewApplication, NewSchool, NewUser, School, SchoolListing, Session, StoredApplication, User,
};
pub use grants::{Grant, GrantSummary, IssuedTokens, NewCode, NewToken, Redemption, StoredCode};
pub use keys::{ActiveSigningKey, PublishedKey};
pub use school_apps::ApplicationSettings;

/// The embedded SQLite migrations, applied by `migrate` and at start.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// The connection type every query runs on.
pub(crate) type Conn = SqliteConnection;

/// What went wrong in storage. Details are for logs; callers answer with a
/// generic server error.
#[derive(Debug, Error)]
pub enum StorageError {
    /// No connection could be had from the pool.
    #[error("database connection unavailable: {0}")]
    Pool(String),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// An insert collided with an existing unique value.
    #[error("a record with the same {0} already exists")]
    Conflict(&'static str),
    /// A stored value could not be read back into its type.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// Migrations could not be applied.
    #[error("migrations failed: {0}")]
    Migration(String),
    /// The blocking task was cancelled or panicked.
    #[error("storage task failed: {0}")]
    Task(String),
    /// The database URL names a backend this build does not support.
    #[error("unsupported database URL; expected sqlite://PATH or a file path")]
    UnsupportedUrl,
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections kept open at most.
    pub max_connections: u32,
    /// How long a writer waits for SQLite's lock before failing.
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            busy_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug)]
struct SqlitePragmas {
    busy_timeout_ms: u128,
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        // WAL lets readers proceed while one writer commits; the busy timeout
        // makes concurrent writers queue instead of failing at once.
        // WAL is a property of the database file, set once when the store
        // opens; setting it on every new connection would race for the lock.
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            self.busy_timeout_ms
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// The database: a pool of connections and the operations over it.
#[derive(Clone)]
pub struct Store {
    pool: Pool<ConnectionManager<Conn>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("connections", &self.pool.state().connections)
            .finish()
    }
}

impl Store {
    /// Opens the database named by `url` (`sqlite://PATH`, `sqlite:PATH` or a
    /// plain path) and applies pending migrations.
    pub fn open(url: &str, options: &StoreOptions) -> Result<Self, StorageError> {
        let path = sqlite_path(url)?;
        {
            use diesel::Connection as _;
            let mut first =
                Conn::establish(&path).map_err(|e| StorageError::Pool(e.to_string()))?;
            first
                .batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL;",
                    options.busy_timeout.as_millis()
                ))
                .map_err(StorageError::Query)?;
        }
        let manager = ConnectionManager::<Conn>::new(path);
        let pool = Pool::builder()
            .max_size(options.max_connections)
            .connection_customizer(Box::new(SqlitePragmas {
                busy_timeout_ms: options.busy_timeout.as_millis(),
            }))
            .build(manager)
            .map_err(|e| StorageError::Pool(e.to_string()))?;
        let store = Self { pool };
        store.migrate()?;
        Ok(store)
    }

    /// Applies pending migrations; returns how many ran.
    pub fn migrate(&self) -> Result<usize, StorageError> {
        let mut conn = self.connection()?;
        let applied = conn
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map_err(|e| StorageError::Migration(e.to_string()))?;
        Ok(applied.len())
    }

    fn connection(&self) -> Result<PooledConnection<ConnectionManager<Conn>>, StorageError> {
        self.pool
            .get()
            .map_err(|e| StorageError::Pool(e.to_string()))
    }

    /// Runs `work` with a connection on the blocking pool.
    async fn run<T, F>(&self, work: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, StorageError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| StorageError::Pool(e.to_string()))?;
            work(&mut conn)
        })
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?
    }
}

fn sqlite_path(url: &str) -> Result<String, StorageError> {
    if url.starts_with("postgres://")
        || url.starts_with("postgresql://")
        || url.starts_with("mysql://")
    {
        return Err(StorageError::UnsupportedUrl);
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if path.is_empty() {
        return Err(StorageError::UnsupportedUrl);
    }
    Ok(path.to_owned())
}

pub(crate) fn to_secs(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

pub(crate) fn from_secs(secs: i64) -> Result<DateTime<Utc>, StorageError> {
    DateTime::from_timestamp(secs, 0)
        .ok_or_else(|| StorageError::Corrupt(format!("timestamp {secs}")))
}

pub(crate) fn unique_violation(e: diesel::result::Error, what: &'static str) -> StorageError {
    match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => StorageError::Conflict(what),
        other => StorageError::Query(other),
    }
}
