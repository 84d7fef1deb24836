//! Password reset and email verification.
//!
//! A reset or verification request answers at once, the same way for every valid email:
//! the lookup, the cooldown, the token write and the email happen after the answer, in a
//! background task, so neither the answer nor its timing tells whether an account exists
//! (OWASP Forgot Password Cheat Sheet; ASVS 5.0 6.3.8).

use secrecy::SecretString;
use uuid::Uuid;

use super::login::login_key;
use super::sessions::opaque_hash;
use super::{AuthService, EmailKind, UserWords};
use crate::client::ClientInfo;
use crate::email::EmailLink;
use crate::error::AuthError;
use crate::events::AuthEventKind;
use crate::token::{ConsumeOutcome, OpaqueToken, TokenKind, TokenRecord};
use crate::user::{Invalidate, User, UserPatch, normalize_email};

impl AuthService {
    /// Starts a password reset: when an active account has this email and its reset
    /// cooldown allows, revokes its older reset tokens, stores a new one (only its hash)
    /// and emails the link. Answers before any of it: the same way, after the same work,
    /// whether or not the account exists.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidEmail`] for a malformed address.
    #[tracing::instrument(skip_all)]
    pub async fn request_password_reset(&self, email: &str) -> Result<(), AuthError> {
        let email = normalize_email(email)?;
        let service = self.clone();
        let client = ClientInfo::current();
        tokio::spawn(client.scope(async move {
            if let Err(error) = service.send_password_reset(&email).await {
                tracing::error!(
                    error = &error as &dyn std::error::Error,
                    "password reset request failed; the user can ask again"
                );
            }
        }));
        Ok(())
    }

    async fn send_password_reset(&self, email: &str) -> Result<(), AuthError> {
        let store = &self.inner.store;
        let Some(user) = store.find_user_by_email(email).await? else {
            return Ok(());
        };
        if !user.is_active || !self.email_cooldown_open("reset", user.id).await {
            return Ok(());
        }
        let now = self.now();
        // One live reset link per account: a new one invalidates the older ones.
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
        tracing::info!(user.id = %user.id, "password reset link issued");
        self.emit_detached(self.user_event(AuthEventKind::ResetRequested, user.id))
            .await;
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

    /// Completes a password reset. The token is looked up first (an unknown one costs no
    /// hash), the new password checked against the policy (a refused one leaves the link
    /// usable for another try), and only then is the token used up atomically. On success
    /// the new hash, the verified email (the link reached the mailbox) and the end of every
    /// session and access token are one store write; the account's other reset tokens are
    /// revoked and its login throttle cleared. No login follows (docs/security.md,
    /// decision 8).
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] (unknown, used or revoked), [`AuthError::ExpiredToken`],
    /// [`AuthError::WeakPassword`], [`AuthError::Overloaded`], [`AuthError::Unavailable`].
    #[tracing::instrument(skip_all, fields(user.id))]
    pub async fn complete_password_reset(
        &self,
        token: &str,
        new_password: &SecretString,
    ) -> Result<(), AuthError> {
        let hash = opaque_hash(token)?;
        let now = self.now();
        let store = &self.inner.store;
        let record = match store.find_token(&hash, TokenKind::PasswordReset).await? {
            Some(record) if record.used_at.is_some() || record.revoked_at.is_some() => {
                return Err(AuthError::InvalidToken);
            }
            Some(record) if record.expires_at <= now => return Err(AuthError::ExpiredToken),
            Some(record) => record,
            None => return Err(AuthError::InvalidToken),
        };
        tracing::Span::current().record("user.id", tracing::field::display(record.user_id));
        let user = store
            .find_user_by_id(record.user_id)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        self.check_policy(new_password, UserWords::of(&user))?;
        let password_hash = self.inner.hasher.hash(new_password).await?;
        let now = self.now();
        match store
            .consume_token(&hash, TokenKind::PasswordReset, now)
            .await?
        {
            ConsumeOutcome::Consumed(_) => {}
            ConsumeOutcome::Expired(_) => return Err(AuthError::ExpiredToken),
            _ => return Err(AuthError::InvalidToken),
        }
        store
            .revoke_user_tokens(user.id, Some(TokenKind::PasswordReset), now)
            .await?;
        let patch = UserPatch {
            password_hash: Some(password_hash),
            is_verified: Some(true),
            updated_at: Some(now),
            invalidate: Some(Invalidate::Sessions),
            ..UserPatch::default()
        };
        let user = store
            .update_user(user.id, &patch)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        self.cut_user(&user, now);
        // The owner of the mailbox is back in: the throttle that may have slowed them
        // down is lifted (an attacker can slow an account down, never lock it out).
        self.clear_attempts(&login_key(&user.email)).await;
        tracing::info!("password reset completed; every session ended");
        self.notify_password_changed(&user);
        self.emit(self.user_event(AuthEventKind::ResetCompleted, user.id))
            .await
    }

    /// Sends a new verification link when an active, unverified account has this email and
    /// its verification cooldown allows. Answers before any of it, the same way in every
    /// case.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidEmail`].
    #[tracing::instrument(skip_all)]
    pub async fn request_email_verification(&self, email: &str) -> Result<(), AuthError> {
        let email = normalize_email(email)?;
        let service = self.clone();
        let client = ClientInfo::current();
        tokio::spawn(client.scope(async move {
            let result = async {
                let Some(user) = service.inner.store.find_user_by_email(&email).await? else {
                    return Ok(());
                };
                if user.is_verified || !user.is_active {
                    return Ok(());
                }
                if service.email_cooldown_open("verify", user.id).await {
                    service.send_verification(&user, service.now())?;
                }
                Ok::<(), AuthError>(())
            }
            .await;
            if let Err(error) = result {
                tracing::error!(
                    error = &error as &dyn std::error::Error,
                    "verification request failed; the user can ask again"
                );
            }
        }));
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
        let user = store
            .update_user(user.id, &patch)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        self.emit(self.user_event(AuthEventKind::Verified, user.id))
            .await?;
        Ok(user)
    }
}
