//! [`CounterStore`]: token buckets and the login throttle.

use std::fmt::Debug;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::counter::{CounterKey, RateDecision, RateLimit, Throttle, ThrottleDecision};
use crate::error::StoreError;

/// Persistence of abuse counters. Each method is one atomic step applying exactly the rule
/// of [`RateLimit::decide`] or [`Throttle::decide`] (a conditional upsert in SQL, a
/// compare-and-set or a script elsewhere), so of N concurrent calls exactly the allowed
/// number pass, across processes.
///
/// The service uses the main store's counters unless it is given another `CounterStore`
/// (the `auth-redis` crate keeps them in Redis).
#[async_trait]
pub trait CounterStore: Debug + Send + Sync + 'static {
    /// Takes one token from the bucket `key` ([`RateLimit::decide`]).
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn take_rate_token(
        &self,
        key: &CounterKey,
        limit: RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError>;

    /// Begins an attempt under the throttle `key` ([`Throttle::decide`]): counts it, or
    /// refuses it while the delay runs.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn begin_attempt(
        &self,
        key: &CounterKey,
        throttle: Throttle,
        now: OffsetDateTime,
    ) -> Result<ThrottleDecision, StoreError>;

    /// Forgets the attempts under `key` (a completed login, a password reset).
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn clear_attempts(&self, key: &CounterKey) -> Result<(), StoreError>;

    /// Deletes every counter whose state expired at `now`; returns how many.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn purge_expired_counters(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}
