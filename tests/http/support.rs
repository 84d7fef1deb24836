//! The test server: a real HTTP server on an ephemeral loopback port, over one adapter and
//! one store, with a manual clock and an outbox capturing every email.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use auth_core::{
    AuthConfig, AuthService, EmailError, EmailLink, EmailSender, HashingConfig, ManualClock,
    async_trait,
};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::Value;
use tokio::sync::{Mutex, mpsc};

pub(crate) const SECRET: &str = "J00MyFfKaDanGeg446lqiqFlJg0l75W8JIPdl4aNrND";
pub(crate) const PASSWORD: &str = "Str0ng!pass";

/// Which web framework serves the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Adapter {
    Axum,
    #[cfg(feature = "poem")]
    Poem,
}

/// Which store backs the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Memory,
    Sqlite,
    #[cfg(feature = "postgres")]
    Postgres,
    #[cfg(feature = "mongodb")]
    Mongo,
}

/// A fresh name for a schema or database, so runs never see each other's rows.
#[cfg(any(feature = "postgres", feature = "mongodb"))]
pub(crate) fn fresh_name() -> String {
    format!("myauth_http_{}", uuid::Uuid::now_v7().simple())
}

#[cfg(any(feature = "postgres", feature = "mongodb"))]
pub(crate) fn server_url(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: scripts/test.sh starts the server and sets it")
    })
}

/// How the emails leave the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mail {
    /// Captured by an in-process sender.
    Outbox,
    /// Sent by `auth-smtp` over a real SMTP conversation to a server on loopback.
    #[cfg(feature = "smtp")]
    Smtp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    Verification,
    PasswordReset,
}

#[derive(Debug, Clone)]
struct Outbox(mpsc::UnboundedSender<(Sent, EmailLink)>);

#[async_trait]
impl EmailSender for Outbox {
    async fn send_verification_email(&self, email: &EmailLink) -> Result<(), EmailError> {
        self.0
            .send((Sent::Verification, email.clone()))
            .map_err(|_| EmailError::new("outbox closed"))
    }

    async fn send_password_reset_email(&self, email: &EmailLink) -> Result<(), EmailError> {
        self.0
            .send((Sent::PasswordReset, email.clone()))
            .map_err(|_| EmailError::new("outbox closed"))
    }
}

/// A fresh store of the backend, and what must live as long as it.
pub(crate) async fn open_store(
    backend: Backend,
) -> (Arc<dyn auth_core::AuthStore>, Option<tempfile::TempDir>) {
    match backend {
        Backend::Memory => (Arc::new(auth_core::MemoryStore::new()), None),
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("auth.db").display());
            let store = auth_sqlite::SqliteStore::connect(&url)
                .await
                .expect("sqlite store");
            (Arc::new(store), Some(dir))
        }
        #[cfg(feature = "postgres")]
        Backend::Postgres => {
            let options = auth_postgres::PostgresStoreOptions::new()
                .with_schema(fresh_name())
                .with_max_connections(4);
            let store = auth_postgres::PostgresStore::connect_with(
                &server_url("MYAUTH_TEST_POSTGRES_URL"),
                options,
            )
            .await
            .expect("postgres store");
            (Arc::new(store), None)
        }
        #[cfg(feature = "mongodb")]
        Backend::Mongo => {
            let options = auth_mongo::MongoStoreOptions::new().with_database(fresh_name());
            let store = auth_mongo::MongoStore::connect_with(
                &server_url("MYAUTH_TEST_MONGODB_URL"),
                options,
            )
            .await
            .expect("mongo store");
            (Arc::new(store), None)
        }
    }
}

/// A running server and a client for it.
pub(crate) struct TestServer {
    pub(crate) adapter: Adapter,
    pub(crate) backend: Backend,
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    pub(crate) clock: ManualClock,
    pub(crate) service: AuthService,
    emails: Mutex<mpsc::UnboundedReceiver<(Sent, EmailLink)>>,
    #[cfg(feature = "smtp")]
    smtp: Option<crate::smtp_server::TestSmtpServer>,
    _guard: Option<tempfile::TempDir>,
}

/// The configuration every server of the suite uses: the defaults, with cheap hashing so the
/// suite runs quickly on two cores, and the per-client-address limits off (every request
/// comes from 127.0.0.1; the limits have servers of their own in contract/limits.rs).
pub(crate) fn config() -> AuthConfig {
    AuthConfig::new(SECRET)
        .with_hashing(HashingConfig {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
            max_waiting: 1024,
        })
        .with_ip_limits(None)
}

impl TestServer {
    pub(crate) async fn start(adapter: Adapter, backend: Backend, mail: Mail) -> Self {
        Self::start_with(adapter, backend, mail, config()).await
    }

    /// A server on a fresh store of the backend, with this configuration.
    pub(crate) async fn start_with(
        adapter: Adapter,
        backend: Backend,
        mail: Mail,
        config: AuthConfig,
    ) -> Self {
        let (store, guard) = open_store(backend).await;
        let mut server = Self::serve_with(adapter, backend, store, config, mail).await;
        server._guard = guard;
        server
    }

    /// Another server like this one (adapter, backend) on a fresh store, configured so.
    pub(crate) async fn sibling(&self, config: AuthConfig) -> Self {
        Self::start_with(self.adapter, self.backend, Mail::Outbox, config).await
    }

    /// A server over an existing store: several servers over one database are several
    /// application processes scaled out.
    #[cfg(any(feature = "postgres", feature = "mongodb"))]
    pub(crate) async fn serve(
        adapter: Adapter,
        backend: Backend,
        store: Arc<dyn auth_core::AuthStore>,
        config: AuthConfig,
    ) -> Self {
        Self::serve_with(adapter, backend, store, config, Mail::Outbox).await
    }

    async fn serve_with(
        adapter: Adapter,
        backend: Backend,
        store: Arc<dyn auth_core::AuthStore>,
        config: AuthConfig,
        mail: Mail,
    ) -> Self {
        let clock = ManualClock::starting_now();
        let (tx, rx) = mpsc::unbounded_channel();
        let builder = AuthService::builder()
            .config(config)
            .shared_store(store)
            .clock(clock.clone());
        #[cfg(feature = "smtp")]
        let mut smtp = None;
        let builder = match mail {
            Mail::Outbox => builder.email_sender(Outbox(tx)),
            #[cfg(feature = "smtp")]
            Mail::Smtp => {
                let server = crate::smtp_server::TestSmtpServer::start().await;
                let sender = auth_smtp::SmtpEmailSender::from_url(
                    &server.url(),
                    "MyAuth <no-reply@localhost>",
                )
                .expect("smtp sender");
                smtp = Some(server);
                builder.email_sender(sender)
            }
        };
        let service = builder.build().expect("service");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        match adapter {
            Adapter::Axum => {
                let app = crate::apps::axum_app(service.clone())
                    .into_make_service_with_connect_info::<std::net::SocketAddr>();
                tokio::spawn(async move {
                    axum::serve(listener, app).await.expect("axum server");
                });
            }
            #[cfg(feature = "poem")]
            Adapter::Poem => {
                let app = crate::apps::poem_app(service.clone());
                let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).expect("acceptor");
                tokio::spawn(async move {
                    poem::Server::new_with_acceptor(acceptor)
                        .run(app)
                        .await
                        .expect("poem server");
                });
            }
        }
        Self {
            adapter,
            backend,
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .timeout(StdDuration::from_secs(30))
                .build()
                .expect("client"),
            clock,
            service,
            emails: Mutex::new(rx),
            #[cfg(feature = "smtp")]
            smtp,
            _guard: None,
        }
    }

    /// The directory of the database files, for a file-backed store (SQLite).
    pub(crate) fn data_dir(&self) -> Option<&std::path::Path> {
        self._guard.as_ref().map(tempfile::TempDir::path)
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn post(&self, path: &str) -> RequestBuilder {
        self.client.post(self.url(path))
    }

    pub(crate) fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(self.url(path))
    }

    pub(crate) async fn post_json(&self, path: &str, body: Value) -> Response {
        self.post(path).json(&body).send().await.expect("request")
    }

    /// The next email the service sent, waiting for the background send.
    pub(crate) async fn next_email(&self) -> (Sent, EmailLink) {
        #[cfg(feature = "smtp")]
        if let Some(smtp) = &self.smtp {
            return crate::smtp_server::link_email(smtp.next().await);
        }
        let mut rx = self.emails.lock().await;
        tokio::time::timeout(StdDuration::from_secs(10), rx.recv())
            .await
            .expect("no email within 10 s")
            .expect("outbox closed")
    }

    /// Asserts that no email arrives within a short while.
    pub(crate) async fn assert_no_email(&self) {
        #[cfg(feature = "smtp")]
        if let Some(smtp) = &self.smtp {
            return smtp.assert_nothing_delivered().await;
        }
        let mut rx = self.emails.lock().await;
        let next = tokio::time::timeout(StdDuration::from_millis(200), rx.recv()).await;
        assert!(next.is_err(), "unexpected email: {next:?}");
    }

    /// Registers a user through the API and returns the verification link's token.
    pub(crate) async fn register(&self, email: &str) -> String {
        let response = self
            .post_json(
                "/auth/register",
                serde_json::json!({"email": email, "username": "user", "password": PASSWORD}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "register {email}");
        let (kind, link) = self.next_email().await;
        assert_eq!(kind, Sent::Verification);
        token_from_link(&link.link)
    }

    /// Registers and verifies a user through the API.
    pub(crate) async fn verified_user(&self, email: &str) {
        let token = self.register(email).await;
        let response = self
            .post_json("/auth/verify-email", serde_json::json!({"token": token}))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "verify {email}");
    }

    /// Logs in and returns the token pair JSON.
    pub(crate) async fn login(&self, email: &str, password: &str) -> Value {
        let response = self
            .post_json(
                "/auth/login",
                serde_json::json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "login {email}");
        response.json().await.expect("token pair")
    }

    /// A verified user with an access token.
    pub(crate) async fn signed_in(&self, email: &str) -> (String, String) {
        self.verified_user(email).await;
        let pair = self.login(email, PASSWORD).await;
        (
            pair["access_token"].as_str().expect("access").to_owned(),
            pair["refresh_token"].as_str().expect("refresh").to_owned(),
        )
    }

    /// A verified admin with an access token.
    pub(crate) async fn admin(&self, email: &str) -> String {
        self.service
            .ensure_admin(email, &auth_core::secrecy::SecretString::from(PASSWORD))
            .await
            .expect("admin");
        self.login(email, PASSWORD).await["access_token"]
            .as_str()
            .expect("access")
            .to_owned()
    }
}

pub(crate) fn token_from_link(link: &str) -> String {
    link.split_once("?token=")
        .map(|(_, token)| token.to_owned())
        .expect("link carries a token")
}

/// Asserts an RFC 9457 problem answer with this status and code; returns the body.
pub(crate) async fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status of {code}");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        content_type, "application/problem+json",
        "content type of {code}"
    );
    let www = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let body: Value = response.json().await.expect("problem body");
    assert_eq!(body["type"], "about:blank");
    assert_eq!(body["status"], status);
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    if status == 401 {
        let www = www.expect("401 carries WWW-Authenticate");
        assert!(www.starts_with("Bearer"), "{www}");
    }
    body
}
