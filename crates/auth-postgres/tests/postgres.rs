//! PostgreSQL-specific behaviour beyond the conformance suite: schemas, migrations, several
//! processes on one database, exact times, TLS, credentials kept out of `Debug`.

#![expect(
    clippy::expect_used,
    reason = "test helpers report failures by panicking with a message"
)]

mod common;

use std::sync::Arc;

use auth_core::secrecy::SecretString;
use auth_core::testing::{
    CONCURRENT_TASKS, now, sample_session, sample_token, sample_user, successor_of,
};
use auth_core::{
    AuditEvent, AuditRecord, AuditStore, AuthError, ConsumeOutcome, CounterKey, CounterStore,
    Invalidate, NewUser, RateDecision, RateLimit, RotateOutcome, SessionStore, StoreError,
    Throttle, ThrottleDecision, TokenKind, TokenStore, UserPatch, UserStore,
};
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

/// Two independent stores (two pools) on one fresh schema: what two application
/// processes sharing the database have.
async fn two_processes() -> (PostgresStore, PostgresStore) {
    let schema = common::fresh_schema();
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
    (a, b)
}

/// Alternates between the two handles.
fn pick(i: usize, a: &PostgresStore, b: &PostgresStore) -> PostgresStore {
    if i.is_multiple_of(2) {
        a.clone()
    } else {
        b.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn rotations_of_one_token_through_two_pools_have_exactly_one_winner() {
    let (a, b) = two_processes().await;
    let user = sample_user("alice@example.com");
    a.create_user(&user).await.expect("create");
    let (session, mut current) = sample_session(&user);
    b.create_session(&session, &current)
        .await
        .expect("login via b");
    // Several rounds, each racing on the successor the previous round's winner stored.
    for round in 0..5 {
        let at = now();
        let barrier = Arc::new(tokio::sync::Barrier::new(CONCURRENT_TASKS));
        let tasks: Vec<_> = (0..CONCURRENT_TASKS)
            .map(|i| {
                let store = pick(i, &a, &b);
                let barrier = Arc::clone(&barrier);
                let (hash, next) = (current.token_hash, successor_of(&current));
                tokio::spawn(async move {
                    barrier.wait().await;
                    let outcome = store.rotate_refresh_token(&hash, &next, at).await;
                    (next, outcome)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            let (next, outcome) = task.await.expect("task");
            match outcome.expect("rotate") {
                RotateOutcome::Rotated {
                    session: s,
                    user: u,
                } => {
                    assert_eq!((s.id, s.last_used_at, u.id), (session.id, at, user.id));
                    winners.push(next);
                }
                RotateOutcome::Refused(ConsumeOutcome::AlreadyUsed(_)) => {}
                other => panic!("round {round}: unexpected {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one winner");
        let successors = sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM tokens WHERE family_id = $1 AND used_at IS NULL",
        )
        .bind(session.id)
        .fetch_one(a.pool())
        .await
        .expect("count live tokens");
        assert_eq!(successors, 1, "round {round}: exactly one live successor");
        current = winners.pop().expect("a winner");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn a_cut_through_one_pool_racing_logins_and_rotations_through_another_leaves_nothing_live() {
    let (a, b) = two_processes().await;
    for round in 0..3 {
        let user = sample_user(&format!("user{round}@example.com"));
        a.create_user(&user).await.expect("create");
        let mut existing = Vec::new();
        for i in 0..CONCURRENT_TASKS / 2 {
            let (session, token) = sample_session(&user);
            pick(i, &a, &b)
                .create_session(&session, &token)
                .await
                .expect("login");
            existing.push(token);
        }
        // Every racing login read the user before the cut.
        let before = b
            .find_user_by_id(user.id)
            .await
            .expect("read")
            .expect("exists");
        let barrier = Arc::new(tokio::sync::Barrier::new(CONCURRENT_TASKS + 1));
        let mut tasks = Vec::new();
        for (i, token) in existing.into_iter().enumerate() {
            let (store, barrier) = (pick(i, &a, &b), Arc::clone(&barrier));
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
        for i in 0..CONCURRENT_TASKS / 2 {
            let (store, barrier) = (pick(i + 1, &a, &b), Arc::clone(&barrier));
            let before = before.clone();
            tasks.push(tokio::spawn(async move {
                let (session, token) = sample_session(&before);
                barrier.wait().await;
                store.create_session(&session, &token).await.expect("login");
                token
            }));
        }
        let cut = {
            let (store, barrier) = (pick(round, &a, &b), Arc::clone(&barrier));
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
        for store in [&a, &b] {
            assert!(
                store
                    .list_user_sessions(user.id, now())
                    .await
                    .expect("list")
                    .is_empty(),
                "round {round}: no session from before the cut is live"
            );
        }
        for (i, token) in issued.into_iter().enumerate() {
            let outcome = pick(i, &a, &b)
                .rotate_refresh_token(&token.token_hash, &successor_of(&token), now())
                .await
                .expect("rotate after the cut");
            assert!(
                !matches!(outcome, RotateOutcome::Rotated { .. }),
                "round {round}: a token issued in flight outlived the cut: {outcome:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn a_rotation_racing_a_revocation_in_another_pool_never_leaves_a_successor_that_rotates() {
    let (a, b) = two_processes().await;
    let user = sample_user("alice@example.com");
    a.create_user(&user).await.expect("create");
    for _ in 0..20 {
        let (session, token) = sample_session(&user);
        a.create_session(&session, &token).await.expect("login");
        let next = successor_of(&token);
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let rotation = {
            let (store, barrier, next) = (a.clone(), Arc::clone(&barrier), next.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .rotate_refresh_token(&token.token_hash, &next, now())
                    .await
                    .expect("rotate")
            })
        };
        let revocation = {
            let (store, barrier) = (b.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .revoke_session(session.id, Some(user.id), now())
                    .await
                    .expect("revoke")
            })
        };
        // Either may come first: the rotation wins (and its successor is cut by the
        // revocation) or finds the session ended.
        let outcome = rotation.await.expect("rotation task");
        assert!(
            matches!(
                outcome,
                RotateOutcome::Rotated { .. } | RotateOutcome::SessionEnded(_)
            ),
            "{outcome:?}"
        );
        assert!(revocation.await.expect("revocation task"));
        let again = a
            .rotate_refresh_token(&next.token_hash, &successor_of(&next), now())
            .await
            .expect("rotate the successor");
        assert!(
            !matches!(again, RotateOutcome::Rotated { .. }),
            "a successor of a revoked session rotated: {again:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn counters_shared_by_two_pools_pass_exactly_the_allowed_number() {
    let (a, b) = two_processes().await;
    let limit = RateLimit::new(5, Duration::hours(1));
    let at = now();
    let barrier = Arc::new(tokio::sync::Barrier::new(CONCURRENT_TASKS));
    let key = CounterKey::new("ip", "192.0.2.1");
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|i| {
            let (store, barrier) = (pick(i, &a, &b), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store.take_rate_token(&key, limit, at).await
            })
        })
        .collect();
    let mut allowed = 0;
    for task in tasks {
        match task.await.expect("task").expect("take") {
            RateDecision::Allowed => allowed += 1,
            RateDecision::Limited { retry_after } => {
                assert!(retry_after > Duration::ZERO && retry_after <= Duration::hours(1));
            }
        }
    }
    assert_eq!(allowed, 5, "exactly the burst passes across both pools");

    let throttle = Throttle::default();
    let key = CounterKey::new("login", "alice@example.com");
    let barrier = Arc::new(tokio::sync::Barrier::new(CONCURRENT_TASKS));
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|i| {
            let (store, barrier) = (pick(i, &a, &b), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store.begin_attempt(&key, throttle, at).await
            })
        })
        .collect();
    let mut counts = Vec::new();
    for task in tasks {
        if let ThrottleDecision::Allowed { failures } = task.await.expect("task").expect("attempt")
        {
            counts.push(failures);
        }
    }
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=throttle.free_failures).collect::<Vec<_>>(),
        "every attempt is counted once across both pools"
    );
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn the_second_migration_upgrades_a_database_of_the_first_in_place() {
    let schema = common::fresh_schema();
    let store = PostgresStore::connect_with(
        &common::url(),
        common::options(&schema).with_migrations(false),
    )
    .await
    .expect("connect without migrating");
    // The migration set of the previous release: the first file only.
    let mut previous = auth_postgres::migrator();
    previous.migrations = previous.migrations[..1].to_vec().into();
    previous.run(store.pool()).await.expect("first migration");
    assert_eq!(
        tables_in(&schema).await,
        ["_sqlx_migrations", "tokens", "users"]
    );

    // Rows as the previous release wrote them: its columns only.
    let user = sample_user("alice@example.com");
    sqlx::query(
        "INSERT INTO users (id, email, username, password_hash, roles, user_settings,
            is_verified, is_active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(user.id.as_uuid())
    .bind(&user.email)
    .bind(&user.username)
    .bind(user.password_hash.as_str())
    .bind(&user.roles)
    .bind(sqlx::types::Json(&user.user_settings))
    .bind(user.is_verified)
    .bind(user.is_active)
    .bind(user.created_at)
    .bind(user.updated_at)
    .execute(store.pool())
    .await
    .expect("old user");
    let refresh = sample_token(&user, TokenKind::Refresh);
    let reset = sample_token(&user, TokenKind::PasswordReset);
    for token in [&refresh, &reset] {
        sqlx::query(
            "INSERT INTO tokens (id, user_id, kind, token_hash, family_id, family_expires_at,
                expires_at, created_at, used_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)",
        )
        .bind(token.id)
        .bind(token.user_id.as_uuid())
        .bind(token.kind.as_str())
        .bind(&token.token_hash.as_bytes()[..])
        .bind(token.family_id)
        .bind(token.family_expires_at)
        .bind(token.expires_at)
        .bind(token.created_at)
        .execute(store.pool())
        .await
        .expect("old token");
    }

    store.migrate().await.expect("upgrade");
    assert_eq!(tables_in(&schema).await, ALL_TABLES);
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(store.pool())
        .await
        .expect("count migrations");
    assert_eq!(applied, auth_postgres::migrator().iter().count() as i64);

    // The existing user reads back unchanged, at versions 0, without MFA or sessions.
    assert_eq!(
        store.find_user_by_id(user.id).await.expect("find"),
        Some(user.clone())
    );
    assert!(
        store
            .list_user_sessions(user.id, now())
            .await
            .expect("list")
            .is_empty()
    );
    // An old refresh token has no session: it ends at its next use, storing nothing.
    let next = successor_of(&refresh);
    let outcome = store
        .rotate_refresh_token(&refresh.token_hash, &next, now())
        .await
        .expect("rotate an old token");
    assert!(
        matches!(outcome, RotateOutcome::SessionEnded(ref t) if t.id == refresh.id),
        "{outcome:?}"
    );
    assert_eq!(
        store
            .find_token(&next.token_hash, TokenKind::Refresh)
            .await
            .expect("find"),
        None
    );
    // Other tokens keep working.
    assert!(matches!(
        store
            .consume_token(&reset.token_hash, TokenKind::PasswordReset, now())
            .await
            .expect("consume"),
        ConsumeOutcome::Consumed(_)
    ));
    // And the upgraded user logs in and rotates as any other.
    let (session, first) = sample_session(&user);
    store.create_session(&session, &first).await.expect("login");
    assert!(matches!(
        store
            .rotate_refresh_token(&first.token_hash, &successor_of(&first), now())
            .await
            .expect("rotate"),
        RotateOutcome::Rotated { .. }
    ));
}

/// The statements sqlx runs while this layer is installed: one event per statement, on
/// the `sqlx::query` target, whose `summary` is the statement's first words.
#[derive(Clone, Default)]
struct Statements(Arc<std::sync::Mutex<Vec<String>>>);

impl Statements {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("statements lock"))
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Statements {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Summary(String);
        impl tracing::field::Visit for Summary {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "summary" {
                    value.clone_into(&mut self.0);
                }
            }
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "summary" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        if event.metadata().target() == "sqlx::query" {
            let mut summary = Summary(String::new());
            event.record(&mut summary);
            self.0.lock().expect("statements lock").push(summary.0);
        }
    }
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn a_successful_rotation_is_one_statement_and_a_refusal_reads_once_more() {
    use tracing_subscriber::layer::SubscriberExt as _;

    let store = common::fresh_store().await;
    let user = sample_user("alice@example.com");
    store.create_user(&user).await.expect("create");
    let (session, first) = sample_session(&user);
    store.create_session(&session, &first).await.expect("login");
    let statements = Statements::default();
    // tracing-core 0.1.36 caches a callsite's interest when the callsite is first hit; while
    // exactly one dispatcher exists, it asks the default of the thread that hit it, and a
    // parallel test's thread has none, so sqlx's statement log could be cached as never
    // wanted (tokio-rs/tracing#3611). A second registered dispatcher, never installed,
    // makes tracing ask every registered dispatcher instead.
    let _bystander = tracing::Dispatch::new(tracing_subscriber::registry());
    // A current-thread test: the subscriber of this thread sees every statement it runs.
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(statements.clone()));
    tracing::callsite::rebuild_interest_cache();
    let next = successor_of(&first);
    let outcome = store
        .rotate_refresh_token(&first.token_hash, &next, now())
        .await
        .expect("rotate");
    assert!(matches!(outcome, RotateOutcome::Rotated { .. }));
    let run = statements.take();
    assert_eq!(run.len(), 1, "one round trip: {run:?}");
    assert!(run[0].starts_with("WITH consumed"), "{run:?}");

    let replay = store
        .rotate_refresh_token(&first.token_hash, &successor_of(&first), now())
        .await
        .expect("replay");
    assert!(matches!(
        replay,
        RotateOutcome::Refused(ConsumeOutcome::AlreadyUsed(_))
    ));
    assert_eq!(statements.take().len(), 2, "the refusal reads the token");
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn a_successor_hash_that_exists_undoes_the_whole_rotation() {
    let store = common::fresh_store().await;
    let user = sample_user("alice@example.com");
    store.create_user(&user).await.expect("create");
    let (session, first) = sample_session(&user);
    store.create_session(&session, &first).await.expect("login");
    let other = sample_token(&user, TokenKind::PasswordReset);
    store.insert_token(&other).await.expect("insert");
    let mut clash = successor_of(&first);
    clash.token_hash = other.token_hash;
    let later = now() + Duration::seconds(5);
    assert!(matches!(
        store
            .rotate_refresh_token(&first.token_hash, &clash, later)
            .await,
        Err(StoreError::Conflict)
    ));
    // The statement failed as a whole: the token is unused, the session untouched.
    let presented = store
        .find_token(&first.token_hash, TokenKind::Refresh)
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(presented.used_at, None);
    assert_eq!(
        store.find_session(session.id).await.expect("find"),
        Some(session)
    );
    assert!(matches!(
        store
            .rotate_refresh_token(&first.token_hash, &successor_of(&first), later)
            .await
            .expect("retry"),
        RotateOutcome::Rotated { .. }
    ));
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn a_rotation_into_an_ended_session_uses_the_token_up() {
    let store = common::fresh_store().await;
    let user = sample_user("alice@example.com");
    store.create_user(&user).await.expect("create");
    let (session, first) = sample_session(&user);
    store.create_session(&session, &first).await.expect("login");
    let at = now();
    assert!(
        store
            .revoke_session(session.id, None, at)
            .await
            .expect("revoke")
    );
    let RotateOutcome::SessionEnded(token) = store
        .rotate_refresh_token(&first.token_hash, &successor_of(&first), at)
        .await
        .expect("rotate")
    else {
        panic!("a revoked session must not rotate");
    };
    // The consume and the liveness check are one statement: the token was consumed before
    // the session was found ended (the trait allows either), and its next use is a replay.
    assert_eq!(token.used_at, Some(at));
    assert!(matches!(
        store
            .rotate_refresh_token(&first.token_hash, &successor_of(&first), at)
            .await
            .expect("again"),
        RotateOutcome::Refused(ConsumeOutcome::AlreadyUsed(_))
    ));
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn audit_details_are_stored_as_the_exact_json_text_they_were_hashed_over() {
    let store = common::fresh_store().await;
    let record = AuditRecord::chain(
        None,
        now(),
        AuditEvent {
            event: "login.failed".to_owned(),
            detail: serde_json::json!({"z": 1.5, "a": [1, "två", null], "m": {"y": true}}),
            ..AuditEvent::default()
        },
    );
    store.append_audit_record(&record).await.expect("append");
    let (kind, text): (String, String) =
        sqlx::query_as("SELECT pg_typeof(detail)::text, detail FROM audit_records WHERE seq = $1")
            .bind(record.seq)
            .fetch_one(store.pool())
            .await
            .expect("read the column");
    assert_eq!(kind, "text", "jsonb would reorder and respace the text");
    assert_eq!(
        text,
        serde_json::to_string(&record.detail).expect("serialise")
    );
    let read = store
        .last_audit_record()
        .await
        .expect("last")
        .expect("exists");
    assert_eq!(read.compute_hash(), record.hash);

    sqlx::query("UPDATE audit_records SET detail = 'not json' WHERE seq = $1")
        .bind(record.seq)
        .execute(store.pool())
        .await
        .expect("damage the row");
    assert!(matches!(
        store.last_audit_record().await,
        Err(StoreError::Corrupt(_))
    ));
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn a_bucket_and_a_throttle_under_one_key_keep_their_own_state() {
    let store = common::fresh_store().await;
    let key = CounterKey::new("shared", "value");
    let at = now();
    let limit = RateLimit::new(1, Duration::minutes(1));
    assert_eq!(
        store.take_rate_token(&key, limit, at).await.expect("take"),
        RateDecision::Allowed
    );
    let throttle = Throttle {
        free_failures: 1,
        ..Throttle::default()
    };
    assert_eq!(
        store
            .begin_attempt(&key, throttle, at)
            .await
            .expect("attempt"),
        ThrottleDecision::Allowed { failures: 1 }
    );
    store.clear_attempts(&key).await.expect("clear");
    assert!(
        matches!(
            store.take_rate_token(&key, limit, at).await.expect("take"),
            RateDecision::Limited { .. }
        ),
        "clearing the throttle leaves the bucket as it was"
    );
    assert_eq!(
        store
            .begin_attempt(&key, throttle, at)
            .await
            .expect("attempt"),
        ThrottleDecision::Allowed { failures: 1 }
    );
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn the_throttle_delay_saturates_instead_of_wrapping_around() {
    let store = common::fresh_store().await;
    // A base delay of 2^40 ms: shifted by 24 or more it no longer fits in 64 bits, and a
    // plain shift would wrap around to 0 (no delay at all) or below.
    let throttle = Throttle {
        free_failures: 0,
        base_delay: Duration::milliseconds(1 << 40),
        max_delay: Duration::hours(1),
        forget_after: Duration::hours(2),
    };
    let key = CounterKey::new("login", "alice@example.com");
    let mut at = now();
    for _ in 0..34 {
        let decision = store
            .begin_attempt(&key, throttle, at)
            .await
            .expect("attempt");
        let ThrottleDecision::Allowed { failures } = decision else {
            panic!("the attempt after the delay must pass: {decision:?}");
        };
        let expected = throttle.delay_ms(failures);
        assert!(expected > 0);
        match store
            .begin_attempt(&key, throttle, at)
            .await
            .expect("attempt")
        {
            ThrottleDecision::Throttled { retry_after } => assert_eq!(
                retry_after,
                Duration::milliseconds(expected),
                "after failure {failures}"
            ),
            other => panic!("expected a delay after failure {failures}: {other:?}"),
        }
        at += Duration::milliseconds(expected);
    }
}
