//! Shared fixtures for the service's unit tests: a fast configuration, a manual clock and
//! an outbox that records every email the service sends.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use secrecy::SecretString;
use tokio::sync::{Mutex, mpsc};

use crate::clock::ManualClock;
use crate::config::AuthConfig;
use crate::email::{EmailError, EmailLink, EmailSender};
use crate::store::memory::MemoryStore;
use crate::user::{NewUser, User};
use crate::{AuthService, UserPatch, UserStore};

pub(crate) const SECRET: &str = "NZO5LnoEIv6NpiR_NR8fvqNi3Fx0Y0aGxOk2pJFJ3m8";
pub(crate) const PASSWORD: &str = "Str0ng!pass";

pub(crate) use crate::testing::fast_hashing;

pub(crate) fn config() -> AuthConfig {
    crate::testing::fast_config(SECRET)
}

pub(crate) fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    Verification,
    PasswordReset,
}

/// Records sent emails; tests wait for them with [`Outbox::next`].
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    tx: mpsc::UnboundedSender<(Sent, EmailLink)>,
    rx: Arc<Mutex<mpsc::UnboundedReceiver<(Sent, EmailLink)>>>,
}

impl Outbox {
    pub(crate) fn new() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            tx,
            rx: Arc::new(Mutex::new(rx)),
        }
    }

    /// The next email, waiting up to five seconds for the background send.
    pub(crate) async fn next(&self) -> (Sent, EmailLink) {
        let mut rx = self.rx.lock().await;
        tokio::time::timeout(StdDuration::from_secs(5), rx.recv())
            .await
            .expect("no email was sent within 5 s")
            .expect("outbox closed")
    }

    /// Asserts that no email arrives within a short while.
    pub(crate) async fn assert_empty(&self) {
        let mut rx = self.rx.lock().await;
        let next = tokio::time::timeout(StdDuration::from_millis(100), rx.recv()).await;
        assert!(next.is_err(), "unexpected email: {next:?}");
    }
}

#[async_trait]
impl EmailSender for Outbox {
    async fn send_verification_email(&self, email: &EmailLink) -> Result<(), EmailError> {
        self.tx
            .send((Sent::Verification, email.clone()))
            .map_err(|_| EmailError::new("outbox closed"))
    }

    async fn send_password_reset_email(&self, email: &EmailLink) -> Result<(), EmailError> {
        self.tx
            .send((Sent::PasswordReset, email.clone()))
            .map_err(|_| EmailError::new("outbox closed"))
    }
}

/// A service on a memory store with a manual clock and a recording outbox.
#[derive(Debug, Clone)]
pub(crate) struct Harness {
    pub(crate) service: AuthService,
    pub(crate) store: MemoryStore,
    pub(crate) clock: ManualClock,
    pub(crate) outbox: Outbox,
}

impl Harness {
    pub(crate) fn new() -> Self {
        Self::with_config(config())
    }

    pub(crate) fn with_config(config: AuthConfig) -> Self {
        let store = MemoryStore::new();
        let clock = ManualClock::starting_now();
        let outbox = Outbox::new();
        let service = AuthService::builder()
            .config(config)
            .store(store.clone())
            .email_sender(outbox.clone())
            .clock(clock.clone())
            .build()
            .expect("valid test configuration");
        Self {
            service,
            store,
            clock,
            outbox,
        }
    }

    pub(crate) fn new_user(email: &str) -> NewUser {
        NewUser {
            email: email.to_owned(),
            username: email.split('@').next().unwrap_or("user").to_owned(),
            password: secret(PASSWORD),
        }
    }

    /// Registers and verifies a user directly in the store (the verification email is
    /// drained from the outbox).
    pub(crate) async fn verified_user(&self, email: &str) -> User {
        let user = self
            .service
            .register(Self::new_user(email))
            .await
            .expect("register");
        let _ = self.outbox.next().await;
        self.patch(
            &user,
            UserPatch {
                is_verified: Some(true),
                ..UserPatch::default()
            },
        )
        .await
    }

    pub(crate) async fn patch(&self, user: &User, patch: UserPatch) -> User {
        self.store
            .update_user(user.id, &patch)
            .await
            .expect("update")
            .expect("user exists")
    }

    pub(crate) fn clock_now(&self) -> time::OffsetDateTime {
        crate::Clock::now(&self.clock)
    }

    /// The claims of a fresh access token of `user` (no session).
    pub(crate) fn claims_of(&self, user: &User) -> crate::Claims {
        let token = self.service.issue_access_token(user).expect("access token");
        self.service.authenticate(&token).expect("authentic")
    }

    /// Logs `email` in with the test password: the pair and its access token's claims.
    pub(crate) async fn signed_in(&self, email: &str) -> (crate::TokenPair, crate::Claims) {
        let pair = self
            .service
            .login(email, &secret(PASSWORD))
            .await
            .expect("login");
        let claims = self
            .service
            .authenticate(&pair.access_token)
            .expect("authentic");
        (pair, claims)
    }

    pub(crate) async fn admin(&self, email: &str) -> (User, crate::AdminAccess) {
        let user = self.verified_user(email).await;
        let user = self
            .patch(
                &user,
                UserPatch {
                    roles: Some(vec!["admin".into()]),
                    ..UserPatch::default()
                },
            )
            .await;
        let tokens = self
            .service
            .login(email, &secret(PASSWORD))
            .await
            .expect("admin login");
        let claims = self
            .service
            .authenticate(&tokens.access_token)
            .expect("admin token");
        let access = self
            .service
            .admin_access(&claims)
            .await
            .expect("admin access");
        (user, access)
    }
}
