//! The abuse limits: the per-account login throttle, the per-account email cooldowns and
//! the per-client-address token buckets, all kept in the counter store so they hold for
//! every process sharing it.
//!
//! When the counter store fails, the limits fail closed (503 with `Retry-After`) unless
//! configured to fail open, which only logs: an outage never silently turns them off, and
//! never answers 500.

use std::net::IpAddr;

use time::Duration;

use super::AuthService;
use crate::client::limit_key;
use crate::counter::{CounterKey, LimitGroup, RateDecision, RateLimit, ThrottleDecision};
use crate::error::{AuthError, StoreError};
use crate::events::AuthEventKind;
use crate::user::UserId;

/// Whole seconds to wait, rounded up, at least 1.
fn retry_secs(wait: Duration) -> u64 {
    let millis = u64::try_from(wait.whole_milliseconds()).unwrap_or(0);
    millis.div_ceil(1000).max(1)
}

impl AuthService {
    /// Counts an attempt to check the password of the account `key` names, or refuses it
    /// while the account's delay runs — before any hash is computed.
    pub(super) async fn begin_attempt(&self, key: &CounterKey) -> Result<(), AuthError> {
        let throttle = self.inner.config.login_throttle();
        match self
            .inner
            .counters
            .begin_attempt(key, throttle, self.now())
            .await
        {
            Ok(ThrottleDecision::Allowed { .. }) => Ok(()),
            Ok(ThrottleDecision::Throttled { retry_after }) => {
                tracing::warn!(
                    account = %key.short(),
                    retry_after_secs = retry_secs(retry_after),
                    "login throttled: too many failed attempts on this account"
                );
                // Named by its throttle key: looking the account up would make a
                // throttled unknown email answer faster than a throttled known one.
                self.emit(
                    self.event(AuthEventKind::Throttled)
                        .with_account(key.short()),
                )
                .await?;
                Err(AuthError::TooManyRequests {
                    retry_after: retry_secs(retry_after),
                })
            }
            Err(error) => self.counters_failed(error),
        }
    }

    /// Forgets the failed attempts of an account (a completed login or reset). A failure
    /// only leaves the count to expire by itself.
    pub(super) async fn clear_attempts(&self, key: &CounterKey) {
        if let Err(error) = self.inner.counters.clear_attempts(key).await {
            tracing::warn!(
                error = &error as &dyn std::error::Error,
                account = %key.short(),
                "could not clear the login throttle"
            );
        }
    }

    /// Whether an email of this kind may be sent to this account now; takes the cooldown
    /// if so. A store failure lets the email go (a lost cooldown costs one email, a lost
    /// email costs the user their reset).
    pub(super) async fn email_cooldown_open(&self, kind: &str, user_id: UserId) -> bool {
        let cooldown = self.inner.config.email_cooldown();
        if cooldown <= Duration::ZERO {
            return true;
        }
        let key = CounterKey::new(&format!("cooldown:{kind}"), &user_id.to_string());
        match self
            .inner
            .counters
            .take_rate_token(&key, RateLimit::new(1, cooldown), self.now())
            .await
        {
            Ok(RateDecision::Allowed) => true,
            Ok(RateDecision::Limited { .. }) => {
                tracing::info!(%user_id, kind, "email not sent: within the cooldown");
                false
            }
            Err(error) => {
                tracing::warn!(
                    error = &error as &dyn std::error::Error,
                    "email cooldown unavailable; sending anyway"
                );
                true
            }
        }
    }

    /// Takes a token from the bucket of `group` for the client address `ip` (IPv6 counted
    /// per /64). The HTTP edge calls it before the endpoints of each group; it does nothing
    /// when the limits are off.
    ///
    /// # Errors
    ///
    /// [`AuthError::TooManyRequests`]; [`AuthError::Unavailable`] when the counter store
    /// fails and the limits fail closed.
    pub async fn check_client_limit(&self, group: LimitGroup, ip: IpAddr) -> Result<(), AuthError> {
        let Some(limits) = self.inner.config.ip_limits() else {
            return Ok(());
        };
        let key = CounterKey::new(group.scope(), &limit_key(ip));
        match self
            .inner
            .counters
            .take_rate_token(&key, limits.of(group), self.now())
            .await
        {
            Ok(RateDecision::Allowed) => Ok(()),
            Ok(RateDecision::Limited { retry_after }) => {
                tracing::warn!(
                    client = %key.short(),
                    group = group.scope(),
                    "client rate limit reached"
                );
                Err(AuthError::TooManyRequests {
                    retry_after: retry_secs(retry_after),
                })
            }
            Err(error) => self.counters_failed(error),
        }
    }

    fn counters_failed(&self, error: StoreError) -> Result<(), AuthError> {
        if self.inner.config.limits_fail_open() {
            tracing::warn!(
                error = &error as &dyn std::error::Error,
                "abuse counters unavailable; letting the request through (fail open)"
            );
            Ok(())
        } else if self.inner.separate_counters {
            // A separate counter store (Redis) failing says nothing about the main store:
            // wrapped, it does not count toward the store circuit breaker.
            Err(AuthError::Unavailable(Box::new(CountersUnavailable(error))))
        } else {
            Err(error.into())
        }
    }
}

/// The separate counter store failed (the limits fail closed).
#[derive(Debug, thiserror::Error)]
#[error("the counter store failed")]
struct CountersUnavailable(#[source] StoreError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_round_up_to_whole_seconds() {
        assert_eq!(retry_secs(Duration::milliseconds(1)), 1);
        assert_eq!(retry_secs(Duration::milliseconds(1000)), 1);
        assert_eq!(retry_secs(Duration::milliseconds(1001)), 2);
        assert_eq!(retry_secs(Duration::ZERO), 1);
    }
}
