//! # auth-smtp
//!
//! The built-in email sender of MyAuth for Rust: [`SmtpEmailSender`] delivers the
//! verification and password-reset emails of [`auth_core::AuthService`] to any SMTP server,
//! over lettre's async Tokio transport with a connection pool and rustls.
//!
//! Pick it when your application sends mail through an SMTP relay or provider (Postfix, a
//! company relay, most transactional-mail services). To call a provider's HTTP API instead,
//! implement [`auth_core::EmailSender`] yourself; during development,
//! [`auth_core::LogEmailSender`] writes the links to the log.
//!
//! - Configure by hand ([`SmtpConfig::new`]) or with one URL ([`SmtpConfig::from_url`],
//!   [`SmtpEmailSender::from_url`]): `smtp://host:2525` (plain),
//!   `smtp://user:pass@host:587?tls=starttls`, `smtps://user:pass@host:465`.
//! - Every email is `multipart/alternative`, plain text and HTML, from [`EmailTemplate`]s
//!   you can replace; values are HTML-escaped in the HTML part.
//! - Credentials are secrets: never in `Debug` output or error messages. Sending them over
//!   unencrypted SMTP needs an explicit opt-in ([`SmtpConfig::with_insecure_auth`]).
//! - Failures (server unreachable, recipient refused, timeout) come back as
//!   [`auth_core::EmailError`] with this crate's [`Error`] as the source; the service logs
//!   them. The service sends in the background, after the state change is stored, so a
//!   slow mail server never slows a response.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use auth_core::{AuthConfig, AuthService, MemoryStore, NewUser};
//! use auth_smtp::{EmailTemplate, SmtpConfig};
//! use secrecy::SecretString;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let sender = SmtpConfig::from_url("smtp://mailer:app%20password@smtp.example.com:587?tls=starttls")?
//!         .with_from("Example <no-reply@example.com>")
//!         .with_reply_to("support@example.com")
//!         .with_app_name("Example")
//!         .with_timeout(Duration::from_secs(10))
//!         .with_verification_template(EmailTemplate::new(
//!             "Welcome to {app_name}",
//!             "Confirm {email} within {expires_in}: {link}",
//!             "<p><a href=\"{link}\">Confirm {email}</a> within {expires_in}.</p>",
//!         ))
//!         .build()?;
//!
//!     let service = AuthService::builder()
//!         .config(AuthConfig::default()
//!             .with_public_url("https://app.example.com"))
//!         .store(MemoryStore::new())
//!         .email_sender(sender)
//!         .build()?;
//!
//!     // Registering sends the verification email in the background.
//!     service
//!         .register(NewUser {
//!             email: "alice@example.com".into(),
//!             username: "alice".into(),
//!             password: SecretString::from("Str0ng!pass"),
//!         })
//!         .await?;
//!     Ok(())
//! }
//! ```

mod config;
mod error;
mod sender;
mod template;

pub use lettre;

pub use crate::config::{
    DEFAULT_APP_NAME, DEFAULT_FROM, DEFAULT_TIMEOUT, SmtpConfig, SmtpCredentials, TlsMode,
};
pub use crate::error::Error;
pub use crate::sender::SmtpEmailSender;
pub use crate::template::{EmailTemplate, RenderedEmail};
