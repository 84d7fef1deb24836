//! Login: the password check under the account's throttle, and the start of a session.

use secrecy::{ExposeSecret, SecretString};

use super::AuthService;
use crate::client::ClientInfo;
use crate::counter::CounterKey;
use crate::error::AuthError;
use crate::events::{AuthEventKind, LoginFailure};
use crate::policy::MAX_PASSWORD_BYTES;
use crate::service::TokenPair;
use crate::user::{User, UserPatch, normalize_email};

/// The throttle key of the account an email names — whether or not an account has it, so
/// the throttle reveals nothing. An address that is not even valid counts by its raw text.
pub(super) fn login_key(email: &str) -> CounterKey {
    match normalize_email(email) {
        Ok(email) => CounterKey::new("login", &email),
        Err(_) => CounterKey::new("login", &email.trim().to_lowercase()),
    }
}

impl AuthService {
    /// Logs in with email and password and starts a new session.
    ///
    /// The account's throttle is consulted first, before any hash is computed: after
    /// [`Throttle::free_failures`](crate::Throttle::free_failures) consecutive failures
    /// every attempt waits out a doubling delay (429 with `Retry-After`, whether or not the
    /// account exists). An unknown email and a wrong password give the same error after
    /// the same work (the password is verified against a dummy hash). Disabled and
    /// unverified accounts are refused only after the password was right
    /// (docs/security.md, decision 1). A hash made with older parameters is replaced on
    /// success.
    ///
    /// # Errors
    ///
    /// [`AuthError::TooManyRequests`], [`AuthError::InvalidCredentials`],
    /// [`AuthError::AccountDisabled`], [`AuthError::EmailNotVerified`],
    /// [`AuthError::Overloaded`], [`AuthError::Unavailable`].
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
        let key = login_key(email);
        self.begin_attempt(&key).await?;
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
            user => {
                // Who tried, without the email itself: its throttle key and the address.
                tracing::info!(
                    account = %key.short(),
                    client.ip = ClientInfo::current().ip_text().as_deref(),
                    "login failed: invalid credentials"
                );
                // The same event work for both: neither the answer nor its timing tells
                // an unknown email from a wrong password.
                let event = match &user {
                    Some(user) => self
                        .user_event(AuthEventKind::LoginFailed, user.id)
                        .with_reason(LoginFailure::WrongPassword),
                    None => self
                        .event(AuthEventKind::LoginFailed)
                        .with_account(key.short())
                        .with_reason(LoginFailure::UnknownAccount),
                };
                self.emit(event).await?;
                return Err(AuthError::InvalidCredentials);
            }
        };
        tracing::Span::current().record("user.id", tracing::field::display(user.id));
        if !user.is_active {
            self.login_failed(&user, LoginFailure::AccountDisabled)
                .await?;
            return Err(AuthError::AccountDisabled);
        }
        if self.inner.config.require_verified_email() && !user.is_verified {
            self.login_failed(&user, LoginFailure::EmailNotVerified)
                .await?;
            return Err(AuthError::EmailNotVerified);
        }
        if verification.needs_rehash {
            self.upgrade_hash(&user, password).await;
        }
        if user.mfa_enabled {
            // The throttle stays counted: only a completed second step clears it.
            tracing::info!("password right; waiting for the second factor");
            return Err(self.mfa_challenge(&user));
        }
        self.clear_attempts(&key).await;
        let (pair, session) = self.start_session_with_id(&user, self.now()).await?;
        tracing::info!("login succeeded");
        self.logged_in(&user, session).await?;
        Ok(pair)
    }

    /// Fires the failed-login event of a known account.
    pub(super) async fn login_failed(
        &self,
        user: &User,
        reason: LoginFailure,
    ) -> Result<(), AuthError> {
        self.emit(
            self.user_event(AuthEventKind::LoginFailed, user.id)
                .with_reason(reason),
        )
        .await
    }

    /// Fires the login event of a session just started, and sends the new sign-in notice
    /// when configured.
    pub(super) async fn logged_in(
        &self,
        user: &User,
        session: uuid::Uuid,
    ) -> Result<(), AuthError> {
        if self.inner.config.new_sign_in_email() {
            self.notify_new_sign_in(user);
        }
        self.emit(
            self.user_event(AuthEventKind::LoginSucceeded, user.id)
                .with_session(session),
        )
        .await
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
