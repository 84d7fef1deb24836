//! # auth-sqlite
//!
//! The SQLite store of MyAuth for Rust: users, their single-use tokens and sessions, the
//! abuse counters, the audit log and TOTP enrolments in one embedded database file,
//! through [sqlx](https://docs.rs/sqlx) 0.8 on tokio. SQLite is compiled in, so nothing
//! needs to be installed or running.
//!
//! Pick it to start with, for a single server, for tests, and wherever one machine holds
//! the data: it is the default of the `myauth` facade and of the reference server
//! (`MYAUTH_DATABASE_URL=sqlite://myauth.db`). Several processes on that machine may share
//! the file — every single-use and uniqueness rule is enforced by SQLite itself — as long
//! as it is on a local disk (WAL mode does not work over network file systems). Move to
//! `auth-postgres` or `auth-mongo` when application servers run on several machines.
//!
//! ```
//! use auth_core::secrecy::SecretString;
//! use auth_core::{AuthConfig, AuthService, NewUser};
//! use auth_sqlite::SqliteStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A file such as "sqlite://myauth.db" is created and migrated on first use; this
//! // example keeps everything in memory.
//! let store = SqliteStore::connect("sqlite::memory:").await?;
//!
//! let service = AuthService::builder()
//!     .config(AuthConfig::default()
//!         .with_require_verified_email(false))
//!     .store(store)
//!     .build()?;
//!
//! let password = SecretString::from("Str0ng!pass");
//! service
//!     .register(NewUser {
//!         email: "alice@example.com".into(),
//!         username: "alice".into(),
//!         password: password.clone(),
//!     })
//!     .await?;
//! let tokens = service.login("Alice@Example.com", &password).await?;
//! let claims = service.authenticate(&tokens.access_token)?;
//! assert_eq!(service.me(&claims).await?.username, "alice");
//! # Ok(())
//! # }
//! ```
//!
//! Options, or a pool you already have:
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use auth_sqlite::sqlx::sqlite::SqlitePoolOptions;
//! use auth_sqlite::{SqliteStore, SqliteStoreOptions};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! // Migrations as a separate deployment step, a longer wait for the write lock.
//! let options = SqliteStoreOptions::new()
//!     .with_migrations(false)
//!     .with_busy_timeout(Duration::from_secs(10));
//! let store = SqliteStore::connect_with("sqlite:///var/lib/myapp/auth.db", options).await?;
//! store.migrate().await?;
//!
//! // Sharing the application's pool (sqlx turns foreign keys on by default).
//! let pool = SqlitePoolOptions::new().connect("sqlite://app.db?mode=rwc").await?;
//! let store = SqliteStore::new(pool);
//! store.migrate().await?;
//! # Ok(())
//! # }
//! ```
//!
//! ## Storage
//!
//! SQLite `STRICT` tables — `users`, `tokens`, `sessions`, `counters`, `audit_records`
//! and `audit_anchor`, `totp_enrolments`, `recovery_codes` — created by the embedded
//! migrations in `migrations/`, which [`SqliteStore::connect`] runs unless told not to (a
//! database of an earlier release is upgraded in place; see the README):
//!
//! - ids are the 16 bytes of their UUID in a `BLOB`; a token's hash is its 32-byte SHA-256
//!   in a `BLOB` (the token itself is never stored), and so are counter keys, recovery
//!   code hashes and audit hashes;
//! - times are `INTEGER` milliseconds since the Unix epoch, so they read back exactly (to
//!   the millisecond; finer parts are dropped) and compare correctly in SQL;
//! - roles are a JSON array and settings a JSON object, as `TEXT`;
//! - the normalised email and the token hash are `UNIQUE`; a duplicate is
//!   [`StoreError::Conflict`](auth_core::StoreError::Conflict);
//! - tokens, sessions, TOTP enrolments and recovery codes reference their user
//!   `ON DELETE CASCADE`; a session's refresh tokens are the tokens of its rotation family;
//! - an audit record's `detail` is kept as the exact JSON text its hash covers;
//! - a user's `mfa_enabled` is not stored but read from `totp_enrolments` by every user
//!   read, so it cannot disagree with the enrolment.
//!
//! Every single-use or counting rule is one statement or one `BEGIN IMMEDIATE`
//! transaction: a refresh-token rotation reads and writes under SQLite's write lock, a
//! counter step is one conditional `INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING`.
//! Within a process, the store's writes also queue behind one another, and concurrent
//! rotations share a transaction and its commit
//! ([`SqliteStoreOptions::with_serialized_writes`]): a performance measure, as processes
//! sharing the file rely on SQLite's locking alone.
//!
//! Every connection has foreign keys on and a busy timeout (a writer waits for another
//! writer instead of failing with "database is locked"); database files use WAL journal
//! mode, so reads never wait for writes. `synchronous` stays at SQLite's `FULL`: a token
//! marked used must stay used after a power cut.
//!
//! The migrations are recorded in sqlx's `_sqlx_migrations` table. An application with
//! its own sqlx migrations in the same file should run its migrator with
//! `set_ignore_missing(true)` (this crate does the same), or keep auth data in a file of
//! its own.
//!
//! Driver errors keep their text only as the [`source`](std::error::Error::source) of a
//! [`StoreError`](auth_core::StoreError), which the service reports as a plain
//! "service temporarily unavailable".

mod audit;
mod codec;
mod counters;
mod error;
mod mfa;
mod options;
mod sessions;
mod store;
mod tokens;
mod users;
mod write_queue;

pub use sqlx;

pub use crate::error::Error;
pub use crate::options::SqliteStoreOptions;
pub use crate::store::SqliteStore;
