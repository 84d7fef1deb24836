//! Races between two independent clients of one database — two `MongoStore`s, each with its
//! own driver client and connection pool, the way two processes share the database. Every
//! rule must hold with no transaction and no lock shared in the process.

use std::collections::HashSet;
use std::sync::Arc;

use auth_core::testing::{CONCURRENT_TASKS, now, sample_session, sample_user, successor_of};
use auth_core::{
    AuditStore, ConsumeOutcome, CounterKey, CounterStore, Invalidate, MfaStore, RateDecision,
    RateLimit, RecoveryCodeHash, RotateOutcome, SessionStore, Throttle, ThrottleDecision,
    TokenKind, TokenRecord, TokenStore, TotpRecord, User, UserPatch, UserStore, audit,
};
use auth_mongo::MongoStore;
use tokio::sync::Barrier;

use crate::common::{fresh_options, test_url};
use crate::event;

/// Two stores over one fresh database, each connected on its own.
async fn two_clients() -> (Arc<MongoStore>, Arc<MongoStore>) {
    let options = fresh_options().with_ttl_index(false);
    let first = MongoStore::connect_with(&test_url(), options.clone())
        .await
        .expect("first client");
    let second = MongoStore::connect_with(&test_url(), options.with_migrations(false))
        .await
        .expect("second client");
    (Arc::new(first), Arc::new(second))
}

/// The client of task `i`: every other task uses the other one.
fn pick(i: usize, a: &Arc<MongoStore>, b: &Arc<MongoStore>) -> Arc<MongoStore> {
    Arc::clone(if i.is_multiple_of(2) { a } else { b })
}

async fn stored_user(store: &MongoStore, email: &str) -> User {
    let user = sample_user(email);
    store.create_user(&user).await.expect("create user");
    user
}

fn cut() -> UserPatch {
    UserPatch {
        updated_at: Some(now()),
        invalidate: Some(Invalidate::Sessions),
        ..UserPatch::default()
    }
}

/// Round after round, [`CONCURRENT_TASKS`] rotations of the session's current token, half
/// through each client: exactly one wins, exactly one successor is stored, and the chain
/// goes on from it through either client.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn rotations_from_two_clients_have_exactly_one_winner() {
    let (a, b) = two_clients().await;
    let user = stored_user(&a, "alice@example.com").await;
    let (session, first) = sample_session(&user);
    b.create_session(&session, &first).await.expect("login");
    let mut presented = first;
    for round in 0..3 {
        let at = now();
        let barrier = Arc::new(Barrier::new(CONCURRENT_TASKS));
        let tasks: Vec<_> = (0..CONCURRENT_TASKS)
            .map(|i| {
                let (store, barrier) = (pick(i, &a, &b), Arc::clone(&barrier));
                let (hash, next) = (presented.token_hash, successor_of(&presented));
                tokio::spawn(async move {
                    barrier.wait().await;
                    let outcome = store.rotate_refresh_token(&hash, &next, at).await;
                    (next, outcome)
                })
            })
            .collect();
        let mut winners = Vec::new();
        let mut candidates = Vec::new();
        for task in tasks {
            let (next, outcome) = task.await.expect("task panicked");
            match outcome.expect("rotate failed") {
                RotateOutcome::Rotated {
                    session: rotated, ..
                } => {
                    assert_eq!((rotated.id, rotated.last_used_at), (session.id, at));
                    winners.push(next.clone());
                }
                RotateOutcome::Refused(ConsumeOutcome::AlreadyUsed(_)) => {}
                other => panic!("round {round}: unexpected outcome {other:?}"),
            }
            candidates.push(next);
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one rotation wins");
        let mut stored = 0;
        for next in &candidates {
            if a.find_token(&next.token_hash, TokenKind::Refresh)
                .await
                .expect("find")
                .is_some()
            {
                stored += 1;
            }
        }
        assert_eq!(stored, 1, "round {round}: exactly one successor is stored");
        presented = winners.remove(0);
    }
    let touched = b
        .find_session(session.id)
        .await
        .expect("find")
        .expect("exists");
    assert!(touched.last_used_at >= session.last_used_at);
    a.database().drop().await.expect("drop");
}

/// A cut through one client racing logins (which read the user before it) and rotations
/// through both: once it is stored, no session is live and no token issued in flight
/// rotates, whichever client asks.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn a_cut_through_one_client_ends_what_the_other_issues_in_flight() {
    let (a, b) = two_clients().await;
    let user = stored_user(&a, "alice@example.com").await;
    let mut existing = Vec::new();
    for i in 0..CONCURRENT_TASKS / 2 {
        let (session, token) = sample_session(&user);
        pick(i, &a, &b)
            .create_session(&session, &token)
            .await
            .expect("login");
        existing.push(token);
    }
    let before = b
        .find_user_by_id(user.id)
        .await
        .expect("read")
        .expect("exists");
    let barrier = Arc::new(Barrier::new(CONCURRENT_TASKS + 1));
    let mut tasks = Vec::new();
    for (i, token) in existing.into_iter().enumerate() {
        let (store, barrier) = (pick(i, &a, &b), Arc::clone(&barrier));
        tasks.push(tokio::spawn(async move {
            let next = successor_of(&token);
            barrier.wait().await;
            store
                .rotate_refresh_token(&token.token_hash, &next, now())
                .await
                .expect("rotate");
            next
        }));
    }
    for i in 0..CONCURRENT_TASKS / 2 {
        let (store, barrier) = (pick(i + 1, &a, &b), Arc::clone(&barrier));
        let (session, token) = sample_session(&before);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store.create_session(&session, &token).await.expect("login");
            token
        }));
    }
    let cutter = {
        let (store, barrier) = (Arc::clone(&a), Arc::clone(&barrier));
        tokio::spawn(async move {
            barrier.wait().await;
            store
                .update_user(user.id, &cut())
                .await
                .expect("cut")
                .expect("exists")
        })
    };
    let mut issued: Vec<TokenRecord> = Vec::new();
    for task in tasks {
        issued.push(task.await.expect("task panicked"));
    }
    let after = cutter.await.expect("cut panicked");
    assert!(after.token_version > before.token_version);
    assert_eq!(after.session_epoch, after.token_version);
    for store in [&a, &b] {
        assert!(
            store
                .list_user_sessions(user.id, now())
                .await
                .expect("list")
                .is_empty(),
            "no session from before the cut is live"
        );
    }
    for (i, token) in issued.iter().enumerate() {
        let outcome = pick(i + 1, &a, &b)
            .rotate_refresh_token(&token.token_hash, &successor_of(token), now())
            .await
            .expect("rotate after the cut");
        assert!(
            !matches!(outcome, RotateOutcome::Rotated { .. }),
            "a token issued in flight outlived the cut: {outcome:?}"
        );
    }
    a.database().drop().await.expect("drop");
}

/// A token bucket and a login throttle shared by two clients: of [`CONCURRENT_TASKS`] calls
/// at once, half through each, exactly the burst passes, and every attempt is counted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn a_counter_shared_by_two_clients_counts_every_call_once() {
    let (a, b) = two_clients().await;
    let limit = RateLimit::new(5, time::Duration::hours(1));
    let bucket = CounterKey::new("ip", "192.0.2.7");
    let at = now();
    let barrier = Arc::new(Barrier::new(CONCURRENT_TASKS));
    let takes: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|i| {
            let (store, barrier) = (pick(i, &a, &b), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store.take_rate_token(&bucket, limit, at).await
            })
        })
        .collect();
    let mut allowed = 0;
    for task in takes {
        if task.await.expect("task panicked").expect("take") == RateDecision::Allowed {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 5, "exactly the burst passes across both clients");

    let throttle = Throttle::default();
    let account = CounterKey::new("login", "alice@example.com");
    let barrier = Arc::new(Barrier::new(CONCURRENT_TASKS));
    let attempts: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|i| {
            let (store, barrier) = (pick(i, &a, &b), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store.begin_attempt(&account, throttle, at).await
            })
        })
        .collect();
    let mut counts = Vec::new();
    for task in attempts {
        if let ThrottleDecision::Allowed { failures } =
            task.await.expect("task panicked").expect("attempt")
        {
            counts.push(failures);
        }
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=10).collect::<Vec<u32>>());
    // Either client sees the shared state.
    assert!(matches!(
        b.begin_attempt(&account, throttle, at)
            .await
            .expect("attempt"),
        ThrottleDecision::Throttled { .. }
    ));
    a.clear_attempts(&account).await.expect("clear");
    assert_eq!(
        b.begin_attempt(&account, throttle, at)
            .await
            .expect("attempt"),
        ThrottleDecision::Allowed { failures: 1 }
    );
    a.database().drop().await.expect("drop");
}

/// "Every session but this one" from both clients at once: each session is ended by exactly
/// one of the calls, and each call reports exactly the ones it ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn concurrent_revocations_report_each_ended_session_once() {
    let (a, b) = two_clients().await;
    let user = stored_user(&a, "alice@example.com").await;
    let mut all = HashSet::new();
    for _ in 0..12 {
        let (session, token) = sample_session(&user);
        a.create_session(&session, &token).await.expect("login");
        all.insert(session.id);
    }
    let keep = *all.iter().next().expect("a session");
    let at = now();
    let barrier = Arc::new(Barrier::new(4));
    let calls: Vec<_> = (0..4)
        .map(|i| {
            let (store, barrier) = (pick(i, &a, &b), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store.revoke_user_sessions(user.id, Some(keep), at).await
            })
        })
        .collect();
    let mut ended = HashSet::new();
    for call in calls {
        for id in call.await.expect("task panicked").expect("revoke") {
            assert!(ended.insert(id), "session {id} reported by two calls");
        }
    }
    all.remove(&keep);
    assert_eq!(ended, all);
    let live: Vec<_> = b
        .list_user_sessions(user.id, at)
        .await
        .expect("list")
        .into_iter()
        .map(|session| session.id)
        .collect();
    assert_eq!(live, vec![keep]);
    a.database().drop().await.expect("drop");
}

/// Appenders on both clients build one chain, purges on both at once leave one anchor from
/// which the rest verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn two_clients_build_and_purge_one_audit_chain() {
    let (a, b) = two_clients().await;
    let old = now() - time::Duration::days(400);
    let barrier = Arc::new(Barrier::new(CONCURRENT_TASKS));
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|i| {
            let (store, barrier) = (pick(i, &a, &b), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                audit::append(&*store, old, event(&format!("writer{i}"))).await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task panicked").expect("append");
    }
    for _ in 0..3 {
        audit::append(&*b, now(), event("recent"))
            .await
            .expect("append");
    }
    let report = audit::verify(&*a).await.expect("verify");
    assert_eq!(report.broken, None);
    assert_eq!(report.checked, CONCURRENT_TASKS as u64 + 3);

    let cutoff = now() - time::Duration::days(365);
    let (first, second) = tokio::join!(
        a.purge_audit_records(cutoff, now()),
        b.purge_audit_records(cutoff, now()),
    );
    let purged = first.expect("purge a") + second.expect("purge b");
    assert_eq!(
        purged, CONCURRENT_TASKS as u64,
        "each old record deleted once"
    );
    let anchor = b
        .audit_anchor()
        .await
        .expect("anchor")
        .expect("a purge leaves an anchor");
    assert_eq!(anchor.seq, CONCURRENT_TASKS as i64);
    let report = audit::verify(&*b).await.expect("verify");
    assert_eq!((report.broken, report.checked), (None, 3));
    a.database().drop().await.expect("drop");
}

/// Single use across clients: invalidations of one user are each counted, a TOTP step and a
/// recovery code are each accepted once, whichever client the callers use.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn single_use_and_increments_hold_across_clients() {
    let (a, b) = two_clients().await;
    let user = stored_user(&a, "alice@example.com").await;
    let barrier = Arc::new(Barrier::new(CONCURRENT_TASKS));
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|i| {
            let (store, barrier) = (pick(i, &a, &b), Arc::clone(&barrier));
            tokio::spawn(async move {
                let mut patch = cut();
                if i % 4 < 2 {
                    patch.invalidate = Some(Invalidate::AccessTokens);
                }
                barrier.wait().await;
                store.update_user(user.id, &patch).await
            })
        })
        .collect();
    for task in tasks {
        task.await
            .expect("task panicked")
            .expect("update")
            .expect("exists");
    }
    let after = b
        .find_user_by_id(user.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(after.token_version, CONCURRENT_TASKS as i64);
    assert!(after.session_epoch >= 1 && after.session_epoch <= after.token_version);

    let at = now();
    let pending = TotpRecord {
        user_id: user.id,
        secret: vec![3; 40],
        created_at: at,
        confirmed_at: None,
        pending_expires_at: at + time::Duration::minutes(10),
        last_used_step: None,
    };
    assert!(a.put_pending_totp(&pending).await.expect("put"));
    assert!(b.confirm_totp(user.id, 10, at).await.expect("confirm"));
    let code = RecoveryCodeHash([9; 32]);
    b.replace_recovery_codes(user.id, &[code, RecoveryCodeHash([8; 32])], at)
        .await
        .expect("codes");
    let barrier = Arc::new(Barrier::new(CONCURRENT_TASKS));
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|i| {
            let (store, barrier) = (pick(i, &a, &b), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                let step = store.use_totp_step(user.id, 11).await.expect("step");
                let code = store
                    .use_recovery_code(user.id, &code, now())
                    .await
                    .expect("code");
                (step, code)
            })
        })
        .collect();
    let (mut steps, mut codes) = (0, 0);
    for task in tasks {
        let (step, code) = task.await.expect("task panicked");
        steps += usize::from(step);
        codes += usize::from(code);
    }
    assert_eq!(
        (steps, codes),
        (1, 1),
        "each accepted once across both clients"
    );
    assert_eq!(a.count_recovery_codes(user.id).await.expect("count"), 1);
    assert!(
        a.find_user_by_email("alice@example.com")
            .await
            .expect("read")
            .expect("exists")
            .mfa_enabled
    );
    a.database().drop().await.expect("drop");
}
