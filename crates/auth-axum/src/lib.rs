//! # auth-axum
//!
//! The axum 0.8 adapter of MyAuth for Rust: every route of the HTTP contract as a
//! [`Router`](axum::Router) to nest under `/auth`, the admin routes, extractors for the
//! application's own routes ([`CurrentUser`], [`CurrentUserRecord`], [`RequireRole`]), and
//! errors rendered as RFC 9457 problem documents built only from
//! [`AuthError::status`](auth_core::AuthError::status) and
//! [`AuthError::code`](auth_core::AuthError::code).
//!
//! ```no_run
//! use auth_axum::CurrentUser;
//! use auth_core::{AuthConfig, AuthService, MemoryStore};
//! use axum::routing::get;
//! use axum::{Extension, Router};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let service = AuthService::builder()
//!     .config(AuthConfig::default())
//!     .store(MemoryStore::new())
//!     .build()?;
//!
//! let app = Router::new()
//!     .route("/hello", get(|CurrentUser(claims): CurrentUser| async move {
//!         format!("hello {}", claims.sub)
//!     }))
//!     .layer(Extension(service.clone()))
//!     .nest("/auth/admin", auth_axum::admin_router(service.clone()))
//!     .nest("/auth", auth_axum::router(service));
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```

mod browser;
mod error;
mod extract;
mod routes;

pub use auth_core::api::{Admin, Role, RouterOptions};

pub use crate::browser::{cors_layer, pages_router, pages_router_with};
pub use crate::error::ApiError;
pub use crate::extract::{CurrentUser, CurrentUserRecord, RequireRole};
pub use crate::routes::{
    admin_router, admin_router_with, admin_routes, router, router_with, routes,
};
