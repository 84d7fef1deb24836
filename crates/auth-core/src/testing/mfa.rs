//! Conformance cases of [`MfaStore`](crate::MfaStore): enrolments, replay-proof steps and
//! single-use recovery codes.

use std::sync::Arc;

use time::Duration;

use super::{CONCURRENT_TASKS, now, stored_user};
use crate::mfa::{RecoveryCodeHash, TotpRecord};
use crate::store::AuthStore;
use crate::user::User;

fn pending(user: &User) -> TotpRecord {
    let at = now();
    TotpRecord {
        user_id: user.id,
        secret: vec![1, 0, 255, 42, 7, 0, 0, 9],
        created_at: at,
        confirmed_at: None,
        pending_expires_at: at + Duration::minutes(10),
        last_used_step: None,
    }
}

fn code(n: u8) -> RecoveryCodeHash {
    RecoveryCodeHash([n; 32])
}

async fn enrolled(store: &impl AuthStore, user: &User) -> TotpRecord {
    let record = pending(user);
    assert!(store.put_pending_totp(&record).await.expect("put"));
    assert!(
        store
            .confirm_totp(user.id, 100, now())
            .await
            .expect("confirm")
    );
    store
        .find_totp(user.id)
        .await
        .expect("find")
        .expect("enrolled")
}

/// A pending enrolment reads back as written and is confirmed once; the user then shows
/// `mfa_enabled`.
pub async fn pending_totp_round_trips_and_confirms_once(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let record = pending(&user);
    assert!(store.put_pending_totp(&record).await.expect("put"));
    assert_eq!(
        store.find_totp(user.id).await.expect("find"),
        Some(record.clone())
    );
    assert!(
        !store
            .find_user_by_id(user.id)
            .await
            .expect("user")
            .expect("exists")
            .mfa_enabled,
        "pending is not enabled"
    );
    let at = now() + Duration::seconds(30);
    assert!(store.confirm_totp(user.id, 100, at).await.expect("confirm"));
    assert!(
        !store.confirm_totp(user.id, 101, at).await.expect("again"),
        "confirmed once"
    );
    let confirmed = store
        .find_totp(user.id)
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(confirmed.confirmed_at, Some(at));
    assert_eq!(confirmed.last_used_step, Some(100));
    assert_eq!(confirmed.secret, record.secret);
    let user = store
        .find_user_by_id(user.id)
        .await
        .expect("user")
        .expect("exists");
    assert!(user.mfa_enabled);
    assert!(
        store
            .find_user_by_email("alice@example.com")
            .await
            .expect("by email")
            .expect("exists")
            .mfa_enabled
    );
    assert_eq!(
        store.find_totp(crate::UserId::new()).await.expect("none"),
        None
    );
}

/// A pending enrolment past its time cannot be confirmed.
pub async fn an_expired_pending_totp_cannot_be_confirmed(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let record = pending(&user);
    assert!(store.put_pending_totp(&record).await.expect("put"));
    assert!(
        !store
            .confirm_totp(user.id, 1, record.pending_expires_at)
            .await
            .expect("confirm")
    );
    assert!(
        !store
            .find_user_by_id(user.id)
            .await
            .expect("user")
            .expect("exists")
            .mfa_enabled
    );
}

/// A new setup replaces a pending one but never a confirmed one.
pub async fn a_confirmed_totp_is_not_replaced_by_a_pending_one(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let first = pending(&user);
    assert!(store.put_pending_totp(&first).await.expect("put"));
    let mut second = pending(&user);
    second.secret = vec![9; 20];
    assert!(
        store
            .put_pending_totp(&second)
            .await
            .expect("replace pending")
    );
    assert_eq!(
        store
            .find_totp(user.id)
            .await
            .expect("find")
            .expect("exists")
            .secret,
        second.secret
    );
    assert!(
        store
            .confirm_totp(user.id, 5, now())
            .await
            .expect("confirm")
    );
    let mut third = pending(&user);
    third.secret = vec![7; 20];
    assert!(!store.put_pending_totp(&third).await.expect("refused"));
    let kept = store
        .find_totp(user.id)
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(kept.secret, second.secret);
    assert!(kept.is_confirmed());
}

/// Each step is accepted once, and never one at or before the last accepted.
pub async fn totp_steps_are_used_once_and_in_order(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let other = stored_user(&store, "bob@example.com").await;
    assert!(
        !store
            .use_totp_step(user.id, 200)
            .await
            .expect("not enrolled"),
        "no enrolment, no step"
    );
    assert!(store.put_pending_totp(&pending(&other)).await.expect("put"));
    assert!(
        !store.use_totp_step(other.id, 200).await.expect("pending"),
        "a pending enrolment accepts no step"
    );
    enrolled(&store, &user).await;
    assert!(
        !store
            .use_totp_step(user.id, 100)
            .await
            .expect("confirm step")
    );
    assert!(store.use_totp_step(user.id, 101).await.expect("next"));
    assert!(!store.use_totp_step(user.id, 101).await.expect("replay"));
    assert!(store.use_totp_step(user.id, 103).await.expect("later"));
    assert!(!store.use_totp_step(user.id, 102).await.expect("earlier"));
    assert_eq!(
        store
            .find_totp(user.id)
            .await
            .expect("find")
            .expect("exists")
            .last_used_step,
        Some(103)
    );
}

/// Of [`CONCURRENT_TASKS`] uses of one step at once, exactly one succeeds.
pub async fn concurrent_uses_of_one_totp_step_have_exactly_one_winner(store: impl AuthStore) {
    let store = Arc::new(store);
    let user = stored_user(&*store, "alice@example.com").await;
    enrolled(&*store, &user).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(CONCURRENT_TASKS));
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|_| {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store.use_totp_step(user.id, 500).await
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        if task.await.expect("task panicked").expect("use failed") {
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "a code is accepted once");
}

/// Each recovery code works once; replacing them voids the old ones; codes are per user.
pub async fn recovery_codes_are_single_use_and_replaced_together(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let other = stored_user(&store, "bob@example.com").await;
    let at = now();
    let codes: Vec<RecoveryCodeHash> = (1..=10).map(code).collect();
    store
        .replace_recovery_codes(user.id, &codes, at)
        .await
        .expect("store");
    assert_eq!(
        store.count_recovery_codes(user.id).await.expect("count"),
        10
    );
    assert!(
        !store
            .use_recovery_code(other.id, &code(1), at)
            .await
            .expect("foreign"),
        "a code belongs to its user"
    );
    assert!(
        store
            .use_recovery_code(user.id, &code(1), at)
            .await
            .expect("use")
    );
    assert!(
        !store
            .use_recovery_code(user.id, &code(1), at)
            .await
            .expect("again")
    );
    assert!(
        !store
            .use_recovery_code(user.id, &code(99), at)
            .await
            .expect("unknown")
    );
    assert_eq!(store.count_recovery_codes(user.id).await.expect("count"), 9);
    let fresh: Vec<RecoveryCodeHash> = (11..=20).map(code).collect();
    store
        .replace_recovery_codes(user.id, &fresh, at)
        .await
        .expect("replace");
    assert!(
        !store
            .use_recovery_code(user.id, &code(2), at)
            .await
            .expect("old"),
        "replacing voids every old code"
    );
    assert!(
        store
            .use_recovery_code(user.id, &code(11), at)
            .await
            .expect("new")
    );
    assert_eq!(store.count_recovery_codes(user.id).await.expect("count"), 9);
}

/// Of [`CONCURRENT_TASKS`] uses of one recovery code at once, exactly one succeeds.
pub async fn concurrent_uses_of_one_recovery_code_have_exactly_one_winner(store: impl AuthStore) {
    let store = Arc::new(store);
    let user = stored_user(&*store, "alice@example.com").await;
    store
        .replace_recovery_codes(user.id, &[code(7), code(8)], now())
        .await
        .expect("store");
    let barrier = Arc::new(tokio::sync::Barrier::new(CONCURRENT_TASKS));
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|_| {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store.use_recovery_code(user.id, &code(7), now()).await
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        if task.await.expect("task panicked").expect("use failed") {
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "a recovery code is used once");
    assert_eq!(store.count_recovery_codes(user.id).await.expect("count"), 1);
}

/// Deleting the enrolment deletes the recovery codes and clears `mfa_enabled`.
pub async fn delete_totp_removes_the_codes_and_the_flag(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    enrolled(&store, &user).await;
    store
        .replace_recovery_codes(user.id, &[code(1)], now())
        .await
        .expect("codes");
    assert!(store.delete_totp(user.id).await.expect("delete"));
    assert!(!store.delete_totp(user.id).await.expect("again"));
    assert_eq!(store.find_totp(user.id).await.expect("find"), None);
    assert_eq!(store.count_recovery_codes(user.id).await.expect("count"), 0);
    assert!(
        !store
            .find_user_by_id(user.id)
            .await
            .expect("user")
            .expect("exists")
            .mfa_enabled
    );
}

/// Expired pending enrolments are deleted; confirmed ones stay whatever their age.
pub async fn purge_expired_totp_keeps_confirmed_ones(store: impl AuthStore) {
    let alice = stored_user(&store, "alice@example.com").await;
    let bob = stored_user(&store, "bob@example.com").await;
    assert!(store.put_pending_totp(&pending(&alice)).await.expect("put"));
    enrolled(&store, &bob).await;
    let later = now() + Duration::hours(1);
    assert_eq!(store.purge_expired_totp(later).await.expect("purge"), 1);
    assert_eq!(store.find_totp(alice.id).await.expect("find"), None);
    assert!(store.find_totp(bob.id).await.expect("find").is_some());
}
