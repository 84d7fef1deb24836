//! The HTTP edge of the contract, framework-free: every route's handler, the route table,
//! request decoding, the RFC 9457 problem document and the header sets — shared by every
//! web adapter, so that a client cannot tell them apart.
//!
//! An adapter does three things and nothing else:
//!
//! 1. registers every [`Route`] of a group ([`auth_routes`], [`admin_routes`]) with its
//!    framework, answering unknown paths with [`Problem::not_found`] and wrong methods with
//!    [`Problem::method_not_allowed`];
//! 2. turns a request into an [`ApiRequest`] — headers, query, the `{id}` path parameter,
//!    the body read up to [`RouterOptions::body_limit`] (or [`RequestBody::TooLarge`]) and
//!    the peer address;
//! 3. calls [`handle`] and turns the [`ApiResponse`] into its framework's response.
//!
//! Its extractors for the application's own routes call
//! [`AuthService::authenticate_headers`](crate::AuthService::authenticate_headers) and
//! [`AuthService::authorize_headers`](crate::AuthService::authorize_headers).
//!
//! A new endpoint is one [`Endpoint`] variant, one row of the route table, one handler
//! here and one entry of the OpenAPI document; no adapter changes.

mod audit;
mod bearer;
mod body;
mod cookie;
mod docs;
mod handlers;
mod problem;
mod requests;
mod response;
mod role;

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Method};

pub use self::audit::AuditLogQuery;
pub use self::bearer::bearer;
pub use self::body::{Accepts, BodyFormat, Fields, body_format};
pub use self::cookie::{CORS_HEADERS, CORS_MAX_AGE_SECS, CORS_METHODS, REFRESH_COOKIE};
pub use self::docs::{DOCS_ASSET_PATH, DOCS_PATH, docs_asset, docs_page};
pub use self::handlers::handle;
pub use self::problem::{PROBLEM_JSON, Problem};
pub use self::requests::{
    Accepted, ChangePasswordRequest, Credentials, EmailRequest, FromBody, ListQuery,
    LoginMfaRequest, LogoutRequest, MfaCodeRequest, PasswordAndCodeRequest, PasswordResetRequest,
    RefreshRequest, RolesRequest, VerifyEmailRequest, decode,
};
pub(crate) use self::response::html_page;
pub use self::role::{Admin, Role};

/// Default request body limit: 64 KiB.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// A response of the contract: status, headers and the complete body.
pub type ApiResponse = http::Response<Vec<u8>>;

/// Options shared by every router an adapter builds (auth and admin routes alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouterOptions {
    /// Largest accepted request body in bytes; larger ones get 413. Default 64 KiB.
    pub body_limit: usize,
}

impl Default for RouterOptions {
    fn default() -> Self {
        Self {
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }
}

impl RouterOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The body limit in bytes (at least 1).
    #[must_use]
    pub fn with_body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit.max(1);
        self
    }
}

/// A request as the handlers need it, collected by an adapter from its framework's request.
#[derive(Debug, Default)]
pub struct ApiRequest {
    /// The request headers.
    pub headers: HeaderMap,
    /// The raw query string, without `?`.
    pub query: Option<String>,
    /// The `{id}` path parameter, raw, for the routes that have one.
    pub id: Option<String>,
    /// The body, read up to the limit.
    pub body: RequestBody,
    /// The address of the peer that sent the request, when the server knows it.
    pub peer: Option<SocketAddr>,
}

/// A request body as an adapter read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RequestBody {
    /// The whole body.
    Bytes(Bytes),
    /// The body was longer than this limit; it was not read to the end.
    TooLarge(usize),
    /// No body (the adapter did not read one).
    #[default]
    Empty,
}

impl ApiRequest {
    /// The body decoded as `T`, checking the content type first (so a wrong type is 415
    /// even when the body is also too large).
    ///
    /// # Errors
    ///
    /// The problem to answer with; see [`decode`].
    #[expect(
        clippy::result_large_err,
        reason = "a problem is built at most once per failed request; boxing it buys nothing"
    )]
    pub fn decode<T: FromBody>(&self) -> Result<T, Problem> {
        let content_type = body::content_type(&self.headers);
        match &self.body {
            RequestBody::Bytes(bytes) => decode(content_type, bytes),
            RequestBody::Empty => decode(content_type, &[]),
            RequestBody::TooLarge(limit) => {
                body_format(content_type, T::ACCEPTS)?;
                Err(Problem::body_too_large(*limit))
            }
        }
    }
}

/// Every endpoint of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `POST /register`.
    Register,
    /// `POST /login`.
    Login,
    /// `POST /refresh`.
    Refresh,
    /// `POST /logout`.
    Logout,
    /// `POST /logout-all`.
    LogoutAll,
    /// `POST /password-reset-request`.
    PasswordResetRequest,
    /// `POST /password-reset`.
    PasswordReset,
    /// `POST /verify-email-request`.
    VerifyEmailRequest,
    /// `POST /verify-email`.
    VerifyEmail,
    /// `GET /me`.
    Me,
    /// `PATCH /me`.
    UpdateMe,
    /// `POST /change-password`.
    ChangePassword,
    /// `GET /openapi.json`.
    OpenApi,
    /// `GET /users` (admin).
    ListUsers,
    /// `GET /users/{id}` (admin).
    GetUser,
    /// `POST /users/{id}/deactivate` (admin).
    DeactivateUser,
    /// `POST /users/{id}/activate` (admin).
    ActivateUser,
    /// `PUT /users/{id}/roles` (admin).
    SetRoles,
    /// `GET /sessions`.
    Sessions,
    /// `DELETE /sessions/{id}`.
    DeleteSession,
    /// `GET /users/{id}/sessions` (admin).
    UserSessions,
    /// `DELETE /users/{id}/sessions` (admin).
    EndUserSessions,
    /// `GET /.well-known/jwks.json`: the public verification keys (RFC 7517).
    Jwks,
    /// `POST /login/mfa`: the second step of a login.
    LoginMfa,
    /// `POST /mfa/totp/setup`.
    TotpSetup,
    /// `POST /mfa/totp/confirm`.
    TotpConfirm,
    /// `POST /mfa/totp/disable`.
    TotpDisable,
    /// `POST /mfa/recovery-codes`.
    RecoveryCodes,
    /// `DELETE /users/{id}/mfa` (admin).
    ResetUserMfa,
    /// `GET /audit` (admin): a page of the audit log.
    AuditLog,
}

impl Endpoint {
    /// Whether the endpoint reads a request body. Adapters read none for the others.
    pub fn takes_body(self) -> bool {
        matches!(
            self,
            Self::Register
                | Self::Login
                | Self::Refresh
                | Self::Logout
                | Self::PasswordResetRequest
                | Self::PasswordReset
                | Self::VerifyEmailRequest
                | Self::VerifyEmail
                | Self::UpdateMe
                | Self::ChangePassword
                | Self::SetRoles
                | Self::LoginMfa
                | Self::TotpConfirm
                | Self::TotpDisable
                | Self::RecoveryCodes
        )
    }
}

impl Endpoint {
    /// The per-client-address limit the endpoint counts toward, if any.
    pub fn limit_group(self) -> Option<crate::LimitGroup> {
        use crate::LimitGroup;
        match self {
            Self::Login
            | Self::LoginMfa
            | Self::TotpConfirm
            | Self::TotpDisable
            | Self::RecoveryCodes => Some(LimitGroup::Login),
            Self::Register => Some(LimitGroup::Registration),
            Self::PasswordResetRequest | Self::VerifyEmailRequest => Some(LimitGroup::Email),
            Self::Refresh | Self::Logout => Some(LimitGroup::Tokens),
            _ => None,
        }
    }

    /// Whether answering needs the store (and so passes the store circuit breaker).
    /// Only the documents built from configuration do not.
    pub fn needs_store(self) -> bool {
        !matches!(self, Self::OpenApi | Self::Jwks)
    }
}

/// One row of a route table: a method and a path (relative to where the group is
/// mounted; `{id}` marks the path parameter) answered by an endpoint.
#[derive(Debug, Clone)]
pub struct Route {
    /// The method.
    pub method: Method,
    /// The path, e.g. `/users/{id}/roles`.
    pub path: &'static str,
    /// What answers it.
    pub endpoint: Endpoint,
}

const fn route(method: Method, path: &'static str, endpoint: Endpoint) -> Route {
    Route {
        method,
        path,
        endpoint,
    }
}

static AUTH_ROUTES: [Route; 21] = [
    route(Method::POST, "/register", Endpoint::Register),
    route(Method::POST, "/login", Endpoint::Login),
    route(Method::POST, "/refresh", Endpoint::Refresh),
    route(Method::POST, "/logout", Endpoint::Logout),
    route(Method::POST, "/logout-all", Endpoint::LogoutAll),
    route(
        Method::POST,
        "/password-reset-request",
        Endpoint::PasswordResetRequest,
    ),
    route(Method::POST, "/password-reset", Endpoint::PasswordReset),
    route(
        Method::POST,
        "/verify-email-request",
        Endpoint::VerifyEmailRequest,
    ),
    route(Method::POST, "/verify-email", Endpoint::VerifyEmail),
    route(Method::GET, "/me", Endpoint::Me),
    route(Method::PATCH, "/me", Endpoint::UpdateMe),
    route(Method::POST, "/change-password", Endpoint::ChangePassword),
    route(Method::GET, "/openapi.json", Endpoint::OpenApi),
    route(Method::GET, "/sessions", Endpoint::Sessions),
    route(Method::DELETE, "/sessions/{id}", Endpoint::DeleteSession),
    route(Method::GET, "/.well-known/jwks.json", Endpoint::Jwks),
    route(Method::POST, "/login/mfa", Endpoint::LoginMfa),
    route(Method::POST, "/mfa/totp/setup", Endpoint::TotpSetup),
    route(Method::POST, "/mfa/totp/confirm", Endpoint::TotpConfirm),
    route(Method::POST, "/mfa/totp/disable", Endpoint::TotpDisable),
    route(Method::POST, "/mfa/recovery-codes", Endpoint::RecoveryCodes),
];

static ADMIN_ROUTES: [Route; 9] = [
    route(Method::GET, "/users", Endpoint::ListUsers),
    route(Method::GET, "/users/{id}", Endpoint::GetUser),
    route(
        Method::POST,
        "/users/{id}/deactivate",
        Endpoint::DeactivateUser,
    ),
    route(Method::POST, "/users/{id}/activate", Endpoint::ActivateUser),
    route(Method::PUT, "/users/{id}/roles", Endpoint::SetRoles),
    route(Method::GET, "/users/{id}/sessions", Endpoint::UserSessions),
    route(
        Method::DELETE,
        "/users/{id}/sessions",
        Endpoint::EndUserSessions,
    ),
    route(Method::DELETE, "/users/{id}/mfa", Endpoint::ResetUserMfa),
    route(Method::GET, "/audit", Endpoint::AuditLog),
];

/// The auth routes, to mount under a prefix (the contract uses `/auth`).
pub fn auth_routes() -> &'static [Route] {
    &AUTH_ROUTES
}

/// The admin routes, to mount where the application wants them (the reference server uses
/// `/auth/admin`). Every one needs an access token of a user who holds the admin role
/// according to the store.
pub fn admin_routes() -> &'static [Route] {
    &ADMIN_ROUTES
}

/// The routes of a table grouped by path, in table order: what a router registers, one
/// path at a time with all of its methods.
pub fn routes_by_path(routes: &'static [Route]) -> Vec<(&'static str, Vec<&'static Route>)> {
    let mut grouped: Vec<(&'static str, Vec<&'static Route>)> = Vec::new();
    for route in routes {
        match grouped.iter_mut().find(|(path, _)| *path == route.path) {
            Some((_, methods)) => methods.push(route),
            None => grouped.push((route.path, vec![route])),
        }
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_in_the_openapi_document_under_its_mounted_path() {
        let document = crate::openapi::document();
        for (prefix, routes) in [("/auth", auth_routes()), ("/auth/admin", admin_routes())] {
            for route in routes {
                let path = format!("{prefix}{}", route.path);
                let method = route.method.as_str().to_ascii_lowercase();
                assert!(
                    document["paths"][&path][&method].is_object(),
                    "{method} {path} is not documented"
                );
            }
        }
    }

    #[test]
    fn routes_group_by_path_keeping_every_method() {
        let grouped = routes_by_path(auth_routes());
        let me = grouped.iter().find(|(path, _)| *path == "/me").unwrap();
        let methods: Vec<_> = me.1.iter().map(|r| r.method.clone()).collect();
        assert_eq!(methods, [Method::GET, Method::PATCH]);
        assert_eq!(grouped.len(), auth_routes().len() - 1);
    }
}
