//! What the conformance suite does not cover: migrations (and the upgrade of a database of
//! the previous release), reopening, connect-time errors, connection settings, several
//! pools on one file (the single-use rule, rotation races and the cut), the counters' SQL
//! arithmetic, and a whole service on `sqlite::memory:`.

use std::error::Error as _;
use std::str::FromStr;
use std::sync::Arc;

use auth_core::secrecy::SecretString;
use auth_core::testing::{sample_session, sample_token, sample_user, successor_of};
use auth_core::{
    AuditStore, AuthConfig, AuthError, AuthService, ConsumeOutcome, CounterKey, CounterStore,
    HashingConfig, Invalidate, NewUser, RateLimit, RotateOutcome, SessionStore, StoreError,
    Throttle, TokenKind, TokenStore, UserPatch, UserStore,
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
    AuthConfig::new("nquLFgkv7ARyd3VzTQhQyDFahjdKKX5U08SDkThEhxL")
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
    assert_eq!(service.me(&claims).await.expect("me"), user);

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

    // The rows are really in SQLite: one session, ended by the replay, and its two refresh
    // tokens, which can no longer rotate.
    let ended: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NOT NULL")
            .fetch_one(store.pool())
            .await
            .expect("count sessions");
    assert_eq!(ended, 1);
    let refresh_tokens: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM tokens WHERE kind = 'refresh'")
            .fetch_one(store.pool())
            .await
            .expect("count tokens");
    assert_eq!(refresh_tokens, 2);
}

/// Two stores on one file, as two processes would have them: the first queues its writes
/// in the process (the default), the second does not, so only SQLite's locking stands
/// between them.
#[expect(
    clippy::expect_used,
    reason = "a test helper fails the test by panicking"
)]
async fn two_processes() -> (TempDir, SqliteStore, SqliteStore) {
    let (dir, url) = temp_db();
    let first = SqliteStore::connect(&url).await.expect("connect");
    let second = SqliteStore::connect_with(
        &url,
        SqliteStoreOptions::new().with_serialized_writes(false),
    )
    .await
    .expect("connect again");
    assert!(first.serialized_writes() && !second.serialized_writes());
    (dir, first, second)
}

/// Of 32 rotations of one token, half through each of two pools on one file, exactly one
/// wins and exactly one successor is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_rotating_one_token_have_exactly_one_winner() {
    let (_dir, first, second) = two_processes().await;
    let user = sample_user("alice@example.com");
    first.create_user(&user).await.expect("create");
    let (session, token) = sample_session(&user);
    second
        .create_session(&session, &token)
        .await
        .expect("create session");
    let barrier = Arc::new(tokio::sync::Barrier::new(32));
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let store = if i % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            let (barrier, hash, next) =
                (Arc::clone(&barrier), token.token_hash, successor_of(&token));
            tokio::spawn(async move {
                barrier.wait().await;
                let outcome = store.rotate_refresh_token(&hash, &next, now()).await;
                (next, outcome)
            })
        })
        .collect();
    let mut winners = 0;
    let mut stored = 0;
    for task in tasks {
        let (next, outcome) = task.await.expect("task");
        match outcome.expect("rotate") {
            RotateOutcome::Rotated {
                session: rotated, ..
            } => {
                winners += 1;
                assert_eq!(rotated.id, session.id);
            }
            RotateOutcome::Refused(ConsumeOutcome::AlreadyUsed(_)) => {}
            other => panic!("unexpected outcome {other:?}"),
        }
        if first
            .find_token(&next.token_hash, TokenKind::Refresh)
            .await
            .expect("find")
            .is_some()
        {
            stored += 1;
        }
    }
    assert_eq!((winners, stored), (1, 1));
}

/// The conformance case of the cut racing logins and rotations, with the work spread over
/// two pools on one file: once the cut is stored (through the second), no session is
/// live and no token issued in flight, by either pool, can rotate.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cut_through_one_pool_races_logins_and_rotations_through_both() {
    let (_dir, first, second) = two_processes().await;
    let user = sample_user("alice@example.com");
    first.create_user(&user).await.expect("create");
    let mut existing = Vec::new();
    for _ in 0..16 {
        let (session, token) = sample_session(&user);
        first
            .create_session(&session, &token)
            .await
            .expect("create session");
        existing.push(token);
    }
    let before = second
        .find_user_by_id(user.id)
        .await
        .expect("read")
        .expect("exists");
    let barrier = Arc::new(tokio::sync::Barrier::new(33));
    let pick = |i: usize| {
        if i.is_multiple_of(2) {
            first.clone()
        } else {
            second.clone()
        }
    };
    let mut tasks = Vec::new();
    for (i, token) in existing.into_iter().enumerate() {
        let (store, barrier) = (pick(i), Arc::clone(&barrier));
        tasks.push(tokio::spawn(async move {
            let next = successor_of(&token);
            barrier.wait().await;
            store
                .rotate_refresh_token(&token.token_hash, &next, now())
                .await
                .expect("rotate");
            next
        }));
    }
    for i in 0..16 {
        let (store, barrier, before) = (pick(i + 1), Arc::clone(&barrier), before.clone());
        tasks.push(tokio::spawn(async move {
            let (session, token) = sample_session(&before);
            barrier.wait().await;
            store.create_session(&session, &token).await.expect("login");
            token
        }));
    }
    let cut = {
        let (store, barrier) = (second.clone(), Arc::clone(&barrier));
        tokio::spawn(async move {
            barrier.wait().await;
            store
                .update_user(
                    user.id,
                    &UserPatch {
                        updated_at: Some(now()),
                        invalidate: Some(Invalidate::Sessions),
                        ..UserPatch::default()
                    },
                )
                .await
                .expect("cut")
                .expect("exists")
        })
    };
    let mut issued = Vec::new();
    for task in tasks {
        issued.push(task.await.expect("task"));
    }
    let after = cut.await.expect("cut task");
    assert!(after.token_version > before.token_version);
    for store in [&first, &second] {
        assert!(
            store
                .list_user_sessions(user.id, now())
                .await
                .expect("list")
                .is_empty(),
            "no session from before the cut is live"
        );
    }
    for (i, token) in issued.iter().enumerate() {
        let outcome = pick(i)
            .rotate_refresh_token(&token.token_hash, &successor_of(token), now())
            .await
            .expect("rotate after the cut");
        assert!(
            !matches!(outcome, RotateOutcome::Rotated { .. }),
            "a token issued in flight outlived the cut: {outcome:?}"
        );
    }
}

/// Applies only the first migration of this crate to a new file, as the previous release
/// did, through a migrator reading a directory that holds just that file.
#[expect(
    clippy::expect_used,
    reason = "a test helper fails the test by panicking"
)]
async fn database_of_the_previous_release(dir: &TempDir, url: &str) -> sqlx::SqlitePool {
    let old = dir.path().join("old-migrations");
    std::fs::create_dir(&old).expect("create the directory");
    let first = "20260301000000_myauth_users_and_tokens.sql";
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(first),
        old.join(first),
    )
    .expect("copy the first migration");
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .expect("url")
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options)
        .await
        .expect("connect");
    sqlx::migrate::Migrator::new(old.as_path())
        .await
        .expect("read the old migrations")
        .run(&pool)
        .await
        .expect("apply the old migration");
    pool
}

/// A database made by the previous migration set, with a user and tokens in it, upgrades
/// in place: the user reads back with versions 0 and no MFA, a password-reset token still
/// works, and an old refresh token (no session) ends at its next use instead of rotating.
#[tokio::test]
async fn the_migration_upgrades_a_database_of_the_previous_release_in_place() {
    let (dir, url) = temp_db();
    let pool = database_of_the_previous_release(&dir, &url).await;
    let user = sample_user("alice@example.com");
    let created = auth_core::unix_millis(user.created_at);
    sqlx::query(
        "INSERT INTO users (id, email, username, password_hash, roles, user_settings, \
         is_verified, is_active, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 1, ?7, ?7)",
    )
    .bind(user.id.as_uuid().as_bytes().as_slice())
    .bind(&user.email)
    .bind(&user.username)
    .bind(user.password_hash.as_str())
    .bind(serde_json::to_string(&user.roles).expect("roles"))
    .bind(serde_json::to_string(&user.user_settings).expect("settings"))
    .bind(created)
    .execute(&pool)
    .await
    .expect("an old user");
    let refresh = sample_token(&user, TokenKind::Refresh);
    let reset = sample_token(&user, TokenKind::PasswordReset);
    for token in [&refresh, &reset] {
        sqlx::query(
            "INSERT INTO tokens (id, user_id, kind, token_hash, family_id, family_expires_at, \
             expires_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .bind(token.id.as_bytes().as_slice())
        .bind(user.id.as_uuid().as_bytes().as_slice())
        .bind(token.kind.as_str())
        .bind(token.token_hash.as_bytes().as_slice())
        .bind(token.family_id.map(|id| id.as_bytes().to_vec()))
        .bind(token.family_expires_at.map(auth_core::unix_millis))
        .bind(auth_core::unix_millis(token.expires_at))
        .bind(auth_core::unix_millis(token.created_at))
        .execute(&pool)
        .await
        .expect("an old token");
    }
    pool.close().await;

    let store = SqliteStore::connect(&url).await.expect("upgrade");
    assert_eq!(applied_migrations(&store).await, 2);
    let upgraded = store
        .find_user_by_id(user.id)
        .await
        .expect("find")
        .expect("kept");
    assert_eq!(upgraded, user, "every field kept; versions 0, no MFA");
    assert_eq!(
        store
            .find_token(&refresh.token_hash, TokenKind::Refresh)
            .await
            .expect("find"),
        Some(refresh.clone())
    );
    let next = successor_of(&refresh);
    let outcome = store
        .rotate_refresh_token(&refresh.token_hash, &next, now())
        .await
        .expect("rotate");
    assert!(
        matches!(outcome, RotateOutcome::SessionEnded(ref t) if t.token_hash == refresh.token_hash),
        "an old refresh token has no session: {outcome:?}"
    );
    assert_eq!(
        store
            .find_token(&next.token_hash, TokenKind::Refresh)
            .await
            .expect("find"),
        None
    );
    assert!(matches!(
        store
            .consume_token(&reset.token_hash, TokenKind::PasswordReset, now())
            .await
            .expect("consume"),
        ConsumeOutcome::Consumed(_)
    ));
    // The upgraded user signs in again: a new session, which rotates and is listed.
    let (session, first_token) = sample_session(&upgraded);
    store
        .create_session(&session, &first_token)
        .await
        .expect("login");
    assert!(matches!(
        store
            .rotate_refresh_token(&first_token.token_hash, &successor_of(&first_token), now())
            .await
            .expect("rotate"),
        RotateOutcome::Rotated { .. }
    ));
    assert_eq!(
        store
            .list_user_sessions(user.id, now())
            .await
            .expect("list")
            .len(),
        1
    );
}

/// A rotation that finds its session ended writes nothing at all: the presented token is
/// left as it was (unused), so presenting it again says the same, and is not mistaken for
/// a replay.
#[tokio::test]
async fn a_rotation_into_an_ended_session_leaves_the_token_unused() {
    let store = SqliteStore::connect("sqlite::memory:")
        .await
        .expect("connect");
    let user = sample_user("alice@example.com");
    store.create_user(&user).await.expect("create");
    let (session, token) = sample_session(&user);
    store
        .create_session(&session, &token)
        .await
        .expect("create session");
    assert!(
        store
            .revoke_session(session.id, Some(user.id), now())
            .await
            .expect("revoke")
    );
    for _ in 0..2 {
        let outcome = store
            .rotate_refresh_token(&token.token_hash, &successor_of(&token), now())
            .await
            .expect("rotate");
        assert_eq!(outcome, RotateOutcome::SessionEnded(token.clone()));
    }
    let kept = store
        .find_session(session.id)
        .await
        .expect("find")
        .expect("kept");
    assert_eq!(kept.last_used_at, session.last_used_at, "not touched");
}

/// `mfa_enabled` is not a column: it is read from the TOTP enrolment, whatever the
/// `User` given to `create_user` said.
#[tokio::test]
async fn mfa_enabled_follows_the_enrolment_not_the_created_user() {
    let store = SqliteStore::connect("sqlite::memory:")
        .await
        .expect("connect");
    let mut user = sample_user("alice@example.com");
    user.mfa_enabled = true;
    store.create_user(&user).await.expect("create");
    let read = store
        .find_user_by_id(user.id)
        .await
        .expect("find")
        .expect("exists");
    assert!(!read.mfa_enabled, "no enrolment, no MFA");
}

/// The detail of an audit record is stored as serde_json's text of it, the text its hash
/// covers, and reads back equal.
#[tokio::test]
async fn audit_details_are_stored_as_the_exact_json_text() {
    let store = SqliteStore::connect("sqlite::memory:")
        .await
        .expect("connect");
    let record = auth_core::audit::append(
        &store,
        now(),
        auth_core::AuditEvent {
            event: "login.failed".to_owned(),
            detail: serde_json::json!({"z": [1, 2.5, "ü"], "a": {"nested": null}}),
            ..auth_core::AuditEvent::default()
        },
    )
    .await
    .expect("append");
    let text: String = sqlx::query_scalar("SELECT detail FROM audit_records WHERE seq = 1")
        .fetch_one(store.pool())
        .await
        .expect("read");
    assert_eq!(text, serde_json::to_string(&record.detail).expect("json"));
    assert_eq!(
        store.last_audit_record().await.expect("last"),
        Some(record.clone())
    );
    assert_eq!(record.compute_hash(), record.hash);
}

/// The throttle's SQL arithmetic is `Throttle::decide`, step for step, for settings where
/// the shift saturates, the base delay exceeds the maximum, or there is no free failure.
#[tokio::test]
async fn the_throttle_upsert_applies_exactly_throttle_decide() {
    let store = SqliteStore::connect("sqlite::memory:")
        .await
        .expect("connect");
    let ms = time::Duration::milliseconds;
    let settings = [
        (0, ms(1), ms(1 << 40)),
        (1, ms(1000), ms(900_000)),
        (3, ms(7), ms(5)),
        (2, ms(1 << 33), ms(1 << 50)),
        (5, ms(0), ms(60_000)),
    ];
    let start = auth_core::unix_millis(now());
    for (case, (free_failures, base_delay, max_delay)) in settings.into_iter().enumerate() {
        let throttle = Throttle {
            free_failures,
            base_delay,
            max_delay,
            forget_after: ms(1 << 52),
        };
        let key = CounterKey::new("throttle-case", &case.to_string());
        let mut state = None;
        let mut at = start;
        for step in 0..45 {
            let (expected, next) = throttle.decide(state, at);
            let got = store
                .begin_attempt(&key, throttle, from_millis(at))
                .await
                .expect("attempt");
            assert_eq!(got, expected, "case {case}, step {step}");
            if next.is_some() {
                state = next;
            }
            // Sometimes wait out the delay (when it is shorter than a few years), sometimes
            // come back early.
            at += match (state, step % 3) {
                (Some(s), 0 | 1) if s.blocked_until > at && s.blocked_until - at < 1 << 37 => {
                    s.blocked_until - at
                }
                _ => 1,
            };
        }
    }
}

/// The token bucket's SQL arithmetic is `RateLimit::decide`, step for step.
#[tokio::test]
async fn the_rate_upsert_applies_exactly_rate_limit_decide() {
    let store = SqliteStore::connect("sqlite::memory:")
        .await
        .expect("connect");
    let start = auth_core::unix_millis(now());
    for (case, (burst, period)) in [(1, 1000), (3, 10), (10, 7), (0, 0)]
        .into_iter()
        .enumerate()
    {
        let limit = RateLimit::new(burst, time::Duration::milliseconds(period));
        let key = CounterKey::new("rate-case", &case.to_string());
        let mut tat = None;
        let mut at = start;
        for step in 0..60_i64 {
            // An expired state counts as none, as the store treats it.
            let stored = tat.filter(|tat| *tat > at);
            let (expected, next) = limit.decide(stored, at);
            let got = store
                .take_rate_token(&key, limit, from_millis(at))
                .await
                .expect("take");
            assert_eq!(got, expected, "case {case}, step {step}");
            if next.is_some() {
                tat = next;
            }
            at += [0, 1, 3, 20][usize::try_from(step % 4).expect("small")];
        }
    }
}

#[expect(
    clippy::expect_used,
    reason = "a test helper fails the test by panicking"
)]
fn from_millis(millis: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).expect("in range")
}

/// A rotation whose successor's hash exists fails with `Conflict` and stores nothing —
/// alone or in a batch with others. A batch is rolled back with it: the other rotations of
/// that batch answer an error and leave their tokens live, or ran in another batch and
/// rotated; none is half done.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_rotation_stores_nothing_and_takes_no_other_rotation_halfway() {
    for serialized in [true, false] {
        let (_dir, url) = temp_db();
        let store = SqliteStore::connect_with(
            &url,
            SqliteStoreOptions::new().with_serialized_writes(serialized),
        )
        .await
        .expect("connect");
        let user = sample_user("alice@example.com");
        store.create_user(&user).await.expect("create");
        let mut firsts = Vec::new();
        for _ in 0..8 {
            let (session, token) = sample_session(&user);
            store
                .create_session(&session, &token)
                .await
                .expect("create session");
            firsts.push(token);
        }
        let barrier = Arc::new(tokio::sync::Barrier::new(8));
        let taken = firsts[1].token_hash;
        let tasks: Vec<_> = firsts
            .iter()
            .enumerate()
            .map(|(i, first)| {
                let (store, barrier, first) = (store.clone(), Arc::clone(&barrier), first.clone());
                tokio::spawn(async move {
                    let mut next = successor_of(&first);
                    if i == 0 {
                        // The hash of another session's live token.
                        next.token_hash = taken;
                    }
                    barrier.wait().await;
                    let outcome = store
                        .rotate_refresh_token(&first.token_hash, &next, now())
                        .await;
                    (first, next, outcome)
                })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            let (first, next, outcome) = task.await.expect("task");
            let presented = store
                .find_token(&first.token_hash, TokenKind::Refresh)
                .await
                .expect("find")
                .expect("kept");
            match outcome {
                Ok(RotateOutcome::Rotated { .. }) => {
                    assert_ne!(i, 0);
                    assert!(presented.used_at.is_some());
                    assert!(
                        store
                            .find_token(&next.token_hash, TokenKind::Refresh)
                            .await
                            .expect("find")
                            .is_some()
                    );
                }
                Err(error) => {
                    if i == 0 {
                        assert!(matches!(error, StoreError::Conflict), "{error:?}");
                    } else {
                        assert!(serialized, "only a batch fails others: {error:?}");
                    }
                    assert_eq!(presented.used_at, None, "rotation {i} was rolled back");
                    // Rotation 0's successor hash is the live token of rotation 1.
                    if i != 0 {
                        assert_eq!(
                            store
                                .find_token(&next.token_hash, TokenKind::Refresh)
                                .await
                                .expect("find"),
                            None
                        );
                    }
                }
                Ok(other) => panic!("unexpected outcome {other:?}"),
            }
        }
    }
}
