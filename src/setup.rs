//! One-call set-up of a complete auth stack, in the spirit of `create_auth_app_for_sqlite(...)`
//! of the Python MyAuth module this project re-imagines.

use std::fmt;
use std::sync::Arc;

use auth_core::{
    AuthConfig, AuthEvents, AuthService, AuthStore, BoxError, Clock, ConfigError, CounterStore,
    EmailSender, LogEmailSender,
};

/// What went wrong while setting MyAuth up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration was refused (short JWT secret, bad lifetimes, …).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database could not be opened or migrated.
    #[error("cannot open the store: {0}")]
    Store(#[source] BoxError),
    /// The email sender could not be built.
    #[error("cannot set up email: {0}")]
    Email(#[source] BoxError),
    /// The counter store (Redis) could not be reached.
    #[error("cannot open the counter store: {0}")]
    Counters(#[source] BoxError),
    /// The database URL names a backend this build does not include.
    #[error("unsupported database URL {0:?}: {1}")]
    UnsupportedUrl(String, &'static str),
}

enum Backend {
    Store(Arc<dyn AuthStore>),
    #[cfg(feature = "sqlite")]
    Sqlite(String),
    #[cfg(feature = "postgres")]
    Postgres(String),
    #[cfg(feature = "mongodb")]
    Mongo(String),
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Store(store) => f.debug_tuple("Store").field(store).finish(),
            // URLs may carry passwords: never print them.
            #[cfg(feature = "sqlite")]
            Self::Sqlite(_) => f.write_str("Sqlite"),
            #[cfg(feature = "postgres")]
            Self::Postgres(_) => f.write_str("Postgres"),
            #[cfg(feature = "mongodb")]
            Self::Mongo(_) => f.write_str("Mongo"),
        }
    }
}

/// A set-up in progress: a backend, a configuration and an email sender. Finish it with
/// [`service`](Self::service) (then mount the routes of your framework's adapter), or with
/// `axum_router()` / `poem_route()` directly.
#[derive(Debug)]
#[must_use = "finish the set-up with .service(), .axum_router() or .poem_route()"]
pub struct MyAuth {
    backend: Backend,
    max_connections: Option<u32>,
    config: AuthConfig,
    email: Option<Arc<dyn EmailSender>>,
    counters: Option<Counters>,
    clock: Option<Arc<dyn Clock>>,
    events: Option<Arc<dyn AuthEvents>>,
}

/// Where the abuse counters live when not in the store.
enum Counters {
    Store(Arc<dyn CounterStore>),
    #[cfg(feature = "redis")]
    Redis(String),
}

impl fmt::Debug for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Store(_) => f.write_str("Store"),
            // The URL may carry a password.
            #[cfg(feature = "redis")]
            Self::Redis(_) => f.write_str("Redis"),
        }
    }
}

/// MyAuth on SQLite: `sqlite://users.db` (created if missing) or `sqlite::memory:`.
#[cfg(feature = "sqlite")]
pub fn sqlite(url: impl Into<String>) -> MyAuth {
    MyAuth::new(Backend::Sqlite(url.into()))
}

/// MyAuth on PostgreSQL: `postgres://user:pass@host:5432/db`.
#[cfg(feature = "postgres")]
pub fn postgres(url: impl Into<String>) -> MyAuth {
    MyAuth::new(Backend::Postgres(url.into()))
}

/// MyAuth on MongoDB: `mongodb://host:27017/dbname` (database name from the path).
#[cfg(feature = "mongodb")]
pub fn mongodb(url: impl Into<String>) -> MyAuth {
    MyAuth::new(Backend::Mongo(url.into()))
}

/// MyAuth on any store, e.g. your own implementation of the store traits.
pub fn with_store(store: impl AuthStore) -> MyAuth {
    MyAuth::new(Backend::Store(Arc::new(store)))
}

/// MyAuth on the backend a URL names: `sqlite:…`, `postgres://…`/`postgresql://…` or
/// `mongodb://…`.
///
/// # Errors
///
/// [`Error::UnsupportedUrl`] for another scheme or a backend this build leaves out.
pub fn from_url(url: &str) -> Result<MyAuth, Error> {
    let scheme = url
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let missing = |feature: &'static str| Err(Error::UnsupportedUrl(redact(url), feature));
    match scheme.as_str() {
        #[cfg(feature = "sqlite")]
        "sqlite" => Ok(sqlite(url)),
        #[cfg(not(feature = "sqlite"))]
        "sqlite" => missing("this build has no SQLite support (feature `sqlite`)"),
        #[cfg(feature = "postgres")]
        "postgres" | "postgresql" => Ok(postgres(url)),
        #[cfg(not(feature = "postgres"))]
        "postgres" | "postgresql" => {
            missing("this build has no PostgreSQL support (feature `postgres`)")
        }
        #[cfg(feature = "mongodb")]
        "mongodb" => Ok(mongodb(url)),
        #[cfg(not(feature = "mongodb"))]
        "mongodb" => missing("this build has no MongoDB support (feature `mongodb`)"),
        _ => missing("expected sqlite:, postgres:// or mongodb://"),
    }
}

/// A URL without its password, for messages.
fn redact(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let authority_end = url[start..].find('/').map_or(url.len(), |i| start + i);
    match url[start..authority_end].rfind('@') {
        Some(at) => {
            let credentials = &url[start..start + at];
            match credentials.split_once(':') {
                Some((user, _)) => {
                    format!("{}{user}:[redacted]{}", &url[..start], &url[start + at..])
                }
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

impl MyAuth {
    fn new(backend: Backend) -> Self {
        Self {
            backend,
            max_connections: None,
            config: AuthConfig::default(),
            email: None,
            counters: None,
            clock: None,
            events: None,
        }
    }

    /// The JWT secret (at least 32 bytes; checked when the set-up finishes). Without one, a
    /// random secret is used and tokens die with the process.
    pub fn jwt_secret(mut self, secret: impl Into<String>) -> Self {
        self.config = self.config.with_jwt_secret(secret);
        self
    }

    /// The whole configuration (replaces any earlier [`jwt_secret`](Self::jwt_secret)).
    pub fn config(mut self, config: AuthConfig) -> Self {
        self.config = config;
        self
    }

    /// The email sender. Without one, emails are written to the log ([`LogEmailSender`]),
    /// which suits development only: the log then holds login-equivalent links.
    pub fn email(mut self, sender: impl EmailSender) -> Self {
        self.email = Some(Arc::new(sender));
        self
    }

    /// An email sender already behind an `Arc`.
    pub fn shared_email(mut self, sender: Arc<dyn EmailSender>) -> Self {
        self.email = Some(sender);
        self
    }

    /// Sends email over SMTP, configured by a URL: `smtp://host:2525`,
    /// `smtp://user:pass@host:587?tls=starttls` or `smtps://user:pass@host:465`.
    ///
    /// # Errors
    ///
    /// [`Error::Email`] for an unusable URL or sender address.
    #[cfg(feature = "smtp")]
    pub fn smtp(self, url: &str, from: &str) -> Result<Self, Error> {
        let sender = auth_smtp::SmtpEmailSender::from_url(url, from)
            .map_err(|e| Error::Email(Box::new(e)))?;
        Ok(self.email(sender))
    }

    /// Keeps the abuse counters (per-address limits, email cooldowns, the login throttle)
    /// in this store instead of the main store.
    pub fn counter_store(mut self, counters: impl CounterStore) -> Self {
        self.counters = Some(Counters::Store(Arc::new(counters)));
        self
    }

    /// Keeps the abuse counters in Redis (`redis://host:6379`), shared by every process
    /// that uses the same server. Connected when the set-up finishes.
    #[cfg(feature = "redis")]
    pub fn redis(mut self, url: impl Into<String>) -> Self {
        self.counters = Some(Counters::Redis(url.into()));
        self
    }

    /// Most database connections the store's pool opens (at least 1). Default for SQLite
    /// and PostgreSQL: 4 per core, between 4 and 64; for MongoDB the URL's `maxPoolSize`,
    /// else the driver's 10. No effect on a store passed to
    /// [`with_store`], which owns its pool.
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = Some(max.max(1));
        self
    }

    /// The application's event hooks (registered, login succeeded, password changed, …;
    /// see [`auth_core::events`]). They run after each change is stored, off the response
    /// path.
    pub fn events(mut self, events: impl AuthEvents) -> Self {
        self.events = Some(Arc::new(events));
        self
    }

    /// Event hooks already behind an `Arc`.
    pub fn shared_events(mut self, events: Arc<dyn AuthEvents>) -> Self {
        self.events = Some(events);
        self
    }

    /// The clock (tests).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Opens the store (running its migrations) and builds the service.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a refused configuration, [`Error::Store`] when the database
    /// cannot be opened.
    pub async fn service(self) -> Result<AuthService, Error> {
        self.config.validate()?;
        let store = self.backend.open(self.max_connections).await?;
        let email = self.email.unwrap_or_else(|| {
            tracing::warn!(
                "no email sender configured: verification and reset links are written to the log"
            );
            Arc::new(LogEmailSender::new())
        });
        let mut builder = AuthService::builder()
            .config(self.config)
            .shared_store(store)
            .shared_email_sender(email);
        if let Some(clock) = self.clock {
            builder = builder.shared_clock(clock);
        }
        if let Some(events) = self.events {
            builder = builder.shared_events(events);
        }
        match self.counters {
            None => {}
            Some(Counters::Store(counters)) => builder = builder.shared_counter_store(counters),
            #[cfg(feature = "redis")]
            Some(Counters::Redis(url)) => {
                let counters = auth_redis::RedisCounterStore::connect(&url)
                    .await
                    .map_err(|e| Error::Counters(Box::new(e)))?;
                builder = builder.counter_store(counters);
            }
        }
        Ok(builder.build()?)
    }

    /// The axum router with every auth route, and the admin routes under `/admin`: nest it
    /// at `/auth`.
    ///
    /// # Errors
    ///
    /// As [`service`](Self::service).
    #[cfg(feature = "axum")]
    pub async fn axum_router(self) -> Result<axum::Router, Error> {
        let service = self.service().await?;
        Ok(axum_router(service))
    }
}

/// The poem route of a service: the auth routes, and the admin routes under `/admin`.
#[cfg(feature = "poem")]
pub fn poem_route(service: AuthService) -> poem::Route {
    auth_poem::route(service.clone()).nest("/admin", auth_poem::admin_route(service))
}

/// The axum router of a service: the auth routes, and the admin routes under `/admin`.
#[cfg(feature = "axum")]
pub fn axum_router(service: AuthService) -> axum::Router {
    auth_axum::router(service.clone()).nest("/admin", auth_axum::admin_router(service))
}

#[cfg(feature = "poem")]
impl MyAuth {
    /// The poem route with every auth route, and the admin routes under `/admin`: nest it
    /// at `/auth`.
    ///
    /// # Errors
    ///
    /// As [`service`](Self::service).
    pub async fn poem_route(self) -> Result<poem::Route, Error> {
        Ok(poem_route(self.service().await?))
    }
}

/// A store just opened, as the service holds it; or why it could not be opened.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mongodb"))]
fn opened<S: AuthStore, E: std::error::Error + Send + Sync + 'static>(
    result: Result<S, E>,
) -> Result<Arc<dyn AuthStore>, Error> {
    result
        .map(|s| Arc::new(s) as Arc<dyn AuthStore>)
        .map_err(|e| Error::Store(Box::new(e)))
}

impl Backend {
    #[cfg_attr(
        not(any(feature = "sqlite", feature = "postgres", feature = "mongodb")),
        allow(unused_variables)
    )]
    async fn open(self, max_connections: Option<u32>) -> Result<Arc<dyn AuthStore>, Error> {
        match self {
            Self::Store(store) => Ok(store),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(url) => {
                let mut options = auth_sqlite::SqliteStoreOptions::new();
                if let Some(max) = max_connections {
                    options = options.with_max_connections(max);
                }
                opened(auth_sqlite::SqliteStore::connect_with(&url, options).await)
            }
            #[cfg(feature = "postgres")]
            Self::Postgres(url) => {
                let mut options = auth_postgres::PostgresStoreOptions::new();
                if let Some(max) = max_connections {
                    options = options.with_max_connections(max);
                }
                opened(auth_postgres::PostgresStore::connect_with(&url, options).await)
            }
            #[cfg(feature = "mongodb")]
            Self::Mongo(url) => {
                let mut options = auth_mongo::MongoStoreOptions::new();
                if let Some(max) = max_connections {
                    options = options.with_max_connections(max);
                }
                opened(auth_mongo::MongoStore::connect_with(&url, options).await)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_password_in_messages() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/auth"),
            "postgres://app:[redacted]@db:5432/auth"
        );
        assert_eq!(redact("sqlite://users.db"), "sqlite://users.db");
        assert_eq!(redact("postgres://app@db/auth"), "postgres://app@db/auth");
        assert_eq!(
            redact("mongodb://u:p@ss@host/db?x=a@b"),
            "mongodb://u:[redacted]@host/db?x=a@b"
        );
        let error = from_url("redis://u:hunter2@host").unwrap_err();
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
}
