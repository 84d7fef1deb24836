//! Conformance cases of [`TokenStore`](crate::TokenStore).

use std::sync::Arc;

use time::Duration;
use uuid::Uuid;

use super::{CONCURRENT_TASKS, now, sample_token, stored_token, stored_user};
use crate::error::StoreError;
use crate::store::AuthStore;
use crate::token::{ConsumeOutcome, TokenHash, TokenKind, TokenRecord};

/// A token reads back exactly as written, whatever its kind.
pub async fn token_round_trips_every_field(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let refresh = sample_token(&user, TokenKind::Refresh);
    let reset = sample_token(&user, TokenKind::PasswordReset);
    stored_token(&store, &refresh).await;
    stored_token(&store, &reset).await;
    assert_eq!(
        store
            .find_token(&refresh.token_hash, TokenKind::Refresh)
            .await
            .expect("find refresh"),
        Some(refresh)
    );
    assert_eq!(
        store
            .find_token(&reset.token_hash, TokenKind::PasswordReset)
            .await
            .expect("find reset"),
        Some(reset)
    );
}

/// A live token is consumed once (marked used at `now`); the next attempt sees it used.
pub async fn live_token_is_consumed_exactly_once(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let token = sample_token(&user, TokenKind::Refresh);
    stored_token(&store, &token).await;
    let at = now();
    let first = store
        .consume_token(&token.token_hash, TokenKind::Refresh, at)
        .await
        .expect("consume");
    let expected = TokenRecord {
        used_at: Some(at),
        ..token.clone()
    };
    assert_eq!(first, ConsumeOutcome::Consumed(expected.clone()));
    let second = store
        .consume_token(&token.token_hash, TokenKind::Refresh, at)
        .await
        .expect("consume again");
    assert_eq!(second, ConsumeOutcome::AlreadyUsed(expected));
}

/// Unknown hashes, and hashes of another kind, are `Unknown`.
pub async fn unknown_or_other_kind_token_is_unknown(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let token = sample_token(&user, TokenKind::PasswordReset);
    stored_token(&store, &token).await;
    let at = now();
    assert_eq!(
        store
            .consume_token(&TokenHash::of("never issued"), TokenKind::PasswordReset, at)
            .await
            .expect("consume unknown"),
        ConsumeOutcome::Unknown
    );
    assert_eq!(
        store
            .consume_token(&token.token_hash, TokenKind::Refresh, at)
            .await
            .expect("consume as other kind"),
        ConsumeOutcome::Unknown,
        "a reset token must not be usable as a refresh token"
    );
    assert_eq!(
        store
            .find_token(&token.token_hash, TokenKind::Refresh)
            .await
            .expect("find as other kind"),
        None
    );
    // And it is still live for its own kind.
    assert!(matches!(
        store
            .consume_token(&token.token_hash, TokenKind::PasswordReset, at)
            .await
            .expect("consume"),
        ConsumeOutcome::Consumed(_)
    ));
}

/// A revoked token cannot be consumed.
pub async fn revoked_token_is_reported_revoked(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let token = sample_token(&user, TokenKind::Refresh);
    stored_token(&store, &token).await;
    let at = now();
    assert!(
        store
            .revoke_token(&token.token_hash, TokenKind::Refresh, at)
            .await
            .expect("revoke")
    );
    let outcome = store
        .consume_token(&token.token_hash, TokenKind::Refresh, at)
        .await
        .expect("consume");
    assert_eq!(
        outcome,
        ConsumeOutcome::Revoked(TokenRecord {
            revoked_at: Some(at),
            ..token
        })
    );
}

/// A token whose `expires_at` is not after `now` cannot be consumed; one millisecond
/// before, it can.
pub async fn expired_token_is_reported_expired(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let token = sample_token(&user, TokenKind::PasswordReset);
    stored_token(&store, &token).await;
    let at_expiry = store
        .consume_token(
            &token.token_hash,
            TokenKind::PasswordReset,
            token.expires_at,
        )
        .await
        .expect("consume at expiry");
    assert_eq!(at_expiry, ConsumeOutcome::Expired(token.clone()));
    let just_before = token.expires_at - Duration::milliseconds(1);
    assert!(matches!(
        store
            .consume_token(&token.token_hash, TokenKind::PasswordReset, just_before)
            .await
            .expect("consume before expiry"),
        ConsumeOutcome::Consumed(_)
    ));
}

/// When a token is in several states, used wins, then revoked, then expired.
pub async fn used_wins_over_revoked_and_expired(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let token = sample_token(&user, TokenKind::Refresh);
    stored_token(&store, &token).await;
    let at = now();
    store
        .consume_token(&token.token_hash, TokenKind::Refresh, at)
        .await
        .expect("consume");
    store
        .revoke_token(&token.token_hash, TokenKind::Refresh, at)
        .await
        .expect("revoke");
    let late = token.expires_at + Duration::hours(1);
    assert!(matches!(
        store
            .consume_token(&token.token_hash, TokenKind::Refresh, late)
            .await
            .expect("consume"),
        ConsumeOutcome::AlreadyUsed(_)
    ));

    let other = sample_token(&user, TokenKind::Refresh);
    stored_token(&store, &other).await;
    store
        .revoke_token(&other.token_hash, TokenKind::Refresh, at)
        .await
        .expect("revoke");
    assert!(matches!(
        store
            .consume_token(&other.token_hash, TokenKind::Refresh, late)
            .await
            .expect("consume"),
        ConsumeOutcome::Revoked(_)
    ));
}

/// A second token with the same hash is a `Conflict`.
pub async fn duplicate_token_hash_is_conflict(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let token = sample_token(&user, TokenKind::Refresh);
    stored_token(&store, &token).await;
    let twin = TokenRecord {
        id: Uuid::now_v7(),
        kind: TokenKind::PasswordReset,
        ..token
    };
    let result = store.insert_token(&twin).await;
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "expected Conflict, got {result:?}"
    );
}

/// `revoke_token` revokes one token once and reports whether it did.
pub async fn revoke_token_marks_only_that_token(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let a = sample_token(&user, TokenKind::Refresh);
    let b = sample_token(&user, TokenKind::Refresh);
    stored_token(&store, &a).await;
    stored_token(&store, &b).await;
    let at = now();
    assert!(
        store
            .revoke_token(&a.token_hash, TokenKind::Refresh, at)
            .await
            .expect("revoke")
    );
    assert!(
        !store
            .revoke_token(&a.token_hash, TokenKind::Refresh, at)
            .await
            .expect("again"),
        "revoking twice reports false"
    );
    assert!(
        !store
            .revoke_token(&a.token_hash, TokenKind::PasswordReset, at)
            .await
            .expect("other kind"),
    );
    assert!(
        !store
            .revoke_token(&TokenHash::of("unknown"), TokenKind::Refresh, at)
            .await
            .expect("unknown")
    );
    let b_now = store
        .find_token(&b.token_hash, TokenKind::Refresh)
        .await
        .expect("find");
    assert_eq!(b_now, Some(b), "other tokens are untouched");
}

/// Revoking a family revokes every token of it (used ones too) and nothing else.
pub async fn revoke_token_family_revokes_only_that_family(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let first = sample_token(&user, TokenKind::Refresh);
    let family = first.family_id.expect("refresh tokens have a family");
    let second = TokenRecord {
        id: Uuid::now_v7(),
        token_hash: TokenHash::of("second in family"),
        ..first.clone()
    };
    let outsider = sample_token(&user, TokenKind::Refresh);
    for token in [&first, &second, &outsider] {
        stored_token(&store, token).await;
    }
    let at = now();
    store
        .consume_token(&first.token_hash, TokenKind::Refresh, at)
        .await
        .expect("consume");
    assert_eq!(
        store.revoke_token_family(family, at).await.expect("revoke"),
        2
    );
    assert_eq!(
        store.revoke_token_family(family, at).await.expect("again"),
        0,
        "already revoked tokens are not counted"
    );
    for token in [&first, &second] {
        let read = store
            .find_token(&token.token_hash, TokenKind::Refresh)
            .await
            .expect("find")
            .expect("exists");
        assert_eq!(read.revoked_at, Some(at));
    }
    let read = store
        .find_token(&outsider.token_hash, TokenKind::Refresh)
        .await
        .expect("find");
    assert_eq!(read, Some(outsider));
}

/// Revoking a user's tokens of one kind leaves the other kind and other users alone;
/// revoking all kinds takes the rest.
pub async fn revoke_user_tokens_by_kind_and_all(store: impl AuthStore) {
    let alice = stored_user(&store, "alice@example.com").await;
    let bob = stored_user(&store, "bob@example.com").await;
    let refresh = [
        sample_token(&alice, TokenKind::Refresh),
        sample_token(&alice, TokenKind::Refresh),
    ];
    let reset = sample_token(&alice, TokenKind::PasswordReset);
    let bobs = sample_token(&bob, TokenKind::Refresh);
    for token in refresh.iter().chain([&reset, &bobs]) {
        stored_token(&store, token).await;
    }
    let at = now();
    assert_eq!(
        store
            .revoke_user_tokens(alice.id, Some(TokenKind::Refresh), at)
            .await
            .expect("revoke refresh"),
        2
    );
    let reset_now = store
        .find_token(&reset.token_hash, TokenKind::PasswordReset)
        .await
        .expect("find");
    assert_eq!(reset_now, Some(reset.clone()), "other kinds untouched");
    assert_eq!(
        store
            .revoke_user_tokens(alice.id, None, at)
            .await
            .expect("revoke all"),
        1
    );
    assert!(matches!(
        store
            .consume_token(&reset.token_hash, TokenKind::PasswordReset, at)
            .await
            .expect("consume"),
        ConsumeOutcome::Revoked(_)
    ));
    assert_eq!(
        store
            .find_token(&bobs.token_hash, TokenKind::Refresh)
            .await
            .expect("find"),
        Some(bobs),
        "other users untouched"
    );
}

/// Purging deletes tokens with `expires_at <= now`, whatever their state, and only them.
pub async fn purge_deletes_only_expired_tokens(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let at = now();
    let mut expired = Vec::new();
    for minutes in [1, 5, 60] {
        let mut token = sample_token(&user, TokenKind::Refresh);
        token.expires_at = at - Duration::minutes(minutes);
        token.created_at = token.expires_at - Duration::hours(1);
        stored_token(&store, &token).await;
        expired.push(token);
    }
    let mut boundary = sample_token(&user, TokenKind::PasswordReset);
    boundary.expires_at = at;
    stored_token(&store, &boundary).await;
    let live = sample_token(&user, TokenKind::Refresh);
    stored_token(&store, &live).await;

    assert_eq!(store.purge_expired_tokens(at).await.expect("purge"), 4);
    for token in &expired {
        assert_eq!(
            store
                .find_token(&token.token_hash, token.kind)
                .await
                .expect("find"),
            None
        );
    }
    assert_eq!(
        store
            .find_token(&live.token_hash, TokenKind::Refresh)
            .await
            .expect("find"),
        Some(live)
    );
    assert_eq!(store.purge_expired_tokens(at).await.expect("again"), 0);
}

/// Of [`CONCURRENT_TASKS`] tasks consuming one token at once, exactly one wins; the rest
/// see it used.
pub async fn concurrent_consumes_have_exactly_one_winner(store: impl AuthStore) {
    let store = Arc::new(store);
    let user = stored_user(&*store, "alice@example.com").await;
    let token = sample_token(&user, TokenKind::Refresh);
    stored_token(&*store, &token).await;
    let at = now();
    let barrier = Arc::new(tokio::sync::Barrier::new(CONCURRENT_TASKS));
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|_| {
            let (store, barrier, hash) =
                (Arc::clone(&store), Arc::clone(&barrier), token.token_hash);
            tokio::spawn(async move {
                barrier.wait().await;
                store.consume_token(&hash, TokenKind::Refresh, at).await
            })
        })
        .collect();
    let mut winners = 0;
    let mut used = 0;
    for task in tasks {
        match task.await.expect("task panicked").expect("consume failed") {
            ConsumeOutcome::Consumed(_) => winners += 1,
            ConsumeOutcome::AlreadyUsed(_) => used += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(winners, 1, "exactly one consume may win");
    assert_eq!(used, CONCURRENT_TASKS - 1);
}
