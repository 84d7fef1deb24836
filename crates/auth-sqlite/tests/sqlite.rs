//! What the conformance suite does not cover: migrations, reopening, connect-time errors,
//! connection settings, several pools on one file, and a whole service on `sqlite::memory:`.

use std::error::Error as _;
use std::sync::Arc;

use auth_core::secrecy::SecretString;
use auth_core::testing::{sample_token, sample_user};
use auth_core::{
    AuthConfig, AuthError, AuthService, ConsumeOutcome, HashingConfig, NewUser, StoreError,
    TokenKind, TokenStore, UserStore,
};
use auth_sqlite::{Error, SqliteStore, SqliteStoreOptions};
use tempfile::TempDir;
use time::OffsetDateTime;

#[expect(
    clippy::expect_used,
    reason = "a test helper fails the test by panicking"
)]
fn temp_db() -> (TempDir, String) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("auth.db").display());
    (dir, url)
}

fn now() -> OffsetDateTime {
    auth_core::truncate_to_millis(OffsetDateTime::now_utc())
}

#[expect(
    clippy::expect_used,
    reason = "a test helper fails the test by panicking"
)]
async fn applied_migrations(store: &SqliteStore) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(store.pool())
        .await
        .expect("count migrations")
}

#[tokio::test]
async fn migrations_applied_twice_are_harmless() {
    let (_dir, url) = temp_db();
    let store = SqliteStore::connect(&url).await.expect("connect");
    let user = sample_user("alice@example.com");
    store.create_user(&user).await.expect("create");
    let migrations = applied_migrations(&store).await;
    assert!(migrations >= 1);

    store.migrate().await.expect("second run");
    store.migrate().await.expect("third run");
    // Connecting again runs them once more, on a database that has them all.
    let again = SqliteStore::connect(&url).await.expect("reconnect");

    assert_eq!(applied_migrations(&again).await, migrations);
    assert_eq!(
        again.find_user_by_id(user.id).await.expect("find"),
        Some(user)
    );
}

#[tokio::test]
async fn migrations_tolerate_an_applications_own_sqlx_migrations() {
    let (_dir, url) = temp_db();
    let store = SqliteStore::connect(&url).await.expect("connect");
    // An application's migration in the same bookkeeping table, unknown to this crate.
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (1, 'app tables', TRUE, X'00', 0)",
    )
    .execute(store.pool())
    .await
    .expect("record an application migration");
    store.migrate().await.expect("migrate beside it");
}

#[tokio::test]
async fn migrations_can_be_skipped_and_run_later() {
    let (_dir, url) = temp_db();
    let store = SqliteStore::connect_with(&url, SqliteStoreOptions::new().with_migrations(false))
        .await
        .expect("connect");
    let before = store.find_user_by_email("alice@example.com").await;
    assert!(
        matches!(before, Err(StoreError::Unavailable(_))),
        "no tables yet: {before:?}"
    );
    store.migrate().await.expect("migrate");
    assert_eq!(
        store
            .find_user_by_email("alice@example.com")
            .await
            .expect("find"),
        None
    );
}

#[tokio::test]
async fn data_survives_closing_and_reopening_the_pool() {
    let (_dir, url) = temp_db();
    let user = sample_user("alice@example.com");
    let token = sample_token(&user, TokenKind::Refresh);
    let at = now();
    {
        let store = SqliteStore::connect(&url).await.expect("connect");
        store.create_user(&user).await.expect("create");
        store.insert_token(&token).await.expect("insert");
        assert!(matches!(
            store
                .consume_token(&token.token_hash, TokenKind::Refresh, at)
                .await
                .expect("consume"),
            ConsumeOutcome::Consumed(_)
        ));
        store.close().await;
    }

    let store = SqliteStore::connect(&url).await.expect("reopen");
    assert_eq!(
        store
            .find_user_by_email("alice@example.com")
            .await
            .expect("find"),
        Some(user)
    );
    let used = auth_core::TokenRecord {
        used_at: Some(at),
        ..token.clone()
    };
    assert_eq!(
        store
            .consume_token(&token.token_hash, TokenKind::Refresh, at)
            .await
            .expect("consume after reopen"),
        ConsumeOutcome::AlreadyUsed(used),
        "a used token stays used across restarts"
    );
}

#[tokio::test]
async fn a_file_of_garbage_is_reported_as_not_a_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("auth.db");
    std::fs::write(
        &path,
        b"this is not a database, just some text. ".repeat(200),
    )
    .expect("write");

    let error = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect_err("garbage must not open");

    assert!(matches!(error, Error::NotADatabase { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("is not a SQLite database"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        error.source().is_some(),
        "the driver error is kept as source"
    );
}

#[tokio::test]
async fn a_missing_directory_is_reported_at_connect_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir
        .path()
        .join("no")
        .join("such")
        .join("dir")
        .join("auth.db");

    let error = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect_err("a missing directory must not open");

    assert!(matches!(error, Error::CannotOpen { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("cannot open or create"), "{message}");
    assert!(message.contains("directory exists"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(!path.exists());
}

#[tokio::test]
async fn a_directory_in_place_of_the_file_cannot_be_opened() {
    let dir = tempfile::tempdir().expect("tempdir");
    let error = SqliteStore::connect(&dir.path().display().to_string())
        .await
        .expect_err("a directory is not a database file");
    assert!(matches!(error, Error::CannotOpen { .. }), "{error:?}");
}

#[tokio::test]
async fn a_missing_file_is_not_created_when_told_not_to() {
    let (dir, url) = temp_db();
    let error = SqliteStore::connect_with(
        &url,
        SqliteStoreOptions::new().with_create_if_missing(false),
    )
    .await
    .expect_err("the file does not exist");
    assert!(matches!(error, Error::CannotOpen { .. }), "{error:?}");
    assert!(!dir.path().join("auth.db").exists());
}

#[tokio::test]
async fn every_spelling_of_the_url_opens_the_same_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("auth.db");
    let user = sample_user("alice@example.com");
    SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("connect")
        .create_user(&user)
        .await
        .expect("create");
    for url in [
        format!("sqlite:{}", path.display()),
        path.display().to_string(),
    ] {
        let store = SqliteStore::connect(&url).await.expect("connect");
        assert_eq!(
            store.find_user_by_id(user.id).await.expect("find"),
            Some(user.clone()),
            "{url}"
        );
    }
}

#[tokio::test]
async fn connections_use_wal_foreign_keys_and_a_busy_timeout() {
    let (_dir, url) = temp_db();
    let store = SqliteStore::connect_with(
        &url,
        SqliteStoreOptions::new().with_busy_timeout(std::time::Duration::from_millis(2500)),
    )
    .await
    .expect("connect");
    let mut conn = store.pool().acquire().await.expect("acquire");
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await
        .expect("journal_mode");
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&mut *conn)
        .await
        .expect("foreign_keys");
    let busy_timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&mut *conn)
        .await
        .expect("busy_timeout");
    assert_eq!(journal, "wal");
    assert_eq!(foreign_keys, 1);
    assert_eq!(busy_timeout, 2500);
}

#[tokio::test]
async fn the_acquire_timeout_reaches_the_pool() {
    let (_dir, url) = temp_db();
    let default = SqliteStore::connect(&url).await.expect("connect");
    assert_eq!(
        default.pool().options().get_acquire_timeout(),
        SqliteStoreOptions::DEFAULT_ACQUIRE_TIMEOUT
    );
    let short = std::time::Duration::from_millis(750);
    for url in [url.as_str(), "sqlite::memory:"] {
        let store =
            SqliteStore::connect_with(url, SqliteStoreOptions::new().with_acquire_timeout(short))
                .await
                .expect("connect");
        assert_eq!(store.pool().options().get_acquire_timeout(), short, "{url}");
    }
}

#[tokio::test]
async fn deleting_a_user_deletes_its_tokens() {
    let (_dir, url) = temp_db();
    let store = SqliteStore::connect(&url).await.expect("connect");
    let user = sample_user("alice@example.com");
    let token = sample_token(&user, TokenKind::PasswordReset);
    store.create_user(&user).await.expect("create");
    store.insert_token(&token).await.expect("insert");
    sqlx::query("DELETE FROM users WHERE email = 'alice@example.com'")
        .execute(store.pool())
        .await
        .expect("delete");
    assert_eq!(
        store
            .find_token(&token.token_hash, TokenKind::PasswordReset)
            .await
            .expect("find"),
        None
    );
}

/// A store on a new file with one user who has `n` refresh tokens that expired an hour
/// ago (written in one statement).
#[expect(
    clippy::expect_used,
    reason = "a test helper fails the test by panicking"
)]
async fn store_with_expired_tokens(n: i64) -> (TempDir, SqliteStore, auth_core::User) {
    let (dir, url) = temp_db();
    let store = SqliteStore::connect(&url).await.expect("connect");
    let user = sample_user("alice@example.com");
    store.create_user(&user).await.expect("create");
    let expired = (now() - time::Duration::hours(1)).unix_timestamp() * 1000;
    sqlx::query(
        "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?1) \
         INSERT INTO tokens (id, user_id, kind, token_hash, expires_at, created_at) \
         SELECT randomblob(16), ?2, 'refresh', randomblob(32), ?3, ?3 - 60000 FROM seq",
    )
    .bind(n)
    .bind(user.id.as_uuid().as_bytes().as_slice())
    .bind(expired)
    .execute(store.pool())
    .await
    .expect("seed expired tokens");
    (dir, store, user)
}

#[tokio::test]
async fn the_purge_deletes_every_expired_token_in_batches_and_keeps_live_ones() {
    let (_dir, store, user) = store_with_expired_tokens(2_500).await;
    let live = sample_token(&user, TokenKind::Refresh);
    store.insert_token(&live).await.expect("insert");

    assert_eq!(
        store.purge_expired_tokens(now()).await.expect("purge"),
        2_500
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM tokens")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(left, 1);
    assert!(
        store
            .find_token(&live.token_hash, TokenKind::Refresh)
            .await
            .expect("find")
            .is_some()
    );
    assert_eq!(store.purge_expired_tokens(now()).await.expect("purge"), 0);
}

#[tokio::test]
async fn writes_go_on_while_a_large_purge_runs() {
    let (_dir, store, user) = store_with_expired_tokens(30_000).await;

    let purge = tokio::spawn({
        let store = store.clone();
        async move {
            let purged = store.purge_expired_tokens(now()).await;
            (purged, std::time::Instant::now())
        }
    });
    // Let the purge take the write lock, then write as a login would.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let token = sample_token(&user, TokenKind::Refresh);
    store
        .insert_token(&token)
        .await
        .expect("a write during the purge");
    let written = std::time::Instant::now();
    let (purged, purge_done) = purge.await.expect("join");
    assert_eq!(purged.expect("purge"), 30_000);
    // One DELETE would have held the lock to the end; batches let the write in between.
    assert!(written < purge_done, "the write waited for the whole purge");
}

#[tokio::test]
async fn a_token_of_an_unknown_user_is_refused() {
    let store = SqliteStore::connect("sqlite::memory:")
        .await
        .expect("connect");
    let orphan = sample_token(&sample_user("ghost@example.com"), TokenKind::Refresh);
    let result = store.insert_token(&orphan).await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn undecodable_rows_are_corrupt_not_unavailable() {
    let store = SqliteStore::connect("sqlite::memory:")
        .await
        .expect("connect");
    let user = sample_user("alice@example.com");
    store.create_user(&user).await.expect("create");
    // Valid JSON, so the CHECK constraint lets it in, but not a list of roles.
    sqlx::query("UPDATE users SET roles = '{\"admin\": true}'")
        .execute(store.pool())
        .await
        .expect("damage");
    let result = store.find_user_by_id(user.id).await;
    assert!(matches!(result, Err(StoreError::Corrupt(_))), "{result:?}");
}

#[tokio::test]
async fn driver_messages_stay_in_the_error_source() {
    let store = SqliteStore::connect("sqlite::memory:")
        .await
        .expect("connect");
    store.close().await;
    let error = store
        .find_user_by_email("alice@example.com")
        .await
        .expect_err("the pool is closed");
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert_eq!(error.to_string(), "storage backend failed");
    assert!(error.source().is_some());
    let auth = AuthError::from(error);
    assert_eq!(auth.to_string(), "service temporarily unavailable");
}

/// Two pools on one file behave like two processes sharing the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_on_one_file_share_the_single_use_rule() {
    let (_dir, url) = temp_db();
    let first = SqliteStore::connect(&url).await.expect("connect");
    let second = SqliteStore::connect(&url).await.expect("connect again");
    let user = sample_user("alice@example.com");
    first.create_user(&user).await.expect("create");
    let token = sample_token(&user, TokenKind::Refresh);
    first.insert_token(&token).await.expect("insert");
    assert!(matches!(
        second.create_user(&user).await,
        Err(StoreError::Conflict)
    ));

    let at = now();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = if i % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            let hash = token.token_hash;
            tokio::spawn(async move { store.consume_token(&hash, TokenKind::Refresh, at).await })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        match task.await.expect("task").expect("consume") {
            ConsumeOutcome::Consumed(_) => winners += 1,
            ConsumeOutcome::AlreadyUsed(_) => {}
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(winners, 1);
}

/// Several processes starting at once on a new file all get a migrated database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_first_connects_all_succeed() {
    let (_dir, url) = temp_db();
    let url = Arc::new(url);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let url = Arc::clone(&url);
            tokio::spawn(async move { SqliteStore::connect(&url).await })
        })
        .collect();
    let mut stores = Vec::new();
    for task in tasks {
        stores.push(task.await.expect("task").expect("connect"));
    }
    let user = sample_user("alice@example.com");
    stores[0].create_user(&user).await.expect("create");
    for store in &stores {
        assert_eq!(
            store.find_user_by_id(user.id).await.expect("find"),
            Some(user.clone())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_databases_are_one_database_per_store() {
    let first = SqliteStore::connect("sqlite::memory:")
        .await
        .expect("connect");
    let second = SqliteStore::connect("sqlite::memory:")
        .await
        .expect("connect");
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = first.clone();
            tokio::spawn(async move {
                store
                    .create_user(&sample_user(&format!("user{i}@example.com")))
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("create");
    }
    // Every task saw the same database, and the other store saw none of it.
    assert_eq!(first.list_users(100, 0).await.expect("list").total, 8);
    assert_eq!(second.list_users(100, 0).await.expect("list").total, 0);
}

fn fast_config() -> AuthConfig {
    AuthConfig::new("a test secret of at least thirty-two bytes")
        .with_require_verified_email(false)
        .with_hashing(HashingConfig {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
            max_waiting: 64,
        })
}

#[tokio::test]
async fn a_memory_store_serves_a_whole_service_round_trip() {
    let store = SqliteStore::connect("sqlite::memory:")
        .await
        .expect("connect");
    let service = AuthService::builder()
        .config(fast_config())
        .store(store.clone())
        .build()
        .expect("service");
    let password = SecretString::from("Str0ng!pass");

    let user = service
        .register(NewUser {
            email: " Alice@Example.com ".into(),
            username: "alice".into(),
            password: password.clone(),
        })
        .await
        .expect("register");
    assert_eq!(user.email, "alice@example.com");
    let again = service
        .register(NewUser {
            email: "alice@example.com".into(),
            username: "impostor".into(),
            password: password.clone(),
        })
        .await;
    assert!(matches!(again, Err(AuthError::UserAlreadyExists)));

    let tokens = service
        .login("alice@example.com", &password)
        .await
        .expect("login");
    let claims = service.authenticate(&tokens.access_token).expect("claims");
    assert_eq!(claims.sub, user.id);
    assert_eq!(service.me(claims.sub).await.expect("me"), user);

    let wrong = service
        .login("alice@example.com", &SecretString::from("Wr0ng!pass"))
        .await;
    assert!(matches!(wrong, Err(AuthError::InvalidCredentials)));

    let rotated = service
        .refresh(&tokens.refresh_token)
        .await
        .expect("refresh");
    let replay = service.refresh(&tokens.refresh_token).await;
    assert!(matches!(replay, Err(AuthError::RevokedToken)), "{replay:?}");
    let after_replay = service.refresh(&rotated.refresh_token).await;
    assert!(
        matches!(after_replay, Err(AuthError::RevokedToken)),
        "the replay revoked the whole family: {after_replay:?}"
    );

    // The rows are really in SQLite: one user, two refresh tokens, both revoked.
    let revoked: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM tokens WHERE kind = 'refresh' AND revoked_at IS NOT NULL",
    )
    .fetch_one(store.pool())
    .await
    .expect("count");
    assert_eq!(revoked, 2);
}
