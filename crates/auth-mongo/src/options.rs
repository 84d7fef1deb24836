//! [`MongoStoreOptions`]: database and collection names, index creation, pool size and
//! timeouts, as plain data that [`MongoStore`](crate::MongoStore) reads.

use std::time::Duration;

/// How [`MongoStore::connect_with`](crate::MongoStore::connect_with) and
/// [`MongoStore::with_options`](crate::MongoStore::with_options) set the store up.
///
/// Every setting has a safe default; `MongoStoreOptions::default()` is what
/// [`MongoStore::connect`](crate::MongoStore::connect) uses.
///
/// ```
/// use std::time::Duration;
///
/// use auth_mongo::MongoStoreOptions;
///
/// let options = MongoStoreOptions::new()
///     .with_database("shop")
///     .with_users_collection("auth_users")
///     .with_tokens_collection("auth_tokens")
///     .with_max_connections(20)
///     .with_server_selection_timeout(Duration::from_secs(2));
/// assert_eq!(options.users_collection(), "auth_users");
/// assert_eq!(options.sessions_collection(), "sessions");
/// assert!(options.migrations());
/// ```
#[derive(Debug, Clone)]
pub struct MongoStoreOptions {
    database: Option<String>,
    users_collection: String,
    tokens_collection: String,
    sessions_collection: String,
    counters_collection: String,
    audit_collection: String,
    migrations: bool,
    ttl_index: bool,
    server_selection_timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    operation_timeout: Option<Duration>,
    max_connections: Option<u32>,
}

impl Default for MongoStoreOptions {
    fn default() -> Self {
        Self {
            database: None,
            users_collection: Self::DEFAULT_USERS_COLLECTION.to_owned(),
            tokens_collection: Self::DEFAULT_TOKENS_COLLECTION.to_owned(),
            sessions_collection: Self::DEFAULT_SESSIONS_COLLECTION.to_owned(),
            counters_collection: Self::DEFAULT_COUNTERS_COLLECTION.to_owned(),
            audit_collection: Self::DEFAULT_AUDIT_COLLECTION.to_owned(),
            migrations: true,
            ttl_index: true,
            server_selection_timeout: None,
            connect_timeout: None,
            operation_timeout: Some(Self::DEFAULT_OPERATION_TIMEOUT),
            max_connections: None,
        }
    }
}

impl MongoStoreOptions {
    /// Database used when neither the connection string's path nor
    /// [`with_database`](Self::with_database) names one.
    pub const DEFAULT_DATABASE: &'static str = "myauth";
    /// Default name of the users collection.
    pub const DEFAULT_USERS_COLLECTION: &'static str = "users";
    /// Default name of the tokens collection.
    pub const DEFAULT_TOKENS_COLLECTION: &'static str = "tokens";
    /// Default name of the sessions collection.
    pub const DEFAULT_SESSIONS_COLLECTION: &'static str = "sessions";
    /// Default name of the abuse counters collection.
    pub const DEFAULT_COUNTERS_COLLECTION: &'static str = "counters";
    /// Default name of the audit log collection; its purge anchors go in the collection of
    /// that name followed by `_anchor` (`audit_anchor`).
    pub const DEFAULT_AUDIT_COLLECTION: &'static str = "audit";
    /// Default bound on finding a usable server (the driver's own default is 30 s).
    pub const DEFAULT_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default bound on opening one connection (TCP, TLS and handshake).
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default bound on one store operation from start to answer, server selection included.
    pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(15);

    /// The defaults: database from the URL path (else
    /// [`DEFAULT_DATABASE`](Self::DEFAULT_DATABASE)), collections `users`, `tokens`,
    /// `sessions`, `counters`, `audit` and `audit_anchor`,
    /// indexes created on connect with a TTL index on `expires_at`, 5 s server selection and
    /// connect timeouts, 15 s per operation, the URL's pool size.
    pub fn new() -> Self {
        Self::default()
    }

    /// The database to use, overriding the connection string's path. Used by
    /// [`connect_with`](crate::MongoStore::connect_with) only.
    #[must_use]
    pub fn with_database(mut self, name: impl Into<String>) -> Self {
        self.database = Some(name.into());
        self
    }

    /// The users collection's name; default
    /// [`DEFAULT_USERS_COLLECTION`](Self::DEFAULT_USERS_COLLECTION).
    #[must_use]
    pub fn with_users_collection(mut self, name: impl Into<String>) -> Self {
        self.users_collection = name.into();
        self
    }

    /// The tokens collection's name; default
    /// [`DEFAULT_TOKENS_COLLECTION`](Self::DEFAULT_TOKENS_COLLECTION).
    #[must_use]
    pub fn with_tokens_collection(mut self, name: impl Into<String>) -> Self {
        self.tokens_collection = name.into();
        self
    }

    /// The sessions collection's name; default
    /// [`DEFAULT_SESSIONS_COLLECTION`](Self::DEFAULT_SESSIONS_COLLECTION).
    #[must_use]
    pub fn with_sessions_collection(mut self, name: impl Into<String>) -> Self {
        self.sessions_collection = name.into();
        self
    }

    /// The abuse counters collection's name; default
    /// [`DEFAULT_COUNTERS_COLLECTION`](Self::DEFAULT_COUNTERS_COLLECTION).
    #[must_use]
    pub fn with_counters_collection(mut self, name: impl Into<String>) -> Self {
        self.counters_collection = name.into();
        self
    }

    /// The audit log collection's name; default
    /// [`DEFAULT_AUDIT_COLLECTION`](Self::DEFAULT_AUDIT_COLLECTION). The purge anchors go in
    /// the collection of this name followed by `_anchor`.
    #[must_use]
    pub fn with_audit_collection(mut self, name: impl Into<String>) -> Self {
        self.audit_collection = name.into();
        self
    }

    /// Most connections the driver opens to each server (its `maxPoolSize`), overriding the
    /// URL's; default: the URL's, else the driver's 10. At least 1. Used by
    /// [`connect_with`](crate::MongoStore::connect_with) only.
    #[must_use]
    pub fn with_max_connections(mut self, max: u32) -> Self {
        self.max_connections = Some(max.max(1));
        self
    }

    /// The driver's maximum pool size: the same setting as
    /// [`with_max_connections`](Self::with_max_connections), under the name it had before
    /// every store crate used the same option names.
    #[deprecated(note = "renamed to `with_max_connections`")]
    #[must_use]
    pub fn with_max_pool_size(self, max: u32) -> Self {
        self.with_max_connections(max)
    }

    /// Whether [`connect_with`](crate::MongoStore::connect_with) creates the indexes
    /// ([`MongoStore::migrate`](crate::MongoStore::migrate)); default `true`. Turn it off
    /// when a deployment step creates them, or when the application's database user may not
    /// create indexes.
    #[must_use]
    pub fn with_migrations(mut self, run: bool) -> Self {
        self.migrations = run;
        self
    }

    /// Whether connecting creates the indexes: the same setting as
    /// [`with_migrations`](Self::with_migrations), under the name it had before every store
    /// crate used the same option names.
    #[deprecated(note = "renamed to `with_migrations`")]
    #[must_use]
    pub fn with_migrate(self, migrate: bool) -> Self {
        self.with_migrations(migrate)
    }

    /// Whether [`migrate`](crate::MongoStore::migrate) makes the `expires_at` index a TTL
    /// index (`expireAfterSeconds: 0`), so the server deletes tokens once they expire;
    /// default `true`.
    ///
    /// With it, an expired token soon (MongoDB's TTL monitor runs every 60 s) reads as
    /// unknown instead of expired — both are refused. Turn it off to keep expired tokens
    /// until [`purge_expired_tokens`](auth_core::TokenStore::purge_expired_tokens) removes
    /// them (for audits, or exact "expired" answers). A plain index on `expires_at` is made
    /// instead. MongoDB refuses to change an existing index in place: switching an existing
    /// database from one to the other needs the old `expires_at` index dropped first.
    ///
    /// Only the tokens collection has a TTL index. Sessions, counters and pending TOTP
    /// enrolments are deleted by their purge methods, which also report how many went (and,
    /// for sessions, take their refresh tokens along).
    #[must_use]
    pub fn with_ttl_index(mut self, ttl_index: bool) -> Self {
        self.ttl_index = ttl_index;
        self
    }

    /// How long an operation waits for a usable server before it fails with
    /// `StoreError::Unavailable`. Default: the connection string's `serverSelectionTimeoutMS`
    /// if set, else [`DEFAULT_SERVER_SELECTION_TIMEOUT`](Self::DEFAULT_SERVER_SELECTION_TIMEOUT).
    /// Used by [`connect_with`](crate::MongoStore::connect_with) only.
    #[must_use]
    pub fn with_server_selection_timeout(mut self, timeout: Duration) -> Self {
        self.server_selection_timeout = Some(timeout);
        self
    }

    /// How long opening one connection may take. Default: the connection string's
    /// `connectTimeoutMS` if set, else [`DEFAULT_CONNECT_TIMEOUT`](Self::DEFAULT_CONNECT_TIMEOUT).
    /// Used by [`connect_with`](crate::MongoStore::connect_with) only.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The longest one store operation may take, server selection included, before it fails
    /// with `StoreError::Unavailable`; default
    /// [`DEFAULT_OPERATION_TIMEOUT`](Self::DEFAULT_OPERATION_TIMEOUT); `None` for no bound.
    /// This catches a server that accepts connections but stops answering, on which the
    /// driver, having no socket timeout, could otherwise wait for long. A write cut off this
    /// way may still be applied by the server, as after any network failure.
    /// [`migrate`](crate::MongoStore::migrate) is not bounded: building an index on a large
    /// collection can take long.
    #[must_use]
    pub fn with_operation_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// The database set with [`with_database`](Self::with_database), if any.
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// The users collection's name.
    pub fn users_collection(&self) -> &str {
        &self.users_collection
    }

    /// The tokens collection's name.
    pub fn tokens_collection(&self) -> &str {
        &self.tokens_collection
    }

    /// The sessions collection's name.
    pub fn sessions_collection(&self) -> &str {
        &self.sessions_collection
    }

    /// The abuse counters collection's name.
    pub fn counters_collection(&self) -> &str {
        &self.counters_collection
    }

    /// The audit log collection's name (its anchors: this name followed by `_anchor`).
    pub fn audit_collection(&self) -> &str {
        &self.audit_collection
    }

    /// The driver's pool size set with [`with_max_connections`](Self::with_max_connections),
    /// if any (else the URL's or the driver's default applies).
    pub fn max_connections(&self) -> Option<u32> {
        self.max_connections
    }

    /// Whether connecting creates the indexes.
    pub fn migrations(&self) -> bool {
        self.migrations
    }

    /// Whether the `expires_at` index is a TTL index.
    pub fn ttl_index(&self) -> bool {
        self.ttl_index
    }

    /// The server selection timeout set here, if any (else the URL's or the default).
    pub fn server_selection_timeout(&self) -> Option<Duration> {
        self.server_selection_timeout
    }

    /// The connect timeout set here, if any (else the URL's or the default).
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// The bound on one store operation; `None` for none.
    pub fn operation_timeout(&self) -> Option<Duration> {
        self.operation_timeout
    }
}

/// [`MongoStoreOptions::DEFAULT_DATABASE`], where it was before the defaults of every store
/// crate became associated constants of its options.
#[deprecated(note = "use `MongoStoreOptions::DEFAULT_DATABASE`")]
pub const DEFAULT_DATABASE: &str = MongoStoreOptions::DEFAULT_DATABASE;
/// [`MongoStoreOptions::DEFAULT_USERS_COLLECTION`], under its old path.
#[deprecated(note = "use `MongoStoreOptions::DEFAULT_USERS_COLLECTION`")]
pub const DEFAULT_USERS_COLLECTION: &str = MongoStoreOptions::DEFAULT_USERS_COLLECTION;
/// [`MongoStoreOptions::DEFAULT_TOKENS_COLLECTION`], under its old path.
#[deprecated(note = "use `MongoStoreOptions::DEFAULT_TOKENS_COLLECTION`")]
pub const DEFAULT_TOKENS_COLLECTION: &str = MongoStoreOptions::DEFAULT_TOKENS_COLLECTION;
/// [`MongoStoreOptions::DEFAULT_SERVER_SELECTION_TIMEOUT`], under its old path.
#[deprecated(note = "use `MongoStoreOptions::DEFAULT_SERVER_SELECTION_TIMEOUT`")]
pub const DEFAULT_SERVER_SELECTION_TIMEOUT: Duration =
    MongoStoreOptions::DEFAULT_SERVER_SELECTION_TIMEOUT;
/// [`MongoStoreOptions::DEFAULT_CONNECT_TIMEOUT`], under its old path.
#[deprecated(note = "use `MongoStoreOptions::DEFAULT_CONNECT_TIMEOUT`")]
pub const DEFAULT_CONNECT_TIMEOUT: Duration = MongoStoreOptions::DEFAULT_CONNECT_TIMEOUT;
/// [`MongoStoreOptions::DEFAULT_OPERATION_TIMEOUT`], under its old path.
#[deprecated(note = "use `MongoStoreOptions::DEFAULT_OPERATION_TIMEOUT`")]
pub const DEFAULT_OPERATION_TIMEOUT: Duration = MongoStoreOptions::DEFAULT_OPERATION_TIMEOUT;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_create_indexes_and_bound_operations() {
        let options = MongoStoreOptions::default();
        assert!(options.migrations());
        assert!(options.ttl_index());
        assert_eq!(options.database(), None);
        assert_eq!(options.users_collection(), "users");
        assert_eq!(options.tokens_collection(), "tokens");
        assert_eq!(options.sessions_collection(), "sessions");
        assert_eq!(options.counters_collection(), "counters");
        assert_eq!(options.audit_collection(), "audit");
        assert_eq!(options.max_connections(), None);
        assert_eq!(options.server_selection_timeout(), None);
        assert_eq!(options.connect_timeout(), None);
        assert_eq!(options.operation_timeout(), Some(Duration::from_secs(15)));
    }

    #[test]
    #[expect(
        deprecated,
        reason = "checks the names kept for code written against them"
    )]
    fn the_old_names_set_the_same_options() {
        let old = MongoStoreOptions::new()
            .with_max_pool_size(0)
            .with_migrate(false);
        assert_eq!(old.max_connections(), Some(1));
        assert!(!old.migrations());
        assert_eq!(DEFAULT_DATABASE, MongoStoreOptions::DEFAULT_DATABASE);
        assert_eq!(
            DEFAULT_OPERATION_TIMEOUT,
            MongoStoreOptions::DEFAULT_OPERATION_TIMEOUT
        );
    }
}
