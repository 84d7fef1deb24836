//! A user-written store: it wraps another store and keeps a trail of every write, the
//! shape you would use to add metrics, caching or auditing to an existing backend. A store
//! is six traits — users, tokens, sessions, counters, the audit log, second factors — and
//! this one implements all of them, each method handing over to the wrapped store.
//!
//! It passes the store conformance suite: `cargo test --example custom_store` runs it (one
//! test per rule), and `cargo run --example custom_store` runs it once and reports.

use std::sync::{Arc, Mutex, PoisonError};

use myauth::{
    AuditAnchor, AuditQuery, AuditRecord, AuditStore, AuthStore, ConsumeOutcome, CounterKey,
    CounterStore, MemoryStore, MfaStore, RateDecision, RateLimit, RecoveryCodeHash, Revocation,
    RotateOutcome, SessionRecord, SessionStore, StoreError, Throttle, ThrottleDecision, TokenHash,
    TokenKind, TokenRecord, TokenStore, TotpRecord, User, UserId, UserPage, UserPatch, UserStore,
    async_trait,
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
impl<S: AuthStore> UserStore for Audited<S> {
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
impl<S: AuthStore> TokenStore for Audited<S> {
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

#[async_trait]
impl<S: AuthStore> SessionStore for Audited<S> {
    async fn create_session(
        &self,
        session: &SessionRecord,
        first_token: &TokenRecord,
    ) -> Result<(), StoreError> {
        self.record(format!("create_session {}", session.id));
        self.inner.create_session(session, first_token).await
    }

    async fn find_session(&self, id: Uuid) -> Result<Option<SessionRecord>, StoreError> {
        self.inner.find_session(id).await
    }

    async fn find_user_and_session(
        &self,
        user_id: UserId,
        session_id: Uuid,
    ) -> Result<(Option<User>, Option<SessionRecord>), StoreError> {
        self.inner.find_user_and_session(user_id, session_id).await
    }

    async fn list_user_sessions(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        self.inner.list_user_sessions(user_id, now).await
    }

    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        successor: &TokenRecord,
        now: OffsetDateTime,
    ) -> Result<RotateOutcome, StoreError> {
        self.record(format!("rotate_refresh_token {presented:?}"));
        self.inner
            .rotate_refresh_token(presented, successor, now)
            .await
    }

    async fn revoke_session(
        &self,
        id: Uuid,
        owner: Option<UserId>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.record(format!("revoke_session {id}"));
        self.inner.revoke_session(id, owner, now).await
    }

    async fn revoke_user_sessions(
        &self,
        user_id: UserId,
        keep: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<Vec<Uuid>, StoreError> {
        self.record(format!("revoke_user_sessions {user_id}"));
        self.inner.revoke_user_sessions(user_id, keep, now).await
    }

    async fn revocations_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<Revocation>, StoreError> {
        self.inner.revocations_since(since).await
    }

    async fn purge_expired_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.record("purge_expired_sessions".to_owned());
        self.inner.purge_expired_sessions(now).await
    }
}

#[async_trait]
impl<S: AuthStore> CounterStore for Audited<S> {
    async fn take_rate_token(
        &self,
        key: &CounterKey,
        limit: RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        self.inner.take_rate_token(key, limit, now).await
    }

    async fn begin_attempt(
        &self,
        key: &CounterKey,
        throttle: Throttle,
        now: OffsetDateTime,
    ) -> Result<ThrottleDecision, StoreError> {
        self.inner.begin_attempt(key, throttle, now).await
    }

    async fn clear_attempts(&self, key: &CounterKey) -> Result<(), StoreError> {
        self.inner.clear_attempts(key).await
    }

    async fn purge_expired_counters(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.inner.purge_expired_counters(now).await
    }
}

#[async_trait]
impl<S: AuthStore> AuditStore for Audited<S> {
    async fn last_audit_record(&self) -> Result<Option<AuditRecord>, StoreError> {
        self.inner.last_audit_record().await
    }

    async fn append_audit_record(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.inner.append_audit_record(record).await
    }

    async fn list_audit_records(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        self.inner.list_audit_records(query).await
    }

    async fn audit_records_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.inner.audit_records_after(after, limit).await
    }

    async fn audit_anchor(&self) -> Result<Option<AuditAnchor>, StoreError> {
        self.inner.audit_anchor().await
    }

    async fn purge_audit_records(
        &self,
        before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.record("purge_audit_records".to_owned());
        self.inner.purge_audit_records(before, now).await
    }
}

#[async_trait]
impl<S: AuthStore> MfaStore for Audited<S> {
    async fn put_pending_totp(&self, record: &TotpRecord) -> Result<bool, StoreError> {
        self.record(format!("put_pending_totp {}", record.user_id));
        self.inner.put_pending_totp(record).await
    }

    async fn find_totp(&self, user_id: UserId) -> Result<Option<TotpRecord>, StoreError> {
        self.inner.find_totp(user_id).await
    }

    async fn confirm_totp(
        &self,
        user_id: UserId,
        step: i64,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.record(format!("confirm_totp {user_id}"));
        self.inner.confirm_totp(user_id, step, now).await
    }

    async fn use_totp_step(&self, user_id: UserId, step: i64) -> Result<bool, StoreError> {
        self.inner.use_totp_step(user_id, step).await
    }

    async fn delete_totp(&self, user_id: UserId) -> Result<bool, StoreError> {
        self.record(format!("delete_totp {user_id}"));
        self.inner.delete_totp(user_id).await
    }

    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        codes: &[RecoveryCodeHash],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.record(format!("replace_recovery_codes {user_id}"));
        self.inner.replace_recovery_codes(user_id, codes, now).await
    }

    async fn use_recovery_code(
        &self,
        user_id: UserId,
        code: &RecoveryCodeHash,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.inner.use_recovery_code(user_id, code, now).await
    }

    async fn count_recovery_codes(&self, user_id: UserId) -> Result<u32, StoreError> {
        self.inner.count_recovery_codes(user_id).await
    }

    async fn purge_expired_totp(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.inner.purge_expired_totp(now).await
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
