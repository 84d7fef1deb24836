//! Registration.

use time::OffsetDateTime;

use super::{AuthService, EmailKind, UserWords};
use crate::email::EmailLink;
use crate::error::{AuthError, StoreError};
use crate::events::AuthEventKind;
use crate::user::{NewUser, User, UserId, UserSettings, normalize_email, normalize_username};

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
        self.emit(self.user_event(AuthEventKind::Registered, user.id))
            .await?;
        // The email sent now starts the verification cooldown, so a request right after
        // registering does not send a second one.
        if self.email_cooldown_open("verify", user.id).await {
            self.send_verification(&user, user.created_at)?;
        }
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
        self.check_policy(
            &new_user.password,
            UserWords {
                username: Some(&username),
                email: Some(&email),
            },
        )?;
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
            mfa_enabled: false,
            created_at: now,
            updated_at: now,
            token_version: 0,
            session_epoch: 0,
        };
        match self.inner.store.create_user(&user).await {
            Ok(()) => Ok(user),
            Err(StoreError::Conflict) => Err(AuthError::UserAlreadyExists),
            Err(error) => Err(error.into()),
        }
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
}
