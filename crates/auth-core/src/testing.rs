//! The store conformance suite: every rule an [`AuthStore`] must keep, as one public async
//! function per rule, and [`store_conformance_tests!`](crate::store_conformance_tests),
//! which stamps out one `#[tokio::test]` per rule around a store factory.
//!
//! A store crate runs the whole suite with one line in `tests/conformance.rs` (it needs
//! `tokio` with the `macros` and `rt-multi-thread` features among its dev-dependencies):
//!
//! ```
//! // tests/conformance.rs of a store crate; here with the memory store.
//! auth_core::store_conformance_tests!(|| async { auth_core::MemoryStore::new() });
//! # fn main() {}
//! ```
//!
//! Tests that need a server take attributes first:
//!
//! ```
//! # async fn fresh_postgres_store() -> auth_core::MemoryStore { auth_core::MemoryStore::new() }
//! auth_core::store_conformance_tests!(
//!     #[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
//!     || async { fresh_postgres_store().await }
//! );
//! # fn main() {}
//! ```
//!
//! The factory may also return `(store, guard)`, where the guard (a temporary directory, say)
//! must live as long as the store; see [`Fixture`].
//!
//! The factory is called once per test and must return a store with no data in it (a fresh
//! database, schema or MongoDB database name), so tests can run in parallel.

#![expect(
    clippy::expect_used,
    reason = "a test suite reports failures by panicking with a message"
)]

use std::collections::HashSet;
use std::sync::Arc;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::clock::truncate_to_millis;
use crate::error::StoreError;
use crate::store::AuthStore;
use crate::token::{ConsumeOutcome, OpaqueToken, TokenHash, TokenKind, TokenRecord};
use crate::user::{HashedPassword, User, UserId, UserPatch, UserSettings};

/// How many tasks the concurrency cases start.
pub const CONCURRENT_TASKS: usize = 32;

/// Every case of the suite, in the order the macro stamps them.
pub const CASES: &[&str] = &[
    "user_round_trips_every_field",
    "missing_user_is_none",
    "duplicate_email_is_conflict",
    "update_user_applies_the_patch_and_returns_the_result",
    "update_missing_user_is_none",
    "list_users_pages_oldest_first_with_total",
    "token_round_trips_every_field",
    "live_token_is_consumed_exactly_once",
    "unknown_or_other_kind_token_is_unknown",
    "revoked_token_is_reported_revoked",
    "expired_token_is_reported_expired",
    "used_wins_over_revoked_and_expired",
    "duplicate_token_hash_is_conflict",
    "revoke_token_marks_only_that_token",
    "revoke_token_family_revokes_only_that_family",
    "revoke_user_tokens_by_kind_and_all",
    "purge_deletes_only_expired_tokens",
    "concurrent_consumes_have_exactly_one_winner",
    "concurrent_registrations_of_one_email_have_exactly_one_winner",
];

/// Stamps one `#[tokio::test]` per conformance case around a store factory: a closure
/// returning a future of a fresh, empty store. Attributes before the factory (such as
/// `#[ignore = "…"]`) are put on every test.
#[macro_export]
macro_rules! store_conformance_tests {
    (@attrs [$($acc:tt)*] #[$meta:meta] $($rest:tt)*) => {
        $crate::store_conformance_tests!(@attrs [$($acc)* #[$meta]] $($rest)*);
    };
    (@attrs $metas:tt $factory:expr $(,)?) => {
        $crate::store_conformance_tests!(@cases $metas $factory;
            user_round_trips_every_field,
            missing_user_is_none,
            duplicate_email_is_conflict,
            update_user_applies_the_patch_and_returns_the_result,
            update_missing_user_is_none,
            list_users_pages_oldest_first_with_total,
            token_round_trips_every_field,
            live_token_is_consumed_exactly_once,
            unknown_or_other_kind_token_is_unknown,
            revoked_token_is_reported_revoked,
            expired_token_is_reported_expired,
            used_wins_over_revoked_and_expired,
            duplicate_token_hash_is_conflict,
            revoke_token_marks_only_that_token,
            revoke_token_family_revokes_only_that_family,
            revoke_user_tokens_by_kind_and_all,
            purge_deletes_only_expired_tokens,
            concurrent_consumes_have_exactly_one_winner,
            concurrent_registrations_of_one_email_have_exactly_one_winner,
        );
    };
    (@cases $metas:tt $factory:expr; $case:ident $(, $rest:ident)* $(,)?) => {
        $crate::store_conformance_tests!(@one $metas $factory; $case);
        $crate::store_conformance_tests!(@cases $metas $factory; $($rest),*);
    };
    (@cases $metas:tt $factory:expr;) => {};
    (@one [$($meta:tt)*] $factory:expr; $case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        $($meta)*
        async fn $case() {
            let (store, _guard) = $crate::testing::Fixture::split(($factory)().await);
            $crate::testing::$case(store).await;
        }
    };
    (#[$meta:meta] $($rest:tt)*) => {
        $crate::store_conformance_tests!(@attrs [#[$meta]] $($rest)*);
    };
    ($factory:expr $(,)?) => {
        $crate::store_conformance_tests!(@attrs [] $factory);
    };
}

/// What a conformance factory returns: a store, or a store and a guard that must outlive it
/// (a temporary directory, a database to drop) — the suite keeps the guard until the case
/// ends.
pub trait Fixture {
    /// The store under test.
    type Store: AuthStore;
    /// Kept alive until the case ends.
    type Guard;
    /// Separates the store from its guard.
    fn split(self) -> (Self::Store, Self::Guard);
}

impl<S: AuthStore> Fixture for S {
    type Store = S;
    type Guard = ();
    fn split(self) -> (S, ()) {
        (self, ())
    }
}

impl<S: AuthStore, G> Fixture for (S, G) {
    type Store = S;
    type Guard = G;
    fn split(self) -> (S, G) {
        self
    }
}

/// Runs every case of the suite in order, each on a fresh store from `factory`, and panics
/// at the first failure. For a quick check outside a test harness; in tests prefer
/// [`store_conformance_tests!`](crate::store_conformance_tests), which reports each case.
pub async fn run_store_conformance<X, F, Fut>(factory: F)
where
    X: Fixture,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = X>,
{
    let (store, _guard) = factory().await.split();
    user_round_trips_every_field(store).await;
    let (store, _guard) = factory().await.split();
    missing_user_is_none(store).await;
    let (store, _guard) = factory().await.split();
    duplicate_email_is_conflict(store).await;
    let (store, _guard) = factory().await.split();
    update_user_applies_the_patch_and_returns_the_result(store).await;
    let (store, _guard) = factory().await.split();
    update_missing_user_is_none(store).await;
    let (store, _guard) = factory().await.split();
    list_users_pages_oldest_first_with_total(store).await;
    let (store, _guard) = factory().await.split();
    token_round_trips_every_field(store).await;
    let (store, _guard) = factory().await.split();
    live_token_is_consumed_exactly_once(store).await;
    let (store, _guard) = factory().await.split();
    unknown_or_other_kind_token_is_unknown(store).await;
    let (store, _guard) = factory().await.split();
    revoked_token_is_reported_revoked(store).await;
    let (store, _guard) = factory().await.split();
    expired_token_is_reported_expired(store).await;
    let (store, _guard) = factory().await.split();
    used_wins_over_revoked_and_expired(store).await;
    let (store, _guard) = factory().await.split();
    duplicate_token_hash_is_conflict(store).await;
    let (store, _guard) = factory().await.split();
    revoke_token_marks_only_that_token(store).await;
    let (store, _guard) = factory().await.split();
    revoke_token_family_revokes_only_that_family(store).await;
    let (store, _guard) = factory().await.split();
    revoke_user_tokens_by_kind_and_all(store).await;
    let (store, _guard) = factory().await.split();
    purge_deletes_only_expired_tokens(store).await;
    let (store, _guard) = factory().await.split();
    concurrent_consumes_have_exactly_one_winner(store).await;
    let (store, _guard) = factory().await.split();
    concurrent_registrations_of_one_email_have_exactly_one_winner(store).await;
}

fn now() -> OffsetDateTime {
    truncate_to_millis(OffsetDateTime::now_utc())
}

/// A user with every field set to something a store could get wrong.
pub fn sample_user(email: &str) -> User {
    let now = now();
    let mut settings = UserSettings::new();
    settings.insert("theme".into(), serde_json::json!("dark"));
    settings.insert(
        "nested".into(),
        serde_json::json!({"list": [1, 2.5, "três", null, true], "empty": {}}),
    );
    User {
        id: UserId::new(),
        email: email.to_owned(),
        username: "Zoë O'Brien \"quoted\"".to_owned(),
        password_hash: HashedPassword::new(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGg",
        ),
        roles: vec!["admin".into(), "editor".into()],
        user_settings: settings,
        is_verified: false,
        is_active: true,
        created_at: now,
        updated_at: now,
    }
}

/// A live token of `kind` for `user`, expiring in an hour.
pub fn sample_token(user: &User, kind: TokenKind) -> TokenRecord {
    let now = now();
    let hash = OpaqueToken::generate()
        .map(|t| t.hash())
        .unwrap_or_else(|_| TokenHash::of(&Uuid::now_v7().to_string()));
    let family = (kind == TokenKind::Refresh).then(Uuid::now_v7);
    TokenRecord {
        id: Uuid::now_v7(),
        user_id: user.id,
        kind,
        token_hash: hash,
        family_id: family,
        family_expires_at: family.map(|_| now + Duration::days(30)),
        expires_at: now + Duration::hours(1),
        created_at: now,
        used_at: None,
        revoked_at: None,
    }
}

async fn stored_user(store: &impl AuthStore, email: &str) -> User {
    let user = sample_user(email);
    store
        .create_user(&user)
        .await
        .unwrap_or_else(|e| panic!("create_user({email}) failed: {e:?}"));
    user
}

async fn stored_token(store: &impl AuthStore, token: &TokenRecord) {
    store
        .insert_token(token)
        .await
        .unwrap_or_else(|e| panic!("insert_token failed: {e:?}"));
}

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
