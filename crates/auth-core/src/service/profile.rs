//! What the signed-in user may change about themselves: username, settings, password.

use secrecy::SecretString;

use super::login::login_key;
use super::{AuthService, UserWords};
use crate::error::AuthError;
use crate::events::AuthEventKind;
use crate::jwt::Claims;
use crate::token::TokenKind;
use crate::user::{Invalidate, ProfileUpdate, User, UserPatch, merge_settings, normalize_username};

impl AuthService {
    /// Changes what a user may change about themselves: the username, and settings merged
    /// as an RFC 7396 JSON merge patch. Nothing else is writable here (ASVS 5.0 15.3.3).
    ///
    /// # Errors
    ///
    /// [`AuthError::Validation`], and the errors of [`me`](Self::me).
    #[tracing::instrument(skip_all, fields(user.id = %claims.sub))]
    pub async fn update_me(
        &self,
        claims: &Claims,
        update: ProfileUpdate,
    ) -> Result<User, AuthError> {
        let user = self.me(claims).await?;
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
            .update_user(user.id, &patch)
            .await?
            .ok_or(AuthError::InvalidToken)
    }

    /// Changes the password after checking the current one (ASVS 5.0 6.2.3) under the
    /// account's login throttle, then ends every session and cuts every access token
    /// (ASVS 5.0 7.4.3) — in the same store write as the new hash, so no failure between
    /// two writes can leave the new password with the old sessions alive. The account's
    /// reset tokens are revoked first: if that fails, nothing has changed.
    ///
    /// # Errors
    ///
    /// [`AuthError::TooManyRequests`], [`AuthError::InvalidCredentials`] for a wrong
    /// current password, [`AuthError::WeakPassword`], [`AuthError::Overloaded`], and the
    /// errors of [`me`](Self::me).
    #[tracing::instrument(skip_all, fields(user.id = %claims.sub))]
    pub async fn change_password(
        &self,
        claims: &Claims,
        current_password: &SecretString,
        new_password: &SecretString,
    ) -> Result<(), AuthError> {
        let user = self.me(claims).await?;
        let key = login_key(&user.email);
        self.begin_attempt(&key).await?;
        let verification = self
            .inner
            .hasher
            .verify(current_password, Some(&user.password_hash))
            .await?;
        if !verification.matched {
            tracing::info!(account = %key.short(), "password change refused: wrong current password");
            return Err(AuthError::InvalidCredentials);
        }
        self.clear_attempts(&key).await;
        self.check_policy(new_password, UserWords::of(&user))?;
        let password_hash = self.inner.hasher.hash(new_password).await?;
        let now = self.now();
        let store = &self.inner.store;
        store
            .revoke_user_tokens(user.id, Some(TokenKind::PasswordReset), now)
            .await?;
        let patch = UserPatch {
            password_hash: Some(password_hash),
            updated_at: Some(now),
            invalidate: Some(Invalidate::Sessions),
            ..UserPatch::default()
        };
        let user = store
            .update_user(user.id, &patch)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        self.cut_user(&user, now);
        tracing::info!("password changed; every session ended");
        self.notify_password_changed(&user);
        self.emit(self.user_event(AuthEventKind::PasswordChanged, user.id))
            .await
    }
}
