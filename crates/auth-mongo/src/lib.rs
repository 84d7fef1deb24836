//! # auth-mongo
//!
//! The MongoDB store of MyAuth for Rust: [`MongoStore`] implements auth-core's
//! [`UserStore`](auth_core::UserStore) and [`TokenStore`](auth_core::TokenStore) on the
//! official [`mongodb`] driver (3.x, tokio), so an [`AuthService`](auth_core::AuthService)
//! keeps its users and refresh / password-reset tokens in MongoDB.
//!
//! Pick it when your application already runs on MongoDB, or scales out over several
//! processes sharing one replica set: uniqueness of emails and token hashes comes from
//! unique indexes, and single use of a token from one atomic `findAndModify`, so both hold
//! across processes. For a single process without a database server, `auth-sqlite` is simpler.
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
//!         AuthConfig::new("a secret of at least thirty-two bytes")
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
//! Two collections (names configurable), one document per user and per token:
//!
//! | field | BSON type |
//! |---|---|
//! | `_id`, `user_id`, `family_id` | string: the UUID, lower case with hyphens — readable by every tool, no binary-UUID subtype pitfalls, sorts like the UUID |
//! | `created_at`, `updated_at`, `expires_at`, `family_expires_at`, `used_at`, `revoked_at` | date (millisecond precision) or `null` |
//! | `token_hash` | binary (generic subtype), the 32 bytes of SHA-256; tokens themselves are never stored |
//! | `kind` | string, `refresh` or `password_reset` |
//! | `roles` | array of strings |
//! | `user_settings` | embedded document |
//! | `email` (normalised), `username`, `password_hash` (argon2id PHC string) | string |
//!
//! Indexes ([`MongoStore::migrate`]): unique `email`; unique
//! `token_hash`; `user_id`; `family_id`; and a TTL index on `expires_at`
//! (`expireAfterSeconds: 0`), so the server deletes expired tokens within about a minute
//! ([`MongoStoreOptions::with_ttl_index`] turns that off).
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
