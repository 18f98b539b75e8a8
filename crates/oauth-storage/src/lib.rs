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
//! The same queries serve SQLite (the embedded default) and PostgreSQL (for
//! production and for several server processes); `connection.rs` holds the
//! little that differs between them.
//!
//! Every public operation is `async` and runs its queries on tokio's blocking
//! pool, so a slow disk never stalls the HTTP workers.

mod audit;
mod connection;
mod directory;
mod grants;
mod keys;
mod rows;
mod schema;
mod school_apps;
pub mod scratch;

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection as _;
use diesel::RunQueryDsl as _;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use thiserror::Error;

pub use audit::{AuditMeta, StoredAuditEvent};
pub use directory::{
    NewApplication, NewSchool, NewUser, School, SchoolListing, Session, StoredApplication, User,
};
pub use grants::{
    Grant, GrantCursor, GrantSummary, InvalidCursor, IssuedTokens, NewCode, NewToken, Redemption,
    StoredCode,
};
pub use keys::{ActiveSigningKey, PublishedKey};
pub use school_apps::ApplicationSettings;

pub(crate) use connection::{lock_rows, write_transaction, Conn, Lockable};

/// The embedded SQLite migrations, applied by `migrate` and at start.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// The embedded PostgreSQL migrations: the same tables under the same names as
/// [`SQLITE_MIGRATIONS`], in PostgreSQL's dialect.
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

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
    #[error(
        "unsupported database URL; expected sqlite://PATH, a file path, or postgres://USER@HOST/DB"
    )]
    UnsupportedUrl,
}

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file: the default, for one process.
    Sqlite,
    /// A PostgreSQL server: for production and for several processes.
    Postgres,
}

impl Backend {
    /// The backend a database URL names: PostgreSQL for `postgres://` and
    /// `postgresql://`, SQLite for `sqlite:` URLs and plain paths.
    pub fn of_url(url: &str) -> Result<Self, StorageError> {
        Ok(match Target::parse(url)? {
            Target::Sqlite(_) => Backend::Sqlite,
            Target::Postgres(_) => Backend::Postgres,
        })
    }
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections kept open at most.
    pub max_connections: u32,
    /// Connections kept open while idle. With several server processes on one
    /// PostgreSQL, this is what each process holds at rest.
    pub min_connections: u32,
    /// How long a request waits for a free connection before failing.
    pub acquire_timeout: Duration,
    /// How long a writer waits for SQLite's lock before failing.
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            min_connections: 1,
            acquire_timeout: Duration::from_secs(30),
            busy_timeout: Duration::from_secs(10),
        }
    }
}

/// Where a database URL points.
#[derive(Debug, Clone)]
enum Target {
    Sqlite(String),
    Postgres(String),
}

impl Target {
    fn parse(url: &str) -> Result<Self, StorageError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgres(url.to_owned()));
        }
        if url.starts_with("mysql://") {
            return Err(StorageError::UnsupportedUrl);
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err(StorageError::UnsupportedUrl);
        }
        Ok(Target::Sqlite(path.to_owned()))
    }
}

/// Opens connections of the URL's backend. Opening the backend by name, rather
/// than letting the multi-backend connection try each in turn, keeps the real
/// error (a refused connection, a bad password) for the operator.
#[derive(Debug)]
struct Manager {
    target: Target,
    busy_timeout_ms: u128,
}

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Conn, Self::Error> {
        match &self.target {
            Target::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // The busy timeout makes concurrent writers queue instead of
                // failing at once. WAL is a property of the database file, set
                // once when the store opens; setting it on every new
                // connection would race for the lock.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON;",
                    self.busy_timeout_ms
                ))
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(Conn::Sqlite(conn))
            }
            Target::Postgres(url) => PgConnection::establish(url)
                .map(Conn::Pg)
                .map_err(diesel::r2d2::Error::ConnectionError),
        }
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.is_broken()
    }
}

/// The database: a pool of connections and the operations over it.
#[derive(Clone)]
pub struct Store {
    pool: Pool<Manager>,
    backend: Backend,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("connections", &self.pool.state().connections)
            .finish()
    }
}

/// Any number of processes may start at once on one PostgreSQL database; this
/// session lock (an arbitrary constant every Loopwise Connect process uses)
/// lets one of them migrate while the others wait.
const MIGRATION_LOCK: i64 = 0x4c57_436f_6e6e;

impl Store {
    /// Opens the database named by `url` (`postgres://…` or `postgresql://…`
    /// for PostgreSQL; `sqlite://PATH`, `sqlite:PATH` or a plain path for
    /// SQLite) and applies pending migrations.
    pub fn open(url: &str, options: &StoreOptions) -> Result<Self, StorageError> {
        let target = Target::parse(url)?;
        let backend = match &target {
            Target::Sqlite(path) => {
                let mut first = SqliteConnection::establish(path)
                    .map_err(|e| StorageError::Pool(e.to_string()))?;
                first
                    .batch_execute(&format!(
                        "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL;",
                        options.busy_timeout.as_millis()
                    ))
                    .map_err(StorageError::Query)?;
                Backend::Sqlite
            }
            Target::Postgres(_) => Backend::Postgres,
        };
        let manager = Manager {
            target,
            busy_timeout_ms: options.busy_timeout.as_millis(),
        };
        let pool = Pool::builder()
            .max_size(options.max_connections)
            .min_idle(Some(options.min_connections.min(options.max_connections)))
            .connection_timeout(options.acquire_timeout)
            .build(manager)
            .map_err(|e| StorageError::Pool(e.to_string()))?;
        let store = Self { pool, backend };
        store.migrate()?;
        Ok(store)
    }

    /// The engine this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies pending migrations; returns how many ran.
    pub fn migrate(&self) -> Result<usize, StorageError> {
        let mut conn = self.connection()?;
        let migration =
            |e: Box<dyn std::error::Error + Send + Sync>| StorageError::Migration(e.to_string());
        match &mut *conn {
            Conn::Sqlite(sqlite) => Ok(sqlite
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(migration)?
                .len()),
            Conn::Pg(pg) => {
                diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                    .execute(pg)?;
                let applied = pg
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|applied| applied.len())
                    .map_err(migration);
                diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                    .execute(pg)?;
                applied
            }
        }
    }

    fn connection(&self) -> Result<PooledConnection<Manager>, StorageError> {
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

/// Whether every backend can store and compare this text. PostgreSQL refuses
/// text with a NUL character (SQLite takes it); nothing this server stores
/// contains one, so a lookup by such a value can answer "not found" at once
/// instead of failing.
pub(crate) fn is_storable(text: &str) -> bool {
    !text.contains('\0')
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
