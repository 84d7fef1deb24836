//! # MyAuth for Rust
//!
//! Authentication for Rust web services: registration, login/logout, JWT access tokens with
//! rotating refresh tokens, email verification, password reset, account activation, roles
//! and per-user settings — over a pluggable store and a pluggable email sender, behind axum
//! or poem.
//!
//! This facade re-exports [`auth_core`] (the service, the traits, the errors), the store,
//! email and adapter crates behind features, and one-call set-ups such as
//! [`MyAuth::axum_router`].
//!
//! | feature | what it adds |
//! |---|---|
//! | `sqlite` (default) | [`auth_sqlite`]: the SQLite store, `myauth::sqlite(url)` |
//! | `axum` (default) | [`auth_axum`]: the router, extractors, [`MyAuth::axum_router`] |
//! | `poem` | `auth_poem`: the poem route, extractors, `MyAuth::poem_route` |
//! | `postgres` | `auth_postgres`: the PostgreSQL store, `myauth::postgres(url)` |
//! | `mongodb` | `auth_mongo`: the MongoDB store, `myauth::mongodb(url)` |
//! | `smtp` | `auth_smtp`: the SMTP email sender, `MyAuth::smtp` |
//! | `memory` | [`MemoryStore`], an in-process store for tests and prototypes |
//! | `server` (default) | [`server`]: the reference server, as `cargo run --example server` runs it |
//! | `redis` | `auth_redis`: abuse counters in Redis, `MyAuth::redis` |
//! | `asymmetric` (default) | EdDSA, ES256 and RS256 signing keys from PKCS#8 PEM ([`JwtKey`]), published at `/auth/.well-known/jwks.json` |
//!
//! ```no_run
//! use axum::{Router, routing::get};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let store = myauth::MemoryStore::new();
//! let auth = myauth::with_store(store)
//!     .jwt_secret(std::env::var("MYAUTH_JWT_SECRET")?)
//!     .axum_router()
//!     .await?;
//! let app = Router::new()
//!     .route("/", get(|| async { "Application running with MyAuth" }))
//!     .nest("/auth", auth);
//! axum::serve(tokio::net::TcpListener::bind("127.0.0.1:8000").await?, app).await?;
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "server")]
pub mod server;
mod setup;

/// The README's examples, compiled as doctests so the quick start cannot rot.
#[cfg(all(doctest, feature = "sqlite", feature = "axum"))]
#[doc = include_str!("../README.md")]
mod readme {}

/// Each crate's README example, compiled (and, where it needs no server, run) as a doctest
/// of the facade, which depends on every crate: a README that no longer matches its crate's
/// API fails `cargo test`. Only in this workspace: the published facade does not contain
/// the other crates' READMEs, and nothing outside `cfg(doctest)` reads them.
#[cfg(doctest)]
mod crate_readmes {
    #[cfg(feature = "memory")]
    #[doc = include_str!("../crates/auth-core/README.md")]
    mod auth_core {}
    #[cfg(feature = "sqlite")]
    #[doc = include_str!("../crates/auth-sqlite/README.md")]
    mod auth_sqlite {}
    #[cfg(feature = "postgres")]
    #[doc = include_str!("../crates/auth-postgres/README.md")]
    mod auth_postgres {}
    #[cfg(feature = "mongodb")]
    #[doc = include_str!("../crates/auth-mongo/README.md")]
    mod auth_mongo {}
    #[cfg(all(feature = "smtp", feature = "memory"))]
    #[doc = include_str!("../crates/auth-smtp/README.md")]
    mod auth_smtp {}
    #[cfg(all(feature = "axum", feature = "memory"))]
    #[doc = include_str!("../crates/auth-axum/README.md")]
    mod auth_axum {}
    #[cfg(all(feature = "poem", feature = "memory"))]
    #[doc = include_str!("../crates/auth-poem/README.md")]
    mod auth_poem {}
    #[cfg(feature = "smtp")]
    #[doc = include_str!("../crates/test-smtp-server/README.md")]
    mod test_smtp_server {}
}

#[cfg(feature = "axum")]
pub use auth_axum;
pub use auth_core;
pub use auth_core::*;
#[cfg(feature = "axum")]
pub use axum;

#[cfg(feature = "axum")]
pub use crate::setup::axum_router;
#[cfg(feature = "mongodb")]
pub use crate::setup::mongodb;
#[cfg(feature = "poem")]
pub use crate::setup::poem_route;
#[cfg(feature = "postgres")]
pub use crate::setup::postgres;
#[cfg(feature = "sqlite")]
pub use crate::setup::sqlite;
pub use crate::setup::{Error, MyAuth, from_url, with_store};
#[cfg(feature = "mongodb")]
pub use auth_mongo;
#[cfg(feature = "poem")]
pub use auth_poem;
#[cfg(feature = "postgres")]
pub use auth_postgres;
#[cfg(feature = "redis")]
pub use auth_redis;
#[cfg(feature = "smtp")]
pub use auth_smtp;
#[cfg(feature = "sqlite")]
pub use auth_sqlite;
#[cfg(feature = "poem")]
pub use poem;
