//! [`Error`]: what connecting fails with; and `store_error`, the driver error →
//! [`StoreError`] mapping used while serving requests.

use std::time::Duration;

use auth_core::StoreError;
use redis::RedisError;

/// Why [`RedisCounterStore::connect`](crate::RedisCounterStore::connect) or
/// [`connect_with`](crate::RedisCounterStore::connect_with) failed. No variant shows the
/// password of the URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection URL could not be parsed.
    #[error("invalid Redis connection URL")]
    InvalidUrl(#[source] RedisError),
    /// The server refused or failed the first connection (refused, authentication failed,
    /// no such database…).
    #[error("could not connect to Redis at {target}")]
    Connect {
        /// `host:port/db` (never the password).
        target: String,
        /// The driver's error.
        #[source]
        source: RedisError,
    },
    /// The first connection did not complete within the connect timeout.
    #[error("connecting to Redis at {target} timed out after {timeout:?}")]
    ConnectTimeout {
        /// `host:port/db` (never the password).
        target: String,
        /// The timeout that ran out.
        timeout: Duration,
    },
}

/// The error code our scripts answer with when a counter's stored state does not decode.
pub(crate) const CORRUPT_CODE: &str = "CORRUPT";

/// Maps a driver error to the store contract: a counter state our scripts cannot read
/// (their `CORRUPT` reply, or a key of another type) is [`StoreError::Corrupt`]; everything
/// else — connection failures, timeouts, other error replies — is
/// [`StoreError::Unavailable`]. The driver error is kept as the source.
pub(crate) fn store_error(error: RedisError) -> StoreError {
    match error.code() {
        Some(CORRUPT_CODE | "WRONGTYPE") => StoreError::corrupt(error),
        _ => StoreError::unavailable(error),
    }
}

/// A counter operation that did not finish within the operation timeout.
#[derive(Debug, thiserror::Error)]
#[error("Redis did not answer within {0:?}")]
pub(crate) struct OperationTimedOut(pub(crate) Duration);

/// A time or a limit the scripts cannot compute with exactly: Lua's numbers are doubles,
/// which hold integers exactly only up to 2^53.
#[derive(Debug, thiserror::Error)]
#[error("{0} is beyond what the counter scripts compute exactly (2^51 ms, about 71,000 years)")]
pub(crate) struct OutOfRange(pub(crate) &'static str);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_failures_are_unavailable() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(matches!(
            store_error(RedisError::from(io)),
            StoreError::Unavailable(_)
        ));
    }

    #[test]
    fn unreadable_state_is_corrupt() {
        let corrupt = redis::make_extension_error(CORRUPT_CODE.to_owned(), None);
        assert!(matches!(store_error(corrupt), StoreError::Corrupt(_)));
    }
}
