//! [`CounterStore`] for [`PostgresStore`]: the rules of [`RateLimit::decide`] and
//! [`Throttle::decide`], each as one conditional upsert.
//!
//! The state of a key is one row of `counters`. An `INSERT … ON CONFLICT (key, kind) DO
//! UPDATE SET … WHERE <allowed> RETURNING …` decides and writes in one step: the first
//! call inserts (the values of the rule for an absent state, computed here by auth-core's
//! own function), later calls lock the existing row and update it only when the rule
//! allows. Concurrent calls on one key wait for that row lock and evaluate the `WHERE` and
//! the `SET` list on the row as the previous call left it, so of N concurrent calls exactly
//! the allowed number pass, across processes. A refused call returns no row and writes
//! nothing; a second read of the row then says how long to wait.

use auth_core::async_trait;
use auth_core::{
    CounterKey, CounterStore, MAX_THROTTLE_SHIFT, RateDecision, RateLimit, StoreError, Throttle,
    ThrottleDecision, unix_millis,
};
use sqlx::Row;
use time::{Duration, OffsetDateTime};

use crate::error::store_error;
use crate::store::PostgresStore;

/// GCRA ([`RateLimit::decide`]). Parameters: `$1` key, `$2` now, `$3` the period `T`, `$4`
/// the tolerance `τ`, `$5` the `tat` of an absent state (`now + T`). For a bucket the state
/// expires at its `tat`, so "an expired state counts as absent" is `GREATEST(tat, now)`:
/// a `tat` in the past is the same as none.
const TAKE_RATE_TOKEN: &str = "INSERT INTO counters AS c (key, kind, tat, expires_at)
     VALUES ($1, 'rate', $5, $5)
     ON CONFLICT (key, kind) DO UPDATE SET
        tat = GREATEST(c.tat, $2) + $3,
        expires_at = GREATEST(c.tat, $2) + $3
     WHERE GREATEST(c.tat, $2) - $2 <= $4
     RETURNING c.tat";

const READ_RATE: &str = "SELECT tat FROM counters WHERE key = $1 AND kind = 'rate'";

/// The throttle ([`Throttle::decide`]). Parameters: `$1` key, `$2` now, `$3` free
/// failures, `$4` base delay, `$5` max delay, `$6` `now + forget_after` (saturated here),
/// `$7` the failures, `$8` the `blocked_until` of an absent state (from auth-core's rule).
///
/// An expired state (`expires_at <= now`) counts as 0 failures, not blocked. The delay
/// after the `n`-th failure is `min(base << min(n − free, 30), max)` when `n >= free`, else
/// 0, where `base << s` saturates: it exceeds `max` exactly when `base > max >> s`, and
/// then the delay is `max` (a plain shift would wrap around in 64 bits).
fn begin_attempt_sql() -> String {
    let live = "c.expires_at > $2";
    let failures = format!("(CASE WHEN {live} THEN c.failures ELSE 0 END)");
    let blocked = format!("(CASE WHEN {live} THEN c.blocked_until ELSE 0 END)");
    let n = format!("LEAST({failures} + 1, {})", u32::MAX);
    let shift = format!("LEAST({n} - $3, {MAX_THROTTLE_SHIFT})::integer");
    let delay = format!(
        "(CASE WHEN {n} < $3 THEN 0 WHEN $4 > ($5 >> {shift}) THEN $5 ELSE $4 << {shift} END)"
    );
    format!(
        "INSERT INTO counters AS c (key, kind, failures, blocked_until, expires_at)
         VALUES ($1, 'throttle', $7, $8, $6)
         ON CONFLICT (key, kind) DO UPDATE SET
            failures = {n},
            blocked_until = CASE WHEN {delay} > 0 THEN $2 + {delay} ELSE 0 END,
            expires_at = $6
         WHERE {blocked} <= $2
         RETURNING c.failures"
    )
}

static BEGIN_ATTEMPT: std::sync::LazyLock<String> = std::sync::LazyLock::new(begin_attempt_sql);

const READ_THROTTLE: &str = "SELECT blocked_until, expires_at FROM counters
     WHERE key = $1 AND kind = 'throttle'";

/// The wait of a refused call, never zero: the state was read again after the decision and
/// may have moved on (a purge, a clear); the refusal stands, and the client retries soon.
fn retry_after(wait_ms: i64) -> Duration {
    Duration::milliseconds(wait_ms.max(1))
}

#[async_trait]
impl CounterStore for PostgresStore {
    async fn take_rate_token(
        &self,
        key: &CounterKey,
        limit: RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        let now = unix_millis(now);
        // The state an absent bucket gets: auth-core's rule, so both paths agree.
        let (_, first) = limit.decide(None, now);
        let first = first.unwrap_or(now + limit.period_ms());
        self.timed(async {
            let taken = sqlx::query(TAKE_RATE_TOKEN)
                .bind(&key.as_bytes()[..])
                .bind(now)
                .bind(limit.period_ms())
                .bind(limit.tolerance_ms())
                .bind(first)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
            if taken.is_some() {
                return Ok(RateDecision::Allowed);
            }
            let tat: Option<i64> = sqlx::query_scalar(READ_RATE)
                .bind(&key.as_bytes()[..])
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
            let t = tat.map_or(now, |tat| tat.max(now));
            Ok(RateDecision::Limited {
                retry_after: retry_after(t - limit.tolerance_ms() - now),
            })
        })
        .await
    }

    async fn begin_attempt(
        &self,
        key: &CounterKey,
        throttle: Throttle,
        now: OffsetDateTime,
    ) -> Result<ThrottleDecision, StoreError> {
        let now = unix_millis(now);
        let (_, first) = throttle.decide(None, now);
        let first = first.unwrap_or_default();
        self.timed(async {
            let counted: Option<i64> = sqlx::query_scalar(&BEGIN_ATTEMPT)
                .bind(&key.as_bytes()[..])
                .bind(now)
                .bind(i64::from(throttle.free_failures))
                .bind(throttle.base_ms())
                .bind(throttle.max_ms())
                .bind(now.saturating_add(throttle.forget_ms()))
                .bind(i64::from(first.failures))
                .bind(first.blocked_until)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
            if let Some(failures) = counted {
                let failures = u32::try_from(failures).map_err(StoreError::corrupt)?;
                return Ok(ThrottleDecision::Allowed { failures });
            }
            let row = sqlx::query(READ_THROTTLE)
                .bind(&key.as_bytes()[..])
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
            let blocked_until = match row {
                Some(row) if row.try_get::<i64, _>("expires_at").map_err(store_error)? > now => row
                    .try_get::<i64, _>("blocked_until")
                    .map_err(store_error)?,
                _ => now,
            };
            Ok(ThrottleDecision::Throttled {
                retry_after: retry_after(blocked_until - now),
            })
        })
        .await
    }

    async fn clear_attempts(&self, key: &CounterKey) -> Result<(), StoreError> {
        self.timed(async {
            sqlx::query("DELETE FROM counters WHERE key = $1 AND kind = 'throttle'")
                .bind(&key.as_bytes()[..])
                .execute(&self.pool)
                .await
                .map_err(store_error)?;
            Ok(())
        })
        .await
    }

    async fn purge_expired_counters(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.timed(async {
            let done = sqlx::query("DELETE FROM counters WHERE expires_at <= $1")
                .bind(unix_millis(now))
                .execute(&self.pool)
                .await
                .map_err(store_error)?;
            Ok(done.rows_affected())
        })
        .await
    }
}
