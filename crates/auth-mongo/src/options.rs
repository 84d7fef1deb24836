//! Settings of a [`MongoStore`](crate::MongoStore).

use std::time::Duration;

/// Database used when neither the connection string's path nor
/// [`MongoStoreOptions::with_database`] names one.
pub const DEFAULT_DATABASE: &str = "myauth";
/// Default name of the users collection.
pub const DEFAULT_USERS_COLLECTION: &str = "users";
/// Default name of the tokens collection.
pub const DEFAULT_TOKENS_COLLECTION: &str = "tokens";
/// Default bound on finding a usable server (the driver's own default is 30 s).
pub const DEFAULT_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(5);
/// Default bound on opening one connection (TCP, TLS and handshake).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default bound on one store operation from start to answer, server selection included.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(15);

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
///     .with_server_selection_timeout(Duration::from_secs(2));
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct MongoStoreOptions {
    pub(crate) database: Option<String>,
    pub(crate) users_collection: String,
    pub(crate) tokens_collection: String,
    pub(crate) migrate: bool,
    pub(crate) ttl_index: bool,
    pub(crate) server_selection_timeout: Option<Duration>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) operation_timeout: Option<Duration>,
    pub(crate) max_pool_size: Option<u32>,
}

impl Default for MongoStoreOptions {
    fn default() -> Self {
        Self {
            database: None,
            users_collection: DEFAULT_USERS_COLLECTION.to_owned(),
            tokens_collection: DEFAULT_TOKENS_COLLECTION.to_owned(),
            migrate: true,
            ttl_index: true,
            server_selection_timeout: None,
            connect_timeout: None,
            operation_timeout: Some(DEFAULT_OPERATION_TIMEOUT),
            max_pool_size: None,
        }
    }
}

impl MongoStoreOptions {
    /// The defaults: database from the URL path (else [`DEFAULT_DATABASE`]), collections
    /// `users` and `tokens`, indexes created on connect with a TTL index on `expires_at`,
    /// 5 s server selection and connect timeouts, 15 s per operation.
    pub fn new() -> Self {
        Self::default()
    }

    /// The database to use, overriding the connection string's path. Used by
    /// [`connect_with`](crate::MongoStore::connect_with) only.
    pub fn with_database(mut self, name: impl Into<String>) -> Self {
        self.database = Some(name.into());
        self
    }

    /// The users collection's name; default `users`.
    pub fn with_users_collection(mut self, name: impl Into<String>) -> Self {
        self.users_collection = name.into();
        self
    }

    /// Most connections the driver opens to each server, overriding the URL's
    /// `maxPoolSize`; default: the URL's, else the driver's 10. At least 1. Used by
    /// [`connect_with`](crate::MongoStore::connect_with) only.
    pub fn with_max_pool_size(mut self, max: u32) -> Self {
        self.max_pool_size = Some(max.max(1));
        self
    }

    /// The tokens collection's name; default `tokens`.
    pub fn with_tokens_collection(mut self, name: impl Into<String>) -> Self {
        self.tokens_collection = name.into();
        self
    }

    /// Whether [`connect_with`](crate::MongoStore::connect_with) creates the indexes
    /// ([`MongoStore::migrate`](crate::MongoStore::migrate)); default `true`. Turn it off
    /// when a deployment step creates them, or when the application's database user may not
    /// create indexes.
    pub fn with_migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
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
    pub fn with_ttl_index(mut self, ttl_index: bool) -> Self {
        self.ttl_index = ttl_index;
        self
    }

    /// How long an operation waits for a usable server before it fails with
    /// `StoreError::Unavailable`. Default: the connection string's `serverSelectionTimeoutMS`
    /// if set, else [`DEFAULT_SERVER_SELECTION_TIMEOUT`]. Used by
    /// [`connect_with`](crate::MongoStore::connect_with) only.
    pub fn with_server_selection_timeout(mut self, timeout: Duration) -> Self {
        self.server_selection_timeout = Some(timeout);
        self
    }

    /// How long opening one connection may take. Default: the connection string's
    /// `connectTimeoutMS` if set, else [`DEFAULT_CONNECT_TIMEOUT`]. Used by
    /// [`connect_with`](crate::MongoStore::connect_with) only.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The longest one store operation may take, server selection included, before it fails
    /// with `StoreError::Unavailable`; default [`DEFAULT_OPERATION_TIMEOUT`]; `None` for no
    /// bound. This catches a server that accepts connections but stops answering, on which
    /// the driver, having no socket timeout, could otherwise wait for long. A write cut off
    /// this way may still be applied by the server, as after any network failure.
    /// [`migrate`](crate::MongoStore::migrate) is not bounded: building an index on a large
    /// collection can take long.
    pub fn with_operation_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.operation_timeout = timeout;
        self
    }
}
