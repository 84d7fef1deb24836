//! [`SqliteStoreOptions`]: how [`SqliteStore::connect_with`](crate::SqliteStore::connect_with)
//! opens the database.

use std::time::Duration;

/// Settings for [`SqliteStore::connect_with`](crate::SqliteStore::connect_with).
///
/// ```
/// use std::time::Duration;
///
/// use auth_sqlite::SqliteStoreOptions;
///
/// let options = SqliteStoreOptions::new()
///     .with_migrations(false)
///     .with_max_connections(4)
///     .with_busy_timeout(Duration::from_secs(10));
/// assert!(!options.migrations());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteStoreOptions {
    migrations: bool,
    max_connections: u32,
    acquire_timeout: Duration,
    busy_timeout: Duration,
    create_if_missing: bool,
    serialized_writes: bool,
}

impl Default for SqliteStoreOptions {
    fn default() -> Self {
        Self {
            migrations: true,
            max_connections: Self::default_max_connections(),
            acquire_timeout: Self::DEFAULT_ACQUIRE_TIMEOUT,
            busy_timeout: Self::DEFAULT_BUSY_TIMEOUT,
            create_if_missing: true,
            serialized_writes: Self::DEFAULT_SERIALIZED_WRITES,
        }
    }
}

impl SqliteStoreOptions {
    /// Default pool size for a database file: 4 per core, between 4 and 64 (8 on two
    /// cores). SQLite runs one writer at a time; in WAL mode readers do not wait for it,
    /// and every connection is a thread of sqlx's, so a few per core keep the cores busy
    /// without crowding them (measured in benches/README.md: 1, 2, 4, 8 and 16 on two cores).
    pub fn default_max_connections() -> u32 {
        auth_core::default_pool_size()
    }

    /// Default time a statement waits for another connection's write lock before it fails
    /// with "database is locked".
    pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

    /// Default wait for a pooled connection when all are in use: 30 s, sqlx's own default,
    /// which the pool had before this option existed.
    pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

    /// Whether a store queues its own writes by default: `true`
    /// ([`with_serialized_writes`](Self::with_serialized_writes)).
    pub const DEFAULT_SERIALIZED_WRITES: bool = true;

    /// The defaults: run migrations, [`default_max_connections`](Self::default_max_connections)
    /// connections, a [`DEFAULT_ACQUIRE_TIMEOUT`](Self::DEFAULT_ACQUIRE_TIMEOUT) acquire
    /// timeout, a [`DEFAULT_BUSY_TIMEOUT`](Self::DEFAULT_BUSY_TIMEOUT) busy timeout, and
    /// create the file when it is missing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether to apply the embedded migrations on connect. Default `true`; turn it off
    /// when migrations run as a separate deployment step ([`SqliteStore::migrate`](crate::SqliteStore::migrate)).
    #[must_use]
    pub fn with_migrations(mut self, run: bool) -> Self {
        self.migrations = run;
        self
    }

    /// The largest number of pooled connections (at least 1). Default
    /// [`default_max_connections`](Self::default_max_connections). An in-memory database
    /// always uses exactly one: every connection to `:memory:` is a different database.
    #[must_use]
    pub fn with_max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How long an operation waits for a pooled connection when all are in use before it
    /// fails as unavailable. Default [`DEFAULT_ACQUIRE_TIMEOUT`](Self::DEFAULT_ACQUIRE_TIMEOUT).
    #[must_use]
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// How long a statement waits for a lock held by another connection or process.
    /// Default [`DEFAULT_BUSY_TIMEOUT`](Self::DEFAULT_BUSY_TIMEOUT).
    #[must_use]
    pub fn with_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Whether a missing database file is created. Default `true`.
    #[must_use]
    pub fn with_create_if_missing(mut self, create: bool) -> Self {
        self.create_if_missing = create;
        self
    }

    /// Whether the store's writes wait for one another in the process before asking SQLite
    /// for its write lock, and concurrent refresh-token rotations share one transaction
    /// and its commit. Default [`DEFAULT_SERIALIZED_WRITES`](Self::DEFAULT_SERIALIZED_WRITES).
    ///
    /// SQLite lets one connection write at a time; the others wait in its busy handler,
    /// which polls with sleeps of up to 100 ms, so under concurrent writes a few requests
    /// wait far longer than the writes ahead of them took. Queueing in the process, first
    /// come first served, keeps this store's writers out of that handler, and committing
    /// the rotations queued at the same time together makes them share one `fsync` (8
    /// concurrent rotators: p99 about 200 → 23 ms, 280 → 1000–1300 rotations/s, measured in the
    /// crate's README). It is a performance measure only: every rule is still enforced by
    /// SQLite, so processes sharing the file stay correct (they wait in the busy handler
    /// for each other, as before). Reads never queue.
    #[must_use]
    pub fn with_serialized_writes(mut self, serialized: bool) -> Self {
        self.serialized_writes = serialized;
        self
    }

    /// Whether migrations run on connect.
    pub fn migrations(&self) -> bool {
        self.migrations
    }

    /// The pool size for a database file.
    pub fn max_connections(&self) -> u32 {
        self.max_connections
    }

    /// The wait for a pooled connection.
    pub fn acquire_timeout(&self) -> Duration {
        self.acquire_timeout
    }

    /// The busy timeout.
    pub fn busy_timeout(&self) -> Duration {
        self.busy_timeout
    }

    /// Whether a missing file is created.
    pub fn create_if_missing(&self) -> bool {
        self.create_if_missing
    }

    /// Whether writes are serialised within the process.
    pub fn serialized_writes(&self) -> bool {
        self.serialized_writes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_migrate_and_create() {
        let options = SqliteStoreOptions::default();
        assert!(options.migrations());
        assert!(options.create_if_missing());
        assert_eq!(
            options.max_connections(),
            SqliteStoreOptions::default_max_connections()
        );
        assert!((4..=64).contains(&options.max_connections()));
        assert_eq!(options.busy_timeout(), Duration::from_secs(5));
        assert_eq!(options.acquire_timeout(), Duration::from_secs(30));
        assert!(options.serialized_writes());
    }

    #[test]
    fn a_pool_has_at_least_one_connection() {
        assert_eq!(
            SqliteStoreOptions::new()
                .with_max_connections(0)
                .max_connections(),
            1
        );
    }
}
