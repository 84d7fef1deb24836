//! The auth-core store conformance suite against a database file in a fresh temporary
//! directory per test, with the default pool (several connections, WAL, busy timeout),
//! and again on an in-memory database.

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
