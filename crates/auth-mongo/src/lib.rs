//! # auth-mongo
//!
//! The MongoDB store of MyAuth for Rust: [`MongoStore`] implements every store trait of
//! auth-core — [`UserStore`](auth_core::UserStore), [`TokenStore`](auth_core::TokenStore),
//! [`SessionStore`](auth_core::SessionStore), [`CounterStore`](auth_core::CounterStore),
//! [`AuditStore`](auth_core::AuditStore) and [`MfaStore`](auth_core::MfaStore) — on the
//! official [`mongodb`] driver (3.x, tokio), so an [`AuthService`](auth_core::AuthService)
//! keeps its users, tokens, sessions, abuse counters, audit log and second factors in
//! MongoDB.
//!
//! Pick it when your application already runs on MongoDB, or scales out over several
//! processes sharing one replica set. No rule relies on a multi-document transaction:
//! uniqueness comes from unique indexes, and every single-use or counting rule is one
//! conditional single-document write (a token consumed by one `findAndModify`, a counter
//! moved by compare-and-set, a TOTP step recorded by an update conditioned on the last one),
//! so every rule holds across processes. For a single process without a database server,
//! `auth-sqlite` is simpler.
//!
//! ```no_run
//! use auth_core::{AuthConfig, AuthService, NewUser};
//! use auth_core::secrecy::SecretString;
//! use auth_mongo::MongoStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Database `myapp` (from the path; `myauth` when there is none); indexes are created on
//! // connect, and operations fail with `StoreError::Unavailable` after 5 s without a server.
//! let store = MongoStore::connect("mongodb://127.0.0.1:27017/myapp").await?;
//!
//! let service = AuthService::builder()
//!     .config(
//!         AuthConfig::default()
//!             .with_require_verified_email(false),
//!     )
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
//! let tokens = service.login("alice@example.com", &password).await?;
//! println!("access token expires in {} s", tokens.expires_in);
//! # Ok(())
//! # }
//! ```
//!
//! With your own collection names, or over a [`mongodb::Database`] you already have:
//!
//! ```no_run
//! use auth_mongo::{MongoStore, MongoStoreOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let options = MongoStoreOptions::new()
//!     .with_users_collection("auth_users")
//!     .with_tokens_collection("auth_tokens");
//! let store = MongoStore::connect_with("mongodb://db1:27017,db2:27017/shop?replicaSet=rs0", options).await?;
//!
//! let client = auth_mongo::mongodb::Client::with_uri_str("mongodb://127.0.0.1:27017").await?;
//! let store = MongoStore::new(client.database("shop"));
//! store.migrate().await?; // idempotent: safe on every start, from every process
//! # Ok(())
//! # }
//! ```
//!
//! ## Storage layout
//!
//! Six collections (names configurable), in one database:
//!
//! | collection | one document per | key and notable fields |
//! |---|---|---|
//! | `users` | user | `_id`; unique `email`; `token_version`, `session_epoch` (`long`), `versioned_at` (date of the last raise); `mfa_enabled`, and the TOTP enrolment (`totp`) and recovery codes (`recovery_codes`, `recovery_codes_used`) embedded |
//! | `tokens` | refresh or password-reset token | `_id`; unique `token_hash`; a refresh token's `family_id` is its session's id |
//! | `sessions` | login | `_id`; `user_id`, `created_at`, `last_used_at`, `expires_at`, `revoked_at`, `epoch`, `user_agent`, `ip` |
//! | `counters` | rate bucket or login throttle | `_id` = the 32-byte counter key; `tat` or `failures` + `blocked_until`, and `expires_at`, in `long` milliseconds |
//! | `audit` | audit record | `_id` = `seq` (repeated in `seq`); `detail` as the JSON text its hash covers; hashes as binary |
//! | `audit_anchor` | purge | `_id` = the `seq` of the last record deleted, `hash`, `purged_at`; the highest is the anchor |
//!
//! | field | BSON type |
//! |---|---|
//! | `_id`, `user_id`, `family_id` (users, tokens, sessions) | string: the UUID, lower case with hyphens — readable by every tool, no binary-UUID subtype pitfalls, sorts like the UUID |
//! | times (`created_at`, `expires_at`, `revoked_at`, …) | date (millisecond precision) or `null`; counters keep `long` milliseconds |
//! | `token_hash`, counter keys, audit hashes | binary (generic subtype); tokens themselves are never stored |
//! | TOTP secret (encrypted by the service), recovery code hashes | lower-case hex string (see below) |
//! | `kind` | string, `refresh` or `password_reset` |
//! | `roles` | array of strings |
//! | `user_settings` | embedded document |
//! | `email` (normalised), `username`, `password_hash` (argon2id PHC string) | string |
//!
//! Indexes ([`MongoStore::migrate`]): unique `email`, sparse `versioned_at` and
//! `totp.pending_expires_at` on users; unique `token_hash`, `user_id`, `family_id` and a
//! TTL index on `expires_at` (`expireAfterSeconds: 0`, so the server deletes expired tokens
//! within about a minute; [`MongoStoreOptions::with_ttl_index`] turns that off) on tokens;
//! `(user_id, created_at)`, `revoked_at`, `expires_at` on sessions; `expires_at` on counters;
//! `(user_id, seq)`, `(event, seq)`, `at` on audit.
//!
//! ## How the rules hold without transactions
//!
//! - **Rotation**: the presented refresh token is consumed by one conditional
//!   `findAndModify`; then the session and its owner are read and checked
//!   ([`SessionRecord::is_live`](auth_core::SessionRecord::is_live)), and only then is the
//!   successor stored. A cut stored after the check cannot be outlived: the successor's
//!   own rotation meets it. Three round trips in a row (consume; session and user at once;
//!   successor and the session's `last_used_at` at once).
//! - **Invalidation**: [`Invalidate::AccessTokens`](auth_core::Invalidate::AccessTokens) is
//!   a `$inc` in the patch's own write; [`Invalidate::Sessions`](auth_core::Invalidate::Sessions)
//!   (which sets `session_epoch` to the new `token_version`) is a compare-and-set on
//!   `token_version`.
//! - **Counters**: compare-and-set of the state read, the first state an insert under the
//!   unique `_id`; the arithmetic is auth-core's
//!   ([`RateLimit::decide`](auth_core::RateLimit::decide),
//!   [`Throttle::decide`](auth_core::Throttle::decide)).
//! - **MFA**: the enrolment and the codes live in the user document, so confirming or
//!   deleting the enrolment sets `mfa_enabled` in the same write, and using a step or a code
//!   is one conditional update of that document.
//! - **Audit**: records are only inserted (the unique `_id` orders writers); a purge stores
//!   its anchor before deleting, so an interrupted purge still verifies.
//!
//! Some choices work around the MongoDB-wire test server the tests run on (no update
//! pipelines, no binary values in updates, no `_id` inside a compound index); each is
//! explained where it is made, and all are valid on MongoDB itself.
//!
//! An existing database upgrades in place with [`MongoStore::migrate`]: users written before
//! read as versions 0 without a second factor, and refresh tokens issued before sessions
//! existed belong to no session, so they end at their next use (their users sign in again).
//!
//! ## Connection strings and errors
//!
//! `mongodb://` URLs with every driver option are accepted; `mongodb+srv://` is not (the
//! driver's DNS resolver is left out to keep the build small). TLS uses rustls. Duplicate
//! keys become [`StoreError::Conflict`](auth_core::StoreError::Conflict), undecodable
//! documents [`StoreError::Corrupt`](auth_core::StoreError::Corrupt), and everything else —
//! no server, network failures, timeouts — [`StoreError::Unavailable`](auth_core::StoreError::Unavailable)
//! with the driver error as its source, which the service answers with 503. Neither `Debug`
//! output nor errors contain the password of the connection string.
//!
//! The driver is re-exported as [`mongodb`] (and BSON as [`bson`]) so you can match its
//! version.

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

pub use mongodb;
pub use mongodb::bson;

pub use crate::error::Error;
pub use crate::options::MongoStoreOptions;
#[expect(
    deprecated,
    reason = "the old paths of the defaults stay importable until the next breaking release"
)]
pub use crate::options::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_DATABASE, DEFAULT_OPERATION_TIMEOUT,
    DEFAULT_SERVER_SELECTION_TIMEOUT, DEFAULT_TOKENS_COLLECTION, DEFAULT_USERS_COLLECTION,
};
pub use crate::store::MongoStore;
