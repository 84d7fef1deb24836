//! [`TokenStore`] for [`MemoryStore`].

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Inner, MemoryStore};
use crate::error::StoreError;
use crate::store::TokenStore;
use crate::token::{ConsumeOutcome, TokenHash, TokenKind, TokenRecord};
use crate::user::UserId;

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

pub(super) fn revoke_where(
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
