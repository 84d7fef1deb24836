//! The contract of docs/http-contract.md over `poem::test::TestClient`, in process, on the memory
//! store: statuses, headers and bodies of the auth routes, the admin routes and the
//! extractors on an application's own routes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test suite reports failures by panicking"
)]

use std::sync::Arc;

use auth_core::api::PROBLEM_JSON;
use auth_core::{
    AuthConfig, AuthService, EmailError, EmailLink, EmailSender, HashingConfig, MemoryStore,
    NewUser, async_trait,
};
use auth_poem::{Admin, CurrentUser, CurrentUserRecord, RequireRole, RouteOptions};
use poem::endpoint::BoxEndpoint;
use poem::http::{HeaderMap, Method, StatusCode, header};
use poem::test::TestClient;
use poem::{EndpointExt, Route, get, handler};
use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc};

const SECRET: &str = "NZO5LnoEIv6NpiR_NR8fvqNi3Fx0Y0aGxOk2pJFJ3m8";
const PASSWORD: &str = "Str0ng!pass";
const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// Records the links the service sends.
#[derive(Debug)]
struct Outbox {
    tx: mpsc::UnboundedSender<EmailLink>,
}

#[async_trait]
impl EmailSender for Outbox {
    async fn send_verification_email(&self, email: &EmailLink) -> Result<(), EmailError> {
        self.tx
            .send(email.clone())
            .map_err(|_| EmailError::new("outbox closed"))
    }

    async fn send_password_reset_email(&self, email: &EmailLink) -> Result<(), EmailError> {
        self.tx
            .send(email.clone())
            .map_err(|_| EmailError::new("outbox closed"))
    }
}

type Inbox = Arc<Mutex<mpsc::UnboundedReceiver<EmailLink>>>;

fn fast_config() -> AuthConfig {
    AuthConfig::new(SECRET).with_hashing(HashingConfig {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
        max_concurrent: 2,
        max_waiting: 256,
    })
}

#[handler]
fn hello(CurrentUser(claims): CurrentUser) -> String {
    format!("hello {}", claims.sub)
}

#[handler]
fn admin_only(RequireRole(claims, ..): RequireRole<Admin>) -> String {
    format!("admin {}", claims.sub)
}

#[handler]
fn profile(CurrentUserRecord(user): CurrentUserRecord) -> String {
    format!("profile {}", user.email)
}

fn app_routes(service: &AuthService, options: RouteOptions) -> Route {
    Route::new()
        .at("/hello", get(hello))
        .at("/admin-only", get(admin_only))
        .at("/profile", get(profile))
        .nest("/auth/admin", auth_poem::admin_route(service.clone()))
        .nest("/auth", auth_poem::route_with(service.clone(), options))
}

struct Harness {
    service: AuthService,
    client: TestClient<BoxEndpoint<'static, poem::Response>>,
    inbox: Inbox,
}

fn harness_with(config: AuthConfig, options: RouteOptions) -> Harness {
    let (tx, rx) = mpsc::unbounded_channel();
    let service = AuthService::builder()
        .config(config)
        .store(MemoryStore::new())
        .email_sender(Outbox { tx })
        .build()
        .unwrap();
    let app = app_routes(&service, options).data(service.clone());
    Harness {
        service,
        client: TestClient::new(app.map_to_response().boxed()),
        inbox: Arc::new(Mutex::new(rx)),
    }
}

fn harness() -> Harness {
    harness_with(
        fast_config().with_require_verified_email(false),
        RouteOptions::default(),
    )
}

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// Asserts an RFC 9457 problem answer with the contract's headers and returns its body.
    fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "{self:?}");
        assert_eq!(self.header(header::CONTENT_TYPE), Some(PROBLEM_JSON));
        assert_eq!(self.header(header::CACHE_CONTROL), Some("no-store"));
        let body = self.json();
        assert_eq!(body["type"], "about:blank");
        assert_eq!(body["status"], status);
        assert_eq!(body["code"], code, "{body}");
        assert!(body["title"].is_string() && body["detail"].is_string());
        body
    }
}

impl Harness {
    async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<poem::Body>,
        token: Option<&str>,
    ) -> Reply {
        let mut request = self.client.request(method, path).body(body);
        if let Some(content_type) = content_type {
            request = request.content_type(content_type);
        }
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let response = request.send().await.0;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().into_vec().await.unwrap();
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn post_json(&self, path: &str, body: Value, token: Option<&str>) -> Reply {
        self.send(Method::POST, path, Some(JSON), body.to_string(), token)
            .await
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Method::GET, path, None, "", token).await
    }

    async fn register(&self, email: &str) -> Reply {
        self.post_json(
            "/auth/register",
            json!({"email": email, "username": "alice", "password": PASSWORD}),
            None,
        )
        .await
    }

    /// Registers (verified) and logs in; returns the token pair.
    async fn signed_in(&self, email: &str) -> Value {
        self.service
            .create_verified_user(NewUser {
                email: email.to_owned(),
                username: "user".to_owned(),
                password: PASSWORD.to_owned().into(),
            })
            .await
            .unwrap();
        self.login(email).await
    }

    async fn login(&self, email: &str) -> Value {
        let reply = self
            .post_json(
                "/auth/login",
                json!({"email": email, "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        reply.json()
    }

    async fn admin(&self) -> String {
        self.service
            .ensure_admin("root@example.com", &PASSWORD.to_owned().into())
            .await
            .unwrap();
        access(&self.login("root@example.com").await)
    }

    async fn next_email(&self) -> EmailLink {
        let mut inbox = self.inbox.lock().await;
        tokio::time::timeout(std::time::Duration::from_secs(5), inbox.recv())
            .await
            .expect("no email within 5 s")
            .expect("outbox closed")
    }
}

fn access(pair: &Value) -> String {
    pair["access_token"].as_str().unwrap().to_owned()
}

fn assert_token_pair(reply: &Reply) -> Value {
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.header(header::CONTENT_TYPE), Some(JSON));
    assert_eq!(reply.header(header::CACHE_CONTROL), Some("no-store"));
    assert_eq!(reply.header(header::PRAGMA), Some("no-cache"));
    let pair = reply.json();
    assert_eq!(pair["token_type"], "bearer");
    assert_eq!(pair["expires_in"], 1800);
    assert_eq!(pair["refresh_expires_in"], 604_800);
    assert!(pair["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(
        pair["refresh_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    pair
}

#[tokio::test]
async fn register_is_201_with_the_user_shape() {
    let h = harness();
    let reply = h.register(" Alice@Example.com").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert_eq!(reply.header(header::CONTENT_TYPE), Some(JSON));
    let user = reply.json();
    let mut keys: Vec<_> = user.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "created_at",
            "email",
            "id",
            "is_active",
            "is_verified",
            "mfa_enabled",
            "roles",
            "updated_at",
            "user_settings",
            "username"
        ]
    );
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["username"], "alice");
    assert_eq!(user["roles"], json!([]));
    assert_eq!(user["user_settings"], json!({}));
    assert_eq!(user["is_verified"], false);
    assert_eq!(user["is_active"], true);
    assert_eq!(h.next_email().await.to, "alice@example.com");

    h.register("alice@example.com")
        .await
        .problem(409, "user_already_exists");
}

#[tokio::test]
async fn registration_validation_is_422_with_every_failed_rule() {
    let h = harness();
    let weak = h
        .post_json(
            "/auth/register",
            json!({"email": "a@example.com", "username": "a", "password": "short"}),
            None,
        )
        .await
        .problem(422, "weak_password");
    assert!(weak["errors"].as_array().unwrap().len() > 1, "{weak}");

    let missing = h
        .post_json("/auth/register", json!({}), None)
        .await
        .problem(422, "validation_failed");
    let fields: Vec<_> = missing["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "username", "password"]);

    h.post_json(
        "/auth/register",
        json!({"email": "not an email", "username": "a", "password": PASSWORD}),
        None,
    )
    .await
    .problem(422, "invalid_email");
}

#[tokio::test]
async fn login_takes_json_and_the_oauth2_password_form() {
    let h = harness();
    assert_eq!(h.register("bob@example.com").await.status, 201);

    let json_login = h
        .post_json(
            "/auth/login",
            json!({"email": "BOB@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    assert_token_pair(&json_login);

    let form = format!("grant_type=password&username=bob%40example.com&password={PASSWORD}")
        .replace('!', "%21");
    let form_login = h
        .send(Method::POST, "/auth/login", Some(FORM), form, None)
        .await;
    let pair = assert_token_pair(&form_login);

    let me = h.get("/auth/me", Some(&access(&pair))).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["email"], "bob@example.com");

    let wrong_grant = h
        .send(
            Method::POST,
            "/auth/login",
            Some(FORM),
            "grant_type=client_credentials&username=bob%40example.com&password=x",
            None,
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(wrong_grant["errors"][0]["field"], "grant_type");
}

#[tokio::test]
async fn wrong_credentials_are_401_with_a_bearer_challenge() {
    let h = harness();
    assert_eq!(h.register("carol@example.com").await.status, 201);
    for email in ["carol@example.com", "nobody@example.com"] {
        let reply = h
            .post_json(
                "/auth/login",
                json!({"email": email, "password": "Wr0ng!pass"}),
                None,
            )
            .await;
        let body = reply.problem(401, "invalid_credentials");
        assert_eq!(reply.header(header::WWW_AUTHENTICATE), Some("Bearer"));
        assert_eq!(
            body,
            json!({"type": "about:blank", "title": "Unauthorized", "status": 401,
                   "detail": body["detail"], "code": "invalid_credentials"})
        );
    }

    let missing = h.get("/auth/me", None).await;
    missing.problem(401, "missing_token");
    assert_eq!(missing.header(header::WWW_AUTHENTICATE), Some("Bearer"));

    let invalid = h.get("/auth/me", Some("not.a.jwt")).await;
    invalid.problem(401, "invalid_token");
    assert_eq!(
        invalid.header(header::WWW_AUTHENTICATE),
        Some(r#"Bearer error="invalid_token""#)
    );
}

#[tokio::test]
async fn login_before_verification_is_403_when_verification_is_required() {
    let h = harness_with(fast_config(), RouteOptions::default());
    assert_eq!(h.register("dora@example.com").await.status, 201);
    let reply = h
        .post_json(
            "/auth/login",
            json!({"email": "dora@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    reply.problem(403, "email_not_verified");
    assert_eq!(reply.header(header::WWW_AUTHENTICATE), None);

    let link = h.next_email().await;
    let verified = h
        .post_json("/auth/verify-email", json!({"token": link.token}), None)
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{verified:?}");
    assert_eq!(verified.json()["is_verified"], true);
    h.login("dora@example.com").await;
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let h = harness();
    let padding = "x".repeat(64 * 1024);
    let body = json!({"email": "e@example.com", "username": padding, "password": PASSWORD});
    h.post_json("/auth/register", body, None)
        .await
        .problem(413, "body_too_large");

    // Exactly at the limit is read (and then judged on its content).
    let mut exact = String::from(r#"{"refresh_token": "x", "pad": ""}"#);
    let fill = 64 * 1024 - exact.len();
    exact.insert_str(exact.len() - 2, &"y".repeat(fill));
    assert_eq!(exact.len(), 64 * 1024);
    let reply = h
        .send(Method::POST, "/auth/logout", Some(JSON), exact, None)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{reply:?}");

    let small = harness_with(fast_config(), RouteOptions::new().with_body_limit(16));
    let reply = small
        .post_json("/auth/logout", json!({"refresh_token": "0123456789"}), None)
        .await;
    let problem = reply.problem(413, "body_too_large");
    assert_eq!(problem["detail"], "request body exceeds 16 bytes");
}

#[tokio::test]
async fn content_types_other_than_json_are_415_except_oauth_forms() {
    let h = harness();
    let json_body = json!({"email": "e@example.com"}).to_string();
    for content_type in [Some("text/plain"), Some(FORM), None] {
        h.send(
            Method::POST,
            "/auth/password-reset-request",
            content_type,
            json_body.clone(),
            None,
        )
        .await
        .problem(415, "unsupported_media_type");
    }
    // `application/*+json` and parameters are fine.
    let reply = h
        .send(
            Method::POST,
            "/auth/password-reset-request",
            Some("application/merge-patch+json; charset=utf-8"),
            json_body,
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");

    h.send(
        Method::POST,
        "/auth/refresh",
        Some("text/plain"),
        "refresh_token=x",
        None,
    )
    .await
    .problem(415, "unsupported_media_type");
    let form_refresh = h
        .send(
            Method::POST,
            "/auth/refresh",
            Some(FORM),
            "grant_type=refresh_token&refresh_token=unknown",
            None,
        )
        .await;
    form_refresh.problem(401, "invalid_token");
}

#[tokio::test]
async fn malformed_json_is_400_and_the_wrong_shape_is_422() {
    let h = harness();
    h.send(
        Method::POST,
        "/auth/register",
        Some(JSON),
        r#"{"email": "#,
        None,
    )
    .await
    .problem(400, "malformed_body");
    h.post_json("/auth/register", json!({"email": 5}), None)
        .await
        .problem(422, "validation_failed");
    h.post_json("/auth/logout", json!([]), None)
        .await
        .problem(422, "validation_failed");
    h.post_json("/auth/logout", json!({}), None)
        .await
        .problem(422, "validation_failed");
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problems() {
    let h = harness();
    for path in [
        "/auth",
        "/auth/",
        "/auth/nope",
        "/auth/register/extra",
        "/auth/admin",
        "/auth/admin/nope",
        "/auth/admin/users/x/y/z",
    ] {
        h.get(path, None).await.problem(404, "not_found");
    }
    for (method, path) in [
        (Method::GET, "/auth/register"),
        (Method::DELETE, "/auth/me"),
        (Method::PUT, "/auth/login"),
        (Method::POST, "/auth/openapi.json"),
        (Method::DELETE, "/auth/admin/users"),
        (Method::GET, "/auth/admin/users/x/roles"),
    ] {
        h.send(method, path, None, "", None)
            .await
            .problem(405, "method_not_allowed");
    }
}

#[tokio::test]
async fn the_openapi_document_is_the_shared_one() {
    let h = harness();
    let reply = h.get("/auth/openapi.json", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header(header::CONTENT_TYPE), Some(JSON));
    assert_eq!(reply.body, auth_core::openapi::document_json().as_bytes());

    let head = h
        .send(Method::HEAD, "/auth/openapi.json", None, "", None)
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn extractors_guard_the_applications_own_routes() {
    let h = harness();
    h.get("/hello", None).await.problem(401, "missing_token");
    let pair = h.signed_in("erin@example.com").await;
    let token = access(&pair);
    let greeting = h.get("/hello", Some(&token)).await;
    assert_eq!(greeting.status, StatusCode::OK);
    let me = h.get("/auth/me", Some(&token)).await.json();
    assert_eq!(
        String::from_utf8(greeting.body).unwrap(),
        format!("hello {}", me["id"].as_str().unwrap())
    );

    h.get("/admin-only", Some(&token))
        .await
        .problem(403, "forbidden");
    h.get("/admin-only", Some("bad"))
        .await
        .problem(401, "invalid_token");
    let admin = h.admin().await;
    let reply = h.get("/admin-only", Some(&admin)).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");

    let record = h.get("/profile", Some(&token)).await;
    assert_eq!(record.body, b"profile erin@example.com");
    let id = me["id"].as_str().unwrap();
    let deactivated = h
        .send(
            Method::POST,
            &format!("/auth/admin/users/{id}/deactivate"),
            None,
            "",
            Some(&admin),
        )
        .await;
    assert_eq!(deactivated.json()["is_active"], false);
    // Cut at once on this instance, statelessly too; the record extractor and the routes
    // that read the user say why.
    h.get("/hello", Some(&token))
        .await
        .problem(401, "revoked_token");
    h.get("/profile", Some(&token))
        .await
        .problem(403, "account_disabled");
    h.get("/auth/me", Some(&token))
        .await
        .problem(403, "account_disabled");
}

#[tokio::test]
async fn a_missing_service_on_an_application_route_is_a_500_problem() {
    let app = Route::new().at("/hello", get(hello));
    let client = TestClient::new(app);
    let response = client
        .get("/hello")
        .header(header::AUTHORIZATION, "Bearer x")
        .send()
        .await
        .0;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    let body: Value =
        serde_json::from_slice(&response.into_body().into_vec().await.unwrap()).unwrap();
    assert_eq!(body["code"], "internal_error");
    assert_eq!(body["detail"], "internal server error");
}

#[tokio::test]
async fn sessions_rotate_and_end() {
    let h = harness();
    let pair = h.signed_in("fay@example.com").await;
    let refresh = pair["refresh_token"].as_str().unwrap();
    let rotated = h
        .post_json("/auth/refresh", json!({"refresh_token": refresh}), None)
        .await;
    let rotated = assert_token_pair(&rotated);
    let reuse = h
        .post_json("/auth/refresh", json!({"refresh_token": refresh}), None)
        .await;
    assert_eq!(reuse.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reuse.header(header::WWW_AUTHENTICATE),
        Some(r#"Bearer error="invalid_token""#)
    );

    let second = h.login("fay@example.com").await;
    let logout = h
        .post_json(
            "/auth/logout",
            json!({"refresh_token": second["refresh_token"]}),
            None,
        )
        .await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT);
    assert!(logout.body.is_empty());
    assert_eq!(
        h.post_json(
            "/auth/logout",
            json!({"refresh_token": second["refresh_token"]}),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );

    let third = h.login("fay@example.com").await;
    let all = h
        .send(
            Method::POST,
            "/auth/logout-all",
            None,
            "",
            Some(&access(&third)),
        )
        .await;
    assert_eq!(all.status, StatusCode::NO_CONTENT);
    h.post_json(
        "/auth/refresh",
        json!({"refresh_token": third["refresh_token"]}),
        None,
    )
    .await
    .problem(401, "revoked_token");
    let _ = rotated;
}

#[tokio::test]
async fn profile_password_and_reset_routes() {
    let h = harness();
    let pair = h.signed_in("gus@example.com").await;
    let token = access(&pair);

    let patched = h
        .send(
            Method::PATCH,
            "/auth/me",
            Some(JSON),
            json!({"username": "gus2", "user_settings": {"theme": "dark"}, "roles": ["admin"]})
                .to_string(),
            Some(&token),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
    let user = patched.json();
    assert_eq!(user["username"], "gus2");
    assert_eq!(user["user_settings"], json!({"theme": "dark"}));
    assert_eq!(user["roles"], json!([]));

    let new_password = "N3w!password";
    h.post_json(
        "/auth/change-password",
        json!({"current_password": "Wr0ng!pass", "new_password": new_password}),
        Some(&token),
    )
    .await
    .problem(401, "invalid_credentials");
    let changed = h
        .post_json(
            "/auth/change-password",
            json!({"current_password": PASSWORD, "new_password": new_password}),
            Some(&token),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{changed:?}");

    let accepted = h
        .post_json(
            "/auth/password-reset-request",
            json!({"email": "gus@example.com"}),
            None,
        )
        .await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED);
    let unknown = h
        .post_json(
            "/auth/password-reset-request",
            json!({"email": "nobody@example.com"}),
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::ACCEPTED);
    assert_eq!(accepted.body, unknown.body);
    assert_eq!(accepted.header(header::CONTENT_TYPE), Some(JSON));

    let link = h.next_email().await;
    let reset = h
        .post_json(
            "/auth/password-reset",
            json!({"token": link.token, "new_password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT, "{reset:?}");
    h.post_json(
        "/auth/password-reset",
        json!({"token": link.token, "new_password": PASSWORD}),
        None,
    )
    .await
    .problem(401, "invalid_token");
    h.login("gus@example.com").await;

    let verify = h
        .post_json(
            "/auth/verify-email-request",
            json!({"email": "gus@example.com"}),
            None,
        )
        .await;
    assert_eq!(verify.status, StatusCode::ACCEPTED);
    h.post_json(
        "/auth/verify-email-request",
        json!({"email": "not an email"}),
        None,
    )
    .await
    .problem(422, "invalid_email");
}

#[tokio::test]
async fn admin_routes_need_the_admin_role() {
    let h = harness();
    let user = access(&h.signed_in("hal@example.com").await);
    h.get("/auth/admin/users", Some(&user))
        .await
        .problem(403, "forbidden");
    h.get("/auth/admin/users", None)
        .await
        .problem(401, "missing_token");

    let admin = h.admin().await;
    let page = h
        .get("/auth/admin/users?limit=1&offset=0", Some(&admin))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert_eq!(page.header(header::CONTENT_TYPE), Some(JSON));
    let page = page.json();
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    h.get("/auth/admin/users?limit=-1", Some(&admin))
        .await
        .problem(422, "validation_failed");

    let id = h.get("/auth/me", Some(&user)).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let one = h
        .get(&format!("/auth/admin/users/{id}"), Some(&admin))
        .await;
    assert_eq!(one.json()["email"], "hal@example.com");
    for missing in [
        "not-a-uuid",
        "%C3%A9",
        "0193b4e0-0000-7000-8000-000000000000",
    ] {
        h.get(&format!("/auth/admin/users/{missing}"), Some(&admin))
            .await
            .problem(404, "user_not_found");
    }

    let roles = h
        .send(
            Method::PUT,
            &format!("/auth/admin/users/{id}/roles"),
            Some(JSON),
            json!({"roles": ["editor"]}).to_string(),
            Some(&admin),
        )
        .await;
    assert_eq!(roles.status, StatusCode::OK, "{roles:?}");
    assert_eq!(roles.json()["roles"], json!(["editor"]));
    h.send(
        Method::PUT,
        &format!("/auth/admin/users/{id}/roles"),
        Some(JSON),
        "{}",
        Some(&admin),
    )
    .await
    .problem(422, "validation_failed");
    h.send(
        Method::PUT,
        &format!("/auth/admin/users/{id}/roles"),
        Some("text/plain"),
        "{}",
        Some(&admin),
    )
    .await
    .problem(415, "unsupported_media_type");

    let off = h
        .send(
            Method::POST,
            &format!("/auth/admin/users/{id}/deactivate"),
            None,
            "",
            Some(&admin),
        )
        .await;
    assert_eq!(off.json()["is_active"], false);
    let on = h
        .send(
            Method::POST,
            &format!("/auth/admin/users/{id}/activate"),
            None,
            "",
            Some(&admin),
        )
        .await;
    assert_eq!(on.status, StatusCode::OK);
    assert_eq!(on.json()["is_active"], true);
}
