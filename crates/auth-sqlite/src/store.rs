//! [`SqliteStore`]: the handle, how it connects, and the migrations.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use auth_core::StoreError;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Connection as _, Sqlite, SqlitePool, Transaction};
use tokio::sync::MutexGuard;

use crate::error::{Error, is_locked, is_migration_locked, store_error};
use crate::options::SqliteStoreOptions;
use crate::write_queue::WriteQueue;

/// An [`AuthStore`](auth_core::AuthStore) in a SQLite database: a cheap-to-clone handle
/// around a [`SqlitePool`]; clones share the pool.
///
/// Every single-use, counting and uniqueness rule is enforced by SQLite itself (a unique
/// index, one atomic `UPDATE … RETURNING` or upsert, or one `BEGIN IMMEDIATE`
/// transaction), so it holds for every process that opens the same file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    /// Serialises this process's writes and commits rotations together, when on (see
    /// [`SqliteStoreOptions::with_serialized_writes`]); shared by clones.
    pub(crate) writes: Option<Arc<WriteQueue>>,
}

/// This process's turn to write, when writes are serialised; held until the write (or
/// its transaction) is over.
pub(crate) type WriteTurn<'a> = Option<MutexGuard<'a, ()>>;

/// The embedded migrations. `ignore_missing` lets an application keep its own sqlx
/// migrations in the same database: ours do not fail on versions they do not know.
fn migrator() -> Migrator {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator
}

impl SqliteStore {
    /// Opens (creating it if missing) the database at `url` with the default
    /// [`SqliteStoreOptions`], and applies the migrations.
    ///
    /// `url` is `sqlite://PATH`, `sqlite:PATH`, a plain file path, or `sqlite::memory:`
    /// for a private in-memory database (one connection, gone when the store is dropped).
    /// URL query parameters of sqlx (`?mode=ro`, …) are honoured.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`], [`Error::CannotOpen`] (missing or unwritable directory),
    /// [`Error::NotADatabase`] (the file holds something else), [`Error::Connect`], or
    /// [`Error::Migrate`].
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with(url, SqliteStoreOptions::default()).await
    }

    /// Like [`connect`](Self::connect), with explicit options.
    ///
    /// Every connection has foreign keys on and the busy timeout set; a database file is
    /// put in WAL journal mode, so readers never wait for the writer.
    ///
    /// # Errors
    ///
    /// As for [`connect`](Self::connect).
    pub async fn connect_with(url: &str, options: SqliteStoreOptions) -> Result<Self, Error> {
        let (connect, in_memory) = parse_url(url)?;
        let path = connect.get_filename().to_path_buf();
        let connect = connect
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout())
            .create_if_missing(options.create_if_missing());
        // A connection to a local file cannot go stale the way a network connection can:
        // sqlx's ping before every acquire would only add a round trip to the connection's
        // worker thread (half the cost of a one-row read, measured in benches/README.md).
        let (pool_options, connect) = if in_memory {
            // Every connection to `:memory:` is a database of its own, and a shared-cache
            // memory database vanishes with its last connection: hold exactly one, forever.
            let pool_options = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .acquire_timeout(options.acquire_timeout())
                .idle_timeout(None)
                .max_lifetime(None)
                .test_before_acquire(false);
            (pool_options, connect)
        } else {
            let pool_options = SqlitePoolOptions::new()
                .max_connections(options.max_connections())
                .acquire_timeout(options.acquire_timeout())
                .test_before_acquire(false)
                .before_acquire(|conn, _| Box::pin(leave_no_failed_transaction(conn)));
            (pool_options, connect.journal_mode(SqliteJournalMode::Wal))
        };
        // Switching a new file to WAL takes a lock that the busy timeout does not wait
        // for, so processes starting together on a new file retry here instead.
        let pool = retry_while_locked(
            options.busy_timeout(),
            || pool_options.clone().connect_with(connect.clone()),
            is_locked,
        )
        .await
        .map_err(|source| Error::connect(&path, source))?;
        let store = Self::new(pool).with_serialized_writes(options.serialized_writes());
        if options.migrations() {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// Wraps an existing pool; runs no migrations (call [`migrate`](Self::migrate)).
    ///
    /// sqlx's defaults already turn foreign keys on and set a five-second busy timeout;
    /// keep both, the token table relies on `ON DELETE CASCADE`. For `:memory:`, give the
    /// pool a single connection that never expires.
    ///
    /// Writes are serialised within the process, as with
    /// [`SqliteStoreOptions::DEFAULT_SERIALIZED_WRITES`]; see
    /// [`with_serialized_writes`](Self::with_serialized_writes).
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool, writes: None }
            .with_serialized_writes(SqliteStoreOptions::DEFAULT_SERIALIZED_WRITES)
    }

    /// Whether this handle (and the clones made from it afterwards) queue their writes
    /// behind one another before asking SQLite for its write lock
    /// ([`SqliteStoreOptions::with_serialized_writes`]).
    #[must_use]
    pub fn with_serialized_writes(mut self, serialized: bool) -> Self {
        self.writes = serialized.then(|| Arc::new(WriteQueue::new()));
        self
    }

    /// Whether writes are serialised within the process.
    pub fn serialized_writes(&self) -> bool {
        self.writes.is_some()
    }

    /// Waits for this process's turn to write, when writes are serialised
    /// ([`WriteQueue`]). Other processes still wait in SQLite's busy handler: correctness
    /// never depends on this queue.
    pub(crate) async fn write_turn(&self) -> WriteTurn<'_> {
        match &self.writes {
            Some(writes) => Some(writes.turn().await),
            None => None,
        }
    }

    /// Begins a write transaction: this process's turn, then `BEGIN IMMEDIATE`, which
    /// takes SQLite's write lock at once, so every read in the transaction sees the data
    /// no other connection can change before the commit. (A deferred transaction that
    /// reads first and writes later can fail with `SQLITE_BUSY` instead of waiting.)
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<(WriteTurn<'_>, Transaction<'static, Sqlite>), StoreError> {
        let turn = self.write_turn().await;
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(store_error)?;
        Ok((turn, tx))
    }

    /// Applies the embedded migrations that have not run yet; harmless when all have.
    ///
    /// # Errors
    ///
    /// [`Error::Migrate`] when a migration fails or an applied one was changed.
    pub async fn migrate(&self) -> Result<(), Error> {
        let migrator = migrator();
        let run = || migrator.run(&self.pool);
        let patience = SqliteStoreOptions::DEFAULT_BUSY_TIMEOUT;
        // Another process may have applied a migration between our look at the applied
        // ones and our own attempt, which then fails ("table users already exists"); the
        // next run sees it applied. Racing processes can do that once per migration, so
        // there is one more run than migrations; a migration that is really broken fails
        // every time.
        let mut runs = migrator.iter().count() + 1;
        loop {
            runs -= 1;
            match retry_while_locked(patience, run, is_migration_locked).await {
                Ok(()) => return Ok(()),
                Err(error) if runs == 0 => return Err(Error::Migrate(error)),
                Err(_) => {}
            }
        }
    }

    /// The pool, for the application's own queries.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes every connection, waiting for those in use to come back.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Runs `attempt` until it succeeds, fails otherwise than `locked`, or `patience` is
/// spent, pausing a little longer each time.
async fn retry_while_locked<T, E, Fut>(
    patience: Duration,
    mut attempt: impl FnMut() -> Fut,
    locked: impl Fn(&E) -> bool,
) -> Result<T, E>
where
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = tokio::time::Instant::now() + patience;
    let mut pause = Duration::from_millis(5);
    loop {
        match attempt().await {
            Err(error) if locked(&error) && tokio::time::Instant::now() + pause < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            result => return result,
        }
    }
}

/// Connect options for `url`, and whether it names an in-memory database.
fn parse_url(url: &str) -> Result<(SqliteConnectOptions, bool), Error> {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        // A plain path. `:memory:` keeps its SQLite meaning.
        return if url == ":memory:" {
            parse_url("sqlite::memory:")
        } else if url.is_empty() {
            Err(no_database())
        } else {
            Ok((SqliteConnectOptions::new().filename(url), false))
        };
    };
    // The same split as sqlx's own parser, which hides whether the result is in memory.
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = database == ":memory:" || params.split('&').any(|param| param == "mode=memory");
    if database.is_empty() && !in_memory {
        return Err(no_database());
    }
    let options = SqliteConnectOptions::from_str(url).map_err(Error::InvalidUrl)?;
    Ok((options, in_memory))
}

/// An empty file name would give every connection its own temporary database.
fn no_database() -> Error {
    Error::InvalidUrl(sqlx::Error::Configuration(
        "the URL names no database file".into(),
    ))
}

/// Whether a pooled connection may be handed out: not when it is still inside a
/// transaction. SQLite rolls a transaction back by itself on some errors (a full disk, an
/// I/O error), so the `COMMIT` or `ROLLBACK` sqlx sends afterwards fails and sqlx keeps
/// counting the transaction as open; every later `BEGIN` on that connection would then fail.
/// Such a connection is closed (the pool opens a fresh one) instead.
async fn leave_no_failed_transaction(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    if conn.is_in_transaction() {
        // A rollback queued when the transaction was dropped runs before this ping.
        conn.ping().await?;
        if conn.is_in_transaction() {
            tracing::warn!("closing a SQLite connection left inside a failed transaction");
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn parse(url: &str) -> (std::path::PathBuf, bool) {
        let (options, in_memory) = parse_url(url).unwrap();
        (options.get_filename().to_path_buf(), in_memory)
    }

    #[test]
    fn every_spelling_of_a_file_names_it() {
        for url in [
            "sqlite://users.db",
            "sqlite:users.db",
            "users.db",
            "sqlite://users.db?mode=rwc",
        ] {
            assert_eq!(
                parse(url),
                (Path::new("users.db").to_path_buf(), false),
                "{url}"
            );
        }
        assert_eq!(
            parse("sqlite:///var/lib/app/users.db").0,
            Path::new("/var/lib/app/users.db")
        );
        assert_eq!(parse("/tmp/a b.db").0, Path::new("/tmp/a b.db"));
    }

    #[test]
    fn memory_urls_are_recognised() {
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            ":memory:",
            "sqlite://shared?mode=memory",
            "sqlite://?mode=memory&cache=shared",
        ] {
            assert!(parse(url).1, "{url}");
        }
    }

    #[test]
    fn urls_without_a_database_or_with_unknown_parameters_are_invalid() {
        for url in ["", "sqlite:", "sqlite://", "sqlite://users.db?colour=blue"] {
            assert!(
                matches!(parse_url(url), Err(Error::InvalidUrl(_))),
                "{url} was accepted"
            );
        }
    }
}
