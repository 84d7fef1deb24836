//! # MyAuth for Rust
//!
//! Authentication for Rust web services: registration, login/logout, JWT access tokens with
//! rotating refresh tokens, email verification, password reset, account activation, roles
//! and per-user settings — over a pluggable store and a pluggable email sender.
//!
//! This facade re-exports [`auth_core`] (the service, the traits, the errors) and, behind
//! features, the store, email and web-adapter crates, so one dependency is enough.
//!
//! | feature | what it adds |
//! |---|---|
//! | `memory` | [`MemoryStore`], an in-process store for tests and prototypes |
//!
//! ```
//! # #[cfg(feature = "memory")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use myauth::{AuthConfig, AuthService, MemoryStore, NewUser};
//! use myauth::secrecy::SecretString;
//!
//! let service = AuthService::builder()
//!     .config(AuthConfig::new("a secret of at least thirty-two bytes")
//!         .with_require_verified_email(false))
//!     .store(MemoryStore::new())
//!     .build()?;
//! let password = SecretString::from("Str0ng!pass");
//! let user = service
//!     .register(NewUser { email: "alice@example.com".into(), username: "alice".into(), password: password.clone() })
//!     .await?;
//! let tokens = service.login("alice@example.com", &password).await?;
//! assert_eq!(service.authenticate(&tokens.access_token)?.sub, user.id);
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "memory"))]
//! # fn main() {}
//! ```

pub use auth_core;
pub use auth_core::*;
