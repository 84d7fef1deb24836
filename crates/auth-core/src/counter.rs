//! Abuse counters: token buckets (per client address, per account email cooldowns) and the
//! per-account login throttle. The state lives in a [`CounterStore`](crate::CounterStore),
//! so every limit holds across processes; the arithmetic is defined here, once, and every
//! store applies exactly these rules in one atomic step.
//!
//! All times are whole milliseconds since the Unix epoch.

use std::fmt;

use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

/// The key of a counter: the SHA-256 of a scope and a value (`login`, the normalised
/// email), so no email or address is ever stored or logged in clear.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CounterKey([u8; 32]);

impl CounterKey {
    /// The key of `value` within `scope`.
    pub fn new(scope: &str, value: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(scope.as_bytes());
        hasher.update([0]);
        hasher.update(value.as_bytes());
        Self(hasher.finalize().into())
    }

    /// Wraps 32 stored bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Wraps a stored slice; `None` unless it is 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, for stores that keep text keys.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A short prefix of the hex, to correlate log lines.
    pub fn short(&self) -> String {
        self.to_hex()[..12].to_owned()
    }
}

impl fmt::Debug for CounterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CounterKey({}…)", self.short())
    }
}

/// Milliseconds since the Unix epoch, as every counter store keeps time.
pub fn unix_millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.whole_milliseconds()).unwrap_or(i64::MAX)
}

/// A token bucket, run as GCRA (the generic cell rate algorithm): `burst` requests at
/// once, then one more every `period`.
///
/// The state is one number, the theoretical arrival time `tat` (ms). For a request at
/// `now`, with `T` = period and `τ` = `T × (burst − 1)`:
///
/// 1. `t = max(tat, now)` (an absent or expired state counts as `now`);
/// 2. if `t − now > τ`: limited, retry after `t − τ − now`; nothing changes;
/// 3. else allowed, and the state becomes `tat = t + T`, expiring at `t + T`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed at once (at least 1).
    pub burst: u32,
    /// Time to earn one more request (at least 1 ms).
    pub period: Duration,
}

impl RateLimit {
    /// `burst` at once, one more every `period`.
    pub const fn new(burst: u32, period: Duration) -> Self {
        Self { burst, period }
    }

    /// The emission interval `T` in ms (at least 1).
    pub fn period_ms(&self) -> i64 {
        millis(self.period).max(1)
    }

    /// The burst tolerance `τ` in ms.
    pub fn tolerance_ms(&self) -> i64 {
        self.period_ms()
            .saturating_mul(i64::from(self.burst.max(1)) - 1)
    }

    /// The rule: the decision, and the new `tat` (ms) to store when allowed. `stored` is
    /// the stored `tat`, `None` when there is none.
    pub fn decide(&self, stored: Option<i64>, now_ms: i64) -> (RateDecision, Option<i64>) {
        let t = stored.map_or(now_ms, |tat| tat.max(now_ms));
        let tolerance = self.tolerance_ms();
        if t - now_ms > tolerance {
            let wait = t - tolerance - now_ms;
            (
                RateDecision::Limited {
                    retry_after: Duration::milliseconds(wait),
                },
                None,
            )
        } else {
            (RateDecision::Allowed, Some(t + self.period_ms()))
        }
    }
}

/// The answer of a token bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Go ahead; one token was taken.
    Allowed,
    /// Refused; nothing was taken.
    Limited {
        /// When a token will be there.
        retry_after: Duration,
    },
}

/// The per-account login throttle: an exponential delay after a number of consecutive
/// failures, not a hard lock (NIST SP 800-63B §5.2.2; the idea of Kanidm's soft lock).
///
/// Every attempt is counted when it begins (so a burst of parallel guesses cannot all pass
/// before the first failure is recorded), and a completed login clears the count. The
/// state is `failures`, `blocked_until` (ms) and `expires_at` (ms). For an attempt at `now`:
///
/// 1. an absent state, or one with `expires_at <= now`, counts as 0 failures, not blocked;
/// 2. if `blocked_until > now`: throttled, retry after `blocked_until − now`; nothing
///    changes;
/// 3. else allowed, and the state becomes `failures + 1` (= `n`),
///    `blocked_until = now + min(base × 2^min(n − free, 30), max)` when `n >= free`
///    (else 0), `expires_at = now + forget_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// Consecutive failures allowed without delay. Default 10.
    pub free_failures: u32,
    /// The first delay. Default 1 s.
    pub base_delay: Duration,
    /// The longest delay. Default 15 min.
    pub max_delay: Duration,
    /// Failures older than this are forgotten. Default 24 h (at least `max_delay`).
    pub forget_after: Duration,
}

impl Default for Throttle {
    fn default() -> Self {
        Self {
            free_failures: 10,
            base_delay: Duration::seconds(1),
            max_delay: Duration::minutes(15),
            forget_after: Duration::hours(24),
        }
    }
}

/// The largest shift of the base delay; beyond it the maximum applies anyway.
pub const MAX_THROTTLE_SHIFT: u32 = 30;

impl Throttle {
    /// The first delay in ms.
    pub fn base_ms(&self) -> i64 {
        millis(self.base_delay).max(0)
    }

    /// The longest delay in ms.
    pub fn max_ms(&self) -> i64 {
        millis(self.max_delay).max(0)
    }

    /// The forgetting window in ms (never shorter than the longest delay).
    pub fn forget_ms(&self) -> i64 {
        millis(self.forget_after).max(self.max_ms())
    }

    /// The delay after the `failures`-th consecutive failure, in ms (0 below the free
    /// failures).
    pub fn delay_ms(&self, failures: u32) -> i64 {
        if failures == 0 || failures < self.free_failures {
            return 0;
        }
        let shift = (failures - self.free_failures).min(MAX_THROTTLE_SHIFT);
        self.base_ms()
            .saturating_mul(1_i64 << shift)
            .min(self.max_ms())
    }

    /// The rule: the decision, and the state to store when allowed.
    pub fn decide(
        &self,
        stored: Option<ThrottleState>,
        now_ms: i64,
    ) -> (ThrottleDecision, Option<ThrottleState>) {
        let state = stored.filter(|s| s.expires_at > now_ms).unwrap_or_default();
        if state.blocked_until > now_ms {
            let wait = state.blocked_until - now_ms;
            return (
                ThrottleDecision::Throttled {
                    retry_after: Duration::milliseconds(wait),
                },
                None,
            );
        }
        let failures = state.failures.saturating_add(1);
        let delay = self.delay_ms(failures);
        let next = ThrottleState {
            failures,
            blocked_until: if delay > 0 { now_ms + delay } else { 0 },
            expires_at: now_ms.saturating_add(self.forget_ms()),
        };
        (ThrottleDecision::Allowed { failures }, Some(next))
    }
}

/// The route groups that per-client-address limits apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitGroup {
    /// Login and the second factor of a login.
    Login,
    /// Registration.
    Registration,
    /// Requests that send an email (password reset, verification).
    Email,
    /// Token endpoints (refresh, logout).
    Tokens,
}

impl LimitGroup {
    /// The scope name of the group's counters.
    pub fn scope(self) -> &'static str {
        match self {
            Self::Login => "ip:login",
            Self::Registration => "ip:register",
            Self::Email => "ip:email",
            Self::Tokens => "ip:tokens",
        }
    }
}

/// Token buckets per client address (IPv6 per /64), one per [`LimitGroup`].
///
/// The defaults let a person, or an office behind one address, do everything they would
/// do by hand, and stop a script: login 20 at once then one every 3 s (so about 1 200
/// password guesses an hour from one address, spread over any number of accounts, each of
/// which is throttled by itself); registration and email requests 5 at once then one a
/// minute; refresh and logout 60 at once then one a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpLimits {
    /// Login and the second factor.
    pub login: RateLimit,
    /// Registration.
    pub registration: RateLimit,
    /// Password-reset and verification requests.
    pub email: RateLimit,
    /// Refresh and logout.
    pub tokens: RateLimit,
}

impl Default for IpLimits {
    fn default() -> Self {
        Self {
            login: RateLimit::new(20, Duration::seconds(3)),
            registration: RateLimit::new(5, Duration::minutes(1)),
            email: RateLimit::new(5, Duration::minutes(1)),
            tokens: RateLimit::new(60, Duration::seconds(1)),
        }
    }
}

impl IpLimits {
    /// The bucket of a group.
    pub fn of(&self, group: LimitGroup) -> RateLimit {
        match group {
            LimitGroup::Login => self.login,
            LimitGroup::Registration => self.registration,
            LimitGroup::Email => self.email,
            LimitGroup::Tokens => self.tokens,
        }
    }
}

/// The stored state of a throttle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThrottleState {
    /// Consecutive attempts not completed.
    pub failures: u32,
    /// No attempt before this (ms); 0 when not blocked.
    pub blocked_until: i64,
    /// The state is forgotten at this time (ms).
    pub expires_at: i64,
}

/// The answer of the throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleDecision {
    /// Go ahead; the attempt is counted (as the `failures`-th) until cleared.
    Allowed {
        /// The count including this attempt.
        failures: u32,
    },
    /// Refused without checking anything; nothing was counted.
    Throttled {
        /// When the next attempt is allowed.
        retry_after: Duration,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcra_allows_the_burst_then_one_per_period() {
        let limit = RateLimit::new(3, Duration::seconds(1));
        let mut tat = None;
        for _ in 0..3 {
            let (decision, next) = limit.decide(tat, 0);
            assert_eq!(decision, RateDecision::Allowed);
            tat = next;
        }
        let (decision, next) = limit.decide(tat, 0);
        assert_eq!(
            decision,
            RateDecision::Limited {
                retry_after: Duration::seconds(1)
            }
        );
        assert_eq!(next, None);
        assert_eq!(limit.decide(tat, 1000).0, RateDecision::Allowed);
        // A long pause refills the whole burst, and no more.
        let later = 60_000;
        for _ in 0..3 {
            let (decision, next) = limit.decide(tat, later);
            assert_eq!(decision, RateDecision::Allowed);
            tat = next;
        }
        assert!(matches!(
            limit.decide(tat, later).0,
            RateDecision::Limited { .. }
        ));
    }

    #[test]
    fn the_throttle_allows_the_free_failures_then_doubles_up_to_the_cap() {
        let throttle = Throttle::default();
        let mut state = None;
        let mut now = 0;
        for n in 1..=10 {
            let (decision, next) = throttle.decide(state, now);
            assert_eq!(decision, ThrottleDecision::Allowed { failures: n });
            state = next;
        }
        // After the tenth failure the next attempt waits 1 s, then 2 s, 4 s …
        for expected in [1_000, 2_000, 4_000, 8_000] {
            let (decision, _) = throttle.decide(state, now);
            assert_eq!(
                decision,
                ThrottleDecision::Throttled {
                    retry_after: Duration::milliseconds(expected)
                }
            );
            now += expected;
            let (decision, next) = throttle.decide(state, now);
            assert!(matches!(decision, ThrottleDecision::Allowed { .. }));
            state = next;
        }
        assert_eq!(throttle.delay_ms(100), 900_000, "capped at 15 minutes");
        assert_eq!(throttle.delay_ms(9), 0);
        // Forgotten after a day.
        let (decision, _) = throttle.decide(state, now + 86_400_000 + 1);
        assert_eq!(decision, ThrottleDecision::Allowed { failures: 1 });
    }

    #[test]
    fn counter_keys_hash_scope_and_value_apart() {
        assert_ne!(CounterKey::new("login", "a"), CounterKey::new("email", "a"));
        assert_ne!(CounterKey::new("ab", "c"), CounterKey::new("a", "bc"));
        let key = CounterKey::new("login", "alice@example.com");
        assert!(!format!("{key:?}").contains("alice"));
        assert_eq!(CounterKey::from_slice(key.as_bytes()), Some(key));
    }
}
