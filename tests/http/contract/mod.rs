//! The HTTP contract (docs/http-contract.md), one function per rule and one file per flow,
//! run against every adapter × store pair by `http_suite!` in main.rs.

mod admin;
mod browser;
mod events;
mod hardening;
mod limits;
mod login;
mod logout;
mod mfa;
mod profile;
mod refresh;
mod registration;
mod requests;
mod reset;
mod sessions;
mod verification;

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

use crate::support::{PASSWORD, Sent, TestServer, assert_problem, token_from_link};

pub(crate) fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

pub(crate) fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

pub(crate) use self::admin::*;
pub(crate) use self::browser::*;
pub(crate) use self::events::*;
pub(crate) use self::hardening::*;
pub(crate) use self::limits::*;
pub(crate) use self::login::*;
pub(crate) use self::logout::*;
pub(crate) use self::mfa::*;
pub(crate) use self::profile::*;
pub(crate) use self::refresh::*;
pub(crate) use self::registration::*;
pub(crate) use self::requests::*;
pub(crate) use self::reset::*;
pub(crate) use self::sessions::*;
pub(crate) use self::verification::*;

pub(crate) async fn reset_token(s: &TestServer, email: &str) -> String {
    let response = s
        .post_json("/auth/password-reset-request", json!({"email": email}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let (kind, link) = s.next_email().await;
    assert_eq!(kind, Sent::PasswordReset);
    assert!(
        link.link
            .starts_with("http://localhost:3000/reset-password?token=")
    );
    token_from_link(&link.link)
}

/// Runs the requests concurrently (each on its own connection) and collects the answers.
pub(crate) async fn futures_join<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    futures_util::future::join_all(futures).await
}
