//! The cost of the audit log: login throughput with the audit log on and off on SQLite and
//! PostgreSQL, and the cost of one append. Run with
//! `cargo bench --bench audit --features postgres` (PostgreSQL rows only when
//! `MYAUTH_BENCH_POSTGRES_URL` names a database the bench may create schemas in); the
//! figures are recorded in `benches/README.md`, "Audit log".
//!
//! A round is [`LOGINS`] logins from [`CLIENTS`] concurrent tasks, timed until every audit
//! record of the round is written (the writes run after the answers, so stopping at the
//! last answer would hide them). Rounds alternate off/on so that a change of machine load
//! hits both; the median round is reported.

#![expect(clippy::expect_used, reason = "a benchmark aborts on a setup failure")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_core::secrecy::SecretString;
use auth_core::{
    AuditConfig, AuditEvent, AuthConfig, AuthService, AuthStore, HashingConfig, NewUser, UserId,
    audit,
};

const SECRET: &str = "OYgmqyi5JYM9oZJEYEgaDNNIDwhnDsF6lSkUBNp0QGe";
const PASSWORD: &str = "Str0ng!pass";
const LOGINS: usize = 200;
const CLIENTS: usize = 8;
const ROUNDS: usize = 5;
const APPENDS: usize = 1000;

fn cheap() -> HashingConfig {
    HashingConfig {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
        ..HashingConfig::default()
    }
}

fn service(store: Arc<dyn AuthStore>, audit: bool, hashing: &HashingConfig) -> AuthService {
    AuthService::builder()
        .config(
            AuthConfig::new(SECRET)
                .with_require_verified_email(false)
                .with_ip_limits(None)
                .with_hashing(hashing.clone())
                .with_audit(AuditConfig::new().with_enabled(audit)),
        )
        .shared_store(store)
        .build()
        .expect("service")
}

async fn count(store: &dyn AuthStore) -> i64 {
    store
        .last_audit_record()
        .await
        .expect("last record")
        .map_or(0, |r| r.seq)
}

/// One round: logins per second, audit writes included.
async fn round(store: &Arc<dyn AuthStore>, audit: bool, hashing: &HashingConfig) -> f64 {
    let service = service(Arc::clone(store), audit, hashing);
    let before = count(&**store).await;
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let service = service.clone();
            tokio::spawn(async move {
                let password = SecretString::from(PASSWORD);
                for _ in 0..LOGINS / CLIENTS {
                    service
                        .login(&format!("bench{client}@example.com"), &password)
                        .await
                        .expect("login");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("client");
    }
    if audit {
        let expected = before + LOGINS as i64;
        while count(&**store).await < expected {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    LOGINS as f64 / started.elapsed().as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn logins(name: &str, store: Arc<dyn AuthStore>) {
    for (label, hashing) in [
        ("argon2id 19 MiB t=2 (default)", HashingConfig::default()),
        ("argon2id 256 KiB t=1 (store-bound)", cheap()),
    ] {
        let setup = service(Arc::clone(&store), false, &hashing);
        for client in 0..CLIENTS {
            let email = format!("bench{client}@example.com");
            if store
                .find_user_by_email(&email)
                .await
                .expect("lookup")
                .is_none()
            {
                setup
                    .create_verified_user(NewUser {
                        email,
                        username: format!("bench{client}"),
                        password: SecretString::from(PASSWORD),
                    })
                    .await
                    .expect("user");
            }
        }
        // A warm-up round of each, then alternating rounds.
        round(&store, false, &hashing).await;
        round(&store, true, &hashing).await;
        let (mut off, mut on) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            off.push(round(&store, false, &hashing).await);
            on.push(round(&store, true, &hashing).await);
        }
        let (off, on) = (median(off), median(on));
        println!(
            "{name:10} {label:36} logins/s audit off {off:8.1}  on {on:8.1}  cost {:5.1} %",
            (1.0 - on / off) * 100.0
        );
    }
}

async fn appends(name: &str, store: Arc<dyn AuthStore>) {
    let event = || AuditEvent {
        event: "login.succeeded".to_owned(),
        user_id: Some(UserId::new()),
        session_id: Some(uuid::Uuid::now_v7()),
        ip: Some("192.0.2.1".to_owned()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) bench".to_owned()),
        ..AuditEvent::default()
    };
    let now = || auth_core::truncate_to_millis(time::OffsetDateTime::now_utc());
    let started = Instant::now();
    for _ in 0..APPENDS {
        audit::append(&*store, now(), event())
            .await
            .expect("append");
    }
    let sequential = started.elapsed().as_secs_f64() * 1e6 / APPENDS as f64;
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for _ in 0..APPENDS / CLIENTS {
                    audit::append(&*store, now(), event())
                        .await
                        .expect("append");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer");
    }
    let concurrent = started.elapsed().as_secs_f64() * 1e6 / APPENDS as f64;
    let report = audit::verify(&*store).await.expect("verify");
    assert!(report.broken.is_none(), "the chain broke");
    println!(
        "{name:10} append: {sequential:7.0} µs per record one writer, {concurrent:7.0} µs per \
         record ({:.0} records/s) with {CLIENTS} concurrent writers",
        1e6 / concurrent
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let sqlite: Arc<dyn AuthStore> = Arc::new(
            auth_sqlite::SqliteStore::connect(&url)
                .await
                .expect("sqlite"),
        );
        appends("sqlite", Arc::clone(&sqlite)).await;
        logins("sqlite", sqlite).await;
        #[cfg(feature = "postgres")]
        if let Ok(url) = std::env::var("MYAUTH_BENCH_POSTGRES_URL") {
            let schema = format!("myauth_bench_{}", uuid::Uuid::now_v7().simple());
            let options = auth_postgres::PostgresStoreOptions::new().with_schema(&schema);
            let postgres: Arc<dyn AuthStore> = Arc::new(
                auth_postgres::PostgresStore::connect_with(&url, options)
                    .await
                    .expect("postgres"),
            );
            appends("postgres", Arc::clone(&postgres)).await;
            logins("postgres", postgres).await;
        }
    });
}
