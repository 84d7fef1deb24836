//! Helpers shared by the integration tests: the server URL and fresh databases.

#![allow(
    dead_code,
    reason = "each test crate includes this module and uses a different part of it"
)]

use auth_mongo::{MongoStore, MongoStoreOptions};

/// The variable `scripts/test.sh` sets to the test server's URL.
pub(crate) const URL_VAR: &str = "MYAUTH_TEST_MONGODB_URL";

/// The server URL; panics with directions when the variable is missing, so that a run with
/// `--include-ignored` cannot pass without a server.
pub(crate) fn test_url() -> String {
    std::env::var(URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{URL_VAR} is not set: point it at a MongoDB server, e.g. \
             mongodb://127.0.0.1:27017/?directConnection=true \
             (scripts/test.sh starts a test server and sets it)"
        )
    })
}

/// A database name no other test uses.
pub(crate) fn unique_database() -> String {
    format!("myauth_test_{}", uuid::Uuid::now_v7().simple())
}

/// Options for a store in a fresh database of its own.
pub(crate) fn fresh_options() -> MongoStoreOptions {
    MongoStoreOptions::new().with_database(unique_database())
}

/// A migrated store in a fresh database, for the conformance suite.
///
/// The TTL index is off: the suite stores tokens that expired long ago and expects
/// `purge_expired_tokens` to find them, while a TTL index lets the server delete them on its
/// own at any moment (MongoDB's monitor runs every 60 s; the test server purges at once).
/// Whether the index exists is checked in `tests/mongo/`.
pub(crate) async fn fresh_store() -> MongoStore {
    MongoStore::connect_with(&test_url(), fresh_options().with_ttl_index(false))
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {URL_VAR}: {e:?}"))
}

/// The URL with its database path replaced by `database` (query string kept).
pub(crate) fn url_with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url
        .split_once("://")
        .unwrap_or_else(|| panic!("{URL_VAR} has no scheme"));
    let (authority_and_path, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let authority = authority_and_path
        .split_once('/')
        .map_or(authority_and_path, |(authority, _)| authority);
    match query {
        Some(query) => format!("{scheme}://{authority}/{database}?{query}"),
        None => format!("{scheme}://{authority}/{database}"),
    }
}
