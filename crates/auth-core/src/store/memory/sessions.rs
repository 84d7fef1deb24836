//! [`SessionStore`] for [`MemoryStore`].

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::MemoryStore;
use crate::error::StoreError;
use crate::session::{Revocation, RotateOutcome, SessionRecord};
use crate::store::SessionStore;
use crate::token::{ConsumeOutcome, TokenHash, TokenKind, TokenRecord};
use crate::user::UserId;

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create_session(
        &self,
        session: &SessionRecord,
        first_token: &TokenRecord,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.sessions.contains_key(&session.id)
            || inner.tokens.contains_key(&first_token.token_hash)
        {
            return Err(StoreError::Conflict);
        }
        inner.sessions.insert(session.id, session.clone());
        inner
            .tokens
            .insert(first_token.token_hash, first_token.clone());
        Ok(())
    }

    async fn find_session(&self, id: Uuid) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.lock().sessions.get(&id).cloned())
    }

    async fn list_user_sessions(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let inner = self.lock();
        let Some(user) = inner.users.get(&user_id) else {
            return Ok(Vec::new());
        };
        let mut live: Vec<SessionRecord> = inner
            .sessions
            .values()
            .filter(|s| s.is_live(user, now))
            .cloned()
            .collect();
        live.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(live)
    }

    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        successor: &TokenRecord,
        now: OffsetDateTime,
    ) -> Result<RotateOutcome, StoreError> {
        let mut inner = self.lock();
        let token = match inner
            .tokens
            .get(presented)
            .filter(|t| t.kind == TokenKind::Refresh)
        {
            Some(t) if t.used_at.is_none() && t.revoked_at.is_none() && t.expires_at > now => {
                t.clone()
            }
            other => {
                return Ok(RotateOutcome::Refused(ConsumeOutcome::classify(
                    other.cloned(),
                    now,
                )));
            }
        };
        let live = token.family_id.and_then(|family| {
            let session = inner.sessions.get(&family)?;
            let user = inner.users.get(&token.user_id)?;
            session
                .is_live(user, now)
                .then(|| (session.clone(), user.clone()))
        });
        let Some((mut session, user)) = live else {
            return Ok(RotateOutcome::SessionEnded(token));
        };
        if inner.tokens.contains_key(&successor.token_hash) {
            return Err(StoreError::Conflict);
        }
        if let Some(used) = inner.tokens.get_mut(presented) {
            used.used_at = Some(now);
        }
        session.last_used_at = now;
        inner.sessions.insert(session.id, session.clone());
        let mut successor = successor.clone();
        successor.expires_at = successor.expires_at.min(session.expires_at);
        inner.tokens.insert(successor.token_hash, successor);
        Ok(RotateOutcome::Rotated { session, user })
    }

    async fn revoke_session(
        &self,
        id: Uuid,
        owner: Option<UserId>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        match inner.sessions.get_mut(&id) {
            Some(session)
                if session.revoked_at.is_none() && owner.is_none_or(|o| o == session.user_id) =>
            {
                session.revoked_at = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn revoke_user_sessions(
        &self,
        user_id: UserId,
        keep: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<Vec<Uuid>, StoreError> {
        let mut inner = self.lock();
        let mut ended = Vec::new();
        for session in inner.sessions.values_mut() {
            if session.user_id == user_id
                && session.revoked_at.is_none()
                && Some(session.id) != keep
            {
                session.revoked_at = Some(now);
                ended.push(session.id);
            }
        }
        Ok(ended)
    }

    async fn revocations_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<Revocation>, StoreError> {
        let inner = self.lock();
        let sessions = inner.sessions.values().filter_map(|s| match s.revoked_at {
            Some(at) if at > since => Some(Revocation::Session {
                id: s.id,
                user_id: s.user_id,
                at,
            }),
            _ => None,
        });
        let users = inner.versioned_at.iter().filter_map(|(id, at)| {
            let user = inner.users.get(id)?;
            (*at > since).then_some(Revocation::User {
                user_id: *id,
                token_version: user.token_version,
                at: *at,
            })
        });
        Ok(sessions.chain(users).collect())
    }

    async fn purge_expired_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let expired: Vec<Uuid> = inner
            .sessions
            .values()
            .filter(|s| s.expires_at <= now)
            .map(|s| s.id)
            .collect();
        for id in &expired {
            inner.sessions.remove(id);
        }
        inner
            .tokens
            .retain(|_, t| t.family_id.is_none_or(|f| !expired.contains(&f)));
        Ok(expired.len() as u64)
    }
}
