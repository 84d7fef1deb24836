//! Password reset and email verification.

use secrecy::SecretString;
use uuid::Uuid;

use super::session::opaque_hash;
use super::{AuthService, EmailKind};
use crate::email::EmailLink;
use crate::error::AuthError;
use crate::token::{ConsumeOutcome, OpaqueToken, TokenKind, TokenRecord};
use crate::user::{User, UserPatch, normalize_email};

impl AuthService {
    /// Starts a password reset: when an active account has this email, revokes its older
    /// reset tokens, stores a new one (only its hash) and emails the link. The answer is the
    /// same whether or not the account exists (OWASP Forgot Password Cheat Sheet).
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidEmail`] for a malformed address; [`AuthError::Unavailable`] when
    /// the store fails.
    #[tracing::instrument(skip_all, fields(user.id))]
    pub async fn request_password_reset(&self, email: &str) -> Result<(), AuthError> {
        let email = normalize_email(email)?;
        let store = &self.inner.store;
        let Some(user) = store.find_user_by_email(&email).await? else {
            return Ok(());
        };
        if !user.is_active {
            return Ok(());
        }
        tracing::Span::current().record("user.id", tracing::field::display(user.id));
        let now = self.now();
        // One live reset link per account: a new request invalidates the older ones.
        store
            .revoke_user_tokens(user.id, Some(TokenKind::PasswordReset), now)
            .await?;
        let ttl = self.inner.config.reset_ttl();
        let (token, token_hash) = OpaqueToken::generate()
            .map_err(|e| AuthError::Unavailable(Box::new(e)))?
            .into_parts();
        store
            .insert_token(&TokenRecord {
                id: Uuid::now_v7(),
                user_id: user.id,
                kind: TokenKind::PasswordReset,
                token_hash,
                family_id: None,
                family_expires_at: None,
                expires_at: now + ttl,
                created_at: now,
                used_at: None,
                revoked_at: None,
            })
            .await?;
        self.send_email(
            EmailKind::PasswordReset,
            EmailLink {
                to: user.email,
                link: self.link("reset-password", &token),
                token,
                expires_in: ttl,
            },
        );
        Ok(())
    }

    /// Completes a password reset with a reset token. The token is used up atomically; on
    /// success every refresh token and every other reset token of the user is revoked, and
    /// the email counts as verified (the link reached the mailbox). No login follows
    /// (docs/security.md, decision 8).
    ///
    /// # Errors
    ///
    /// [`AuthError::WeakPassword`] (checked first, so a weak password does not burn the
    /// token), [`AuthError::InvalidToken`] (unknown, used or revoked),
    /// [`AuthError::ExpiredToken`], [`AuthError::Overloaded`], [`AuthError::Unavailable`].
    #[tracing::instrument(skip_all, fields(user.id))]
    pub async fn complete_password_reset(
        &self,
        token: &str,
        new_password: &SecretString,
    ) -> Result<(), AuthError> {
        let hash = opaque_hash(token)?;
        self.check_policy(new_password)?;
        let password_hash = self.inner.hasher.hash(new_password).await?;
        let now = self.now();
        let store = &self.inner.store;
        let record = match store
            .consume_token(&hash, TokenKind::PasswordReset, now)
            .await?
        {
            ConsumeOutcome::Consumed(record) => record,
            ConsumeOutcome::Expired(_) => return Err(AuthError::ExpiredToken),
            ConsumeOutcome::Unknown
            | ConsumeOutcome::AlreadyUsed(_)
            | ConsumeOutcome::Revoked(_) => return Err(AuthError::InvalidToken),
        };
        tracing::Span::current().record("user.id", tracing::field::display(record.user_id));
        let patch = UserPatch {
            password_hash: Some(password_hash),
            is_verified: Some(true),
            updated_at: Some(now),
            ..UserPatch::default()
        };
        if store.update_user(record.user_id, &patch).await?.is_none() {
            return Err(AuthError::InvalidToken);
        }
        store.revoke_user_tokens(record.user_id, None, now).await?;
        tracing::info!("password reset completed; all sessions revoked");
        Ok(())
    }

    /// Sends a new verification link when an active, unverified account has this email.
    /// The answer is the same in every case.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidEmail`]; [`AuthError::Unavailable`] when the store fails.
    #[tracing::instrument(skip_all)]
    pub async fn request_email_verification(&self, email: &str) -> Result<(), AuthError> {
        let email = normalize_email(email)?;
        if let Some(user) = self.inner.store.find_user_by_email(&email).await? {
            self.send_verification(&user, self.now())?;
        }
        Ok(())
    }

    /// Marks the email verified with a verification token. The token is bound to the
    /// address it was sent to: after an email change it no longer works. Verifying twice
    /// is fine.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] (forged, wrong type, unknown user, other email),
    /// [`AuthError::ExpiredToken`], [`AuthError::Unavailable`].
    #[tracing::instrument(skip_all, fields(user.id))]
    pub async fn complete_email_verification(&self, token: &str) -> Result<User, AuthError> {
        let now = self.now();
        let claims = self.inner.jwt.verify_verification(token, now)?;
        let store = &self.inner.store;
        let Some(user) = store.find_user_by_id(claims.sub).await? else {
            return Err(AuthError::InvalidToken);
        };
        if user.email != claims.email {
            return Err(AuthError::InvalidToken);
        }
        if user.is_verified {
            return Ok(user);
        }
        let patch = UserPatch {
            is_verified: Some(true),
            updated_at: Some(now),
            ..UserPatch::default()
        };
        store
            .update_user(user.id, &patch)
            .await?
            .ok_or(AuthError::InvalidToken)
    }
}
