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
        if claims.ver < user.token_version {
            return Err(AuthError::RevokedToken);
        }
        if claims.sid.is_some() && !session.is_some_and(|s| s.is_live(&user, self.now())) {
            return Err(AuthError::RevokedToken);
        }
        Ok(user)
    }
}
