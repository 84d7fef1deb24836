//! [`SmtpEmailSender`]: the [`EmailSender`] that speaks SMTP through lettre's pooled async
//! transport.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use auth_core::{EmailError, EmailLink, EmailNotice, EmailSender, async_trait};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{SmtpConfig, TlsMode};
use crate::error::Error;
use crate::template::{EmailTemplate, RenderedEmail};

/// Sends the service's verification and password-reset emails over SMTP.
///
/// Each email is `multipart/alternative` with a plain-text and an HTML part rendered from
/// an [`EmailTemplate`], with `Date`, `Message-ID`, `From`, `To`, `Subject` (and
/// `Reply-To` when configured). Connections come from lettre's pool (up to 10, idle ones
/// closed after 60 s), opened on the first email. Each delivery, connecting included, is
/// bounded by the configured timeout.
///
/// Cheap to clone: clones share the pool. Build it with [`SmtpConfig`] or
/// [`SmtpEmailSender::from_url`].
///
/// ```no_run
/// use auth_core::{AuthConfig, AuthService, MemoryStore};
/// use auth_smtp::SmtpEmailSender;
///
/// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let sender = SmtpEmailSender::from_url("smtp://127.0.0.1:2525", "MyAuth <no-reply@localhost>")?;
/// let service = AuthService::builder()
///     .config(AuthConfig::default())
///     .store(MemoryStore::new())
///     .email_sender(sender)
///     .build()?;
/// # let _ = service;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SmtpEmailSender {
    inner: Arc<Inner>,
}

struct Inner {
    /// Kept to open a fresh pool after a timeout (see [`SmtpEmailSender::reset_pool`]).
    builder: AsyncSmtpTransportBuilder,
    /// Created on first use: lettre's pool spawns its clean-up task when it is built, which
    /// needs a Tokio runtime, and `build` should work without one.
    transport: RwLock<Option<AsyncSmtpTransport<Tokio1Executor>>>,
    host: String,
    port: u16,
    tls: TlsMode,
    authenticated: bool,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    timeout: Duration,
    app_name: String,
    verification: EmailTemplate,
    password_reset: EmailTemplate,
    password_changed: EmailTemplate,
    new_sign_in: EmailTemplate,
}

impl fmt::Debug for SmtpEmailSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("SmtpEmailSender")
            .field("host", &inner.host)
            .field("port", &inner.port)
            .field("tls", &inner.tls)
            .field(
                "credentials",
                &if inner.authenticated {
                    "[redacted]"
                } else {
                    "none"
                },
            )
            .field("from", &inner.from.to_string())
            .field("reply_to", &inner.reply_to.as_ref().map(Mailbox::to_string))
            .field("timeout", &inner.timeout)
            .field("app_name", &inner.app_name)
            .finish_non_exhaustive()
    }
}

impl SmtpEmailSender {
    /// A sender from an SMTP URL (see [`SmtpConfig::from_url`]) and a `From` address, with
    /// every other setting at its default.
    ///
    /// # Errors
    ///
    /// As [`SmtpConfig::from_url`] and [`SmtpConfig::build`].
    pub fn from_url(url: &str, from: &str) -> Result<Self, Error> {
        SmtpConfig::from_url(url)?.with_from(from).build()
    }

    pub(crate) fn new(config: SmtpConfig) -> Result<Self, Error> {
        let from = parse_mailbox(&config.from, "from")?;
        let reply_to = config
            .reply_to
            .as_deref()
            .map(|reply_to| parse_mailbox(reply_to, "reply-to"))
            .transpose()?;
        if config.credentials.is_some() && config.tls == TlsMode::None && !config.insecure_auth {
            return Err(Error::InsecureAuth);
        }
        let port = config.port();
        let tls = match config.tls {
            TlsMode::None => Tls::None,
            TlsMode::StartTls => Tls::Required(tls_parameters(&config.host)?),
            TlsMode::Tls => Tls::Wrapper(tls_parameters(&config.host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(port)
            .tls(tls)
            .timeout(Some(config.timeout));
        if let Some(credentials) = &config.credentials {
            builder = builder.credentials(credentials.to_lettre());
        }
        Ok(Self {
            inner: Arc::new(Inner {
                builder,
                transport: RwLock::new(None),
                host: config.host,
                port,
                tls: config.tls,
                authenticated: config.credentials.is_some(),
                from,
                reply_to,
                timeout: config.timeout,
                app_name: config.app_name,
                verification: config.verification,
                password_reset: config.password_reset,
                password_changed: config.password_changed,
                new_sign_in: config.new_sign_in,
            }),
        })
    }

    /// Renders `template` for `email` and delivers it. The [`EmailSender`] methods call
    /// this with the configured templates; call it directly for other link emails.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidAddress`] for a malformed recipient, [`Error::Message`] when the
    /// message cannot be built, [`Error::Smtp`] when the server cannot be reached or
    /// refuses (see [`Error::is_permanent`]), [`Error::Timeout`] when it does not finish
    /// within the timeout.
    pub async fn send(&self, template: &EmailTemplate, email: &EmailLink) -> Result<(), Error> {
        let rendered = template.render(email, &self.inner.app_name);
        let message = self.message(&email.to, rendered)?;
        self.deliver(message).await
    }

    /// Sends one security notice rendered from `template` (see
    /// [`EmailTemplate::render_notice`]).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn send_notice(
        &self,
        template: &EmailTemplate,
        notice: &EmailNotice,
    ) -> Result<(), Error> {
        let rendered = template.render_notice(notice, &self.inner.app_name);
        let message = self.message(&notice.to, rendered)?;
        self.deliver(message).await
    }

    /// Hands one message to the pool, within the timeout.
    async fn deliver(&self, message: Message) -> Result<(), Error> {
        let transport = self.transport();
        match tokio::time::timeout(self.inner.timeout, transport.send(message)).await {
            Ok(Ok(_response)) => Ok(()),
            Ok(Err(error)) => Err(Error::Smtp(error)),
            Err(_elapsed) => {
                self.reset_pool();
                Err(Error::Timeout(self.inner.timeout))
            }
        }
    }

    /// Builds the MIME message for one rendered email.
    fn message(&self, to: &str, rendered: RenderedEmail) -> Result<Message, Error> {
        let to = to
            .parse::<Address>()
            .map_err(|source| Error::InvalidAddress {
                role: "recipient",
                source,
            })?;
        let mut builder = Message::builder()
            .from(self.inner.from.clone())
            .to(Mailbox::new(None, to))
            .subject(rendered.subject)
            .message_id(None)
            .date_now();
        if let Some(reply_to) = &self.inner.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        // Quoted-printable keeps long link lines intact (no line over 76 characters on the
        // wire) and any UTF-8 in an application's template 7-bit clean.
        let part = |content_type: ContentType, body: String| {
            SinglePart::builder()
                .header(content_type)
                .header(ContentTransferEncoding::QuotedPrintable)
                .body(body)
        };
        builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(part(ContentType::TEXT_PLAIN, rendered.text))
                    .singlepart(part(ContentType::TEXT_HTML, rendered.html)),
            )
            .map_err(Error::Message)
    }

    /// The pooled transport, created on first use.
    fn transport(&self) -> AsyncSmtpTransport<Tokio1Executor> {
        if let Some(transport) = self
            .inner
            .transport
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            return transport.clone();
        }
        self.inner
            .transport
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_with(|| self.inner.builder.clone().build())
            .clone()
    }

    /// Drops the pool after a timeout, so the next email gets a fresh connection.
    ///
    /// lettre's Tokio transport bounds only the connect with a timeout; a server that stops
    /// answering mid-conversation is cut off by our deadline, which drops the conversation.
    /// lettre then puts that connection back into its pool as if it were healthy, and the
    /// next email would wait on the same dead conversation. A fresh pool avoids that; sends
    /// still in flight keep the old one until they finish.
    fn reset_pool(&self) {
        self.inner
            .transport
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    fn failure(&self, what: &str, error: Error) -> EmailError {
        let Inner { host, port, .. } = &*self.inner;
        EmailError::with_source(format!("{what} via smtp {host}:{port}"), error)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Dropping lettre's pool spawns a task to close its connections, which panics
        // outside a Tokio runtime (e.g. when a sync `main` drops the sender after its
        // runtime is gone). There the process is ending anyway: let the OS close them.
        if tokio::runtime::Handle::try_current().is_err()
            && let Some(transport) = self
                .transport
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
        {
            std::mem::forget(transport);
        }
    }
}

#[async_trait]
impl EmailSender for SmtpEmailSender {
    async fn send_verification_email(&self, email: &EmailLink) -> Result<(), EmailError> {
        self.send(&self.inner.verification, email)
            .await
            .map_err(|error| self.failure("verification email", error))
    }

    async fn send_password_reset_email(&self, email: &EmailLink) -> Result<(), EmailError> {
        self.send(&self.inner.password_reset, email)
            .await
            .map_err(|error| self.failure("password reset email", error))
    }

    async fn send_password_changed_email(&self, notice: &EmailNotice) -> Result<(), EmailError> {
        self.send_notice(&self.inner.password_changed, notice)
            .await
            .map_err(|error| self.failure("password changed notice", error))
    }

    async fn send_new_sign_in_email(&self, notice: &EmailNotice) -> Result<(), EmailError> {
        self.send_notice(&self.inner.new_sign_in, notice)
            .await
            .map_err(|error| self.failure("new sign-in notice", error))
    }
}

fn parse_mailbox(value: &str, role: &'static str) -> Result<Mailbox, Error> {
    value
        .parse::<Mailbox>()
        .map_err(|source| Error::InvalidAddress { role, source })
}

fn tls_parameters(host: &str) -> Result<TlsParameters, Error> {
    TlsParameters::new(host.to_owned()).map_err(Error::Tls)
}

#[cfg(feature = "fuzzing")]
impl SmtpEmailSender {
    /// The MIME message [`send`](Self::send) would hand to the server for one email, as
    /// bytes, without connecting (feature `fuzzing`, for the fuzz targets). Not an API.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send) before it connects: [`Error::InvalidAddress`] or
    /// [`Error::Message`].
    #[doc(hidden)]
    pub fn fuzz_message(
        &self,
        template: &EmailTemplate,
        email: &EmailLink,
    ) -> Result<Vec<u8>, Error> {
        let rendered = template.render(email, &self.inner.app_name);
        Ok(self.message(&email.to, rendered)?.formatted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SmtpCredentials;

    #[test]
    fn builds_without_a_runtime_and_drops_cleanly() {
        let sender =
            SmtpEmailSender::from_url("smtp://127.0.0.1:2525", "MyAuth <no-reply@localhost>")
                .unwrap();
        drop(sender.clone());
        drop(sender);
    }

    #[test]
    fn every_tls_mode_builds() {
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://u:p@smtp.example.com?tls=starttls",
            "smtps://u:p@smtp.example.com",
            "smtps://[::1]",
        ] {
            SmtpEmailSender::from_url(url, "a@example.com").unwrap();
        }
    }

    #[test]
    fn bad_addresses_fail_at_build_time() {
        let error = SmtpEmailSender::from_url("smtp://h", "not an address").unwrap_err();
        assert!(
            matches!(error, Error::InvalidAddress { role: "from", .. }),
            "{error:?}"
        );
        assert_eq!(error.to_string(), "invalid from address");
        let error = SmtpConfig::from_url("smtp://h")
            .unwrap()
            .with_reply_to("@nope")
            .build()
            .unwrap_err();
        assert!(
            matches!(
                error,
                Error::InvalidAddress {
                    role: "reply-to",
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn credentials_over_plain_smtp_need_the_opt_in() {
        let error = SmtpEmailSender::from_url("smtp://u:hunter2@h", "a@example.com").unwrap_err();
        assert!(matches!(error, Error::InsecureAuth), "{error:?}");
        assert!(!error.to_string().contains("hunter2"));
        SmtpEmailSender::from_url("smtp://u:p@h?insecure_auth=true", "a@example.com").unwrap();
        SmtpConfig::new("h")
            .with_tls(TlsMode::None)
            .with_credentials(SmtpCredentials::new("u", "p"))
            .with_insecure_auth(true)
            .build()
            .unwrap();
    }

    #[test]
    fn debug_shows_the_server_but_not_the_credentials() {
        let sender = SmtpConfig::from_url("smtps://mailer:hunter2@mail.example.com")
            .unwrap()
            .with_from("Example <no-reply@example.com>")
            .build()
            .unwrap();
        let debug = format!("{sender:?}");
        assert!(debug.contains("mail.example.com"), "{debug}");
        assert!(debug.contains("465"), "{debug}");
        assert!(debug.contains("no-reply@example.com"), "{debug}");
        assert!(debug.contains("[redacted]"), "{debug}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!debug.contains("mailer"), "{debug}");
    }
}
