//! The signed-in caller: access tokens checked without the store (the revocation view)
//! and with it (`me`).

use super::AuthService;
use crate::error::AuthError;
use crate::jwt::Claims;
use crate::user::User;

impl AuthService {
    /// Verifies an access token and returns its claims, without touching the store: the
    /// signature, type, audience and lifetime, and the revocation view, which refuses a
    /// token cut on this instance at once and one cut elsewhere within the revocation
    /// poll. This is what a stateless extractor runs on every request.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] (malformed, forged, wrong type or audience),
    /// [`AuthError::ExpiredToken`], [`AuthError::RevokedToken`] (cut), or
    /// [`AuthError::Unavailable`] when the revocation view has been stale for longer than
    /// its bound.
    pub fn authenticate(&self, access_token: &str) -> Result<Claims, AuthError> {
        self.ensure_poller();
        let claims = self.inner.jwt.verify_access(access_token, self.now())?;
        self.inner.view.check(&claims)?;
        Ok(claims)
    }

    /// Verifies an access token's signature, type, audience and lifetime only — not the
    /// revocation view. For routes that go on to check the caller against the store with
    /// [`me`](Self::me), which decides on revocation itself (and says 403
    /// `account_disabled` for a deactivated account, or applies the current roles, where
    /// the stateless check would only say the token is stale).
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`], [`AuthError::ExpiredToken`].
    pub fn verify_access_token(&self, access_token: &str) -> Result<Claims, AuthError> {
        self.inner.jwt.verify_access(access_token, self.now())
    }

    /// The user behind verified claims, loaded from the store with the token's session —
    /// what `/me` and every database-checked extractor run. Refuses at once, on every
    /// instance, a token whose session ended or whose user's tokens were cut since it was
    /// issued.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] when the user no longer exists,
    /// [`AuthError::AccountDisabled`], [`AuthError::RevokedToken`],
    /// [`AuthError::Unavailable`].
    pub async fn me(&self, claims: &Claims) -> Result<User, AuthError> {
        let store = &self.inner.store;
        let (user, session) = match claims.sid {
            Some(sid) => store.find_user_and_session(claims.sub, sid).await?,
            None => (store.find_user_by_id(claims.sub).await?, None),
        };
        let user = user.ok_or(AuthError::InvalidToken)?;
        // A deactivated account says so, whatever else was cut with it.
        if !user.is_active {
            return Err(AuthError::AccountDisabled);
        }
        // Issued before the user's last cut (a password change or reset, a deactivation,
        // logout-all): refused. Issued before a mere role change: accepted, the current
        // roles are the ones the caller acts with here.
        if claims.ver < user.session_epoch {
            return Err(AuthError::RevokedToken);
        }
        if claims.sid.is_some() && !session.is_some_and(|s| s.is_live(&user, self.now())) {
            return Err(AuthError::RevokedToken);
        }
        Ok(user)
    }
}
