//! # auth-poem
//!
//! The poem 3 adapter of MyAuth for Rust: every route of the HTTP contract as a
//! [`Route`](poem::Route) to nest under `/auth`, the admin routes, extractors for the
//! application's own handlers ([`CurrentUser`], [`CurrentUserRecord`], [`RequireRole`]), and
//! errors rendered as RFC 9457 problem documents built only from
//! [`AuthError::status`](auth_core::AuthError::status) and
//! [`AuthError::code`](auth_core::AuthError::code).
//!
//! Pick it when your application is built on poem; `auth-axum` is the same thing for
//! axum. A client cannot tell the two apart: same paths, statuses, headers and bodies,
//! including the 404/405/413/415 answers, which poem would otherwise write in plain text.
//!
//! The auth routes carry the [`AuthService`](auth_core::AuthService) themselves. The
//! extractors on your own routes find it in the request data, so add `.data(service)`
//! around them (without it they answer 500 `internal_error` and say why in the log).
//!
//! ```no_run
//! use auth_core::{AuthConfig, AuthService, MemoryStore};
//! use auth_poem::CurrentUser;
//! use poem::listener::TcpAcceptor;
//! use poem::{EndpointExt, Route, Server, get, handler};
//!
//! #[handler]
//! fn hello(CurrentUser(claims): CurrentUser) -> String {
//!     format!("hello {}", claims.sub)
//! }
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let service = AuthService::builder()
//!     .config(AuthConfig::default())
//!     .store(MemoryStore::new())
//!     .build()?;
//!
//! let app = Route::new()
//!     .at("/hello", get(hello))
//!     .nest("/auth/admin", auth_poem::admin_route(service.clone()))
//!     .nest("/auth", auth_poem::route(service.clone()))
//!     .data(service);
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! println!("listening on {}", listener.local_addr()?);
//! Server::new_with_acceptor(TcpAcceptor::from_tokio(listener)?)
//!     .run(app)
//!     .await?;
//! # Ok(())
//! # }
//! ```

mod browser;
mod error;
mod extract;
mod routes;

pub use poem;

pub use auth_core::api::{Admin, Role};

pub use crate::browser::{
    CorsOrigins, CorsOriginsEndpoint, add_pages, cors, pages_route, pages_route_with,
};
pub use crate::error::ApiError;
pub use crate::extract::{CurrentUser, CurrentUserRecord, RequireRole};
pub use crate::routes::{
    RouteOptions, RouterOptions, admin_route, admin_route_with, route, route_with,
};
