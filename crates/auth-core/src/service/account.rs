//! The signed-in user: authentication of access tokens, profile, password change.

use secrecy::SecretString;

use super::AuthService;
use crate::error::AuthError;
use crate::jwt::Claims;
use crate::user::{ProfileUpdate, User, UserId, UserPatch, merge_settings, normalize_username};

impl AuthService {
    /// Verifies an access token and returns its claims, without touching the store. This is
    /// what a stateless extractor runs on every request.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] (malformed, forged, wrong type or audience) or
    /// [`AuthError::ExpiredToken`].
    pub fn authenticate(&self, access_token: &str) -> Result<Claims, AuthError> {
        self.inner.jwt.verify_access(access_token, self.now())
    }

    /// Issues an access token for a user without a password check — for tests, benchmarks
    /// and trusted server-side flows (impersonation by an operator, say). Handle with care:
    /// whoever holds the token is that user until it expires.
    ///
    /// # Errors
    ///
    /// [`AuthError::Unavailable`] if signing fails.
    pub fn issue_access_token(&self, user: &User) -> Result<String, AuthError> {
        self.inner
            .jwt
            .issue_access(user, self.now(), self.inner.config.access_ttl())
    }

    /// The user behind an access token, loaded from the store; disabled accounts are
    /// refused at once (docs/security.md, decision 7).
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] when the user no longer exists,
    /// [`AuthError::AccountDisabled`], [`AuthError::Unavailable`].
    pub async fn me(&self, user_id: UserId) -> Result<User, AuthError> {
        let user = self
            .inner
            .store
            .find_user_by_id(user_id)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        if !user.is_active {
            return Err(AuthError::AccountDisabled);
        }
        Ok(user)
    }

    /// Changes what a user may change about themselves: the username, and settings merged
    /// as an RFC 7396 JSON merge patch. Nothing else is writable here (ASVS 5.0 15.3.3).
    ///
    /// # Errors
    ///
    /// [`AuthError::Validation`], and the errors of [`me`](Self::me).
    #[tracing::instrument(skip_all, fields(user.id = %user_id))]
    pub async fn update_me(
        &self,
        user_id: UserId,
        update: ProfileUpdate,
    ) -> Result<User, AuthError> {
        let user = self.me(user_id).await?;
        let username = update
            .username
            .as_deref()
            .map(normalize_username)
            .transpose()?;
        let user_settings = update
            .user_settings
            .as_ref()
            .map(|patch| merge_settings(&user.user_settings, patch))
            .transpose()?;
        if username.is_none() && user_settings.is_none() {
            return Ok(user);
        }
        let patch = UserPatch {
            username,
            user_settings,
            updated_at: Some(self.now()),
            ..UserPatch::default()
        };
        self.inner
            .store
            .update_user(user_id, &patch)
            .await?
            .ok_or(AuthError::InvalidToken)
    }

    /// Changes the password after checking the current one (ASVS 5.0 6.2.3), then revokes
    /// every refresh token and reset token of the user (ASVS 5.0 7.4.3).
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidCredentials`] for a wrong current password,
    /// [`AuthError::WeakPassword`], [`AuthError::Overloaded`], and the errors of
    /// [`me`](Self::me).
    #[tracing::instrument(skip_all, fields(user.id = %user_id))]
    pub async fn change_password(
        &self,
        user_id: UserId,
        current_password: &SecretString,
        new_password: &SecretString,
    ) -> Result<(), AuthError> {
        let user = self.me(user_id).await?;
        let verification = self
            .inner
            .hasher
            .verify(current_password, Some(&user.password_hash))
            .await?;
        if !verification.matched {
            return Err(AuthError::InvalidCredentials);
        }
        self.check_policy(new_password)?;
        let password_hash = self.inner.hasher.hash(new_password).await?;
        let now = self.now();
        let patch = UserPatch {
            password_hash: Some(password_hash),
            updated_at: Some(now),
            ..UserPatch::default()
        };
        let store = &self.inner.store;
        store
            .update_user(user_id, &patch)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        store.revoke_user_tokens(user_id, None, now).await?;
        tracing::info!("password changed; all sessions revoked");
        Ok(())
    }
}
