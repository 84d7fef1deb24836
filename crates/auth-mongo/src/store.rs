//! [`MongoStore`]: the handle, how it connects, the index set-up, and the bound on every
//! operation.

use std::fmt;
use std::future::IntoFuture;
use std::time::Duration;

use auth_core::StoreError;
use mongodb::bson::Document;
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, Database, IndexModel};

use crate::codec::audit::{AnchorDoc, AuditDoc};
use crate::codec::counter::CounterDoc;
use crate::codec::session::SessionDoc;
use crate::codec::{TokenDoc, UserDoc};
use crate::error::{Error, OperationTimedOut, store_error};
use crate::options::MongoStoreOptions;
use crate::{audit, counters, sessions, tokens, users};

/// The application name the driver reports to the server (visible in server logs and
/// `currentOp`) unless the connection string sets `appName`.
const APP_NAME: &str = "myauth";

/// A MongoDB-backed [`AuthStore`](auth_core::AuthStore): users (with their second factor),
/// tokens, sessions, abuse counters and the audit log in collections of one database.
///
/// A cheap-clone handle around the driver's connection pool; clones share it. Build one with
/// [`connect`](Self::connect) / [`connect_with`](Self::connect_with) from a connection string,
/// or with [`new`](Self::new) / [`with_options`](Self::with_options) from a
/// [`Database`] the application already has.
///
/// Every rule of the store contract holds across processes sharing the database, with no
/// multi-document transaction: uniqueness by unique indexes, single use by one conditional
/// single-document write per use (`findAndModify`, or an update whose match count is the
/// answer), counters by compare-and-set on the state read.
#[derive(Clone, Debug)]
pub struct MongoStore {
    database: Named<Database>,
    pub(crate) users: Named<Collection<UserDoc>>,
    pub(crate) tokens: Named<Collection<TokenDoc>>,
    pub(crate) sessions: Named<Collection<SessionDoc>>,
    pub(crate) counters: Named<Collection<CounterDoc>>,
    pub(crate) audit: Named<Collection<AuditDoc>>,
    pub(crate) audit_anchor: Named<Collection<AnchorDoc>>,
    ttl_index: bool,
    operation_timeout: Option<Duration>,
}

impl MongoStore {
    /// Connects with the default [`MongoStoreOptions`]: the database named by the URL path
    /// (`mongodb://host:27017/myapp`), else `myauth`; 5 s server selection and connect
    /// timeouts unless the URL sets them; indexes created (see [`migrate`](Self::migrate)).
    ///
    /// `mongodb+srv://` URLs are not supported (the driver's DNS resolver is not compiled
    /// in); list the hosts in a `mongodb://` URL instead.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] for a malformed or unsupported connection string;
    /// [`Error::Store`] with [`StoreError::Unavailable`] when no server answers within the
    /// server selection timeout or the indexes cannot be created.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with(url, MongoStoreOptions::default()).await
    }

    /// Connects with the given options; see [`connect`](Self::connect).
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect); with
    /// [`with_migrations(false)`](MongoStoreOptions::with_migrations) nothing is sent to the
    /// server yet, so only [`Error::InvalidUrl`] is possible.
    pub async fn connect_with(url: &str, options: MongoStoreOptions) -> Result<Self, Error> {
        let mut client_options = ClientOptions::parse(url).await.map_err(Error::InvalidUrl)?;
        if let Some(timeout) = options.server_selection_timeout() {
            client_options.server_selection_timeout = Some(timeout);
        }
        client_options
            .server_selection_timeout
            .get_or_insert(MongoStoreOptions::DEFAULT_SERVER_SELECTION_TIMEOUT);
        if let Some(timeout) = options.connect_timeout() {
            client_options.connect_timeout = Some(timeout);
        }
        client_options
            .connect_timeout
            .get_or_insert(MongoStoreOptions::DEFAULT_CONNECT_TIMEOUT);
        client_options
            .app_name
            .get_or_insert_with(|| APP_NAME.to_owned());
        if let Some(max) = options.max_connections() {
            client_options.max_pool_size = Some(max);
        }
        let name = options
            .database()
            .map(str::to_owned)
            .or_else(|| client_options.default_database.clone())
            .unwrap_or_else(|| MongoStoreOptions::DEFAULT_DATABASE.to_owned());
        let client = Client::with_options(client_options).map_err(Error::InvalidUrl)?;
        let store = Self::with_options(client.database(&name), &options);
        if options.migrations() {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// A store over an existing database with the default collection names. Creates no
    /// indexes: call [`migrate`](Self::migrate) once (it is idempotent). Timeouts are those
    /// of `database`'s client, plus the default operation timeout.
    pub fn new(database: Database) -> Self {
        Self::with_options(database, &MongoStoreOptions::default())
    }

    /// A store over an existing database with the collection names, TTL choice and operation
    /// timeout of `options`. Creates no indexes (call [`migrate`](Self::migrate)); the
    /// database name and connection settings of `options` do not apply here.
    pub fn with_options(database: Database, options: &MongoStoreOptions) -> Self {
        Self {
            users: Named(database.collection(options.users_collection())),
            tokens: Named(database.collection(options.tokens_collection())),
            sessions: Named(database.collection(options.sessions_collection())),
            counters: Named(database.collection(options.counters_collection())),
            audit: Named(database.collection(options.audit_collection())),
            audit_anchor: Named(
                database.collection(&format!("{}_anchor", options.audit_collection())),
            ),
            database: Named(database),
            ttl_index: options.ttl_index(),
            operation_timeout: options.operation_timeout(),
        }
    }

    /// The database the store works in.
    pub fn database(&self) -> &Database {
        &self.database.0
    }

    /// Creates the indexes the store relies on; idempotent, and safe when several processes
    /// run it at once (MongoDB treats creating an identical index as a no-op):
    ///
    /// - users: unique on `email` (the normalised email: of concurrent registrations of one
    ///   address exactly one succeeds); sparse on `versioned_at` (the revocation feed) and
    ///   on `totp.pending_expires_at` (the purge of abandoned enrolments);
    /// - tokens: unique on `token_hash`, on `user_id`, on `family_id`, and on `expires_at` —
    ///   a TTL index (`expireAfterSeconds: 0`) unless
    ///   [`with_ttl_index(false)`](MongoStoreOptions::with_ttl_index);
    /// - sessions: on `(user_id, created_at)` (a user's sessions, newest first), on
    ///   `revoked_at` (the revocation feed) and on `expires_at` (the purge);
    /// - counters: on `expires_at` (the purge; the key is the `_id`);
    /// - audit: on `(user_id, seq)` and `(event, seq)` (the filtered listings; the position
    ///   is the `_id`), on `at` (the purge).
    ///
    /// An existing database upgrades in place: the new indexes are added, and documents
    /// written before them read as users with versions 0 and no second factor.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] with [`StoreError::Unavailable`] when the server cannot be reached,
    /// the database user may not create indexes, or an index on the same keys exists with
    /// other options (for instance a TTL index where a plain one is asked for).
    pub async fn migrate(&self) -> Result<(), Error> {
        // Each collection's module lists its own indexes, next to the queries that use them.
        self.users
            .0
            .create_indexes(users::indexes())
            .await
            .map_err(store_error)?;
        self.tokens
            .0
            .create_indexes(tokens::indexes(self.ttl_index))
            .await
            .map_err(store_error)?;
        self.sessions
            .0
            .create_indexes(sessions::indexes())
            .await
            .map_err(store_error)?;
        self.counters
            .0
            .create_indexes(counters::indexes())
            .await
            .map_err(store_error)?;
        self.audit
            .0
            .create_indexes(audit::indexes())
            .await
            .map_err(store_error)?;
        Ok(())
    }

    /// Runs one driver operation within the operation timeout and maps its error.
    pub(crate) async fn bounded<T, F>(&self, operation: F) -> Result<T, StoreError>
    where
        F: IntoFuture<Output = mongodb::error::Result<T>>,
    {
        let result = match self.operation_timeout {
            Some(limit) => tokio::time::timeout(limit, operation)
                .await
                .map_err(|_| StoreError::unavailable(OperationTimedOut(limit)))?,
            None => operation.await,
        };
        result.map_err(store_error)
    }
}

/// One ascending index. Names are fixed so that a second `migrate` asks for exactly the same
/// indexes, which the server then treats as a no-op.
pub(crate) fn index(
    keys: Document,
    name: &str,
    unique: bool,
    expire_after: Option<Duration>,
) -> IndexModel {
    let options = IndexOptions::builder()
        .name(name.to_owned())
        .unique(unique.then_some(true))
        .expire_after(expire_after)
        .build();
    IndexModel::builder().keys(keys).options(options).build()
}

/// One ascending sparse index: documents without the field stay out of it.
pub(crate) fn sparse_index(keys: Document, name: &str) -> IndexModel {
    let options = IndexOptions::builder()
        .name(name.to_owned())
        .sparse(true)
        .build();
    IndexModel::builder().keys(keys).options(options).build()
}

/// A short pause after losing a compare-and-set race, growing with the attempts and
/// jittered, so writers that collided do not collide again in lockstep.
pub(crate) async fn backoff(attempt: u32) {
    // The random bits of a v7 UUID are jitter enough, without another dependency.
    let jitter = u64::from(uuid::Uuid::now_v7().as_bytes()[15]);
    let micros = jitter * u64::from(attempt.min(20) + 1);
    tokio::time::sleep(Duration::from_micros(micros)).await;
}

/// A driver handle whose `Debug` shows only its name: the driver's own `Debug` prints the
/// whole client configuration.
#[derive(Clone)]
pub(crate) struct Named<T>(pub(crate) T);

impl fmt::Debug for Named<Database> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.name(), f)
    }
}

impl<T: Send + Sync> fmt::Debug for Named<Collection<T>> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.name(), f)
    }
}
