//! When PostgreSQL is missing, silent or gone, the store fails fast and clearly, and the
//! service answers 503: never a panic, never a hang (docs/http-contract.md, Conventions).

#![expect(
    clippy::expect_used,
    reason = "test helpers report failures by panicking with a message"
)]

mod common;

use std::error::Error as _;
use std::future::Future;
use std::net::TcpListener;
use std::str::FromStr as _;
use std::time::{Duration, Instant};

use auth_core::secrecy::SecretString;
use auth_core::testing::{sample_session, sample_token, sample_user, successor_of};
use auth_core::{
    AuditEvent, AuditQuery, AuditRecord, AuditStore, AuthError, CounterKey, CounterStore, MfaStore,
    NewUser, RateLimit, RecoveryCodeHash, SessionStore, StoreError, Throttle, TokenKind,
    TokenStore, TotpRecord, UserId, UserPatch, UserStore,
};
use auth_postgres::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use auth_postgres::{Error, PostgresStore, PostgresStoreOptions};
use time::OffsetDateTime;
use uuid::Uuid;

const PASSWORD: &str = "pw-s3cret-do-not-print";

/// A local port nobody listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Everything an error shows: Display, Debug, and its whole source chain.
fn everything_shown(error: &(dyn std::error::Error + 'static)) -> String {
    let mut shown = format!("{error} {error:?}");
    let mut source = error.source();
    while let Some(cause) = source {
        shown.push_str(&format!(" | {cause} {cause:?}"));
        source = cause.source();
    }
    shown
}

/// Fails the test if `future` takes longer than `limit`, instead of hanging the run.
async fn within<T>(limit: Duration, what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {limit:?}"))
}

fn assert_unavailable<T: std::fmt::Debug>(what: &str, result: Result<T, StoreError>) {
    match result {
        Err(StoreError::Unavailable(source)) => {
            assert!(
                !everything_shown(source.as_ref()).contains(PASSWORD),
                "{what}: the error shows the password"
            );
        }
        other => panic!("{what}: expected StoreError::Unavailable, got {other:?}"),
    }
}

/// Calls every operation of every store trait and expects each to be unavailable.
async fn every_operation_is_unavailable(store: &PostgresStore) {
    let user = sample_user("alice@example.com");
    let token = sample_token(&user, TokenKind::Refresh);
    let now = OffsetDateTime::now_utc();
    assert_unavailable("create_user", store.create_user(&user).await);
    assert_unavailable("find_user_by_id", store.find_user_by_id(user.id).await);
    assert_unavailable(
        "find_user_by_email",
        store.find_user_by_email(&user.email).await,
    );
    assert_unavailable(
        "update_user",
        store.update_user(user.id, &UserPatch::default()).await,
    );
    assert_unavailable("list_users", store.list_users(10, 0).await);
    assert_unavailable("insert_token", store.insert_token(&token).await);
    assert_unavailable(
        "find_token",
        store.find_token(&token.token_hash, token.kind).await,
    );
    assert_unavailable(
        "consume_token",
        store
            .consume_token(&token.token_hash, token.kind, now)
            .await,
    );
    assert_unavailable(
        "revoke_token",
        store.revoke_token(&token.token_hash, token.kind, now).await,
    );
    assert_unavailable(
        "revoke_token_family",
        store.revoke_token_family(Uuid::now_v7(), now).await,
    );
    assert_unavailable(
        "revoke_user_tokens",
        store.revoke_user_tokens(UserId::new(), None, now).await,
    );
    assert_unavailable(
        "purge_expired_tokens",
        store.purge_expired_tokens(now).await,
    );
    every_new_capability_is_unavailable(store, &user, now).await;
}

/// The operations of the session, counter, audit and MFA traits.
async fn every_new_capability_is_unavailable(
    store: &PostgresStore,
    user: &auth_core::User,
    now: OffsetDateTime,
) {
    let (session, first) = sample_session(user);
    assert_unavailable(
        "create_session",
        store.create_session(&session, &first).await,
    );
    assert_unavailable("find_session", store.find_session(session.id).await);
    assert_unavailable(
        "find_user_and_session",
        store.find_user_and_session(user.id, session.id).await,
    );
    assert_unavailable(
        "list_user_sessions",
        store.list_user_sessions(user.id, now).await,
    );
    assert_unavailable(
        "rotate_refresh_token",
        store
            .rotate_refresh_token(&first.token_hash, &successor_of(&first), now)
            .await,
    );
    assert_unavailable(
        "revoke_session",
        store.revoke_session(session.id, None, now).await,
    );
    assert_unavailable(
        "revoke_user_sessions",
        store.revoke_user_sessions(user.id, None, now).await,
    );
    assert_unavailable("revocations_since", store.revocations_since(now).await);
    assert_unavailable(
        "purge_expired_sessions",
        store.purge_expired_sessions(now).await,
    );
    let key = CounterKey::new("test", "key");
    assert_unavailable(
        "take_rate_token",
        store
            .take_rate_token(&key, RateLimit::new(1, time::Duration::SECOND), now)
            .await,
    );
    assert_unavailable(
        "begin_attempt",
        store.begin_attempt(&key, Throttle::default(), now).await,
    );
    assert_unavailable("clear_attempts", store.clear_attempts(&key).await);
    assert_unavailable(
        "purge_expired_counters",
        store.purge_expired_counters(now).await,
    );
    let record = AuditRecord::chain(None, now, AuditEvent::default());
    assert_unavailable("last_audit_record", store.last_audit_record().await);
    assert_unavailable(
        "append_audit_record",
        store.append_audit_record(&record).await,
    );
    assert_unavailable(
        "list_audit_records",
        store
            .list_audit_records(&AuditQuery {
                limit: 10,
                ..AuditQuery::default()
            })
            .await,
    );
    assert_unavailable(
        "audit_records_after",
        store.audit_records_after(0, 10).await,
    );
    assert_unavailable("audit_anchor", store.audit_anchor().await);
    assert_unavailable(
        "purge_audit_records",
        store.purge_audit_records(now, now).await,
    );
    let totp = TotpRecord {
        user_id: user.id,
        secret: vec![1; 20],
        created_at: now,
        confirmed_at: None,
        pending_expires_at: now,
        last_used_step: None,
    };
    let code = RecoveryCodeHash([7; 32]);
    assert_unavailable("put_pending_totp", store.put_pending_totp(&totp).await);
    assert_unavailable("find_totp", store.find_totp(user.id).await);
    assert_unavailable("confirm_totp", store.confirm_totp(user.id, 1, now).await);
    assert_unavailable("use_totp_step", store.use_totp_step(user.id, 2).await);
    assert_unavailable("delete_totp", store.delete_totp(user.id).await);
    assert_unavailable(
        "replace_recovery_codes",
        store.replace_recovery_codes(user.id, &[code], now).await,
    );
    assert_unavailable(
        "use_recovery_code",
        store.use_recovery_code(user.id, &code, now).await,
    );
    assert_unavailable(
        "count_recovery_codes",
        store.count_recovery_codes(user.id).await,
    );
    assert_unavailable("purge_expired_totp", store.purge_expired_totp(now).await);
}

/// The service's use cases that reach the store answer `Unavailable` (503).
async fn service_answers_503(store: PostgresStore) {
    let service = common::service(store);
    let password = SecretString::from("Str0ng!pass");
    let outcomes = [
        (
            "register",
            service
                .register(NewUser {
                    email: "bob@example.com".into(),
                    username: "bob".into(),
                    password: password.clone(),
                })
                .await
                .map(|_| ()),
        ),
        (
            "login",
            service
                .login("alice@example.com", &password)
                .await
                .map(|_| ()),
        ),
        (
            "refresh",
            service
                .refresh("a-refresh-token-that-cannot-be-looked-up")
                .await
                .map(|_| ()),
        ),
        ("me", {
            let someone = auth_core::testing::sample_user("someone@example.com");
            let token = service.issue_access_token(&someone).expect("token");
            let claims = service.authenticate(&token).expect("claims");
            service.me(&claims).await.map(|_| ())
        }),
    ];
    for (what, outcome) in outcomes {
        match outcome {
            Err(error @ AuthError::Unavailable(_)) => {
                assert_eq!(error.status(), 503, "{what}");
                assert_eq!(error.code(), "service_unavailable", "{what}");
                assert_eq!(
                    error.to_string(),
                    "service temporarily unavailable",
                    "{what}"
                );
            }
            other => panic!("{what}: expected AuthError::Unavailable, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn connecting_to_a_port_with_nothing_listening_fails_fast_with_a_clear_error() {
    let port = closed_port();
    let url = format!("postgres://postgres:{PASSWORD}@127.0.0.1:{port}/test");
    let started = Instant::now();
    let result = within(
        Duration::from_secs(10),
        "connect",
        PostgresStore::connect(&url),
    )
    .await;
    let elapsed = started.elapsed();
    let error = result.expect_err("nothing listens there");
    assert!(
        elapsed < Duration::from_secs(2),
        "a refused connection must fail at once, took {elapsed:?}"
    );
    let target = format!("127.0.0.1:{port}/test");
    match &error {
        Error::Connect { target: t, source } => {
            assert_eq!(t, &target);
            assert!(
                matches!(source, auth_postgres::sqlx::Error::Io(io)
                    if io.kind() == std::io::ErrorKind::ConnectionRefused),
                "the cause is kept: {source:?}"
            );
        }
        other => panic!("expected Error::Connect, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        format!("could not connect to PostgreSQL at {target}")
    );
    assert!(error.source().is_some());
    let shown = everything_shown(&error);
    assert!(!shown.contains(PASSWORD), "password shown: {shown}");
}

#[tokio::test]
async fn connecting_to_a_server_that_never_answers_times_out() {
    // Accepts TCP connections (the kernel's backlog does) but never says a word.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let url = format!("postgres://postgres:{PASSWORD}@127.0.0.1:{port}/test");
    let started = Instant::now();
    let result = within(
        Duration::from_secs(10),
        "connect",
        PostgresStore::connect_with(
            &url,
            PostgresStoreOptions::new().with_connect_timeout(Duration::from_millis(300)),
        ),
    )
    .await;
    let elapsed = started.elapsed();
    match result {
        Err(error @ Error::ConnectTimeout { .. }) => {
            assert_eq!(
                error.to_string(),
                format!("connecting to PostgreSQL at 127.0.0.1:{port}/test timed out after 300ms")
            );
            assert!(!everything_shown(&error).contains(PASSWORD));
        }
        other => panic!("expected Error::ConnectTimeout, got {other:?}"),
    }
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    drop(silent);
}

#[tokio::test]
async fn invalid_urls_are_refused_without_showing_them() {
    let url = format!("postgres://postgres:{PASSWORD}@127.0.0.1:notaport/test");
    let error = PostgresStore::connect(&url)
        .await
        .expect_err("the port is not a number");
    assert!(matches!(error, Error::InvalidUrl(_)), "{error:?}");
    assert!(!everything_shown(&error).contains(PASSWORD));
}

#[tokio::test]
async fn operations_against_an_unreachable_server_are_unavailable_and_the_service_answers_503() {
    let port = closed_port();
    let options = PgConnectOptions::new_without_pgpass()
        .host("127.0.0.1")
        .port(port)
        .username("postgres")
        .password(PASSWORD)
        .database("test");
    // A pool the application built itself, lazily, while the server was already gone.
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(100))
        .connect_lazy_with(options);
    let store = PostgresStore::new(pool);
    assert!(!format!("{store:?}").contains(PASSWORD));
    within(
        Duration::from_secs(20),
        "store operations",
        every_operation_is_unavailable(&store),
    )
    .await;
    within(
        Duration::from_secs(20),
        "service calls",
        service_answers_503(store),
    )
    .await;
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn a_pool_closed_underneath_makes_operations_unavailable_and_the_service_answer_503() {
    let store = common::fresh_store().await;
    let service = common::service(store.clone());
    let password = SecretString::from("Str0ng!pass");
    service
        .register(NewUser {
            email: "alice@example.com".into(),
            username: "alice".into(),
            password: password.clone(),
        })
        .await
        .expect("register while the pool is open");
    let tokens = service
        .login("alice@example.com", &password)
        .await
        .expect("login while the pool is open");

    // Closed through one clone: every clone, the service's included, shares the pool.
    store.pool().close().await;
    assert!(store.pool().is_closed());

    within(
        Duration::from_secs(10),
        "store operations",
        every_operation_is_unavailable(&store),
    )
    .await;
    let refreshed = within(
        Duration::from_secs(10),
        "refresh",
        service.refresh(&tokens.refresh_token),
    )
    .await;
    match refreshed {
        Err(error @ AuthError::Unavailable(_)) => assert_eq!(error.status(), 503),
        other => panic!("expected AuthError::Unavailable, got {other:?}"),
    }
    within(
        Duration::from_secs(10),
        "service calls",
        service_answers_503(store),
    )
    .await;
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn an_operation_the_server_never_finishes_is_unavailable_after_the_operation_timeout() {
    use auth_postgres::sqlx::{Connection, PgConnection};

    let schema = common::fresh_schema();
    let store = common::store_in(&schema)
        .await
        .with_operation_timeout(Duration::from_millis(500));
    let user = sample_user("alice@example.com");
    store.create_user(&user).await.expect("create");

    // Another session holds an exclusive lock, so our next read waits indefinitely: the
    // shape of a server that stopped answering on an open connection.
    let mut blocker = PgConnection::connect(&common::url())
        .await
        .expect("connect blocker");
    auth_postgres::sqlx::query("BEGIN")
        .execute(&mut blocker)
        .await
        .expect("begin");
    auth_postgres::sqlx::query(&format!(
        "LOCK TABLE \"{schema}\".users IN ACCESS EXCLUSIVE MODE"
    ))
    .execute(&mut blocker)
    .await
    .expect("lock");

    let started = Instant::now();
    let result = within(
        Duration::from_secs(10),
        "blocked read",
        store.find_user_by_id(user.id),
    )
    .await;
    let elapsed = started.elapsed();
    match result {
        Err(StoreError::Unavailable(source)) => {
            assert!(
                source.to_string().contains("did not answer within 500ms"),
                "{source}"
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(
        elapsed >= Duration::from_millis(500) && elapsed < Duration::from_secs(3),
        "took {elapsed:?}"
    );

    blocker.close().await.expect("release the lock");
    // The store recovers once the server answers again.
    let found = within(
        Duration::from_secs(10),
        "read after release",
        store.find_user_by_id(user.id),
    )
    .await;
    assert_eq!(found.expect("read").map(|u| u.id), Some(user.id));
}

/// Ends every server process of the store's pool, as a database restart or an idle-session
/// timeout would, and waits until the server has ended them.
async fn terminate_pool_connections(store: &PostgresStore) {
    use auth_postgres::sqlx::Connection as _;

    let mut admin = auth_postgres::sqlx::PgConnection::connect(&common::url())
        .await
        .expect("admin connection");
    let application = store
        .pool()
        .connect_options()
        .get_application_name()
        .map(str::to_owned);
    let pids: Vec<i32> = auth_postgres::sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() \
         AND datname = current_database() AND application_name IS NOT DISTINCT FROM $1 \
         AND backend_start >= now() - interval '1 minute'",
    )
    .bind(application)
    .fetch_all(&mut admin)
    .await
    .expect("list backends");
    assert!(
        !pids.is_empty(),
        "the pool holds no connection to terminate"
    );
    for pid in pids {
        let _: bool = auth_postgres::sqlx::query_scalar("SELECT pg_terminate_backend($1, 5000)")
            .bind(pid)
            .fetch_one(&mut admin)
            .await
            .expect("terminate backend");
    }
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn connections_the_server_dropped_are_replaced_once_idle_without_a_failed_operation() {
    let application = format!("myauth-idle-test-{}", Uuid::now_v7().simple());
    let schema = common::fresh_schema();
    let connect = PgConnectOptions::from_str(&common::url())
        .expect("url")
        .application_name(&application);
    let connect = common::options(&schema).apply_to(connect).expect("schema");
    let store = PostgresStore::connect_to(connect, common::options(&schema))
        .await
        .expect("connect");
    let user = sample_user("idle@example.com");
    store.create_user(&user).await.expect("create");
    // Several connections in the pool, all used moments ago.
    let mut reads = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let store = store.clone();
        reads.spawn(async move { store.find_user_by_id(user.id).await });
    }
    while let Some(read) = reads.join_next().await {
        assert!(read.expect("task").expect("read").is_some());
    }

    terminate_pool_connections(&store).await;
    // Idle past the validation window: the pool pings, sees them gone and reconnects.
    tokio::time::sleep(PostgresStoreOptions::VALIDATE_AFTER_IDLE + Duration::from_millis(200))
        .await;
    for _ in 0..8 {
        let found = within(
            Duration::from_secs(10),
            "a read after the restart",
            store.find_user_by_id(user.id),
        )
        .await
        .expect("a read after the server dropped idle connections must not fail");
        assert_eq!(found.map(|u| u.id), Some(user.id));
    }
}
