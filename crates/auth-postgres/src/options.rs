//! [`PostgresOptions`]: pool size, timeouts, migrations and schema, and connecting with them.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use crate::error::Error;
use crate::store::PostgresStore;

/// How a [`PostgresStore`] connects. Every default is bounded, so that no request hangs when
/// the server is gone: it fails with [`StoreError::Unavailable`](auth_core::StoreError), which
/// the service answers with 503.
///
/// ```no_run
/// # async fn demo() -> Result<(), auth_postgres::Error> {
/// use std::time::Duration;
///
/// use auth_postgres::PostgresOptions;
///
/// let store = PostgresOptions::new()
///     .with_max_connections(20)
///     .with_acquire_timeout(Duration::from_secs(2))
///     .with_schema("myauth")
///     .connect("postgres://myauth:secret@db.internal:5432/app?sslmode=require")
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    max_connections: u32,
    min_connections: u32,
    acquire_timeout: Duration,
    connect_timeout: Duration,
    operation_timeout: Duration,
    migrate: bool,
    schema: Option<String>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: Self::default_max_connections(),
            min_connections: 0,
            acquire_timeout: Self::DEFAULT_ACQUIRE_TIMEOUT,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            operation_timeout: Self::DEFAULT_OPERATION_TIMEOUT,
            migrate: true,
            schema: None,
        }
    }
}

impl PostgresOptions {
    /// Default pool size: 4 per core of this machine, between 4 and 64 (8 on two cores).
    /// More connections than the database has cores to serve them only queue inside the
    /// server (measured in benches/README.md: 1, 2, 4, 8 and 16 on two cores); size the
    /// pool for the database server with [`with_max_connections`](Self::with_max_connections),
    /// and keep the sum over all instances under its `max_connections`.
    pub fn default_max_connections() -> u32 {
        auth_core::store::default_pool_size()
    }
    /// Default wait for a pooled connection, including opening a new one: 5 s.
    pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default wait for the first connection made by [`connect`](Self::connect): 5 s.
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
    /// failing as unavailable. Default 5 s.
    #[must_use]
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// How long [`connect`](Self::connect) waits for the server's first answer. Default 5 s.
    /// (Connections the pool opens later are bounded by the acquire timeout.)
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Longest time one store operation may take before it fails as unavailable.
    /// Default 10 s. As with any lost answer, an operation cut off may still complete on
    /// the server (a consumed token then stays consumed).
    #[must_use]
    pub fn with_operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// Whether connecting runs the embedded migrations. Default `true`. Several processes
    /// may start at once: sqlx serialises migrations with a PostgreSQL advisory lock.
    /// Turn it off when migrations are a deployment step
    /// ([`PostgresStore::migrate`], or the files in this crate's `migrations/`).
    #[must_use]
    pub fn with_migrations(mut self, run: bool) -> Self {
        self.migrate = run;
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

    /// The schema set with [`with_schema`](Self::with_schema), if any.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// Adds the schema's `search_path` to connect options, for building a pool yourself and
    /// handing it to [`from_pool`](Self::from_pool). Without a schema, returns them as they
    /// are.
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

    /// Connects to the server at `url` (`postgres://user:password@host:5432/database`,
    /// with `?sslmode=require` or `verify-full` for TLS), prepares the schema, runs the
    /// migrations unless turned off, and returns the store.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`], [`Error::InvalidSchema`], [`Error::Connect`] (refused,
    /// authentication failed, TLS failed…), [`Error::ConnectTimeout`], [`Error::Schema`],
    /// [`Error::Migrate`]. None of them contains the password.
    pub async fn connect(self, url: &str) -> Result<PostgresStore, Error> {
        let options = url.parse::<PgConnectOptions>().map_err(Error::InvalidUrl)?;
        self.connect_with(options).await
    }

    /// As [`connect`](Self::connect), from connect options built in code.
    ///
    /// The first connection is made directly, not through the pool, so that a server that
    /// is down or refuses us fails here at once with its own reason (the pool would retry
    /// until its timeout and report only that).
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect), except [`Error::InvalidUrl`].
    pub async fn connect_with(self, options: PgConnectOptions) -> Result<PostgresStore, Error> {
        let options = self.apply_to(options)?;
        let target = describe(&options);
        let mut conn =
            match tokio::time::timeout(self.connect_timeout, PgConnection::connect_with(&options))
                .await
            {
                Ok(Ok(conn)) => conn,
                Ok(Err(source)) => return Err(Error::Connect { target, source }),
                Err(_) => {
                    return Err(Error::ConnectTimeout {
                        target,
                        timeout: self.connect_timeout,
                    });
                }
            };
        self.prepare_schema(&mut conn).await?;
        if let Err(error) = conn.close().await {
            tracing::debug!(
                error = &error as &dyn std::error::Error,
                "closing the set-up connection failed"
            );
        }
        let pool = PgPoolOptions::new()
            .max_connections(self.max_connections)
            .min_connections(self.min_connections)
            .acquire_timeout(self.acquire_timeout)
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= Self::VALIDATE_AFTER_IDLE {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_lazy_with(options);
        self.finish(pool).await
    }

    /// Wraps a pool you built yourself: prepares the schema and runs the migrations as
    /// configured. Pool size and timeouts are the pool's own; the operation timeout applies.
    /// With a schema, the pool's connect options must carry its `search_path` (build them
    /// with [`apply_to`](Self::apply_to)); this is checked.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSchema`], [`Error::Connect`] when no connection can be had,
    /// [`Error::Schema`], [`Error::SearchPath`], [`Error::Migrate`].
    pub async fn from_pool(self, pool: PgPool) -> Result<PostgresStore, Error> {
        let mut conn = pool.acquire().await.map_err(|source| Error::Connect {
            target: describe(&pool.connect_options()),
            source,
        })?;
        self.prepare_schema(&mut conn).await?;
        drop(conn);
        self.finish(pool).await
    }

    /// Creates the schema, if one is configured, and checks that the connection uses it.
    async fn prepare_schema(&self, conn: &mut PgConnection) -> Result<(), Error> {
        match self.valid_schema()? {
            Some(schema) => create_schema(conn, schema).await,
            None => Ok(()),
        }
    }

    /// Migrates, as configured, and wraps the pool. Migrations run through the pool: sqlx's
    /// `Acquire` for `&mut PgConnection` would make this future unusable with
    /// `tokio::spawn`.
    async fn finish(&self, pool: PgPool) -> Result<PostgresStore, Error> {
        let store = PostgresStore::new(pool).with_operation_timeout(self.operation_timeout);
        if self.migrate {
            store.migrate().await?;
            tracing::debug!(
                schema = self.schema.as_deref(),
                "auth-postgres migrations are up to date"
            );
        }
        Ok(store)
    }

    fn valid_schema(&self) -> Result<Option<&str>, Error> {
        match self.schema.as_deref() {
            Some(schema) if is_plain_identifier(schema) => Ok(Some(schema)),
            Some(schema) => Err(Error::InvalidSchema(schema.to_owned())),
            None => Ok(None),
        }
    }
}

/// The embedded migrations (this crate's `migrations/` directory).
///
/// Versions are timestamps, and migrations applied by something else in the same schema are
/// tolerated, so sharing `_sqlx_migrations` with an application's own history does not
/// break either; a dedicated schema is still the tidier choice.
pub fn migrator() -> Migrator {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator
}

async fn create_schema(conn: &mut PgConnection, schema: &str) -> Result<(), Error> {
    let schema_error = |source| Error::Schema {
        schema: schema.to_owned(),
        source,
    };
    // Look first: PostgreSQL checks the CREATE privilege on the database before `IF NOT
    // EXISTS`, and an application role often lacks it while an administrator has made the
    // schema for it.
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
            .bind(schema)
            .fetch_one(&mut *conn)
            .await
            .map_err(schema_error)?;
    if !exists {
        // The name is a validated plain identifier, so quoting it is enough.
        let created = sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
            .execute(&mut *conn)
            .await;
        match created {
            Ok(_) => {}
            // Two processes creating the schema at the same moment: `IF NOT EXISTS` does
            // not cover that race, and the loser gets a unique violation on pg_namespace
            // (or duplicate_schema). The schema exists either way.
            Err(sqlx::Error::Database(db))
                if db.is_unique_violation() || db.code().as_deref() == Some("42P06") => {}
            Err(source) => return Err(schema_error(source)),
        }
    }
    let current: Option<String> = sqlx::query_scalar("SELECT current_schema()::text")
        .fetch_one(&mut *conn)
        .await
        .map_err(schema_error)?;
    if current.as_deref() == Some(schema) {
        Ok(())
    } else {
        Err(Error::SearchPath {
            schema: schema.to_owned(),
            actual: current,
        })
    }
}

/// `host:port/database` (or `socket/database`): enough to tell which server failed, and
/// never the user's password.
fn describe(options: &PgConnectOptions) -> String {
    let database = options
        .get_database()
        .unwrap_or_else(|| options.get_username());
    match options.get_socket() {
        Some(socket) => format!("{}/{database}", socket.display()),
        None => format!("{}:{}/{database}", options.get_host(), options.get_port()),
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
        let options = PostgresOptions::new().with_schema("Bad Name");
        assert!(matches!(
            options.apply_to(PgConnectOptions::new_without_pgpass()),
            Err(Error::InvalidSchema(name)) if name == "Bad Name"
        ));
    }

    #[test]
    fn the_schema_becomes_the_search_path_startup_option() {
        let options = PostgresOptions::new()
            .with_schema("myauth")
            .apply_to(PgConnectOptions::new_without_pgpass())
            .unwrap();
        assert_eq!(options.get_options(), Some("-c search_path=myauth"));
    }

    #[test]
    fn targets_never_show_the_password() {
        let options: PgConnectOptions = "postgres://alice:hunter2@db.example.com:6543/app"
            .parse()
            .unwrap();
        let target = describe(&options);
        assert_eq!(target, "db.example.com:6543/app");
    }

    #[test]
    fn pool_bounds_stay_consistent() {
        let options = PostgresOptions::new()
            .with_max_connections(0)
            .with_min_connections(5);
        assert_eq!(options.max_connections, 1);
        assert_eq!(options.min_connections, 1);
    }

    #[test]
    fn embedded_migrations_are_found() {
        assert!(migrator().iter().count() >= 1);
    }
}
