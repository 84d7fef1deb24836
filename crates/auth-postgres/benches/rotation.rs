//! Refresh-token rotation throughput through `AuthService` on PostgreSQL.
//!
//! Each client logs in once, then rotates its own refresh token in a loop (`refresh` with
//! the token the previous call returned) for a fixed time. One rotation is the full
//! production path: the atomic consume, the user read, the new token's insert and the
//! race re-check. Reported: rotations per second at 1, 8 and 32 concurrent clients.
//!
//! ```text
//! MYAUTH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo bench -p auth-postgres --bench rotation
//! ```
//!
//! Optional: `MYAUTH_BENCH_SECONDS` (per level, default 5), `MYAUTH_BENCH_POOL` (pool size,
//! default 32). Run without `--bench` (as `cargo test --benches` does), it only checks that
//! it starts.

#![expect(
    clippy::expect_used,
    reason = "a benchmark reports set-up failures by panicking with a message"
)]

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use auth_core::secrecy::SecretString;
use auth_core::{AuthConfig, AuthService, HashingConfig, NewUser};
use auth_postgres::sqlx::{self, Connection, PgConnection};
use auth_postgres::{PostgresStore, PostgresStoreOptions};
use uuid::Uuid;

const URL_VAR: &str = "MYAUTH_TEST_POSTGRES_URL";
const LEVELS: [usize; 3] = [1, 8, 32];

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&v| v > 0)
        .unwrap_or(default)
}

fn main() -> ExitCode {
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("rotation bench: run with `cargo bench` to measure");
        return ExitCode::SUCCESS;
    }
    let Ok(url) = std::env::var(URL_VAR) else {
        eprintln!(
            "the rotation bench needs a PostgreSQL server: set {URL_VAR}, e.g. \
             {URL_VAR}=postgres://postgres@127.0.0.1:5432/test"
        );
        return ExitCode::from(2);
    };
    let seconds = env_number("MYAUTH_BENCH_SECONDS", 5);
    let pool = u32::try_from(env_number("MYAUTH_BENCH_POOL", 32)).unwrap_or(32);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(&url, Duration::from_secs(seconds), pool));
    ExitCode::SUCCESS
}

async fn run(url: &str, duration: Duration, pool: u32) {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Named like the tests' schemas, so that their clean-up drops it later.
    let schema = format!("myauth_test_{secs}_{}", Uuid::now_v7().simple());
    let options = PostgresStoreOptions::new()
        .with_max_connections(pool)
        .with_schema(&schema);
    let store = PostgresStore::connect_with(url, options)
        .await
        .unwrap_or_else(|e| panic!("connecting to {URL_VAR} failed: {e} ({e:?})"));
    let config = AuthConfig::new("bench secret of at least thirty-two bytes!")
        .with_require_verified_email(false)
        // Hashing is paid once per client at login, outside the measured loop.
        .with_hashing(HashingConfig {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
            ..HashingConfig::default()
        });
    let service = AuthService::builder()
        .config(config)
        .store(store.clone())
        .build()
        .expect("service");

    let server_version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(store.pool())
        .await
        .expect("server version");
    println!(
        "refresh-token rotation through AuthService on PostgreSQL {server_version} \
         (pool {pool}, {}s per level, build profile: {})",
        duration.as_secs(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "optimised"
        }
    );
    println!();
    println!("| clients | rotations | rotations/s | mean latency |");
    println!("|--------:|----------:|------------:|-------------:|");

    let max = LEVELS.iter().copied().max().unwrap_or(1);
    let mut tokens = Vec::with_capacity(max);
    let password = SecretString::from("Str0ng!pass");
    for i in 0..max {
        let email = format!("client{i}@example.com");
        service
            .register(NewUser {
                email: email.clone(),
                username: format!("client {i}"),
                password: password.clone(),
            })
            .await
            .expect("register");
        tokens.push(
            service
                .login(&email, &password)
                .await
                .expect("login")
                .refresh_token,
        );
    }

    for clients in LEVELS {
        let started = Instant::now();
        let deadline = started + duration;
        let tasks: Vec<_> = tokens[..clients]
            .iter()
            .cloned()
            .map(|mut token| {
                let service = service.clone();
                tokio::spawn(async move {
                    let mut rotations = 0u64;
                    while Instant::now() < deadline {
                        token = service
                            .refresh(&token)
                            .await
                            .expect("rotation failed")
                            .refresh_token;
                        rotations += 1;
                    }
                    (rotations, token)
                })
            })
            .collect();
        let mut total = 0u64;
        for (slot, task) in tasks.into_iter().enumerate() {
            let (rotations, token) = task.await.expect("client task");
            total += rotations;
            tokens[slot] = token;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let per_second = total as f64 / elapsed;
        let latency_ms = clients as f64 * 1000.0 / per_second;
        println!("| {clients:>7} | {total:>9} | {per_second:>11.0} | {latency_ms:>9.2} ms |");
    }

    store.close().await;
    // The bench's rows are of no further use.
    if let Ok(mut conn) = PgConnection::connect(url).await {
        let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
    }
}
