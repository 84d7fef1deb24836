//! [`AuthService`]: every use case of the API contract, independent of any web framework.

mod account;
mod admin;
mod recovery;
mod session;

pub use admin::{AdminAccess, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_ROLE_LEN, MAX_ROLES};

use std::fmt;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use time::OffsetDateTime;

use crate::clock::{Clock, SystemClock, truncate_to_millis};
use crate::config::AuthConfig;
use crate::email::{EmailLink, EmailSender};
use crate::error::{AuthError, ConfigError};
use crate::jwt::JwtKeys;
use crate::password::PasswordHasher;
use crate::store::AuthStore;

/// The authentication service. Cheap to clone: clones share one state.
///
/// Build it with [`AuthService::builder`]:
///
/// ```
/// # #[cfg(feature = "memory")]
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use auth_core::{AuthConfig, AuthService, LogEmailSender, MemoryStore};
///
/// let service = AuthService::builder()
///     .config(AuthConfig::new("a secret of at least thirty-two bytes")
///         .with_require_verified_email(false))
///     .store(MemoryStore::new())
///     .email_sender(LogEmailSender)
///     .build()?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AuthService {
    inner: Arc<Inner>,
}

struct Inner {
    config: AuthConfig,
    store: Arc<dyn AuthStore>,
    email: Option<Arc<dyn EmailSender>>,
    clock: Arc<dyn Clock>,
    jwt: JwtKeys,
    hasher: PasswordHasher,
}

impl fmt::Debug for AuthService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService")
            .field("config", &self.inner.config)
            .field("store", &self.inner.store)
            .field("email", &self.inner.email)
            .field("clock", &self.inner.clock)
            .field("hasher", &self.inner.hasher)
            .finish()
    }
}

/// Builds an [`AuthService`].
#[derive(Default)]
pub struct AuthServiceBuilder {
    config: Option<AuthConfig>,
    store: Option<Arc<dyn AuthStore>>,
    email: Option<Arc<dyn EmailSender>>,
    clock: Option<Arc<dyn Clock>>,
}

impl fmt::Debug for AuthServiceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthServiceBuilder")
            .field("config", &self.config)
            .field("store", &self.store)
            .field("email", &self.email)
            .field("clock", &self.clock)
            .finish()
    }
}

impl AuthServiceBuilder {
    /// The configuration. Default: [`AuthConfig::default`] (random JWT secret).
    #[must_use]
    pub fn config(mut self, config: AuthConfig) -> Self {
        self.config = Some(config);
        self
    }

    /// The store (required).
    #[must_use]
    pub fn store(mut self, store: impl AuthStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// A store already behind an `Arc`.
    #[must_use]
    pub fn shared_store(mut self, store: Arc<dyn AuthStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The email sender. Without one, no email is sent (and a warning is logged when one
    /// would have been).
    #[must_use]
    pub fn email_sender(mut self, sender: impl EmailSender) -> Self {
        self.email = Some(Arc::new(sender));
        self
    }

    /// An email sender already behind an `Arc`.
    #[must_use]
    pub fn shared_email_sender(mut self, sender: Arc<dyn EmailSender>) -> Self {
        self.email = Some(sender);
        self
    }

    /// The clock. Default: [`SystemClock`].
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// A clock already behind an `Arc`.
    #[must_use]
    pub fn shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Validates the configuration and builds the service. Computes one password hash
    /// (the dummy hash for unknown emails), so it takes a few tens of milliseconds.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingStore`] without a store, or any configuration error.
    pub fn build(self) -> Result<AuthService, ConfigError> {
        let config = self.config.unwrap_or_default();
        config.validate()?;
        let store = self.store.ok_or(ConfigError::MissingStore)?;
        let jwt = JwtKeys::new(&config)?;
        let hasher = PasswordHasher::new(config.hashing())?.inline(config.inline_hashing());
        Ok(AuthService {
            inner: Arc::new(Inner {
                config,
                store,
                email: self.email,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                jwt,
                hasher,
            }),
        })
    }
}

/// Access and refresh token, shaped as an OAuth 2.0 token response (RFC 6749 §5.1).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct TokenPair {
    /// The access token (a JWT).
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The opaque refresh token.
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: i64,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &"[redacted]")
            .field("refresh_expires_in", &self.refresh_expires_in)
            .finish()
    }
}

#[derive(Debug, Clone, Copy)]
enum EmailKind {
    Verification,
    PasswordReset,
}

impl AuthService {
    /// A builder.
    pub fn builder() -> AuthServiceBuilder {
        AuthServiceBuilder::default()
    }

    /// The configuration in force.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// The password hasher (for seeding users or benchmarking with the same limits).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.inner.hasher
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn AuthStore> {
        &self.inner.store
    }

    /// Deletes expired tokens from the store; returns how many. Run it periodically.
    ///
    /// # Errors
    ///
    /// [`AuthError::Unavailable`] when the store fails.
    pub async fn purge_expired_tokens(&self) -> Result<u64, AuthError> {
        Ok(self.inner.store.purge_expired_tokens(self.now()).await?)
    }

    /// The current time, at the millisecond precision every store keeps.
    fn now(&self) -> OffsetDateTime {
        truncate_to_millis(self.inner.clock.now())
    }

    fn check_policy(&self, password: &SecretString) -> Result<(), AuthError> {
        self.inner
            .config
            .password_policy()
            .check(password.expose_secret())
            .map_err(AuthError::WeakPassword)
    }

    fn link(&self, path: &str, token: &str) -> String {
        format!(
            "{}/{path}?token={token}",
            self.inner.config.public_url().trim_end_matches('/')
        )
    }

    /// Sends an email in the background, after the state change it follows was stored. The
    /// response never waits for, or depends on, the mail server.
    fn send_email(&self, kind: EmailKind, email: EmailLink) {
        let Some(sender) = self.inner.email.clone() else {
            tracing::warn!(?kind, "no email sender configured; email not sent");
            return;
        };
        tokio::spawn(async move {
            let result = match kind {
                EmailKind::Verification => sender.send_verification_email(&email).await,
                EmailKind::PasswordReset => sender.send_password_reset_email(&email).await,
            };
            if let Err(error) = result {
                tracing::error!(
                    ?kind,
                    error = &error as &dyn std::error::Error,
                    "sending email failed; the user can ask for it again"
                );
            }
        });
    }
}

impl AuthService {
    /// The JWK Set of the public keys that verify this service's tokens (RFC 7517 §5), as
    /// JSON text: the signing key first, then the previous keys; `{"keys":[]}` under HMAC.
    /// Served at `/auth/.well-known/jwks.json`.
    pub fn jwks(&self) -> &str {
        self.inner.jwt.jwks_json()
    }
}

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
