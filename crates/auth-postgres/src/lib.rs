//! # auth-postgres
//!
//! The PostgreSQL store of MyAuth for Rust: [`PostgresStore`] implements every store
//! trait of auth-core — [`UserStore`](auth_core::UserStore),
//! [`TokenStore`](auth_core::TokenStore), [`SessionStore`](auth_core::SessionStore),
//! [`CounterStore`](auth_core::CounterStore), [`AuditStore`](auth_core::AuditStore) and
//! [`MfaStore`](auth_core::MfaStore), hence [`AuthStore`](auth_core::AuthStore) — on
//! [sqlx](https://docs.rs/sqlx) 0.8, with embedded migrations.
//!
//! Pick it when more than one application process serves the same users — several
//! replicas behind a load balancer, rolling deploys, workers next to the web tier. Every
//! rule holds across processes, because the database decides, each time in one statement:
//! a unique index makes one of N concurrent registrations of an email win; each single-use
//! token, TOTP step and recovery code is consumed by one conditional `UPDATE … RETURNING`;
//! a refresh-token rotation (consume, check the session against the user, store the
//! successor) is one statement of data-modifying CTEs, so one round trip; each rate-limit
//! take and login attempt is one `INSERT … ON CONFLICT DO UPDATE … WHERE <allowed>`. Of N
//! concurrent refreshes with one token exactly one succeeds, whichever process they reach.
//! For a single process, `auth-sqlite` needs no server.
//!
//! - Connect with [`PostgresStore::connect`], or tune pool size, timeouts, migrations and
//!   schema with [`PostgresStoreOptions`] and [`PostgresStore::connect_with`]; or wrap your
//!   own [`PgPool`](sqlx::PgPool) with [`PostgresStore::new`] (as it is) or
//!   [`PostgresStore::from_pool`] (schema prepared, migrations run).
//! - Migrations (tables `users`, `tokens`, `sessions`, `counters`, `audit_records`,
//!   `audit_anchor`, `totp_enrolments`, `recovery_codes`) run on connect unless turned off;
//!   concurrent starts are serialised by an advisory lock, and a database of an earlier
//!   version upgrades in place. [`PostgresStoreOptions::with_schema`] keeps
//!   the tables in their own schema.
//! - TLS (feature `rustls`, on by default) is used when the URL asks for it:
//!   `?sslmode=require`, `verify-ca` or `verify-full`.
//! - Every bound is finite by default (5 s to connect or get a connection, 10 s per
//!   operation): when the server is gone, operations fail with
//!   [`StoreError::Unavailable`](auth_core::StoreError::Unavailable) and the service answers
//!   503 instead of hanging.
//! - The password of a connection URL never appears in `Debug` output or errors.
//!
//! The driver is re-exported as [`sqlx`], so you can match its version.
//!
//! ```no_run
//! use auth_core::secrecy::SecretString;
//! use auth_core::{AuthConfig, AuthService, NewUser};
//! use auth_postgres::{PostgresStore, PostgresStoreOptions};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let options = PostgresStoreOptions::new()
//!         .with_max_connections(20)
//!         .with_schema("myauth");
//!     let store = PostgresStore::connect_with(
//!         "postgres://myauth:secret@db.internal:5432/app?sslmode=require",
//!         options,
//!     )
//!     .await?;
//!
//!     let service = AuthService::builder()
//!         .config(
//!             AuthConfig::default()
//!                 .with_require_verified_email(false),
//!         )
//!         .store(store)
//!         .build()?;
//!
//!     let password = SecretString::from("Str0ng!pass");
//!     service
//!         .register(NewUser {
//!             email: "alice@example.com".into(),
//!             username: "alice".into(),
//!             password: password.clone(),
//!         })
//!         .await?;
//!     let tokens = service.login("alice@example.com", &password).await?;
//!     let rotated = service.refresh(&tokens.refresh_token).await?;
//!     assert_ne!(rotated.refresh_token, tokens.refresh_token);
//!     Ok(())
//! }
//! ```

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

pub use sqlx;

pub use crate::error::Error;
#[expect(
    deprecated,
    reason = "the old name stays importable from the crate root until the next breaking release"
)]
pub use crate::options::PostgresOptions;
pub use crate::options::PostgresStoreOptions;
pub use crate::store::{PostgresStore, migrator};
