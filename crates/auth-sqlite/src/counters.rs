//! [`CounterStore`] for [`SqliteStore`]: the rules of [`RateLimit::decide`] and
//! [`Throttle::decide`], each one conditional upsert.
//!
//! Each step is `INSERT … ON CONFLICT DO UPDATE SET <next state> WHERE <allowed>
//! RETURNING …`: SQLite runs it under its write lock, so of N concurrent callers (of any
//! process) each sees the state the previous one left. A row comes back when the step was
//! allowed; none when it was refused, and then the row is read to say how long to wait.

use std::time::Instant;

use auth_core::{
    CounterKey, CounterStore, MAX_THROTTLE_SHIFT, RateDecision, RateLimit, StoreError, Throttle,
    ThrottleDecision, ThrottleState, async_trait, unix_millis,
};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;

use crate::SqliteStore;
use crate::error::store_error;
use crate::tokens::{MAX_PURGE_PAUSE, PURGE_BATCH};

/// How often a refused step is tried again when the state read afterwards would have
/// allowed it (it was cleared, purged or expired in between): then the refusal cannot be
/// explained by one state, and the step runs again on the new one.
const MAX_ATTEMPTS: u32 = 16;

/// The largest failure count, as in `ThrottleState::failures` (`u32`).
macro_rules! max_failures {
    () => {
        "4294967295"
    };
}

/// `n` of [`Throttle::decide`]: the stored count plus one, or 1 for an expired state.
/// `?2` is now.
macro_rules! next_failures {
    () => {
        concat!(
            "(CASE WHEN counters.expires_at > ?2 THEN min(counters.failures + 1, ",
            max_failures!(),
            ") ELSE 1 END)"
        )
    };
}

/// [`Throttle::delay_ms`] of `n`: 0 below the free failures (`?3`), else
/// `min(base << min(n − free, MAX_THROTTLE_SHIFT), max)` (`?4`, `?5`, `?8`). The shift
/// cannot overflow: when `base > max >> shift`, `base << shift` would exceed `max`, so the
/// answer is `max` without shifting (exactly `saturating_mul(…).min(max)`). SQLite has no
/// `power()`.
macro_rules! delay {
    () => {
        concat!(
            "(CASE WHEN ",
            next_failures!(),
            " < ?3 THEN 0 WHEN ?4 > (?5 >> min(",
            next_failures!(),
            " - ?3, ?8)) THEN ?5 ELSE ?4 << min(",
            next_failures!(),
            " - ?3, ?8) END)"
        )
    };
}

/// `t` of [`RateLimit::decide`]: `max(tat, now)`, or now for an expired state. `?2` is now.
macro_rules! rate_start {
    () => {
        "(CASE WHEN counters.expires_at > ?2 THEN max(counters.tat, ?2) ELSE ?2 END)"
    };
}

/// One take from a bucket. `?1` key, `?2` now, `?3` period `T`, `?4` tolerance `τ`.
/// An absent state starts at `t = now`, always allowed (`τ >= 0`).
const TAKE_RATE_TOKEN: &str = concat!(
    "INSERT INTO counters (key, kind, tat, expires_at) VALUES (?1, 'rate', ?2 + ?3, ?2 + ?3) ",
    "ON CONFLICT (key, kind) DO UPDATE SET ",
    "tat = ",
    rate_start!(),
    " + ?3, expires_at = ",
    rate_start!(),
    " + ?3 WHERE ",
    rate_start!(),
    " - ?2 <= ?4 RETURNING tat"
);

/// One attempt under a throttle. `?1` key, `?2` now, `?3` free failures, `?4` base delay,
/// `?5` max delay, `?6` the new `expires_at`, `?7` `blocked_until` of a first failure,
/// `?8` the largest shift. SET expressions see the row as it was, so each recomputes `n`.
const BEGIN_ATTEMPT: &str = concat!(
    "INSERT INTO counters (key, kind, failures, blocked_until, expires_at) ",
    "VALUES (?1, 'throttle', 1, ?7, ?6) ",
    "ON CONFLICT (key, kind) DO UPDATE SET ",
    "failures = ",
    next_failures!(),
    ", blocked_until = CASE WHEN ",
    delay!(),
    " > 0 THEN ?2 + ",
    delay!(),
    " ELSE 0 END, expires_at = ?6 ",
    "WHERE NOT (counters.expires_at > ?2 AND counters.blocked_until > ?2) ",
    "RETURNING failures"
);

fn get<'r, T>(row: &'r SqliteRow, column: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(column).map_err(StoreError::corrupt)
}

fn contended() -> StoreError {
    StoreError::unavailable("a counter changed under every attempt to read it")
}

impl SqliteStore {
    /// The stored state of a counter, whatever its age.
    async fn counter_row(
        &self,
        key: &CounterKey,
        kind: &str,
    ) -> Result<Option<SqliteRow>, StoreError> {
        sqlx::query(
            "SELECT tat, failures, blocked_until, expires_at FROM counters \
             WHERE key = ?1 AND kind = ?2",
        )
        .bind(key.as_bytes().as_slice())
        .bind(kind)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)
    }
}

#[async_trait]
impl CounterStore for SqliteStore {
    async fn take_rate_token(
        &self,
        key: &CounterKey,
        limit: RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        let now = unix_millis(now);
        for _ in 0..MAX_ATTEMPTS {
            let turn = self.write_turn().await;
            let taken = sqlx::query(TAKE_RATE_TOKEN)
                .bind(key.as_bytes().as_slice())
                .bind(now)
                .bind(limit.period_ms())
                .bind(limit.tolerance_ms())
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
            drop(turn);
            if taken.is_some() {
                return Ok(RateDecision::Allowed);
            }
            // Refused: the wait comes from the state as it is now (an expired one counts
            // as none, as in the upsert).
            let stored = match self.counter_row(key, "rate").await? {
                Some(row) if get::<i64>(&row, "expires_at")? > now => {
                    Some(get::<i64>(&row, "tat")?)
                }
                _ => None,
            };
            if let (decision @ RateDecision::Limited { .. }, _) = limit.decide(stored, now) {
                return Ok(decision);
            }
        }
        Err(contended())
    }

    async fn begin_attempt(
        &self,
        key: &CounterKey,
        throttle: Throttle,
        now: OffsetDateTime,
    ) -> Result<ThrottleDecision, StoreError> {
        let now = unix_millis(now);
        let first_delay = throttle.delay_ms(1);
        let first_blocked_until = if first_delay > 0 {
            now.saturating_add(first_delay)
        } else {
            0
        };
        for _ in 0..MAX_ATTEMPTS {
            let turn = self.write_turn().await;
            let counted = sqlx::query(BEGIN_ATTEMPT)
                .bind(key.as_bytes().as_slice())
                .bind(now)
                .bind(i64::from(throttle.free_failures))
                .bind(throttle.base_ms())
                .bind(throttle.max_ms())
                .bind(now.saturating_add(throttle.forget_ms()))
                .bind(first_blocked_until)
                .bind(i64::from(MAX_THROTTLE_SHIFT))
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
            drop(turn);
            if let Some(row) = counted {
                let failures =
                    u32::try_from(get::<i64>(&row, "failures")?).map_err(StoreError::corrupt)?;
                return Ok(ThrottleDecision::Allowed { failures });
            }
            let stored = match self.counter_row(key, "throttle").await? {
                Some(row) => Some(ThrottleState {
                    failures: u32::try_from(get::<i64>(&row, "failures")?)
                        .map_err(StoreError::corrupt)?,
                    blocked_until: get(&row, "blocked_until")?,
                    expires_at: get(&row, "expires_at")?,
                }),
                None => None,
            };
            if let (decision @ ThrottleDecision::Throttled { .. }, _) = throttle.decide(stored, now)
            {
                return Ok(decision);
            }
        }
        Err(contended())
    }

    async fn clear_attempts(&self, key: &CounterKey) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        sqlx::query("DELETE FROM counters WHERE key = ?1 AND kind = 'throttle'")
            .bind(key.as_bytes().as_slice())
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    /// In batches of 1000 rows, like `purge_expired_tokens`.
    async fn purge_expired_counters(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let cutoff = unix_millis(now);
        let mut purged = 0;
        loop {
            let started = Instant::now();
            let turn = self.write_turn().await;
            let deleted = sqlx::query(
                "DELETE FROM counters WHERE (key, kind) IN \
                 (SELECT key, kind FROM counters WHERE expires_at <= ?1 LIMIT ?2)",
            )
            .bind(cutoff)
            .bind(PURGE_BATCH)
            .execute(&self.pool)
            .await
            .map_err(store_error)?
            .rows_affected();
            drop(turn);
            purged += deleted;
            if deleted < PURGE_BATCH.unsigned_abs() {
                return Ok(purged);
            }
            tokio::time::sleep(started.elapsed().min(MAX_PURGE_PAUSE)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statements_bind_every_parameter_they_name() {
        for (statement, highest) in [(TAKE_RATE_TOKEN, 4), (BEGIN_ATTEMPT, 8)] {
            assert!(statement.contains(&format!("?{highest}")), "{statement}");
            assert!(
                !statement.contains(&format!("?{}", highest + 1)),
                "{statement}"
            );
        }
    }
}
