//! One connection type over both backends, and the few places where they must
//! be told apart.
//!
//! Every query in this crate is written once against [`Conn`], a diesel
//! `MultiConnection` over SQLite and PostgreSQL. What the two engines do
//! differently is confined to this module: how a write transaction starts
//! (SQLite must take its write lock up front; PostgreSQL locks the rows a
//! single-use operation is about), and how a row is locked. Nothing here knows
//! about OAuth.

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;

use crate::StorageError;

/// A connection to either backend. Queries use it like any diesel
/// connection; [`write_transaction`] and [`lock_rows`] are the only code that
/// looks inside.
#[derive(diesel::MultiConnection)]
pub(crate) enum Conn {
    /// An embedded SQLite database file.
    Sqlite(SqliteConnection),
    /// A PostgreSQL server.
    Pg(PgConnection),
}

/// Runs `work` in a transaction meant to write, committing when it returns
/// `Ok` and rolling back otherwise.
///
/// On SQLite the transaction is `BEGIN IMMEDIATE`: it takes the database's
/// write lock before reading, so two racing writers queue (up to the busy
/// timeout) instead of both reading the same state and one failing at commit.
/// On PostgreSQL it is an ordinary READ COMMITTED transaction; single-use
/// operations lock the rows they decide on with [`lock_rows`] and change them
/// with conditional updates, so the second of two racing requests waits for
/// the first to commit and then sees what it did.
///
/// TODO: retry a transaction that PostgreSQL aborts as a deadlock victim.
/// Two reuse detections in different families of one grant revoke the same
/// rows in different orders and can deadlock; the survivor still revokes
/// everything, but the victim's client gets a temporary error instead of
/// `invalid_grant`. Retrying needs the callers' closures to be re-runnable.
pub(crate) fn write_transaction<T, F>(c: &mut Conn, work: F) -> Result<T, StorageError>
where
    F: FnOnce(&mut Conn) -> Result<T, StorageError>,
{
    match c {
        Conn::Sqlite(sqlite) => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
        }
        Conn::Pg(pg) => AnsiTransactionManager::begin_transaction(pg)?,
    }
    match work(c) {
        Ok(value) => {
            if let Err(commit) = <Conn as TransactionManager<Conn>>::commit_transaction(c) {
                // A failed commit leaves the transaction open on some
                // backends; end it so the pooled connection is clean.
                let _ = <Conn as TransactionManager<Conn>>::rollback_transaction(c);
                return Err(commit.into());
            }
            Ok(value)
        }
        Err(error) => match <Conn as TransactionManager<Conn>>::rollback_transaction(c) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback) => Err(rollback.into()),
        },
    }
}

/// The tables whose rows single-use operations lock.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lockable {
    /// `authorization_codes`, by `code_hash`.
    Code,
    /// `refresh_tokens`, by `token_hash`.
    RefreshToken,
    /// `applications`, by `id`, in share mode: consents to one application
    /// proceed side by side, while disabling, deleting or changing it waits
    /// for them (and then revokes what they granted).
    Application,
}

/// Locks the row with this digest (or id) until the transaction ends, so that a
/// racing transaction which wants the same row waits and then reads what this
/// one committed. Must run inside [`write_transaction`].
///
/// On SQLite this does nothing: the immediate transaction already holds the
/// whole database's write lock, which is a stronger guarantee.
pub(crate) fn lock_rows(c: &mut Conn, table: Lockable, digest: &str) -> Result<(), StorageError> {
    use crate::schema::{applications, authorization_codes, refresh_tokens};
    let Conn::Pg(pg) = c else {
        return Ok(());
    };
    // `SELECT … FOR UPDATE` exists only in PostgreSQL's dialect, so the query
    // is typed for the inner connection rather than for both backends.
    match table {
        Lockable::Code => {
            authorization_codes::table
                .filter(authorization_codes::code_hash.eq(digest))
                .select(authorization_codes::id)
                .for_update()
                .load::<String>(pg)?;
        }
        Lockable::Application => {
            applications::table
                .filter(applications::id.eq(digest))
                .select(applications::id)
                .for_share()
                .load::<String>(pg)?;
        }
        Lockable::RefreshToken => {
            refresh_tokens::table
                .filter(refresh_tokens::token_hash.eq(digest))
                .select(refresh_tokens::id)
                .for_update()
                .load::<String>(pg)?;
        }
    }
    Ok(())
}
