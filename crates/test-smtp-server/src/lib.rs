//! # test-smtp-server
//!
//! A small SMTP server (RFC 5321) on Tokio for MyAuth's tests, and a MIME reader for what it
//! receives. It is not published: `auth-smtp`'s tests and the root package's HTTP suite use
//! it as a dev-dependency, so that every email they check went through a real SMTP
//! conversation on loopback, never a mock of lettre.
//!
//! It speaks exactly the subset lettre uses — EHLO/HELO, AUTH PLAIN and LOGIN, MAIL, RCPT,
//! DATA with dot-unstuffing, RSET, NOOP, QUIT — and can misbehave on purpose
//! ([`Stall`], refused recipients, wrong credentials) for the timeout, pool-recovery and
//! error-mapping tests.
//!
//! Hand-written rather than taken from `mailin-embedded`: mailin-embedded 0.8.3 does not
//! compile with `default-features = false` (its rustls module is built unconditionally),
//! its default features pull rustls with the aws-lc provider next to lettre's ring, its
//! server blocks a thread pool forever with no way to stop it, and it cannot stop
//! answering on cue, which the timeout tests need.
//!
//! ```
//! use test_smtp_server::{Mime, TestSmtpServer};
//! use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let server = TestSmtpServer::start().await;
//! assert!(server.url().starts_with("smtp://127.0.0.1:"));
//!
//! // Any SMTP client works; here the conversation is typed by hand.
//! let stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port())).await?;
//! let (read, mut write) = stream.into_split();
//! let mut lines = BufReader::new(read).lines();
//! lines.next_line().await?; // 220 greeting
//! for command in [
//!     "EHLO client.test",
//!     "MAIL FROM:<from@example.com>",
//!     "RCPT TO:<to@example.com>",
//!     "DATA",
//! ] {
//!     write.write_all(format!("{command}\r\n").as_bytes()).await?;
//!     while let Some(line) = lines.next_line().await? {
//!         if line.as_bytes().get(3) != Some(&b'-') { break } // the last line of a reply
//!     }
//! }
//! write.write_all(b"Subject: hi\r\n\r\nhello\r\n.\r\nQUIT\r\n").await?;
//!
//! let received = server.next().await;
//! assert_eq!(received.rcpt_to, ["to@example.com"]);
//! let message = Mime::parse(&received.data);
//! assert_eq!(message.header("subject"), Some("hi"));
//! assert_eq!(message.body, "hello\r\n");
//! # Ok(())
//! # }
//! ```

mod mime;
mod server;

pub use crate::mime::Mime;
pub use crate::server::{AuthOptions, Login, Received, ServerOptions, Stall, TestSmtpServer};
