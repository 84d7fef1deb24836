//! Outgoing email: the [`EmailSender`] trait and the development [`LogEmailSender`].
//!
//! The service sends after the state change is stored, in a background task: a slow or
//! failing mail server never delays a response, never changes it (so it cannot reveal
//! whether an account exists), and never loses an account. A failed send is logged; the
//! user can ask for the email again.
//!
//! # Example
//!
//! An email sender that hands messages to a third-party API:
//!
//! ```
//! use auth_core::{async_trait, EmailError, EmailLink, EmailSender};
//!
//! #[derive(Debug)]
//! struct ApiMailer {
//!     endpoint: String,
//! }
//!
//! #[async_trait]
//! impl EmailSender for ApiMailer {
//!     async fn send_verification_email(&self, email: &EmailLink) -> Result<(), EmailError> {
//!         // POST {to, link} to self.endpoint with your HTTP client here.
//!         let _ = (&self.endpoint, &email.to, &email.link);
//!         Ok(())
//!     }
//!
//!     async fn send_password_reset_email(&self, email: &EmailLink) -> Result<(), EmailError> {
//!         let _ = (&self.endpoint, &email.to, &email.link);
//!         Ok(())
//!     }
//! }
//! ```

use std::fmt;

use async_trait::async_trait;
use time::Duration;

use crate::error::BoxError;

/// One email carrying a single-use link: who gets it, the link, and the bare token for
/// applications whose front end builds its own link. `Debug` hides the link and token.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailLink {
    /// The recipient's (normalised) address.
    pub to: String,
    /// `{public_url}/verify-email?token=…` or `{public_url}/reset-password?token=…`.
    pub link: String,
    /// The token inside the link.
    pub token: String,
    /// How long the link stays valid.
    pub expires_in: Duration,
}

impl fmt::Debug for EmailLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailLink")
            .field("to", &self.to)
            .field("link", &"[redacted]")
            .field("token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Delivers the service's emails. Implement it to use any provider.
#[async_trait]
pub trait EmailSender: fmt::Debug + Send + Sync + 'static {
    /// Sends the email-verification link.
    ///
    /// # Errors
    ///
    /// Delivery failures; the service logs them.
    async fn send_verification_email(&self, email: &EmailLink) -> Result<(), EmailError>;

    /// Sends the password-reset link.
    ///
    /// # Errors
    ///
    /// Delivery failures; the service logs them.
    async fn send_password_reset_email(&self, email: &EmailLink) -> Result<(), EmailError>;

    /// Tells the owner that their password was changed (by them, or with a reset link),
    /// when and from where, so that a change they did not make does not go unnoticed (ASVS
    /// 5.0 6.3.7, OWASP Forgot Password Cheat Sheet). The default sends nothing: implement
    /// it to deliver the notice.
    ///
    /// # Errors
    ///
    /// Delivery failures; the service logs them.
    async fn send_password_changed_email(&self, notice: &EmailNotice) -> Result<(), EmailError> {
        tracing::debug!(
            target: "myauth::email",
            "password changed notice not sent: the email sender does not implement it"
        );
        let _ = notice;
        Ok(())
    }

    /// Tells the owner about a new sign-in, when and from where (sent only when
    /// [`AuthConfig::with_new_sign_in_email`](crate::AuthConfig::with_new_sign_in_email) is
    /// on). The default sends nothing.
    ///
    /// # Errors
    ///
    /// Delivery failures; the service logs them.
    async fn send_new_sign_in_email(&self, notice: &EmailNotice) -> Result<(), EmailError> {
        tracing::debug!(
            target: "myauth::email",
            "new sign-in notice not sent: the email sender does not implement it"
        );
        let _ = notice;
        Ok(())
    }
}

/// A security notice to an account's owner: what happened is the method it is sent with;
/// this says to whom, when and from where. It carries no link or token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailNotice {
    /// The recipient's (normalised) address.
    pub to: String,
    /// When it happened.
    pub at: time::OffsetDateTime,
    /// The client address of the request, when known.
    pub ip: Option<String>,
    /// The client's `User-Agent`, when known.
    pub user_agent: Option<String>,
}

/// A delivery failure, with its cause.
#[derive(Debug, thiserror::Error)]
#[error("email delivery failed: {message}")]
pub struct EmailError {
    message: String,
    #[source]
    source: Option<BoxError>,
}

impl EmailError {
    /// A failure described by a message (no secrets in it, please).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// A failure caused by another error.
    pub fn with_source(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self {
            message: message.into(),
            source: Some(source.into()),
        }
    }
}

/// Writes emails to the log (`tracing`, target `myauth::email`) instead of sending them.
///
/// **For development only**: the log line contains the link, which is a credential — whoever
/// reads the log can reset the account's password. Building one logs a warning saying so.
/// Never use it where the logs are read by anyone but the developer.
#[derive(Debug, Clone, Copy)]
pub struct LogEmailSender {
    _private: (),
}

impl LogEmailSender {
    /// A sender that writes every email (with its link) to the log, and warns once, now,
    /// that this is for development only.
    pub fn new() -> Self {
        tracing::warn!(
            target: "myauth::email",
            "emails are written to the log with their links (LogEmailSender): for development \
             only, anyone who reads these logs can take over the accounts they name"
        );
        Self { _private: () }
    }
}

impl Default for LogEmailSender {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl EmailSender for LogEmailSender {
    async fn send_verification_email(&self, email: &EmailLink) -> Result<(), EmailError> {
        tracing::info!(
            target: "myauth::email",
            to = %email.to,
            link = %email.link,
            expires_in_secs = email.expires_in.whole_seconds(),
            "verification email (LogEmailSender: not sent, development only)"
        );
        Ok(())
    }

    async fn send_password_reset_email(&self, email: &EmailLink) -> Result<(), EmailError> {
        tracing::info!(
            target: "myauth::email",
            to = %email.to,
            link = %email.link,
            expires_in_secs = email.expires_in.whole_seconds(),
            "password reset email (LogEmailSender: not sent, development only)"
        );
        Ok(())
    }

    async fn send_password_changed_email(&self, notice: &EmailNotice) -> Result<(), EmailError> {
        tracing::info!(
            target: "myauth::email",
            to = %notice.to,
            ip = notice.ip.as_deref(),
            "password changed notice (LogEmailSender: not sent, development only)"
        );
        Ok(())
    }

    async fn send_new_sign_in_email(&self, notice: &EmailNotice) -> Result<(), EmailError> {
        tracing::info!(
            target: "myauth::email",
            to = %notice.to,
            ip = notice.ip.as_deref(),
            "new sign-in notice (LogEmailSender: not sent, development only)"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_link_and_token() {
        let email = EmailLink {
            to: "a@example.com".into(),
            link: "http://localhost/verify-email?token=SECRET".into(),
            token: "SECRET".into(),
            expires_in: Duration::minutes(15),
        };
        let debug = format!("{email:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        assert!(debug.contains("a@example.com"));
    }

    #[tokio::test]
    async fn log_sender_always_succeeds() {
        let email = EmailLink {
            to: "a@example.com".into(),
            link: "l".into(),
            token: "t".into(),
            expires_in: Duration::minutes(1),
        };
        assert!(
            LogEmailSender::new()
                .send_verification_email(&email)
                .await
                .is_ok()
        );
        assert!(
            LogEmailSender::new()
                .send_password_reset_email(&email)
                .await
                .is_ok()
        );
    }
}
