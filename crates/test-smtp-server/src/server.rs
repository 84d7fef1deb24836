//! The SMTP server: one accept loop, one task per conversation, every delivered message
//! sent to the [`TestSmtpServer`] handle through a channel.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

use crate::mime::decode_base64;

/// When the server stops answering.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Stall {
    /// Never: a well-behaved server.
    #[default]
    Never,
    /// Accepts connections but never sends its greeting.
    Greeting,
    /// Receives the first message completely, then never answers that conversation; later
    /// connections behave.
    FirstMessage,
}

/// How the server behaves.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Advertise AUTH with these mechanisms (e.g. `"PLAIN LOGIN"`) and require a login with
    /// this user and password before MAIL.
    pub auth: Option<AuthOptions>,
    /// Recipients refused with 550.
    pub reject_recipients: Vec<String>,
    /// When to stop answering.
    pub stall: Stall,
}

/// The AUTH the server offers and the one login it accepts.
#[derive(Debug, Clone)]
pub struct AuthOptions {
    /// The mechanisms advertised after `250-AUTH`, space-separated: `PLAIN`, `LOGIN` or
    /// both.
    pub mechanisms: &'static str,
    /// The only user name accepted.
    pub username: String,
    /// The only password accepted.
    pub password: String,
}

/// A login attempt as the server decoded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// `PLAIN` or `LOGIN`.
    pub mechanism: &'static str,
    /// The user name the client sent.
    pub username: String,
    /// The password the client sent.
    pub password: String,
}

/// One message as delivered: the envelope and the raw DATA (dot-unstuffed, CRLF lines).
#[derive(Debug, Clone)]
pub struct Received {
    /// The client's name from EHLO or HELO.
    pub ehlo: String,
    /// The accepted login of the conversation, if it logged in.
    pub login: Option<Login>,
    /// The envelope sender (MAIL FROM), without the angle brackets.
    pub mail_from: String,
    /// The accepted envelope recipients (RCPT TO), in order.
    pub rcpt_to: Vec<String>,
    /// The message itself; [`Mime::parse`](crate::Mime::parse) reads it.
    pub data: String,
}

/// A running server on an ephemeral loopback port; stops accepting when dropped.
#[derive(Debug)]
pub struct TestSmtpServer {
    addr: SocketAddr,
    received: Mutex<mpsc::UnboundedReceiver<Received>>,
    logins: Arc<std::sync::Mutex<Vec<Login>>>,
    connections: Arc<AtomicUsize>,
    accept: JoinHandle<()>,
}

impl Drop for TestSmtpServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl TestSmtpServer {
    /// A well-behaved server without AUTH.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound: the test cannot run.
    pub async fn start() -> Self {
        Self::with_options(ServerOptions::default()).await
    }

    /// A server that behaves as `options` say.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound: the test cannot run.
    #[expect(
        clippy::expect_used,
        reason = "a test helper reports a broken test machine by panicking"
    )]
    pub async fn with_options(options: ServerOptions) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = mpsc::unbounded_channel();
        let connections = Arc::new(AtomicUsize::new(0));
        let logins = Arc::new(std::sync::Mutex::new(Vec::new()));
        let shared = Arc::new(Shared {
            options,
            tx,
            logins: Arc::clone(&logins),
            first_message_seen: AtomicBool::new(false),
        });
        let counter = Arc::clone(&connections);
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    // A client hanging up mid-conversation is normal (timeouts, pool
                    // clean-up); the tests check what was delivered, not how it ended.
                    let _ = session(stream, &shared).await;
                });
            }
        });
        Self {
            addr,
            received: Mutex::new(rx),
            logins,
            connections,
            accept,
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port())
    }

    /// How many connections it accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Every login attempt, accepted or not.
    pub fn logins(&self) -> Vec<Login> {
        self.logins
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The next delivered message.
    ///
    /// # Panics
    ///
    /// When none arrives within five seconds: the test fails with that message.
    #[expect(
        clippy::expect_used,
        reason = "a missing delivery is the test's failure, reported by panicking"
    )]
    pub async fn next(&self) -> Received {
        let mut rx = self.received.lock().await;
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("no message reached the test SMTP server within 5 s")
            .expect("the test SMTP server stopped")
    }

    /// Waits 200 ms for a delivery that must not come.
    ///
    /// # Panics
    ///
    /// When a message arrives in that time.
    pub async fn assert_nothing_delivered(&self) {
        let mut rx = self.received.lock().await;
        let next = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await;
        assert!(next.is_err(), "unexpected delivery: {next:?}");
    }
}

#[derive(Debug)]
struct Shared {
    options: ServerOptions,
    tx: mpsc::UnboundedSender<Received>,
    logins: Arc<std::sync::Mutex<Vec<Login>>>,
    first_message_seen: AtomicBool,
}

async fn reply(w: &mut OwnedWriteHalf, text: &str) -> std::io::Result<()> {
    w.write_all(text.as_bytes()).await?;
    w.write_all(b"\r\n").await?;
    w.flush().await
}

/// The address between `<` and `>` of a MAIL or RCPT argument.
fn angle_address(argument: &str) -> Option<String> {
    let start = argument.find('<')?;
    let end = start + argument[start..].find('>')?;
    Some(argument[start + 1..end].to_owned())
}

async fn session(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let options = &shared.options;
    let (read, mut w) = stream.into_split();
    let mut r = BufReader::new(read);
    if options.stall == Stall::Greeting {
        std::future::pending::<()>().await;
    }
    reply(&mut w, "220 test.local ESMTP test server").await?;

    let mut ehlo = String::new();
    let mut login: Option<Login> = None;
    let mut authenticated = false;
    let mut mail_from: Option<String> = None;
    let mut rcpt_to: Vec<String> = Vec::new();
    let mut line = String::new();

    macro_rules! read_line {
        () => {{
            line.clear();
            if r.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            line.trim_end_matches(['\r', '\n']).to_owned()
        }};
    }

    loop {
        let command = read_line!();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO ") || upper.starts_with("HELO ") {
            ehlo = command[5..].trim().to_owned();
            mail_from = None;
            rcpt_to.clear();
            let mut lines = vec!["250-test.local greets you".to_owned()];
            lines.push("250-8BITMIME".to_owned());
            if let Some(auth) = &options.auth {
                lines.push(format!("250-AUTH {}", auth.mechanisms));
            }
            lines.push("250 SIZE 10485760".to_owned());
            reply(&mut w, &lines.join("\r\n")).await?;
        } else if upper.starts_with("AUTH ") {
            let Some(auth) = &options.auth else {
                reply(&mut w, "502 5.5.1 AUTH not offered").await?;
                continue;
            };
            let mut words = command[5..].split_whitespace();
            let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
            let initial = words.next().map(str::to_owned);
            let attempt = match mechanism.as_str() {
                "PLAIN" if auth.mechanisms.contains("PLAIN") => {
                    let response = match initial {
                        Some(initial) => initial,
                        None => {
                            reply(&mut w, "334 ").await?;
                            read_line!()
                        }
                    };
                    // authzid NUL authcid NUL passwd (RFC 4616)
                    let decoded = decode_base64(&response);
                    let mut fields = decoded.split('\0').skip(1);
                    Login {
                        mechanism: "PLAIN",
                        username: fields.next().unwrap_or_default().to_owned(),
                        password: fields.next().unwrap_or_default().to_owned(),
                    }
                }
                "LOGIN" if auth.mechanisms.contains("LOGIN") => {
                    let username = match initial {
                        Some(initial) => decode_base64(&initial),
                        None => {
                            reply(&mut w, &format!("334 {}", BASE64.encode("Username:"))).await?;
                            decode_base64(&read_line!())
                        }
                    };
                    reply(&mut w, &format!("334 {}", BASE64.encode("Password:"))).await?;
                    let password = decode_base64(&read_line!());
                    Login {
                        mechanism: "LOGIN",
                        username,
                        password,
                    }
                }
                _ => {
                    reply(&mut w, "504 5.5.4 mechanism not supported").await?;
                    continue;
                }
            };
            shared
                .logins
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(attempt.clone());
            if attempt.username == auth.username && attempt.password == auth.password {
                authenticated = true;
                login = Some(attempt);
                reply(&mut w, "235 2.7.0 Authentication successful").await?;
            } else {
                reply(&mut w, "535 5.7.8 Authentication credentials invalid").await?;
            }
        } else if upper.starts_with("MAIL FROM:") {
            if options.auth.is_some() && !authenticated {
                reply(&mut w, "530 5.7.0 Authentication required").await?;
                continue;
            }
            match angle_address(&command[10..]) {
                Some(address) => {
                    mail_from = Some(address);
                    rcpt_to.clear();
                    reply(&mut w, "250 2.1.0 Sender OK").await?;
                }
                None => reply(&mut w, "501 5.1.7 Bad sender address syntax").await?,
            }
        } else if upper.starts_with("RCPT TO:") {
            let Some(address) = angle_address(&command[8..]) else {
                reply(&mut w, "501 5.1.3 Bad recipient address syntax").await?;
                continue;
            };
            if mail_from.is_none() {
                reply(&mut w, "503 5.5.1 MAIL first").await?;
            } else if options
                .reject_recipients
                .iter()
                .any(|rejected| rejected.eq_ignore_ascii_case(&address))
            {
                reply(
                    &mut w,
                    &format!("550 5.1.1 <{address}>: Recipient address rejected: User unknown"),
                )
                .await?;
            } else {
                rcpt_to.push(address);
                reply(&mut w, "250 2.1.5 Recipient OK").await?;
            }
        } else if upper == "DATA" {
            let Some(from) = mail_from.take() else {
                reply(&mut w, "503 5.5.1 MAIL first").await?;
                continue;
            };
            if rcpt_to.is_empty() {
                reply(&mut w, "554 5.5.1 No valid recipients").await?;
                continue;
            }
            reply(&mut w, "354 End data with <CR><LF>.<CR><LF>").await?;
            let mut data = String::new();
            loop {
                let data_line = read_line!();
                if data_line == "." {
                    break;
                }
                // Dot-unstuffing (RFC 5321 §4.5.2).
                data.push_str(data_line.strip_prefix('.').unwrap_or(&data_line));
                data.push_str("\r\n");
            }
            if options.stall == Stall::FirstMessage
                && !shared.first_message_seen.swap(true, Ordering::SeqCst)
            {
                std::future::pending::<()>().await;
            }
            let received = Received {
                ehlo: ehlo.clone(),
                login: login.clone(),
                mail_from: from,
                rcpt_to: std::mem::take(&mut rcpt_to),
                data,
            };
            let _ = shared.tx.send(received);
            reply(&mut w, "250 2.0.0 Ok: queued").await?;
        } else if upper == "RSET" {
            mail_from = None;
            rcpt_to.clear();
            reply(&mut w, "250 2.0.0 Ok").await?;
        } else if upper == "NOOP" {
            reply(&mut w, "250 2.0.0 Ok").await?;
        } else if upper == "QUIT" {
            reply(&mut w, "221 2.0.0 Bye").await?;
            return Ok(());
        } else {
            reply(&mut w, "502 5.5.2 Command not recognized").await?;
        }
    }
}
