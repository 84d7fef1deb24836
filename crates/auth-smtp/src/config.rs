//! [`SmtpConfig`]: where and how to send, built by hand or from an `smtp://` / `smtps://` URL.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::{Host, Url};

use crate::error::Error;
use crate::sender::SmtpEmailSender;
use crate::template::EmailTemplate;

/// The default sender, as documented for the reference server (`MYAUTH_EMAIL_FROM`).
pub const DEFAULT_FROM: &str = "MyAuth <no-reply@localhost>";

/// The default application name in templates.
pub const DEFAULT_APP_NAME: &str = "MyAuth";

/// The default time one delivery may take, from connecting to the server's final answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How the connection to the server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsMode {
    /// Plain SMTP, nothing encrypted. For a relay on the same host or a local test server.
    /// Default port 25.
    None,
    /// Connect in clear, then upgrade with STARTTLS (RFC 3207); fail when the server does
    /// not offer it, so nothing is ever sent unencrypted. Default port 587.
    StartTls,
    /// Implicit TLS from the first byte (SMTPS, RFC 8314 recommends it). Default port 465.
    Tls,
}

impl TlsMode {
    /// The usual port for this mode: 25, 587 or 465.
    pub fn default_port(self) -> u16 {
        match self {
            Self::None => 25,
            Self::StartTls => 587,
            Self::Tls => 465,
        }
    }
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "none",
            Self::StartTls => "starttls",
            Self::Tls => "tls",
        })
    }
}

/// SMTP login (AUTH PLAIN or LOGIN). Both parts are secrets: `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct SmtpCredentials {
    username: SecretString,
    password: SecretString,
}

impl SmtpCredentials {
    /// Credentials from a user name and a password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: SecretString::from(username.into()),
            password: SecretString::from(password.into()),
        }
    }

    /// The user name.
    pub fn username(&self) -> &SecretString {
        &self.username
    }

    /// The password.
    pub fn password(&self) -> &SecretString {
        &self.password
    }

    pub(crate) fn to_lettre(&self) -> lettre::transport::smtp::authentication::Credentials {
        lettre::transport::smtp::authentication::Credentials::new(
            self.username.expose_secret().to_owned(),
            self.password.expose_secret().to_owned(),
        )
    }
}

impl fmt::Debug for SmtpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpCredentials")
            .field("username", &"[redacted]")
            .field("password", &"[redacted]")
            .finish()
    }
}

/// Everything [`SmtpEmailSender`] needs, with `with_*` setters. Build it by hand or from a
/// URL, then call [`build`](Self::build).
///
/// ```
/// use std::time::Duration;
///
/// use auth_smtp::{SmtpConfig, SmtpCredentials, TlsMode};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), auth_smtp::Error> {
/// let by_hand = SmtpConfig::new("smtp.example.com")
///     .with_tls(TlsMode::StartTls)
///     .with_credentials(SmtpCredentials::new("mailer", "app password"))
///     .with_from("Example <no-reply@example.com>")
///     .with_timeout(Duration::from_secs(10))
///     .build()?;
///
/// let from_url = SmtpConfig::from_url("smtp://mailer:app%20password@smtp.example.com:587?tls=starttls")?
///     .with_from("Example <no-reply@example.com>")
///     .build()?;
/// # let _ = (by_hand, from_url);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SmtpConfig {
    pub(crate) host: String,
    pub(crate) port: Option<u16>,
    pub(crate) tls: TlsMode,
    pub(crate) credentials: Option<SmtpCredentials>,
    pub(crate) insecure_auth: bool,
    pub(crate) from: String,
    pub(crate) reply_to: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) app_name: String,
    pub(crate) verification: EmailTemplate,
    pub(crate) password_reset: EmailTemplate,
    pub(crate) password_changed: EmailTemplate,
    pub(crate) new_sign_in: EmailTemplate,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port())
            .field("tls", &self.tls)
            .field("credentials", &self.credentials)
            .field("insecure_auth", &self.insecure_auth)
            .field("from", &self.from)
            .field("reply_to", &self.reply_to)
            .field("timeout", &self.timeout)
            .field("app_name", &self.app_name)
            .finish_non_exhaustive()
    }
}

impl SmtpConfig {
    /// A configuration for `host` with the secure defaults: implicit TLS on port 465, no
    /// credentials, sender [`DEFAULT_FROM`], timeout [`DEFAULT_TIMEOUT`], app name
    /// [`DEFAULT_APP_NAME`] and the default templates.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port: None,
            tls: TlsMode::Tls,
            credentials: None,
            insecure_auth: false,
            from: DEFAULT_FROM.to_owned(),
            reply_to: None,
            timeout: DEFAULT_TIMEOUT,
            app_name: DEFAULT_APP_NAME.to_owned(),
            verification: EmailTemplate::default_verification(),
            password_reset: EmailTemplate::default_password_reset(),
            password_changed: EmailTemplate::default_password_changed(),
            new_sign_in: EmailTemplate::default_new_sign_in(),
        }
    }

    /// A configuration from a URL:
    ///
    /// | URL | meaning |
    /// |---|---|
    /// | `smtp://host:2525` | plain SMTP (default port 25) |
    /// | `smtp://user:pass@host:587?tls=starttls` | STARTTLS required (default port 587; `tls=required` is accepted too) |
    /// | `smtps://user:pass@host:465` | implicit TLS (default port 465) |
    /// | `smtp://user:pass@127.0.0.1:2525?insecure_auth=true` | credentials over plain SMTP, for a trusted local relay only |
    ///
    /// User name and password are percent-decoded (`p%40ss` is `p@ss`). Other settings
    /// keep the defaults of [`SmtpConfig::new`]; chain `with_*` to change them.
    ///
    /// # Errors
    ///
    /// [`Error::UrlSyntax`] or [`Error::InvalidUrl`] (other scheme, no host, unknown query
    /// parameter or value, a path, undecodable credentials). The error never contains the
    /// URL, so a password in it cannot leak into logs.
    pub fn from_url(url: &str) -> Result<Self, Error> {
        let url = Url::parse(url).map_err(Error::UrlSyntax)?;
        let mut tls = match url.scheme() {
            "smtp" => TlsMode::None,
            "smtps" => TlsMode::Tls,
            other => {
                return Err(Error::InvalidUrl(format!(
                    "scheme `{other}` is not supported; use smtp or smtps"
                )));
            }
        };
        let host = match url.host() {
            Some(Host::Domain(domain)) if !domain.is_empty() => domain.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(Error::InvalidUrl("no host".to_owned())),
        };
        if !matches!(url.path(), "" | "/") {
            return Err(Error::InvalidUrl("a path is not supported".to_owned()));
        }
        if url.fragment().is_some() {
            return Err(Error::InvalidUrl("a fragment is not supported".to_owned()));
        }
        let mut insecure_auth = false;
        for (key, value) in url.query_pairs() {
            match (&*key, &*value) {
                ("tls", "none") if url.scheme() == "smtp" => tls = TlsMode::None,
                ("tls", "starttls" | "required") if url.scheme() == "smtp" => {
                    tls = TlsMode::StartTls;
                }
                ("tls", _) if url.scheme() == "smtps" => {
                    return Err(Error::InvalidUrl(
                        "smtps already means implicit tls; drop the tls parameter".to_owned(),
                    ));
                }
                ("tls", other) => {
                    return Err(Error::InvalidUrl(format!(
                        "tls=`{other}` is not supported; use none or starttls"
                    )));
                }
                ("insecure_auth", "true") => insecure_auth = true,
                ("insecure_auth", "false") => insecure_auth = false,
                (other, _) => {
                    return Err(Error::InvalidUrl(format!(
                        "unknown query parameter `{other}`"
                    )));
                }
            }
        }
        let credentials = if url.username().is_empty() && url.password().is_none() {
            None
        } else {
            let username = percent_decode(url.username())
                .ok_or_else(|| Error::InvalidUrl("the user name is not valid utf-8".into()))?;
            let password = percent_decode(url.password().unwrap_or_default())
                .ok_or_else(|| Error::InvalidUrl("the password is not valid utf-8".into()))?;
            Some(SmtpCredentials::new(username, password))
        };
        let mut config = Self::new(host).with_tls(tls);
        config.port = url.port();
        config.credentials = credentials;
        config.insecure_auth = insecure_auth;
        Ok(config)
    }

    /// The port. Default: the mode's usual port ([`TlsMode::default_port`]).
    #[must_use]
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// The connection security. Default: [`TlsMode::Tls`].
    #[must_use]
    pub fn with_tls(mut self, tls: TlsMode) -> Self {
        self.tls = tls;
        self
    }

    /// Logs in with these credentials (AUTH PLAIN, or LOGIN when the server offers only
    /// that). Default: none.
    #[must_use]
    pub fn with_credentials(mut self, credentials: SmtpCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Allows credentials over [`TlsMode::None`], where anyone on the path can read them.
    /// Only for a relay on a trusted network, such as a local development server.
    /// Default: `false` ([`build`](Self::build) refuses the combination).
    #[must_use]
    pub fn with_insecure_auth(mut self, allow: bool) -> Self {
        self.insecure_auth = allow;
        self
    }

    /// The sender (`From`), as `Name <address>` or a bare address. Default:
    /// [`DEFAULT_FROM`]. Checked by [`build`](Self::build).
    #[must_use]
    pub fn with_from(mut self, from: impl Into<String>) -> Self {
        self.from = from.into();
        self
    }

    /// A `Reply-To` address. Default: none. Checked by [`build`](Self::build).
    #[must_use]
    pub fn with_reply_to(mut self, reply_to: impl Into<String>) -> Self {
        self.reply_to = Some(reply_to.into());
        self
    }

    /// The longest one delivery may take, connection included. Default: [`DEFAULT_TIMEOUT`].
    /// The service sends in the background, so this bounds how long a stuck server holds
    /// a task and a pooled connection, not a response.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The application name for `{app_name}`. Default: [`DEFAULT_APP_NAME`].
    #[must_use]
    pub fn with_app_name(mut self, app_name: impl Into<String>) -> Self {
        self.app_name = app_name.into();
        self
    }

    /// The email-verification template. Default: [`EmailTemplate::default_verification`].
    #[must_use]
    pub fn with_verification_template(mut self, template: EmailTemplate) -> Self {
        self.verification = template;
        self
    }

    /// The password-reset template. Default: [`EmailTemplate::default_password_reset`].
    #[must_use]
    pub fn with_password_reset_template(mut self, template: EmailTemplate) -> Self {
        self.password_reset = template;
        self
    }

    /// The server's host name or IP address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port in force: the one set, or the mode's default.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.tls.default_port())
    }

    /// The connection security.
    pub fn tls(&self) -> TlsMode {
        self.tls
    }

    /// The credentials, if any.
    pub fn credentials(&self) -> Option<&SmtpCredentials> {
        self.credentials.as_ref()
    }

    /// The sender as configured.
    pub fn from_address(&self) -> &str {
        &self.from
    }

    /// The timeout of one delivery.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The "your password was changed" notice. Default:
    /// [`EmailTemplate::default_password_changed`]. Notices fill in `{email}`, `{app_name}`,
    /// `{time}`, `{ip}` and `{user_agent}` (see [`EmailTemplate::render_notice`]).
    #[must_use]
    pub fn with_password_changed_template(mut self, template: EmailTemplate) -> Self {
        self.password_changed = template;
        self
    }

    /// The "new sign-in" notice. Default: [`EmailTemplate::default_new_sign_in`].
    #[must_use]
    pub fn with_new_sign_in_template(mut self, template: EmailTemplate) -> Self {
        self.new_sign_in = template;
        self
    }

    /// Checks the configuration and builds the sender. No connection is opened yet: the
    /// pool connects on the first email, so this works outside a Tokio runtime too.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidAddress`] for a malformed sender or reply-to address,
    /// [`Error::InsecureAuth`] for credentials over plain SMTP without the opt-in,
    /// [`Error::Tls`] when the TLS client cannot be set up.
    pub fn build(self) -> Result<SmtpEmailSender, Error> {
        SmtpEmailSender::new(self)
    }
}

/// Decodes `%XX` escapes (RFC 3986 §2.1); `None` when the result is not UTF-8. A `%` not
/// followed by two hex digits stays as it is, as browsers do.
fn percent_decode(input: &str) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&hi), Some(&lo)) if hex(hi).is_some() && hex(lo).is_some() => {
                let value = hex(hi).unwrap_or_default() * 16 + hex(lo).unwrap_or_default();
                out.push(u8::try_from(value).unwrap_or_default());
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_url() {
        let config = SmtpConfig::from_url("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(config.host(), "127.0.0.1");
        assert_eq!(config.port(), 2525);
        assert_eq!(config.tls(), TlsMode::None);
        assert!(config.credentials().is_none());
        assert_eq!(config.from_address(), DEFAULT_FROM);
        assert_eq!(config.timeout(), DEFAULT_TIMEOUT);
    }

    #[test]
    fn starttls_url_with_credentials() {
        let config =
            SmtpConfig::from_url("smtp://mailer:s3cret@smtp.example.com:587?tls=starttls").unwrap();
        assert_eq!(config.host(), "smtp.example.com");
        assert_eq!(config.port(), 587);
        assert_eq!(config.tls(), TlsMode::StartTls);
        let credentials = config.credentials().unwrap();
        assert_eq!(credentials.username().expose_secret(), "mailer");
        assert_eq!(credentials.password().expose_secret(), "s3cret");
        let lettre_style = SmtpConfig::from_url("smtp://h?tls=required").unwrap();
        assert_eq!(lettre_style.tls(), TlsMode::StartTls);
        assert_eq!(lettre_style.port(), 587);
    }

    #[test]
    fn smtps_url_with_percent_encoded_credentials() {
        let config = SmtpConfig::from_url(
            "smtps://no-reply%40example.com:p%40ss%3Aw%2Fo%25rd%20x@mail.example.com",
        )
        .unwrap();
        assert_eq!(config.tls(), TlsMode::Tls);
        assert_eq!(config.port(), 465);
        let credentials = config.credentials().unwrap();
        assert_eq!(
            credentials.username().expose_secret(),
            "no-reply@example.com"
        );
        assert_eq!(credentials.password().expose_secret(), "p@ss:w/o%rd x");
    }

    #[test]
    fn default_ports_follow_the_mode() {
        assert_eq!(SmtpConfig::from_url("smtp://h").unwrap().port(), 25);
        assert_eq!(SmtpConfig::from_url("smtps://h").unwrap().port(), 465);
        assert_eq!(SmtpConfig::new("h").port(), 465);
        assert_eq!(SmtpConfig::new("h").with_tls(TlsMode::StartTls).port(), 587);
        assert_eq!(SmtpConfig::new("h").with_port(2525).port(), 2525);
    }

    #[test]
    fn ipv6_hosts_lose_their_brackets() {
        let config = SmtpConfig::from_url("smtp://[::1]:2525").unwrap();
        assert_eq!(config.host(), "::1");
    }

    #[test]
    fn insecure_auth_is_an_explicit_url_option() {
        let config = SmtpConfig::from_url("smtp://u:p@127.0.0.1:2525?insecure_auth=true").unwrap();
        assert!(config.insecure_auth);
        let config = SmtpConfig::from_url("smtp://u:p@127.0.0.1:2525").unwrap();
        assert!(!config.insecure_auth);
    }

    #[test]
    fn bad_urls_are_clear_errors_without_the_password() {
        let cases = [
            ("http://user:hunter2@host", "scheme `http`"),
            ("smtp://user:hunter2@host?tls=maybe", "tls=`maybe`"),
            (
                "smtps://user:hunter2@host?tls=starttls",
                "smtps already means",
            ),
            (
                "smtp://user:hunter2@host?tsl=starttls",
                "unknown query parameter `tsl`",
            ),
            ("smtp://user:hunter2@host/ehlo", "a path"),
            ("smtp://user:hunter2@host#x", "a fragment"),
            ("smtp://user:hunter2%FF@host", "not valid utf-8"),
            ("smtp:relay.example.com", "no host"),
        ];
        for (url, expected) in cases {
            let error = SmtpConfig::from_url(url).unwrap_err();
            let message = error.to_string();
            assert!(matches!(error, Error::InvalidUrl(_)), "{url}: {error:?}");
            assert!(message.contains(expected), "{url}: {message}");
            assert!(!message.contains("hunter2"), "{message}");
            assert!(!format!("{error:?}").contains("hunter2"));
        }
        let error = SmtpConfig::from_url("not a url with hunter2").unwrap_err();
        assert!(matches!(error, Error::UrlSyntax(_)), "{error:?}");
        assert!(!error.to_string().contains("hunter2"));
        let error = SmtpConfig::from_url("smtp://user:hunter2@").unwrap_err();
        assert!(matches!(error, Error::UrlSyntax(_)), "{error:?}");
        let error = SmtpConfig::from_url("smtp://user:hunter2@host:99999").unwrap_err();
        assert!(matches!(error, Error::UrlSyntax(_)), "{error:?}");
    }

    #[test]
    fn credentials_never_print() {
        let config = SmtpConfig::from_url("smtps://mailer:hunter2@mail.example.com").unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!debug.contains("mailer"), "{debug}");
        assert!(debug.contains("[redacted]"), "{debug}");
        let credentials = SmtpCredentials::new("mailer", "hunter2");
        assert_eq!(
            format!("{credentials:?}"),
            "SmtpCredentials { username: \"[redacted]\", password: \"[redacted]\" }"
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%2Fc").as_deref(), Some("a b/c"));
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
        assert_eq!(percent_decode("%zz%4").as_deref(), Some("%zz%4"));
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("é"));
        assert_eq!(percent_decode("%FF"), None);
    }
}
