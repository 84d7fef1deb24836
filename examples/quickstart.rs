//! The quick start of the Python MyAuth module, in Rust: an axum application with its own
//! routes and the auth routes nested at `/auth`, on SQLite. One of its routes is protected by
//! `CurrentUser`.
//!
//! `cargo run --example quickstart`, then e.g.
//! `curl -X POST localhost:8000/auth/register -H 'content-type: application/json' \
//!   -d '{"email":"alice@example.com","username":"alice","password":"Str0ng!pass"}'`

use axum::routing::get;
use axum::{Extension, Router};
use myauth::auth_axum::CurrentUser;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().init(); // the verification links are logged
    let auth = myauth::sqlite("sqlite://users.db")
        // 32+ random bytes, e.g. `export MYAUTH_JWT_SECRET=$(openssl rand -base64 48)`
        .jwt_secret(std::env::var("MYAUTH_JWT_SECRET")?)
        .service()
        .await?;

    let app = Router::new()
        .route(
            "/",
            get(|| async { "Application running with MyAuth (SQLite)" }),
        )
        .route("/hello", get(hello))
        .nest("/auth", myauth::axum_router(auth.clone()))
        .layer(Extension(auth));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
    axum::serve(listener, app).await?;
    Ok(())
}

/// Only for signed-in users: `Authorization: Bearer <access token>`.
async fn hello(CurrentUser(claims): CurrentUser) -> String {
    format!("hello, user {}", claims.sub)
}
