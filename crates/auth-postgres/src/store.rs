//! [`PostgresStore`]: the handle, its operation timeout, and the migrations.

use std::future::Future;
use std::time::Duration;

use auth_core::StoreError;
use sqlx::PgPool;

use crate::error::{Error, OperationTimedOut};
use crate::options::{PostgresOptions, migrator};

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

impl PostgresStore {
    /// Connects with the default [`PostgresOptions`] (4 connections per core, 5 s timeouts,
    /// migrations run, default schema).
    ///
    /// # Errors
    ///
    /// As [`PostgresOptions::connect`].
    pub async fn connect(url: &str) -> Result<Self, Error> {
        PostgresOptions::new().connect(url).await
    }

    /// Wraps a pool as it is: no I/O, no migrations (call [`migrate`](Self::migrate), or
    /// use [`PostgresOptions::from_pool`] to prepare a schema too).
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            operation_timeout: PostgresOptions::DEFAULT_OPERATION_TIMEOUT,
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
