//! PostgreSQL-specific behaviour beyond the conformance suite: schemas, migrations, several
//! processes on one database, exact times, TLS, credentials kept out of `Debug`.

#![expect(
    clippy::expect_used,
    reason = "test helpers report failures by panicking with a message"
)]

mod common;

use std::sync::Arc;

use auth_core::secrecy::SecretString;
use auth_core::testing::{CONCURRENT_TASKS, sample_token, sample_user};
use auth_core::{AuthError, ConsumeOutcome, NewUser, StoreError, TokenKind};
use auth_core::{TokenStore, UserStore};
use auth_postgres::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use auth_postgres::sqlx::{self, Connection, PgConnection};
use auth_postgres::{Error, PostgresStore, PostgresStoreOptions};
use time::{Duration, OffsetDateTime, UtcOffset};

/// Every table the migrations create, and sqlx's own, in name order.
const ALL_TABLES: [&str; 9] = [
    "_sqlx_migrations",
    "audit_anchor",
    "audit_records",
    "counters",
    "recovery_codes",
    "sessions",
    "tokens",
    "totp_enrolments",
    "users",
];

async fn tables_in(schema: &str) -> Vec<String> {
    let mut conn = PgConnection::connect(&common::url())
        .await
        .expect("connect");
    let tables = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = $1 ORDER BY table_name",
    )
    .bind(schema)
    .fetch_all(&mut conn)
    .await
    .expect("list tables");
    conn.close().await.expect("close");
    tables
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn tables_are_created_in_the_requested_schema_and_schemas_do_not_share_rows() {
    let (first, second) = (common::fresh_schema(), common::fresh_schema());
    let a = common::store_in(&first).await;
    let b = common::store_in(&second).await;
    assert_eq!(tables_in(&first).await, ALL_TABLES);

    let user = sample_user("alice@example.com");
    a.create_user(&user).await.expect("create in a");
    assert_eq!(b.find_user_by_email(&user.email).await.expect("find"), None);
    // The same email is free in the other schema.
    b.create_user(&sample_user("alice@example.com"))
        .await
        .expect("create in b");
    assert_eq!(a.list_users(10, 0).await.expect("list").total, 1);
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn migrations_can_be_skipped_and_run_later() {
    let schema = common::fresh_schema();
    let store = PostgresStore::connect_with(
        &common::url(),
        common::options(&schema).with_migrations(false),
    )
    .await
    .expect("connect without migrating");
    assert!(
        tables_in(&schema).await.is_empty(),
        "nothing is created when migrations are off"
    );
    assert!(matches!(
        store.find_user_by_email("alice@example.com").await,
        Err(StoreError::Unavailable(_))
    ));

    store.migrate().await.expect("migrate");
    store
        .migrate()
        .await
        .expect("migrating again changes nothing");
    assert_eq!(
        store
            .find_user_by_email("alice@example.com")
            .await
            .expect("find"),
        None
    );
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn processes_starting_at_once_on_a_new_schema_all_succeed() {
    let schema = common::fresh_schema();
    let starts: Vec<_> = (0..8)
        .map(|_| {
            let options = common::options(&schema).with_max_connections(2);
            tokio::spawn(async move { PostgresStore::connect_with(&common::url(), options).await })
        })
        .collect();
    for start in starts {
        start
            .await
            .expect("task")
            .unwrap_or_else(|e| panic!("a concurrent start failed: {e} ({e:?})"));
    }
    let store = common::store_in(&schema).await;
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(store.pool())
        .await
        .expect("count migrations");
    assert_eq!(applied, auth_postgres::migrator().iter().count() as i64);
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn two_processes_see_each_others_writes_and_one_of_many_consumes_wins() {
    let schema = common::fresh_schema();
    // Two pools on one schema: what two application processes have.
    let a = PostgresStore::connect_with(
        &common::url(),
        common::options(&schema).with_max_connections(16),
    )
    .await
    .expect("process a");
    let b = PostgresStore::connect_with(
        &common::url(),
        common::options(&schema).with_max_connections(16),
    )
    .await
    .expect("process b");

    let user = sample_user("alice@example.com");
    a.create_user(&user).await.expect("create via a");
    assert_eq!(
        b.find_user_by_id(user.id).await.expect("read via b"),
        Some(user.clone())
    );
    assert!(matches!(
        b.create_user(&sample_user("alice@example.com")).await,
        Err(StoreError::Conflict)
    ));

    let token = sample_token(&user, TokenKind::Refresh);
    b.insert_token(&token).await.expect("insert via b");
    assert_eq!(
        a.find_token(&token.token_hash, TokenKind::Refresh)
            .await
            .expect("read via a"),
        Some(token.clone())
    );

    let now = token.created_at;
    let barrier = Arc::new(tokio::sync::Barrier::new(CONCURRENT_TASKS));
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let (barrier, hash) = (Arc::clone(&barrier), token.token_hash);
            tokio::spawn(async move {
                barrier.wait().await;
                store.consume_token(&hash, TokenKind::Refresh, now).await
            })
        })
        .collect();
    let (mut won, mut used) = (Vec::new(), 0);
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.expect("task").expect("consume") {
            ConsumeOutcome::Consumed(record) => won.push((i % 2, record)),
            ConsumeOutcome::AlreadyUsed(_) => used += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(
        won.len(),
        1,
        "exactly one consume may win across both pools"
    );
    assert_eq!(used, CONCURRENT_TASKS - 1);
    assert_eq!(won[0].1.used_at, Some(now));

    // Concurrent registrations of one email over both pools: one winner.
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { store.create_user(&sample_user("race@example.com")).await })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(()) => created += 1,
            Err(StoreError::Conflict) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(created, 1);
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn a_refresh_token_rotated_in_one_process_is_a_replay_in_the_other() {
    let schema = common::fresh_schema();
    let a = common::service(common::store_in(&schema).await);
    let b = common::service(common::store_in(&schema).await);
    let password = SecretString::from("Str0ng!pass");
    a.register(NewUser {
        email: "Alice@Example.com".into(),
        username: "alice".into(),
        password: password.clone(),
    })
    .await
    .expect("register via a");
    assert!(matches!(
        b.register(NewUser {
            email: " alice@example.com".into(),
            username: "alice again".into(),
            password: password.clone(),
        })
        .await,
        Err(AuthError::UserAlreadyExists)
    ));

    let first = b
        .login("alice@example.com", &password)
        .await
        .expect("login via b");
    let second = a.refresh(&first.refresh_token).await.expect("rotate via a");
    // Replaying the rotated token elsewhere revokes the family, the new token included.
    assert!(matches!(
        b.refresh(&first.refresh_token).await,
        Err(AuthError::RevokedToken)
    ));
    assert!(matches!(
        a.refresh(&second.refresh_token).await,
        Err(AuthError::RevokedToken)
    ));
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn times_read_back_exactly_to_the_microsecond_and_in_utc() {
    let store = common::fresh_store().await;
    let mut user = sample_user("alice@example.com");
    // timestamptz keeps microseconds; auth-core only needs milliseconds.
    user.created_at =
        OffsetDateTime::from_unix_timestamp_nanos(1_780_000_000_123_456_000).expect("valid time");
    user.updated_at = user
        .created_at
        .to_offset(UtcOffset::from_hms(5, 30, 0).expect("offset"));
    store.create_user(&user).await.expect("create");
    let read = store
        .find_user_by_id(user.id)
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(read, user);
    assert_eq!(read.created_at.microsecond(), 123_456);
    assert_eq!(read.updated_at.offset(), UtcOffset::UTC);

    let mut token = sample_token(&user, TokenKind::PasswordReset);
    token.expires_at = user.created_at + Duration::microseconds(999_999);
    store.insert_token(&token).await.expect("insert");
    let read = store
        .find_token(&token.token_hash, token.kind)
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(read, token);
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn rows_that_do_not_decode_are_corrupt() {
    let store = common::fresh_store().await;
    let user = sample_user("alice@example.com");
    store.create_user(&user).await.expect("create");
    sqlx::query("UPDATE users SET roles = ARRAY[NULL]::text[] WHERE id = $1")
        .bind(user.id.as_uuid())
        .execute(store.pool())
        .await
        .expect("damage the row");
    assert!(matches!(
        store.find_user_by_id(user.id).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.list_users(10, 0).await,
        Err(StoreError::Corrupt(_))
    ));
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn the_url_password_never_appears_in_debug_output() {
    let secret = "url-pw-must-stay-hidden";
    // The test server trusts local connections, so any password is accepted.
    let options = common::url()
        .parse::<PgConnectOptions>()
        .expect("valid test URL")
        .password(secret);
    let store = PostgresStore::connect_to(options, common::options(&common::fresh_schema()))
        .await
        .expect("connect");
    store
        .create_user(&sample_user("alice@example.com"))
        .await
        .expect("create");
    let shown = format!("{store:?} {store:#?} {:?}", store.pool());
    assert!(!shown.contains(secret), "{shown}");
    assert!(shown.contains("PostgresStore"), "{shown}");
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn a_pool_of_your_own_must_carry_the_schema_search_path() {
    let schema = common::fresh_schema();
    let options = PostgresStoreOptions::new().with_schema(&schema);
    let plain: PgConnectOptions = common::url().parse().expect("valid test URL");

    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(plain.clone())
        .await
        .expect("pool");
    match PostgresStore::from_pool(pool, options.clone()).await {
        Err(Error::SearchPath { schema: s, .. }) => assert_eq!(s, schema),
        other => panic!("expected Error::SearchPath, got {other:?}"),
    }

    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options.apply_to(plain).expect("valid schema"))
        .await
        .expect("pool");
    let store = PostgresStore::from_pool(pool, options)
        .await
        .expect("from_pool");
    store
        .create_user(&sample_user("alice@example.com"))
        .await
        .expect("create");
    assert_eq!(tables_in(&schema).await, ALL_TABLES);
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn a_role_without_create_on_the_database_uses_a_schema_made_for_it() {
    let schema = common::fresh_schema();
    let role = format!("{schema}_role");
    let role_password = "role-pw-for-tests";
    let mut admin = PgConnection::connect(&common::url())
        .await
        .expect("connect as admin");
    for statement in [
        format!("CREATE ROLE \"{role}\" LOGIN PASSWORD '{role_password}'"),
        format!("CREATE SCHEMA \"{schema}\""),
        format!("GRANT USAGE, CREATE ON SCHEMA \"{schema}\" TO \"{role}\""),
    ] {
        sqlx::query(&statement)
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    let as_role = common::url()
        .parse::<PgConnectOptions>()
        .expect("valid test URL")
        .username(&role)
        .password(role_password);

    // The role may not create schemas, but may use the one made for it.
    let store = PostgresStore::connect_to(as_role.clone(), common::options(&schema))
        .await
        .unwrap_or_else(|e| panic!("connect as a limited role: {e} ({e:?})"));
    store
        .create_user(&sample_user("alice@example.com"))
        .await
        .expect("create as a limited role");
    store.close().await;

    // A schema it would have to create is refused with a clear error.
    let other = common::fresh_schema();
    let refused = PostgresStore::connect_to(as_role, common::options(&other)).await;
    match refused {
        Err(error @ Error::Schema { .. }) => {
            assert_eq!(
                error.to_string(),
                format!("could not prepare schema {other:?}")
            );
        }
        other => panic!("expected Error::Schema, got {other:?}"),
    }

    for statement in [
        format!("DROP SCHEMA \"{schema}\" CASCADE"),
        format!("DROP ROLE \"{role}\""),
    ] {
        sqlx::query(&statement)
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    admin.close().await.expect("close");
}

#[cfg(feature = "rustls")]
#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn tls_is_used_when_the_url_requires_it() {
    let url = common::url();
    let separator = if url.contains('?') { '&' } else { '?' };
    let store = PostgresStore::connect_with(
        &format!("{url}{separator}sslmode=require"),
        common::options(&common::fresh_schema()),
    )
    .await
    .expect("connect with sslmode=require (does the server have ssl = on?)");
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(store.pool())
            .await
            .expect("read pg_stat_ssl");
    assert!(
        encrypted,
        "sslmode=require must give an encrypted connection"
    );
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn the_store_is_a_cheap_clone_sharing_one_pool() {
    let store = common::fresh_store().await;
    let clone: PostgresStore = store.clone();
    let user = sample_user("alice@example.com");
    clone.create_user(&user).await.expect("create via clone");
    assert_eq!(
        store
            .find_user_by_id(user.id)
            .await
            .expect("find")
            .map(|u| u.id),
        Some(user.id)
    );
    store.close().await;
    assert!(clone.pool().is_closed());
    assert!(matches!(
        clone.find_user_by_id(user.id).await,
        Err(StoreError::Unavailable(_))
    ));
}
