//! Shared set-up for the server-backed tests: the server URL and a fresh schema per test.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]
#![allow(
    clippy::expect_used,
    reason = "test set-up reports failures by panicking with a message"
)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::{AuthConfig, AuthService, HashingConfig};
use auth_postgres::sqlx::{Connection, PgConnection};
use auth_postgres::{PostgresStore, PostgresStoreOptions};
use uuid::Uuid;

/// The variable naming the test server.
pub(crate) const URL_VAR: &str = "MYAUTH_TEST_POSTGRES_URL";

/// Schemas of earlier runs older than this are dropped; no run lasts that long.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// The test server's URL; panics with a clear message when it is not set, so a run of the
/// ignored tests without a server fails instead of passing.
pub(crate) fn url() -> String {
    std::env::var(URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{URL_VAR} is not set: point it at a PostgreSQL database the tests may create \
             schemas in, e.g. {URL_VAR}=postgres://postgres@127.0.0.1:5432/test \
             (scripts/test.sh sets it)"
        )
    })
}

/// A schema name no other test or run uses: `myauth_test_<unix seconds>_<uuid>`. The time
/// lets later runs drop stale schemas without touching those of a run in progress.
pub(crate) fn fresh_schema() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("myauth_test_{secs}_{}", Uuid::now_v7().simple())
}

/// Test options: a fresh schema, a small pool.
pub(crate) fn options(schema: &str) -> PostgresStoreOptions {
    PostgresStoreOptions::new()
        .with_max_connections(8)
        .with_schema(schema)
}

/// A migrated, empty store in a schema of its own.
pub(crate) async fn fresh_store() -> PostgresStore {
    store_in(&fresh_schema()).await
}

/// A store on `schema` (created and migrated when needed).
pub(crate) async fn store_in(schema: &str) -> PostgresStore {
    drop_stale_schemas().await;
    PostgresStore::connect_with(&url(), options(schema))
        .await
        .unwrap_or_else(|e| panic!("connecting to {URL_VAR} failed: {e} ({e:?})"))
}

/// A service over `store` with cheap password hashing, verification not required.
pub(crate) fn service(store: PostgresStore) -> AuthService {
    let config = AuthConfig::new("UdlzF3JY4wB5tfmeHMh6WwkXrwX_hCYnkG_fa8EusTv")
        .with_require_verified_email(false)
        .with_hashing(HashingConfig {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
            ..HashingConfig::default()
        });
    AuthService::builder()
        .config(config)
        .store(store)
        .build()
        .expect("service config is valid")
}

/// Drops test schemas left by runs that ended more than an hour ago, once per process.
async fn drop_stale_schemas() {
    static DONE: AtomicBool = AtomicBool::new(false);
    if DONE.swap(true, Ordering::SeqCst) {
        return;
    }
    let mut conn = PgConnection::connect(&url())
        .await
        .unwrap_or_else(|e| panic!("connecting to {URL_VAR} failed: {e}"));
    let names: Vec<String> = auth_postgres::sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'myauth\\_test\\_%'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("list test schemas");
    let cutoff = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .saturating_sub(STALE_AFTER.as_secs());
    for name in names {
        let created = name
            .strip_prefix("myauth_test_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|secs| secs < cutoff) {
            // Another process may be dropping it too; either way it goes.
            let _ =
                auth_postgres::sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                    .execute(&mut conn)
                    .await;
        }
    }
    let _ = conn.close().await;
}
