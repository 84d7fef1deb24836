//! [`CounterStore`] for [`MemoryStore`]: the rules of [`RateLimit::decide`] and
//! [`Throttle::decide`] under the store's one lock.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::MemoryStore;
use crate::counter::{
    CounterKey, RateDecision, RateLimit, Throttle, ThrottleDecision, unix_millis,
};
use crate::error::StoreError;
use crate::store::CounterStore;

#[async_trait]
impl CounterStore for MemoryStore {
    async fn take_rate_token(
        &self,
        key: &CounterKey,
        limit: RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        let now = unix_millis(now);
        let mut inner = self.lock();
        // (tat, expires_at): an expired state counts as none.
        let stored = inner
            .rates
            .get(key)
            .filter(|(_, expires_at)| *expires_at > now)
            .map(|(tat, _)| *tat);
        let (decision, next) = limit.decide(stored, now);
        if let Some(tat) = next {
            inner.rates.insert(*key, (tat, tat));
        }
        Ok(decision)
    }

    async fn begin_attempt(
        &self,
        key: &CounterKey,
        throttle: Throttle,
        now: OffsetDateTime,
    ) -> Result<ThrottleDecision, StoreError> {
        let now = unix_millis(now);
        let mut inner = self.lock();
        let (decision, next) = throttle.decide(inner.throttles.get(key).copied(), now);
        if let Some(state) = next {
            inner.throttles.insert(*key, state);
        }
        Ok(decision)
    }

    async fn clear_attempts(&self, key: &CounterKey) -> Result<(), StoreError> {
        self.lock().throttles.remove(key);
        Ok(())
    }

    async fn purge_expired_counters(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let now = unix_millis(now);
        let mut inner = self.lock();
        let before = inner.rates.len() + inner.throttles.len();
        inner.rates.retain(|_, (_, expires_at)| *expires_at > now);
        inner.throttles.retain(|_, state| state.expires_at > now);
        Ok((before - inner.rates.len() - inner.throttles.len()) as u64)
    }
}
