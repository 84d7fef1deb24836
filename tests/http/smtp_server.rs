//! The loopback SMTP server of the `test-smtp-server` crate (auth-smtp's tests use it
//! too), so that in the SMTP rows of the suite every link the tests follow came out of a
//! real SMTP conversation.

pub(crate) use test_smtp_server::TestSmtpServer;
use test_smtp_server::{Mime, Received};

use crate::support::Sent;

/// The link email inside a delivered message: recipient from the envelope, link from the
/// plain-text part.
pub(crate) fn link_email(received: Received) -> (Sent, auth_core::EmailLink) {
    let message = Mime::parse(&received.data);
    // Already decoded by `Mime::parse`: decoding again would turn a token that starts with
    // two hex digits (`token=3A…`) into another one.
    let text = &message.part("text/plain").body;
    let to = received.rcpt_to.first().cloned().unwrap_or_default();
    // The notices carry no link; their text says what they are.
    let notice = |kind| {
        (
            kind,
            auth_core::EmailLink {
                to: to.clone(),
                link: String::new(),
                token: String::new(),
                expires_in: time::Duration::ZERO,
            },
        )
    };
    if !text.contains("http://") && text.contains("was changed") {
        return notice(Sent::PasswordChanged);
    }
    if !text.contains("http://") && text.contains("new sign-in") {
        return notice(Sent::NewSignIn);
    }
    let start = text.find("http://").expect("a link in the plain-text part");
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let kind = if link.contains("/verify-email?token=") {
        Sent::Verification
    } else if link.contains("/reset-password?token=") {
        Sent::PasswordReset
    } else {
        panic!("unexpected link {link}");
    };
    let token = crate::support::token_from_link(&link);
    (
        kind,
        auth_core::EmailLink {
            to,
            link,
            token,
            expires_in: time::Duration::ZERO,
        },
    )
}
