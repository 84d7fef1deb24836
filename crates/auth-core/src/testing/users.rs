//! Conformance cases of [`UserStore`](crate::UserStore), including the atomic raise of a
//! user's token version and session epoch.

use std::collections::HashSet;
use std::sync::Arc;

use time::Duration;

use super::{CONCURRENT_TASKS, now, sample_user, stored_user};
use crate::error::StoreError;
use crate::store::AuthStore;
use crate::user::{HashedPassword, Invalidate, User, UserId, UserPatch, UserSettings};

/// A user reads back exactly as written, by id and by email.
pub async fn user_round_trips_every_field(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let by_id = store
        .find_user_by_id(user.id)
        .await
        .expect("find_user_by_id");
    assert_eq!(by_id.as_ref(), Some(&user), "find_user_by_id");
    let by_email = store
        .find_user_by_email("alice@example.com")
        .await
        .expect("find_user_by_email");
    assert_eq!(by_email.as_ref(), Some(&user), "find_user_by_email");
}

/// Unknown ids and emails are `Ok(None)`, not errors.
pub async fn missing_user_is_none(store: impl AuthStore) {
    stored_user(&store, "alice@example.com").await;
    assert_eq!(
        store.find_user_by_id(UserId::new()).await.expect("by id"),
        None
    );
    assert_eq!(
        store
            .find_user_by_email("bob@example.com")
            .await
            .expect("by email"),
        None
    );
}

/// A second user with the same (normalised) email is a `Conflict`, and nothing of it is
/// stored.
pub async fn duplicate_email_is_conflict(store: impl AuthStore) {
    let first = stored_user(&store, "alice@example.com").await;
    let mut second = sample_user("alice@example.com");
    second.username = "impostor".into();
    let result = store.create_user(&second).await;
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "expected Conflict, got {result:?}"
    );
    assert_eq!(store.find_user_by_id(second.id).await.expect("by id"), None);
    let kept = store
        .find_user_by_email("alice@example.com")
        .await
        .expect("by email");
    assert_eq!(kept, Some(first));
}

/// Every field of a patch is applied in one write, other fields are kept, and the
/// result is returned.
pub async fn update_user_applies_the_patch_and_returns_the_result(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    let other = stored_user(&store, "bob@example.com").await;
    let later = user.updated_at + Duration::seconds(90);

    let untouched = store
        .update_user(user.id, &UserPatch::default())
        .await
        .expect("empty patch");
    assert_eq!(
        untouched.as_ref(),
        Some(&user),
        "an empty patch changes nothing"
    );

    let mut settings = UserSettings::new();
    settings.insert("lang".into(), serde_json::json!("fr"));
    let patch = UserPatch {
        username: Some("alice2".into()),
        password_hash: Some(HashedPassword::new(
            "$argon2id$v=19$m=8,t=1,p=1$bmV3c2FsdA$bmV3aGFzaA",
        )),
        roles: Some(vec![]),
        user_settings: Some(settings.clone()),
        is_verified: Some(true),
        is_active: Some(false),
        updated_at: Some(later),
        invalidate: None,
    };
    let updated = store
        .update_user(user.id, &patch)
        .await
        .expect("update_user")
        .expect("user exists");
    let expected = User {
        username: "alice2".into(),
        password_hash: patch.password_hash.clone().expect("set above"),
        roles: vec![],
        user_settings: settings,
        is_verified: true,
        is_active: false,
        updated_at: later,
        ..user.clone()
    };
    assert_eq!(updated, expected, "returned user");
    assert_eq!(
        store.find_user_by_id(user.id).await.expect("reread"),
        Some(expected),
        "stored user"
    );
    let partial = store
        .update_user(
            user.id,
            &UserPatch {
                is_active: Some(true),
                ..UserPatch::default()
            },
        )
        .await
        .expect("partial")
        .expect("exists");
    assert!(partial.is_active);
    assert_eq!(
        partial.username, "alice2",
        "fields outside the patch are kept"
    );
    assert_eq!(
        store.find_user_by_id(other.id).await.expect("other"),
        Some(other),
        "other users are untouched"
    );
}

/// Updating an unknown id is `Ok(None)` and creates nothing.
pub async fn update_missing_user_is_none(store: impl AuthStore) {
    let id = UserId::new();
    let result = store
        .update_user(
            id,
            &UserPatch {
                is_active: Some(false),
                ..UserPatch::default()
            },
        )
        .await
        .expect("update_user");
    assert_eq!(result, None);
    assert_eq!(store.find_user_by_id(id).await.expect("find"), None);
}

/// Pages come oldest first with the total count, and pages past the end are empty.
pub async fn list_users_pages_oldest_first_with_total(store: impl AuthStore) {
    let base = now() - Duration::hours(1);
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut user = sample_user(&format!("user{i}@example.com"));
        user.created_at = base + Duration::seconds(i);
        user.updated_at = user.created_at;
        store.create_user(&user).await.expect("create");
        ids.push(user.id);
    }
    let first = store.list_users(2, 0).await.expect("page 1");
    assert_eq!(first.total, 5);
    assert_eq!(
        first.items.iter().map(|u| u.id).collect::<Vec<_>>(),
        ids[..2].to_vec()
    );
    let last = store.list_users(2, 4).await.expect("page 3");
    assert_eq!(
        last.items.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![ids[4]]
    );
    let past = store.list_users(10, 50).await.expect("past the end");
    assert!(past.items.is_empty());
    assert_eq!(past.total, 5);
}

/// [`Invalidate::AccessTokens`] raises only the token version; [`Invalidate::Sessions`]
/// raises it and sets the session epoch to it — in the same write as the rest of the
/// patch, and dated for the revocation feed.
pub async fn invalidation_raises_the_versions_in_the_same_write(store: impl AuthStore) {
    let user = stored_user(&store, "alice@example.com").await;
    assert_eq!((user.token_version, user.session_epoch), (0, 0));
    let at = now() + Duration::seconds(1);
    let demoted = store
        .update_user(
            user.id,
            &UserPatch {
                roles: Some(vec![]),
                updated_at: Some(at),
                invalidate: Some(Invalidate::AccessTokens),
                ..UserPatch::default()
            },
        )
        .await
        .expect("update")
        .expect("exists");
    assert_eq!((demoted.token_version, demoted.session_epoch), (1, 0));
    assert!(
        demoted.roles.is_empty(),
        "the rest of the patch is applied too"
    );
    let cut = store
        .update_user(
            user.id,
            &UserPatch {
                password_hash: Some(HashedPassword::new(
                    "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA",
                )),
                updated_at: Some(at + Duration::seconds(1)),
                invalidate: Some(Invalidate::Sessions),
                ..UserPatch::default()
            },
        )
        .await
        .expect("update")
        .expect("exists");
    assert_eq!((cut.token_version, cut.session_epoch), (2, 2));
    let reread = store
        .find_user_by_id(user.id)
        .await
        .expect("reread")
        .expect("exists");
    assert_eq!((reread.token_version, reread.session_epoch), (2, 2));
    assert_eq!(reread.password_hash, cut.password_hash);
    let plain = store
        .update_user(
            user.id,
            &UserPatch {
                username: Some("al".into()),
                ..UserPatch::default()
            },
        )
        .await
        .expect("update")
        .expect("exists");
    assert_eq!(
        (plain.token_version, plain.session_epoch),
        (2, 2),
        "a patch without invalidate leaves both alone"
    );
}

/// Of [`CONCURRENT_TASKS`] concurrent invalidations each is counted: the raises are
/// increments in the store, never a value computed from an earlier read.
pub async fn concurrent_invalidations_are_each_counted(store: impl AuthStore) {
    let store = Arc::new(store);
    let user = stored_user(&*store, "alice@example.com").await;
    let barrier = Arc::new(tokio::sync::Barrier::new(CONCURRENT_TASKS));
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|i| {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            tokio::spawn(async move {
                let invalidate = if i % 2 == 0 {
                    Invalidate::Sessions
                } else {
                    Invalidate::AccessTokens
                };
                barrier.wait().await;
                store
                    .update_user(
                        user.id,
                        &UserPatch {
                            updated_at: Some(now()),
                            invalidate: Some(invalidate),
                            ..UserPatch::default()
                        },
                    )
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await
            .expect("task panicked")
            .expect("update failed")
            .expect("exists");
    }
    let after = store
        .find_user_by_id(user.id)
        .await
        .expect("reread")
        .expect("exists");
    assert_eq!(after.token_version, CONCURRENT_TASKS as i64);
    assert!(after.session_epoch >= 1 && after.session_epoch <= after.token_version);
}

/// Of [`CONCURRENT_TASKS`] tasks creating users with one email at once, exactly one
/// succeeds; the rest get `Conflict`.
pub async fn concurrent_registrations_of_one_email_have_exactly_one_winner(store: impl AuthStore) {
    let store = Arc::new(store);
    let barrier = Arc::new(tokio::sync::Barrier::new(CONCURRENT_TASKS));
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|_| {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            tokio::spawn(async move {
                let user = sample_user("race@example.com");
                barrier.wait().await;
                store.create_user(&user).await.map(|()| user.id)
            })
        })
        .collect();
    let mut winners = HashSet::new();
    let mut conflicts = 0;
    for task in tasks {
        match task.await.expect("task panicked") {
            Ok(id) => {
                winners.insert(id);
            }
            Err(StoreError::Conflict) => conflicts += 1,
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one registration may win");
    assert_eq!(conflicts, CONCURRENT_TASKS - 1);
    let stored = store
        .find_user_by_email("race@example.com")
        .await
        .expect("find")
        .expect("the winner is stored");
    assert!(winners.contains(&stored.id));
    assert_eq!(store.list_users(100, 0).await.expect("list").total, 1);
}

/// A batch insert stores every new user exactly as given and skips — without error, and
/// without touching the stored record — each whose email or id is taken, also within the
/// batch itself; the answer lists, in order, which were inserted.
pub async fn batch_insert_stores_new_users_and_skips_taken_ones(store: impl AuthStore) {
    let existing = stored_user(&store, "taken@example.com").await;
    let mut batch: Vec<User> = (0..1200)
        .map(|i| sample_user(&format!("import{i}@example.com")))
        .collect();
    let mut same_email = sample_user("taken@example.com");
    same_email.username = "impostor".into();
    let mut same_id = sample_user("other@example.com");
    same_id.id = existing.id;
    let twice = sample_user("import7@example.com");
    batch.insert(3, same_email);
    batch.push(same_id);
    batch.push(twice);
    let inserted = store.create_users(&batch).await.expect("create_users");
    assert_eq!(inserted.len(), batch.len());
    let skipped: Vec<usize> = (0..batch.len()).filter(|&i| !inserted[i]).collect();
    assert_eq!(skipped, vec![3, batch.len() - 2, batch.len() - 1]);
    // A sample read back field by field (the total below counts the rest): 1200 reads
    // take a minute on a slow test server.
    for (i, (user, inserted)) in batch.iter().zip(&inserted).enumerate() {
        if *inserted && (i % 97 == 0 || i + 3 == batch.len()) {
            let stored = store.find_user_by_id(user.id).await.expect("by id");
            assert_eq!(stored.as_ref(), Some(user));
        }
    }
    let kept = store
        .find_user_by_email("taken@example.com")
        .await
        .expect("by email");
    assert_eq!(kept, Some(existing));
    assert_eq!(
        store
            .find_user_by_email("other@example.com")
            .await
            .expect("by email"),
        None
    );
    // Running the same batch again inserts nothing.
    let again = store.create_users(&batch).await.expect("again");
    assert!(again.iter().all(|inserted| !inserted));
    assert_eq!(store.list_users(1, 0).await.expect("list").total, 1201);
}
