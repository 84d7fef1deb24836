//! [`AuthService`]: every use case of the API contract, independent of any web framework.
//!
//! One file per concern: `registration.rs`, `login.rs`, `sessions.rs` (refresh, logout,
//! the session list), `authentication.rs` (access tokens, the signed-in user),
//! `profile.rs`, `recovery.rs` (password reset, email verification), `admin.rs`;
//! `limits.rs` and `revocation.rs` hold the abuse limits and the revocation view, `keys.rs`
//! the server's own derived keys.

mod admin;
mod authentication;
mod browser;
mod events;
mod keys;
mod limits;
mod login;
mod mfa;
mod operator;
mod profile;
mod recovery;
mod registration;
pub(crate) mod revocation;
mod sessions;

pub use self::events::{AuditPage, DEFAULT_AUDIT_PAGE_SIZE, MAX_AUDIT_PAGE_SIZE};
pub use self::mfa::{
    MFA_TOKEN_TTL, RECOVERY_CODES, RecoveryCodes, TOTP_DIGITS, TOTP_SETUP_TTL, TOTP_SKEW,
    TOTP_STEP_SECS, TotpSetup, totp_code,
};
pub use self::operator::ImportedUser;
pub use self::sessions::{SessionList, SessionView};
pub use admin::{AdminAccess, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_ROLE_LEN, MAX_ROLES};

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use time::OffsetDateTime;

pub(crate) use self::browser::CSRF_HEADER;
use self::keys::ServerKeys;
use self::revocation::RevocationView;
use crate::breaker::{Admission, StoreBreaker};
use crate::clock::{Clock, SystemClock, truncate_to_millis};
use crate::config::AuthConfig;
use crate::data_keys::DataKeys;
use crate::email::{EmailLink, EmailNotice, EmailSender};
use crate::error::{AuthError, ConfigError};
use crate::events::{AuditSink, AuthEvents};
use crate::jwt::JwtKeys;
use crate::password::PasswordHasher;
use crate::session::Revocation;
use crate::store::{AuthStore, CounterStore};
use crate::user::{User, UserId};

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
///     .config(AuthConfig::default()
///         .with_require_verified_email(false))
///     .store(MemoryStore::new())
///     .email_sender(LogEmailSender::new())
///     .build()?;
/// # Ok(())
/// # }
/// ```
///
/// Inside a tokio runtime the service starts, at build or at its first use, one background
/// task that keeps its revocation view up to date; the task ends when the last clone of
/// the service is dropped.
#[derive(Clone)]
pub struct AuthService {
    inner: Arc<Inner>,
}

struct Inner {
    config: AuthConfig,
    store: Arc<dyn AuthStore>,
    counters: Arc<dyn CounterStore>,
    email: Option<Arc<dyn EmailSender>>,
    clock: Arc<dyn Clock>,
    jwt: JwtKeys,
    keys: ServerKeys,
    data_keys: DataKeys,
    hasher: PasswordHasher,
    view: RevocationView,
    poller: AtomicBool,
    breaker: Option<StoreBreaker>,
    /// The counters live in a store of their own (not the main store).
    separate_counters: bool,
    events: Option<Arc<dyn AuthEvents>>,
    audit: Option<AuditSink>,
}

impl fmt::Debug for AuthService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService")
            .field("config", &self.inner.config)
            .field("store", &self.inner.store)
            .field("counters", &self.inner.counters)
            .field("email", &self.inner.email)
            .field("clock", &self.inner.clock)
            .field("hasher", &self.inner.hasher)
            .field("events", &self.inner.events)
            .finish()
    }
}

/// Builds an [`AuthService`].
#[derive(Default)]
pub struct AuthServiceBuilder {
    config: Option<AuthConfig>,
    store: Option<Arc<dyn AuthStore>>,
    counters: Option<Arc<dyn CounterStore>>,
    email: Option<Arc<dyn EmailSender>>,
    clock: Option<Arc<dyn Clock>>,
    events: Option<Arc<dyn AuthEvents>>,
}

impl fmt::Debug for AuthServiceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthServiceBuilder")
            .field("config", &self.config)
            .field("store", &self.store)
            .field("counters", &self.counters)
            .field("email", &self.email)
            .field("clock", &self.clock)
            .field("events", &self.events)
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

    /// Where the abuse counters live. Default: the store. The `auth-redis` crate keeps
    /// them in Redis instead.
    #[must_use]
    pub fn counter_store(mut self, counters: impl CounterStore) -> Self {
        self.counters = Some(Arc::new(counters));
        self
    }

    /// A counter store already behind an `Arc`.
    #[must_use]
    pub fn shared_counter_store(mut self, counters: Arc<dyn CounterStore>) -> Self {
        self.counters = Some(counters);
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

    /// The application's event hooks (see [`crate::events`]). Default: none; the audit log
    /// is written either way when it is on.
    #[must_use]
    pub fn events(mut self, events: impl AuthEvents) -> Self {
        self.events = Some(Arc::new(events));
        self
    }

    /// Event hooks already behind an `Arc`.
    #[must_use]
    pub fn shared_events(mut self, events: Arc<dyn AuthEvents>) -> Self {
        self.events = Some(events);
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
        let separate_counters = self.counters.is_some();
        let counters = self
            .counters
            .unwrap_or_else(|| Arc::clone(&store) as Arc<dyn CounterStore>);
        let jwt = JwtKeys::new(&config)?;
        let keys = ServerKeys::new(config.jwt_secret().expose_secret().as_bytes())?;
        let data_keys = if config.data_keys().is_empty() {
            tracing::warn!(
                "MYAUTH_DATA_KEYS is not set: secrets at rest (TOTP) are encrypted under a key \
                 derived from the JWT secret; rotating that secret loses every TOTP enrolment"
            );
            DataKeys::new(&[keys.data_key()])
        } else {
            DataKeys::new(config.data_keys())
        };
        let hasher = PasswordHasher::new(config.hashing())?;
        #[cfg(feature = "bench-internals")]
        let hasher = hasher.inline(config.inline_hashing());
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let retention = config.access_ttl() + config.jwt_leeway();
        let view = RevocationView::new(
            truncate_to_millis(clock.now()),
            config.revocation_poll(),
            retention,
            config.revocation_max_staleness(),
        );
        let config_breaker = config.store_breaker();
        let audit = config
            .audit()
            .enabled()
            .then(|| AuditSink::new(Arc::clone(&store)));
        let service = AuthService {
            inner: Arc::new(Inner {
                config,
                store,
                counters,
                email: self.email,
                clock,
                jwt,
                keys,
                data_keys,
                hasher,
                view,
                poller: AtomicBool::new(false),
                breaker: config_breaker.map(StoreBreaker::new),
                separate_counters,
                events: self.events,
                audit,
            }),
        };
        service.ensure_poller();
        Ok(service)
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
enum NoticeKind {
    PasswordChanged,
    NewSignIn,
}

#[derive(Debug, Clone, Copy)]
enum EmailKind {
    Verification,
    PasswordReset,
}

/// How long the store circuit breaker's probe may take before it counts as failed.
const STORE_PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl AuthService {
    /// Whether the store circuit breaker is open: the store failed repeatedly and requests
    /// that need it are answered 503 at once until a probe finds it again. For health
    /// checks and metrics; always `false` with the breaker off.
    pub fn store_breaker_open(&self) -> bool {
        self.inner
            .breaker
            .as_ref()
            .is_some_and(StoreBreaker::is_open)
    }

    /// Asks the store circuit breaker whether a request that needs the store may go
    /// ahead; `Err(retry_after_seconds)` while it is open. Starts the probe when one is due.
    pub(crate) fn admit_store_request(&self) -> Result<(), u64> {
        let Some(breaker) = &self.inner.breaker else {
            return Ok(());
        };
        match breaker.admit() {
            Admission::Pass => Ok(()),
            Admission::Refuse { retry_after, probe } => {
                if probe {
                    self.spawn_store_probe();
                }
                Err(retry_after)
            }
        }
    }

    /// Tells the store circuit breaker how an admitted request ended.
    pub(crate) fn record_store_outcome(&self, store_failed: bool) {
        if let Some(breaker) = &self.inner.breaker {
            breaker.record(store_failed);
        }
    }

    /// One cheap read — the user with the nil id, which never exists — under the store's
    /// own timeouts and a bound of its own; its result closes or re-opens the breaker.
    fn spawn_store_probe(&self) {
        let inner = Arc::downgrade(&self.inner);
        let store = Arc::clone(&self.inner.store);
        tokio::spawn(async move {
            let probe = store.find_user_by_id(UserId::from_uuid(uuid::Uuid::nil()));
            let healthy = matches!(
                tokio::time::timeout(STORE_PROBE_TIMEOUT, probe).await,
                Ok(Ok(_))
            );
            if let Some(inner) = inner.upgrade()
                && let Some(breaker) = &inner.breaker
            {
                breaker.probed(healthy);
            }
        });
    }
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

    /// The store.
    pub fn store(&self) -> &Arc<dyn AuthStore> {
        &self.inner.store
    }

    /// Deletes what has expired from the store — tokens, sessions, abuse counters,
    /// unconfirmed second-factor set-ups, and audit records past the configured retention
    /// (keeping an anchor, so the chain still verifies); returns how many records. Run it
    /// periodically.
    ///
    /// # Errors
    ///
    /// [`AuthError::Unavailable`] when the store fails.
    pub async fn purge_expired_tokens(&self) -> Result<u64, AuthError> {
        let now = self.now();
        let store = &self.inner.store;
        let mut purged = store.purge_expired_tokens(now).await?;
        purged += store.purge_expired_sessions(now).await?;
        purged += self.inner.counters.purge_expired_counters(now).await?;
        purged += store.purge_expired_totp(now).await?;
        purged += self.purge_audit(now).await?;
        Ok(purged)
    }

    /// Asks the store for cuts made by other instances now, instead of at the next poll.
    /// Returns how many cuts the revocation view holds afterwards.
    ///
    /// # Errors
    ///
    /// [`AuthError::Unavailable`] when the store fails.
    pub async fn refresh_revocations(&self) -> Result<usize, AuthError> {
        let report = self.inner.view.poll(&*self.inner.store, self.now()).await?;
        Ok(report.held)
    }

    /// The current time, at the millisecond precision every store keeps.
    fn now(&self) -> OffsetDateTime {
        truncate_to_millis(self.inner.clock.now())
    }

    /// Checks a new password against the policy, with the account's own words as context.
    fn check_policy(&self, password: &SecretString, user: UserWords<'_>) -> Result<(), AuthError> {
        self.inner
            .config
            .password_policy()
            .check_for(password.expose_secret(), user.username, user.email)
            .map_err(AuthError::WeakPassword)
    }

    fn link(&self, path: &str, token: &str) -> String {
        format!(
            "{}/{path}?token={token}",
            self.inner.config.public_url().trim_end_matches('/')
        )
    }

    /// Records a cut this instance has just stored, so its own stateless checks see it at
    /// once.
    fn cut(&self, revocation: Revocation) {
        self.inner.view.note(revocation);
    }

    /// Records that every access token of `user` before its current version is stale.
    fn cut_user(&self, user: &User, at: OffsetDateTime) {
        self.cut(Revocation::User {
            user_id: user.id,
            token_version: user.token_version,
            at,
        });
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

    /// Emails the owner that their password was changed, in the background.
    fn notify_password_changed(&self, user: &User) {
        self.send_notice(NoticeKind::PasswordChanged, user);
    }

    /// Emails the owner about a new sign-in, in the background.
    fn notify_new_sign_in(&self, user: &User) {
        self.send_notice(NoticeKind::NewSignIn, user);
    }

    /// Sends a security notice in the background, like [`send_email`](Self::send_email).
    fn send_notice(&self, kind: NoticeKind, user: &User) {
        let Some(sender) = self.inner.email.clone() else {
            tracing::warn!(?kind, "no email sender configured; notice not sent");
            return;
        };
        let client = crate::client::ClientInfo::current();
        let notice = EmailNotice {
            to: user.email.clone(),
            at: self.now(),
            ip: client.ip_text(),
            user_agent: client.user_agent,
        };
        tokio::spawn(async move {
            let result = match kind {
                NoticeKind::PasswordChanged => sender.send_password_changed_email(&notice).await,
                NoticeKind::NewSignIn => sender.send_new_sign_in_email(&notice).await,
            };
            if let Err(error) = result {
                tracing::error!(
                    ?kind,
                    error = &error as &dyn std::error::Error,
                    "sending a security notice failed"
                );
            }
        });
    }

    /// Starts the revocation poller once, in the current runtime, if there is one.
    fn ensure_poller(&self) {
        if self.inner.poller.load(Ordering::Relaxed) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.inner.poller.swap(true, Ordering::AcqRel) {
            return;
        }
        runtime.spawn(poll_revocations(Arc::downgrade(&self.inner)));
    }
}

/// The words of an account a new password must not contain.
#[derive(Debug, Clone, Copy, Default)]
struct UserWords<'a> {
    username: Option<&'a str>,
    email: Option<&'a str>,
}

impl<'a> UserWords<'a> {
    fn of(user: &'a User) -> Self {
        Self {
            username: Some(&user.username),
            email: Some(&user.email),
        }
    }
}

/// Keeps the revocation view current until the service is dropped.
async fn poll_revocations(inner: Weak<Inner>) {
    let Some(period) = inner
        .upgrade()
        .and_then(|inner| std::time::Duration::try_from(inner.config.revocation_poll()).ok())
    else {
        return;
    };
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        interval.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let now = truncate_to_millis(inner.clock.now());
        let poll = inner.view.poll(&*inner.store, now);
        match tokio::time::timeout(period * 2, poll).await {
            Ok(Ok(report)) => {
                if failing {
                    tracing::info!(cuts = report.held, "revocation view refreshed again");
                }
                failing = false;
            }
            Ok(Err(error)) => {
                failing = true;
                tracing::warn!(
                    error = &error as &dyn std::error::Error,
                    "revocation poll failed; keeping the last view"
                );
            }
            Err(_) => {
                failing = true;
                inner.view.poll_timed_out();
                tracing::warn!("revocation poll timed out; keeping the last view");
            }
        }
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
