//! # auth-redis
//!
//! The abuse counters of MyAuth for Rust in Redis: [`RedisCounterStore`] implements
//! [`CounterStore`](auth_core::CounterStore) — the per-address token buckets, the email
//! cooldowns and the per-account login throttle — on the [redis](https://docs.rs/redis)
//! crate, with tokio and a reconnecting [`ConnectionManager`](redis::aio::ConnectionManager).
//! It keeps nothing else: users, tokens and sessions stay in the main store.
//!
//! Pick it when the counters outgrow the database: every login, registration and reset
//! request takes a token or counts an attempt, which is a write per request on the main
//! store. In Redis each check is one round trip of one Lua script, atomic on the server,
//! so of N concurrent checks exactly the allowed number pass, whichever process each
//! reaches. With one process, or a database that keeps up, the main store's own counters
//! need no extra server.
//!
//! - The scripts apply exactly the rules of [`RateLimit::decide`](auth_core::RateLimit::decide)
//!   and [`Throttle::decide`](auth_core::Throttle::decide) (the same integer milliseconds),
//!   with the time the caller passes (the service's clock), never Redis's — so a manual
//!   clock in tests works. They are loaded by hash (`EVALSHA`) and sent again when the
//!   server has forgotten them.
//! - Keys are `{prefix}{hex of the CounterKey}:rate` and `…:throttle`, prefix `myauth:` by
//!   default ([`RedisStoreOptions::with_key_prefix`]); each carries an expiry equal to its
//!   state's, so Redis deletes the counters by itself.
//! - Every bound is finite by default (2 s to connect, 1 s per operation): when Redis is
//!   gone, checks fail with [`StoreError::Unavailable`](auth_core::StoreError::Unavailable)
//!   and the service answers 503 instead of hanging.
//! - The password of a connection URL never appears in `Debug` output or errors.
//!
//! The driver is re-exported as [`redis`], so you can match its version.
//!
//! ```no_run
//! use auth_core::{CounterKey, CounterStore, RateDecision, RateLimit};
//! use auth_redis::{RedisCounterStore, RedisStoreOptions};
//! use time::{Duration, OffsetDateTime};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let counters = RedisCounterStore::connect_with(
//!         "redis://:secret@cache.internal:6379/0",
//!         RedisStoreOptions::new().with_key_prefix("shop:auth:"),
//!     )
//!     .await?;
//!
//!     // What the service does before a login from 203.0.113.7: 10 at once, then one
//!     // more every 6 seconds.
//!     let key = CounterKey::new("login-ip", "203.0.113.7");
//!     let limit = RateLimit::new(10, Duration::seconds(6));
//!     match counters.take_rate_token(&key, limit, OffsetDateTime::now_utc()).await? {
//!         RateDecision::Allowed => println!("go ahead"),
//!         RateDecision::Limited { retry_after } => println!("retry in {retry_after}"),
//!     }
//!     Ok(())
//! }
//! ```

mod codec;
mod counters;
mod error;
mod options;
mod store;

pub use redis;

pub use crate::error::Error;
pub use crate::options::RedisStoreOptions;
pub use crate::store::RedisCounterStore;
