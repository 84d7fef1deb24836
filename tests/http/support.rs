//! The test server: a real HTTP server on an ephemeral loopback port, over one adapter and
//! one store, with a manual clock and an outbox capturing every email.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use auth_core::{
    AuthConfig, AuthEvent, AuthEventKind, AuthEvents, AuthService, EmailError, EmailLink,
    EmailNotice, EmailSender, HashingConfig, ManualClock, UserId, async_trait,
};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::Value;
use tokio::sync::{Mutex, mpsc};

pub(crate) const SECRET: &str = "J00MyFfKaDanGeg446lqiqFlJg0l75W8JIPdl4aNrND";
pub(crate) const PASSWORD: &str = "Str0ng!pass";
/// The `User-Agent` of every request of the suite (unless a test sets another).
pub(crate) const USER_AGENT: &str = "myauth-http-suite/1";

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
    /// A "your password was changed" notice (no link: `EmailLink::link` is empty).
    PasswordChanged,
    /// A "new sign-in" notice (no link).
    NewSignIn,
}

/// Every event the service fired, as the application's hooks saw it.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventLog(Arc<std::sync::Mutex<Vec<AuthEvent>>>);

impl EventLog {
    /// Every event so far.
    pub(crate) fn snapshot(&self) -> Vec<AuthEvent> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl AuthEvents for EventLog {
    async fn on_event(&self, event: &AuthEvent) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(event.clone());
    }
}

/// Emails received while waiting for the other sort.
#[derive(Debug, Default)]
struct Stash {
    links: std::collections::VecDeque<(Sent, EmailLink)>,
    notices: std::collections::VecDeque<(Sent, EmailLink)>,
}

/// A notice as the suite's outbox keeps it: the recipient, no link.
fn notice_email(notice: &EmailNotice) -> EmailLink {
    EmailLink {
        to: notice.to.clone(),
        link: String::new(),
        token: String::new(),
        expires_in: time::Duration::ZERO,
    }
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

    async fn send_password_changed_email(&self, notice: &EmailNotice) -> Result<(), EmailError> {
        self.0
            .send((Sent::PasswordChanged, notice_email(notice)))
            .map_err(|_| EmailError::new("outbox closed"))
    }

    async fn send_new_sign_in_email(&self, notice: &EmailNotice) -> Result<(), EmailError> {
        self.0
            .send((Sent::NewSignIn, notice_email(notice)))
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
    pub(crate) events: EventLog,
    emails: Mutex<mpsc::UnboundedReceiver<(Sent, EmailLink)>>,
    stash: Mutex<Stash>,
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
        let events = EventLog::default();
        let builder = AuthService::builder()
            .config(config)
            .shared_store(store)
            .clock(clock.clone())
            .events(events.clone());
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
                .user_agent(USER_AGENT)
                .build()
                .expect("client"),
            clock,
            service,
            events,
            emails: Mutex::new(rx),
            stash: Mutex::default(),
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

    /// The next email that arrives within `wait`, link or notice.
    async fn pull(&self, wait: StdDuration) -> Option<(Sent, EmailLink)> {
        #[cfg(feature = "smtp")]
        if let Some(smtp) = &self.smtp {
            return tokio::time::timeout(wait, smtp.next())
                .await
                .ok()
                .map(crate::smtp_server::link_email);
        }
        let mut rx = self.emails.lock().await;
        tokio::time::timeout(wait, rx.recv())
            .await
            .ok()
            .map(|email| email.expect("outbox closed"))
    }

    /// The next link email (verification, reset) the service sent, waiting for the
    /// background send. Notices that arrive meanwhile are kept for
    /// [`next_notice`](Self::next_notice).
    pub(crate) async fn next_email(&self) -> (Sent, EmailLink) {
        if let Some(email) = self.stash.lock().await.links.pop_front() {
            return email;
        }
        loop {
            let email = self
                .pull(StdDuration::from_secs(10))
                .await
                .expect("no email within 10 s");
            match email.0 {
                Sent::Verification | Sent::PasswordReset => return email,
                Sent::PasswordChanged | Sent::NewSignIn => {
                    self.stash.lock().await.notices.push_back(email);
                }
            }
        }
    }

    /// The next security notice (password changed, new sign-in), waiting for the
    /// background send. Link emails that arrive meanwhile are kept for
    /// [`next_email`](Self::next_email).
    pub(crate) async fn next_notice(&self) -> (Sent, EmailLink) {
        if let Some(notice) = self.stash.lock().await.notices.pop_front() {
            return notice;
        }
        loop {
            let email = self
                .pull(StdDuration::from_secs(10))
                .await
                .expect("no notice within 10 s");
            match email.0 {
                Sent::PasswordChanged | Sent::NewSignIn => return email,
                Sent::Verification | Sent::PasswordReset => {
                    self.stash.lock().await.links.push_back(email);
                }
            }
        }
    }

    /// Asserts that no notice arrives within a short while.
    pub(crate) async fn assert_no_notice(&self) {
        let stashed = self.stash.lock().await.notices.pop_front();
        assert!(stashed.is_none(), "unexpected notice: {stashed:?}");
        while let Some(email) = self.pull(StdDuration::from_millis(300)).await {
            match email.0 {
                Sent::PasswordChanged | Sent::NewSignIn => panic!("unexpected notice: {email:?}"),
                Sent::Verification | Sent::PasswordReset => {
                    self.stash.lock().await.links.push_back(email);
                }
            }
        }
    }

    /// The first event of `kind` (about `user`, when given) the hooks saw, waiting up to
    /// 10 s for the background delivery.
    pub(crate) async fn event(&self, kind: AuthEventKind, user: Option<UserId>) -> AuthEvent {
        for _ in 0..500 {
            let found = self
                .events
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .find(|e| e.kind == kind && (user.is_none() || e.user_id == user))
                .cloned();
            if let Some(event) = found {
                return event;
            }
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
        panic!("no {kind} event (user {user:?}) within 10 s");
    }

    /// The id of the account with this email.
    pub(crate) async fn user_id(&self, email: &str) -> UserId {
        self.service
            .store()
            .find_user_by_email(email)
            .await
            .expect("store")
            .expect("the user exists")
            .id
    }

    /// Asserts that no link email arrives within a short while (notices are kept for
    /// [`next_notice`](Self::next_notice)).
    pub(crate) async fn assert_no_email(&self) {
        let stashed = self.stash.lock().await.links.pop_front();
        assert!(stashed.is_none(), "unexpected email: {stashed:?}");
        while let Some(email) = self.pull(StdDuration::from_millis(200)).await {
            match email.0 {
                Sent::Verification | Sent::PasswordReset => panic!("unexpected email: {email:?}"),
                Sent::PasswordChanged | Sent::NewSignIn => {
                    self.stash.lock().await.notices.push_back(email);
                }
            }
        }
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
