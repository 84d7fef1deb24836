//! # auth-core
//!
//! The heart of MyAuth for Rust: users, password hashing, JWT access tokens, rotating
//! refresh tokens, email verification, password reset, roles and settings — as an
//! [`AuthService`] that knows no web framework and no database driver.
//!
//! Pick this crate directly when you write your own store or adapter; otherwise depend on
//! the `myauth` facade, a store crate (`auth-sqlite`, `auth-postgres`, `auth-mongo`) and an
//! adapter crate (`auth-axum`, `auth-poem`).
//!
//! - Storage is one trait per capability — [`UserStore`], [`TokenStore`],
//!   [`SessionStore`], [`CounterStore`], [`AuditStore`], [`MfaStore`] — and [`AuthStore`]
//!   is all of them; feature `memory` adds [`MemoryStore`], the reference implementation,
//!   and feature `testing` the conformance suite every store must pass ([`testing`]).
//! - Email is the [`EmailSender`] trait; [`LogEmailSender`] writes links to the log.
//! - Errors are [`AuthError`]; adapters map them with [`AuthError::status`] and
//!   [`AuthError::code`] alone.
//! - Tokens are signed by a key set: the JWT secret (HMAC) or a private [`JwtKey`] (EdDSA,
//!   ES256, RS256 with feature `asymmetric`), plus verification-only previous keys; every
//!   token names its key with a `kid`, and [`AuthService::jwks`] publishes the public keys.
//!
//! ```
//! # #[cfg(feature = "memory")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use auth_core::{AuthConfig, AuthService, MemoryStore, NewUser};
//! use secrecy::SecretString;
//!
//! let service = AuthService::builder()
//!     .config(AuthConfig::default()
//!         .with_require_verified_email(false))
//!     .store(MemoryStore::new())
//!     .build()?;
//!
//! let password = SecretString::from("Str0ng!pass");
//! service
//!     .register(NewUser {
//!         email: "Alice@Example.com".into(),
//!         username: "alice".into(),
//!         password: password.clone(),
//!     })
//!     .await?;
//!
//! let tokens = service.login("alice@example.com", &password).await?;
//! let claims = service.authenticate(&tokens.access_token)?;
//! let me = service.me(&claims).await?;
//! assert_eq!(me.email, "alice@example.com");
//!
//! let rotated = service.refresh(&tokens.refresh_token).await?;
//! assert_ne!(rotated.refresh_token, tokens.refresh_token);
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "memory"))]
//! # fn main() {}
//! ```

pub mod api;
pub mod audit;
mod audit_config;
mod breaker;
mod browser;
mod client;
mod clock;
mod config;
mod counter;
mod data_keys;
mod email;
mod error;
pub mod events;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod jwt;
mod mfa;
pub mod openapi;
pub mod pages;
mod password;
mod policy;
mod secret;
mod service;
mod session;
mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod token;
mod user;

pub use async_trait::async_trait;
pub use secrecy;

pub use crate::audit::{AuditAnchor, AuditEvent, AuditQuery, AuditRecord};
pub use crate::audit_config::{AuditConfig, MAX_AUDIT_RETENTION_DAYS};
pub use crate::breaker::BreakerSettings;
pub use crate::client::{ClientInfo, client_ip, limit_key, parse_proxies};
pub use crate::clock::{Clock, ManualClock, SystemClock, truncate_to_millis};
pub use crate::config::{AuthConfig, HashingConfig, JwtAlgorithm, default_pool_size};
pub use crate::counter::{
    CounterKey, IpLimits, LimitGroup, MAX_THROTTLE_SHIFT, RateDecision, RateLimit, Throttle,
    ThrottleDecision, ThrottleState, unix_millis,
};
pub use crate::email::{EmailError, EmailLink, EmailNotice, EmailSender, LogEmailSender};
pub use crate::error::{AuthError, BoxError, ConfigError, FieldError, MfaChallenge, StoreError};
pub use crate::events::{
    AUDIT_TIMEOUT, AuditSink, AuthEvent, AuthEventKind, AuthEvents, HOOK_TIMEOUT, LoginFailure,
};
pub use crate::jwt::{
    ACCESS_TOKEN_TYP, Claims, JwtKey, KeyError, MAX_JWT_LEN, MFA_TOKEN_TYP, VERIFY_TOKEN_TYP,
};
#[cfg(feature = "asymmetric")]
pub use crate::jwt::{GenerateKeyError, RSA_KEY_BITS, generate_private_key_pem};
pub use crate::mfa::{RecoveryCodeHash, TotpRecord};
pub use crate::password::{
    MAX_ARGON2_KIB_PASSES, MAX_ARGON2_LANES, MAX_ARGON2_MEMORY_KIB, PasswordHasher, Verification,
};
pub use crate::password::{
    MAX_BCRYPT_COST, MAX_PBKDF2_ITERATIONS, MAX_SCRYPT_MEMORY_BYTES, MAX_SCRYPT_WORK_BYTES,
    check_stored_hash,
};
pub use crate::policy::{
    MAX_PASSWORD_BYTES, MIN_CONTEXT_WORD_CHARS, PasswordPolicy, PolicyViolation,
};
pub use crate::service::ImportedUser;
pub use crate::service::{
    AdminAccess, AuditPage, AuthService, AuthServiceBuilder, DEFAULT_AUDIT_PAGE_SIZE,
    DEFAULT_PAGE_SIZE, MAX_AUDIT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_ROLE_LEN, MAX_ROLES, MFA_TOKEN_TTL,
    RECOVERY_CODES, RecoveryCodes, SessionList, SessionView, TOTP_DIGITS, TOTP_SETUP_TTL,
    TOTP_SKEW, TOTP_STEP_SECS, TokenPair, TotpSetup, totp_code,
};
pub use crate::session::{
    MAX_IP_CHARS, MAX_USER_AGENT_CHARS, Revocation, RotateOutcome, SessionRecord, truncate_chars,
};
#[cfg(any(test, feature = "memory"))]
pub use crate::store::memory::MemoryStore;
pub use crate::store::{
    AuditStore, AuthStore, CounterStore, MfaStore, SessionStore, TokenStore, UserStore,
};
pub use crate::token::{
    ConsumeOutcome, MAX_OPAQUE_TOKEN_LEN, OPAQUE_TOKEN_BYTES, OpaqueToken, TokenHash, TokenKind,
    TokenRecord,
};
pub use crate::user::{
    HashedPassword, Invalidate, MAX_EMAIL_LEN, MAX_SETTINGS_BYTES, MAX_SETTINGS_DEPTH,
    MAX_USERNAME_CHARS, NewUser, ProfileUpdate, User, UserId, UserPage, UserPatch, UserSettings,
    merge_settings, normalize_email, normalize_username,
};
