//! Sessions: one per login, the rotation family of its refresh tokens.
//!
//! # The rule that cuts every credential, in flight or not
//!
//! Every user carries two counters that only grow, bumped in the same write as the change
//! that causes them ([`UserPatch::invalidate`](crate::UserPatch::invalidate)):
//!
//! - `session_epoch`: a session is live only while its own `epoch` (the user's
//!   `session_epoch` read when the login checked the password) is at least the user's.
//!   A password change or reset, a deactivation and logout-all raise it.
//! - `token_version`: an access token is current only while its `ver` claim (the user's
//!   `token_version` when it was issued) is at least the user's. Everything that raises
//!   `session_epoch` raises it too; a role change raises only it.
//!
//! Liveness is decided when a credential is *used* — a refresh, `/me`, a database-checked
//! extractor, the revocation view — never only when it is created. So a login or refresh
//! that read the user before a cut and stores its session or token after it cannot yield a
//! usable credential: its epoch and version are older than the user's from the moment the
//! cut is stored. No conditional insert, no lock and no transaction isolation level is
//! needed for this, which is why it holds on every store and across processes.
//!
//! Ending one session (logout, `DELETE /sessions/{id}`, a refresh-token replay, "every
//! session but this one") marks it revoked; its refresh tokens cannot rotate any more
//! ([`SessionStore::rotate_refresh_token`](crate::SessionStore::rotate_refresh_token)
//! checks the session in the same step), and its access tokens carry its id as `sid`.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::user::{User, UserId};

/// Longest user agent kept with a session, in characters; longer ones are truncated.
pub const MAX_USER_AGENT_CHARS: usize = 256;
/// Longest client address kept with a session, in characters (an IPv6 address with a zone
/// fits).
pub const MAX_IP_CHARS: usize = 64;

/// A stored session: one login and the refresh tokens rotated from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session id; also the `family_id` of its refresh tokens and the `sid` claim of
    /// its access tokens.
    pub id: Uuid,
    /// Owner.
    pub user_id: UserId,
    /// The login.
    pub created_at: OffsetDateTime,
    /// The latest login or refresh.
    pub last_used_at: OffsetDateTime,
    /// The absolute end: no refresh token of the session outlives it.
    pub expires_at: OffsetDateTime,
    /// When it was ended explicitly, if it was.
    pub revoked_at: Option<OffsetDateTime>,
    /// The user's `session_epoch` at login; the session is cut once the user's is higher.
    pub epoch: i64,
    /// The login request's `User-Agent`, at most [`MAX_USER_AGENT_CHARS`]; for display only.
    pub user_agent: Option<String>,
    /// The client address at login, at most [`MAX_IP_CHARS`]; for display only.
    pub ip: Option<String>,
}

impl SessionRecord {
    /// Whether the session may still be used at `now` by `user` (its owner, as stored now):
    /// not revoked, not past its absolute end, not cut by the user's epoch.
    pub fn is_live(&self, user: &User, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none()
            && self.expires_at > now
            && self.epoch >= user.session_epoch
            && self.user_id == user.id
    }
}

/// Keeps at most `max` characters of display text, so a store never sees an unbounded
/// value.
pub fn truncate_chars(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The outcome of [`SessionStore::rotate_refresh_token`](crate::SessionStore::rotate_refresh_token).
#[derive(Debug, Clone, PartialEq)]
pub enum RotateOutcome {
    /// The presented token is used up and the successor stored (its `expires_at` capped at
    /// the session's). The session as it is after the rotation (`last_used_at` = now) and
    /// its owner as stored now.
    Rotated {
        /// The session.
        session: SessionRecord,
        /// Its owner.
        user: User,
    },
    /// The presented token was not consumed: unknown, already used (a replay), revoked or
    /// expired — never [`ConsumeOutcome::Consumed`](crate::ConsumeOutcome::Consumed).
    Refused(crate::token::ConsumeOutcome),
    /// The presented token was live but its session is not (revoked, past its end, cut by
    /// the user's epoch, or gone with its user). No successor was stored; the presented
    /// token may or may not have been marked used.
    SessionEnded(crate::token::TokenRecord),
}

/// One cut, as the revocation view learns it from
/// [`SessionStore::revocations_since`](crate::SessionStore::revocations_since).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// A session was ended: its access tokens (`sid`) are cut.
    Session {
        /// The session.
        id: Uuid,
        /// Its owner.
        user_id: UserId,
        /// When it was ended.
        at: OffsetDateTime,
    },
    /// A user's access tokens with a `ver` below `token_version` are stale.
    User {
        /// The user.
        user_id: UserId,
        /// The user's token version now.
        token_version: i64,
        /// When it was raised last.
        at: OffsetDateTime,
    },
}

impl Revocation {
    /// When the cut happened.
    pub fn at(&self) -> OffsetDateTime {
        match self {
            Self::Session { at, .. } | Self::User { at, .. } => *at,
        }
    }
}
