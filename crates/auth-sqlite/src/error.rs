//! Errors: [`Error`] for setting a store up, and the mapping of driver errors at run time
//! into [`StoreError`].

use std::path::{Path, PathBuf};

use auth_core::StoreError;
use sqlx::migrate::MigrateError;

/// Why a [`SqliteStore`](crate::SqliteStore) could not be set up.
///
/// The message says what to check; the driver's own error is kept as the
/// [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database URL could not be understood.
    #[error(
        "invalid SQLite database URL (expected sqlite://PATH, sqlite:PATH, a plain path or sqlite::memory:)"
    )]
    InvalidUrl(#[source] sqlx::Error),
    /// The database file could not be opened or created.
    #[error(
        "cannot open or create the SQLite database {path:?}: check that its directory exists and is writable"
    )]
    CannotOpen {
        /// The database file.
        path: PathBuf,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The file exists but is not a SQLite database, or is damaged.
    #[error("{path:?} is not a SQLite database or is corrupt")]
    NotADatabase {
        /// The database file.
        path: PathBuf,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The database was opened but the first connection failed otherwise (for example,
    /// another process held a lock for longer than the busy timeout).
    #[error("cannot connect to the SQLite database {path:?}")]
    Connect {
        /// The database file.
        path: PathBuf,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The embedded schema migrations could not be applied.
    #[error("cannot apply the auth-sqlite schema migrations")]
    Migrate(#[source] MigrateError),
}

/// SQLite's primary result codes we tell apart at connect time
/// (<https://www.sqlite.org/rescode.html>); extended codes carry them in the low byte.
const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;
const SQLITE_CORRUPT: i32 = 11;
const SQLITE_CANTOPEN: i32 = 14;
const SQLITE_NOTADB: i32 = 26;

impl Error {
    /// Classifies an error from opening the first connection to `path`.
    pub(crate) fn connect(path: &Path, source: sqlx::Error) -> Self {
        let path = path.to_path_buf();
        match primary_code(&source) {
            Some(SQLITE_CANTOPEN) => Self::CannotOpen { path, source },
            Some(SQLITE_NOTADB | SQLITE_CORRUPT) => Self::NotADatabase { path, source },
            _ => Self::Connect { path, source },
        }
    }
}

/// Whether another connection's lock made this fail at once, without the busy timeout
/// (switching a new file to WAL, or a transaction whose snapshot went stale): worth
/// another attempt.
pub(crate) fn is_locked(error: &sqlx::Error) -> bool {
    matches!(primary_code(error), Some(SQLITE_BUSY | SQLITE_LOCKED))
}

/// [`is_locked`] for a migration error.
pub(crate) fn is_migration_locked(error: &MigrateError) -> bool {
    match error {
        MigrateError::Execute(source) | MigrateError::ExecuteMigration(source, _) => {
            is_locked(source)
        }
        _ => false,
    }
}

/// The primary SQLite result code of a database error.
fn primary_code(error: &sqlx::Error) -> Option<i32> {
    let sqlx::Error::Database(db) = error else {
        return None;
    };
    db.code()?.parse::<i32>().ok().map(|code| code & 0xff)
}

/// Maps a driver error met while serving a request: unique violations are
/// [`StoreError::Conflict`], undecodable values [`StoreError::Corrupt`], everything else
/// [`StoreError::Unavailable`]. The driver error is kept as the source, for logs only.
pub(crate) fn store_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. } => StoreError::corrupt(error),
        _ => StoreError::unavailable(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_errors_are_unavailable_and_decode_errors_corrupt() {
        let unavailable = store_error(sqlx::Error::PoolTimedOut);
        assert!(matches!(unavailable, StoreError::Unavailable(_)));
        let corrupt = store_error(sqlx::Error::ColumnNotFound("roles".into()));
        assert!(matches!(corrupt, StoreError::Corrupt(_)));
        assert_eq!(corrupt.to_string(), "stored record is corrupt");
    }

    #[test]
    fn non_database_errors_have_no_primary_code() {
        assert_eq!(primary_code(&sqlx::Error::PoolTimedOut), None);
        assert!(matches!(
            Error::connect(Path::new("x.db"), sqlx::Error::PoolTimedOut),
            Error::Connect { .. }
        ));
    }
}
