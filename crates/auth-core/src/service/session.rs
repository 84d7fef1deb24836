//! Registration, login, refresh-token rotation and logout.

use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{AuthService, EmailKind, TokenPair};
use crate::email::EmailLink;
use crate::error::{AuthError, StoreError};
use crate::policy::MAX_PASSWORD_BYTES;
use crate::token::{
    ConsumeOutcome, MAX_OPAQUE_TOKEN_LEN, OpaqueToken, TokenHash, TokenKind, TokenRecord,
};
use crate::user::{
    NewUser, User, UserId, UserPatch, UserSettings, normalize_email, normalize_username,
};

impl AuthService {
    /// Registers a user: validates the email, username and password policy, hashes the
    /// password, stores the user (unverified, active, no roles) and, when an email sender is
    /// configured, sends the verification link. Roles and flags never come from the input.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidEmail`], [`AuthError::Validation`] (username),
    /// [`AuthError::WeakPassword`] with every failed rule, [`AuthError::UserAlreadyExists`]
    /// (decided by the store's unique constraint), [`AuthError::Overloaded`],
    /// [`AuthError::Unavailable`].
    #[tracing::instrument(skip_all, fields(user.id))]
    pub async fn register(&self, new_user: NewUser) -> Result<User, AuthError> {
        let user = self.create_account(&new_user, Vec::new(), false).await?;
        tracing::Span::current().record("user.id", tracing::field::display(user.id));
        tracing::info!("user registered");
        self.send_verification(&user, user.created_at)?;
        Ok(user)
    }

    /// Validates and stores a new account with the given roles and verification flag.
    pub(super) async fn create_account(
        &self,
        new_user: &NewUser,
        roles: Vec<String>,
        is_verified: bool,
    ) -> Result<User, AuthError> {
        let email = normalize_email(&new_user.email)?;
        let username = normalize_username(&new_user.username)?;
        self.check_policy(&new_user.password)?;
        let password_hash = self.inner.hasher.hash(&new_user.password).await?;
        let now = self.now();
        let user = User {
            id: UserId::new(),
            email,
            username,
            password_hash,
            roles,
            user_settings: UserSettings::new(),
            is_verified,
            is_active: true,
            created_at: now,
            updated_at: now,
        };
        match self.inner.store.create_user(&user).await {
            Ok(()) => Ok(user),
            Err(StoreError::Conflict) => Err(AuthError::UserAlreadyExists),
            Err(error) => Err(error.into()),
        }
    }

    /// Logs in with email and password and starts a new refresh-token family.
    ///
    /// An unknown email and a wrong password give the same error after the same work (the
    /// password is verified against a dummy hash). Disabled and unverified accounts are
    /// refused only after the password was right (docs/security.md, decision 1). A hash made with
    /// older parameters is replaced on success.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidCredentials`], [`AuthError::AccountDisabled`],
    /// [`AuthError::EmailNotVerified`], [`AuthError::Overloaded`], [`AuthError::Unavailable`].
    #[tracing::instrument(skip_all, fields(user.id))]
    pub async fn login(
        &self,
        email: &str,
        password: &SecretString,
    ) -> Result<TokenPair, AuthError> {
        // No stored password can be longer than the policy allows; refusing before hashing
        // bounds the work of one request and reveals nothing about any account.
        if password.expose_secret().len() > MAX_PASSWORD_BYTES {
            return Err(AuthError::InvalidCredentials);
        }
        let user = match normalize_email(email) {
            Ok(email) => self.inner.store.find_user_by_email(&email).await?,
            Err(_) => None,
        };
        let verification = self
            .inner
            .hasher
            .verify(password, user.as_ref().map(|u| &u.password_hash))
            .await?;
        let user = match user {
            Some(user) if verification.matched => user,
            _ => {
                tracing::info!("login failed: invalid credentials");
                return Err(AuthError::InvalidCredentials);
            }
        };
        tracing::Span::current().record("user.id", tracing::field::display(user.id));
        if !user.is_active {
            return Err(AuthError::AccountDisabled);
        }
        if self.inner.config.require_verified_email() && !user.is_verified {
            return Err(AuthError::EmailNotVerified);
        }
        if verification.needs_rehash {
            self.upgrade_hash(&user, password).await;
        }
        let now = self.now();
        let pair = self
            .issue_pair(
                &user,
                Uuid::now_v7(),
                now + self.inner.config.refresh_absolute_ttl(),
                now,
            )
            .await?;
        tracing::info!("login succeeded");
        Ok(pair)
    }

    /// Exchanges a refresh token for a new pair. The presented token is used up atomically;
    /// presenting it again revokes its whole rotation family (RFC 9700 §4.14.2, ASVS 5.0
    /// 10.4.5). The new refresh token never outlives the family's absolute lifetime.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] (unknown), [`AuthError::RevokedToken`] (revoked, or
    /// replayed after rotation), [`AuthError::ExpiredToken`], [`AuthError::AccountDisabled`],
    /// [`AuthError::Unavailable`].
    #[tracing::instrument(skip_all, fields(user.id))]
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, AuthError> {
        let hash = opaque_hash(refresh_token)?;
        let now = self.now();
        let store = &self.inner.store;
        let record = match store.consume_token(&hash, TokenKind::Refresh, now).await? {
            ConsumeOutcome::Consumed(record) => record,
            ConsumeOutcome::AlreadyUsed(record) => {
                tracing::warn!(
                    user.id = %record.user_id,
                    "refresh token replayed after rotation; revoking its family"
                );
                if let Some(family) = record.family_id {
                    store.revoke_token_family(family, now).await?;
                }
                return Err(AuthError::RevokedToken);
            }
            ConsumeOutcome::Revoked(_) => return Err(AuthError::RevokedToken),
            ConsumeOutcome::Expired(_) => return Err(AuthError::ExpiredToken),
            ConsumeOutcome::Unknown => return Err(AuthError::InvalidToken),
        };
        tracing::Span::current().record("user.id", tracing::field::display(record.user_id));
        let family = record.family_id.unwrap_or_else(Uuid::now_v7);
        let Some(user) = store.find_user_by_id(record.user_id).await? else {
            return Err(AuthError::InvalidToken);
        };
        if !user.is_active {
            store.revoke_token_family(family, now).await?;
            return Err(AuthError::AccountDisabled);
        }
        let family_expires_at = record
            .family_expires_at
            .unwrap_or(now + self.inner.config.refresh_absolute_ttl());
        let pair = self
            .issue_pair(&user, family, family_expires_at, now)
            .await?;
        // A concurrent replay of the same token may have revoked the family between our
        // consume and our insert, missing the new token. The revocation also marked the
        // consumed token, so look at it again and revoke the family once more: whichever
        // way the race goes, no live refresh token survives in a revoked family. The answer
        // stays a success, so that of N concurrent uses exactly one succeeds.
        let raced = store
            .find_token(&hash, TokenKind::Refresh)
            .await?
            .is_some_and(|t| t.revoked_at.is_some());
        if raced {
            tracing::warn!("refresh family revoked during rotation; new refresh token revoked too");
            store.revoke_token_family(family, now).await?;
        }
        Ok(pair)
    }

    /// Ends the session of a refresh token by revoking its rotation family. Idempotent:
    /// unknown, used or malformed tokens are fine.
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
                family_id: Some(family),
                ..
            }) => {
                store.revoke_token_family(family, now).await?;
            }
            Some(_) => {
                store.revoke_token(&hash, TokenKind::Refresh, now).await?;
            }
            None => {}
        }
        Ok(())
    }

    /// Revokes every refresh token of the user: logs out all sessions. Access tokens
    /// already issued live until they expire (docs/security.md, decision 7).
    ///
    /// # Errors
    ///
    /// [`AuthError::Unavailable`] when the store fails.
    #[tracing::instrument(skip_all, fields(user.id = %user_id))]
    pub async fn logout_all(&self, user_id: UserId) -> Result<(), AuthError> {
        self.inner
            .store
            .revoke_user_tokens(user_id, Some(TokenKind::Refresh), self.now())
            .await?;
        Ok(())
    }

    pub(super) async fn issue_pair(
        &self,
        user: &User,
        family: Uuid,
        family_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<TokenPair, AuthError> {
        let config = &self.inner.config;
        let access_token = self
            .inner
            .jwt
            .issue_access(user, now, config.access_ttl())?;
        let (refresh_token, token_hash) = OpaqueToken::generate()
            .map_err(|e| AuthError::Unavailable(Box::new(e)))?
            .into_parts();
        let expires_at = (now + config.refresh_ttl()).min(family_expires_at);
        let record = TokenRecord {
            id: Uuid::now_v7(),
            user_id: user.id,
            kind: TokenKind::Refresh,
            token_hash,
            family_id: Some(family),
            family_expires_at: Some(family_expires_at),
            expires_at,
            created_at: now,
            used_at: None,
            revoked_at: None,
        };
        self.inner.store.insert_token(&record).await?;
        Ok(TokenPair {
            access_token,
            token_type: "bearer",
            expires_in: config.access_ttl().whole_seconds(),
            refresh_token,
            refresh_expires_in: (expires_at - now).whole_seconds(),
        })
    }

    /// Issues a verification JWT and sends it, when the user still needs one.
    pub(super) fn send_verification(
        &self,
        user: &User,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        if user.is_verified || !user.is_active {
            return Ok(());
        }
        let ttl = self.inner.config.verify_ttl();
        let token = self.inner.jwt.issue_verification(user, now, ttl)?;
        self.send_email(
            EmailKind::Verification,
            EmailLink {
                to: user.email.clone(),
                link: self.link("verify-email", &token),
                token,
                expires_in: ttl,
            },
        );
        Ok(())
    }

    /// Replaces a hash made with older parameters. A failure only costs the upgrade.
    async fn upgrade_hash(&self, user: &User, password: &SecretString) {
        let hash = match self.inner.hasher.hash(password).await {
            Ok(hash) => hash,
            Err(error) => {
                tracing::warn!(
                    error = &error as &dyn std::error::Error,
                    "password rehash skipped"
                );
                return;
            }
        };
        let patch = UserPatch {
            password_hash: Some(hash),
            updated_at: Some(self.now()),
            ..UserPatch::default()
        };
        match self.inner.store.update_user(user.id, &patch).await {
            Ok(_) => tracing::info!("password hash upgraded to current parameters"),
            Err(error) => tracing::warn!(
                error = &error as &dyn std::error::Error,
                "password rehash not stored"
            ),
        }
    }
}

/// Hashes an opaque token as presented, refusing empty or oversized input unhashed.
pub(super) fn opaque_hash(token: &str) -> Result<TokenHash, AuthError> {
    if token.is_empty() || token.len() > MAX_OPAQUE_TOKEN_LEN {
        return Err(AuthError::InvalidToken);
    }
    Ok(TokenHash::of(token))
}
