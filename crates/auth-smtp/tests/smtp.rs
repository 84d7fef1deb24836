//! Real SMTP conversations on loopback: lettre talks to the `test-smtp-server` crate.

// Helpers outside `#[test]` functions count as non-test code for clippy; here a failed
// unwrap is a failed test, with its message.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail the test by panicking"
)]

use std::time::{Duration, Instant};

use auth_core::{
    AuthConfig, AuthService, EmailError, EmailLink, EmailSender, HashingConfig, MemoryStore,
    NewUser,
};
use auth_smtp::{EmailTemplate, Error, SmtpConfig, SmtpEmailSender};
use secrecy::SecretString;
use test_smtp_server::{AuthOptions, Login, Mime, ServerOptions, Stall, TestSmtpServer};

/// The whole `source()` chain of an error, one message per cause, joined by `: `.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

const FROM: &str = "MyAuth <no-reply@localhost>";
const PUBLIC_URL: &str = "https://app.example.com";

fn email_link(to: &str, link: &str, token: &str, expires_in: time::Duration) -> EmailLink {
    EmailLink {
        to: to.into(),
        link: link.into(),
        token: token.into(),
        expires_in,
    }
}

fn sender(server: &TestSmtpServer) -> SmtpEmailSender {
    SmtpEmailSender::from_url(&server.url(), FROM).unwrap()
}

/// The service on a memory store, with fast hashing, sending through `sender`.
fn service(sender: SmtpEmailSender) -> AuthService {
    let hashing = HashingConfig {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
        max_concurrent: 2,
        max_waiting: 64,
    };
    AuthService::builder()
        .config(
            AuthConfig::new("vVJSi0q9AfXjvZwL4O2NF8n3A4tTGZDQoSHZI2wUUIf")
                .with_hashing(hashing)
                .with_public_url(PUBLIC_URL),
        )
        .store(MemoryStore::new())
        .email_sender(sender)
        .build()
        .unwrap()
}

fn new_user(email: &str, password: &str) -> NewUser {
    NewUser {
        email: email.into(),
        username: "alice".into(),
        password: SecretString::from(password.to_owned()),
    }
}

/// The token of the one line in `text` that starts with `{PUBLIC_URL}/{path}?token=`.
fn token_from(text: &str, path: &str) -> String {
    let prefix = format!("{PUBLIC_URL}/{path}?token=");
    let line = text
        .lines()
        .find(|line| line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} link in:\n{text}"));
    line[prefix.len()..].trim().to_owned()
}

/// The crate's error behind an `EmailError`.
fn cause(error: &EmailError) -> &Error {
    std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<Error>())
        .unwrap_or_else(|| panic!("EmailError without an auth_smtp::Error source: {error:?}"))
}

#[tokio::test]
async fn verification_email_arrives_with_envelope_headers_and_both_parts() {
    let server = TestSmtpServer::start().await;
    let sender = SmtpConfig::from_url(&server.url())
        .unwrap()
        .with_from(FROM)
        .with_reply_to("Support <support@example.com>")
        .with_app_name("Test App")
        .build()
        .unwrap();
    let link = format!("{PUBLIC_URL}/verify-email?token=abc.DEF-ghi_jkl");
    sender
        .send_verification_email(&email_link(
            "alice@example.com",
            &link,
            "abc.DEF-ghi_jkl",
            time::Duration::hours(24),
        ))
        .await
        .unwrap();

    let received = server.next().await;
    assert_eq!(received.mail_from, "no-reply@localhost");
    assert_eq!(received.rcpt_to, ["alice@example.com"]);
    assert!(received.login.is_none());
    assert!(!received.ehlo.is_empty());

    let message = Mime::parse(&received.data);
    for header in ["Date", "Message-ID", "From", "To", "Subject", "Reply-To"] {
        assert_eq!(message.header_count(header), 1, "{header} in {message:#?}");
    }
    assert_eq!(message.header("From"), Some("MyAuth <no-reply@localhost>"));
    assert_eq!(message.header("To"), Some("alice@example.com"));
    assert_eq!(
        message.header("Reply-To"),
        Some("Support <support@example.com>")
    );
    assert_eq!(
        message.header("Subject"),
        Some("Confirm your email address for Test App")
    );
    assert_eq!(message.header("MIME-Version"), Some("1.0"));
    let message_id = message.header("Message-ID").unwrap();
    assert!(
        message_id.starts_with('<') && message_id.ends_with('>') && message_id.contains('@'),
        "{message_id}"
    );
    let date = message.header("Date").unwrap();
    assert!(
        date.contains(" +0000") || date.contains(" GMT"),
        "RFC 5322 date expected: {date}"
    );
    assert!(
        message
            .header("Content-Type")
            .unwrap()
            .starts_with("multipart/alternative"),
        "{message:#?}"
    );

    assert_eq!(message.parts.len(), 2);
    let text = message.part("text/plain");
    let html = message.part("text/html");
    assert!(
        text.header("Content-Type")
            .unwrap()
            .contains("charset=utf-8")
    );
    assert!(text.body.contains(&link), "{}", text.body);
    assert!(text.body.contains("alice@example.com"));
    assert!(text.body.contains("Test App"));
    assert!(text.body.contains("valid for 24 hours"), "{}", text.body);
    assert!(
        html.body.contains(&format!("<a href=\"{link}\">")),
        "{}",
        html.body
    );
    assert!(html.body.contains("valid for 24 hours"));
    // The multipart/alternative order: the preferred (HTML) part last (RFC 2046 §5.1.4).
    assert!(
        message.parts[1]
            .header("Content-Type")
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn password_reset_email_uses_its_own_template() {
    let server = TestSmtpServer::start().await;
    let link = format!("{PUBLIC_URL}/reset-password?token=RESET");
    sender(&server)
        .send_password_reset_email(&email_link(
            "bob@example.com",
            &link,
            "RESET",
            time::Duration::minutes(15),
        ))
        .await
        .unwrap();
    let received = server.next().await;
    assert_eq!(received.rcpt_to, ["bob@example.com"]);
    let message = Mime::parse(&received.data);
    assert_eq!(
        message.header("Subject"),
        Some("Reset your MyAuth password")
    );
    let text = message.part("text/plain");
    assert!(text.body.contains(&link));
    assert!(text.body.contains("valid for 15 minutes"), "{}", text.body);
    assert!(
        message
            .part("text/html")
            .body
            .contains(&format!("href=\"{link}\""))
    );
}

#[tokio::test]
async fn every_value_is_html_escaped_in_the_html_part_only() {
    let server = TestSmtpServer::start().await;
    let sender = SmtpConfig::from_url(&server.url())
        .unwrap()
        .with_from(FROM)
        .with_app_name("Tom & Jerry's <Shop>")
        .with_verification_template(EmailTemplate::new(
            "Hello from {app_name}",
            "link={link}\ntoken={token}\nemail={email}\napp={app_name}\nexpires={expires_in}\n",
            "<p title=\"{app_name}\">link=<a href=\"{link}\">{link}</a> token={token} \
             email={email} expires={expires_in}</p>",
        ))
        .build()
        .unwrap();
    let link = "https://app.example.com/verify-email?token=a\"b&next=<script>alert(1)</script>";
    sender
        .send_verification_email(&email_link(
            "o'brien@example.com",
            link,
            "a\"b<t>",
            time::Duration::minutes(90),
        ))
        .await
        .unwrap();

    let received = server.next().await;
    assert_eq!(received.rcpt_to, ["o'brien@example.com"]);
    let message = Mime::parse(&received.data);
    assert_eq!(
        message.header("Subject"),
        Some("Hello from Tom & Jerry's <Shop>")
    );
    let text = &message.part("text/plain").body;
    assert_eq!(
        text,
        &format!(
            "link={link}\r\ntoken=a\"b<t>\r\nemail=o'brien@example.com\r\n\
             app=Tom & Jerry's <Shop>\r\nexpires=1 hour 30 minutes\r\n"
        )
    );
    let html = &message.part("text/html").body;
    let escaped_link = "https://app.example.com/verify-email?token=a&quot;b&amp;next=\
                        &lt;script&gt;alert(1)&lt;/script&gt;";
    assert_eq!(
        html,
        &format!(
            "<p title=\"Tom &amp; Jerry&#x27;s &lt;Shop&gt;\">link=<a href=\"{escaped_link}\">\
             {escaped_link}</a> token=a&quot;b&lt;t&gt; email=o&#x27;brien@example.com \
             expires=1 hour 30 minutes</p>"
        )
    );
    assert!(!html.contains("<script>"));
}

#[tokio::test]
async fn the_verification_link_in_the_email_verifies_the_account() {
    let server = TestSmtpServer::start().await;
    let service = service(sender(&server));
    let user = service
        .register(new_user("Alice@Example.com", "Str0ng!pass"))
        .await
        .unwrap();
    assert!(!user.is_verified);

    let received = server.next().await;
    assert_eq!(received.rcpt_to, ["alice@example.com"]);
    let message = Mime::parse(&received.data);
    let token = token_from(&message.part("text/plain").body, "verify-email");
    // The same link, attribute-escaped (a JWT has nothing to escape), in the HTML part.
    assert!(
        message
            .part("text/html")
            .body
            .contains(&format!("href=\"{PUBLIC_URL}/verify-email?token={token}\"")),
        "the HTML part carries another link"
    );

    let verified = service.complete_email_verification(&token).await.unwrap();
    assert_eq!(verified.id, user.id);
    assert!(verified.is_verified);
    // Verification was required for login; now it works.
    let password = SecretString::from("Str0ng!pass");
    service.login("alice@example.com", &password).await.unwrap();
}

#[tokio::test]
async fn the_reset_link_in_the_email_resets_the_password() {
    let server = TestSmtpServer::start().await;
    let service = service(sender(&server));
    service
        .register(new_user("bob@example.com", "Str0ng!pass"))
        .await
        .unwrap();
    let _verification = server.next().await;

    service
        .request_password_reset("bob@example.com")
        .await
        .unwrap();
    let received = server.next().await;
    assert_eq!(received.rcpt_to, ["bob@example.com"]);
    let message = Mime::parse(&received.data);
    assert_eq!(
        message.header("Subject"),
        Some("Reset your MyAuth password")
    );
    assert!(message.part("text/plain").body.contains("15 minutes"));
    let token = token_from(&message.part("text/plain").body, "reset-password");

    let new_password = SecretString::from("N3w!password");
    service
        .complete_password_reset(&token, &new_password)
        .await
        .unwrap();
    // Single use: the same link does not work twice.
    assert!(
        service
            .complete_password_reset(&token, &new_password)
            .await
            .is_err()
    );
    service
        .login("bob@example.com", &new_password)
        .await
        .unwrap();
    assert!(
        service
            .login("bob@example.com", &SecretString::from("Str0ng!pass"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_refused_recipient_is_an_error_with_its_cause() {
    let server = TestSmtpServer::with_options(ServerOptions {
        reject_recipients: vec!["nobody@example.com".into()],
        ..ServerOptions::default()
    })
    .await;
    let sender = sender(&server);
    let error = sender
        .send_verification_email(&email_link(
            "nobody@example.com",
            "https://app.example.com/verify-email?token=SECRET-TOKEN",
            "SECRET-TOKEN",
            time::Duration::hours(24),
        ))
        .await
        .unwrap_err();

    let cause = cause(&error);
    assert!(matches!(cause, Error::Smtp(_)), "{cause:?}");
    assert!(cause.is_permanent());
    assert!(!cause.is_timeout());
    let chain = error_chain(&error);
    assert!(chain.contains("550"), "{chain}");
    assert!(chain.contains("verification email"), "{chain}");
    assert!(!chain.contains("SECRET-TOKEN"), "{chain}");
    server.assert_nothing_delivered().await;

    // The failed conversation does not poison the sender.
    sender
        .send_verification_email(&email_link(
            "alice@example.com",
            "https://app.example.com/verify-email?token=T",
            "T",
            time::Duration::hours(24),
        ))
        .await
        .unwrap();
    assert_eq!(server.next().await.rcpt_to, ["alice@example.com"]);
}

#[tokio::test]
async fn no_server_listening_fails_fast_with_the_cause() {
    // A port that was just free: bind, note it, close it.
    let port = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let sender = SmtpConfig::from_url(&format!("smtp://127.0.0.1:{port}"))
        .unwrap()
        .with_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let started = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        sender.send_password_reset_email(&email_link(
            "alice@example.com",
            "l",
            "t",
            time::Duration::minutes(15),
        )),
    )
    .await
    .expect("the sender hung instead of failing");
    let error = result.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3), "{error:?}");
    let cause = cause(&error);
    assert!(matches!(cause, Error::Smtp(_)), "{cause:?}");
    assert!(!cause.is_permanent());
    let chain = error_chain(&error);
    assert!(chain.contains("password reset email"), "{chain}");
    assert!(chain.contains(&format!("127.0.0.1:{port}")), "{chain}");
}

#[tokio::test]
async fn a_silent_server_times_out_instead_of_hanging() {
    let server = TestSmtpServer::with_options(ServerOptions {
        stall: Stall::Greeting,
        ..ServerOptions::default()
    })
    .await;
    let sender = SmtpConfig::from_url(&server.url())
        .unwrap()
        .with_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = tokio::time::timeout(
        Duration::from_secs(10),
        sender.send_verification_email(&email_link(
            "alice@example.com",
            "l",
            "t",
            time::Duration::hours(24),
        )),
    )
    .await
    .expect("the sender hung past its timeout")
    .unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    let cause = cause(&error);
    assert!(matches!(cause, Error::Timeout(_)), "{cause:?}");
    assert!(cause.is_timeout());
    assert!(
        error_chain(&error).contains("no answer from the smtp server within 300ms"),
        "{}",
        error_chain(&error)
    );
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn after_a_timeout_the_next_email_uses_a_fresh_connection() {
    let server = TestSmtpServer::with_options(ServerOptions {
        stall: Stall::FirstMessage,
        ..ServerOptions::default()
    })
    .await;
    let sender = SmtpConfig::from_url(&server.url())
        .unwrap()
        .with_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let email = email_link("alice@example.com", "l", "t", time::Duration::hours(24));
    let error = sender.send_verification_email(&email).await.unwrap_err();
    assert!(cause(&error).is_timeout(), "{error:?}");

    // lettre puts the abandoned conversation back into its pool (in a spawned task: give
    // it time to land) and would hand it out again; the sender must start afresh.
    tokio::time::sleep(Duration::from_millis(200)).await;
    sender.send_verification_email(&email).await.unwrap();
    assert_eq!(server.next().await.rcpt_to, ["alice@example.com"]);
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn pooled_connections_are_reused() {
    let server = TestSmtpServer::start().await;
    let sender = sender(&server);
    for i in 0..3 {
        let to = format!("user{i}@example.com");
        sender
            .send_verification_email(&email_link(&to, "l", "t", time::Duration::hours(1)))
            .await
            .unwrap();
        assert_eq!(server.next().await.rcpt_to, [to]);
        // lettre returns the connection to the pool in a spawned task; let it land.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn concurrent_emails_all_arrive() {
    let server = TestSmtpServer::start().await;
    let sender = sender(&server);
    let sends = (0..8).map(|i| {
        let sender = sender.clone();
        tokio::spawn(async move {
            let to = format!("user{i}@example.com");
            sender
                .send_password_reset_email(&email_link(&to, "l", "t", time::Duration::hours(1)))
                .await
        })
    });
    for send in sends.collect::<Vec<_>>() {
        send.await.unwrap().unwrap();
    }
    let mut recipients = Vec::new();
    for _ in 0..8 {
        recipients.extend(server.next().await.rcpt_to);
    }
    recipients.sort();
    let expected: Vec<String> = (0..8).map(|i| format!("user{i}@example.com")).collect();
    assert_eq!(recipients, expected);
    assert!(server.connections() <= 8);
}

fn auth_server_options(mechanisms: &'static str) -> ServerOptions {
    ServerOptions {
        auth: Some(AuthOptions {
            mechanisms,
            username: "mailer@example.com".into(),
            password: "p@ss w:rd/%".into(),
        }),
        ..ServerOptions::default()
    }
}

/// `smtp://mailer%40example.com:p%40ss%20w%3Ard%2F%25@127.0.0.1:PORT?insecure_auth=true`
fn auth_url(server: &TestSmtpServer, password: &str) -> String {
    format!(
        "smtp://mailer%40example.com:{password}@127.0.0.1:{}?insecure_auth=true",
        server.port()
    )
}

#[tokio::test]
async fn url_credentials_log_in_with_auth_plain() {
    let server = TestSmtpServer::with_options(auth_server_options("PLAIN LOGIN")).await;
    let sender =
        SmtpEmailSender::from_url(&auth_url(&server, "p%40ss%20w%3Ard%2F%25"), FROM).unwrap();
    sender
        .send_verification_email(&email_link(
            "alice@example.com",
            "l",
            "t",
            time::Duration::hours(1),
        ))
        .await
        .unwrap();
    let received = server.next().await;
    assert_eq!(
        received.login,
        Some(Login {
            mechanism: "PLAIN",
            username: "mailer@example.com".into(),
            password: "p@ss w:rd/%".into(),
        })
    );
    assert_eq!(received.rcpt_to, ["alice@example.com"]);
}

#[tokio::test]
async fn auth_login_when_the_server_offers_only_login() {
    let server = TestSmtpServer::with_options(auth_server_options("LOGIN")).await;
    let sender =
        SmtpEmailSender::from_url(&auth_url(&server, "p%40ss%20w%3Ard%2F%25"), FROM).unwrap();
    sender
        .send_verification_email(&email_link(
            "alice@example.com",
            "l",
            "t",
            time::Duration::hours(1),
        ))
        .await
        .unwrap();
    let login = server.next().await.login.unwrap();
    assert_eq!(login.mechanism, "LOGIN");
    assert_eq!(login.username, "mailer@example.com");
    assert_eq!(login.password, "p@ss w:rd/%");
}

#[tokio::test]
async fn refused_credentials_are_an_error_that_does_not_repeat_them() {
    let server = TestSmtpServer::with_options(auth_server_options("PLAIN")).await;
    let sender = SmtpEmailSender::from_url(&auth_url(&server, "hunter2"), FROM).unwrap();
    let error = sender
        .send_verification_email(&email_link(
            "alice@example.com",
            "l",
            "t",
            time::Duration::hours(1),
        ))
        .await
        .unwrap_err();
    assert_eq!(server.logins().len(), 1);
    assert_eq!(server.logins()[0].password, "hunter2");
    let cause = cause(&error);
    assert!(cause.is_permanent(), "{cause:?}");
    let chain = error_chain(&error);
    assert!(chain.contains("535"), "{chain}");
    assert!(!chain.contains("hunter2"), "{chain}");
    assert!(!format!("{error:?} {sender:?}").contains("hunter2"));
    server.assert_nothing_delivered().await;
}

#[tokio::test]
async fn a_malformed_recipient_is_refused_before_connecting() {
    let server = TestSmtpServer::start().await;
    let error = sender(&server)
        .send_verification_email(&email_link(
            "not an address",
            "l",
            "t",
            time::Duration::hours(1),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(
            cause(&error),
            Error::InvalidAddress {
                role: "recipient",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(server.connections(), 0);
}

#[test]
fn a_used_sender_can_be_dropped_after_its_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let sender = runtime.block_on(async {
        let server = TestSmtpServer::start().await;
        let sender = sender(&server);
        sender
            .send_verification_email(&email_link(
                "alice@example.com",
                "l",
                "t",
                time::Duration::hours(1),
            ))
            .await
            .unwrap();
        server.next().await;
        sender
    });
    drop(runtime);
    // lettre's pool spawns a clean-up task when dropped, which needs a runtime.
    drop(sender);
}
