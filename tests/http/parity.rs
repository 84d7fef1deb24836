//! The same sequence of requests to an axum and a poem server must get the same answers:
//! statuses, the headers of the contract, and bodies (ids, tokens and timestamps aside).

use reqwest::{RequestBuilder, Response};
use serde_json::{Value, json};

use crate::support::{Adapter, Backend, Mail, PASSWORD, TestServer, token_from_link};

/// Keys whose values differ between any two runs.
const VARIABLE: &[&str] = &[
    "id",
    "access_token",
    "refresh_token",
    "created_at",
    "updated_at",
];

fn normalize(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if VARIABLE.contains(&key.as_str()) {
                    *value = json!("<variable>");
                } else {
                    normalize(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

async fn record(label: &str, response: Response) -> (Value, Value) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let meta = json!({
        "request": label,
        "status": response.status().as_u16(),
        "content-type": header("content-type"),
        "www-authenticate": header("www-authenticate"),
        "cache-control": header("cache-control"),
        "pragma": header("pragma"),
        "retry-after": header("retry-after"),
    });
    let text = response.text().await.expect("body");
    let body = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
    let mut normalized = body.clone();
    normalize(&mut normalized);
    (json!({"meta": meta, "body": normalized}), body)
}

async fn send(request: RequestBuilder) -> Response {
    request.send().await.expect("request")
}

/// Plays the scenario against one server and returns what it answered, normalised.
async fn transcript(s: &TestServer) -> Vec<Value> {
    let mut out = Vec::new();
    let mut step = async |label: &str, request: RequestBuilder| -> Value {
        let (entry, raw) = record(label, send(request).await).await;
        out.push(entry);
        raw
    };
    let register = |body: Value| s.post("/auth/register").json(&body);
    let alice = json!({"email": "alice@example.com", "username": "alice", "password": PASSWORD});

    step("register", register(alice.clone())).await;
    let (_, email) = s.next_email().await;
    let verify_token = token_from_link(&email.link);
    step(
        "register duplicate",
        register(json!({"email": "ALICE@example.com", "username": "a", "password": PASSWORD})),
    )
    .await;
    step(
        "weak password",
        register(json!({"email": "b@example.com", "username": "b", "password": "abc"})),
    )
    .await;
    step(
        "invalid email",
        register(json!({"email": "nope", "username": "b", "password": PASSWORD})),
    )
    .await;
    step("missing fields", register(json!({}))).await;
    step(
        "wrong type",
        register(json!({"email": 5, "username": "b", "password": PASSWORD})),
    )
    .await;
    step(
        "malformed",
        s.post("/auth/register")
            .header("content-type", "application/json")
            .body("{"),
    )
    .await;
    step(
        "text body",
        s.post("/auth/register")
            .header("content-type", "text/plain")
            .body("hi"),
    )
    .await;
    step(
        "form on register",
        s.post("/auth/register").form(&[("email", "x")]),
    )
    .await;
    step(
        "too large",
        register(
            json!({"email": "c@example.com", "username": "x".repeat(70_000), "password": PASSWORD}),
        ),
    )
    .await;
    let login = |email: &str, password: &str| {
        s.post("/auth/login")
            .json(&json!({"email": email, "password": password}))
    };
    step(
        "login wrong password",
        login("alice@example.com", "Wr0ng!pass"),
    )
    .await;
    step("login unknown", login("nobody@example.com", PASSWORD)).await;
    step("login unverified", login("alice@example.com", PASSWORD)).await;
    step(
        "verify request unknown",
        s.post("/auth/verify-email-request")
            .json(&json!({"email": "nobody@example.com"})),
    )
    .await;
    step(
        "reset request unknown",
        s.post("/auth/password-reset-request")
            .json(&json!({"email": "nobody@example.com"})),
    )
    .await;
    step(
        "reset request invalid",
        s.post("/auth/password-reset-request")
            .json(&json!({"email": "nope"})),
    )
    .await;
    step(
        "verify garbage",
        s.post("/auth/verify-email")
            .json(&json!({"token": "x.y.z"})),
    )
    .await;
    step(
        "verify",
        s.post("/auth/verify-email")
            .json(&json!({"token": verify_token})),
    )
    .await;
    let pair = step("login", login("alice@example.com", PASSWORD)).await;
    let access = pair["access_token"].as_str().expect("access").to_owned();
    let refresh = pair["refresh_token"].as_str().expect("refresh").to_owned();
    step(
        "login form",
        s.post("/auth/login").form(&[
            ("grant_type", "password"),
            ("username", "alice@example.com"),
            ("password", PASSWORD),
        ]),
    )
    .await;
    step(
        "login form wrong grant",
        s.post("/auth/login").form(&[
            ("grant_type", "client_credentials"),
            ("username", "alice@example.com"),
            ("password", PASSWORD),
        ]),
    )
    .await;
    let bearer = format!("Bearer {access}");
    step("me", s.get("/auth/me").header("authorization", &bearer)).await;
    step("me without token", s.get("/auth/me")).await;
    step(
        "me basic auth",
        s.get("/auth/me").header("authorization", "Basic YTpi"),
    )
    .await;
    step(
        "me garbage token",
        s.get("/auth/me").header("authorization", "Bearer x"),
    )
    .await;
    step(
        "patch me",
        s.client
            .patch(s.url("/auth/me"))
            .header("authorization", &bearer)
            .json(&json!({"username": "Alice", "user_settings": {"theme": "dark"}})),
    )
    .await;
    step(
        "patch me invalid",
        s.client
            .patch(s.url("/auth/me"))
            .header("authorization", &bearer)
            .json(&json!({"user_settings": 3})),
    )
    .await;
    step(
        "refresh unknown",
        s.post("/auth/refresh").json(&json!({"refresh_token": "x"})),
    )
    .await;
    step("refresh missing", s.post("/auth/refresh").json(&json!({}))).await;
    step(
        "refresh",
        s.post("/auth/refresh")
            .json(&json!({"refresh_token": refresh})),
    )
    .await;
    step(
        "refresh replay",
        s.post("/auth/refresh")
            .json(&json!({"refresh_token": refresh})),
    )
    .await;
    step(
        "logout",
        s.post("/auth/logout")
            .json(&json!({"refresh_token": refresh})),
    )
    .await;
    step("logout missing", s.post("/auth/logout").json(&json!({}))).await;
    step(
        "change password wrong",
        s.post("/auth/change-password")
            .header("authorization", &bearer)
            .json(&json!({"current_password": "Wr0ng!pass", "new_password": "N3w!password"})),
    )
    .await;
    step(
        "admin list forbidden",
        s.get("/auth/admin/users").header("authorization", &bearer),
    )
    .await;
    step("admin without token", s.get("/auth/admin/users")).await;
    step("whoami without token", s.get("/api/whoami")).await;
    step(
        "editor forbidden",
        s.get("/api/editor").header("authorization", &bearer),
    )
    .await;
    step("unknown path", s.get("/auth/nope")).await;
    step("wrong method", s.get("/auth/login")).await;
    step("wrong method on me", s.client.delete(s.url("/auth/me"))).await;
    step("openapi", s.get("/auth/openapi.json")).await;
    step(
        "logout all",
        s.post("/auth/logout-all").header("authorization", &bearer),
    )
    .await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_and_poem_answer_the_same_sequence_identically() {
    let axum = TestServer::start(Adapter::Axum, Backend::Memory, Mail::Outbox).await;
    let poem = TestServer::start(Adapter::Poem, Backend::Memory, Mail::Outbox).await;
    let a = transcript(&axum).await;
    let p = transcript(&poem).await;
    assert_eq!(a.len(), p.len());
    for (a, p) in a.iter().zip(&p) {
        assert_eq!(a, p, "axum and poem differ");
    }
}

/// A page's answer with the per-server values of its hidden fields (link and form tokens)
/// masked: everything else must be byte-identical.
async fn page_record(label: &str, response: Response) -> (Value, String) {
    let mut headers = serde_json::Map::new();
    for name in [
        "content-type",
        "content-security-policy",
        "x-frame-options",
        "referrer-policy",
        "cache-control",
        "x-content-type-options",
        "set-cookie",
        "connection",
    ] {
        if let Some(value) = response.headers().get(name) {
            headers.insert(name.to_owned(), json!(value.to_str().unwrap_or("<binary>")));
        }
    }
    let status = response.status().as_u16();
    let body = response.text().await.expect("body");
    let mut masked = String::new();
    let mut rest = body.as_str();
    while let Some(start) = rest.find("type=\"hidden\"") {
        let (head, tail) = rest.split_at(start);
        masked.push_str(head);
        let value = tail.find("value=\"").map(|i| i + "value=\"".len());
        let Some(value) = value else {
            masked.push_str(tail);
            rest = "";
            break;
        };
        masked.push_str(&tail[..value]);
        masked.push_str("<variable>");
        let end = tail[value..].find('"').map_or(tail.len(), |i| value + i);
        rest = &tail[end..];
    }
    masked.push_str(rest);
    (
        json!({"request": label, "status": status, "headers": headers, "body": masked}),
        body,
    )
}

/// Plays the pages' flows against one server and returns what it answered, masked.
async fn pages_transcript(s: &TestServer) -> Vec<Value> {
    let mut out = Vec::new();
    let mut step = async |label: &str, request: RequestBuilder| -> String {
        let (entry, raw) = page_record(label, send(request).await).await;
        out.push(entry);
        raw
    };
    step("verify without token", s.get("/verify-email")).await;
    step("verify bad token", s.get("/verify-email?token=abc")).await;
    step("reset bad token", s.get("/reset-password?token=abc")).await;
    let verify = s.register("pia@example.com").await;
    let form = step(
        "verify form",
        s.get(&format!("/verify-email?token={verify}")),
    )
    .await;
    let form_token = crate::contract::hidden(&form, "form_token");
    step(
        "verify forged form token",
        s.post("/verify-email")
            .form(&[("token", verify.as_str()), ("form_token", "forged")]),
    )
    .await;
    step(
        "verify",
        s.post("/verify-email")
            .header("origin", "null")
            .form(&[("token", verify.as_str()), ("form_token", &form_token)]),
    )
    .await;
    step(
        "verify json",
        s.post("/verify-email").json(&json!({"token": "x"})),
    )
    .await;
    let reset = crate::contract::reset_token(s, "pia@example.com").await;
    let form = step(
        "reset form",
        s.get(&format!("/reset-password?token={reset}")),
    )
    .await;
    let weak = step(
        "reset weak",
        s.post("/reset-password").form(&[
            ("token", reset.as_str()),
            ("form_token", &crate::contract::hidden(&form, "form_token")),
            ("new_password", "abc"),
        ]),
    )
    .await;
    step(
        "reset good",
        s.post("/reset-password").form(&[
            ("token", reset.as_str()),
            ("form_token", &crate::contract::hidden(&weak, "form_token")),
            ("new_password", "Fresh!Start42"),
        ]),
    )
    .await;
    step(
        "reset used",
        s.get(&format!("/reset-password?token={reset}")),
    )
    .await;
    step(
        "reset too large",
        s.post("/reset-password")
            .form(&[("new_password", "x".repeat(70_000))]),
    )
    .await;
    step("stylesheet", s.get("/myauth-pages.css")).await;
    step("docs", s.get("/auth/docs")).await;
    step(
        "docs initializer",
        s.get("/auth/docs/swagger-initializer.js"),
    )
    .await;
    step("docs missing asset", s.get("/auth/docs/missing.js")).await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_and_poem_serve_byte_identical_pages() {
    let axum = TestServer::start(Adapter::Axum, Backend::Memory, Mail::Outbox).await;
    let poem = TestServer::start(Adapter::Poem, Backend::Memory, Mail::Outbox).await;
    let a = pages_transcript(&axum).await;
    let p = pages_transcript(&poem).await;
    assert_eq!(a.len(), p.len());
    for (a, p) in a.iter().zip(&p) {
        assert_eq!(a, p, "axum and poem differ");
    }
}
