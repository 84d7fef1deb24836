//! Conformance cases of [`SessionStore`](crate::SessionStore): sessions, atomic rotation,
//! and the cut that no credential in flight survives.

use std::collections::HashSet;
use std::sync::Arc;

use time::Duration;
use uuid::Uuid;

use super::{
    CONCURRENT_TASKS, now, sample_session, stored_session, stored_token, stored_user, successor_of,
};
use crate::error::StoreError;
use crate::session::{Revocation, RotateOutcome};
use crate::store::AuthStore;
use crate::token::{ConsumeOutcome, TokenKind};
use crate::user::{Invalidate, UserId, UserPatch};

/// A session reads back exactly as written, and its first token is a refresh token of the
/// family.
pub async fn session_round_trips_with_its_first_token(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let (session, token) = stored_session(&store, &user).await;
    assert_eq!(
        store.find_session(session.id).await.expect("find_session"),
        Some(session.clone())
    );
    assert_eq!(
        store
            .find_token(&token.token_hash, TokenKind::Refresh)
            .await
            .expect("find_token"),
        Some(token)
    );
    assert_eq!(
        store.find_session(Uuid::now_v7()).await.expect("unknown"),
        None
    );
    let mut bare = sample_session(&user).0;
    bare.user_agent = None;
    bare.ip = None;
    let first = sample_session(&user).1;
    let mut first = first;
    first.family_id = Some(bare.id);
    store
        .create_session(&bare, &first)
        .await
        .expect("a session without agent or address");
    assert_eq!(store.find_session(bare.id).await.expect("find"), Some(bare));
}

/// A second session with the same id, or a first token whose hash exists, is a
/// `Conflict`.
pub async fn duplicate_session_is_conflict(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let (session, token) = stored_session(&store, &user).await;
    let mut again = sample_session(&user).1;
    again.family_id = Some(session.id);
    let result = store.create_session(&session, &again).await;
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "same session id: {result:?}"
    );
    let (other, _) = sample_session(&user);
    let mut reused = token.clone();
    reused.family_id = Some(other.id);
    let result = store.create_session(&other, &reused).await;
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "same token hash: {result:?}"
    );
}

/// The user and the session an access token names come back together, and each may be
/// missing.
pub async fn find_user_and_session_reads_both(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let (session, _) = stored_session(&store, &user).await;
    let (found_user, found_session) = store
        .find_user_and_session(user.id, session.id)
        .await
        .expect("both");
    assert_eq!(found_user, Some(user.clone()));
    assert_eq!(found_session, Some(session.clone()));
    let (found_user, found_session) = store
        .find_user_and_session(user.id, Uuid::now_v7())
        .await
        .expect("no session");
    assert_eq!((found_user, found_session), (Some(user), None));
    let (found_user, _) = store
        .find_user_and_session(UserId::new(), session.id)
        .await
        .expect("no user");
    assert_eq!(found_user, None);
}

/// Only live sessions are listed — not revoked, not expired, not cut by the user's epoch,
/// not another user's — newest first.
pub async fn list_user_sessions_returns_live_ones_newest_first(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let other = stored_user(&store, "bob@example.com").await;
    let at = now();
    let mut ids = Vec::new();
    for i in 0..3 {
        let (mut session, mut token) = sample_session(&user);
        session.created_at = at - Duration::minutes(10 - i);
        session.last_used_at = session.created_at;
        token.family_id = Some(session.id);
        store
            .create_session(&session, &token)
            .await
            .expect("create");
        ids.push(session.id);
    }
    let (mut expired, mut token) = sample_session(&user);
    expired.expires_at = at - Duration::seconds(1);
    token.family_id = Some(expired.id);
    store
        .create_session(&expired, &token)
        .await
        .expect("expired");
    let (revoked, _) = stored_session(&store, &user).await;
    assert!(
        store
            .revoke_session(revoked.id, None, at)
            .await
            .expect("revoke")
    );
    stored_session(&store, &other).await;

    let listed: Vec<Uuid> = store
        .list_user_sessions(user.id, at)
        .await
        .expect("list")
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        listed,
        vec![ids[2], ids[1], ids[0]],
        "newest first, live only"
    );

    store
        .update_user(
            user.id,
            &UserPatch {
                updated_at: Some(at),
                invalidate: Some(Invalidate::Sessions),
                ..UserPatch::default()
            },
        )
        .await
        .expect("cut")
        .expect("exists");
    assert!(
        store
            .list_user_sessions(user.id, at)
            .await
            .expect("list after the cut")
            .is_empty(),
        "sessions from before the cut are not live"
    );
    assert_eq!(
        store
            .list_user_sessions(other.id, at)
            .await
            .expect("other")
            .len(),
        1
    );
}

/// A rotation uses up the presented token, stores the successor (capped at the session's
/// end) and touches the session; the presented token is then used and the successor live.
pub async fn rotation_uses_up_the_token_and_stores_the_successor(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let (mut session, first) = sample_session(&user);
    session.expires_at = now() + Duration::minutes(30);
    store
        .create_session(&session, &first)
        .await
        .expect("create");
    let mut next = successor_of(&first);
    next.expires_at = now() + Duration::days(7);
    let at = now() + Duration::seconds(2);
    let RotateOutcome::Rotated {
        session: rotated,
        user: owner,
    } = store
        .rotate_refresh_token(&first.token_hash, &next, at)
        .await
        .expect("rotate")
    else {
        panic!("a live token of a live session must rotate");
    };
    assert_eq!(owner, user);
    assert_eq!(rotated.id, session.id);
    assert_eq!(rotated.last_used_at, at);
    assert_eq!(
        store.find_session(session.id).await.expect("find"),
        Some(rotated.clone())
    );
    let stored_next = store
        .find_token(&next.token_hash, TokenKind::Refresh)
        .await
        .expect("find successor")
        .expect("successor stored");
    assert_eq!(stored_next.family_id, Some(session.id));
    assert_eq!(
        stored_next.expires_at, session.expires_at,
        "the successor never outlives its session"
    );
    assert_eq!(stored_next.used_at, None);
    let used = store
        .find_token(&first.token_hash, TokenKind::Refresh)
        .await
        .expect("find presented")
        .expect("still stored");
    assert_eq!(used.used_at, Some(at));
    let again = store
        .rotate_refresh_token(&first.token_hash, &successor_of(&first), at)
        .await
        .expect("replay");
    assert!(
        matches!(
            again,
            RotateOutcome::Refused(ConsumeOutcome::AlreadyUsed(_))
        ),
        "a replay is refused as used: {again:?}"
    );
}

/// An unknown, revoked, expired or password-reset token is refused with its reason, and no
/// successor is stored.
pub async fn rotation_reports_why_a_token_is_refused(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let at = now();
    let (_, revoked) = stored_session(&store, &user).await;
    assert!(
        store
            .revoke_token(&revoked.token_hash, TokenKind::Refresh, at)
            .await
            .expect("revoke")
    );
    let (expired_session, mut expired) = sample_session(&user);
    expired.expires_at = at - Duration::seconds(1);
    store
        .create_session(&expired_session, &expired)
        .await
        .expect("create");
    let reset = super::sample_token(&user, TokenKind::PasswordReset);
    stored_token(&store, &reset).await;
    let unknown = super::sample_token(&user, TokenKind::Refresh);
    for (presented, expected) in [
        (&unknown, "unknown"),
        (&reset, "unknown"),
        (&revoked, "revoked"),
        (&expired, "expired"),
    ] {
        let next = successor_of(&revoked);
        let outcome = store
            .rotate_refresh_token(&presented.token_hash, &next, at)
            .await
            .expect("rotate");
        let got = match outcome {
            RotateOutcome::Refused(ConsumeOutcome::Unknown) => "unknown",
            RotateOutcome::Refused(ConsumeOutcome::Revoked(_)) => "revoked",
            RotateOutcome::Refused(ConsumeOutcome::Expired(_)) => "expired",
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(got, expected);
        assert_eq!(
            store
                .find_token(&next.token_hash, TokenKind::Refresh)
                .await
                .expect("find"),
            None,
            "nothing stored for a refused token"
        );
    }
}

/// A live token of a session that is revoked, past its end, cut by the user's epoch, or
/// whose user is deactivated by a cut, rotates into nothing.
pub async fn rotation_refuses_ended_sessions_and_stores_nothing(store: impl AuthStore) {
    let at = now();
    // Revoked.
    let user = stored_user(&store, "alice@example.com").await;
    let (revoked, revoked_token) = stored_session(&store, &user).await;
    assert!(
        store
            .revoke_session(revoked.id, None, at)
            .await
            .expect("revoke")
    );
    // Past its end (the token itself still live).
    let (mut ended, mut ended_token) = sample_session(&user);
    ended.expires_at = at - Duration::seconds(1);
    ended_token.family_id = Some(ended.id);
    ended_token.expires_at = at + Duration::hours(1);
    store
        .create_session(&ended, &ended_token)
        .await
        .expect("create");
    // Cut by the epoch.
    let bob = stored_user(&store, "bob@example.com").await;
    let (_, cut_token) = stored_session(&store, &bob).await;
    store
        .update_user(
            bob.id,
            &UserPatch {
                updated_at: Some(at),
                invalidate: Some(Invalidate::Sessions),
                ..UserPatch::default()
            },
        )
        .await
        .expect("cut")
        .expect("exists");
    for token in [&revoked_token, &ended_token, &cut_token] {
        let next = successor_of(token);
        let outcome = store
            .rotate_refresh_token(&token.token_hash, &next, at)
            .await
            .expect("rotate");
        assert!(
            matches!(outcome, RotateOutcome::SessionEnded(ref t) if t.token_hash == token.token_hash),
            "an ended session must not rotate: {outcome:?}"
        );
        assert_eq!(
            store
                .find_token(&next.token_hash, TokenKind::Refresh)
                .await
                .expect("find"),
            None,
            "no successor for an ended session"
        );
    }
}

/// Of [`CONCURRENT_TASKS`] rotations of one token at once, each with its own successor,
/// exactly one wins and exactly one successor is stored.
pub async fn concurrent_rotations_of_one_token_have_exactly_one_winner(store: impl AuthStore) {
    let store = Arc::new(store);
    let user = stored_user(&*store, "alice@example.com").await;
    let (_, first) = stored_session(&*store, &user).await;
    let at = now();
    let barrier = Arc::new(tokio::sync::Barrier::new(CONCURRENT_TASKS));
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|_| {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            let (hash, next) = (first.token_hash, successor_of(&first));
            tokio::spawn(async move {
                barrier.wait().await;
                let outcome = store.rotate_refresh_token(&hash, &next, at).await;
                (next, outcome)
            })
        })
        .collect();
    let mut winners = 0;
    let mut stored = 0;
    for task in tasks {
        let (next, outcome) = task.await.expect("task panicked");
        match outcome.expect("rotate failed") {
            RotateOutcome::Rotated { .. } => winners += 1,
            RotateOutcome::Refused(ConsumeOutcome::AlreadyUsed(_)) => {}
            other => panic!("unexpected outcome {other:?}"),
        }
        if store
            .find_token(&next.token_hash, TokenKind::Refresh)
            .await
            .expect("find")
            .is_some()
        {
            stored += 1;
        }
    }
    assert_eq!(winners, 1, "exactly one rotation may win");
    assert_eq!(stored, 1, "exactly one successor may be stored");
}

/// A cut of the user's sessions racing logins that read the user before it and
/// rotations of existing sessions: once the cut is stored, no session is live, no token
/// issued by any of them can rotate, and the access-token version moved past every
/// version read before the cut — whatever the interleaving.
pub async fn a_cut_racing_logins_and_rotations_leaves_no_live_credential(store: impl AuthStore) {
    let store = Arc::new(store);
    let user = stored_user(&*store, "alice@example.com").await;
    let mut existing = Vec::new();
    for _ in 0..CONCURRENT_TASKS / 2 {
        existing.push(stored_session(&*store, &user).await.1);
    }
    // Every login read the user before the cut: it carries the epoch and version of then.
    let before = store
        .find_user_by_id(user.id)
        .await
        .expect("read")
        .expect("exists");
    let barrier = Arc::new(tokio::sync::Barrier::new(CONCURRENT_TASKS + 1));
    let mut tasks = Vec::new();
    for token in existing {
        let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
        tasks.push(tokio::spawn(async move {
            let next = successor_of(&token);
            barrier.wait().await;
            let _ = store
                .rotate_refresh_token(&token.token_hash, &next, now())
                .await
                .expect("rotate");
            next
        }));
    }
    for _ in 0..CONCURRENT_TASKS / 2 {
        let (store, barrier, before) = (Arc::clone(&store), Arc::clone(&barrier), before.clone());
        tasks.push(tokio::spawn(async move {
            let (session, token) = sample_session(&before);
            barrier.wait().await;
            store.create_session(&session, &token).await.expect("login");
            token
        }));
    }
    let cut = {
        let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
        tokio::spawn(async move {
            barrier.wait().await;
            store
                .update_user(
                    user.id,
                    &UserPatch {
                        updated_at: Some(now()),
                        invalidate: Some(Invalidate::Sessions),
                        ..UserPatch::default()
                    },
                )
                .await
                .expect("cut")
                .expect("exists")
        })
    };
    let mut issued = Vec::new();
    for task in tasks {
        issued.push(task.await.expect("task panicked"));
    }
    let after = cut.await.expect("cut panicked");
    assert!(
        after.token_version > before.token_version,
        "every access token issued from the earlier read is stale"
    );
    assert!(
        store
            .list_user_sessions(user.id, now())
            .await
            .expect("list")
            .is_empty(),
        "no session from before the cut is live"
    );
    for token in issued {
        let outcome = store
            .rotate_refresh_token(&token.token_hash, &successor_of(&token), now())
            .await
            .expect("rotate after the cut");
        assert!(
            !matches!(outcome, RotateOutcome::Rotated { .. }),
            "a token issued in flight outlived the cut: {outcome:?}"
        );
    }
}

/// Only a live session of the owner is ended, once: unknown ids, other users' sessions
/// and repeated calls answer `false`.
pub async fn revoke_session_ends_only_an_owned_live_session(store: impl AuthStore) {
    let alice = stored_user(&store, "alice@example.com").await;
    let bob = stored_user(&store, "bob@example.com").await;
    let (session, _) = stored_session(&store, &alice).await;
    let at = now();
    assert!(
        !store
            .revoke_session(session.id, Some(bob.id), at)
            .await
            .expect("foreign"),
        "another user's session is not theirs to end"
    );
    assert!(
        !store
            .revoke_session(Uuid::now_v7(), Some(alice.id), at)
            .await
            .expect("unknown")
    );
    assert_eq!(
        store
            .find_session(session.id)
            .await
            .expect("find")
            .expect("exists")
            .revoked_at,
        None
    );
    assert!(
        store
            .revoke_session(session.id, Some(alice.id), at)
            .await
            .expect("own")
    );
    assert!(
        !store
            .revoke_session(session.id, Some(alice.id), at + Duration::seconds(1))
            .await
            .expect("again"),
        "ending twice is not ending again"
    );
    assert_eq!(
        store
            .find_session(session.id)
            .await
            .expect("find")
            .expect("exists")
            .revoked_at,
        Some(at)
    );
}

/// Every session of the user but the one kept is ended; other users' are not touched.
pub async fn revoke_user_sessions_keeps_the_one_asked_for(store: impl AuthStore) {
    let alice = stored_user(&store, "alice@example.com").await;
    let bob = stored_user(&store, "bob@example.com").await;
    let (keep, _) = stored_session(&store, &alice).await;
    let mut others = HashSet::new();
    for _ in 0..3 {
        others.insert(stored_session(&store, &alice).await.0.id);
    }
    let (bobs, _) = stored_session(&store, &bob).await;
    let at = now();
    let ended: HashSet<Uuid> = store
        .revoke_user_sessions(alice.id, Some(keep.id), at)
        .await
        .expect("revoke")
        .into_iter()
        .collect();
    assert_eq!(ended, others);
    let live: Vec<Uuid> = store
        .list_user_sessions(alice.id, at)
        .await
        .expect("list")
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(live, vec![keep.id]);
    assert_eq!(
        store.list_user_sessions(bob.id, at).await.expect("bob")[0].id,
        bobs.id
    );
    let all = store
        .revoke_user_sessions(alice.id, None, at)
        .await
        .expect("all");
    assert_eq!(all, vec![keep.id]);
}

/// The feed reports every session ended and every version raised after `since`, and
/// nothing from before it.
pub async fn revocations_since_reports_ended_sessions_and_raised_versions(store: impl AuthStore) {
    let alice = stored_user(&store, "alice@example.com").await;
    let bob = stored_user(&store, "bob@example.com").await;
    let (session, _) = stored_session(&store, &alice).await;
    let (old, _) = stored_session(&store, &alice).await;
    let start = now();
    assert!(
        store
            .revoke_session(old.id, None, start - Duration::seconds(10))
            .await
            .expect("old revoke")
    );
    let at = start + Duration::seconds(1);
    assert!(
        store
            .revoke_session(session.id, None, at)
            .await
            .expect("revoke")
    );
    store
        .update_user(
            bob.id,
            &UserPatch {
                updated_at: Some(at),
                invalidate: Some(Invalidate::AccessTokens),
                ..UserPatch::default()
            },
        )
        .await
        .expect("raise")
        .expect("exists");
    let mut feed = store.revocations_since(start).await.expect("feed");
    feed.sort_by_key(|r| matches!(r, Revocation::User { .. }));
    assert_eq!(
        feed,
        vec![
            Revocation::Session {
                id: session.id,
                user_id: alice.id,
                at
            },
            Revocation::User {
                user_id: bob.id,
                token_version: 1,
                at
            }
        ]
    );
    assert!(
        store.revocations_since(at).await.expect("after").is_empty(),
        "nothing after the last cut"
    );
}

/// Sessions past their end are deleted with their refresh tokens; live ones stay.
pub async fn purge_expired_sessions_deletes_them_and_their_tokens(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let at = now();
    let (mut expired, mut token) = sample_session(&user);
    expired.expires_at = at - Duration::seconds(1);
    token.family_id = Some(expired.id);
    store
        .create_session(&expired, &token)
        .await
        .expect("create");
    let (live, live_token) = stored_session(&store, &user).await;
    assert_eq!(store.purge_expired_sessions(at).await.expect("purge"), 1);
    assert_eq!(store.find_session(expired.id).await.expect("find"), None);
    assert_eq!(
        store
            .find_token(&token.token_hash, TokenKind::Refresh)
            .await
            .expect("find token"),
        None,
        "the tokens of a purged session go with it"
    );
    assert_eq!(
        store.find_session(live.id).await.expect("find live"),
        Some(live)
    );
    assert!(
        store
            .find_token(&live_token.token_hash, TokenKind::Refresh)
            .await
            .expect("find live token")
            .is_some()
    );
}
