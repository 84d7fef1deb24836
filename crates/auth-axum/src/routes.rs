//! The routers: auth-core's route tables registered with axum.

use std::net::SocketAddr;

use auth_core::AuthService;
use auth_core::api::{self, ApiRequest, Problem, RequestBody, Route, RouterOptions};
use axum::Router;
use axum::extract::{ConnectInfo, FromRef, RawPathParams, Request, State};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::error::into_axum;

/// The auth routes of the contract, to nest under a prefix (the contract uses `/auth`):
///
/// ```
/// # fn demo(service: auth_core::AuthService) {
/// let app: axum::Router = axum::Router::new().nest("/auth", auth_axum::router(service));
/// # }
/// ```
pub fn router(service: AuthService) -> Router {
    router_with(service, RouterOptions::default())
}

/// [`router`] with options (the body limit). Besides the contract's routes it serves the
/// interactive API documentation at `GET /docs` (`/auth/docs`).
pub fn router_with(service: AuthService, options: RouterOptions) -> Router {
    crate::browser::with_docs(build(api::auth_routes(), options)).with_state(service)
}

/// The admin routes, to nest where the application wants them (the reference server uses
/// `/auth/admin`). Every route needs an access token of a user who holds the admin role
/// according to the store; otherwise 403 `forbidden`.
pub fn admin_router(service: AuthService) -> Router {
    admin_router_with(service, RouterOptions::default())
}

/// [`admin_router`] with options (the body limit).
pub fn admin_router_with(service: AuthService, options: RouterOptions) -> Router {
    build(api::admin_routes(), options).with_state(service)
}

/// The auth routes for an application that keeps the service in its router state
/// (`AuthService: FromRef<S>`), to nest under a prefix and give the state with
/// `.with_state(state)`:
///
/// ```
/// use auth_core::AuthService;
/// use axum::extract::FromRef;
///
/// #[derive(Clone)]
/// struct AppState {
///     auth: AuthService,
/// }
///
/// // `#[derive(FromRef)]` with axum's `macros` feature writes this.
/// impl FromRef<AppState> for AuthService {
///     fn from_ref(state: &AppState) -> Self {
///         state.auth.clone()
///     }
/// }
///
/// # fn demo(auth: AuthService) {
/// let app: axum::Router = axum::Router::<AppState>::new()
///     .nest("/auth", auth_axum::routes(Default::default()))
///     .nest("/auth/admin", auth_axum::admin_routes(Default::default()))
///     .with_state(AppState { auth });
/// # }
/// ```
pub fn routes<S>(options: RouterOptions) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AuthService: FromRef<S>,
{
    crate::browser::with_docs(build(api::auth_routes(), options))
}

/// The admin routes for an application that keeps the service in its router state; see
/// [`routes`].
pub fn admin_routes<S>(options: RouterOptions) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AuthService: FromRef<S>,
{
    build(api::admin_routes(), options)
}

fn build<S>(table: &'static [Route], options: RouterOptions) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AuthService: FromRef<S>,
{
    let mut router = Router::new();
    for (path, routes) in api::routes_by_path(table) {
        let mut methods: MethodRouter<S> = MethodRouter::new();
        for route in routes {
            let Ok(filter) = MethodFilter::try_from(route.method.clone()) else {
                continue;
            };
            let endpoint = route.endpoint;
            let limit = options.body_limit;
            methods = methods.merge(on(
                filter,
                move |State(service): State<AuthService>,
                      params: Result<
                    RawPathParams,
                    axum::extract::rejection::RawPathParamsRejection,
                >,
                      request: Request| async move {
                    let id = params.ok().and_then(|p| {
                        p.iter()
                            .find(|(k, _)| *k == "id")
                            .map(|(_, v)| v.to_owned())
                    });
                    let request = into_api(request, id, endpoint.takes_body(), limit).await;
                    into_axum(api::handle(&service, endpoint, request).await)
                },
            ));
        }
        router = router.route(path, methods);
    }
    router
        .fallback(|| async { problem(&Problem::not_found()) })
        .method_not_allowed_fallback(|| async { problem(&Problem::method_not_allowed()) })
}

fn problem(problem: &Problem) -> Response {
    into_axum(problem.to_response())
}

/// The parts of an axum request auth-core needs; the body read up to `limit`.
pub(crate) async fn into_api(
    request: Request,
    id: Option<String>,
    body: bool,
    limit: usize,
) -> ApiRequest {
    let (parts, stream) = request.into_parts();
    let body = if body {
        match axum::body::to_bytes(stream, limit).await {
            Ok(bytes) => RequestBody::Bytes(bytes),
            Err(_) => RequestBody::TooLarge(limit),
        }
    } else {
        RequestBody::Empty
    };
    ApiRequest {
        peer: parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        id,
        body,
    }
}
