//! The browser support on poem: the pages behind the email links, the interactive API
//! documentation (part of [`route`](crate::route)) and CORS from the configured origins.

use auth_core::api::{self, RouterOptions};
use auth_core::pages::{self, PageEndpoint, Pages};
use auth_core::{AuthConfig, AuthService};
use poem::endpoint::make_sync;
use poem::http::{HeaderValue, header};
use poem::middleware::Cors;
use poem::{
    Endpoint, EndpointExt as _, IntoResponse, Middleware, Request, Response, Route, RouteMethod,
};

use crate::error::into_poem;
use crate::routes::{Contract, into_api};

/// The pages behind the email links — `GET`/`POST /verify-email`, `GET`/`POST
/// /reset-password` and their stylesheet — with the built-in templates, as a route of
/// their own to nest below a prefix. To serve them at the root, where `MYAUTH_PUBLIC_URL`
/// usually points, add them to the application's route with [`add_pages`].
pub fn pages_route(service: AuthService) -> Route {
    pages_route_with(service, Pages::default(), RouterOptions::default())
}

/// [`pages_route`] with the application's templates or texts, and the body limit that
/// caps the forms.
pub fn pages_route_with(service: AuthService, pages: Pages, options: RouterOptions) -> Route {
    add_pages(Route::new(), service, pages, options)
}

/// Adds the pages' paths to an existing route (the reference server adds them at the
/// root, beside its landing page):
///
/// ```
/// # fn demo(service: auth_core::AuthService) {
/// let app = auth_poem::add_pages(poem::Route::new(), service.clone(), Default::default(), Default::default())
///     .nest("/auth", auth_poem::route(service));
/// # }
/// ```
pub fn add_pages(
    mut route: Route,
    service: AuthService,
    pages: Pages,
    options: RouterOptions,
) -> Route {
    for (path, routes) in pages::page_routes_by_path() {
        let mut methods = RouteMethod::new();
        for page_route in routes {
            methods = methods.method(
                page_route.method.clone(),
                PageHandler {
                    service: service.clone(),
                    pages: pages.clone(),
                    endpoint: page_route.endpoint,
                    limit: options.body_limit,
                },
            );
        }
        route = route.at(
            path,
            Contract {
                inner: methods,
                limit: options.body_limit,
            },
        );
    }
    route
}

/// One page of auth-core as a poem endpoint.
struct PageHandler {
    service: AuthService,
    pages: Pages,
    endpoint: PageEndpoint,
    limit: usize,
}

impl Endpoint for PageHandler {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let request = into_api(req, self.endpoint.takes_body(), self.limit).await;
        Ok(into_poem(
            pages::handle_page(&self.service, &self.pages, self.endpoint, request).await,
        ))
    }
}

/// Adds `GET /docs` and its assets to the auth routes.
pub(crate) fn with_docs(route: Route, limit: usize) -> Route {
    route
        .at(
            api::DOCS_PATH,
            Contract {
                inner: RouteMethod::new().get(make_sync(|_| into_poem(api::docs_page()))),
                limit,
            },
        )
        .at(
            api::DOCS_ASSET_PATH.replace("{file}", ":file"),
            Contract {
                inner: RouteMethod::new().get(make_sync(|req: Request| {
                    into_poem(api::docs_asset(req.raw_path_param("file").unwrap_or("")))
                })),
                limit,
            },
        )
}

/// CORS for the origins of `MYAUTH_CORS_ORIGINS` ([`AuthConfig::cors_origins`]) with
/// poem's [`Cors`]: a listed origin is echoed in `Access-Control-Allow-Origin`, with
/// credentials, on every answer including errors; preflights allow the API's methods and
/// the `Content-Type`, `Authorization` and `X-CSRF-Token` headers. Requests from any other
/// origin (or none) pass by `Cors` untouched and get no CORS header — poem's `Cors` alone
/// would answer them 403, also same-origin requests that browsers send with an `Origin`.
/// With no origins configured it changes nothing.
///
/// ```
/// use poem::EndpointExt as _;
/// # fn demo(service: auth_core::AuthService) {
/// let cors = auth_poem::cors(service.config());
/// let app = poem::Route::new()
///     .nest("/auth", auth_poem::route(service))
///     .with(cors);
/// # }
/// ```
pub fn cors(config: &AuthConfig) -> CorsOrigins {
    CorsOrigins {
        origins: config.cors_origins().to_vec(),
    }
}

/// The middleware [`cors`] makes.
#[derive(Debug, Clone)]
pub struct CorsOrigins {
    origins: Vec<String>,
}

impl<E: Endpoint + 'static> Middleware<E> for CorsOrigins {
    type Output = CorsOriginsEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        let ep = std::sync::Arc::new(ep);
        let cors = Cors::new()
            .allow_origins(self.origins.iter().map(String::as_str))
            .allow_methods(auth_core::api::CORS_METHODS)
            .allow_headers(auth_core::api::CORS_HEADERS)
            .allow_credentials(true)
            .max_age(i32::try_from(auth_core::api::CORS_MAX_AGE_SECS).unwrap_or(i32::MAX));
        CorsOriginsEndpoint {
            origins: self.origins.clone(),
            with_cors: ep.clone().with(cors).boxed(),
            plain: ep,
        }
    }
}

/// The endpoint of [`CorsOrigins`].
pub struct CorsOriginsEndpoint<E> {
    origins: Vec<String>,
    with_cors: poem::endpoint::BoxEndpoint<'static, Response>,
    plain: std::sync::Arc<E>,
}

impl<E> std::fmt::Debug for CorsOriginsEndpoint<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CorsOriginsEndpoint")
            .field("origins", &self.origins)
            .finish_non_exhaustive()
    }
}

impl<E: Endpoint> Endpoint for CorsOriginsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let listed = req
            .header(header::ORIGIN)
            .is_some_and(|origin| self.origins.iter().any(|o| o == origin));
        if listed {
            let mut response = self.with_cors.get_response(req).await;
            // The answer depends on the Origin: shared caches must keep them apart.
            response
                .headers_mut()
                .append(header::VARY, HeaderValue::from_static("origin"));
            Ok(response)
        } else {
            self.plain.call(req).await.map(IntoResponse::into_response)
        }
    }
}
