//! What setting up a store can fail with ([`Error`]), and how driver errors become
//! [`StoreError`]s.

use std::fmt;
use std::time::Duration;

use auth_core::StoreError;
use sqlx::migrate::MigrateError;

/// Why a [`PostgresStore`](crate::PostgresStore) could not be set up.
///
/// No variant carries the connection URL or its password: connection targets are shown as
/// `host:port/database` only.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection URL could not be parsed.
    #[error("invalid PostgreSQL connection URL")]
    InvalidUrl(#[source] sqlx::Error),
    /// The schema name is not a plain lower-case identifier.
    #[error(
        "invalid schema name {0:?}: use 1 to 63 lower-case ASCII letters, digits and \
         underscores, starting with a letter or underscore and not with `pg_`"
    )]
    InvalidSchema(String),
    /// The server refused or failed the first connection.
    #[error("could not connect to PostgreSQL at {target}")]
    Connect {
        /// `host:port/database` (never the password).
        target: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The first connection did not complete within the connect timeout.
    #[error("connecting to PostgreSQL at {target} timed out after {timeout:?}")]
    ConnectTimeout {
        /// `host:port/database` (never the password).
        target: String,
        /// The timeout that ran out.
        timeout: Duration,
    },
    /// Creating the schema, or checking that connections use it, failed.
    #[error("could not prepare schema {schema:?}")]
    Schema {
        /// The schema name.
        schema: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// Connections do not resolve names in the requested schema: the role lacks `USAGE` on
    /// it, or a pool passed in was built without its `search_path`.
    #[error(
        "connections do not use schema {schema:?} (current_schema() is {actual:?}): the role \
         needs USAGE and CREATE on it, and a pool of your own needs its search_path \
         (PostgresStoreOptions::apply_to)"
    )]
    SearchPath {
        /// The schema asked for.
        schema: String,
        /// What `current_schema()` said on a connection.
        actual: Option<String>,
    },
    /// Running the embedded migrations failed.
    #[error("running the auth-postgres migrations failed")]
    Migrate(#[source] MigrateError),
}

/// Maps a driver error to the store contract: unique violations are [`StoreError::Conflict`],
/// decoding failures [`StoreError::Corrupt`], everything else (connection failures, timeouts,
/// a closed pool, other server errors) [`StoreError::Unavailable`].
pub(crate) fn store_error(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        // A server error's `detail` can quote the failing row (password hashes, token
        // hashes), so only its code, message and constraint travel on, towards the logs.
        sqlx::Error::Database(db) => StoreError::unavailable(ServerError {
            code: db.code().map(|c| c.into_owned()),
            message: db.message().to_owned(),
            constraint: db.constraint().map(str::to_owned),
        }),
        error @ (sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. }) => StoreError::corrupt(error),
        error => StoreError::unavailable(error),
    }
}

/// A server-side error without the parts that may quote stored data.
#[derive(Debug)]
pub(crate) struct ServerError {
    code: Option<String>,
    message: String,
    constraint: Option<String>,
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "postgres error: {}", self.message)?;
        if let Some(code) = &self.code {
            write!(f, " (SQLSTATE {code})")?;
        }
        if let Some(constraint) = &self.constraint {
            write!(f, " on constraint {constraint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ServerError {}

/// A store operation that did not finish within the operation timeout.
#[derive(Debug, thiserror::Error)]
#[error("PostgreSQL did not answer within {0:?}")]
pub(crate) struct OperationTimedOut(pub(crate) Duration);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_pool_and_timeouts_are_unavailable() {
        assert!(matches!(
            store_error(sqlx::Error::PoolClosed),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            store_error(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(matches!(
            store_error(sqlx::Error::Io(io)),
            StoreError::Unavailable(_)
        ));
    }

    #[test]
    fn decoding_failures_are_corrupt() {
        assert!(matches!(
            store_error(sqlx::Error::ColumnNotFound("roles".into())),
            StoreError::Corrupt(_)
        ));
        assert!(matches!(
            store_error(sqlx::Error::Decode("bad".into())),
            StoreError::Corrupt(_)
        ));
    }

    #[test]
    fn server_errors_show_code_message_and_constraint_only() {
        let error = ServerError {
            code: Some("23514".into()),
            message: "new row violates check constraint".into(),
            constraint: Some("tokens_kind_check".into()),
        };
        assert_eq!(
            error.to_string(),
            "postgres error: new row violates check constraint (SQLSTATE 23514) on constraint \
             tokens_kind_check"
        );
    }
}
