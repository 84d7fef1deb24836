//! Conformance cases of [`CounterStore`](crate::CounterStore): the rules of
//! [`RateLimit::decide`] and [`Throttle::decide`], atomically.

use std::sync::Arc;

use time::Duration;

use super::{CONCURRENT_TASKS, now};
use crate::counter::{CounterKey, RateDecision, RateLimit, Throttle, ThrottleDecision};
use crate::store::CounterStore;

fn key(name: &str) -> CounterKey {
    CounterKey::new("conformance", name)
}

/// `burst` takes pass at once, the next is refused with the wait until a token is back,
/// and after a period one more passes.
pub async fn rate_limit_allows_the_burst_then_one_per_period(store: impl CounterStore) {
    let limit = RateLimit::new(3, Duration::seconds(10));
    let at = now();
    for i in 0..3 {
        assert_eq!(
            store
                .take_rate_token(&key("ip"), limit, at)
                .await
                .expect("take"),
            RateDecision::Allowed,
            "take {i} of the burst"
        );
    }
    assert_eq!(
        store
            .take_rate_token(&key("ip"), limit, at + Duration::seconds(1))
            .await
            .expect("take"),
        RateDecision::Limited {
            retry_after: Duration::seconds(9)
        }
    );
    assert_eq!(
        store
            .take_rate_token(&key("ip"), limit, at + Duration::seconds(10))
            .await
            .expect("take"),
        RateDecision::Allowed
    );
    assert!(matches!(
        store
            .take_rate_token(&key("ip"), limit, at + Duration::seconds(10))
            .await
            .expect("take"),
        RateDecision::Limited { .. }
    ));
    // After a long pause the whole burst is back, and no more.
    let later = at + Duration::hours(1);
    for _ in 0..3 {
        assert_eq!(
            store
                .take_rate_token(&key("ip"), limit, later)
                .await
                .expect("take"),
            RateDecision::Allowed
        );
    }
    assert!(matches!(
        store
            .take_rate_token(&key("ip"), limit, later)
            .await
            .expect("take"),
        RateDecision::Limited { .. }
    ));
}

/// Buckets of different keys do not share tokens.
pub async fn rate_limit_keys_are_independent(store: impl CounterStore) {
    let limit = RateLimit::new(1, Duration::minutes(1));
    let at = now();
    for name in ["a", "b", "c"] {
        assert_eq!(
            store
                .take_rate_token(&key(name), limit, at)
                .await
                .expect("take"),
            RateDecision::Allowed,
            "{name}"
        );
    }
    assert!(matches!(
        store
            .take_rate_token(&key("a"), limit, at)
            .await
            .expect("take"),
        RateDecision::Limited { .. }
    ));
}

/// Of [`CONCURRENT_TASKS`] takes at once from a bucket of 5, exactly 5 pass.
pub async fn concurrent_rate_takes_never_exceed_the_burst(store: impl CounterStore) {
    let store = Arc::new(store);
    let limit = RateLimit::new(5, Duration::hours(1));
    let at = now();
    let barrier = Arc::new(tokio::sync::Barrier::new(CONCURRENT_TASKS));
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|_| {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store.take_rate_token(&key("flood"), limit, at).await
            })
        })
        .collect();
    let mut allowed = 0;
    for task in tasks {
        if task.await.expect("task panicked").expect("take failed") == RateDecision::Allowed {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 5, "exactly the burst may pass");
}

/// The free attempts pass and are counted; then each attempt waits a delay that doubles;
/// a throttled attempt changes nothing.
pub async fn throttle_counts_attempts_then_delays_them(store: impl CounterStore) {
    let throttle = Throttle {
        free_failures: 3,
        ..Throttle::default()
    };
    let at = now();
    for n in 1..=3 {
        assert_eq!(
            store
                .begin_attempt(&key("alice"), throttle, at)
                .await
                .expect("attempt"),
            ThrottleDecision::Allowed { failures: n }
        );
    }
    assert_eq!(
        store
            .begin_attempt(&key("alice"), throttle, at + Duration::milliseconds(400))
            .await
            .expect("attempt"),
        ThrottleDecision::Throttled {
            retry_after: Duration::milliseconds(600)
        },
        "after the third failure the next attempt waits 1 s"
    );
    let at = at + Duration::seconds(1);
    assert_eq!(
        store
            .begin_attempt(&key("alice"), throttle, at)
            .await
            .expect("attempt"),
        ThrottleDecision::Allowed { failures: 4 }
    );
    assert_eq!(
        store
            .begin_attempt(&key("alice"), throttle, at)
            .await
            .expect("attempt"),
        ThrottleDecision::Throttled {
            retry_after: Duration::seconds(2)
        },
        "then 2 s"
    );
    assert_eq!(
        store
            .begin_attempt(&key("bob"), throttle, at)
            .await
            .expect("attempt"),
        ThrottleDecision::Allowed { failures: 1 },
        "other keys are not throttled"
    );
    // Forgotten after the window.
    let later = at + throttle.forget_after + Duration::seconds(3);
    assert_eq!(
        store
            .begin_attempt(&key("alice"), throttle, later)
            .await
            .expect("attempt"),
        ThrottleDecision::Allowed { failures: 1 }
    );
}

/// Clearing forgets the count: the next attempt is the first again.
pub async fn clear_attempts_forgets_the_count(store: impl CounterStore) {
    let throttle = Throttle {
        free_failures: 2,
        ..Throttle::default()
    };
    let at = now();
    for _ in 0..2 {
        store
            .begin_attempt(&key("alice"), throttle, at)
            .await
            .expect("attempt");
    }
    assert!(matches!(
        store
            .begin_attempt(&key("alice"), throttle, at)
            .await
            .expect("attempt"),
        ThrottleDecision::Throttled { .. }
    ));
    store.clear_attempts(&key("alice")).await.expect("clear");
    store
        .clear_attempts(&key("nobody"))
        .await
        .expect("clearing nothing is fine");
    assert_eq!(
        store
            .begin_attempt(&key("alice"), throttle, at)
            .await
            .expect("attempt"),
        ThrottleDecision::Allowed { failures: 1 }
    );
}

/// Of [`CONCURRENT_TASKS`] attempts at once with 10 free failures, exactly 10 pass: every
/// attempt is counted once, atomically.
pub async fn concurrent_attempts_are_each_counted_once(store: impl CounterStore) {
    let store = Arc::new(store);
    let throttle = Throttle::default();
    let at = now();
    let barrier = Arc::new(tokio::sync::Barrier::new(CONCURRENT_TASKS));
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|_| {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store.begin_attempt(&key("guess"), throttle, at).await
            })
        })
        .collect();
    let mut counts = Vec::new();
    for task in tasks {
        if let ThrottleDecision::Allowed { failures } =
            task.await.expect("task panicked").expect("attempt failed")
        {
            counts.push(failures);
        }
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=10).collect::<Vec<u32>>());
}

/// Expired states are deleted; live ones keep working.
pub async fn purge_expired_counters_keeps_live_ones(store: impl CounterStore) {
    let at = now();
    let short = RateLimit::new(1, Duration::seconds(1));
    let long = RateLimit::new(1, Duration::hours(1));
    store
        .take_rate_token(&key("short"), short, at)
        .await
        .expect("take");
    store
        .take_rate_token(&key("long"), long, at)
        .await
        .expect("take");
    let throttle = Throttle {
        forget_after: Duration::minutes(20),
        ..Throttle::default()
    };
    store
        .begin_attempt(&key("attempt"), throttle, at)
        .await
        .expect("attempt");
    let later = at + Duration::seconds(5);
    assert_eq!(store.purge_expired_counters(later).await.expect("purge"), 1);
    assert!(matches!(
        store
            .take_rate_token(&key("long"), long, later)
            .await
            .expect("take"),
        RateDecision::Limited { .. }
    ));
    assert_eq!(
        store
            .purge_expired_counters(at + Duration::hours(2))
            .await
            .expect("purge"),
        2
    );
}
