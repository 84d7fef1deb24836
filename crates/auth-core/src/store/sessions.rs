//! [`SessionStore`]: sessions and the feed of cuts.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::UserStore;
use crate::error::StoreError;
use crate::session::{Revocation, RotateOutcome, SessionRecord};
use crate::token::{TokenHash, TokenRecord};
use crate::user::{User, UserId};

/// Persistence of sessions (see [`crate::SessionRecord`] for the rule that makes every cut
/// hold). A session's refresh tokens are the [`TokenStore`](crate::TokenStore)'s refresh
/// tokens whose `family_id` is the session id.
#[async_trait]
pub trait SessionStore: UserStore {
    /// Stores a new session and its first refresh token (`first_token.family_id ==
    /// Some(session.id)`), in one write where the backend can; if it cannot, the session
    /// first.
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] when the session id or the token hash exists already.
    async fn create_session(
        &self,
        session: &SessionRecord,
        first_token: &TokenRecord,
    ) -> Result<(), StoreError>;

    /// The session with this id, whatever its state.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn find_session(&self, id: Uuid) -> Result<Option<SessionRecord>, StoreError>;

    /// The user and the session an access token names, as stored now: what a
    /// database-checked route needs, in one read where the backend can join.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn find_user_and_session(
        &self,
        user_id: UserId,
        session_id: Uuid,
    ) -> Result<(Option<User>, Option<SessionRecord>), StoreError> {
        let user = self.find_user_by_id(user_id).await?;
        let session = self.find_session(session_id).await?;
        Ok((user, session))
    }

    /// The user's live sessions at `now`, newest first: not revoked, `expires_at > now`,
    /// and `epoch` at least the user's `session_epoch`.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn list_user_sessions(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionRecord>, StoreError>;

    /// Rotates a refresh token in one atomic step: consumes the token of hash `presented`
    /// (unused, unrevoked, `expires_at > now`) — only if its session is live at `now` for
    /// its user as stored now (see [`SessionRecord::is_live`]) — sets the session's
    /// `last_used_at` to `now`, and stores `successor` (same user and family, its
    /// `expires_at` lowered to the session's `expires_at` if later).
    ///
    /// Of N concurrent rotations of one token exactly one is
    /// [`RotateOutcome::Rotated`]; the others see it used. When the session is not live,
    /// nothing is stored ([`RotateOutcome::SessionEnded`]).
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] when the successor's hash exists; backend failures.
    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        successor: &TokenRecord,
        now: OffsetDateTime,
    ) -> Result<RotateOutcome, StoreError>;

    /// Ends one session: sets `revoked_at = now` unless it is set. With `owner`, only a
    /// session of that user. Returns whether this call ended it (`false` for an unknown
    /// id, another user's session, or one already revoked).
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn revoke_session(
        &self,
        id: Uuid,
        owner: Option<UserId>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Ends every session of the user that is not revoked yet, except `keep`; returns the
    /// ids it ended.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn revoke_user_sessions(
        &self,
        user_id: UserId,
        keep: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<Vec<Uuid>, StoreError>;

    /// Every cut after `since`: sessions with `revoked_at > since`, and users whose
    /// `token_version` was raised after `since` (with their current version). One indexed
    /// query (or two) per call: the revocation view of every instance polls it.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn revocations_since(&self, since: OffsetDateTime)
    -> Result<Vec<Revocation>, StoreError>;

    /// Deletes sessions with `expires_at <= now`, and their refresh tokens; returns how
    /// many sessions.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn purge_expired_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}
