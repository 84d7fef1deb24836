//! The storage traits every backend implements, one per capability:
//!
//! | trait | what it keeps |
//! |---|---|
//! | [`UserStore`] | users, unique by normalised email |
//! | [`TokenStore`] | single-use opaque tokens (refresh, password reset), as hashes |
//! | [`SessionStore`] | sessions (one per login) and the revocation feed |
//! | [`CounterStore`] | abuse counters: token buckets and the login throttle |
//! | [`AuditStore`] | the hash-chained audit log |
//! | [`MfaStore`] | TOTP enrolments and recovery codes |
//!
//! A backend implements all six; [`AuthStore`] then comes for free. The traits are object
//! safe: the service holds an `Arc<dyn AuthStore>`. `examples/custom_store.rs` in the
//! repository is a complete store that wraps another one.
//!
//! Rules every implementation keeps, checked by the conformance suite in
//! `auth_core::testing` (feature `testing`):
//!
//! - A missing record is `Ok(None)`, never an error.
//! - Uniqueness (normalised email, token hash, audit position) is a database constraint,
//!   reported as [`StoreError::Conflict`]; never check-then-insert.
//! - Every single-use or counting rule ([`TokenStore::consume_token`],
//!   [`SessionStore::rotate_refresh_token`], [`CounterStore`], [`MfaStore::use_totp_step`],
//!   [`MfaStore::use_recovery_code`]) is one atomic operation: of N concurrent calls,
//!   exactly the allowed number win, across processes.
//! - Times are stored with at least millisecond precision and read back unchanged.
//!
//! The memory store (feature `memory`) is the reference implementation of every rule.

use std::fmt::Debug;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::StoreError;
use crate::token::{ConsumeOutcome, TokenHash, TokenKind, TokenRecord};
use crate::user::{User, UserId, UserPage, UserPatch};

mod audit;
mod counters;
#[cfg(any(test, feature = "memory"))]
pub(crate) mod memory;
mod mfa;
mod sessions;

pub use self::audit::AuditStore;
pub use self::counters::CounterStore;
pub use self::mfa::MfaStore;
pub use self::sessions::SessionStore;

/// Persistence of users.
#[async_trait]
pub trait UserStore: Debug + Send + Sync + 'static {
    /// Inserts a new user. `user.email` is already normalised.
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] when the email (or id) is taken — detected by a unique
    /// constraint, so that of N concurrent registrations of one email exactly one succeeds.
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;

    /// The user with this id, if any.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn find_user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;

    /// The user with this normalised email, if any.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError>;

    /// Applies `patch` in one write and returns the user as it is afterwards, or `None`
    /// when no user has this id.
    ///
    /// [`UserPatch::invalidate`] is applied in the same write, as increments of the stored
    /// values (never a value computed from an earlier read), and dates the cut with
    /// `patch.updated_at` for [`SessionStore::revocations_since`]:
    /// [`Invalidate::AccessTokens`](crate::Invalidate::AccessTokens) raises
    /// `token_version` by one; [`Invalidate::Sessions`](crate::Invalidate::Sessions) raises
    /// `token_version` by one and sets `session_epoch` to the new `token_version`.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn update_user(&self, id: UserId, patch: &UserPatch) -> Result<Option<User>, StoreError>;

    /// A page of users ordered by creation (oldest first, ties by id), and the total count.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn list_users(&self, limit: u32, offset: u64) -> Result<UserPage, StoreError>;

    /// Inserts a batch of new users (an importer's), skipping each whose id or email is
    /// taken — by the database's unique constraints, never check-then-insert — and says,
    /// per user in order, whether it was inserted. The SQL stores write a batch in one
    /// transaction: a failure stores none of it. The default inserts one by one with
    /// [`create_user`](Self::create_user), where each insert is atomic on its own.
    ///
    /// # Errors
    ///
    /// Backend failures (a conflict is not one: it is `false`).
    async fn create_users(&self, users: &[User]) -> Result<Vec<bool>, StoreError> {
        let mut inserted = Vec::with_capacity(users.len());
        for user in users {
            match self.create_user(user).await {
                Ok(()) => inserted.push(true),
                Err(StoreError::Conflict) => inserted.push(false),
                Err(error) => return Err(error),
            }
        }
        Ok(inserted)
    }
}

/// Persistence of opaque tokens (refresh and password reset), stored only as hashes.
#[async_trait]
pub trait TokenStore: Debug + Send + Sync + 'static {
    /// Stores a new token.
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] when the hash exists already.
    async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError>;

    /// The token of this hash and kind, whatever its state.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn find_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
    ) -> Result<Option<TokenRecord>, StoreError>;

    /// Atomically marks the token of this hash and kind used — only if it is unused,
    /// unrevoked and `expires_at > now` — and returns it; otherwise says why not.
    /// The update must be a single atomic operation, never read-then-write.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn consume_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> Result<ConsumeOutcome, StoreError>;

    /// Marks one token revoked; `true` if it existed and was not revoked before.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn revoke_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Marks every not-yet-revoked token of a rotation family revoked; returns how many.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn revoke_token_family(
        &self,
        family_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;

    /// Marks every not-yet-revoked token of a user revoked, of one kind or of all kinds;
    /// returns how many.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn revoke_user_tokens(
        &self,
        user_id: UserId,
        kind: Option<TokenKind>,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;

    /// Deletes every token with `expires_at <= now`; returns how many.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn purge_expired_tokens(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}

/// A complete store: every capability. Implemented for every type that implements the six
/// traits.
pub trait AuthStore:
    UserStore + TokenStore + SessionStore + CounterStore + AuditStore + MfaStore
{
}

impl<T> AuthStore for T where
    T: UserStore + TokenStore + SessionStore + CounterStore + AuditStore + MfaStore + ?Sized
{
}
