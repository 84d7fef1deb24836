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
            get(|RequireRole(claims, ..): RequireRole<auth_axum::Admin>| async move {
                axum::Json(serde_json::json!({ "sub": claims.sub }))
            }),
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
        .nest("/auth", myauth::axum_router(service))
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

    Route::new()
        .at("/", get(root))
        .at("/api/whoami", get(whoami))
        .at("/api/editor", get(editor))
        .at("/hello", get(hello))
        .at("/admin-hello", get(admin_hello))
        .nest("/auth", myauth::poem_route(service.clone()))
        .data(service)
}
