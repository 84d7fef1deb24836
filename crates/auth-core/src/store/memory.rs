//! An in-memory store: for tests, examples and single-process prototypes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::StoreError;
use crate::store::{TokenStore, UserStore};
use crate::token::{ConsumeOutcome, TokenHash, TokenKind, TokenRecord};
use crate::user::{User, UserId, UserPage, UserPatch};

/// An [`AuthStore`](crate::AuthStore) kept in process memory. Clones share the same data.
///
/// Every operation runs under one mutex, so the single-use and uniqueness rules hold for
/// concurrent tasks of one process. Data is lost when the process ends, and several
/// processes do not share it: use a database store to scale out.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    users: HashMap<UserId, User>,
    emails: HashMap<String, UserId>,
    tokens: HashMap<TokenHash, TokenRecord>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // No operation panics while holding the lock, and every write is a single
        // assignment, so the data behind a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.emails.contains_key(&user.email) || inner.users.contains_key(&user.id) {
            return Err(StoreError::Conflict);
        }
        inner.emails.insert(user.email.clone(), user.id);
        inner.users.insert(user.id, user.clone());
        Ok(())
    }

    async fn find_user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.lock().users.get(&id).cloned())
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .emails
            .get(email)
            .and_then(|id| inner.users.get(id))
            .cloned())
    }

    async fn update_user(&self, id: UserId, patch: &UserPatch) -> Result<Option<User>, StoreError> {
        let mut inner = self.lock();
        let Some(user) = inner.users.get_mut(&id) else {
            return Ok(None);
        };
        if let Some(username) = &patch.username {
            user.username.clone_from(username);
        }
        if let Some(hash) = &patch.password_hash {
            user.password_hash = hash.clone();
        }
        if let Some(roles) = &patch.roles {
            user.roles.clone_from(roles);
        }
        if let Some(settings) = &patch.user_settings {
            user.user_settings.clone_from(settings);
        }
        if let Some(verified) = patch.is_verified {
            user.is_verified = verified;
        }
        if let Some(active) = patch.is_active {
            user.is_active = active;
        }
        if let Some(at) = patch.updated_at {
            user.updated_at = at;
        }
        Ok(Some(user.clone()))
    }

    async fn list_users(&self, limit: u32, offset: u64) -> Result<UserPage, StoreError> {
        let inner = self.lock();
        let mut users: Vec<&User> = inner.users.values().collect();
        users.sort_by_key(|u| (u.created_at, u.id));
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        let items = users
            .into_iter()
            .skip(skip)
            .take(limit as usize)
            .cloned()
            .collect();
        Ok(UserPage {
            items,
            total: inner.users.len() as u64,
        })
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.tokens.contains_key(&token.token_hash) {
            return Err(StoreError::Conflict);
        }
        inner.tokens.insert(token.token_hash, token.clone());
        Ok(())
    }

    async fn find_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
    ) -> Result<Option<TokenRecord>, StoreError> {
        Ok(self
            .lock()
            .tokens
            .get(hash)
            .filter(|t| t.kind == kind)
            .cloned())
    }

    async fn consume_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> Result<ConsumeOutcome, StoreError> {
        let mut inner = self.lock();
        match inner.tokens.get_mut(hash).filter(|t| t.kind == kind) {
            Some(token)
                if token.used_at.is_none()
                    && token.revoked_at.is_none()
                    && token.expires_at > now =>
            {
                token.used_at = Some(now);
                Ok(ConsumeOutcome::Consumed(token.clone()))
            }
            other => Ok(ConsumeOutcome::classify(other.cloned(), now)),
        }
    }

    async fn revoke_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        match inner.tokens.get_mut(hash) {
            Some(token) if token.kind == kind && token.revoked_at.is_none() => {
                token.revoked_at = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn revoke_token_family(
        &self,
        family_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        Ok(revoke_where(&mut inner, now, |t| {
            t.family_id == Some(family_id)
        }))
    }

    async fn revoke_user_tokens(
        &self,
        user_id: UserId,
        kind: Option<TokenKind>,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        Ok(revoke_where(&mut inner, now, |t| {
            t.user_id == user_id && kind.is_none_or(|k| t.kind == k)
        }))
    }

    async fn purge_expired_tokens(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let before = inner.tokens.len();
        inner.tokens.retain(|_, t| t.expires_at > now);
        Ok((before - inner.tokens.len()) as u64)
    }
}

fn revoke_where(
    inner: &mut Inner,
    now: OffsetDateTime,
    selected: impl Fn(&TokenRecord) -> bool,
) -> u64 {
    let mut count = 0;
    for token in inner.tokens.values_mut() {
        if token.revoked_at.is_none() && selected(token) {
            token.revoked_at = Some(now);
            count += 1;
        }
    }
    count
}
