//! Shared set-up for the server-backed tests: the server URL, and a fresh key prefix per
//! store whose keys are deleted when the test ends.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]
#![allow(
    clippy::expect_used,
    reason = "test set-up reports failures by panicking with a message"
)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use auth_redis::redis::{self, Commands as _};
use auth_redis::{RedisCounterStore, RedisStoreOptions};

/// The variable naming the test server.
pub(crate) const URL_VAR: &str = "MYAUTH_TEST_REDIS_URL";

/// The test server's URL; panics with a clear message when it is not set, so a run of the
/// ignored tests without a server fails instead of passing.
pub(crate) fn url() -> String {
    std::env::var(URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{URL_VAR} is not set: point it at a Redis server the tests may write keys to \
             (each test uses its own prefix and deletes its keys), e.g. \
             {URL_VAR}=redis://127.0.0.1:6379"
        )
    })
}

/// A key prefix no other test or run uses: `myauth-test:<pid>.<unix nanos>.<n>:`.
pub(crate) fn fresh_prefix() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("myauth-test:{}.{nanos}.{n}:", std::process::id())
}

/// Deletes every key under its prefix when dropped, so test runs leave nothing behind
/// (throttle states would otherwise live for their 24 h window).
#[derive(Debug)]
pub(crate) struct DeleteKeys {
    url: String,
    prefix: String,
}

impl DeleteKeys {
    pub(crate) fn new(prefix: &str) -> Self {
        Self {
            url: url(),
            prefix: prefix.to_owned(),
        }
    }
}

impl Drop for DeleteKeys {
    fn drop(&mut self) {
        // Best effort, on a blocking connection of its own: the test's runtime may be
        // shutting down. A failure here only leaves keys that expire by themselves.
        let Ok(client) = redis::Client::open(self.url.as_str()) else {
            return;
        };
        let Ok(mut conn) = client.get_connection() else {
            return;
        };
        let keys: Vec<Vec<u8>> = match conn.scan_match(format!("{}*", self.prefix)) {
            Ok(keys) => keys.filter_map(Result::ok).collect(),
            Err(_) => return,
        };
        for chunk in keys.chunks(500) {
            let _: Result<u64, _> = redis::cmd("DEL").arg(chunk).query(&mut conn);
        }
    }
}

/// A store on the test server with a fresh prefix, and the guard that deletes its keys.
pub(crate) async fn fresh_store() -> (RedisCounterStore, DeleteKeys) {
    let prefix = fresh_prefix();
    let store = store_with_prefix(&prefix).await;
    (store, DeleteKeys::new(&prefix))
}

/// A store on the test server with this prefix (a second "process" sharing the keys of
/// another).
pub(crate) async fn store_with_prefix(prefix: &str) -> RedisCounterStore {
    RedisCounterStore::connect_with(&url(), RedisStoreOptions::new().with_key_prefix(prefix))
        .await
        .unwrap_or_else(|e| panic!("connecting to {URL_VAR} failed: {e}"))
}

/// A plain async connection to the test server, to look at keys the way Redis sees them.
pub(crate) async fn raw_connection() -> redis::aio::MultiplexedConnection {
    redis::Client::open(url().as_str())
        .expect("test server URL")
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection to the test server")
}
