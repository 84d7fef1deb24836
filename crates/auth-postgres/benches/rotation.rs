//! Refresh-token rotation throughput on PostgreSQL.
//!
//! Part 1, through `AuthService`: each client logs in once, then rotates its own refresh
//! token in a loop (`refresh` with the token the previous call returned) for a fixed time.
//! One rotation is the service's production path as it stands: the atomic consume, the
//! user read, the new token's insert and the race re-check. Rotations per second at 1, 8
//! and 32 concurrent clients.
//!
//! Part 2, at the store: the same rotation by the OLD path (`consume_token` +
//! `find_user_by_id` + `insert_token` + `find_token`: four statements, four round trips)
//! against `rotate_refresh_token` (one statement), each rotator with its own session, at 1
//! and 8 concurrent rotators: rotations per second and the p50 / p99 latency of one
//! rotation. The two paths alternate level by level, so that a noisy neighbour on a shared
//! server hits both alike.
//!
//! ```text
//! MYAUTH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo bench -p auth-postgres --bench rotation
//! ```
//!
//! Optional: `MYAUTH_BENCH_SECONDS` (per level and path, default 5), `MYAUTH_BENCH_POOL`
//! (pool size, default 32). Run without `--bench` (as `cargo test --benches` does), it only
//! checks that it starts.
//!
//! It is a plain `main`, not criterion: criterion times one future at a time, and what is
//! measured here is throughput and tail latency under concurrent rotators.

#![expect(
    clippy::expect_used,
    reason = "a benchmark reports set-up failures by panicking with a message"
)]

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use auth_core::secrecy::SecretString;
use auth_core::testing::{sample_session, sample_user, successor_of};
use auth_core::{
    AuthConfig, AuthService, ConsumeOutcome, HashingConfig, NewUser, RotateOutcome, SessionStore,
    TokenKind, TokenRecord, TokenStore, UserStore,
};
use auth_postgres::sqlx::{self, Connection, PgConnection};
use auth_postgres::{PostgresStore, PostgresStoreOptions};
use uuid::Uuid;

const URL_VAR: &str = "MYAUTH_TEST_POSTGRES_URL";
const LEVELS: [usize; 3] = [1, 8, 32];
const STORE_LEVELS: [usize; 2] = [1, 8];

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
    let config = AuthConfig::new("lvJo3zQ9jHtD9pjyK-tlGJEQFWS8ABZ9Lh45NeGxvNQ")
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

    println!();
    store_paths(&store, duration).await;

    store.close().await;
    // The bench's rows are of no further use.
    if let Ok(mut conn) = PgConnection::connect(url).await {
        let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
    }
}

/// How one rotation is done at the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// What the service did so far: four statements.
    Old,
    /// `rotate_refresh_token`: one statement.
    OneStatement,
}

impl Path {
    fn name(self) -> &'static str {
        match self {
            Self::Old => "old: consume + find_user + insert + find_token",
            Self::OneStatement => "rotate_refresh_token",
        }
    }

    /// Rotates `current` once; returns the successor.
    async fn rotate(self, store: &PostgresStore, current: &TokenRecord) -> TokenRecord {
        let now = auth_core::testing::now();
        let mut next = successor_of(current);
        match self {
            Self::Old => {
                let ConsumeOutcome::Consumed(record) = store
                    .consume_token(&current.token_hash, TokenKind::Refresh, now)
                    .await
                    .expect("consume")
                else {
                    panic!("the bench's own token must be live");
                };
                store
                    .find_user_by_id(record.user_id)
                    .await
                    .expect("find user")
                    .expect("user exists");
                if let Some(end) = record.family_expires_at {
                    next.expires_at = next.expires_at.min(end);
                }
                store.insert_token(&next).await.expect("insert");
                store
                    .find_token(&current.token_hash, TokenKind::Refresh)
                    .await
                    .expect("re-check");
            }
            Self::OneStatement => {
                let outcome = store
                    .rotate_refresh_token(&current.token_hash, &next, now)
                    .await
                    .expect("rotate");
                assert!(
                    matches!(outcome, RotateOutcome::Rotated { .. }),
                    "the bench's own session must rotate: {outcome:?}"
                );
            }
        }
        next
    }
}

/// One measured level: rotations, elapsed seconds, and every rotation's latency.
struct Run {
    rotations: usize,
    elapsed: f64,
    latencies: Vec<Duration>,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.rotations as f64 / self.elapsed
    }

    fn percentile(&self, p: f64) -> Duration {
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies.get(index).copied().unwrap_or(Duration::ZERO)
    }
}

async fn measure(
    store: &PostgresStore,
    path: Path,
    tokens: &mut [TokenRecord],
    duration: Duration,
) -> Run {
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = tokens
        .iter()
        .cloned()
        .map(|mut token| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let begun = Instant::now();
                    token = path.rotate(&store, &token).await;
                    latencies.push(begun.elapsed());
                }
                (latencies, token)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for (slot, task) in tasks.into_iter().enumerate() {
        let (mine, token) = task.await.expect("rotator task");
        latencies.extend(mine);
        tokens[slot] = token;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    Run {
        rotations: latencies.len(),
        elapsed,
        latencies,
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Part 2: the old path against the one statement, level by level.
async fn store_paths(store: &PostgresStore, duration: Duration) {
    let max = STORE_LEVELS.iter().copied().max().unwrap_or(1);
    // Each rotator has a session (and user) of its own, so the paths differ only in how
    // they rotate, not in what they wait for.
    let mut chains = Vec::with_capacity(max);
    for i in 0..max {
        let user = sample_user(&format!("rotator{i}@example.com"));
        store.create_user(&user).await.expect("create rotator");
        let (session, first) = sample_session(&user);
        store
            .create_session(&session, &first)
            .await
            .expect("create session");
        chains.push(first);
    }
    println!("refresh-token rotation at the store, old path vs one statement");
    println!();
    println!("| rotators | path | rotations | rotations/s | p50 | p99 |");
    println!("|---------:|------|----------:|------------:|----:|----:|");
    let mut ratios = Vec::new();
    for rotators in STORE_LEVELS {
        // A short warm-up of both paths, so neither pays for opening connections or
        // preparing statements inside the measurement.
        for path in [Path::Old, Path::OneStatement] {
            measure(
                store,
                path,
                &mut chains[..rotators],
                Duration::from_millis(300),
            )
            .await;
        }
        let mut rates = Vec::new();
        for path in [Path::Old, Path::OneStatement] {
            let run = measure(store, path, &mut chains[..rotators], duration).await;
            println!(
                "| {rotators:>8} | {} | {:>9} | {:>11.0} | {:.2} ms | {:.2} ms |",
                path.name(),
                run.rotations,
                run.per_second(),
                ms(run.percentile(0.50)),
                ms(run.percentile(0.99)),
            );
            rates.push(run.per_second());
        }
        ratios.push((rotators, rates[1] / rates[0]));
    }
    println!();
    for (rotators, ratio) in ratios {
        println!(
            "{rotators} rotator(s): rotate_refresh_token does {ratio:.2}x the rotations/s of the old path"
        );
    }
}
