//! The store conformance suite: every rule a store must keep, as one public async
//! function per rule, grouped by capability (users, tokens, sessions, counters, audit,
//! MFA), and [`store_conformance_tests!`](crate::store_conformance_tests), which stamps
//! out one `#[tokio::test]` per rule around a store factory. The list of rules is written
//! once; the macro and [`run_store_conformance`] are both generated from it.
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
//!
//! [`fast_config`] is the configuration every test of a service should start from: real
//! argon2id with tiny parameters, so a login costs microseconds instead of tens of
//! milliseconds.
//!
//! Beyond the per-store rules: [`outage_drill`] (a store server that goes away and comes
//! back, through a [`TcpRelay`]) and [`audit_chain_across_processes`] (two real processes
//! appending to one audit chain, the second started by [`spawn_test_process`]), and
//! [`write_audit_chain`], the chain a store's tamper tests start from.

#![expect(
    clippy::expect_used,
    reason = "a test suite reports failures by panicking with a message"
)]

mod audit;
mod audit_chain;
mod counters;
mod instrumented;
mod mfa;
mod relay;
mod sessions;
mod tokens;
mod users;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

pub use self::audit::*;
pub use self::audit_chain::{
    ChainReport, append_audit_records, audit_chain_across_processes, spawn_test_process,
    write_audit_chain,
};
pub use self::counters::*;
pub use self::instrumented::Instrumented;
pub use self::mfa::*;
pub use self::relay::{OutageReport, TcpRelay, outage_drill};
pub use self::sessions::*;
pub use self::tokens::*;
pub use self::users::*;
use crate::clock::truncate_to_millis;
use crate::config::{AuthConfig, HashingConfig};
use crate::store::{AuthStore, CounterStore};
use crate::token::{OpaqueToken, TokenHash, TokenKind, TokenRecord};
use crate::user::{HashedPassword, User, UserId, UserSettings};

/// How many tasks the concurrency cases start.
pub const CONCURRENT_TASKS: usize = 32;

/// Argon2id parameters for tests: the real algorithm with 64 KiB and one pass, and room
/// for a few hundred waiting hashes.
pub fn fast_hashing() -> HashingConfig {
    HashingConfig {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
        max_concurrent: 2,
        max_waiting: 256,
    }
}

/// The defaults with this secret and [`fast_hashing`]: what a test of the service starts
/// from.
pub fn fast_config(secret: &str) -> AuthConfig {
    AuthConfig::new(secret).with_hashing(fast_hashing())
}

/// The one list of conformance cases. Calls back `__store_conformance_dispatch!` with the
/// caller's arguments and every case name; both the test macro and the runner are made
/// from it.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_cases {
    ($($args:tt)*) => {
        $crate::__store_conformance_dispatch! { [$($args)*]
            // users
            user_round_trips_every_field,
            missing_user_is_none,
            duplicate_email_is_conflict,
            update_user_applies_the_patch_and_returns_the_result,
            update_missing_user_is_none,
            list_users_pages_oldest_first_with_total,
            invalidation_raises_the_versions_in_the_same_write,
            concurrent_invalidations_are_each_counted,
            concurrent_registrations_of_one_email_have_exactly_one_winner,
            batch_insert_stores_new_users_and_skips_taken_ones,
            // tokens
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
            // sessions
            session_round_trips_with_its_first_token,
            duplicate_session_is_conflict,
            find_user_and_session_reads_both,
            list_user_sessions_returns_live_ones_newest_first,
            rotation_uses_up_the_token_and_stores_the_successor,
            rotation_reports_why_a_token_is_refused,
            rotation_refuses_ended_sessions_and_stores_nothing,
            concurrent_rotations_of_one_token_have_exactly_one_winner,
            a_cut_racing_logins_and_rotations_leaves_no_live_credential,
            revoke_session_ends_only_an_owned_live_session,
            revoke_user_sessions_keeps_the_one_asked_for,
            revocations_since_reports_ended_sessions_and_raised_versions,
            purge_expired_sessions_deletes_them_and_their_tokens,
        }
        $crate::__counter_conformance_cases! { $($args)* }
        $crate::__store_conformance_dispatch! { [$($args)*]
            // audit
            audit_record_round_trips_every_field,
            duplicate_audit_seq_is_conflict,
            last_audit_record_is_the_highest_seq,
            list_audit_records_filters_newest_first,
            audit_records_after_pages_in_order,
            concurrent_appenders_build_one_chain,
            audit_purge_keeps_the_head_and_an_anchor_that_verifies,
            // mfa
            pending_totp_round_trips_and_confirms_once,
            an_expired_pending_totp_cannot_be_confirmed,
            a_confirmed_totp_is_not_replaced_by_a_pending_one,
            totp_steps_are_used_once_and_in_order,
            concurrent_uses_of_one_totp_step_have_exactly_one_winner,
            recovery_codes_are_single_use_and_replaced_together,
            concurrent_uses_of_one_recovery_code_have_exactly_one_winner,
            delete_totp_removes_the_codes_and_the_flag,
            purge_expired_totp_keeps_confirmed_ones,
        }
    };
}

/// The counter cases: part of the store list, and on their own for a
/// [`CounterStore`](crate::CounterStore) that is not a whole store
/// ([`counter_conformance_tests!`](crate::counter_conformance_tests)).
#[doc(hidden)]
#[macro_export]
macro_rules! __counter_conformance_cases {
    ($($args:tt)*) => {
        $crate::__store_conformance_dispatch! { [$($args)*]
            rate_limit_allows_the_burst_then_one_per_period,
            rate_limit_keys_are_independent,
            concurrent_rate_takes_never_exceed_the_burst,
            throttle_counts_attempts_then_delays_them,
            clear_attempts_forgets_the_count,
            concurrent_attempts_are_each_counted_once,
            purge_expired_counters_keeps_live_ones,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_dispatch {
    ([stamp $metas:tt $factory:expr] $($case:ident,)*) => {
        $( $crate::__store_conformance_dispatch!(@one $metas $factory; $case); )*
    };
    (@one [$($meta:tt)*] $factory:expr; $case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        $($meta)*
        async fn $case() {
            let (store, _guard) = $crate::testing::Fixture::split(($factory)().await);
            $crate::testing::$case(store).await;
        }
    };
    ([run $factory:expr] $($case:ident,)*) => {
        $(
            {
                let (store, _guard) = $crate::testing::Fixture::split(($factory)().await);
                $crate::testing::$case(store).await;
            }
        )*
    };
}

/// Stamps one `#[tokio::test]` per conformance case around a store factory: a closure
/// returning a future of a fresh, empty store. Attributes before the factory (such as
/// `#[ignore = "…"]`) are put on every test.
#[macro_export]
macro_rules! store_conformance_tests {
    (@attrs [$($acc:tt)*] #[$meta:meta] $($rest:tt)*) => {
        $crate::store_conformance_tests!(@attrs [$($acc)* #[$meta]] $($rest)*);
    };
    (@attrs $metas:tt $factory:expr $(,)?) => {
        $crate::__store_conformance_cases!(stamp $metas $factory);
    };
    (#[$meta:meta] $($rest:tt)*) => {
        $crate::store_conformance_tests!(@attrs [#[$meta]] $($rest)*);
    };
    ($factory:expr $(,)?) => {
        $crate::store_conformance_tests!(@attrs [] $factory);
    };
}

/// Stamps one `#[tokio::test]` per counter case around a factory of a fresh
/// [`CounterStore`](crate::CounterStore) — for counter backends that are not whole stores,
/// such as Redis. Attributes before the factory go on every test.
#[macro_export]
macro_rules! counter_conformance_tests {
    (@attrs [$($acc:tt)*] #[$meta:meta] $($rest:tt)*) => {
        $crate::counter_conformance_tests!(@attrs [$($acc)* #[$meta]] $($rest)*);
    };
    (@attrs $metas:tt $factory:expr $(,)?) => {
        $crate::__counter_conformance_cases!(stamp $metas $factory);
    };
    (#[$meta:meta] $($rest:tt)*) => {
        $crate::counter_conformance_tests!(@attrs [#[$meta]] $($rest)*);
    };
    ($factory:expr $(,)?) => {
        $crate::counter_conformance_tests!(@attrs [] $factory);
    };
}

/// What a conformance factory returns: a store, or a store and a guard that must outlive it
/// (a temporary directory, a database to drop) — the suite keeps the guard until the case
/// ends.
pub trait Fixture {
    /// The store under test.
    type Store;
    /// Kept alive until the case ends.
    type Guard;
    /// Separates the store from its guard.
    fn split(self) -> (Self::Store, Self::Guard);
}

impl<S: CounterStore> Fixture for S {
    type Store = S;
    type Guard = ();
    fn split(self) -> (S, ()) {
        (self, ())
    }
}

impl<S: CounterStore, G> Fixture for (S, G) {
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
    X::Store: AuthStore,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = X>,
{
    crate::__store_conformance_cases!(run factory);
}

/// The current time, whole milliseconds (what every store keeps).
pub fn now() -> OffsetDateTime {
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
        mfa_enabled: false,
        created_at: now,
        updated_at: now,
        token_version: 0,
        session_epoch: 0,
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

pub(crate) async fn stored_user(store: &impl AuthStore, email: &str) -> User {
    let user = sample_user(email);
    store
        .create_user(&user)
        .await
        .unwrap_or_else(|e| panic!("create_user({email}) failed: {e:?}"));
    user
}

pub(crate) async fn stored_token(store: &impl AuthStore, token: &TokenRecord) {
    store
        .insert_token(token)
        .await
        .unwrap_or_else(|e| panic!("insert_token failed: {e:?}"));
}

/// A live session of `user`, ending in 30 days, and its first refresh token.
pub fn sample_session(user: &User) -> (crate::session::SessionRecord, TokenRecord) {
    let now = now();
    let session = crate::session::SessionRecord {
        id: Uuid::now_v7(),
        user_id: user.id,
        created_at: now,
        last_used_at: now,
        expires_at: now + Duration::days(30),
        revoked_at: None,
        epoch: user.session_epoch,
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) «test» agent".to_owned()),
        ip: Some("2001:db8::1".to_owned()),
    };
    let mut token = sample_token(user, TokenKind::Refresh);
    token.family_id = Some(session.id);
    token.family_expires_at = Some(session.expires_at);
    (session, token)
}

/// A refresh token that would follow `previous` in its session.
pub fn successor_of(previous: &TokenRecord) -> TokenRecord {
    let mut next = sample_token_for(previous.user_id, TokenKind::Refresh);
    next.family_id = previous.family_id;
    next.family_expires_at = previous.family_expires_at;
    next
}

fn sample_token_for(user_id: UserId, kind: TokenKind) -> TokenRecord {
    let now = now();
    TokenRecord {
        id: Uuid::now_v7(),
        user_id,
        kind,
        token_hash: OpaqueToken::generate()
            .map(|t| t.hash())
            .unwrap_or_else(|_| TokenHash::of(&Uuid::now_v7().to_string())),
        family_id: None,
        family_expires_at: None,
        expires_at: now + Duration::hours(1),
        created_at: now,
        used_at: None,
        revoked_at: None,
    }
}

pub(crate) async fn stored_session(
    store: &impl AuthStore,
    user: &User,
) -> (crate::session::SessionRecord, TokenRecord) {
    let (session, token) = sample_session(user);
    store
        .create_session(&session, &token)
        .await
        .unwrap_or_else(|e| panic!("create_session failed: {e:?}"));
    (session, token)
}
