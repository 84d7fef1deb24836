//! Email templates: a subject, a plain-text body and an HTML body with placeholders.

use std::fmt::Write as _;

use auth_core::{EmailLink, EmailNotice};

/// A subject, a plain-text body and an HTML body, with placeholders the sender fills in:
///
/// | placeholder | value |
/// |---|---|
/// | `{link}` | the single-use link (`{public_url}/verify-email?token=…`) |
/// | `{token}` | the bare token, for front ends that build their own link |
/// | `{email}` | the recipient's address |
/// | `{app_name}` | the application name ([`SmtpConfig::with_app_name`](crate::SmtpConfig::with_app_name)) |
/// | `{expires_in}` | how long the link is valid, in words: `15 minutes`, `24 hours` |
///
/// In the HTML body every substituted value is HTML-escaped; in the subject and the text
/// body it is inserted as is (line breaks in the subject become spaces). Any other text in
/// braces, such as CSS, is left alone. Values are never substituted twice: a value that
/// itself contains `{token}` stays literal.
///
/// ```
/// use auth_smtp::EmailTemplate;
///
/// let template = EmailTemplate::new(
///     "Welcome to {app_name}",
///     "Confirm your address: {link} (valid for {expires_in})",
///     "<p><a href=\"{link}\">Confirm your address</a> (valid for {expires_in})</p>",
/// );
/// assert!(template.subject().contains("{app_name}"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailTemplate {
    subject: String,
    text: String,
    html: String,
}

/// A rendered email: what [`EmailTemplate::render`] produces and the sender sends.
#[derive(Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    /// The subject line.
    pub subject: String,
    /// The `text/plain` part.
    pub text: String,
    /// The `text/html` part.
    pub html: String,
}

impl std::fmt::Debug for RenderedEmail {
    // The bodies contain the link, which is a credential until it is used.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderedEmail")
            .field("subject", &self.subject)
            .field("text", &"[redacted]")
            .field("html", &"[redacted]")
            .finish()
    }
}

impl EmailTemplate {
    /// A template from a subject, a plain-text body and an HTML body.
    pub fn new(
        subject: impl Into<String>,
        text: impl Into<String>,
        html: impl Into<String>,
    ) -> Self {
        Self {
            subject: subject.into(),
            text: text.into(),
            html: html.into(),
        }
    }

    /// The default email-verification template.
    pub fn default_verification() -> Self {
        Self::new(
            "Confirm your email address for {app_name}",
            "Hello,\n\
             \n\
             please confirm that {email} is your email address for {app_name} by opening\n\
             this link:\n\
             \n\
             {link}\n\
             \n\
             The link is valid for {expires_in}. If you did not create an account, you can\n\
             ignore this email.\n",
            html_page(
                "Confirm your email address",
                "<p>Hello,</p>\n\
                 <p>please confirm that {email} is your email address for {app_name}.</p>\n\
                 <p><a href=\"{link}\">Confirm my email address</a></p>\n\
                 <p>Or copy this link into your browser:<br>{link}</p>\n\
                 <p>The link is valid for {expires_in}. If you did not create an account, \
                 you can ignore this email.</p>",
            ),
        )
    }

    /// The default password-reset template.
    pub fn default_password_reset() -> Self {
        Self::new(
            "Reset your {app_name} password",
            "Hello,\n\
             \n\
             someone asked to reset the password of the {app_name} account {email}.\n\
             To choose a new password, open this link:\n\
             \n\
             {link}\n\
             \n\
             The link is valid for {expires_in} and works once. If you did not ask for a\n\
             password reset, ignore this email: your password stays unchanged.\n",
            html_page(
                "Reset your password",
                "<p>Hello,</p>\n\
                 <p>someone asked to reset the password of the {app_name} account {email}.</p>\n\
                 <p><a href=\"{link}\">Choose a new password</a></p>\n\
                 <p>Or copy this link into your browser:<br>{link}</p>\n\
                 <p>The link is valid for {expires_in} and works once. If you did not ask \
                 for a password reset, ignore this email: your password stays unchanged.</p>",
            ),
        )
    }

    /// The default "your password was changed" notice (ASVS 5.0 6.3.7).
    pub fn default_password_changed() -> Self {
        Self::new(
            "Your {app_name} password was changed",
            "Hello,\n\
             \n\
             the password of the {app_name} account {email} was changed on {time}\n\
             (client address {ip}, browser {user_agent}). Every session was signed out.\n\
             \n\
             If this was you, there is nothing to do. If it was not, reset your password\n\
             now and contact us: someone else may have access to your email or account.\n",
            html_page(
                "Your password was changed",
                "<p>Hello,</p>\n\
                 <p>the password of the {app_name} account {email} was changed on {time} \
                 (client address {ip}, browser {user_agent}). Every session was signed out.</p>\n\
                 <p>If this was you, there is nothing to do. If it was not, reset your \
                 password now and contact us: someone else may have access to your email or \
                 account.</p>",
            ),
        )
    }

    /// The default "new sign-in" notice (sent only when the service is configured to).
    pub fn default_new_sign_in() -> Self {
        Self::new(
            "New sign-in to your {app_name} account",
            "Hello,\n\
             \n\
             there was a new sign-in to the {app_name} account {email} on {time}\n\
             (client address {ip}, browser {user_agent}).\n\
             \n\
             If this was you, there is nothing to do. If it was not, change your password\n\
             now and sign out every session.\n",
            html_page(
                "New sign-in",
                "<p>Hello,</p>\n\
                 <p>there was a new sign-in to the {app_name} account {email} on {time} \
                 (client address {ip}, browser {user_agent}).</p>\n\
                 <p>If this was you, there is nothing to do. If it was not, change your \
                 password now and sign out every session.</p>",
            ),
        )
    }

    /// Fills in the placeholders for one security notice: `{email}`, `{app_name}`, `{time}`
    /// (RFC 3339, UTC), `{ip}` and `{user_agent}` (`unknown` when absent). Escaping as in
    /// [`render`](Self::render); a notice has no `{link}`, `{token}` or `{expires_in}`.
    pub fn render_notice(&self, notice: &EmailNotice, app_name: &str) -> RenderedEmail {
        let time = notice
            .at
            .to_offset(time::UtcOffset::UTC)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| notice.at.to_string());
        let value = |name: &str| -> Option<&str> {
            match name {
                "email" => Some(&notice.to),
                "app_name" => Some(app_name),
                "time" => Some(&time),
                "ip" => Some(notice.ip.as_deref().unwrap_or("unknown")),
                "user_agent" => Some(notice.user_agent.as_deref().unwrap_or("unknown")),
                _ => None,
            }
        };
        let subject = substitute(&self.subject, &value, |out, v| out.push_str(v));
        RenderedEmail {
            subject: subject.replace(['\r', '\n'], " "),
            text: substitute(&self.text, &value, |out, v| out.push_str(v)),
            html: substitute(&self.html, &value, escape_html),
        }
    }

    /// The subject template.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The plain-text body template.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The HTML body template.
    pub fn html(&self) -> &str {
        &self.html
    }

    /// Fills in the placeholders for one email.
    pub fn render(&self, email: &EmailLink, app_name: &str) -> RenderedEmail {
        let expires_in = human_duration(email.expires_in.whole_seconds());
        let value = |name: &str| -> Option<&str> {
            match name {
                "link" => Some(&email.link),
                "token" => Some(&email.token),
                "email" => Some(&email.to),
                "app_name" => Some(app_name),
                "expires_in" => Some(&expires_in),
                _ => None,
            }
        };
        let subject = substitute(&self.subject, &value, |out, v| out.push_str(v));
        RenderedEmail {
            // A line break in a header would end it; lettre encodes the rest.
            subject: subject.replace(['\r', '\n'], " "),
            text: substitute(&self.text, &value, |out, v| out.push_str(v)),
            html: substitute(&self.html, &value, escape_html),
        }
    }
}

/// Wraps a body fragment in a minimal, mail-client-friendly HTML document.
fn html_page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n\
         <html>\n\
         <head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body style=\"font-family: sans-serif; line-height: 1.5;\">\n\
         {body}\n\
         <p style=\"color: #666;\">{{app_name}}</p>\n\
         </body>\n\
         </html>\n"
    )
}

/// Replaces every known `{name}` in `template` in a single pass, so substituted values are
/// never scanned again.
fn substitute<'v>(
    template: &str,
    value: &dyn Fn(&str) -> Option<&'v str>,
    push: impl Fn(&mut String, &str),
) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let known = after
            .find('}')
            .and_then(|close| value(&after[..close]).map(|v| (close, v)));
        match known {
            Some((close, v)) => {
                push(&mut out, v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Escapes the five characters that matter in HTML text and attribute values (OWASP XSS
/// Prevention Cheat Sheet, rule 1 and 2).
pub(crate) fn escape_html(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
}

/// A lifetime in words: whole days from two days on, otherwise hours, minutes and seconds
/// (`15 minutes`, `24 hours`, `1 hour 30 minutes`, `7 days`).
pub(crate) fn human_duration(seconds: i64) -> String {
    const DAY: i64 = 86_400;
    let seconds = seconds.max(0);
    if seconds >= 2 * DAY && seconds % DAY == 0 {
        return plural(seconds / DAY, "day");
    }
    let parts = [
        (seconds / 3600, "hour"),
        (seconds % 3600 / 60, "minute"),
        (seconds % 60, "second"),
    ];
    let mut out = String::new();
    for (n, unit) in parts.into_iter().filter(|(n, _)| *n > 0) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&plural(n, unit));
    }
    if out.is_empty() {
        out.push_str("0 seconds");
    }
    out
}

fn plural(n: i64, unit: &str) -> String {
    let mut out = String::new();
    let _ = write!(out, "{n} {unit}");
    if n != 1 {
        out.push('s');
    }
    out
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;

    fn link(to: &str, link: &str, token: &str, minutes: i64) -> EmailLink {
        EmailLink {
            to: to.into(),
            link: link.into(),
            token: token.into(),
            expires_in: Duration::minutes(minutes),
        }
    }

    #[test]
    fn notices_fill_in_when_and_from_where_and_escape_the_agent_in_html() {
        let notice = EmailNotice {
            to: "a@example.com".into(),
            at: time::OffsetDateTime::UNIX_EPOCH + Duration::seconds(90),
            ip: Some("192.0.2.9".into()),
            user_agent: Some("<script>x</script>".into()),
        };
        for template in [
            EmailTemplate::default_password_changed(),
            EmailTemplate::default_new_sign_in(),
        ] {
            let out = template.render_notice(&notice, "App");
            assert!(out.subject.contains("App"), "{}", out.subject);
            for part in [&out.text, &out.html] {
                assert!(part.contains("a@example.com"), "{part}");
                assert!(part.contains("1970-01-01T00:01:30Z"), "{part}");
                assert!(part.contains("192.0.2.9"), "{part}");
                assert!(!part.contains("http"), "a notice carries no link: {part}");
            }
            assert!(out.text.contains("<script>x</script>"));
            assert!(!out.html.contains("<script>"), "{}", out.html);
            assert!(out.html.contains("&lt;script&gt;"));
        }
        let unknown = EmailNotice {
            ip: None,
            user_agent: None,
            ..notice
        };
        let out = EmailTemplate::default_password_changed().render_notice(&unknown, "App");
        assert!(out.text.contains("client address unknown"), "{}", out.text);
    }

    #[test]
    fn lifetimes_read_like_words() {
        assert_eq!(human_duration(15 * 60), "15 minutes");
        assert_eq!(human_duration(24 * 3600), "24 hours");
        assert_eq!(human_duration(3600), "1 hour");
        assert_eq!(human_duration(60), "1 minute");
        assert_eq!(human_duration(5400), "1 hour 30 minutes");
        assert_eq!(human_duration(7 * 86_400), "7 days");
        assert_eq!(human_duration(2 * 86_400 + 1), "48 hours 1 second");
        assert_eq!(human_duration(45), "45 seconds");
        assert_eq!(human_duration(0), "0 seconds");
        assert_eq!(human_duration(-5), "0 seconds");
    }

    #[test]
    fn every_placeholder_is_filled() {
        let template = EmailTemplate::new(
            "{app_name}: {email}",
            "{link} {token} {email} {app_name} {expires_in}",
            "{link} {token} {email} {app_name} {expires_in}",
        );
        let email = link("a@example.com", "https://x/verify?token=T", "T", 15);
        let out = template.render(&email, "App");
        assert_eq!(out.subject, "App: a@example.com");
        assert_eq!(
            out.text,
            "https://x/verify?token=T T a@example.com App 15 minutes"
        );
        assert_eq!(out.html, out.text);
    }

    #[test]
    fn html_values_are_escaped_and_text_values_are_not() {
        let template = EmailTemplate::new("{app_name}", "{link} {app_name}", "{link} {app_name}");
        let email = link("a@example.com", "https://x/?a=1&b=<2>", "T", 1);
        let out = template.render(&email, "Tom & \"Jerry's\"");
        assert_eq!(out.text, "https://x/?a=1&b=<2> Tom & \"Jerry's\"");
        assert_eq!(
            out.html,
            "https://x/?a=1&amp;b=&lt;2&gt; Tom &amp; &quot;Jerry&#x27;s&quot;"
        );
        assert_eq!(out.subject, "Tom & \"Jerry's\"");
    }

    #[test]
    fn unknown_braces_stay_and_values_are_not_substituted_twice() {
        let template = EmailTemplate::new(
            "s",
            "{unknown} {link} { color: red } {",
            "<style>p { margin: 0 }</style>{link}",
        );
        let email = link("a@example.com", "{token}", "SECRET", 1);
        let out = template.render(&email, "App");
        assert_eq!(out.text, "{unknown} {token} { color: red } {");
        assert_eq!(out.html, "<style>p { margin: 0 }</style>{token}");
    }

    #[test]
    fn line_breaks_never_reach_the_subject() {
        let template = EmailTemplate::new("Hi {app_name}", "", "");
        let out = template.render(&link("a@example.com", "l", "t", 1), "A\r\nBcc: x@evil");
        assert_eq!(out.subject, "Hi A  Bcc: x@evil");
    }

    #[test]
    fn default_templates_carry_the_link_and_lifetime() {
        let email = link(
            "a@example.com",
            "https://app/verify-email?token=T&x=1",
            "T",
            1440,
        );
        for template in [
            EmailTemplate::default_verification(),
            EmailTemplate::default_password_reset(),
        ] {
            let out = template.render(&email, "MyAuth");
            assert!(out.subject.contains("MyAuth"), "{}", out.subject);
            assert!(out.text.contains("https://app/verify-email?token=T&x=1"));
            assert!(out.text.contains("24 hours"));
            assert!(out.text.contains("a@example.com"));
            assert!(
                out.html
                    .contains("href=\"https://app/verify-email?token=T&amp;x=1\"")
            );
            assert!(out.html.contains("24 hours"));
            assert!(
                !out.html.contains('{'),
                "unfilled placeholder: {}",
                out.html
            );
            assert!(
                !out.text.contains('{'),
                "unfilled placeholder: {}",
                out.text
            );
        }
    }

    #[test]
    fn rendered_debug_hides_the_bodies() {
        let out = EmailTemplate::default_verification().render(
            &link("a@example.com", "https://x/?token=SECRET", "SECRET", 1),
            "A",
        );
        let debug = format!("{out:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
    }
}
