//! SMTP email rendering: an application's templates filled with the values of one email,
//! and the MIME message built from them.

use std::sync::OnceLock;

use auth_core::EmailLink;
use auth_smtp::{EmailTemplate, SmtpConfig, SmtpEmailSender};
use time::Duration;

fn sender() -> &'static SmtpEmailSender {
    static SENDER: OnceLock<SmtpEmailSender> = OnceLock::new();
    SENDER.get_or_init(|| {
        match SmtpConfig::new("127.0.0.1")
            .with_from("MyAuth <no-reply@localhost>")
            .with_app_name("MyAuth")
            .build()
        {
            Ok(sender) => sender,
            Err(error) => panic!("fuzz sender refused: {error}"),
        }
    })
}

/// Target `smtp_template`: the input's first two bytes as the lifetime (in minutes, signed
/// so negative ones come too), the rest split at `0xff` bytes (never in UTF-8) into
/// subject, text and HTML templates, recipient, token and application name. The subject
/// never holds a line break, a template without placeholders renders as it is, an HTML
/// value is escaped, and the message built from it has exactly one recipient header.
pub(crate) fn template(data: &[u8]) {
    let Some((minutes, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let minutes = i16::from_le_bytes(*minutes);
    let mut parts = rest
        .split(|&b| b == 0xff)
        .map(|part| String::from_utf8_lossy(part).into_owned());
    let mut next = || parts.next().unwrap_or_default();
    let template = EmailTemplate::new(next(), next(), next());
    let to = next();
    let token = next();
    let app_name = next();
    let email = EmailLink {
        link: format!("https://app.example/verify-email?token={token}"),
        to,
        token,
        expires_in: Duration::minutes(i64::from(minutes)),
    };
    let rendered = template.render(&email, &app_name);
    assert!(
        !rendered.subject.contains(['\r', '\n']),
        "line break in subject"
    );
    if !template.text().contains('{') {
        assert_eq!(rendered.text, template.text());
    }
    if !template.html().contains('{') {
        assert_eq!(rendered.html, template.html());
    }
    if template.html() == "{token}" {
        assert!(
            !rendered.html.contains(['<', '>', '"', '\'']),
            "unescaped HTML"
        );
    }
    if let Ok(message) = sender().fuzz_message(&template, &email) {
        let text = String::from_utf8_lossy(&message);
        let head = text.split("\r\n\r\n").next().unwrap_or_default();
        let recipients = head
            .split("\r\n")
            .filter(|line| line.to_ascii_lowercase().starts_with("to:"))
            .count();
        assert_eq!(recipients, 1, "recipient headers: {recipients}");
        assert!(
            !head
                .split("\r\n")
                .any(|line| line.to_ascii_lowercase().starts_with("bcc:")),
            "a Bcc header was injected"
        );
    }
}
