//! The browser support on axum: the pages behind the email links, the interactive API
//! documentation (part of [`router`](crate::router)) and CORS from the configured origins.

use std::time::Duration;

use auth_core::api::{self, ApiRequest, RouterOptions};
use auth_core::pages::{self, Pages};
use auth_core::{AuthConfig, AuthService};
use axum::Router;
use axum::extract::{Path, Request};
use axum::routing::{MethodFilter, MethodRouter, get, on};
use http::HeaderValue;
use tower_http::cors::{AllowCredentials, AllowOrigin, CorsLayer};

use crate::error::into_axum;
use crate::routes::into_api;

/// The pages behind the email links — `GET`/`POST /verify-email`, `GET`/`POST
/// /reset-password` and their stylesheet — with the built-in templates, to merge where
/// `MYAUTH_PUBLIC_URL` points (the reference server merges them at `/`):
///
/// ```
/// # fn demo(service: auth_core::AuthService) {
/// let app: axum::Router = axum::Router::new()
///     .merge(auth_axum::pages_router(service.clone()))
///     .nest("/auth", auth_axum::router(service));
/// # }
/// ```
pub fn pages_router(service: AuthService) -> Router {
    pages_router_with(service, Pages::default(), RouterOptions::default())
}

/// [`pages_router`] with the application's templates or texts, and the body limit that
/// caps the forms.
pub fn pages_router_with(service: AuthService, pages: Pages, options: RouterOptions) -> Router {
    let mut router = Router::new();
    for (path, routes) in pages::page_routes_by_path() {
        let mut methods: MethodRouter = MethodRouter::new();
        for route in routes {
            let Ok(filter) = MethodFilter::try_from(route.method.clone()) else {
                continue;
            };
            let endpoint = route.endpoint;
            let limit = options.body_limit;
            let service = service.clone();
            let pages = pages.clone();
            methods = methods.merge(on(filter, move |request: Request| async move {
                let request: ApiRequest =
                    into_api(request, None, endpoint.takes_body(), limit).await;
                into_axum(pages::handle_page(&service, &pages, endpoint, request).await)
            }));
        }
        router = router.route(path, methods);
    }
    // A method a page path does not take: the contract's 405 problem, as on the API routes.
    router.method_not_allowed_fallback(|| async {
        into_axum(api::Problem::method_not_allowed().to_response())
    })
}

/// Adds `GET /docs` and its assets to a router of the auth routes.
pub(crate) fn with_docs<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router
        .route(
            api::DOCS_PATH,
            get(|| async { into_axum(api::docs_page()) }),
        )
        .route(
            api::DOCS_ASSET_PATH,
            get(|Path(file): Path<String>| async move { into_axum(api::docs_asset(&file)) }),
        )
}

/// tower-http's [`CorsLayer`] for the origins of `MYAUTH_CORS_ORIGINS`
/// ([`AuthConfig::cors_origins`]), or `None` when there are none (then no CORS header is
/// ever sent). A listed origin is echoed in `Access-Control-Allow-Origin`, with
/// credentials, on every answer including errors; preflights allow the API's methods and
/// the `Content-Type`, `Authorization` and `X-CSRF-Token` headers. Any other origin gets
/// no CORS header at all, so browsers refuse it the answer.
///
/// Apply it around the whole application, so the preflights of every route are answered:
///
/// ```
/// # fn demo(service: auth_core::AuthService) {
/// let cors = auth_axum::cors_layer(service.config());
/// let mut app: axum::Router = axum::Router::new().nest("/auth", auth_axum::router(service));
/// if let Some(cors) = cors {
///     app = app.layer(cors);
/// }
/// # }
/// ```
pub fn cors_layer(config: &AuthConfig) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = config
        .cors_origins()
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    // Credentials only for a listed origin: tower-http would otherwise send
    // `Access-Control-Allow-Credentials` to every origin (without `Allow-Origin`).
    let listed = origins.clone();
    let credentials =
        AllowCredentials::predicate(move |origin: &HeaderValue, _| listed.contains(origin));
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods(api::CORS_METHODS)
            .allow_headers(api::CORS_HEADERS)
            .allow_credentials(credentials)
            .max_age(Duration::from_secs(api::CORS_MAX_AGE_SECS)),
    )
}
