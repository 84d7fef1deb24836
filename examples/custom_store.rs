//! A user-written store: it wraps another store and keeps an audit trail of every write,
//! the shape you would use to add metrics, caching or auditing to an existing backend.
//!
//! It passes the store conformance suite: `cargo test --example custom_store` runs it (one
//! test per rule), and `cargo run --example custom_store` runs it once and reports.

use std::sync::{Arc, Mutex, PoisonError};

use myauth::auth_core::store::{TokenStore, UserStore};
use myauth::{
    ConsumeOutcome, MemoryStore, StoreError, TokenHash, TokenKind, TokenRecord, User, UserId,
    UserPage, UserPatch, async_trait,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// Wraps any store and records what was written.
#[derive(Debug, Clone)]
pub struct Audited<S> {
    inner: S,
    trail: Arc<Mutex<Vec<String>>>,
}

impl<S> Audited<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            trail: Arc::default(),
        }
    }

    /// The writes so far, oldest first.
    pub fn trail(&self) -> Vec<String> {
        self.trail
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn record(&self, entry: String) {
        self.trail
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(entry);
    }
}

#[async_trait]
impl<S: UserStore> UserStore for Audited<S> {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let result = self.inner.create_user(user).await;
        self.record(format!("create_user {} -> {}", user.id, result.is_ok()));
        result
    }

    async fn find_user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.inner.find_user_by_id(id).await
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.inner.find_user_by_email(email).await
    }

    async fn update_user(&self, id: UserId, patch: &UserPatch) -> Result<Option<User>, StoreError> {
        self.record(format!("update_user {id}"));
        self.inner.update_user(id, patch).await
    }

    async fn list_users(&self, limit: u32, offset: u64) -> Result<UserPage, StoreError> {
        self.inner.list_users(limit, offset).await
    }
}

#[async_trait]
impl<S: TokenStore> TokenStore for Audited<S> {
    async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        self.record(format!("insert_token {} for {}", token.kind, token.user_id));
        self.inner.insert_token(token).await
    }

    async fn find_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
    ) -> Result<Option<TokenRecord>, StoreError> {
        self.inner.find_token(hash, kind).await
    }

    async fn consume_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> Result<ConsumeOutcome, StoreError> {
        let outcome = self.inner.consume_token(hash, kind, now).await;
        let won = matches!(outcome, Ok(ConsumeOutcome::Consumed(_)));
        self.record(format!("consume_token {kind} -> {won}"));
        outcome
    }

    async fn revoke_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.record(format!("revoke_token {kind}"));
        self.inner.revoke_token(hash, kind, now).await
    }

    async fn revoke_token_family(
        &self,
        family_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.record(format!("revoke_token_family {family_id}"));
        self.inner.revoke_token_family(family_id, now).await
    }

    async fn revoke_user_tokens(
        &self,
        user_id: UserId,
        kind: Option<TokenKind>,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.record(format!("revoke_user_tokens {user_id}"));
        self.inner.revoke_user_tokens(user_id, kind, now).await
    }

    async fn purge_expired_tokens(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.record("purge_expired_tokens".to_owned());
        self.inner.purge_expired_tokens(now).await
    }
}

#[tokio::main]
async fn main() {
    myauth::auth_core::testing::run_store_conformance(|| async {
        Audited::new(MemoryStore::new())
    })
    .await;
    println!("Audited<MemoryStore> passes the store conformance suite");

    // And it serves the service like any store.
    let store = Audited::new(MemoryStore::new());
    let service = myauth::with_store(store.clone())
        .service()
        .await
        .unwrap_or_else(|e| panic!("set-up failed: {e}"));
    let _ = service.purge_expired_tokens().await;
    println!("audit trail: {:?}", store.trail());
}

#[cfg(test)]
mod tests {
    use super::*;

    myauth::auth_core::store_conformance_tests!(|| async { Audited::new(MemoryStore::new()) });
}
