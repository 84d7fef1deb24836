//! The applications under test: what a user of each adapter would write.

use auth_core::AuthService;

/// An axum application: its own routes (one protected by `CurrentUser`, one by a role
/// guard) and the auth routes nested at `/auth`.
pub(crate) fn axum_app(service: AuthService) -> axum::Router {
    use auth_axum::{CurrentUser, RequireRole, Role};
    use axum::routing::get;

    struct Editor;
    impl Role for Editor {
        const NAME: &'static str = "editor";
    }

    let cors = auth_axum::cors_layer(service.config());
    let app =
        axum::Router::new()
            .route("/", get(|| async { "Application running with MyAuth" }))
            .route(
                "/hello",
                get(|CurrentUser(claims): CurrentUser| async move {
                    axum::Json(serde_json::json!({
                        "sub": claims.sub, "sid": claims.sid, "roles": claims.roles
                    }))
                }),
            )
            .route(
                "/admin-hello",
                get(
                    |RequireRole(claims, ..): RequireRole<auth_axum::Admin>| async move {
                        axum::Json(serde_json::json!({ "sub": claims.sub }))
                    },
                ),
            )
            .route(
                "/api/whoami",
                get(|CurrentUser(claims): CurrentUser| async move { claims.sub.to_string() }),
            )
            .route(
                "/api/editor",
                get(|RequireRole(claims, ..): RequireRole<Editor>| async move {
                    claims.sub.to_string()
                }),
            )
            .layer(axum::Extension(service.clone()))
            .merge(auth_axum::pages_router(service.clone()))
            .nest("/auth", myauth::axum_router(service))
            .layer(axum::middleware::from_fn(documented_statuses_only));
    match cors {
        Some(cors) => app.layer(cors),
        None => app,
    }
}

/// The statuses the OpenAPI document lists for an operation, if the method and path name
/// one (`{id}` segments match anything).
fn documented(method: &str, path: &str) -> Option<Vec<String>> {
    static DOCUMENT: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    let document = DOCUMENT.get_or_init(auth_core::openapi::document);
    let segments: Vec<&str> = path.split('/').collect();
    let (_, item) = document["paths"]
        .as_object()?
        .iter()
        .find(|(template, _)| {
            let parts: Vec<&str> = template.split('/').collect();
            parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t == s || (t.starts_with('{') && t.ends_with('}')))
        })?;
    let responses = item.get(method)?.get("responses")?.as_object()?;
    Some(responses.keys().cloned().collect())
}

/// Every answer of a documented operation must carry a status its OpenAPI entry lists: an
/// undocumented one is turned into 599 with the reason, which fails whichever test of the
/// suite provoked it — so the document and the server cannot drift apart unnoticed.
async fn documented_statuses_only(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method().as_str().to_ascii_lowercase();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    match documented(&method, &path) {
        Some(statuses) if !statuses.contains(&status) => {
            let reason =
                format!("{method} {path} answered {status}, which its OpenAPI entry does not list");
            eprintln!("{reason}");
            let mut undocumented = axum::response::Response::new(axum::body::Body::from(reason));
            *undocumented.status_mut() = axum::http::StatusCode::from_u16(599).expect("a status");
            undocumented
        }
        _ => response,
    }
}

/// The same application on poem.
#[cfg(feature = "poem")]
pub(crate) fn poem_app(service: AuthService) -> impl poem::Endpoint {
    use auth_poem::{CurrentUser, RequireRole, Role};
    use poem::{EndpointExt, Route, get, handler};

    struct Editor;
    impl Role for Editor {
        const NAME: &'static str = "editor";
    }

    #[handler]
    fn root() -> &'static str {
        "Application running with MyAuth"
    }

    #[handler]
    fn whoami(CurrentUser(claims): CurrentUser) -> String {
        claims.sub.to_string()
    }

    #[handler]
    fn editor(RequireRole(claims, ..): RequireRole<Editor>) -> String {
        claims.sub.to_string()
    }

    #[handler]
    fn hello(CurrentUser(claims): CurrentUser) -> poem::web::Json<serde_json::Value> {
        poem::web::Json(serde_json::json!({
            "sub": claims.sub, "sid": claims.sid, "roles": claims.roles
        }))
    }

    #[handler]
    fn admin_hello(
        RequireRole(claims, ..): RequireRole<auth_poem::Admin>,
    ) -> poem::web::Json<serde_json::Value> {
        poem::web::Json(serde_json::json!({ "sub": claims.sub }))
    }

    let cors = auth_poem::cors(service.config());
    let app = Route::new()
        .at("/", get(root))
        .at("/api/whoami", get(whoami))
        .at("/api/editor", get(editor))
        .at("/hello", get(hello))
        .at("/admin-hello", get(admin_hello));
    auth_poem::add_pages(app, service.clone(), Default::default(), Default::default())
        .nest("/auth", myauth::poem_route(service.clone()))
        .data(service)
        .with(cors)
}
