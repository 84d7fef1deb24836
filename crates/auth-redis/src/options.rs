//! [`RedisStoreOptions`]: the key prefix and the timeouts, as plain data that
//! [`RedisCounterStore::connect_with`](crate::RedisCounterStore::connect_with) reads.

use std::time::Duration;

/// How a [`RedisCounterStore`](crate::RedisCounterStore) connects and names its keys.
/// Every default is bounded, so that no check hangs when Redis is gone: it fails with
/// [`StoreError::Unavailable`](auth_core::StoreError::Unavailable), which the service
/// answers with 503.
///
/// ```no_run
/// # async fn demo() -> Result<(), auth_redis::Error> {
/// use std::time::Duration;
///
/// use auth_redis::{RedisCounterStore, RedisStoreOptions};
///
/// let options = RedisStoreOptions::new()
///     .with_key_prefix("shop:auth:")
///     .with_operation_timeout(Duration::from_millis(250));
/// let counters = RedisCounterStore::connect_with("redis://cache.internal:6379/2", options).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RedisStoreOptions {
    key_prefix: String,
    connect_timeout: Duration,
    operation_timeout: Duration,
}

impl Default for RedisStoreOptions {
    fn default() -> Self {
        Self {
            key_prefix: Self::DEFAULT_KEY_PREFIX.to_owned(),
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            operation_timeout: Self::DEFAULT_OPERATION_TIMEOUT,
        }
    }
}

impl RedisStoreOptions {
    /// Default start of every key: `myauth:`.
    pub const DEFAULT_KEY_PREFIX: &'static str = "myauth:";
    /// Default bound on connecting, for the first connection and for each reconnection
    /// attempt after Redis went away: 2 s. Redis answers a connection in well under a
    /// millisecond on a local network; a refused port fails at once, and a host that does
    /// not answer at all is given two seconds, so a service starting next to a dead Redis
    /// says so quickly.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
    /// Default bound on one counter operation, from sending the script to its answer
    /// (including waiting for a reconnection in progress): 1 s. A check is one script of a
    /// few commands, 0.13 ms from one task over loopback on a loaded 2-core machine, 13 µs
    /// of it in Redis (this crate's `benches/redis.rs` and README), and a login or
    /// registration waits for it: a Redis that has not answered in a second is down or
    /// saturated, and failing the request beats holding it.
    pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(1);

    /// The defaults: prefix `myauth:`, 2 s to connect, 1 s per operation.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts every key with `prefix`, so that several applications (or test runs) can
    /// share one Redis database. Default
    /// [`DEFAULT_KEY_PREFIX`](Self::DEFAULT_KEY_PREFIX). Any string, the empty one
    /// included.
    #[must_use]
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// How long connecting may take: the first connection made by
    /// [`RedisCounterStore::connect_with`](crate::RedisCounterStore::connect_with), and
    /// each later reconnection attempt. Default
    /// [`DEFAULT_CONNECT_TIMEOUT`](Self::DEFAULT_CONNECT_TIMEOUT).
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Longest time one counter operation may take before it fails as unavailable.
    /// Default [`DEFAULT_OPERATION_TIMEOUT`](Self::DEFAULT_OPERATION_TIMEOUT). As with any
    /// lost answer, an operation cut off may still have run on the server (a token taken
    /// then stays taken).
    #[must_use]
    pub fn with_operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// The start of every key.
    pub fn key_prefix(&self) -> &str {
        &self.key_prefix
    }

    /// The bound on connecting.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The bound on one counter operation.
    pub fn operation_timeout(&self) -> Duration {
        self.operation_timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_bounded_and_settable() {
        let options = RedisStoreOptions::new();
        assert_eq!(options.key_prefix(), "myauth:");
        assert_eq!(options.connect_timeout(), Duration::from_secs(2));
        assert_eq!(options.operation_timeout(), Duration::from_secs(1));
        let options = options
            .with_key_prefix("app:")
            .with_connect_timeout(Duration::from_millis(300))
            .with_operation_timeout(Duration::from_millis(200));
        assert_eq!(options.key_prefix(), "app:");
        assert_eq!(options.connect_timeout(), Duration::from_millis(300));
        assert_eq!(options.operation_timeout(), Duration::from_millis(200));
    }
}
