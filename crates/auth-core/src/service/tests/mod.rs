//! Unit tests of the service's rules, one file per flow, on the memory store with a
//! manual clock. Time moves by advancing the clock, never by sleeping. Failures are
//! injected with `mockall` (the mail server) and `testing::Instrumented` (the store).

mod access;
mod admin;
mod failures;
mod legacy;
mod login;
mod logout;
mod mfa;
mod profile;
mod refresh;
mod registration;
mod reset;
mod verification;

use std::time::Instant;

use async_trait::async_trait;
use time::Duration;

use super::test_support::{Harness, PASSWORD, SECRET, Sent, config, fast_hashing, secret};
use crate::config::{AuthConfig, HashingConfig};
use crate::email::{EmailError, EmailLink, EmailSender};
use crate::error::AuthError;
use crate::jwt::JwtKeys;
use crate::policy::PolicyViolation;
use crate::store::{TokenStore, UserStore};
use crate::token::{TokenHash, TokenKind};
use crate::user::{ProfileUpdate, User, UserId, UserPatch};
use crate::{AuthService, MemoryStore};

pub(super) fn token_of(link: &EmailLink) -> &str {
    link.link
        .split_once("?token=")
        .map(|(_, t)| t)
        .expect("link carries a token")
}

/// Asks for a reset link and returns its token.
pub(super) async fn reset_link(h: &Harness, email: &str) -> String {
    h.service.request_password_reset(email).await.unwrap();
    let (kind, email) = h.outbox.next().await;
    assert_eq!(kind, Sent::PasswordReset);
    assert!(
        email
            .link
            .starts_with("http://localhost:3000/reset-password?token=")
    );
    email.token
}
