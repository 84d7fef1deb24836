//! How counters are kept in Redis: key names, the scripts' arguments (integer
//! milliseconds, range-checked for Lua), and their replies back into decisions.
//!
//! Keys are the prefix, the lower-case hex of the [`CounterKey`], and a kind suffix:
//!
//! | key | type | value | expiry |
//! |---|---|---|---|
//! | `{prefix}{hex}:rate` | string | the bucket's `tat` (ms) | `PX tat − now` |
//! | `{prefix}{hex}:throttle` | hash | `failures`, `blocked_until`, `expires_at` (ms) | `PEXPIRE expires_at − now` |

use auth_core::{
    CounterKey, RateDecision, RateLimit, StoreError, Throttle, ThrottleDecision, unix_millis,
};
use time::{Duration, OffsetDateTime};

use crate::error::OutOfRange;

/// The suffix of a token bucket's key.
pub(crate) const RATE_SUFFIX: &str = ":rate";
/// The suffix of a login throttle's key.
pub(crate) const THROTTLE_SUFFIX: &str = ":throttle";

/// The scripts accept `|now| < 2^50` ms, about 35,700 years either side of 1970 (the
/// `time` crate's default range is ±9999 years).
pub(crate) const MAX_NOW_MS: i64 = 1 << 50;
/// The longest span a script adds to `now` (a bucket's `period × burst`, a delay, the
/// forgetting window): 2^51 ms, about 71,000 years. With `|now| < 2^50` every stored time
/// stays below 2^52 and every difference below 2^53, where Lua's doubles stop being exact
/// integers; the scripts refuse stored values beyond ±(2^53 − 1) as corrupt.
pub(crate) const MAX_SPAN_MS: i64 = 1 << 51;

/// The Redis key of the counter `key` of one kind.
pub(crate) fn counter_key(prefix: &str, key: &CounterKey, suffix: &str) -> String {
    let mut name = String::with_capacity(prefix.len() + 64 + suffix.len());
    name.push_str(prefix);
    name.push_str(&key.to_hex());
    name.push_str(suffix);
    name
}

/// Whether `name` (a key found under `prefix`) is one of our counters: the prefix, 64
/// lower-case hex digits and a kind suffix. Other keys under the prefix are left alone.
pub(crate) fn is_counter_key(prefix: &str, name: &[u8]) -> bool {
    let Some(rest) = name.strip_prefix(prefix.as_bytes()) else {
        return false;
    };
    let hex_then = |suffix: &str| {
        rest.strip_suffix(suffix.as_bytes()).is_some_and(|hex| {
            hex.len() == 64 && hex.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
    };
    hex_then(RATE_SUFFIX) || hex_then(THROTTLE_SUFFIX)
}

/// `prefix` as a `SCAN … MATCH` pattern that matches itself literally, followed by `*`.
pub(crate) fn match_pattern(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('*');
    pattern
}

/// `now` in ms, checked against the scripts' range.
pub(crate) fn now_ms(now: OffsetDateTime) -> Result<i64, StoreError> {
    let ms = unix_millis(now);
    if ms.abs() < MAX_NOW_MS {
        Ok(ms)
    } else {
        Err(StoreError::unavailable(OutOfRange("the time")))
    }
}

/// The arguments of the rate script: `T` and `τ` of [`RateLimit::decide`], in ms.
///
/// A bucket whose `period × burst` exceeds [`MAX_SPAN_MS`] is refused rather than
/// approximated: rounding it could let a request through that the rule refuses.
pub(crate) fn rate_args(limit: &RateLimit) -> Result<[i64; 2], StoreError> {
    let period = limit.period_ms();
    let tolerance = limit.tolerance_ms();
    match period.checked_add(tolerance) {
        Some(span) if span <= MAX_SPAN_MS => Ok([period, tolerance]),
        _ => Err(StoreError::unavailable(OutOfRange(
            "the rate limit's period × burst",
        ))),
    }
}

/// The arguments of the throttle script: free failures, base, longest delay and the
/// forgetting window of [`Throttle::decide`], in ms.
///
/// The longest delay and the window are capped at [`MAX_SPAN_MS`]. That changes no
/// decision: the window only decides whether a state is still live, and a state written at
/// any accepted `now` with 71,000 years to live is live at every accepted `now`; a delay of
/// 71,000 years or more blocks at every accepted `now` as the uncapped one does. Only the
/// `retry_after` of such a delay is reported as 2^51 ms.
pub(crate) fn throttle_args(throttle: &Throttle) -> [i64; 4] {
    [
        i64::from(throttle.free_failures),
        throttle.base_ms(),
        throttle.max_ms().min(MAX_SPAN_MS),
        throttle.forget_ms().min(MAX_SPAN_MS),
    ]
}

/// The rate script's reply, `[1, 0]` (allowed) or `[0, wait_ms]`.
pub(crate) fn rate_decision((allowed, wait): (i64, i64)) -> RateDecision {
    if allowed == 1 {
        RateDecision::Allowed
    } else {
        RateDecision::Limited {
            retry_after: Duration::milliseconds(wait),
        }
    }
}

/// The throttle script's reply, `[1, failures]` (allowed) or `[0, wait_ms]`.
pub(crate) fn throttle_decision((allowed, value): (i64, i64)) -> ThrottleDecision {
    if allowed == 1 {
        ThrottleDecision::Allowed {
            // The script caps the count at u32::MAX, as `saturating_add` does.
            failures: u32::try_from(value).unwrap_or(u32::MAX),
        }
    } else {
        ThrottleDecision::Throttled {
            retry_after: Duration::milliseconds(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefix_hex_and_kind() {
        let key = CounterKey::from_bytes([0xab; 32]);
        let name = counter_key("myauth:", &key, RATE_SUFFIX);
        assert_eq!(name, format!("myauth:{}:rate", "ab".repeat(32)));
        assert!(is_counter_key("myauth:", name.as_bytes()));
        let throttle = counter_key("myauth:", &key, THROTTLE_SUFFIX);
        assert!(is_counter_key("myauth:", throttle.as_bytes()));
        assert!(!is_counter_key("other:", name.as_bytes()));
        assert!(!is_counter_key("myauth:", b"myauth:session:1"));
        assert!(!is_counter_key(
            "myauth:",
            format!("myauth:{}:rate", "AB".repeat(32)).as_bytes()
        ));
    }

    #[test]
    fn glob_characters_of_the_prefix_are_escaped() {
        assert_eq!(match_pattern("myauth:"), "myauth:*");
        assert_eq!(match_pattern(r"a*b?[c]\"), r"a\*b\?\[c\]\\*");
        assert_eq!(match_pattern(""), "*");
    }

    #[test]
    fn times_and_spans_beyond_exact_doubles_are_refused_or_capped() {
        assert!(now_ms(OffsetDateTime::UNIX_EPOCH).is_ok());
        assert!(now_ms(OffsetDateTime::now_utc()).is_ok());
        assert!(rate_args(&RateLimit::new(5, Duration::hours(1))).is_ok());
        let huge = RateLimit::new(3, Duration::days(365 * 1_000_000));
        assert!(matches!(rate_args(&huge), Err(StoreError::Unavailable(_))));
        let forever = Throttle {
            max_delay: Duration::MAX,
            forget_after: Duration::MAX,
            ..Throttle::default()
        };
        let [_, base, max, forget] = throttle_args(&forever);
        assert_eq!((base, max, forget), (1_000, MAX_SPAN_MS, MAX_SPAN_MS));
        assert_eq!(throttle_args(&Throttle::default())[3], 86_400_000);
    }

    #[test]
    fn replies_become_decisions() {
        assert_eq!(rate_decision((1, 0)), RateDecision::Allowed);
        assert_eq!(
            rate_decision((0, 1_500)),
            RateDecision::Limited {
                retry_after: Duration::milliseconds(1_500)
            }
        );
        assert_eq!(
            throttle_decision((1, 4)),
            ThrottleDecision::Allowed { failures: 4 }
        );
        assert_eq!(
            throttle_decision((0, 2_000)),
            ThrottleDecision::Throttled {
                retry_after: Duration::seconds(2)
            }
        );
    }
}
