//! Sessions: their start at login, refresh-token rotation, logout, and the session list.
//!
//! A session is one login and the rotation family of its refresh tokens. Rotation is one
//! store step ([`SessionStore::rotate_refresh_token`](crate::SessionStore::rotate_refresh_token))
//! that checks the session in the same step; presenting a used token again ends the session
//! (RFC 9700 §4.14.2, ASVS 5.0 10.4.5), unless it comes within the configured reuse grace
//! window, where it gets the same successor again.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{AuthService, TokenPair};
use crate::client::ClientInfo;
use crate::error::AuthError;
use crate::events::AuthEventKind;
use crate::jwt::Claims;
use crate::session::{Revocation, RotateOutcome, SessionRecord};
use crate::token::{
    ConsumeOutcome, MAX_OPAQUE_TOKEN_LEN, OpaqueToken, TokenHash, TokenKind, TokenRecord,
};
use crate::user::{Invalidate, User, UserId, UserPatch};

/// A session as its owner (or an admin) sees it: `GET /sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionView {
    /// The session id (`sid` of its access tokens).
    pub id: Uuid,
    /// The login.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The latest login or refresh.
    #[serde(with = "time::serde::rfc3339")]
    pub last_used_at: OffsetDateTime,
    /// The absolute end.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The login's `User-Agent`, for display only.
    pub user_agent: Option<String>,
    /// The client address at login, for display only.
    pub ip: Option<String>,
    /// Whether the access token of the request belongs to it.
    pub current: bool,
}

impl SessionView {
    fn of(session: SessionRecord, current: Option<Uuid>) -> Self {
        Self {
            current: current == Some(session.id),
            id: session.id,
            created_at: session.created_at,
            last_used_at: session.last_used_at,
            expires_at: session.expires_at,
            user_agent: session.user_agent,
            ip: session.ip,
        }
    }
}

/// The sessions of a user: `{"items": [...]}`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionList {
    /// The live sessions.
    pub items: Vec<SessionView>,
}

impl AuthService {
    /// Starts a session for a user whose password was just verified, and issues its first
    /// token pair. The session records the user's `session_epoch` as read before: a cut
    /// stored since makes it dead at its first use.
    pub(super) async fn start_session(
        &self,
        user: &User,
        now: OffsetDateTime,
    ) -> Result<TokenPair, AuthError> {
        Ok(self.start_session_with_id(user, now).await?.0)
    }

    /// [`start_session`](Self::start_session), also returning the new session's id.
    pub(super) async fn start_session_with_id(
        &self,
        user: &User,
        now: OffsetDateTime,
    ) -> Result<(TokenPair, Uuid), AuthError> {
        let config = &self.inner.config;
        let client = ClientInfo::current();
        let session = SessionRecord {
            id: Uuid::now_v7(),
            user_id: user.id,
            created_at: now,
            last_used_at: now,
            expires_at: now + config.refresh_absolute_ttl(),
            revoked_at: None,
            epoch: user.session_epoch,
            user_agent: client.user_agent.clone(),
            ip: client.ip_text(),
        };
        let (refresh_token, token_hash) = OpaqueToken::generate()
            .map_err(|e| AuthError::Unavailable(Box::new(e)))?
            .into_parts();
        let first = self.refresh_record(user.id, &session, token_hash, now);
        self.inner.store.create_session(&session, &first).await?;
        let pair = self.token_pair(user, session.id, refresh_token, first.expires_at, now)?;
        Ok((pair, session.id))
    }

    fn refresh_record(
        &self,
        user_id: UserId,
        session: &SessionRecord,
        token_hash: TokenHash,
        now: OffsetDateTime,
    ) -> TokenRecord {
        TokenRecord {
            id: Uuid::now_v7(),
            user_id,
            kind: TokenKind::Refresh,
            token_hash,
            family_id: Some(session.id),
            family_expires_at: Some(session.expires_at),
            expires_at: (now + self.inner.config.refresh_ttl()).min(session.expires_at),
            created_at: now,
            used_at: None,
            revoked_at: None,
        }
    }

    fn token_pair(
        &self,
        user: &User,
        session: Uuid,
        refresh_token: String,
        refresh_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<TokenPair, AuthError> {
        let config = &self.inner.config;
        let access_token =
            self.inner
                .jwt
                .issue_access(user, Some(session), now, config.access_ttl())?;
        Ok(TokenPair {
            access_token,
            token_type: "bearer",
            expires_in: config.access_ttl().whole_seconds(),
            refresh_token,
            refresh_expires_in: (refresh_expires_at - now).whole_seconds().max(0),
        })
    }

    /// The refresh token that will follow `presented`: random, or — with a reuse grace
    /// window — derived from it, so a replay inside the window gets the same one back.
    fn successor(&self, presented: &str) -> Result<(String, TokenHash), AuthError> {
        if self.inner.config.refresh_reuse_grace() > time::Duration::ZERO {
            let token = self.inner.keys.grace_successor(presented);
            let hash = TokenHash::of(&token);
            return Ok((token, hash));
        }
        Ok(OpaqueToken::generate()
            .map_err(|e| AuthError::Unavailable(Box::new(e)))?
            .into_parts())
    }

    /// Exchanges a refresh token for a new pair, in one store step that also checks the
    /// session. Presenting a used token again ends its session (outside the grace window).
    /// The new refresh token never outlives the session's absolute end.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] (unknown), [`AuthError::RevokedToken`] (revoked, replayed,
    /// or its session ended), [`AuthError::ExpiredToken`], [`AuthError::AccountDisabled`],
    /// [`AuthError::Unavailable`].
    #[tracing::instrument(skip_all, fields(user.id))]
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, AuthError> {
        let hash = opaque_hash(refresh_token)?;
        let now = self.now();
        let store = &self.inner.store;
        // The presented token names its user and session, which the successor needs.
        let record = match store.find_token(&hash, TokenKind::Refresh).await? {
            Some(record) if record.used_at.is_some() => {
                return self.replayed(refresh_token, record, now).await;
            }
            Some(record) if record.revoked_at.is_some() => return Err(AuthError::RevokedToken),
            Some(record) if record.expires_at <= now => return Err(AuthError::ExpiredToken),
            Some(record) => record,
            None => return Err(AuthError::InvalidToken),
        };
        tracing::Span::current().record("user.id", tracing::field::display(record.user_id));
        let (successor_token, successor_hash) = self.successor(refresh_token)?;
        let mut successor = record.clone();
        successor.id = Uuid::now_v7();
        successor.token_hash = successor_hash;
        successor.expires_at = now + self.inner.config.refresh_ttl();
        if let Some(end) = record.family_expires_at {
            successor.expires_at = successor.expires_at.min(end);
        }
        successor.created_at = now;
        successor.used_at = None;
        successor.revoked_at = None;
        match store.rotate_refresh_token(&hash, &successor, now).await? {
            RotateOutcome::Rotated { session, user } => {
                if !user.is_active {
                    self.end_session(session.id, user.id, now).await?;
                    return Err(AuthError::AccountDisabled);
                }
                let expires_at = successor.expires_at.min(session.expires_at);
                self.token_pair(&user, session.id, successor_token, expires_at, now)
            }
            // Another request used it between our read and our rotation: a replay too.
            RotateOutcome::Refused(ConsumeOutcome::AlreadyUsed(record)) => {
                self.replayed(refresh_token, record, now).await
            }
            RotateOutcome::Refused(ConsumeOutcome::Revoked(_)) => Err(AuthError::RevokedToken),
            RotateOutcome::Refused(ConsumeOutcome::Expired(_)) => Err(AuthError::ExpiredToken),
            RotateOutcome::Refused(_) => Err(AuthError::InvalidToken),
            RotateOutcome::SessionEnded(_) => Err(AuthError::RevokedToken),
        }
    }

    /// A used refresh token presented again: inside the grace window, the same successor
    /// and a fresh access token; otherwise the end of its session.
    async fn replayed(
        &self,
        presented: &str,
        record: TokenRecord,
        now: OffsetDateTime,
    ) -> Result<TokenPair, AuthError> {
        let grace = self.inner.config.refresh_reuse_grace();
        let within = record.used_at.is_some_and(|used| now - used <= grace);
        if grace > time::Duration::ZERO
            && within
            && let Some(pair) = self.grace_answer(presented, &record, now).await?
        {
            tracing::info!(user.id = %record.user_id, "refresh token reused within the grace window");
            return Ok(pair);
        }
        tracing::warn!(
            user.id = %record.user_id,
            "refresh token replayed after rotation; ending its session"
        );
        if let Some(session) = record.family_id {
            self.end_session(session, record.user_id, now).await?;
            self.emit(
                self.user_event(AuthEventKind::SessionRevoked, record.user_id)
                    .with_session(session),
            )
            .await?;
        }
        Err(AuthError::RevokedToken)
    }

    /// The answer to a replay inside the grace window, if its successor and session are
    /// still good.
    async fn grace_answer(
        &self,
        presented: &str,
        record: &TokenRecord,
        now: OffsetDateTime,
    ) -> Result<Option<TokenPair>, AuthError> {
        let Some(session_id) = record.family_id else {
            return Ok(None);
        };
        let successor = self.inner.keys.grace_successor(presented);
        let store = &self.inner.store;
        let Some(next) = store
            .find_token(&TokenHash::of(&successor), TokenKind::Refresh)
            .await?
            .filter(|next| next.family_id == Some(session_id) && next.revoked_at.is_none())
        else {
            return Ok(None);
        };
        let (user, session) = store
            .find_user_and_session(record.user_id, session_id)
            .await?;
        match (user, session) {
            (Some(user), Some(session)) if user.is_active && session.is_live(&user, now) => {
                let expires_at = next.expires_at.min(session.expires_at);
                Ok(Some(self.token_pair(
                    &user, session_id, successor, expires_at, now,
                )?))
            }
            _ => Ok(None),
        }
    }

    /// Ends one session and cuts its access tokens on this instance at once.
    async fn end_session(
        &self,
        session: Uuid,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        self.inner.store.revoke_session(session, None, now).await?;
        self.cut(Revocation::Session {
            id: session,
            user_id,
            at: now,
        });
        Ok(())
    }

    /// Ends the session of a refresh token. Idempotent: unknown, used or malformed tokens
    /// are fine.
    ///
    /// # Errors
    ///
    /// [`AuthError::Unavailable`] when the store fails.
    #[tracing::instrument(skip_all)]
    pub async fn logout(&self, refresh_token: &str) -> Result<(), AuthError> {
        let Ok(hash) = opaque_hash(refresh_token) else {
            return Ok(());
        };
        let store = &self.inner.store;
        let now = self.now();
        match store.find_token(&hash, TokenKind::Refresh).await? {
            Some(TokenRecord {
                family_id: Some(session),
                user_id,
                ..
            }) => {
                self.end_session(session, user_id, now).await?;
                self.emit(
                    self.user_event(AuthEventKind::LoggedOut, user_id)
                        .with_session(session),
                )
                .await?;
            }
            Some(_) => {
                store.revoke_token(&hash, TokenKind::Refresh, now).await?;
            }
            None => {}
        }
        Ok(())
    }

    /// Ends every session of the user and cuts every access token issued before, in one
    /// store write.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] when the user is gone, [`AuthError::Unavailable`].
    #[tracing::instrument(skip_all, fields(user.id = %user_id))]
    pub async fn logout_all(&self, user_id: UserId) -> Result<(), AuthError> {
        self.cut_all_sessions(user_id)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        tracing::info!("every session ended");
        self.emit(self.user_event(AuthEventKind::LogoutAll, user_id))
            .await
    }

    /// Raises the user's session epoch (ending every session and access token issued
    /// before) and tells this instance's view. `None` when there is no such user.
    pub(super) async fn cut_all_sessions(
        &self,
        user_id: UserId,
    ) -> Result<Option<User>, AuthError> {
        let now = self.now();
        let patch = UserPatch {
            updated_at: Some(now),
            invalidate: Some(Invalidate::Sessions),
            ..UserPatch::default()
        };
        let user = self.inner.store.update_user(user_id, &patch).await?;
        if let Some(user) = &user {
            self.cut_user(user, now);
        }
        Ok(user)
    }

    /// The caller's live sessions, newest first, the caller's own marked `current`.
    ///
    /// # Errors
    ///
    /// As [`me`](Self::me).
    pub async fn sessions(&self, claims: &Claims) -> Result<SessionList, AuthError> {
        let user = self.me(claims).await?;
        self.list_sessions(user.id, claims.sid).await
    }

    pub(super) async fn list_sessions(
        &self,
        user_id: UserId,
        current: Option<Uuid>,
    ) -> Result<SessionList, AuthError> {
        let sessions = self
            .inner
            .store
            .list_user_sessions(user_id, self.now())
            .await?;
        Ok(SessionList {
            items: sessions
                .into_iter()
                .map(|s| SessionView::of(s, current))
                .collect(),
        })
    }

    /// Ends one of the caller's sessions (its refresh tokens stop working, its access
    /// tokens are cut).
    ///
    /// # Errors
    ///
    /// [`AuthError::SessionNotFound`] for an unknown id or another user's session (the
    /// same answer), and the errors of [`me`](Self::me).
    #[tracing::instrument(skip_all, fields(user.id = %claims.sub, session.id = %id))]
    pub async fn end_own_session(&self, claims: &Claims, id: Uuid) -> Result<(), AuthError> {
        let user = self.me(claims).await?;
        let now = self.now();
        if !self
            .inner
            .store
            .revoke_session(id, Some(user.id), now)
            .await?
        {
            return Err(AuthError::SessionNotFound);
        }
        self.cut(Revocation::Session {
            id,
            user_id: user.id,
            at: now,
        });
        tracing::info!("session ended by its owner");
        self.emit(
            self.user_event(AuthEventKind::SessionRevoked, user.id)
                .with_session(id),
        )
        .await
    }

    /// Ends every session of the user except `keep`, and cuts their access tokens: for a
    /// change that keeps the caller signed in (enabling a second factor, say).
    ///
    /// # Errors
    ///
    /// [`AuthError::Unavailable`] when the store fails.
    pub async fn end_other_sessions(
        &self,
        user_id: UserId,
        keep: Option<Uuid>,
    ) -> Result<usize, AuthError> {
        let now = self.now();
        let ended = self
            .inner
            .store
            .revoke_user_sessions(user_id, keep, now)
            .await?;
        for id in &ended {
            self.cut(Revocation::Session {
                id: *id,
                user_id,
                at: now,
            });
        }
        Ok(ended.len())
    }

    /// Issues an access token for a user without a password check or session — for tests,
    /// benchmarks and trusted server-side flows. Handle with care: whoever holds the token
    /// is that user until it expires or the user's tokens are cut.
    ///
    /// # Errors
    ///
    /// [`AuthError::Unavailable`] if signing fails.
    pub fn issue_access_token(&self, user: &User) -> Result<String, AuthError> {
        self.inner
            .jwt
            .issue_access(user, None, self.now(), self.inner.config.access_ttl())
    }

    /// Logs in a user without a password, as a trusted server-side flow would (after an
    /// external identity check, or in tests): a real session and token pair.
    ///
    /// # Errors
    ///
    /// [`AuthError::Unavailable`] when the store fails.
    pub async fn start_session_for(&self, user: &User) -> Result<TokenPair, AuthError> {
        self.start_session(user, self.now()).await
    }
}

/// Hashes an opaque token as presented, refusing empty or oversized input unhashed.
pub(super) fn opaque_hash(token: &str) -> Result<TokenHash, AuthError> {
    if token.is_empty() || token.len() > MAX_OPAQUE_TOKEN_LEN {
        return Err(AuthError::InvalidToken);
    }
    Ok(TokenHash::of(token))
}
