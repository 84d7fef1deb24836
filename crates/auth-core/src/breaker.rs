//! The store circuit breaker: once the store is known to be down, requests that need it are
//! answered 503 at once instead of each waiting out the store's own timeouts.
//!
//! Closed, every request goes to the store. After [`BreakerSettings::threshold`] store
//! failures in a row (a request that ended in [`AuthError::Unavailable`] with a
//! [`StoreError`] inside), the breaker opens: requests are refused with a `Retry-After` of
//! the time left until the next probe. When that time is up, the first request to arrive
//! starts one probe — a cheap read (`find_user_by_id` of the nil id) under the store's own
//! timeouts — in the background, and is refused like the rest; the probe closes the breaker
//! when it succeeds and re-opens it for another [`BreakerSettings::cooldown`] when it fails.
//! A request never waits on the probe, so while the store is down every answer takes
//! microseconds, and the breaker closes within about one cooldown of the store coming back.
//!
//! Only store failures count. A request refused for its own reasons (401, 422 …), an
//! overloaded hasher or a failing email sender neither opens nor closes the breaker.
//!
//! [`AuthError::Unavailable`]: crate::AuthError::Unavailable

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{AuthError, StoreError};

/// When the breaker opens and how long it stays open before probing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Store failures in a row that open the breaker. At least 1.
    pub threshold: u32,
    /// How long the breaker stays open before a probe may close it.
    pub cooldown: Duration,
}

impl Default for BreakerSettings {
    /// Three failures in a row; a probe every second while open.
    fn default() -> Self {
        Self {
            threshold: 3,
            cooldown: Duration::from_secs(1),
        }
    }
}

/// What the breaker says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Go ahead.
    Pass,
    /// Refuse now; retry after this many seconds (at least 1).
    Refuse {
        /// `Retry-After` seconds.
        retry_after: u64,
        /// This caller should start the probe.
        probe: bool,
    },
}

#[derive(Debug)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant, probing: bool },
}

/// The breaker's state, shared by every request of one service.
#[derive(Debug)]
pub(crate) struct StoreBreaker {
    settings: BreakerSettings,
    state: Mutex<State>,
}

impl StoreBreaker {
    pub(crate) fn new(settings: BreakerSettings) -> Self {
        Self {
            settings: BreakerSettings {
                threshold: settings.threshold.max(1),
                cooldown: settings.cooldown,
            },
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a plain value that no panic can leave half-updated.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a request that needs the store may go to it now.
    pub(crate) fn admit(&self) -> Admission {
        let now = Instant::now();
        let mut state = self.state();
        match &mut *state {
            State::Closed { .. } => Admission::Pass,
            State::Open { until, probing } => {
                let due = now >= *until;
                let probe = due && !*probing;
                if probe {
                    *probing = true;
                }
                let left = if due {
                    self.settings.cooldown
                } else {
                    *until - now
                };
                Admission::Refuse {
                    retry_after: left.as_secs_f64().ceil().max(1.0) as u64,
                    probe,
                }
            }
        }
    }

    /// Records how a request that went to the store ended.
    pub(crate) fn record(&self, store_failed: bool) {
        let mut state = self.state();
        match &mut *state {
            State::Closed { failures } if store_failed => {
                *failures += 1;
                if *failures >= self.settings.threshold {
                    tracing::warn!(
                        failures = *failures,
                        cooldown_ms = self.settings.cooldown.as_millis() as u64,
                        "the store is failing: answering 503 at once until a probe succeeds"
                    );
                    *state = State::Open {
                        until: Instant::now() + self.settings.cooldown,
                        probing: false,
                    };
                }
            }
            State::Closed { failures } => *failures = 0,
            // Requests admitted before the breaker opened finish while it is open; the
            // probe alone decides when it closes.
            State::Open { .. } => {}
        }
    }

    /// Records the end of a probe.
    pub(crate) fn probed(&self, healthy: bool) {
        let mut state = self.state();
        if healthy {
            if matches!(*state, State::Open { .. }) {
                tracing::info!("the store answers again: the circuit breaker is closed");
            }
            *state = State::Closed { failures: 0 };
        } else {
            *state = State::Open {
                until: Instant::now() + self.settings.cooldown,
                probing: false,
            };
        }
    }

    /// Whether the breaker is open (for tests and metrics).
    pub(crate) fn is_open(&self) -> bool {
        matches!(*self.state(), State::Open { .. })
    }
}

/// Whether `error` is the store failing (and not the client, the hasher or the mailer).
pub(crate) fn is_store_failure(error: &AuthError) -> bool {
    match error {
        AuthError::Unavailable(source) => matches!(
            source.downcast_ref::<StoreError>(),
            Some(StoreError::Unavailable(_))
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> StoreBreaker {
        StoreBreaker::new(BreakerSettings {
            threshold: 3,
            cooldown: Duration::from_secs(2),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_the_threshold_of_failures_in_a_row() {
        let b = breaker();
        b.record(true);
        b.record(true);
        b.record(false);
        b.record(true);
        b.record(true);
        assert_eq!(b.admit(), Admission::Pass, "a success resets the count");
        b.record(true);
        assert!(b.is_open());
        assert_eq!(
            b.admit(),
            Admission::Refuse {
                retry_after: 2,
                probe: false
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn one_probe_after_the_cooldown_closes_or_reopens_it() {
        let b = breaker();
        for _ in 0..3 {
            b.record(true);
        }
        tokio::time::advance(Duration::from_millis(1500)).await;
        assert_eq!(
            b.admit(),
            Admission::Refuse {
                retry_after: 1,
                probe: false
            }
        );
        tokio::time::advance(Duration::from_millis(600)).await;
        assert!(matches!(b.admit(), Admission::Refuse { probe: true, .. }));
        assert!(
            matches!(b.admit(), Admission::Refuse { probe: false, .. }),
            "only one probe at a time"
        );
        b.probed(false);
        assert!(matches!(b.admit(), Admission::Refuse { probe: false, .. }));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(matches!(b.admit(), Admission::Refuse { probe: true, .. }));
        b.probed(true);
        assert_eq!(b.admit(), Admission::Pass);
        b.record(true);
        assert_eq!(
            b.admit(),
            Admission::Pass,
            "the count starts again from zero"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn late_answers_do_not_close_an_open_breaker() {
        let b = breaker();
        for _ in 0..3 {
            b.record(true);
        }
        b.record(false);
        assert!(b.is_open());
    }

    #[test]
    fn only_store_failures_count() {
        assert!(is_store_failure(&AuthError::from(StoreError::unavailable(
            std::io::Error::other("down")
        ))));
        assert!(!is_store_failure(&AuthError::Overloaded));
        assert!(!is_store_failure(&AuthError::from(StoreError::corrupt(
            std::io::Error::other("bad row")
        ))));
        assert!(!is_store_failure(&AuthError::InvalidCredentials));
        assert!(!is_store_failure(&AuthError::Unavailable(
            "smtp down".into()
        )));
    }
}
