//! [`PostgresStore`]: the handle, how it connects (schema included), its operation timeout,
//! and the migrations.

use std::future::Future;
use std::time::Duration;

use auth_core::StoreError;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use crate::error::{Error, OperationTimedOut};
use crate::options::PostgresStoreOptions;

/// An [`AuthStore`](auth_core::AuthStore) on PostgreSQL: a cheap-to-clone handle around a
/// [`PgPool`]. Clones share the pool.
///
/// Every rule holds across processes sharing the database: uniqueness is a unique index,
/// and each single-use rule is one atomic `UPDATE … RETURNING`. Driver failures, timeouts
/// and a closed pool are [`StoreError::Unavailable`]; the `Debug` output shows pool
/// statistics, never connection credentials.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
    operation_timeout: Duration,
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

impl PostgresStore {
    /// Connects with the default [`PostgresStoreOptions`] (4 connections per core, 5 s
    /// timeouts, migrations run, default schema).
    ///
    /// # Errors
    ///
    /// As [`connect_with`](Self::connect_with).
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with(url, PostgresStoreOptions::new()).await
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
    pub async fn connect_with(url: &str, options: PostgresStoreOptions) -> Result<Self, Error> {
        let connect = url.parse::<PgConnectOptions>().map_err(Error::InvalidUrl)?;
        Self::connect_to(connect, options).await
    }

    /// As [`connect_with`](Self::connect_with), from connect options built in code instead
    /// of a URL.
    ///
    /// The first connection is made directly, not through the pool, so that a server that
    /// is down or refuses us fails here at once with its own reason (the pool would retry
    /// until its timeout and report only that).
    ///
    /// # Errors
    ///
    /// As [`connect_with`](Self::connect_with), except [`Error::InvalidUrl`].
    pub async fn connect_to(
        connect: PgConnectOptions,
        options: PostgresStoreOptions,
    ) -> Result<Self, Error> {
        let connect = options.apply_to(connect)?;
        let target = describe(&connect);
        let connect_timeout = options.connect_timeout();
        let mut conn =
            match tokio::time::timeout(connect_timeout, PgConnection::connect_with(&connect)).await
            {
                Ok(Ok(conn)) => conn,
                Ok(Err(source)) => return Err(Error::Connect { target, source }),
                Err(_) => {
                    return Err(Error::ConnectTimeout {
                        target,
                        timeout: connect_timeout,
                    });
                }
            };
        prepare_schema(&options, &mut conn).await?;
        if let Err(error) = conn.close().await {
            tracing::debug!(
                error = &error as &dyn std::error::Error,
                "closing the set-up connection failed"
            );
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections())
            .min_connections(options.min_connections())
            .acquire_timeout(options.acquire_timeout())
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PostgresStoreOptions::VALIDATE_AFTER_IDLE {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_lazy_with(connect);
        Self::finish(pool, &options).await
    }

    /// Wraps a pool you built yourself: prepares the schema and runs the migrations as
    /// `options` say. Pool size and timeouts are the pool's own; the operation timeout of
    /// `options` applies. With a schema, the pool's connect options must carry its
    /// `search_path` (build them with [`PostgresStoreOptions::apply_to`]); this is checked.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSchema`], [`Error::Connect`] when no connection can be had,
    /// [`Error::Schema`], [`Error::SearchPath`], [`Error::Migrate`].
    pub async fn from_pool(pool: PgPool, options: PostgresStoreOptions) -> Result<Self, Error> {
        let mut conn = pool.acquire().await.map_err(|source| Error::Connect {
            target: describe(&pool.connect_options()),
            source,
        })?;
        prepare_schema(&options, &mut conn).await?;
        drop(conn);
        Self::finish(pool, &options).await
    }

    /// Wraps a pool as it is: no I/O, no migrations (call [`migrate`](Self::migrate), or
    /// use [`from_pool`](Self::from_pool) to prepare a schema too).
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            operation_timeout: PostgresStoreOptions::DEFAULT_OPERATION_TIMEOUT,
        }
    }

    /// The same store with another bound on each operation (default 10 s).
    #[must_use]
    pub fn with_operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// Runs the embedded migrations. Safe while other processes do the same: sqlx holds a
    /// PostgreSQL advisory lock while it migrates.
    ///
    /// # Errors
    ///
    /// [`Error::Migrate`] when a migration fails or the database cannot be reached.
    pub async fn migrate(&self) -> Result<(), Error> {
        migrator().run(&self.pool).await.map_err(Error::Migrate)
    }

    /// The pool, for the application's own queries.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes the pool: waits for connections in use to come back and closes them all.
    /// Every later operation of this store (and its clones) fails as unavailable.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Migrates, as configured, and wraps the pool. Migrations run through the pool: sqlx's
    /// `Acquire` for `&mut PgConnection` would make this future unusable with
    /// `tokio::spawn`.
    async fn finish(pool: PgPool, options: &PostgresStoreOptions) -> Result<Self, Error> {
        let store = Self::new(pool).with_operation_timeout(options.operation_timeout());
        if options.migrations() {
            store.migrate().await?;
            tracing::debug!(
                schema = options.schema(),
                "auth-postgres migrations are up to date"
            );
        }
        Ok(store)
    }

    /// Runs one store operation within the operation timeout.
    pub(crate) async fn timed<T>(
        &self,
        operation: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.operation_timeout, operation)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::unavailable(OperationTimedOut(
                    self.operation_timeout,
                )))
            })
    }
}

/// The connecting methods of the options, from before connecting moved to
/// [`PostgresStore`]. They only forward, so that code written against them keeps building.
impl PostgresStoreOptions {
    /// Connects to the server at `url` with these options.
    ///
    /// # Errors
    ///
    /// As [`PostgresStore::connect_with`].
    #[deprecated(note = "use `PostgresStore::connect_with(url, options)`")]
    pub async fn connect(self, url: &str) -> Result<PostgresStore, Error> {
        PostgresStore::connect_with(url, self).await
    }

    /// Connects with connect options built in code.
    ///
    /// # Errors
    ///
    /// As [`PostgresStore::connect_to`].
    #[deprecated(note = "use `PostgresStore::connect_to(connect_options, options)`")]
    pub async fn connect_with(self, options: PgConnectOptions) -> Result<PostgresStore, Error> {
        PostgresStore::connect_to(options, self).await
    }

    /// Wraps a pool you built yourself, preparing the schema and migrating as configured.
    ///
    /// # Errors
    ///
    /// As [`PostgresStore::from_pool`].
    #[deprecated(note = "use `PostgresStore::from_pool(pool, options)`")]
    pub async fn from_pool(self, pool: PgPool) -> Result<PostgresStore, Error> {
        PostgresStore::from_pool(pool, self).await
    }
}

/// Creates the schema, if one is configured, and checks that the connection uses it.
async fn prepare_schema(
    options: &PostgresStoreOptions,
    conn: &mut PgConnection,
) -> Result<(), Error> {
    match options.valid_schema()? {
        Some(schema) => create_schema(conn, schema).await,
        None => Ok(()),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_never_show_the_password() {
        let options: PgConnectOptions = "postgres://alice:hunter2@db.example.com:6543/app"
            .parse()
            .unwrap();
        let target = describe(&options);
        assert_eq!(target, "db.example.com:6543/app");
    }

    #[test]
    fn embedded_migrations_are_found() {
        assert!(migrator().iter().count() >= 1);
    }

    #[tokio::test]
    #[expect(
        deprecated,
        reason = "checks the forwarding kept for code using the old names"
    )]
    async fn the_connecting_methods_of_the_old_options_forward_to_the_store() {
        let old: crate::options::PostgresOptions = PostgresStoreOptions::new();
        assert!(matches!(
            old.connect("postgres://host:notaport/db").await,
            Err(Error::InvalidUrl(_))
        ));
        let refused = PostgresStoreOptions::new()
            .with_schema("Bad Name")
            .connect_with(PgConnectOptions::new_without_pgpass())
            .await;
        assert!(matches!(refused, Err(Error::InvalidSchema(_))));
    }
}
