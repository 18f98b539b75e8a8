//! Throwaway databases for tests, on the backend the environment asks for.
//!
//! With `LOOPWISE_TEST_POSTGRES_URL` set to a PostgreSQL server URL whose user
//! may create databases (for example
//! `postgres://postgres@127.0.0.1:5433/postgres`), every [`ScratchDatabase`]
//! is a fresh database with a random name on that server, dropped again when
//! the value is dropped. Without it, each is a SQLite file in a fresh
//! temporary folder. The same test bodies thereby run against either backend.
//!
//! Nothing in the server uses this module; it is public so that the tests of
//! every crate create their databases the same way.

use std::path::PathBuf;

use diesel::pg::PgConnection;
use diesel::{Connection as _, RunQueryDsl as _};
use uuid::Uuid;

use crate::{Backend, StorageError};

/// The environment variable that moves tests onto PostgreSQL. It is not
/// named `CONNECT_…` because the server reads every such variable as a setting
/// and refuses unknown ones, and test servers inherit the test's environment.
pub const POSTGRES_URL_ENV: &str = "LOOPWISE_TEST_POSTGRES_URL";

/// The table in the server's maintenance database (the one the URL names)
/// where each throwaway database is recorded, when that table exists.
/// `scripts/with-postgres.sh` creates it and counts its rows afterwards, so a
/// run that was meant to exercise PostgreSQL but did not fails loudly.
pub const LOG_TABLE: &str = "connect_scratch_databases";

/// The PostgreSQL server URL tests should use, if one is configured.
pub fn postgres_url_from_env() -> Option<String> {
    std::env::var(POSTGRES_URL_ENV)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// A database that exists for as long as this value.
#[derive(Debug)]
pub struct ScratchDatabase {
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(PathBuf),
    Postgres { server_url: String, name: String },
}

impl ScratchDatabase {
    /// A new, empty database on the backend the environment names.
    pub fn new() -> Result<Self, StorageError> {
        match postgres_url_from_env() {
            Some(server_url) => Self::postgres(&server_url),
            None => Self::sqlite(),
        }
    }

    /// A new SQLite file in a fresh temporary folder.
    pub fn sqlite() -> Result<Self, StorageError> {
        let dir = std::env::temp_dir().join(format!("connect-test-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).map_err(|e| StorageError::Pool(e.to_string()))?;
        Ok(Self {
            url: format!("sqlite://{}", dir.join("connect.db").display()),
            cleanup: Cleanup::Sqlite(dir),
        })
    }

    /// A new database on the PostgreSQL server at `server_url`.
    pub fn postgres(server_url: &str) -> Result<Self, StorageError> {
        let name = format!("connect_test_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(server_url).map_err(|e| {
            StorageError::Pool(format!(
                "{POSTGRES_URL_ENV} is set but its server is unreachable: {e}"
            ))
        })?;
        // The name is generated above from hex digits only, so it needs no
        // quoting beyond what it has.
        diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut admin)?;
        // Counting is best effort: a developer's own server has no such table.
        let _ = diesel::sql_query(format!("INSERT INTO {LOG_TABLE} (name) VALUES ('{name}')"))
            .execute(&mut admin);
        Ok(Self {
            url: with_database(server_url, &name),
            cleanup: Cleanup::Postgres {
                server_url: server_url.to_owned(),
                name,
            },
        })
    }

    /// The URL to open it with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its backend.
    pub fn backend(&self) -> Backend {
        match self.cleanup {
            Cleanup::Sqlite(_) => Backend::Sqlite,
            Cleanup::Postgres { .. } => Backend::Postgres,
        }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { server_url, name } => {
                // `WITH (FORCE)` ends the connections a pool or a server
                // process may still hold. A database left behind by a failed
                // drop goes with the throwaway server.
                if let Ok(mut admin) = PgConnection::establish(server_url) {
                    let _ = diesel::sql_query(format!(
                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                    ))
                    .execute(&mut admin);
                }
            }
        }
    }
}

/// `server_url` with its database name replaced by `name`, keeping any query
/// string.
fn with_database(server_url: &str, name: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server_url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut url = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_replaced_or_added() {
        for (server, expected) in [
            ("postgres://u@h:1/postgres", "postgres://u@h:1/x"),
            ("postgres://u@h:1", "postgres://u@h:1/x"),
            (
                "postgresql://u:p@h/db?sslmode=disable",
                "postgresql://u:p@h/x?sslmode=disable",
            ),
        ] {
            assert_eq!(with_database(server, "x"), expected, "{server}");
        }
    }
}
