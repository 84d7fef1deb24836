//! The storage traits every backend implements.
//!
//! A backend implements [`UserStore`] and [`TokenStore`]; [`AuthStore`] then comes for free.
//! The traits are object safe: the service holds an `Arc<dyn AuthStore>`.
//!
//! Rules every implementation keeps, checked by the conformance suite in
//! `auth_core::testing` (feature `testing`):
//!
//! - A missing record is `Ok(None)`, never an error.
//! - Uniqueness (normalised email, token hash) is a database constraint, reported as
//!   [`StoreError::Conflict`]; never check-then-insert.
//! - [`TokenStore::consume_token`] is one atomic operation: of N concurrent calls for one
//!   token, exactly one gets [`ConsumeOutcome::Consumed`], across processes.
//! - Times are stored with at least millisecond precision and read back unchanged.
//!
//! # Example
//!
//! A complete store that delegates to another one and counts logins, as a user crate
//! might write to add metrics or caching around an existing backend:
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! use auth_core::async_trait;
//! use auth_core::store::{TokenStore, UserStore};
//! use auth_core::{
//!     ConsumeOutcome, StoreError, TokenHash, TokenKind, TokenRecord, User, UserId, UserPage,
//!     UserPatch,
//! };
//! use time::OffsetDateTime;
//! use uuid::Uuid;
//!
//! #[derive(Debug)]
//! struct Counting<S> {
//!     inner: S,
//!     lookups: AtomicU64,
//! }
//!
//! #[async_trait]
//! impl<S: UserStore> UserStore for Counting<S> {
//!     async fn create_user(&self, user: &User) -> Result<(), StoreError> {
//!         self.inner.create_user(user).await
//!     }
//!     async fn find_user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
//!         self.inner.find_user_by_id(id).await
//!     }
//!     async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
//!         self.lookups.fetch_add(1, Ordering::Relaxed);
//!         self.inner.find_user_by_email(email).await
//!     }
//!     async fn update_user(&self, id: UserId, patch: &UserPatch) -> Result<Option<User>, StoreError> {
//!         self.inner.update_user(id, patch).await
//!     }
//!     async fn list_users(&self, limit: u32, offset: u64) -> Result<UserPage, StoreError> {
//!         self.inner.list_users(limit, offset).await
//!     }
//! }
//!
//! #[async_trait]
//! impl<S: TokenStore> TokenStore for Counting<S> {
//!     async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
//!         self.inner.insert_token(token).await
//!     }
//!     async fn find_token(
//!         &self,
//!         hash: &TokenHash,
//!         kind: TokenKind,
//!     ) -> Result<Option<TokenRecord>, StoreError> {
//!         self.inner.find_token(hash, kind).await
//!     }
//!     async fn consume_token(
//!         &self,
//!         hash: &TokenHash,
//!         kind: TokenKind,
//!         now: OffsetDateTime,
//!     ) -> Result<ConsumeOutcome, StoreError> {
//!         self.inner.consume_token(hash, kind, now).await
//!     }
//!     async fn revoke_token(
//!         &self,
//!         hash: &TokenHash,
//!         kind: TokenKind,
//!         now: OffsetDateTime,
//!     ) -> Result<bool, StoreError> {
//!         self.inner.revoke_token(hash, kind, now).await
//!     }
//!     async fn revoke_token_family(&self, family: Uuid, now: OffsetDateTime) -> Result<u64, StoreError> {
//!         self.inner.revoke_token_family(family, now).await
//!     }
//!     async fn revoke_user_tokens(
//!         &self,
//!         user: UserId,
//!         kind: Option<TokenKind>,
//!         now: OffsetDateTime,
//!     ) -> Result<u64, StoreError> {
//!         self.inner.revoke_user_tokens(user, kind, now).await
//!     }
//!     async fn purge_expired_tokens(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
//!         self.inner.purge_expired_tokens(now).await
//!     }
//! }
//!
//! # #[cfg(feature = "memory")]
//! # {
//! // Any `UserStore + TokenStore` is an `AuthStore` the service accepts.
//! let store = Counting { inner: auth_core::MemoryStore::new(), lookups: AtomicU64::new(0) };
//! let service = auth_core::AuthService::builder().store(store).build();
//! assert!(service.is_ok());
//! # }
//! ```

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::StoreError;
use crate::token::{ConsumeOutcome, TokenHash, TokenKind, TokenRecord};
use crate::user::{User, UserId, UserPage, UserPatch};

/// The pool size the SQL stores default to: 4 connections per core, between 4 and 64 (8 on
/// two cores). Every query holds a connection for a round trip, so a few per core keep the
/// cores busy without crowding them or the database (measured with 1, 2, 4, 8 and 16 on two
/// cores in benches/README.md; 8 was best for both SQLite and PostgreSQL).
pub fn default_pool_size() -> u32 {
    const PER_CORE: u32 = 4;
    u32::try_from(crate::config::available_cores())
        .unwrap_or(u32::MAX)
        .saturating_mul(PER_CORE)
        .clamp(4, 64)
}

#[cfg(feature = "memory")]
pub(crate) mod memory;

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

/// A complete store: users and tokens. Implemented for every `UserStore + TokenStore`.
pub trait AuthStore: UserStore + TokenStore {}

impl<T: UserStore + TokenStore + ?Sized> AuthStore for T {}

#[async_trait]
impl<T: UserStore + ?Sized> UserStore for Arc<T> {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        (**self).create_user(user).await
    }
    async fn find_user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        (**self).find_user_by_id(id).await
    }
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        (**self).find_user_by_email(email).await
    }
    async fn update_user(&self, id: UserId, patch: &UserPatch) -> Result<Option<User>, StoreError> {
        (**self).update_user(id, patch).await
    }
    async fn list_users(&self, limit: u32, offset: u64) -> Result<UserPage, StoreError> {
        (**self).list_users(limit, offset).await
    }
}

#[async_trait]
impl<T: TokenStore + ?Sized> TokenStore for Arc<T> {
    async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        (**self).insert_token(token).await
    }
    async fn find_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
    ) -> Result<Option<TokenRecord>, StoreError> {
        (**self).find_token(hash, kind).await
    }
    async fn consume_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> Result<ConsumeOutcome, StoreError> {
        (**self).consume_token(hash, kind, now).await
    }
    async fn revoke_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        (**self).revoke_token(hash, kind, now).await
    }
    async fn revoke_token_family(
        &self,
        family_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        (**self).revoke_token_family(family_id, now).await
    }
    async fn revoke_user_tokens(
        &self,
        user_id: UserId,
        kind: Option<TokenKind>,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        (**self).revoke_user_tokens(user_id, kind, now).await
    }
    async fn purge_expired_tokens(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        (**self).purge_expired_tokens(now).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_pool_is_four_connections_per_core_within_bounds() {
        let cores = u32::try_from(crate::config::available_cores()).unwrap();
        let size = super::default_pool_size();
        assert_eq!(size, (cores * 4).clamp(4, 64));
        assert!((4..=64).contains(&size));
    }
}
