//! [`PostgresStoreOptions`]: pool size, timeouts, migrations and schema, as plain data that
//! [`PostgresStore::connect_with`](crate::PostgresStore::connect_with) reads.

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;

use crate::error::Error;

/// How a [`PostgresStore`](crate::PostgresStore) connects. Every default is bounded, so that
/// no request hangs when the server is gone: it fails with
/// [`StoreError::Unavailable`](auth_core::StoreError), which the service answers with 503.
///
/// ```no_run
/// # async fn demo() -> Result<(), auth_postgres::Error> {
/// use std::time::Duration;
///
/// use auth_postgres::{PostgresStore, PostgresStoreOptions};
///
/// let options = PostgresStoreOptions::new()
///     .with_max_connections(20)
///     .with_acquire_timeout(Duration::from_secs(2))
///     .with_schema("myauth");
/// let store = PostgresStore::connect_with(
///     "postgres://myauth:secret@db.internal:5432/app?sslmode=require",
///     options,
/// )
/// .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresStoreOptions {
    max_connections: u32,
    min_connections: u32,
    acquire_timeout: Duration,
    connect_timeout: Duration,
    operation_timeout: Duration,
    migrations: bool,
    schema: Option<String>,
}

/// The name these options had before every store crate used `<Backend>StoreOptions`.
#[deprecated(note = "renamed to `PostgresStoreOptions`")]
pub type PostgresOptions = PostgresStoreOptions;

impl Default for PostgresStoreOptions {
    fn default() -> Self {
        Self {
            max_connections: Self::default_max_connections(),
            min_connections: 0,
            acquire_timeout: Self::DEFAULT_ACQUIRE_TIMEOUT,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            operation_timeout: Self::DEFAULT_OPERATION_TIMEOUT,
            migrations: true,
            schema: None,
        }
    }
}

impl PostgresStoreOptions {
    /// Default pool size: 4 per core of this machine, between 4 and 64 (8 on two cores).
    /// More connections than the database has cores to serve them only queue inside the
    /// server (measured in benches/README.md: 1, 2, 4, 8 and 16 on two cores); size the
    /// pool for the database server with [`with_max_connections`](Self::with_max_connections),
    /// and keep the sum over all instances under its `max_connections`.
    pub fn default_max_connections() -> u32 {
        auth_core::default_pool_size()
    }
    /// Default wait for a pooled connection, including opening a new one: 5 s.
    pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default wait for the first connection made by
    /// [`PostgresStore::connect_with`](crate::PostgresStore::connect_with): 5 s.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default bound on one store operation, from acquiring a connection to the last row:
    /// 10 s. It covers a server that stops answering on an open connection, which no
    /// connection timeout sees.
    pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
    /// A pooled connection idle for at least this long is pinged before it is handed out,
    /// and replaced if the ping fails: 500 ms. One used more recently is handed out at once,
    /// since it just worked — pinging every time (sqlx's default) costs a round trip per
    /// query, a third of a one-row read (benches/README.md). The window is HikariCP's.
    pub const VALIDATE_AFTER_IDLE: Duration = Duration::from_millis(500);

    /// The defaults: 4 connections per core (4 to 64), 5 s acquire and connect timeouts,
    /// 10 s operation timeout, migrations on, tables in the connection's default schema.
    pub fn new() -> Self {
        Self::default()
    }

    /// Most connections the pool opens; at least 1. Default
    /// [`default_max_connections`](Self::default_max_connections).
    #[must_use]
    pub fn with_max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self.min_connections = self.min_connections.min(self.max_connections);
        self
    }

    /// Connections the pool keeps open even when idle. Default 0; at most the maximum.
    #[must_use]
    pub fn with_min_connections(mut self, min: u32) -> Self {
        self.min_connections = min.min(self.max_connections);
        self
    }

    /// How long an operation waits for a pooled connection (opening one included) before
    /// failing as unavailable. Default [`DEFAULT_ACQUIRE_TIMEOUT`](Self::DEFAULT_ACQUIRE_TIMEOUT).
    #[must_use]
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// How long connecting waits for the server's first answer. Default
    /// [`DEFAULT_CONNECT_TIMEOUT`](Self::DEFAULT_CONNECT_TIMEOUT). (Connections the pool
    /// opens later are bounded by the acquire timeout.)
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Longest time one store operation may take before it fails as unavailable.
    /// Default [`DEFAULT_OPERATION_TIMEOUT`](Self::DEFAULT_OPERATION_TIMEOUT). As with any
    /// lost answer, an operation cut off may still complete on the server (a consumed token
    /// then stays consumed).
    #[must_use]
    pub fn with_operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// Whether connecting runs the embedded migrations. Default `true`. Several processes
    /// may start at once: sqlx serialises migrations with a PostgreSQL advisory lock.
    /// Turn it off when migrations are a deployment step
    /// ([`PostgresStore::migrate`](crate::PostgresStore::migrate), or the files in this
    /// crate's `migrations/`).
    #[must_use]
    pub fn with_migrations(mut self, run: bool) -> Self {
        self.migrations = run;
        self
    }

    /// Keeps the tables in this schema instead of the connection's default (`public`).
    /// Connecting creates it when missing, and every pooled connection gets it as its
    /// `search_path`, so migrations and queries land there. A plain lower-case identifier:
    /// 1 to 63 ASCII letters, digits and underscores, not starting with a digit or `pg_`.
    ///
    /// A dedicated schema also keeps MyAuth's `_sqlx_migrations` history apart from the
    /// application's own sqlx migrations.
    #[must_use]
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// The most connections the pool opens.
    pub fn max_connections(&self) -> u32 {
        self.max_connections
    }

    /// The connections the pool keeps open when idle.
    pub fn min_connections(&self) -> u32 {
        self.min_connections
    }

    /// The wait for a pooled connection.
    pub fn acquire_timeout(&self) -> Duration {
        self.acquire_timeout
    }

    /// The wait for the first connection.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The bound on one store operation.
    pub fn operation_timeout(&self) -> Duration {
        self.operation_timeout
    }

    /// Whether connecting runs the migrations.
    pub fn migrations(&self) -> bool {
        self.migrations
    }

    /// The schema set with [`with_schema`](Self::with_schema), if any.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// Adds the schema's `search_path` to connect options, for building a pool yourself and
    /// handing it to [`PostgresStore::from_pool`](crate::PostgresStore::from_pool). Without a
    /// schema, returns them as they are.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSchema`] when the schema name is not a plain identifier.
    pub fn apply_to(&self, options: PgConnectOptions) -> Result<PgConnectOptions, Error> {
        Ok(match self.valid_schema()? {
            // Sent as a startup parameter (`options=-c search_path=…`), so the connection
            // never runs a statement without it. Validation keeps the value free of spaces
            // and quotes.
            Some(schema) => options.options([("search_path", schema)]),
            None => options,
        })
    }

    /// The schema, if one is set, once it is known to be a plain identifier (so that
    /// quoting it is enough to use it in SQL).
    pub(crate) fn valid_schema(&self) -> Result<Option<&str>, Error> {
        match self.schema.as_deref() {
            Some(schema) if is_plain_identifier(schema) => Ok(Some(schema)),
            Some(schema) => Err(Error::InvalidSchema(schema.to_owned())),
            None => Ok(None),
        }
    }
}

fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    first_ok
        && name.len() <= 63
        && !name.starts_with("pg_")
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_lower_case_identifiers() {
        for good in ["myauth", "_auth", "auth_2", &"a".repeat(63)] {
            assert!(is_plain_identifier(good), "{good:?} refused");
        }
        for bad in [
            "",
            "2auth",
            "MyAuth",
            "my-auth",
            "my auth",
            "auth\"; DROP TABLE users; --",
            "pg_auth",
            "é",
            &"a".repeat(64),
        ] {
            assert!(!is_plain_identifier(bad), "{bad:?} accepted");
        }
    }

    #[test]
    fn an_invalid_schema_is_refused_before_connecting() {
        let options = PostgresStoreOptions::new().with_schema("Bad Name");
        assert!(matches!(
            options.apply_to(PgConnectOptions::new_without_pgpass()),
            Err(Error::InvalidSchema(name)) if name == "Bad Name"
        ));
    }

    #[test]
    fn the_schema_becomes_the_search_path_startup_option() {
        let options = PostgresStoreOptions::new()
            .with_schema("myauth")
            .apply_to(PgConnectOptions::new_without_pgpass())
            .unwrap();
        assert_eq!(options.get_options(), Some("-c search_path=myauth"));
    }

    #[test]
    fn pool_bounds_stay_consistent() {
        let options = PostgresStoreOptions::new()
            .with_max_connections(0)
            .with_min_connections(5);
        assert_eq!(options.max_connections(), 1);
        assert_eq!(options.min_connections(), 1);
    }
}
