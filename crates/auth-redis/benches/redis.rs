//! The cost of one counter check on Redis: `take_rate_token` and `begin_attempt`, each one
//! `EVALSHA` round trip, from one task, and from 8 concurrent tasks (spawned per iteration)
//! sharing the store's one multiplexed connection; with a bare `PING` round trip beside
//! them for scale.
//!
//! ```text
//! MYAUTH_TEST_REDIS_URL=redis://127.0.0.1:6379 cargo bench -p auth-redis --bench redis
//! ```
//!
//! Keys go under a prefix of their own and are deleted at the end. Run without `--bench`
//! (as `cargo test --benches` does), it only checks that it starts. Medians are recorded in
//! this crate's README.

#![expect(
    clippy::expect_used,
    reason = "a benchmark reports set-up failures by panicking with a message"
)]

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use auth_core::{CounterKey, CounterStore, RateDecision, RateLimit, Throttle, ThrottleDecision};
use auth_redis::redis::{self, AsyncCommands as _};
use auth_redis::{RedisCounterStore, RedisStoreOptions};
use criterion::{Criterion, Throughput};
use futures_util::future::join_all;
use time::{Duration, OffsetDateTime};

const URL_VAR: &str = "MYAUTH_TEST_REDIS_URL";
const CONCURRENT: usize = 8;

/// A bucket that never runs dry within a run (one token per millisecond, 4 billion at
/// once), so every take is allowed and writes: the path a request that passes costs.
const OPEN_BUCKET: RateLimit = RateLimit::new(u32::MAX, Duration::milliseconds(1));

/// A throttle that never delays, so every attempt is counted and written.
fn open_throttle() -> Throttle {
    Throttle {
        free_failures: u32::MAX,
        ..Throttle::default()
    }
}

fn main() -> ExitCode {
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("redis bench: run with `cargo bench` to measure");
        return ExitCode::SUCCESS;
    }
    let Ok(url) = std::env::var(URL_VAR) else {
        eprintln!(
            "the redis bench needs a Redis server: set {URL_VAR}, e.g. \
             {URL_VAR}=redis://127.0.0.1:6379"
        );
        return ExitCode::from(2);
    };
    let mut criterion = Criterion::default().configure_from_args();
    counters(&mut criterion, &url);
    criterion.final_summary();
    ExitCode::SUCCESS
}

fn counters(c: &mut Criterion, url: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let prefix = format!("myauth-bench:{nanos}:");
    let store = rt
        .block_on(RedisCounterStore::connect_with(
            url,
            RedisStoreOptions::new().with_key_prefix(&prefix),
        ))
        .expect("connect to the bench server");
    let now = OffsetDateTime::now_utc();
    let keys: Vec<CounterKey> = (0..CONCURRENT)
        .map(|i| CounterKey::new("bench", &i.to_string()))
        .collect();
    let throttle = open_throttle();

    let mut single = c.benchmark_group("one task");
    single.bench_function("PING (bare round trip)", |b| {
        let conn = store.connection_manager().clone();
        b.to_async(&rt).iter(|| {
            let mut conn = conn.clone();
            async move {
                let _: String = redis::cmd("PING")
                    .query_async(&mut conn)
                    .await
                    .expect("ping");
            }
        });
    });
    single.bench_function("take_rate_token", |b| {
        b.to_async(&rt).iter(|| async {
            let decision = store
                .take_rate_token(&keys[0], OPEN_BUCKET, now)
                .await
                .expect("take");
            assert_eq!(decision, RateDecision::Allowed);
        });
    });
    single.bench_function("begin_attempt", |b| {
        b.to_async(&rt).iter(|| async {
            let decision = store
                .begin_attempt(&keys[0], throttle, now)
                .await
                .expect("attempt");
            assert!(matches!(decision, ThrottleDecision::Allowed { .. }));
        });
    });
    single.finish();

    let mut concurrent = c.benchmark_group(format!("{CONCURRENT} concurrent tasks"));
    concurrent.throughput(Throughput::Elements(CONCURRENT as u64));
    concurrent.bench_function("take_rate_token", |b| {
        b.to_async(&rt).iter(|| {
            join_all(keys.iter().map(|&key| {
                let store = store.clone();
                tokio::spawn(async move { store.take_rate_token(&key, OPEN_BUCKET, now).await })
            }))
        });
    });
    concurrent.bench_function("begin_attempt", |b| {
        b.to_async(&rt).iter(|| {
            join_all(keys.iter().map(|&key| {
                let store = store.clone();
                tokio::spawn(async move { store.begin_attempt(&key, throttle, now).await })
            }))
        });
    });
    concurrent.finish();

    rt.block_on(async {
        let mut conn = store.connection_manager().clone();
        for key in &keys {
            let _: u64 = conn
                .del(&[
                    format!("{prefix}{}:rate", key.to_hex()),
                    format!("{prefix}{}:throttle", key.to_hex()),
                ])
                .await
                .expect("delete the bench keys");
        }
    });
}
