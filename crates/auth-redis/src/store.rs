//! [`RedisCounterStore`]: the handle, how it connects, and its operation timeout.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use auth_core::StoreError;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, ConnectionInfo};

use crate::error::{Error, OperationTimedOut};
use crate::options::RedisStoreOptions;

/// Connection attempts the manager repeats after a failed one: none. Each operation that
/// finds the connection broken starts a reconnection (concurrent ones share it), so
/// retrying inside the manager would only make those operations wait, with a jittered
/// backoff, until their timeout; without it a refused connection fails at once with its
/// own reason — at start-up too — and the next check tries again.
const RECONNECT_RETRIES: usize = 0;

/// A [`CounterStore`](auth_core::CounterStore) in Redis: a cheap-to-clone handle around a
/// [`ConnectionManager`] (one multiplexed connection that reconnects by itself). Clones
/// share the connection.
///
/// Every check is one `EVALSHA` of a Lua script that reads the counter, applies the rule of
/// [`RateLimit::decide`](auth_core::RateLimit::decide) or
/// [`Throttle::decide`](auth_core::Throttle::decide), and writes the new state with its
/// expiry — one round trip, atomic on the server, so the limits hold across every process
/// that shares the Redis database. Driver failures and timeouts are
/// [`StoreError::Unavailable`]; the `Debug` output shows the server and the key prefix,
/// never a password.
#[derive(Clone)]
pub struct RedisCounterStore {
    pub(crate) manager: ConnectionManager,
    pub(crate) key_prefix: Arc<str>,
    operation_timeout: Duration,
    /// `host:port/db`, when this handle made the connection.
    target: Option<Arc<str>>,
}

impl fmt::Debug for RedisCounterStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCounterStore")
            .field(
                "target",
                &self.target.as_deref().unwrap_or("(connection manager)"),
            )
            .field("key_prefix", &self.key_prefix)
            .field("operation_timeout", &self.operation_timeout)
            .finish_non_exhaustive()
    }
}

impl RedisCounterStore {
    /// Connects with the default [`RedisStoreOptions`] (prefix `myauth:`, 2 s to connect,
    /// 1 s per operation).
    ///
    /// # Errors
    ///
    /// As [`connect_with`](Self::connect_with).
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with(url, RedisStoreOptions::new()).await
    }

    /// Connects to the server at `url` (`redis://[user:password@]host:6379[/db]`, or
    /// `redis+unix:///path/to/socket`) and returns the store once the first connection
    /// works.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`], [`Error::Connect`] (refused, authentication failed…),
    /// [`Error::ConnectTimeout`]. None of them contains the password.
    pub async fn connect_with(url: &str, options: RedisStoreOptions) -> Result<Self, Error> {
        let client = Client::open(url).map_err(Error::InvalidUrl)?;
        let target = describe(client.get_connection_info());
        let timeout = options.connect_timeout();
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(options.operation_timeout()))
            .set_number_of_retries(RECONNECT_RETRIES);
        let manager =
            match tokio::time::timeout(timeout, ConnectionManager::new_with_config(client, config))
                .await
            {
                Ok(Ok(manager)) => manager,
                Ok(Err(source)) => return Err(Error::Connect { target, source }),
                Err(_) => return Err(Error::ConnectTimeout { target, timeout }),
            };
        let mut store = Self::new_with(manager, options);
        store.target = Some(target.into());
        Ok(store)
    }

    /// Wraps a connection manager you built yourself, with the default key prefix and
    /// operation timeout. No I/O: a manager made with
    /// [`ConnectionManager::new_lazy_with_config`] connects on the first check.
    pub fn new(manager: ConnectionManager) -> Self {
        Self::new_with(manager, RedisStoreOptions::new())
    }

    /// Wraps a connection manager you built yourself, with the key prefix and operation
    /// timeout of `options` (its connect timeout is the manager's business). No I/O.
    pub fn new_with(manager: ConnectionManager, options: RedisStoreOptions) -> Self {
        Self {
            manager,
            key_prefix: options.key_prefix().into(),
            operation_timeout: options.operation_timeout(),
            target: None,
        }
    }

    /// The connection manager, for the application's own commands. It is a handle: clone
    /// it to send commands.
    pub fn connection_manager(&self) -> &ConnectionManager {
        &self.manager
    }

    /// The start of every key this store writes.
    pub fn key_prefix(&self) -> &str {
        &self.key_prefix
    }

    /// Runs one store operation within the operation timeout.
    pub(crate) async fn timed<T>(
        &self,
        operation: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.operation_timeout, operation)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::unavailable(OperationTimedOut(
                    self.operation_timeout,
                )))
            })
    }
}

/// `host:port/db` (or `socket/db`): enough to tell which server failed, and never the
/// password.
fn describe(info: &ConnectionInfo) -> String {
    format!("{}/{}", info.addr(), info.redis_settings().db())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_names_host_port_and_db_only() {
        let client = Client::open("redis://alice:hunter2@cache.internal:6380/3").expect("url");
        let target = describe(client.get_connection_info());
        assert_eq!(target, "cache.internal:6380/3");
    }

    #[tokio::test]
    async fn debug_shows_no_password() {
        let client = Client::open("redis://alice:hunter2@127.0.0.1:1/0").expect("url");
        let target = describe(client.get_connection_info());
        let manager =
            ConnectionManager::new_lazy_with_config(client, ConnectionManagerConfig::new())
                .expect("lazy manager");
        let mut store = RedisCounterStore::new(manager);
        store.target = Some(target.into());
        let shown = format!("{store:?}");
        assert!(shown.contains("127.0.0.1:1/0"), "{shown}");
        assert!(shown.contains("myauth:"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("alice"), "{shown}");
    }
}
