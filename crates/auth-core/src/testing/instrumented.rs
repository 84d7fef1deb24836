//! [`Instrumented`]: a store wrapper that counts the calls of every method and fails the
//! ones it is told to — to prove how many store reads a request makes, or what the
//! service does when one write of several fails.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{AuditAnchor, AuditQuery, AuditRecord};
use crate::counter::{CounterKey, RateDecision, RateLimit, Throttle, ThrottleDecision};
use crate::error::StoreError;
use crate::mfa::{RecoveryCodeHash, TotpRecord};
use crate::session::{Revocation, RotateOutcome, SessionRecord};
use crate::store::{
    AuditStore, AuthStore, CounterStore, MfaStore, SessionStore, TokenStore, UserStore,
};
use crate::token::{ConsumeOutcome, TokenHash, TokenKind, TokenRecord};
use crate::user::{User, UserId, UserPage, UserPatch};

/// A store that counts every call by method name and fails chosen methods with
/// [`StoreError::Unavailable`]; everything else goes to the wrapped store. Clones share
/// the counts and the faults.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use auth_core::testing::Instrumented;
/// use auth_core::{MemoryStore, UserId, UserStore};
///
/// let store = Instrumented::new(MemoryStore::new());
/// store.find_user_by_id(UserId::new()).await.unwrap();
/// assert_eq!(store.calls("find_user_by_id"), 1);
/// store.fail("find_user_by_id");
/// assert!(store.find_user_by_id(UserId::new()).await.is_err());
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Instrumented<S> {
    inner: S,
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    calls: HashMap<&'static str, usize>,
    /// Method → how many more calls succeed before it fails (0: fails now).
    faults: HashMap<String, usize>,
}

impl<S: AuthStore> Instrumented<S> {
    /// Wraps a store; nothing fails until told to.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            state: Arc::default(),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Calls of `method` so far.
    pub fn calls(&self, method: &str) -> usize {
        self.state().calls.get(method).copied().unwrap_or(0)
    }

    /// Calls of every method so far.
    pub fn total_calls(&self) -> usize {
        self.state().calls.values().sum()
    }

    /// Forgets the counts.
    pub fn reset_calls(&self) {
        self.state().calls.clear();
    }

    /// Makes every call of `method` fail from now on.
    pub fn fail(&self, method: &str) {
        self.fail_after(method, 0);
    }

    /// Lets `successes` more calls of `method` through, then fails every later one.
    pub fn fail_after(&self, method: &str, successes: usize) {
        self.state().faults.insert(method.to_owned(), successes);
    }

    /// Stops failing `method`.
    pub fn heal(&self, method: &str) {
        self.state().faults.remove(method);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn enter(&self, method: &'static str) -> Result<(), StoreError> {
        let mut state = self.state();
        *state.calls.entry(method).or_default() += 1;
        match state.faults.get_mut(method) {
            Some(0) => Err(StoreError::unavailable(format!(
                "injected failure of {method}"
            ))),
            Some(left) => {
                *left -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }
}

#[async_trait]
impl<S: AuthStore> UserStore for Instrumented<S> {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        self.enter("create_user")?;
        self.inner.create_user(user).await
    }
    async fn find_user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.enter("find_user_by_id")?;
        self.inner.find_user_by_id(id).await
    }
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.enter("find_user_by_email")?;
        self.inner.find_user_by_email(email).await
    }
    async fn update_user(&self, id: UserId, patch: &UserPatch) -> Result<Option<User>, StoreError> {
        self.enter("update_user")?;
        self.inner.update_user(id, patch).await
    }
    async fn list_users(&self, limit: u32, offset: u64) -> Result<UserPage, StoreError> {
        self.enter("list_users")?;
        self.inner.list_users(limit, offset).await
    }
}

#[async_trait]
impl<S: AuthStore> TokenStore for Instrumented<S> {
    async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        self.enter("insert_token")?;
        self.inner.insert_token(token).await
    }
    async fn find_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
    ) -> Result<Option<TokenRecord>, StoreError> {
        self.enter("find_token")?;
        self.inner.find_token(hash, kind).await
    }
    async fn consume_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> Result<ConsumeOutcome, StoreError> {
        self.enter("consume_token")?;
        self.inner.consume_token(hash, kind, now).await
    }
    async fn revoke_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.enter("revoke_token")?;
        self.inner.revoke_token(hash, kind, now).await
    }
    async fn revoke_token_family(
        &self,
        family_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.enter("revoke_token_family")?;
        self.inner.revoke_token_family(family_id, now).await
    }
    async fn revoke_user_tokens(
        &self,
        user_id: UserId,
        kind: Option<TokenKind>,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.enter("revoke_user_tokens")?;
        self.inner.revoke_user_tokens(user_id, kind, now).await
    }
    async fn purge_expired_tokens(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.enter("purge_expired_tokens")?;
        self.inner.purge_expired_tokens(now).await
    }
}

#[async_trait]
impl<S: AuthStore> SessionStore for Instrumented<S> {
    async fn create_session(
        &self,
        session: &SessionRecord,
        first_token: &TokenRecord,
    ) -> Result<(), StoreError> {
        self.enter("create_session")?;
        self.inner.create_session(session, first_token).await
    }
    async fn find_session(&self, id: Uuid) -> Result<Option<SessionRecord>, StoreError> {
        self.enter("find_session")?;
        self.inner.find_session(id).await
    }
    async fn find_user_and_session(
        &self,
        user_id: UserId,
        session_id: Uuid,
    ) -> Result<(Option<User>, Option<SessionRecord>), StoreError> {
        self.enter("find_user_and_session")?;
        self.inner.find_user_and_session(user_id, session_id).await
    }
    async fn list_user_sessions(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        self.enter("list_user_sessions")?;
        self.inner.list_user_sessions(user_id, now).await
    }
    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        successor: &TokenRecord,
        now: OffsetDateTime,
    ) -> Result<RotateOutcome, StoreError> {
        self.enter("rotate_refresh_token")?;
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
        self.enter("revoke_session")?;
        self.inner.revoke_session(id, owner, now).await
    }
    async fn revoke_user_sessions(
        &self,
        user_id: UserId,
        keep: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<Vec<Uuid>, StoreError> {
        self.enter("revoke_user_sessions")?;
        self.inner.revoke_user_sessions(user_id, keep, now).await
    }
    async fn revocations_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<Revocation>, StoreError> {
        self.enter("revocations_since")?;
        self.inner.revocations_since(since).await
    }
    async fn purge_expired_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.enter("purge_expired_sessions")?;
        self.inner.purge_expired_sessions(now).await
    }
}

#[async_trait]
impl<S: AuthStore> CounterStore for Instrumented<S> {
    async fn take_rate_token(
        &self,
        key: &CounterKey,
        limit: RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        self.enter("take_rate_token")?;
        self.inner.take_rate_token(key, limit, now).await
    }
    async fn begin_attempt(
        &self,
        key: &CounterKey,
        throttle: Throttle,
        now: OffsetDateTime,
    ) -> Result<ThrottleDecision, StoreError> {
        self.enter("begin_attempt")?;
        self.inner.begin_attempt(key, throttle, now).await
    }
    async fn clear_attempts(&self, key: &CounterKey) -> Result<(), StoreError> {
        self.enter("clear_attempts")?;
        self.inner.clear_attempts(key).await
    }
    async fn purge_expired_counters(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.enter("purge_expired_counters")?;
        self.inner.purge_expired_counters(now).await
    }
}

#[async_trait]
impl<S: AuthStore> AuditStore for Instrumented<S> {
    async fn last_audit_record(&self) -> Result<Option<AuditRecord>, StoreError> {
        self.enter("last_audit_record")?;
        self.inner.last_audit_record().await
    }
    async fn append_audit_record(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.enter("append_audit_record")?;
        self.inner.append_audit_record(record).await
    }
    async fn list_audit_records(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        self.enter("list_audit_records")?;
        self.inner.list_audit_records(query).await
    }
    async fn audit_records_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.enter("audit_records_after")?;
        self.inner.audit_records_after(after, limit).await
    }
    async fn audit_anchor(&self) -> Result<Option<AuditAnchor>, StoreError> {
        self.enter("audit_anchor")?;
        self.inner.audit_anchor().await
    }
    async fn purge_audit_records(
        &self,
        before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.enter("purge_audit_records")?;
        self.inner.purge_audit_records(before, now).await
    }
}

#[async_trait]
impl<S: AuthStore> MfaStore for Instrumented<S> {
    async fn put_pending_totp(&self, record: &TotpRecord) -> Result<bool, StoreError> {
        self.enter("put_pending_totp")?;
        self.inner.put_pending_totp(record).await
    }
    async fn find_totp(&self, user_id: UserId) -> Result<Option<TotpRecord>, StoreError> {
        self.enter("find_totp")?;
        self.inner.find_totp(user_id).await
    }
    async fn confirm_totp(
        &self,
        user_id: UserId,
        step: i64,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.enter("confirm_totp")?;
        self.inner.confirm_totp(user_id, step, now).await
    }
    async fn use_totp_step(&self, user_id: UserId, step: i64) -> Result<bool, StoreError> {
        self.enter("use_totp_step")?;
        self.inner.use_totp_step(user_id, step).await
    }
    async fn delete_totp(&self, user_id: UserId) -> Result<bool, StoreError> {
        self.enter("delete_totp")?;
        self.inner.delete_totp(user_id).await
    }
    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        codes: &[RecoveryCodeHash],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.enter("replace_recovery_codes")?;
        self.inner.replace_recovery_codes(user_id, codes, now).await
    }
    async fn use_recovery_code(
        &self,
        user_id: UserId,
        code: &RecoveryCodeHash,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.enter("use_recovery_code")?;
        self.inner.use_recovery_code(user_id, code, now).await
    }
    async fn count_recovery_codes(&self, user_id: UserId) -> Result<u32, StoreError> {
        self.enter("count_recovery_codes")?;
        self.inner.count_recovery_codes(user_id).await
    }
    async fn purge_expired_totp(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.enter("purge_expired_totp")?;
        self.inner.purge_expired_totp(now).await
    }
}
