//! The auth-core store conformance suite against a database file in a fresh temporary
//! directory per test, with the default pool (several connections, WAL, busy timeout),
//! again without the store's in-process write queue (so that SQLite's locking alone keeps
//! every rule, as it must between processes), and on an in-memory database.

use auth_sqlite::SqliteStore;
use tempfile::TempDir;

/// A store on a file in a fresh temporary directory, and the directory, which must outlive
/// the store: deleting it earlier would break every connection the pool opens later.
#[expect(
    clippy::expect_used,
    reason = "a test helper fails the test by panicking"
)]
async fn fresh_store() -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("auth.db").display());
    let store = SqliteStore::connect(&url).await.expect("connect");
    (store, dir)
}

auth_core::store_conformance_tests!(|| async { fresh_store().await });

/// The same suite on `sqlite::memory:`, whose pool holds a single connection.
mod in_memory {
    auth_core::store_conformance_tests!(|| async {
        auth_sqlite::SqliteStore::connect("sqlite::memory:")
            .await
            .expect("connect to sqlite::memory:")
    });
}

/// The same suite with the write queue off: every writer goes straight to SQLite.
mod without_write_queue {
    use auth_sqlite::{SqliteStore, SqliteStoreOptions};
    use tempfile::TempDir;

    #[expect(
        clippy::expect_used,
        reason = "a test helper fails the test by panicking"
    )]
    async fn fresh_store() -> (SqliteStore, TempDir) {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("auth.db").display());
        let options = SqliteStoreOptions::new().with_serialized_writes(false);
        let store = SqliteStore::connect_with(&url, options)
            .await
            .expect("connect");
        (store, dir)
    }

    auth_core::store_conformance_tests!(|| async { fresh_store().await });
}
