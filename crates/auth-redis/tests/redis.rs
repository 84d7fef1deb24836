//! What the conformance suite cannot check on Redis: several processes sharing one count,
//! the scripts against the Rust rules they copy, where keys live and when they expire,
//! unreadable states, and a Redis that is missing, silent or gone.

#![expect(
    clippy::expect_used,
    reason = "test helpers report failures by panicking with a message"
)]

mod common;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use auth_core::{
    CounterKey, CounterStore, RateDecision, RateLimit, StoreError, Throttle, ThrottleDecision,
    ThrottleState, unix_millis,
};
use auth_redis::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use auth_redis::redis::{self, AsyncCommands as _};
use auth_redis::{Error, RedisCounterStore, RedisStoreOptions};
use time::{Duration, OffsetDateTime};
use tokio::net::TcpListener;
use tokio::sync::Barrier;

/// What the scripts' range allows to add to a time (2^51 ms); the crate caps the
/// throttle's longest delay and window there.
const MAX_SPAN_MS: i64 = 1 << 51;

/// A state expiring sooner than this after its check may be gone from Redis before the
/// test reads it back (the key's expiry runs on Redis's clock); a longer one must be there,
/// with a PTTL no more than this below its state's.
const SHORT_LIVED_MS: i64 = 1_000;

/// Fails the test if `future` takes longer than `limit`, instead of hanging the run.
async fn within<T>(limit: std::time::Duration, what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {limit:?}"))
}

/// Every key under `prefix`, sorted, as Redis's own SCAN finds them.
async fn keys_under(raw: &mut redis::aio::MultiplexedConnection, prefix: &str) -> Vec<String> {
    let mut iter = raw
        .scan_match::<_, String>(format!("{prefix}*"))
        .await
        .expect("scan");
    let mut keys = Vec::new();
    while let Some(key) = iter.next_item().await {
        keys.push(key.expect("key name"));
    }
    keys.sort();
    keys
}

fn hex_key(prefix: &str, key: &CounterKey, kind: &str) -> String {
    format!("{prefix}{}:{kind}", key.to_hex())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs MYAUTH_TEST_REDIS_URL"]
async fn two_processes_share_one_count() {
    // Two handles with connections of their own, as two application processes have.
    let (first, _keys) = common::fresh_store().await;
    let second = common::store_with_prefix(first.key_prefix()).await;
    let stores = [first, second];
    let key = CounterKey::new("ip", "203.0.113.7");
    let limit = RateLimit::new(5, Duration::hours(1));
    let throttle = Throttle::default();
    let now = auth_core::testing::now();

    let tasks = 32;
    let barrier = Arc::new(Barrier::new(tasks));
    let handles: Vec<_> = (0..tasks)
        .map(|i| {
            let store = stores[i % 2].clone();
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                let rate = store.take_rate_token(&key, limit, now).await;
                let attempt = store.begin_attempt(&key, throttle, now).await;
                (rate, attempt)
            })
        })
        .collect();
    let (mut allowed, mut counted) = (0, Vec::new());
    for handle in handles {
        let (rate, attempt) = handle.await.expect("task panicked");
        if rate.expect("take") == RateDecision::Allowed {
            allowed += 1;
        }
        if let ThrottleDecision::Allowed { failures } = attempt.expect("attempt") {
            counted.push(failures);
        }
    }
    assert_eq!(allowed, 5, "exactly the burst passes across both processes");
    counted.sort_unstable();
    assert_eq!(counted, (1..=10).collect::<Vec<u32>>());

    // Each sees what the other wrote.
    assert!(matches!(
        stores[0].take_rate_token(&key, limit, now).await,
        Ok(RateDecision::Limited { .. })
    ));
    stores[1].clear_attempts(&key).await.expect("clear");
    assert_eq!(
        stores[0]
            .begin_attempt(&key, throttle, now)
            .await
            .expect("attempt"),
        ThrottleDecision::Allowed { failures: 1 }
    );
}

/// SplitMix64: a small, seedable generator, so a failing case can be replayed with
/// `MYAUTH_TEST_SEED`.
struct Rng(u64);

impl Rng {
    fn from_env() -> Self {
        let seed = std::env::var("MYAUTH_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        println!("MYAUTH_TEST_SEED={seed}");
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high`.
    fn range(&mut self, low: i64, high: i64) -> i64 {
        let width = (high - low) as u64 + 1;
        low + (self.next() % width) as i64
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// A random limit, from the smallest period and burst to an hour and 100.
fn random_limit(rng: &mut Rng) -> RateLimit {
    let burst = rng.pick(&[1, 1, 2, 3, 5, 10, 100]);
    let period = match rng.range(0, 3) {
        0 => Duration::milliseconds(rng.range(1, 10)),
        1 => Duration::seconds(rng.range(1, 60)),
        2 => Duration::milliseconds(rng.range(1, 3_600_000)),
        _ => Duration::hours(1),
    };
    RateLimit::new(burst, period)
}

/// An offset around `now` that lands on the rule's edges often: 0, ±1, the tolerance and
/// its neighbours, or anywhere within a few spans.
fn random_offset(rng: &mut Rng, edges: &[i64], span: i64) -> i64 {
    if rng.chance(50) {
        rng.pick(edges) + rng.range(-1, 1)
    } else {
        rng.range(-2 * span, 3 * span)
    }
}

/// A few hundred (state, now) pairs: each state is written as it is stored, on a fresh key,
/// then one check runs through the store; its decision, and the state it leaves, must be
/// those of `RateLimit::decide`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MYAUTH_TEST_REDIS_URL"]
async fn the_rate_script_decides_as_rate_limit_decide() {
    let (store, _keys) = common::fresh_store().await;
    let mut raw = common::raw_connection().await;
    let mut rng = Rng::from_env();
    let base_now = unix_millis(auth_core::testing::now());
    for case in 0..300 {
        let limit = random_limit(&mut rng);
        let (period, tolerance) = (limit.period_ms(), limit.tolerance_ms());
        // Times from 1970 (a manual clock at the epoch) to now, and a little before 1970.
        let now = match rng.range(0, 3) {
            0 => rng.range(-10_000, 10_000),
            _ => base_now + rng.range(-86_400_000, 86_400_000),
        };
        let stored = rng.chance(85).then(|| {
            now + random_offset(
                &mut rng,
                &[0, tolerance, tolerance + period, -period],
                tolerance + period,
            )
        });
        let key = CounterKey::new("cross-check", &format!("rate {case}"));
        let name = hex_key(store.key_prefix(), &key, "rate");
        if let Some(tat) = stored {
            let () = raw.set(&name, tat.to_string()).await.expect("seed");
        }
        let at =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(now) * 1_000_000).expect("time");
        let context = format!("case {case}: {limit:?}, stored {stored:?}, now {now}");

        let decided = store
            .take_rate_token(&key, limit, at)
            .await
            .unwrap_or_else(|e| panic!("{context}: {e:?}"));
        let (expected, next) = limit.decide(stored, now);
        assert_eq!(decided, expected, "{context}");

        let value: Option<String> = raw.get(&name).await.expect("read back");
        let ttl: i64 = raw.pttl(&name).await.expect("pttl");
        match next {
            // Redis drops a state that lives less than the read-back takes: then the key
            // may be gone already, as the state is.
            Some(tat) if tat - now < SHORT_LIVED_MS && value.is_none() => {}
            Some(tat) => {
                assert_eq!(value, Some(tat.to_string()), "{context}: the new tat");
                let expiry = tat - now;
                assert!(
                    ttl <= expiry && ttl > expiry - SHORT_LIVED_MS,
                    "{context}: PTTL {ttl}, state expires in {expiry} ms"
                );
            }
            None => {
                assert_eq!(
                    value,
                    stored.map(|tat| tat.to_string()),
                    "{context}: a limited take changes nothing"
                );
                assert_eq!(ttl, if stored.is_some() { -1 } else { -2 }, "{context}");
            }
        }
    }
}

/// A random throttle: small and default settings, and the extremes (no delay at all, no
/// cap, never forgetting).
fn random_throttle(rng: &mut Rng) -> Throttle {
    let base = rng.pick(&[0, 1, 7, 1_000, 60_000, 3_600_000]);
    let max = match rng.range(0, 4) {
        0 => Duration::ZERO,
        1 => Duration::milliseconds(rng.range(1, 10_000)),
        2 => Duration::minutes(15),
        3 => Duration::days(365),
        _ => Duration::MAX,
    };
    let forget = match rng.range(0, 3) {
        0 => Duration::ZERO,
        1 => Duration::milliseconds(rng.range(1, 100_000_000)),
        2 => Duration::hours(24),
        _ => Duration::MAX,
    };
    Throttle {
        free_failures: rng.pick(&[0, 1, 3, 10]),
        base_delay: Duration::milliseconds(base),
        max_delay: max,
        forget_after: forget,
    }
}

/// As for the bucket, with `Throttle::decide`: the decision is the rule's, and the state
/// left behind is the rule's, with the longest delay and the window capped at 2^51 ms
/// (which changes no decision; see the crate's `codec.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MYAUTH_TEST_REDIS_URL"]
async fn the_throttle_script_decides_as_throttle_decide() {
    let (store, _keys) = common::fresh_store().await;
    let mut raw = common::raw_connection().await;
    let mut rng = Rng::from_env();
    let base_now = unix_millis(auth_core::testing::now());
    for case in 0..300 {
        let throttle = random_throttle(&mut rng);
        let now = match rng.range(0, 3) {
            0 => rng.range(-10_000, 10_000),
            _ => base_now + rng.range(-86_400_000, 86_400_000),
        };
        let span = throttle.forget_ms().clamp(1, 100_000_000);
        let stored = rng.chance(85).then(|| ThrottleState {
            failures: match rng.range(0, 5) {
                0 => 0,
                1 => throttle.free_failures.saturating_sub(1),
                2 => throttle.free_failures,
                3 => u32::MAX - rng.range(0, 1) as u32,
                _ => rng.range(0, 50) as u32,
            },
            blocked_until: if rng.chance(30) {
                0
            } else {
                now + random_offset(&mut rng, &[0], span)
            },
            expires_at: now + random_offset(&mut rng, &[0], span),
        });
        let key = CounterKey::new("cross-check", &format!("throttle {case}"));
        let name = hex_key(store.key_prefix(), &key, "throttle");
        if let Some(state) = stored {
            let () = raw
                .hset_multiple(
                    &name,
                    &[
                        ("failures", state.failures.to_string()),
                        ("blocked_until", state.blocked_until.to_string()),
                        ("expires_at", state.expires_at.to_string()),
                    ],
                )
                .await
                .expect("seed");
        }
        let at =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(now) * 1_000_000).expect("time");
        let context = format!("case {case}: {throttle:?}, stored {stored:?}, now {now}");

        let decided = store
            .begin_attempt(&key, throttle, at)
            .await
            .unwrap_or_else(|e| panic!("{context}: {e:?}"));
        let (expected, next) = throttle.decide(stored, now);
        assert_eq!(decided, expected, "{context}");

        let fields: Vec<Option<i64>> = redis::cmd("HMGET")
            .arg(&name)
            .arg(&["failures", "blocked_until", "expires_at"])
            .query_async(&mut raw)
            .await
            .expect("read back");
        let ttl: i64 = raw.pttl(&name).await.expect("pttl");
        match next {
            Some(state) => {
                let window = throttle.forget_ms().min(MAX_SPAN_MS);
                let delay = if state.blocked_until == 0 {
                    0
                } else {
                    (state.blocked_until - now).min(MAX_SPAN_MS)
                };
                let kept =
                    if window > 0 && !(window < SHORT_LIVED_MS && fields == [None, None, None]) {
                        vec![
                            Some(i64::from(state.failures)),
                            Some(if delay > 0 { now + delay } else { 0 }),
                            Some(now + window),
                        ]
                    } else {
                        // Expired as it is written (a window of 0 ms), or so short-lived that
                        // Redis dropped it before the read-back: not kept.
                        vec![None, None, None]
                    };
                assert_eq!(fields, kept, "{context}: the new state ({state:?})");
                if window > 0 && fields[0].is_some() {
                    assert!(
                        ttl <= window && ttl > window - SHORT_LIVED_MS,
                        "{context}: PTTL {ttl}, state expires in {window} ms"
                    );
                }
            }
            None => {
                let unchanged = match stored {
                    Some(s) => vec![
                        Some(i64::from(s.failures)),
                        Some(s.blocked_until),
                        Some(s.expires_at),
                    ],
                    None => vec![None, None, None],
                };
                assert_eq!(
                    fields, unchanged,
                    "{context}: a throttled attempt changes nothing"
                );
            }
        }
    }
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_REDIS_URL"]
async fn keys_carry_the_prefix_and_an_expiry() {
    let (store, _keys) = common::fresh_store().await;
    let mut raw = common::raw_connection().await;
    let prefix = store.key_prefix().to_owned();
    let key = CounterKey::new("login", "alice@example.com");
    let now = auth_core::testing::now();
    let limit = RateLimit::new(3, Duration::seconds(30));
    store.take_rate_token(&key, limit, now).await.expect("take");
    store
        .begin_attempt(&key, Throttle::default(), now)
        .await
        .expect("attempt");

    let found = keys_under(&mut raw, &prefix).await;
    let rate = format!("{prefix}{}:rate", key.to_hex());
    let throttle = format!("{prefix}{}:throttle", key.to_hex());
    assert_eq!(found, vec![rate.clone(), throttle.clone()]);
    assert!(
        !found.iter().any(|k| k.contains("alice")),
        "keys never hold the email"
    );

    let kind: String = redis::cmd("TYPE")
        .arg(&rate)
        .query_async(&mut raw)
        .await
        .expect("type");
    assert_eq!(kind, "string");
    let tat: i64 = raw.get(&rate).await.expect("tat");
    assert_eq!(tat, unix_millis(now) + 30_000);
    let ttl: i64 = raw.pttl(&rate).await.expect("pttl");
    assert!(ttl > 29_000 && ttl <= 30_000, "rate PTTL {ttl}");

    let kind: String = redis::cmd("TYPE")
        .arg(&throttle)
        .query_async(&mut raw)
        .await
        .expect("type");
    assert_eq!(kind, "hash");
    let failures: i64 = raw.hget(&throttle, "failures").await.expect("failures");
    assert_eq!(failures, 1);
    let ttl: i64 = raw.pttl(&throttle).await.expect("pttl");
    assert!(ttl > 86_399_000 && ttl <= 86_400_000, "throttle PTTL {ttl}");

    store.clear_attempts(&key).await.expect("clear");
    assert!(!raw.exists::<_, bool>(&throttle).await.expect("exists"));
    assert!(
        raw.exists::<_, bool>(&rate).await.expect("exists"),
        "only the throttle is cleared"
    );
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_REDIS_URL"]
async fn an_unreadable_state_is_corrupt_not_a_panic() {
    let (store, _keys) = common::fresh_store().await;
    let mut raw = common::raw_connection().await;
    let prefix = store.key_prefix().to_owned();
    let now = auth_core::testing::now();
    let limit = RateLimit::new(3, Duration::seconds(30));
    let cases: [(&str, &str); 3] = [
        ("text", "soon"),
        ("float", "1.5e12"),
        ("huge", "9007199254740993"),
    ];
    for (name, value) in cases {
        let key = CounterKey::new("corrupt", name);
        let () = raw
            .set(hex_key(&prefix, &key, "rate"), value)
            .await
            .expect("seed");
        let () = raw
            .hset(hex_key(&prefix, &key, "throttle"), "failures", value)
            .await
            .expect("seed");
        assert!(
            matches!(
                store.take_rate_token(&key, limit, now).await,
                Err(StoreError::Corrupt(_))
            ),
            "rate {name}"
        );
        assert!(
            matches!(
                store.begin_attempt(&key, Throttle::default(), now).await,
                Err(StoreError::Corrupt(_))
            ),
            "throttle {name}"
        );
    }
    // Keys of the wrong type.
    let key = CounterKey::new("corrupt", "types");
    let () = raw
        .hset(hex_key(&prefix, &key, "rate"), "a", "b")
        .await
        .expect("seed");
    let () = raw
        .set(hex_key(&prefix, &key, "throttle"), "1")
        .await
        .expect("seed");
    assert!(matches!(
        store.take_rate_token(&key, limit, now).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.begin_attempt(&key, Throttle::default(), now).await,
        Err(StoreError::Corrupt(_))
    ));
    // The purge walks past them.
    store
        .purge_expired_counters(now + Duration::days(400))
        .await
        .expect("purge");
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_REDIS_URL"]
async fn scripts_are_loaded_again_when_redis_forgot_them() {
    let (store, _keys) = common::fresh_store().await;
    let mut raw = common::raw_connection().await;
    let key = CounterKey::new("reload", "x");
    let now = auth_core::testing::now();
    let limit = RateLimit::new(2, Duration::minutes(1));
    assert_eq!(
        store.take_rate_token(&key, limit, now).await.expect("take"),
        RateDecision::Allowed
    );
    // What a restart of Redis does to loaded scripts.
    let () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut raw)
        .await
        .expect("flush");
    assert_eq!(
        store.take_rate_token(&key, limit, now).await.expect("take"),
        RateDecision::Allowed
    );
    assert!(matches!(
        store.take_rate_token(&key, limit, now).await,
        Ok(RateDecision::Limited { .. })
    ));
    let () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut raw)
        .await
        .expect("flush");
    assert_eq!(
        store
            .begin_attempt(&key, Throttle::default(), now)
            .await
            .expect("attempt"),
        ThrottleDecision::Allowed { failures: 1 }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MYAUTH_TEST_REDIS_URL"]
async fn purge_walks_every_page_and_leaves_other_keys_alone() {
    let (store, _keys) = common::fresh_store().await;
    let mut raw = common::raw_connection().await;
    let prefix = store.key_prefix().to_owned();
    let now = auth_core::testing::now();
    let limit = RateLimit::new(1, Duration::seconds(10));
    let counters = 2_500;
    let takes = (0..counters).map(|i| {
        let store = store.clone();
        async move {
            let key = CounterKey::new("purge", &i.to_string());
            store.take_rate_token(&key, limit, now).await
        }
    });
    for decision in futures_util::future::join_all(takes).await {
        assert_eq!(decision.expect("take"), RateDecision::Allowed);
    }
    let other = format!("{prefix}not-a-counter");
    let () = raw.set(&other, "kept").await.expect("seed");

    let started = Instant::now();
    let deleted = store
        .purge_expired_counters(now + Duration::seconds(10))
        .await
        .expect("purge");
    println!("purged {deleted} counters in {:?}", started.elapsed());
    assert_eq!(deleted, counters);
    assert_eq!(keys_under(&mut raw, &prefix).await, vec![other]);
}

/// A local port nobody listens on.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr").port()
}

fn short_timeouts() -> RedisStoreOptions {
    RedisStoreOptions::new()
        .with_connect_timeout(std::time::Duration::from_millis(300))
        .with_operation_timeout(std::time::Duration::from_millis(300))
}

/// A store whose manager connects on first use, so it exists even when Redis does not.
fn lazy_store(url: &str) -> RedisCounterStore {
    let client = redis::Client::open(url).expect("url");
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(std::time::Duration::from_millis(300)))
        .set_number_of_retries(0);
    let manager = ConnectionManager::new_lazy_with_config(client, config).expect("manager");
    RedisCounterStore::new_with(manager, short_timeouts())
}

/// Every operation answers `StoreError::Unavailable`, each well within a second.
async fn every_operation_is_unavailable(store: &RedisCounterStore) {
    let key = CounterKey::new("ip", "198.51.100.1");
    let now = OffsetDateTime::now_utc();
    let limit = std::time::Duration::from_secs(1);
    let started = Instant::now();
    let rate = within(
        limit,
        "take_rate_token",
        store.take_rate_token(&key, RateLimit::new(5, Duration::minutes(1)), now),
    )
    .await;
    assert!(matches!(rate, Err(StoreError::Unavailable(_))), "{rate:?}");
    let attempt = within(
        limit,
        "begin_attempt",
        store.begin_attempt(&key, Throttle::default(), now),
    )
    .await;
    assert!(
        matches!(attempt, Err(StoreError::Unavailable(_))),
        "{attempt:?}"
    );
    let clear = within(limit, "clear_attempts", store.clear_attempts(&key)).await;
    assert!(
        matches!(clear, Err(StoreError::Unavailable(_))),
        "{clear:?}"
    );
    let purge = within(limit, "purge", store.purge_expired_counters(now)).await;
    assert!(
        matches!(purge, Err(StoreError::Unavailable(_))),
        "{purge:?}"
    );
    println!("four unavailable answers in {:?}", started.elapsed());
}

#[tokio::test]
async fn a_closed_port_fails_fast() {
    let port = closed_port().await;
    let url = format!("redis://:pw-s3cret@127.0.0.1:{port}");
    let started = Instant::now();
    let error = within(
        std::time::Duration::from_secs(2),
        "connect",
        RedisCounterStore::connect_with(&url, short_timeouts()),
    )
    .await
    .expect_err("nobody listens there");
    assert!(
        matches!(&error, Error::Connect { source, .. } if source.is_connection_refusal()),
        "{error:?}"
    );
    let shown = format!("{error} {error:?} {:?}", std::error::Error::source(&error));
    assert!(!shown.contains("pw-s3cret"), "{shown}");
    println!("connect refused in {:?}: {error}", started.elapsed());

    every_operation_is_unavailable(&lazy_store(&url)).await;
}

#[tokio::test]
async fn a_silent_server_fails_within_the_timeouts() {
    // Accepts connections and never answers: what a hung server or a black-holed route
    // looks like, and what no connect error reports.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let url = format!("redis://{addr}");
    let connected = within(
        std::time::Duration::from_secs(2),
        "connect",
        RedisCounterStore::connect_with(&url, short_timeouts()),
    )
    .await;
    match connected {
        Err(Error::Connect { .. } | Error::ConnectTimeout { .. }) => {}
        Err(other) => panic!("unexpected {other:?}"),
        // The driver sent nothing it waits for: then the operations must time out.
        Ok(store) => every_operation_is_unavailable(&store).await,
    }
    every_operation_is_unavailable(&lazy_store(&url)).await;
    silent.abort();
}

/// Forwards connections to the test server until stopped; stopping drops every
/// connection, as a Redis that died would.
struct Proxy {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(listen: &str, upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind(listen).await.expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let mut pipes = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                pipes.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self { addr, task }
    }

    fn stop(self) {
        // Aborting the task drops the listener and the JoinSet, which aborts every pipe.
        self.task.abort();
    }
}

fn upstream() -> SocketAddr {
    let client = redis::Client::open(common::url().as_str()).expect("test server URL");
    let addr = client.get_connection_info().addr().to_string();
    let addr = addr.replace("localhost", "127.0.0.1");
    addr.parse().expect("the test server is host:port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MYAUTH_TEST_REDIS_URL"]
async fn a_redis_that_goes_away_is_unavailable_then_comes_back() {
    let upstream = upstream();
    let proxy = Proxy::start("127.0.0.1:0", upstream).await;
    let addr = proxy.addr;
    let prefix = common::fresh_prefix();
    let _keys = common::DeleteKeys::new(&prefix);
    let store = RedisCounterStore::connect_with(
        &format!("redis://{addr}"),
        short_timeouts().with_key_prefix(&prefix),
    )
    .await
    .expect("connect through the proxy");
    let key = CounterKey::new("ip", "192.0.2.1");
    let limit = RateLimit::new(2, Duration::minutes(1));
    let now = auth_core::testing::now();
    assert_eq!(
        store.take_rate_token(&key, limit, now).await.expect("take"),
        RateDecision::Allowed
    );

    proxy.stop();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    every_operation_is_unavailable(&store).await;

    // Redis is back on the same address: the manager reconnects by itself, and the count
    // kept in Redis goes on.
    let proxy = Proxy::start(&addr.to_string(), upstream).await;
    let decision = within(std::time::Duration::from_secs(5), "recovery", async {
        loop {
            match store.take_rate_token(&key, limit, now).await {
                Ok(decision) => break decision,
                Err(StoreError::Unavailable(_)) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
    })
    .await;
    assert_eq!(decision, RateDecision::Allowed, "the second of the burst");
    assert!(matches!(
        store.take_rate_token(&key, limit, now).await,
        Ok(RateDecision::Limited { .. })
    ));
    proxy.stop();
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_REDIS_URL"]
async fn times_beyond_the_scripts_range_are_refused_not_rounded() {
    let (store, _keys) = common::fresh_store().await;
    let key = CounterKey::new("range", "x");
    let now = auth_core::testing::now();
    // 3 per million years: period × burst is past 2^51 ms.
    let ancient = RateLimit::new(3, Duration::days(365 * 1_000_000));
    assert!(matches!(
        store.take_rate_token(&key, ancient, now).await,
        Err(StoreError::Unavailable(_))
    ));
    // A throttle that never forgets and has no cap works; its window is capped.
    let forever = Throttle {
        free_failures: 1,
        max_delay: Duration::MAX,
        forget_after: Duration::MAX,
        ..Throttle::default()
    };
    assert_eq!(
        store
            .begin_attempt(&key, forever, now)
            .await
            .expect("attempt"),
        ThrottleDecision::Allowed { failures: 1 }
    );
    assert_eq!(
        store
            .begin_attempt(&key, forever, now)
            .await
            .expect("attempt"),
        ThrottleDecision::Throttled {
            retry_after: Duration::seconds(1)
        }
    );
    let much_later = now + Duration::days(365 * 5_000);
    assert_eq!(
        store
            .begin_attempt(&key, forever, much_later)
            .await
            .expect("attempt"),
        ThrottleDecision::Allowed { failures: 2 },
        "still remembered"
    );
}
