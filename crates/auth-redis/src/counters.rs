//! `impl CounterStore for RedisCounterStore`: one Lua script per rule, run with `EVALSHA`
//! (the driver loads a script the server does not know yet, after a restart say, and
//! retries), so each check is one round trip and atomic on the server.

use std::sync::LazyLock;

use auth_core::{
    CounterKey, CounterStore, RateDecision, RateLimit, StoreError, Throttle, ThrottleDecision,
    async_trait,
};
use redis::{AsyncCommands, Script};
use time::OffsetDateTime;

use crate::codec::{self, RATE_SUFFIX, THROTTLE_SUFFIX};
use crate::error::store_error;
use crate::store::RedisCounterStore;

/// [`RateLimit::decide`], reading and writing the bucket's `tat`.
static RATE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("scripts/rate.lua")));
/// [`Throttle::decide`], reading and writing the throttle's hash.
static THROTTLE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/throttle.lua")));
/// Deletes the counters of one SCAN page whose state expired.
static PURGE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("scripts/purge.lua")));

/// Keys asked for per `SCAN` step of a purge, and so at most the keys one purge script
/// handles. Redis runs a script alone, so a page's script holds up every check queued
/// behind it: measured with `INFO commandstats`, a page of 1,000 counters took 1.4–1.9 ms
/// of server time (2.2–2.8 ms when all were deleted), a page of 250 took 0.4–0.7 ms (2
/// cores, load average ≈ 9 from other builds). 250 keeps that stall under a millisecond,
/// at four times the round trips of a purge that is rare and mostly finds nothing.
const PURGE_PAGE: usize = 250;

impl RedisCounterStore {
    fn key(&self, key: &CounterKey, suffix: &str) -> String {
        codec::counter_key(&self.key_prefix, key, suffix)
    }
}

#[async_trait]
impl CounterStore for RedisCounterStore {
    async fn take_rate_token(
        &self,
        key: &CounterKey,
        limit: RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        let now = codec::now_ms(now)?;
        let [period, tolerance] = codec::rate_args(&limit)?;
        let mut conn = self.manager.clone();
        let mut invocation = RATE.key(self.key(key, RATE_SUFFIX));
        invocation.arg(now).arg(period).arg(tolerance);
        self.timed(async {
            let reply = invocation
                .invoke_async(&mut conn)
                .await
                .map_err(store_error)?;
            Ok(codec::rate_decision(reply))
        })
        .await
    }

    async fn begin_attempt(
        &self,
        key: &CounterKey,
        throttle: Throttle,
        now: OffsetDateTime,
    ) -> Result<ThrottleDecision, StoreError> {
        let now = codec::now_ms(now)?;
        let [free, base, max, forget] = codec::throttle_args(&throttle);
        let mut conn = self.manager.clone();
        let mut invocation = THROTTLE.key(self.key(key, THROTTLE_SUFFIX));
        invocation.arg(now).arg(free).arg(base).arg(max).arg(forget);
        self.timed(async {
            let reply = invocation
                .invoke_async(&mut conn)
                .await
                .map_err(store_error)?;
            Ok(codec::throttle_decision(reply))
        })
        .await
    }

    async fn clear_attempts(&self, key: &CounterKey) -> Result<(), StoreError> {
        let mut conn = self.manager.clone();
        let name = self.key(key, THROTTLE_SUFFIX);
        self.timed(async {
            let _deleted: u64 = conn.del(name).await.map_err(store_error)?;
            Ok(())
        })
        .await
    }

    /// Redis expires every counter by itself: each key is written with a `PX`/`PEXPIRE`
    /// equal to its state's expiry, so with a clock that agrees with Redis's there is
    /// nothing left to purge, and a deployment need not call this at all.
    ///
    /// It still keeps the contract for any `now`, for a caller whose clock runs ahead of
    /// Redis's (a manual clock in tests): it walks the keys under the prefix with `SCAN`
    /// (never `KEYS`, which would block the server), and deletes, one script per page of
    /// 250, the counters whose stored expiry is at or before `now`. That walk visits every
    /// key of the database that matches the prefix, so it costs time in proportion to the
    /// number of counters; each page has its own operation timeout.
    async fn purge_expired_counters(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let now = codec::now_ms(now)?;
        let mut conn = self.manager.clone();
        let pattern = codec::match_pattern(&self.key_prefix);
        let mut cursor: u64 = 0;
        let mut deleted = 0;
        loop {
            let (next, names): (u64, Vec<Vec<u8>>) = self
                .timed(async {
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(PURGE_PAGE)
                        .query_async(&mut conn)
                        .await
                        .map_err(store_error)
                })
                .await?;
            let counters: Vec<Vec<u8>> = names
                .into_iter()
                .filter(|name| codec::is_counter_key(&self.key_prefix, name))
                .collect();
            if !counters.is_empty() {
                let mut invocation = PURGE.prepare_invoke();
                for name in &counters {
                    invocation.key(name.as_slice());
                }
                invocation.arg(now);
                let page: u64 = self
                    .timed(async {
                        invocation
                            .invoke_async(&mut conn)
                            .await
                            .map_err(store_error)
                    })
                    .await?;
                deleted += page;
            }
            if next == 0 {
                return Ok(deleted);
            }
            cursor = next;
        }
    }
}
