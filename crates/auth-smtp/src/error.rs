//! The crate's [`Error`]: bad configuration at build time, failed deliveries at send time.

use std::time::Duration;

/// What went wrong while configuring the sender or delivering a message.
///
/// No variant carries a password: URL errors name the problem, never the URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The SMTP URL could not be parsed at all.
    #[error("invalid smtp url")]
    UrlSyntax(#[source] url::ParseError),

    /// The SMTP URL parsed but does not describe a usable server.
    #[error("invalid smtp url: {0}")]
    InvalidUrl(String),

    /// An email address (sender, reply-to or recipient) is malformed.
    #[error("invalid {role} address")]
    InvalidAddress {
        /// Which address: `from`, `reply-to` or `recipient`.
        role: &'static str,
        /// Why lettre refused it.
        #[source]
        source: lettre::address::AddressError,
    },

    /// Credentials were configured for an unencrypted connection without opting in: they
    /// would cross the network in clear text. Use STARTTLS or implicit TLS, or call
    /// [`SmtpConfig::with_insecure_auth`](crate::SmtpConfig::with_insecure_auth)
    /// (URL: `insecure_auth=true`) for a trusted local relay.
    #[error("smtp credentials over an unencrypted connection need an explicit opt-in")]
    InsecureAuth,

    /// The TLS client configuration could not be built.
    #[error("smtp tls set-up failed")]
    Tls(#[source] lettre::transport::smtp::Error),

    /// The message could not be assembled.
    #[error("the email message could not be built")]
    Message(#[source] lettre::error::Error),

    /// The SMTP conversation failed: connection refused, TLS failure, authentication
    /// refused, sender or recipient rejected, or the server's own timeout.
    #[error("the smtp conversation failed")]
    Smtp(#[source] lettre::transport::smtp::Error),

    /// The server did not finish the conversation within the configured timeout.
    #[error("no answer from the smtp server within {0:?}")]
    Timeout(Duration),
}

impl Error {
    /// Whether the failure is a timeout (ours, or lettre's while connecting).
    pub fn is_timeout(&self) -> bool {
        match self {
            Self::Timeout(_) => true,
            Self::Smtp(error) => error.is_timeout(),
            _ => false,
        }
    }

    /// Whether the server refused for good (a 5xx answer, e.g. an unknown recipient):
    /// sending the same message again will fail again.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Smtp(error) if error.is_permanent())
    }
}
