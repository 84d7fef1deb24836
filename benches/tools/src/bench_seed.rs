//! Helper of the HTTP benchmarks (`benches/http/run.sh`): fills databases fast and measures
//! the two costs the HTTP figures are compared with. Build it with
//! `cargo build --release -p myauth-bench-tools --bin bench_seed`.
//!
//! - `bench_seed users URL N` — N verified users `user{i}@bench.local` (username `user{i}`,
//!   password `Str0ng!pass`). The password is hashed once, by a [`PasswordHasher`] with the
//!   hashing parameters of the `MYAUTH_*` environment (the ones a server started with the
//!   same environment uses, so logins never need a rehash), and the users are
//!   written with the store's own `create_user`, through a pool tuned for bulk loading:
//!   SQLite with `synchronous = OFF`, PostgreSQL with `synchronous_commit = off`. Users that
//!   already exist are skipped.
//! - `bench_seed expired URL N` — N refresh tokens that expired 53 days ago, spread over the
//!   first 1000 seeded users: up to 1000 written with the store's `insert_token` the same
//!   way, the rest copied from those in SQL (`INSERT … SELECT` with fresh random ids, hashes
//!   and families; every other column as the store wrote it), doubling each time.
//! - `bench_seed purge URL` — `AuthService::purge_expired_tokens` through the ordinary
//!   set-up, timed.
//! - `bench_seed raw-argon2 SECONDS [THREADS]` — the raw argon2id limit: THREADS threads
//!   (default: the configured hash permits) verifying in a tight loop with the configured
//!   parameters, each in reused working memory as the library does.
//! - `bench_seed jwt SECONDS` — `AuthService::authenticate` (the whole access-token check
//!   of `CurrentUser`) in a loop on one thread: verifications per second and µs each.
//! - `bench_seed counter-memory N` — N distinct per-address buckets in the memory store's
//!   counters: resident memory before and after, bytes per key, µs per take.
//!
//! Bulk loading trades durability for speed: a crash during seeding may lose the last
//! rows. Never point this tool at a database whose data matters.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use myauth::secrecy::SecretString;
use myauth::{
    AuthConfig, AuthService, AuthStore, MemoryStore, PasswordHasher, User, UserId, UserSettings,
};
use time::OffsetDateTime;

const PASSWORD: &str = "Str0ng!pass";
/// Expired tokens written through the store; any more are copied from these in SQL.
const DIRECT_EXPIRED: u64 = 1000;
/// Tasks writing rows at once while seeding, unless `BENCH_SEED_TASKS` says otherwise.
const SEED_TASKS: u64 = 16;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args.iter().map(String::as_str).collect::<Vec<_>>()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("error: {reason}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &[&str]) -> Result<(), String> {
    match args {
        ["users", url, n] => seed_users(url, parse(n)?).await,
        ["expired", url, n] => seed_expired(url, parse(n)?).await,
        ["purge", url] => purge(url).await,
        ["raw-argon2", secs] => raw_argon2(parse(secs)?, None),
        ["raw-argon2", secs, threads] => raw_argon2(parse(secs)?, Some(parse(threads)?)),
        ["jwt", secs] => jwt(parse(secs)?).await,
        ["counter-memory", n] => counter_memory(parse(n)?).await,
        _ => Err("usage: bench_seed users URL N | expired URL N | purge URL \
                  | raw-argon2 SECONDS [THREADS] | jwt SECONDS | counter-memory N"
            .to_owned()),
    }
}

/// The resident memory of this process, from `/proc/self/status` (KiB).
fn rss_kib() -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS in /proc/self/status".to_owned())
}

/// `counter-memory N`: N distinct per-address buckets in the memory store's counters (one
/// token taken from each, as N clients would), and the resident memory that costs.
async fn counter_memory(n: u64) -> Result<(), String> {
    use myauth::auth_core::{CounterKey, CounterStore as _, MemoryStore, RateLimit};

    let store = MemoryStore::new();
    let limit = RateLimit::new(10, time::Duration::minutes(1));
    let now = time::OffsetDateTime::now_utc();
    let before = rss_kib()?;
    let started = Instant::now();
    for i in 0..n {
        let ip = std::net::Ipv4Addr::from(u32::try_from(i).unwrap_or(u32::MAX));
        let key = CounterKey::new("ip:login", &ip.to_string());
        store
            .take_rate_token(&key, limit, now)
            .await
            .map_err(|e| e.to_string())?;
    }
    let elapsed = started.elapsed();
    let after = rss_kib()?;
    let grown = after.saturating_sub(before);
    println!(
        "{n} counters: RSS {before} KiB -> {after} KiB (+{grown} KiB, {:.0} bytes per key), \
         {:.2} µs per take",
        grown as f64 * 1024.0 / n as f64,
        elapsed.as_secs_f64() * 1e6 / n as f64
    );
    Ok(())
}

fn parse(raw: &str) -> Result<u64, String> {
    raw.parse()
        .map_err(|_| format!("{raw:?} is not a whole number"))
}

fn config() -> Result<AuthConfig, String> {
    AuthConfig::from_env().map_err(|e| e.to_string())
}

/// The database behind a bulk-loading store, for the one step that goes around the store:
/// multiplying expired token rows.
enum Bulk {
    Sqlite(myauth::auth_sqlite::sqlx::SqlitePool),
    Postgres(myauth::auth_postgres::sqlx::PgPool),
}

/// The store of `url`, opened with a pool tuned for bulk loading, migrated.
async fn bulk_store(url: &str) -> Result<(Arc<dyn AuthStore>, Bulk), String> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" => sqlite_bulk_store(url).await,
        "postgres" | "postgresql" => postgres_bulk_store(url).await,
        _ => Err(format!(
            "bench_seed bulk-loads sqlite: and postgres: URLs only, not {scheme:?}"
        )),
    }
}

async fn sqlite_bulk_store(url: &str) -> Result<(Arc<dyn AuthStore>, Bulk), String> {
    use std::str::FromStr as _;

    use myauth::auth_sqlite::SqliteStore;
    use myauth::auth_sqlite::sqlx::sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
    };

    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| format!("bad SQLite URL: {e}"))?
        .create_if_missing(true)
        .foreign_keys(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Off)
        // 256 MiB of page cache, so that bulk inserts do not re-read index pages.
        .pragma("cache_size", "-262144")
        .busy_timeout(Duration::from_secs(30));
    // SQLite has one writer: one connection, and the tasks queue for it.
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(|e| format!("cannot open the SQLite database: {e}"))?;
    let store = SqliteStore::new(pool.clone());
    store.migrate().await.map_err(|e| e.to_string())?;
    Ok((Arc::new(store), Bulk::Sqlite(pool)))
}

async fn postgres_bulk_store(url: &str) -> Result<(Arc<dyn AuthStore>, Bulk), String> {
    use std::str::FromStr as _;

    use myauth::auth_postgres::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    use myauth::auth_postgres::{PostgresStore, PostgresStoreOptions};

    let options = PgConnectOptions::from_str(url)
        .map_err(|_| "bad PostgreSQL URL".to_owned())?
        .options([("synchronous_commit", "off")]);
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(30))
        .connect_lazy_with(options);
    let store = PostgresStore::from_pool(pool.clone(), PostgresStoreOptions::new())
        .await
        .map_err(|e| e.to_string())?;
    Ok((Arc::new(store), Bulk::Postgres(pool)))
}

impl Bulk {
    /// Doubles the expired token rows, copying them with fresh random ids, hashes and
    /// families (every other column as the store wrote it), until there are `target`.
    /// One `INSERT … SELECT` per doubling: a million rows take seconds instead of the
    /// minutes of a million single-row commits.
    async fn multiply_expired(self, target: u64) -> Result<(), String> {
        let target = i64::try_from(target).map_err(|e| e.to_string())?;
        match self {
            Self::Sqlite(pool) => {
                use myauth::auth_sqlite::sqlx;
                let (pool, now_ms) = (&pool, OffsetDateTime::now_utc().unix_timestamp() * 1000);
                double_until(
                    target,
                    move || async move {
                        sqlx::query_scalar("SELECT count(*) FROM tokens WHERE expires_at < ?1")
                            .bind(now_ms)
                            .fetch_one(pool)
                            .await
                    },
                    move |n| async move {
                        sqlx::query(
                            "INSERT INTO tokens (id, user_id, kind, token_hash, family_id, \
                             family_expires_at, expires_at, created_at, used_at, revoked_at) \
                             SELECT randomblob(16), user_id, kind, randomblob(32), randomblob(16), \
                             family_expires_at, expires_at, created_at, used_at, revoked_at \
                             FROM tokens WHERE expires_at < ?1 LIMIT ?2",
                        )
                        .bind(now_ms)
                        .bind(n)
                        .execute(pool)
                        .await
                        .map(drop)
                    },
                )
                .await
            }
            Self::Postgres(pool) => {
                use myauth::auth_postgres::sqlx;
                let pool = &pool;
                double_until(
                    target,
                    move || async move {
                        sqlx::query_scalar("SELECT count(*) FROM tokens WHERE expires_at < now()")
                            .fetch_one(pool)
                            .await
                    },
                    move |n| async move {
                        sqlx::query(
                            "INSERT INTO tokens (id, user_id, kind, token_hash, family_id, \
                             family_expires_at, expires_at, created_at, used_at, revoked_at) \
                             SELECT gen_random_uuid(), user_id, kind, \
                             sha256(convert_to(gen_random_uuid()::text, 'UTF8')), gen_random_uuid(), \
                             family_expires_at, expires_at, created_at, used_at, revoked_at \
                             FROM tokens WHERE expires_at < now() LIMIT $1",
                        )
                        .bind(n)
                        .execute(pool)
                        .await
                        .map(drop)
                    },
                )
                .await
            }
        }
    }
}

/// Copies rows until `count` reaches `target`: each round `copy(n)` copies `n` of the rows
/// `count` sees, at most doubling them.
async fn double_until<E: std::fmt::Display, C, CF, P, PF>(
    target: i64,
    count: C,
    copy: P,
) -> Result<(), String>
where
    C: Fn() -> CF,
    CF: Future<Output = Result<i64, E>>,
    P: Fn(i64) -> PF,
    PF: Future<Output = Result<(), E>>,
{
    loop {
        let have = count().await.map_err(|e| e.to_string())?;
        if have >= target || have == 0 {
            return Ok(());
        }
        copy(have.min(target - have))
            .await
            .map_err(|e| e.to_string())?;
    }
}

/// Runs `job(i)` for every i in 0..n on [`SEED_TASKS`] tasks (or `BENCH_SEED_TASKS`).
async fn for_each_concurrently<F, Fut>(n: u64, job: F) -> Result<(), String>
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let tasks = std::env::var("BENCH_SEED_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SEED_TASKS)
        .max(1);
    let next = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..tasks)
        .map(|_| {
            let (next, job) = (Arc::clone(&next), job.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok::<(), String>(());
                    }
                    job(i).await?;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

async fn seed_users(url: &str, n: u64) -> Result<(), String> {
    let (store, _) = bulk_store(url).await?;
    let hash = PasswordHasher::new(config()?.hashing())
        .map_err(|e| e.to_string())?
        .hash(&SecretString::from(PASSWORD))
        .await
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    for_each_concurrently(n, move |i| {
        let (store, hash) = (Arc::clone(&store), hash.clone());
        async move {
            let now = myauth::truncate_to_millis(OffsetDateTime::now_utc());
            let user = User {
                id: UserId::new(),
                email: format!("user{i}@bench.local"),
                username: format!("user{i}"),
                password_hash: hash,
                roles: Vec::new(),
                user_settings: UserSettings::new(),
                is_verified: true,
                is_active: true,
                mfa_enabled: false,
                created_at: now,
                updated_at: now,
                token_version: 0,
                session_epoch: 0,
            };
            match store.create_user(&user).await {
                Ok(()) | Err(myauth::StoreError::Conflict) => Ok(()),
                Err(e) => Err(e.to_string()),
            }
        }
    })
    .await?;
    println!("seeded {n} users in {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}

async fn seed_expired(url: &str, n: u64) -> Result<(), String> {
    use myauth::{TokenHash, TokenKind, TokenRecord};

    let (store, bulk) = bulk_store(url).await?;
    let owners: Arc<Vec<UserId>> = Arc::new(
        store
            .list_users(1000, 0)
            .await
            .map_err(|e| e.to_string())?
            .items
            .into_iter()
            .map(|user| user.id)
            .collect(),
    );
    if owners.is_empty() {
        return Err("seed users first".to_owned());
    }
    let created = myauth::truncate_to_millis(OffsetDateTime::now_utc() - time::Duration::days(60));
    let start = Instant::now();
    // The first rows (up to 1000) through the store, one per user; the rest copied from them.
    let direct = n.min(DIRECT_EXPIRED);
    for_each_concurrently(direct, move |i| {
        let (store, owners) = (Arc::clone(&store), Arc::clone(&owners));
        async move {
            let index = usize::try_from(i).unwrap_or_default() % owners.len();
            let record = TokenRecord {
                id: uuid::Uuid::now_v7(),
                user_id: owners[index],
                kind: TokenKind::Refresh,
                token_hash: TokenHash::of(&format!("expired-{i}-{}", uuid::Uuid::now_v7())),
                family_id: Some(uuid::Uuid::now_v7()),
                family_expires_at: Some(created + time::Duration::days(30)),
                expires_at: created + time::Duration::days(7),
                created_at: created,
                used_at: None,
                revoked_at: None,
            };
            store.insert_token(&record).await.map_err(|e| e.to_string())
        }
    })
    .await?;
    bulk.multiply_expired(n).await?;
    println!(
        "seeded {n} expired tokens ({direct} with insert_token, the rest copied from them in SQL) in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn purge(url: &str) -> Result<(), String> {
    let service = myauth::from_url(url)
        .map_err(|e| e.to_string())?
        .config(config()?)
        .service()
        .await
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    let purged = service
        .purge_expired_tokens()
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "purged {purged} expired tokens in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The configured argon2id parameters and permits, verifying in a tight loop the way the
/// library does: one reused working memory per thread, the configured parameters.
fn raw_argon2(seconds: u64, threads: Option<u64>) -> Result<(), String> {
    use argon2::{Algorithm, Argon2, Block, Params, Version};

    let config = config()?;
    let hashing = config.hashing();
    let threads = threads.unwrap_or(hashing.max_concurrent as u64).max(1);
    let params = Params::new(
        hashing.memory_kib,
        hashing.iterations,
        hashing.parallelism,
        None,
    )
    .map_err(|e| e.to_string())?;
    let salt = *b"bench-salt-16byt";
    let mut expected = [0u8; 32];
    let mut memory = vec![Block::default(); params.block_count()];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(PASSWORD.as_bytes(), &salt, &mut expected, &mut memory)
        .map_err(|e| e.to_string())?;
    drop(memory);
    let count = Arc::new(AtomicU64::new(0));
    let seconds = seconds.max(1);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (count, params) = (Arc::clone(&count), params.clone());
            std::thread::spawn(move || {
                let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
                let mut memory = vec![Block::default(); params.block_count()];
                let mut out = [0u8; 32];
                while Instant::now() < deadline {
                    let ok = argon2
                        .hash_password_into_with_memory(
                            PASSWORD.as_bytes(),
                            &salt,
                            &mut out,
                            &mut memory,
                        )
                        .is_ok();
                    if ok && out == expected {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().map_err(|_| "a worker panicked".to_owned())?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let done = count.load(Ordering::Relaxed) as f64;
    println!(
        "raw argon2id (m={} KiB, t={}, p={}) verifications/s on {threads} threads: {:.1} ({:.1} ms each)",
        hashing.memory_kib,
        hashing.iterations,
        hashing.parallelism,
        done / elapsed,
        1000.0 * elapsed * threads as f64 / done.max(1.0),
    );
    Ok(())
}

/// The whole access-token check of `CurrentUser`, on one thread.
async fn jwt(seconds: u64) -> Result<(), String> {
    let service = AuthService::builder()
        .config(config()?.with_require_verified_email(false))
        .store(MemoryStore::new())
        .build()
        .map_err(|e| e.to_string())?;
    let password = SecretString::from(PASSWORD);
    service
        .register(myauth::NewUser {
            email: "jwt@bench.local".to_owned(),
            username: "jwt".to_owned(),
            password: password.clone(),
        })
        .await
        .map_err(|e| e.to_string())?;
    let tokens = service
        .login("jwt@bench.local", &password)
        .await
        .map_err(|e| e.to_string())?;
    let token = tokens.access_token;
    let seconds = seconds.max(1);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut done: u64 = 0;
    while Instant::now() < deadline {
        for _ in 0..1000 {
            service
                .authenticate(std::hint::black_box(&token))
                .map_err(|e| e.to_string())?;
        }
        done += 1000;
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "access-token verifications/s on one thread: {:.0} ({:.2} us each, token of {} bytes)",
        done as f64 / elapsed,
        1e6 * elapsed / done as f64,
        token.len()
    );
    Ok(())
}
