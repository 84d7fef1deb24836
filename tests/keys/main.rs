//! Signing keys over real HTTP (docs/http-contract.md "Signing keys"), on both adapters and the memory
//! store: the JWKS endpoint, a key rotation across a restart, and independent verifiers —
//! `jsonwebtoken` and, with `--include-ignored`, the npm `jose` package — checking our
//! tokens from our JWKS URL alone.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test suite reports failures by panicking"
)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use auth_core::{
    AuthConfig, AuthService, AuthStore, EmailError, EmailLink, EmailSender, HashingConfig, JwtKey,
    MemoryStore, async_trait,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::mpsc;

const SECRET: &str = "No0Vh1IhgmbHD_SJ5FiNL5VUqS8NG-r6Osi7TDEmWje";
const PASSWORD: &str = "Str0ng!pass";

/// A key file of auth-core's test keys.
fn key_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("crates/auth-core/testdata/keys")
        .join(name)
}

fn key(name: &str) -> JwtKey {
    JwtKey::from_pem_file(key_file(name)).unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Adapter {
    Axum,
    #[cfg(feature = "poem")]
    Poem,
}

const ADAPTERS: &[Adapter] = &[
    Adapter::Axum,
    #[cfg(feature = "poem")]
    Adapter::Poem,
];

#[derive(Debug, Clone)]
struct Outbox(mpsc::UnboundedSender<EmailLink>);

#[async_trait]
impl EmailSender for Outbox {
    async fn send_verification_email(&self, email: &EmailLink) -> Result<(), EmailError> {
        self.0
            .send(email.clone())
            .map_err(|_| EmailError::new("outbox closed"))
    }

    async fn send_password_reset_email(&self, email: &EmailLink) -> Result<(), EmailError> {
        self.0
            .send(email.clone())
            .map_err(|_| EmailError::new("outbox closed"))
    }
}

/// A server process, as far as a client can tell: its own service over a shared store,
/// on its own port; dropping it stops it.
struct Server {
    base: String,
    client: reqwest::Client,
    emails: mpsc::UnboundedReceiver<EmailLink>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn config() -> AuthConfig {
    AuthConfig::new(SECRET)
        .with_require_verified_email(false)
        .with_hashing(HashingConfig {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
            max_waiting: 1024,
        })
}

async fn start(adapter: Adapter, store: Arc<dyn AuthStore>, config: AuthConfig) -> Server {
    let (tx, emails) = mpsc::unbounded_channel();
    let service = AuthService::builder()
        .config(config)
        .shared_store(store)
        .email_sender(Outbox(tx))
        .build()
        .expect("service");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = match adapter {
        Adapter::Axum => {
            let app = axum::Router::new().nest("/auth", myauth::axum_router(service));
            tokio::spawn(async move {
                axum::serve(listener, app).await.expect("axum server");
            })
        }
        #[cfg(feature = "poem")]
        Adapter::Poem => {
            let app = poem::Route::new().nest("/auth", myauth::poem_route(service));
            let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).expect("acceptor");
            tokio::spawn(async move {
                poem::Server::new_with_acceptor(acceptor)
                    .run(app)
                    .await
                    .expect("poem server");
            })
        }
    };
    Server {
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .timeout(StdDuration::from_secs(30))
            .build()
            .expect("client"),
        emails,
        task,
    }
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn jwks_url(&self) -> String {
        self.url("/auth/.well-known/jwks.json")
    }

    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    async fn register(&mut self, email: &str) -> (String, EmailLink) {
        let response = self
            .post(
                "/auth/register",
                json!({"email": email, "username": "keys", "password": PASSWORD}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let user: Value = response.json().await.unwrap();
        let email = tokio::time::timeout(StdDuration::from_secs(10), self.emails.recv())
            .await
            .expect("no verification email within 10 s")
            .expect("outbox open");
        (user["id"].as_str().unwrap().to_owned(), email)
    }

    async fn login(&self, email: &str) -> String {
        let response = self
            .post("/auth/login", json!({"email": email, "password": PASSWORD}))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let pair: Value = response.json().await.unwrap();
        pair["access_token"].as_str().unwrap().to_owned()
    }

    async fn me(&self, token: &str) -> StatusCode {
        self.client
            .get(self.url("/auth/me"))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
            .status()
    }

    async fn jwks(&self) -> (reqwest::header::HeaderMap, String) {
        let response = self
            .client
            .get(self.jwks_url())
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        (headers, response.text().await.unwrap())
    }
}

fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// `jsonwebtoken` checks `token` with nothing but the JWKS text: the key its kid names.
fn verified_from_jwks(jwks: &str, token: &str, algorithm: Algorithm) -> Value {
    let set: JwkSet = serde_json::from_str(jwks).unwrap();
    let jwk = set
        .find(&kid_of(token))
        .expect("the token's kid is in the JWKS");
    let mut validation = Validation::new(algorithm);
    validation.set_audience(&["myauth"]);
    validation.set_issuer(&["myauth"]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .unwrap()
        .claims
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_adapters_serve_the_same_cacheable_jwks() {
    for config in [
        config(),
        config().with_jwt_signing_key(key("ed25519.pem")),
        config()
            .with_jwt_signing_key(key("p256.pem"))
            .with_jwt_previous_keys([key("rsa2048.pub.pem"), key("ed25519.pub.pem")]),
    ] {
        let mut bodies = Vec::new();
        for adapter in ADAPTERS {
            let server = start(*adapter, Arc::new(MemoryStore::new()), config.clone()).await;
            let (headers, body) = server.jwks().await;
            assert_eq!(headers["content-type"], "application/json", "{adapter:?}");
            assert_eq!(
                headers["cache-control"], "public, max-age=300",
                "{adapter:?}"
            );
            let openapi: Value = server
                .client
                .get(server.url("/auth/openapi.json"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert!(openapi["paths"]["/auth/.well-known/jwks.json"]["get"].is_object());
            bodies.push(body);
        }
        let jwks: Value = serde_json::from_str(&bodies[0]).unwrap();
        let expected =
            usize::from(config.jwt_signing_key().is_some()) + config.jwt_previous_keys().len();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), expected, "{jwks}");
        assert!(
            bodies.iter().all(|b| *b == bodies[0]),
            "adapters differ: {bodies:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_logs_nobody_out_across_a_restart() {
    // One database, three server generations, alternating adapters.
    let store: Arc<dyn AuthStore> = Arc::new(MemoryStore::new());
    let adapter = |n: usize| ADAPTERS[n % ADAPTERS.len()];
    let email = "rotation@example.com";

    // 1. Ed25519 key A signs.
    let mut first = start(
        adapter(0),
        store.clone(),
        config().with_jwt_signing_key(key("ed25519.pem")),
    )
    .await;
    let (id, link) = first.register(email).await;
    let old_access = first.login(email).await;
    let kid_a = key("ed25519.pem").kid().to_owned();
    assert_eq!(kid_of(&old_access), kid_a);
    assert_eq!(kid_of(&link.token), kid_a);
    drop(first);

    // 2. Restart with P-256 key B signing and A kept as a previous key (its public half).
    let second = start(
        adapter(1),
        store.clone(),
        config()
            .with_jwt_signing_key(key("p256.pem"))
            .with_jwt_previous_keys([key("ed25519.pub.pem")]),
    )
    .await;
    assert_eq!(second.me(&old_access).await, StatusCode::OK, "logged out");
    let verified = second
        .post("/auth/verify-email", json!({"token": link.token}))
        .await;
    assert_eq!(verified.status(), StatusCode::OK, "the email link died");
    let new_access = second.login(email).await;
    let kid_b = key("p256.pem").kid().to_owned();
    assert_eq!(kid_of(&new_access), kid_b);
    let (_, jwks) = second.jwks().await;
    let set: JwkSet = serde_json::from_str(&jwks).unwrap();
    let kids: Vec<_> = set
        .keys
        .iter()
        .map(|k| k.common.key_id.clone().unwrap())
        .collect();
    assert_eq!(kids, [kid_b.clone(), kid_a.clone()]);
    // Another service verifies both tokens from the JWKS alone.
    assert_eq!(
        verified_from_jwks(&jwks, &old_access, Algorithm::EdDSA)["sub"],
        id
    );
    assert_eq!(
        verified_from_jwks(&jwks, &new_access, Algorithm::ES256)["sub"],
        id
    );
    drop(second);

    // 3. One access-token lifetime later, A is dropped: its tokens are refused, B's work.
    let third = start(
        adapter(2),
        store,
        config().with_jwt_signing_key(key("p256.pem")),
    )
    .await;
    assert_eq!(third.me(&old_access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(third.me(&new_access).await, StatusCode::OK);
    let (_, jwks) = third.jwks().await;
    assert!(!jwks.contains(&kid_a) && jwks.contains(&kid_b), "{jwks}");
}

/// The `node_modules` folder that holds `jose` (scripts/test.sh installs it and sets this).
fn node_modules() -> PathBuf {
    let dir = std::env::var("MYAUTH_TEST_NODE_MODULES").unwrap_or_else(|_| {
        panic!(
            "MYAUTH_TEST_NODE_MODULES is not set: scripts/test.sh installs npm's jose and sets it"
        )
    });
    let dir = PathBuf::from(dir);
    assert!(
        dir.join("jose/package.json").is_file(),
        "{} holds no jose package",
        dir.display()
    );
    dir
}

/// Runs `verify_jose.cjs`; its output on success, its error code otherwise.
fn jose(jwks_url: &str, token: &str, alg: &str) -> Result<Value, String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/keys/verify_jose.cjs");
    let output = Command::new("node")
        .arg(script)
        .args([jwks_url, token, "myauth", "myauth", alg])
        .env("NODE_PATH", node_modules())
        .output()
        .unwrap_or_else(|e| panic!("cannot run node (Node.js 20 is needed): {e}"));
    if output.status.success() {
        Ok(serde_json::from_slice(&output.stdout).expect("jose's output"))
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node and npm's jose (MYAUTH_TEST_NODE_MODULES; scripts/test.sh)"]
async fn npm_jose_verifies_our_tokens_from_our_jwks_url() {
    node_modules();
    for (file, alg) in [
        ("ed25519.pem", "EdDSA"),
        ("p256.pem", "ES256"),
        ("rsa2048.pem", "RS256"),
    ] {
        for adapter in ADAPTERS {
            let config = config()
                .with_jwt_signing_key(key(file))
                .with_jwt_previous_keys([key("ed25519-2.pem")]);
            let mut server = start(*adapter, Arc::new(MemoryStore::new()), config).await;
            let email = "jose@example.com";
            let (id, _) = server.register(email).await;
            let token = server.login(email).await;
            let verified = tokio::task::spawn_blocking({
                let (url, token) = (server.jwks_url(), token.clone());
                move || jose(&url, &token, alg)
            })
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("jose refused our {alg} token ({adapter:?}): {e}"));
            assert_eq!(verified["sub"], id.as_str());
            assert_eq!(verified["alg"], alg);
            assert_eq!(verified["kid"], key(file).kid());
            // It really checks: one changed claim and it refuses.
            let (header, rest) = token.split_once('.').unwrap();
            let (payload, signature) = rest.split_once('.').unwrap();
            let mut claims: Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
            claims["roles"] = json!(["admin"]);
            let forged = format!(
                "{header}.{}.{signature}",
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let refused = tokio::task::spawn_blocking({
                let url = server.jwks_url();
                move || jose(&url, &forged, alg)
            })
            .await
            .unwrap();
            assert_eq!(
                refused.unwrap_err(),
                "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"
            );
        }
    }
}
