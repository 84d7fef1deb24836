//! The auth-core store conformance suite against a database file in a fresh temporary
//! directory per test, with the default pool (several connections, WAL, busy timeout),
//! and again on an in-memory database.

use auth_core::{
    ConsumeOutcome, StoreError, TokenHash, TokenKind, TokenRecord, TokenStore, User, UserId,
    UserPage, UserPatch, UserStore, async_trait,
};
use auth_sqlite::SqliteStore;
use tempfile::TempDir;
use time::OffsetDateTime;
use uuid::Uuid;

/// A store whose temporary directory lives exactly as long as the store: deleting it
/// earlier would break every connection the pool opens later.
#[derive(Debug)]
struct TempFileStore {
    store: SqliteStore,
    _dir: TempDir,
}

#[expect(
    clippy::expect_used,
    reason = "a test helper fails the test by panicking"
)]
async fn fresh_store() -> TempFileStore {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("auth.db").display());
    let store = SqliteStore::connect(&url).await.expect("connect");
    TempFileStore { store, _dir: dir }
}

auth_core::store_conformance_tests!(|| async { fresh_store().await });

/// The same suite on `sqlite::memory:`, whose pool holds a single connection.
mod in_memory {
    auth_core::store_conformance_tests!(|| async {
        auth_sqlite::SqliteStore::connect("sqlite::memory:")
            .await
            .expect("connect to sqlite::memory:")
    });
}

#[async_trait]
impl UserStore for TempFileStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        self.store.create_user(user).await
    }
    async fn find_user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.store.find_user_by_id(id).await
    }
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.store.find_user_by_email(email).await
    }
    async fn update_user(&self, id: UserId, patch: &UserPatch) -> Result<Option<User>, StoreError> {
        self.store.update_user(id, patch).await
    }
    async fn list_users(&self, limit: u32, offset: u64) -> Result<UserPage, StoreError> {
        self.store.list_users(limit, offset).await
    }
}

#[async_trait]
impl TokenStore for TempFileStore {
    async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        self.store.insert_token(token).await
    }
    async fn find_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
    ) -> Result<Option<TokenRecord>, StoreError> {
        self.store.find_token(hash, kind).await
    }
    async fn consume_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> Result<ConsumeOutcome, StoreError> {
        self.store.consume_token(hash, kind, now).await
    }
    async fn revoke_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.store.revoke_token(hash, kind, now).await
    }
    async fn revoke_token_family(
        &self,
        family_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.store.revoke_token_family(family_id, now).await
    }
    async fn revoke_user_tokens(
        &self,
        user_id: UserId,
        kind: Option<TokenKind>,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.store.revoke_user_tokens(user_id, kind, now).await
    }
    async fn purge_expired_tokens(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.store.purge_expired_tokens(now).await
    }
}
