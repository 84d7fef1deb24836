//! Events: what happened in auth, for the application's hooks ([`AuthEvents`]) and for the
//! audit log ([`AuditSink`]), which is one more consumer of the same events.
//!
//! The service fires an event after the state change it reports is stored, and delivers
//! it off the response path: each consumer runs in a task of its own, bounded by
//! [`HOOK_TIMEOUT`] (the audit sink by [`AUDIT_TIMEOUT`]). A hook that is slow, fails or
//! panics never changes the response, and never delays it: a panic is caught (the task's
//! `JoinError`) and logged, a hook still running at its bound is cancelled and logged.
//! Hooks see events in no guaranteed order across requests.
//!
//! The audit log is the exception that can be made strict
//! ([`AuditConfig::with_strict`](crate::AuditConfig::with_strict)): then the service
//! awaits the audit write before it answers, and a failed write fails the request with
//! 503 (the change it reports stays stored). By default a failed write is logged and
//! counted ([`AuthService::audit_failures`](crate::AuthService::audit_failures)), and the
//! request succeeds.
//!
//! An event never carries a password, a token or a hash: the reason of a failed login is
//! a class ([`LoginFailure`]), and a throttled account is named by its throttle key, not
//! its email.
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "memory")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use auth_core::{async_trait, AuthEvent, AuthEvents, AuthService, MemoryStore};
//!
//! #[derive(Debug)]
//! struct Welcome;
//!
//! #[async_trait]
//! impl AuthEvents for Welcome {
//!     async fn on_registered(&self, event: &AuthEvent) {
//!         // Queue a welcome email, sync the CRM, …
//!         tracing::info!(user.id = ?event.user_id, "welcome");
//!     }
//! }
//!
//! let service = AuthService::builder()
//!     .store(MemoryStore::new())
//!     .events(Welcome)
//!     .build()?;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{self, AuditEvent, AuditRecord};
use crate::client::ClientInfo;
use crate::error::StoreError;
use crate::store::AuthStore;
use crate::user::UserId;

/// How long one hook may run for one event before it is cancelled (and a warning logged).
/// The response never waits for it.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one audit write may take, retries under contention included, before it counts
/// as failed. Only a strict audit log makes the response wait for it.
pub const AUDIT_TIMEOUT: Duration = Duration::from_secs(30);

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthEventKind {
    /// An account was created (`user.registered`).
    Registered,
    /// An email address was verified (`email.verified`).
    Verified,
    /// A login succeeded and started a session (`login.succeeded`).
    LoginSucceeded,
    /// A login failed; [`AuthEvent::reason`] says why (`login.failed`).
    LoginFailed,
    /// A password check was refused by the account's throttle (`login.throttled`).
    Throttled,
    /// A session was ended by its refresh token (`session.logged_out`).
    LoggedOut,
    /// One session was ended: by its owner, or because a used refresh token came back
    /// (`session.revoked`).
    SessionRevoked,
    /// Every session of a user was ended, by the user or an admin (`session.logout_all`).
    LogoutAll,
    /// The user changed their password (`password.changed`).
    PasswordChanged,
    /// A reset link was issued (`password.reset_requested`); fired in the background task
    /// that also sends it, so a request for an unknown email looks the same.
    ResetRequested,
    /// A password was reset with a link (`password.reset_completed`).
    ResetCompleted,
    /// An admin deactivated the account (`user.deactivated`).
    Deactivated,
    /// An admin activated the account (`user.activated`).
    Activated,
    /// The account's roles were replaced (`user.roles_changed`); see [`AuthEvent::roles`].
    RolesChanged,
    /// A second factor was enabled (`mfa.enabled`).
    MfaEnabled,
    /// The user turned their second factor off (`mfa.disabled`).
    MfaDisabled,
    /// An admin removed the user's second factor (`mfa.reset`).
    MfaReset,
}

impl AuthEventKind {
    /// Every kind.
    pub const ALL: [Self; 17] = [
        Self::Registered,
        Self::Verified,
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::Throttled,
        Self::LoggedOut,
        Self::SessionRevoked,
        Self::LogoutAll,
        Self::PasswordChanged,
        Self::ResetRequested,
        Self::ResetCompleted,
        Self::Deactivated,
        Self::Activated,
        Self::RolesChanged,
        Self::MfaEnabled,
        Self::MfaDisabled,
        Self::MfaReset,
    ];

    /// The stable name, as the audit log stores it and `GET /admin/audit?event=` filters.
    pub fn name(self) -> &'static str {
        match self {
            Self::Registered => "user.registered",
            Self::Verified => "email.verified",
            Self::LoginSucceeded => "login.succeeded",
            Self::LoginFailed => "login.failed",
            Self::Throttled => "login.throttled",
            Self::LoggedOut => "session.logged_out",
            Self::SessionRevoked => "session.revoked",
            Self::LogoutAll => "session.logout_all",
            Self::PasswordChanged => "password.changed",
            Self::ResetRequested => "password.reset_requested",
            Self::ResetCompleted => "password.reset_completed",
            Self::Deactivated => "user.deactivated",
            Self::Activated => "user.activated",
            Self::RolesChanged => "user.roles_changed",
            Self::MfaEnabled => "mfa.enabled",
            Self::MfaDisabled => "mfa.disabled",
            Self::MfaReset => "mfa.reset",
        }
    }

    /// The kind of a [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

impl fmt::Display for AuthEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a login failed: a class, never the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LoginFailure {
    /// No account has the email (the client got the same answer as for a wrong password).
    UnknownAccount,
    /// The password was wrong.
    WrongPassword,
    /// The password was right; the account is deactivated.
    AccountDisabled,
    /// The password was right; the email is not verified.
    EmailNotVerified,
    /// The second step of the login had a wrong code.
    WrongMfaCode,
}

impl LoginFailure {
    /// The stable name, as the audit log stores it (`detail.reason`).
    pub fn name(self) -> &'static str {
        match self {
            Self::UnknownAccount => "unknown_account",
            Self::WrongPassword => "wrong_password",
            Self::AccountDisabled => "account_disabled",
            Self::EmailNotVerified => "email_not_verified",
            Self::WrongMfaCode => "wrong_mfa_code",
        }
    }
}

/// One event: what happened, to whom, from where, when.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthEvent {
    /// What happened.
    pub kind: AuthEventKind,
    /// The account it happened to, when known (not for a login with an unknown email, nor
    /// for a throttled attempt — see [`account`](Self::account)).
    pub user_id: Option<UserId>,
    /// The session involved: the one started, ended or revoked.
    pub session_id: Option<Uuid>,
    /// The client address of the request (through the trusted proxies).
    pub ip: Option<IpAddr>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
    /// When the change was stored.
    pub at: OffsetDateTime,
    /// Why a login failed ([`AuthEventKind::LoginFailed`]).
    pub reason: Option<LoginFailure>,
    /// The acting admin, for an admin action.
    pub actor_id: Option<UserId>,
    /// The new roles ([`AuthEventKind::RolesChanged`]).
    pub roles: Option<Vec<String>>,
    /// A throttled account's throttle key (a short hex prefix of its hash: it names the
    /// account without its email), for [`AuthEventKind::Throttled`].
    pub account: Option<String>,
}

impl AuthEvent {
    /// An event of this kind at `at`, with the current client ([`ClientInfo::current`])
    /// and nothing else filled in.
    pub fn new(kind: AuthEventKind, at: OffsetDateTime) -> Self {
        let client = ClientInfo::current();
        Self {
            kind,
            user_id: None,
            session_id: None,
            ip: client.ip,
            user_agent: client.user_agent,
            at,
            reason: None,
            actor_id: None,
            roles: None,
            account: None,
        }
    }

    /// With this account.
    #[must_use]
    pub fn with_user(mut self, user_id: UserId) -> Self {
        self.user_id = Some(user_id);
        self
    }

    /// With this session.
    #[must_use]
    pub fn with_session(mut self, session_id: Uuid) -> Self {
        self.session_id = Some(session_id);
        self
    }

    /// With this acting admin.
    #[must_use]
    pub fn with_actor(mut self, actor_id: UserId) -> Self {
        self.actor_id = Some(actor_id);
        self
    }

    /// With this failure class.
    #[must_use]
    pub fn with_reason(mut self, reason: LoginFailure) -> Self {
        self.reason = Some(reason);
        self
    }

    /// With these roles.
    #[must_use]
    pub fn with_roles(mut self, roles: Vec<String>) -> Self {
        self.roles = Some(roles);
        self
    }

    /// With this throttle key.
    #[must_use]
    pub fn with_account(mut self, account: String) -> Self {
        self.account = Some(account);
        self
    }

    /// The audit log's record of this event: its kind's name, the ids, the client, and
    /// as `detail` the reason, roles or throttle key when present.
    pub fn to_audit(&self) -> AuditEvent {
        let mut detail = serde_json::Map::new();
        if let Some(reason) = self.reason {
            detail.insert("reason".to_owned(), reason.name().into());
        }
        if let Some(roles) = &self.roles {
            detail.insert("roles".to_owned(), roles.clone().into());
        }
        if let Some(account) = &self.account {
            detail.insert("account".to_owned(), account.clone().into());
        }
        AuditEvent {
            event: self.kind.name().to_owned(),
            user_id: self.user_id,
            actor_id: self.actor_id,
            session_id: self.session_id,
            ip: self.ip.map(|ip| ip.to_string()),
            user_agent: self.user_agent.clone(),
            detail: serde_json::Value::Object(detail),
        }
    }
}

/// The application's hooks: one method per event kind, every one a no-op by default.
///
/// [`on_event`](Self::on_event) receives every event and, by default, calls the method of
/// its kind; override it instead to see every event in one place. Each call runs in a task
/// of its own, after the change is stored and without the response waiting for it, bounded
/// by [`HOOK_TIMEOUT`]; a panic is caught and logged.
#[async_trait]
pub trait AuthEvents: fmt::Debug + Send + Sync + 'static {
    /// Every event. By default, calls the method of its kind.
    async fn on_event(&self, event: &AuthEvent) {
        match event.kind {
            AuthEventKind::Registered => self.on_registered(event).await,
            AuthEventKind::Verified => self.on_verified(event).await,
            AuthEventKind::LoginSucceeded => self.on_login_succeeded(event).await,
            AuthEventKind::LoginFailed => self.on_login_failed(event).await,
            AuthEventKind::Throttled => self.on_throttled(event).await,
            AuthEventKind::LoggedOut => self.on_logged_out(event).await,
            AuthEventKind::SessionRevoked => self.on_session_revoked(event).await,
            AuthEventKind::LogoutAll => self.on_logout_all(event).await,
            AuthEventKind::PasswordChanged => self.on_password_changed(event).await,
            AuthEventKind::ResetRequested => self.on_reset_requested(event).await,
            AuthEventKind::ResetCompleted => self.on_reset_completed(event).await,
            AuthEventKind::Deactivated => self.on_deactivated(event).await,
            AuthEventKind::Activated => self.on_activated(event).await,
            AuthEventKind::RolesChanged => self.on_roles_changed(event).await,
            AuthEventKind::MfaEnabled => self.on_mfa_enabled(event).await,
            AuthEventKind::MfaDisabled => self.on_mfa_disabled(event).await,
            AuthEventKind::MfaReset => self.on_mfa_reset(event).await,
        }
    }

    /// An account was created.
    async fn on_registered(&self, _event: &AuthEvent) {}
    /// An email address was verified.
    async fn on_verified(&self, _event: &AuthEvent) {}
    /// A login succeeded.
    async fn on_login_succeeded(&self, _event: &AuthEvent) {}
    /// A login failed.
    async fn on_login_failed(&self, _event: &AuthEvent) {}
    /// A password check was throttled.
    async fn on_throttled(&self, _event: &AuthEvent) {}
    /// A session was logged out.
    async fn on_logged_out(&self, _event: &AuthEvent) {}
    /// A session was revoked.
    async fn on_session_revoked(&self, _event: &AuthEvent) {}
    /// Every session of a user was ended.
    async fn on_logout_all(&self, _event: &AuthEvent) {}
    /// A password was changed.
    async fn on_password_changed(&self, _event: &AuthEvent) {}
    /// A reset link was issued.
    async fn on_reset_requested(&self, _event: &AuthEvent) {}
    /// A password was reset.
    async fn on_reset_completed(&self, _event: &AuthEvent) {}
    /// An account was deactivated.
    async fn on_deactivated(&self, _event: &AuthEvent) {}
    /// An account was activated.
    async fn on_activated(&self, _event: &AuthEvent) {}
    /// An account's roles were replaced.
    async fn on_roles_changed(&self, _event: &AuthEvent) {}
    /// A second factor was enabled.
    async fn on_mfa_enabled(&self, _event: &AuthEvent) {}
    /// A second factor was turned off.
    async fn on_mfa_disabled(&self, _event: &AuthEvent) {}
    /// A second factor was removed by an admin.
    async fn on_mfa_reset(&self, _event: &AuthEvent) {}
}

/// The audit log as an event consumer: appends each event to the store's hash chain
/// ([`audit::append`]). The service runs one when the audit log is on; a failed write is
/// logged and counted.
///
/// A chain has one head, so appends cannot run side by side: a sink (and its clones) writes
/// one record at a time, in the order the writes reach it (a fair lock). Without that, a burst
/// of N events in one process became N writers racing for the head, each loser reading it
/// again — about N²/2 attempts (`benches/audit.rs`: 87 % of the login throughput lost with
/// cheap hashing). Writers in other processes still race, and [`audit::append`] settles that.
#[derive(Debug, Clone)]
pub struct AuditSink {
    store: Arc<dyn AuthStore>,
    failures: Arc<AtomicU64>,
    writer: Arc<tokio::sync::Mutex<()>>,
}

impl AuditSink {
    /// A sink writing to this store.
    pub fn new(store: Arc<dyn AuthStore>) -> Self {
        Self {
            store,
            failures: Arc::new(AtomicU64::new(0)),
            writer: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Appends the event's record after the records of earlier events, bounded by
    /// [`AUDIT_TIMEOUT`] (waiting for them included).
    ///
    /// # Errors
    ///
    /// The store's errors; [`StoreError::Unavailable`] after [`AUDIT_TIMEOUT`].
    pub async fn record(&self, event: &AuthEvent) -> Result<AuditRecord, StoreError> {
        let append = async {
            let _turn = self.writer.lock().await;
            audit::append(&*self.store, event.at, event.to_audit()).await
        };
        match tokio::time::timeout(AUDIT_TIMEOUT, append).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::unavailable("the audit write timed out")),
        }
    }

    /// How many writes failed since the sink was made.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Counts and logs a failed write of `event`.
    pub(crate) fn failed(&self, event: &AuthEvent, error: &(dyn std::error::Error + 'static)) {
        let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::error!(
            event = event.kind.name(),
            user.id = event.user_id.map(|id| id.to_string()),
            audit_failures = failures,
            error,
            "audit write failed; the event is not in the audit log"
        );
    }
}

#[async_trait]
impl AuthEvents for AuditSink {
    async fn on_event(&self, event: &AuthEvent) {
        if let Err(error) = self.record(event).await {
            self.failed(event, &error);
        }
    }
}

/// Runs `consumer` on `event` in a task of its own, bounded by `bound`: a panic (the
/// task's `JoinError`) and a timeout are logged, and the caller never waits.
pub(crate) fn deliver(consumer: Arc<dyn AuthEvents>, event: AuthEvent, bound: Duration) {
    let kind = event.kind;
    let task = tokio::spawn(async move { consumer.on_event(&event).await });
    tokio::spawn(async move {
        let abort = task.abort_handle();
        match tokio::time::timeout(bound, task).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) if error.is_panic() => {
                tracing::error!(
                    event = kind.name(),
                    "event hook panicked; the panic was caught"
                );
            }
            Ok(Err(_)) => {}
            Err(_) => {
                abort.abort();
                tracing::warn!(
                    event = kind.name(),
                    bound_secs = bound.as_secs_f64(),
                    "event hook still running at its bound; cancelled"
                );
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_unique_name_that_reads_back() {
        let names: std::collections::HashSet<_> =
            AuthEventKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), AuthEventKind::ALL.len());
        for kind in AuthEventKind::ALL {
            assert_eq!(AuthEventKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(AuthEventKind::from_name("nope"), None);
    }

    #[test]
    fn the_audit_record_carries_the_client_and_the_details() {
        let user = UserId::new();
        let event = AuthEvent::new(AuthEventKind::LoginFailed, OffsetDateTime::UNIX_EPOCH)
            .with_user(user)
            .with_reason(LoginFailure::WrongPassword);
        let event = AuthEvent {
            ip: Some("192.0.2.7".parse().unwrap()),
            user_agent: Some("ua".to_owned()),
            ..event
        };
        let audit = event.to_audit();
        assert_eq!(audit.event, "login.failed");
        assert_eq!(audit.user_id, Some(user));
        assert_eq!(audit.ip.as_deref(), Some("192.0.2.7"));
        assert_eq!(audit.user_agent.as_deref(), Some("ua"));
        assert_eq!(
            audit.detail,
            serde_json::json!({"reason": "wrong_password"})
        );
    }

    #[derive(Debug)]
    struct Panics;

    #[async_trait]
    impl AuthEvents for Panics {
        async fn on_registered(&self, _event: &AuthEvent) {
            panic!("a hook bug");
        }
    }

    #[derive(Debug)]
    struct Sleeps(tokio::sync::mpsc::UnboundedSender<()>);

    #[async_trait]
    impl AuthEvents for Sleeps {
        async fn on_event(&self, _event: &AuthEvent) {
            struct Dropped(tokio::sync::mpsc::UnboundedSender<()>);
            impl Drop for Dropped {
                fn drop(&mut self) {
                    let _ = self.0.send(());
                }
            }
            let _guard = Dropped(self.0.clone());
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }

    /// A burst of events in one process is written one record at a time: every append
    /// lands at the first try (no writer loses the head to another and reads it again),
    /// and the chain holds them all.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_burst_of_events_is_appended_one_at_a_time_without_retries() {
        const EVENTS: usize = 200;
        let store = crate::testing::Instrumented::new(crate::MemoryStore::new());
        let sink = AuditSink::new(Arc::new(store.clone()));
        let writes: Vec<_> = (0..EVENTS)
            .map(|_| {
                let sink = sink.clone();
                tokio::spawn(async move {
                    let event = AuthEvent::new(AuthEventKind::LoginFailed, crate::testing::now())
                        .with_user(UserId::new())
                        .with_reason(LoginFailure::WrongPassword);
                    sink.record(&event).await.expect("append")
                })
            })
            .collect();
        for write in writes {
            write.await.expect("writer");
        }
        assert_eq!(store.calls("append_audit_record"), EVENTS);
        assert_eq!(store.calls("last_audit_record"), EVENTS);
        let report = audit::verify(&store).await.expect("verify");
        assert_eq!((report.checked, report.broken), (EVENTS as u64, None));
    }

    #[tokio::test]
    async fn a_panicking_hook_is_caught_and_a_slow_one_cancelled_at_its_bound() {
        let event = AuthEvent::new(AuthEventKind::Registered, OffsetDateTime::UNIX_EPOCH);
        deliver(Arc::new(Panics), event.clone(), HOOK_TIMEOUT);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let started = std::time::Instant::now();
        deliver(Arc::new(Sleeps(tx)), event, Duration::from_millis(50));
        // The hook's future is dropped when its bound runs out, long before its hour.
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("cancelled within the bound")
            .expect("guard dropped");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
