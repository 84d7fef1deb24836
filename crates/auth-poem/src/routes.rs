//! The routes: auth-core's route tables registered with poem.

use auth_core::AuthService;
use auth_core::api::{self, ApiRequest, Endpoint, Problem, RequestBody, Route as ApiRoute};
use poem::http::header;
use poem::{Endpoint as PoemEndpoint, IntoResponse, Request, Response, Route, RouteMethod};

pub use auth_core::api::RouterOptions;

use crate::error::{error_response, into_poem};

/// The options of [`route_with`] and [`admin_route_with`]: auth-core's router options.
pub type RouteOptions = RouterOptions;

/// The auth routes of the contract, to nest under a prefix (the contract uses `/auth`):
///
/// ```
/// # fn demo(service: auth_core::AuthService) {
/// let app = poem::Route::new().nest("/auth", auth_poem::route(service));
/// # }
/// ```
///
/// The routes carry the service themselves; unknown paths and methods below the prefix
/// are answered with the contract's 404 `not_found` and 405 `method_not_allowed` problems.
pub fn route(service: AuthService) -> Route {
    route_with(service, RouterOptions::default())
}

/// [`route`] with options (the body limit). Besides the contract's routes it serves the
/// interactive API documentation at `GET /docs` (`/auth/docs`).
pub fn route_with(service: AuthService, options: RouterOptions) -> Route {
    crate::browser::with_docs(
        build(api::auth_routes(), &service, options),
        options.body_limit,
    )
}

/// The admin routes, to nest where the application wants them (the reference server uses
/// `/auth/admin`). Every route needs an access token of a user who holds the admin role
/// according to the store; otherwise 403 `forbidden`.
///
/// ```
/// # fn demo(service: auth_core::AuthService) {
/// let app = poem::Route::new()
///     .nest("/auth/admin", auth_poem::admin_route(service.clone()))
///     .nest("/auth", auth_poem::route(service));
/// # }
/// ```
pub fn admin_route(service: AuthService) -> Route {
    admin_route_with(service, RouterOptions::default())
}

/// [`admin_route`] with options (the body limit).
pub fn admin_route_with(service: AuthService, options: RouterOptions) -> Route {
    build(api::admin_routes(), &service, options)
}

fn build(table: &'static [ApiRoute], service: &AuthService, options: RouterOptions) -> Route {
    let mut route = Route::new();
    for (path, routes) in api::routes_by_path(table) {
        let mut methods = RouteMethod::new();
        for api_route in routes {
            methods = methods.method(
                api_route.method.clone(),
                Handler {
                    service: service.clone(),
                    endpoint: api_route.endpoint,
                    limit: options.body_limit,
                },
            );
        }
        route = route.at(
            poem_path(path),
            Contract {
                inner: methods,
                limit: options.body_limit,
            },
        );
    }
    route.at(
        "/*rest",
        Contract {
            inner: poem::endpoint::make_sync(|_| into_poem(Problem::not_found().to_response())),
            limit: options.body_limit,
        },
    )
}

/// auth-core writes path parameters as `{id}`; poem as `:id`.
fn poem_path(path: &str) -> String {
    path.replace("{id}", ":id")
}

/// One endpoint of auth-core as a poem endpoint.
struct Handler {
    service: AuthService,
    endpoint: Endpoint,
    limit: usize,
}

impl PoemEndpoint for Handler {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let request = into_api(req, self.endpoint.takes_body(), self.limit).await;
        Ok(into_poem(
            api::handle(&self.service, self.endpoint, request).await,
        ))
    }
}

/// Errors that poem raises itself (405, a path that matches nothing) rendered as the
/// contract's problem documents, so poem never answers in its own plain-text terms.
pub(crate) struct Contract<E> {
    pub(crate) inner: E,
    pub(crate) limit: usize,
}

impl<E: PoemEndpoint> PoemEndpoint for Contract<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        Ok(match self.inner.call(req).await {
            Ok(output) => output.into_response(),
            Err(error) => error_response(error, self.limit),
        })
    }
}

/// The parts of a poem request auth-core needs; the body read up to `limit`.
pub(crate) async fn into_api(req: Request, body: bool, limit: usize) -> ApiRequest {
    let peer = req.remote_addr().as_socket_addr().copied();
    let id = req.raw_path_param("id").map(str::to_owned);
    let query = req.uri().query().map(str::to_owned);
    // A declared length over the limit is refused before a byte is read.
    let declared = req
        .header(header::CONTENT_LENGTH)
        .and_then(|len| len.trim().parse::<u64>().ok());
    let (parts, stream) = req.into_parts();
    let body = if !body {
        RequestBody::Empty
    } else if declared.is_some_and(|len| len > limit as u64) {
        RequestBody::TooLarge(limit)
    } else {
        match stream.into_bytes_limit(limit).await {
            Ok(bytes) => RequestBody::Bytes(bytes),
            Err(_) => RequestBody::TooLarge(limit),
        }
    };
    ApiRequest {
        headers: parts.headers,
        query,
        id,
        body,
        peer,
    }
}
